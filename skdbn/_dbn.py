"""Pre-train an RBM stack, then fine-tune: the loop both DBN estimators share.

``DBNClassifier`` (``_classifier.py``) and ``DBNRegressor``
(``_regressor.py``) differ only in their targets, loss and scores. They are
thin: the stack (``_stack.py``) does the pre-training,
``FeedForwardNetwork`` (``_network.py``) the forward and backward passes and
the optimisers the updates. This module owns the supervised loop: target
encoding, minibatches, early stopping, warm starts and progress reports.
"""

from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    TransformerMixin,
)
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._dbn_input import (
    TABULAR,
    network_input,
    prediction_input,
    prepare_stack,
    stack_parameters,
    validate_training_input,
)
from ._fine_tuning import (
    FINE_TUNING_CONSTRAINTS,
    PRETRAINING_PARAMETERS,
    STACK_CLASSES,
    FineTuningMixin,
)
from ._network import FeedForwardNetwork, _per_hidden_layer
from ._semisupervised import (
    ShuffledRows,
    add_rows,
    check_marker_use,
    check_some_labelled,
    regressor_labelled_rows,
    split_labelled,
)
from ._serialization import PlainStateMixin
from ._sparsity import fine_tuning_sparsity
from ._speed import limit_blas_threads, resolve_batch_size
from ._stack_base import _RBMStackBase, forget_fit
from ._tabular import TabularRBMStack
from ._units import get_unit_type
from ._validation import (
    check_labels_present,
    validate_sample_weight,
    weighted_rows,
)

#: ``dropout="auto"``: the hidden units' dropout in fine-tuning when the
#: input is a coded table (``visible_units_ == "tabular"``: categories or
#: missing values). It helped the small tables with categories and holes
#: and cost about a point on the largest (segment); on raw numeric tables,
#: which under-fit already, it lost up to 4.3 points (bupa, sonar), see
#: benchmarks/README.md, "Dropout on tables".
TABULAR_DROPOUT = 0.2

#: ``dropout="auto"`` with virtual adversarial training (or entropy
#: minimisation) on unlabelled rows: dropout on the labelled rows took
#: MNIST with 100 labels from 13.45% to 11.05% test error (0.5: 11.75%), and
#: on the digits with 20 labels VAT without it lost to pre-training alone;
#: without VAT dropout did nothing there (benchmarks/README.md,
#: bench_semisupervised.py).
UNLABELLED_TERMS_DROPOUT = 0.3


class _BaseDBN(PlainStateMixin, FineTuningMixin, TransformerMixin, BaseEstimator):
    """Pre-training and fine-tuning shared by the classifier and regressor."""

    _output_activation = "identity"

    #: Fitted state without a trailing underscore (see ``forget_fit``).
    _private_fitted_attributes = (
        "_network",
        "_optimizer",
        "_rng",
        "_pretrain_seed",
        "_no_improvement_count",
        "_label_encoder",
    )

    _parameter_constraints = {
        **{
            name: _RBMStackBase._parameter_constraints[name]
            for name in PRETRAINING_PARAMETERS
        },
        "visible_units": [StrOptions(set(STACK_CLASSES) | {"auto", TABULAR})],
        "column_types": TabularRBMStack._parameter_constraints["column_types"],
        "handle_unknown": TabularRBMStack._parameter_constraints["handle_unknown"],
        "learn_variance": ["boolean"],
        "pretrain": ["boolean"],
        "semi_supervised": ["boolean"],
        "stream_pretraining": ["boolean"],
        **FINE_TUNING_CONSTRAINTS,
        "fine_tuning_sparsity_cost": [Interval(Real, 0, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "input_dropout": [Interval(Real, 0, 1, closed="left")],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        *,
        visible_units="auto",
        column_types="auto",
        handle_unknown="ignore",
        hidden_units="bernoulli",
        learning_rate="auto",
        n_epochs="auto",
        batch_size="auto",
        cd_steps=1,
        persistent=False,
        momentum=0.9,
        initial_momentum=0.5,
        momentum_ramp_epochs=5,
        learning_rate_schedule="constant",
        weight_decay=2e-4,
        sparsity_target=0.1,
        sparsity_cost=0.0,
        fine_tuning_sparsity_cost=0.0,
        learn_variance=False,
        pretrain=True,
        solver="adam",
        learning_rate_init=3e-3,
        fine_tuning_schedule="constant",
        power_t=0.5,
        alpha=1e-4,
        dropout=0.0,
        input_dropout=0.0,
        max_iter=200,
        max_fun=15000,
        shuffle=True,
        tol=1e-4,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        warm_start=False,
        semi_supervised=False,
        stream_pretraining=True,
        random_state=None,
        verbose=0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.visible_units = visible_units
        self.column_types = column_types
        self.handle_unknown = handle_unknown
        self.hidden_units = hidden_units
        self.learning_rate = learning_rate
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.cd_steps = cd_steps
        self.persistent = persistent
        self.momentum = momentum
        self.initial_momentum = initial_momentum
        self.momentum_ramp_epochs = momentum_ramp_epochs
        self.learning_rate_schedule = learning_rate_schedule
        self.weight_decay = weight_decay
        self.sparsity_target = sparsity_target
        self.sparsity_cost = sparsity_cost
        self.fine_tuning_sparsity_cost = fine_tuning_sparsity_cost
        self.learn_variance = learn_variance
        self.pretrain = pretrain
        self.solver = solver
        self.learning_rate_init = learning_rate_init
        self.fine_tuning_schedule = fine_tuning_schedule
        self.power_t = power_t
        self.alpha = alpha
        self.dropout = dropout
        self.input_dropout = input_dropout
        self.max_iter = max_iter
        self.max_fun = max_fun
        self.shuffle = shuffle
        self.tol = tol
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.semi_supervised = semi_supervised
        self.stream_pretraining = stream_pretraining
        self.random_state = random_state
        self.verbose = verbose

    # --------------------------------------------------------------- fitting

    @limit_blas_threads("pre-training", "fine-tuning")
    def _fit(self, X, y, *, incremental=False, classes=None, sample_weight=None):
        if incremental and self.early_stopping:
            # As MLP: partial_fit sees one chunk at a time, nothing to hold out.
            raise ValueError(
                "partial_fit does not support early_stopping=True: set "
                "early_stopping=False, or use fit."
            )
        explicit_dropout = 0.0 if self.dropout == "auto" else self.dropout
        if self.solver == "lbfgs" and (explicit_dropout or self.input_dropout):
            raise ValueError(
                "dropout and input_dropout need a stochastic solver ('adam' or "
                "'sgd'): solver='lbfgs' minimises the full, deterministic "
                f"training loss; got dropout={self.dropout}, "
                f"input_dropout={self.input_dropout}."
            )
        first = not (hasattr(self, "_network") and (incremental or self.warm_start))
        built = not first
        try:
            X, y, labelled = self._validate_training_data(
                X, y, reset=first, sample_weight=sample_weight
            )
            check_some_labelled(labelled, type(self).__name__, incremental)
            sample_weight = validate_sample_weight(sample_weight, X)
            rows = weighted_rows(sample_weight)
            if rows is not None:
                # Rows of zero weight are ignored, as if they were not there.
                X, y, sample_weight = X[rows], y[rows], sample_weight[rows]
                labelled = None if labelled is None else labelled[rows]
            self.dropout_ = self._dropout_rate(
                has_unlabelled=labelled is not None and not labelled.all()
            )
            # Unlabelled rows (X_u) are pre-trained on and pseudo-labelled;
            # only the labelled ones reach the supervised loss and the score.
            (X, y, sample_weight), (X_u, w_u) = split_labelled(
                labelled, X, y, sample_weight
            )
            if isinstance(self, ClassifierMixin) and self.semi_supervised:
                check_marker_use(self, y, labelled, classes, first)
            Y = self._encode_targets(
                y,
                X.dtype,
                first=first,
                classes=classes,
                incremental=incremental,
                sample_weight=sample_weight,
            )
            rng = check_random_state(self.random_state)
            if first:
                self._reset_fine_tuning(rng)
            X_train, Y_train, X_val, y_val, w_train, w_val = self._split_early_stopping(
                X, Y, y, incremental, sample_weight
            )
            if first:
                X_pre, w_pre = add_rows(X_train, w_train, X_u, w_u)
                pretrained = self._initialize_network(
                    X_pre, Y_train.shape[1], X_val, rng, sample_weight=w_pre
                )
                built = True
                pretrained = self._fit_generative_layer(
                    X_train, Y_train, train=pretrained, sample_weight=w_train
                )
            elif incremental:
                self._continue_pretraining(*add_rows(X_train, w_train, X_u, w_u))
            # Missing entries, NaN for the RBMs, send nothing to the network.
            X_train, X_val, X_u = (
                None if X_ is None else network_input(X_)
                for X_ in (X_train, X_val, X_u)
            )
            if first or not incremental:
                self._optimizer = self._make_optimizer()
            if first and not pretrained:
                self._stop_after_interrupted_pretraining()
                return self
            if X_train.shape[0] == 0:
                return self  # a partial_fit chunk without labels: pre-training only
            epochs = 1 if incremental else self.max_iter
            self._fine_tune(
                X_train,
                Y_train,
                X_val,
                y_val,
                epochs,
                incremental,
                w_train,
                w_val,
                pseudo_labeller=self._pseudo_labeller(X_u, w_u),
                unlabelled_terms=self._unlabelled_terms(X_u, w_u),
            )
        except KeyboardInterrupt:
            # Before the network exists, nothing usable was fitted.
            if not built:
                forget_fit(self)
                raise
            self._interrupted_outside_epochs()
        return self

    def _continue_pretraining(self, X, sample_weight):
        """``partial_fit`` after the first chunk: one more pre-training epoch.

        Every layer of ``stack_`` makes one epoch over the chunk, labelled
        rows and unlabelled alike (see ``BernoulliRBMStack.partial_fit``).
        Until fine-tuning has begun (no labelled row seen yet, ``t_ == 0``),
        the network's hidden layers follow the stack: a stream of unlabelled
        chunks pre-trains the network that the first labelled chunk then
        fine-tunes.
        """
        if not self.stream_pretraining or self.stack_ is None or X.shape[0] == 0:
            return
        if self.visible_units_ == TABULAR:  # X is coded already
            self.stack_._partial_epoch(X, sample_weight)
        else:
            self.stack_.partial_fit(X, sample_weight=sample_weight)
        if self.t_ == 0:
            network = self._network
            for index, layer in enumerate(self.stack_.layers_):
                weights = getattr(layer, "input_weights", layer.weights)
                network.weights[index][...] = weights
                network.biases[index][...] = layer.hidden_bias

    def _pseudo_labeller(self, X_u, sample_weight):
        """What gives the unlabelled rows a say in fine-tuning, or None.

        The regressor has nothing: its own predictions as targets would have
        no gradient. See ``DBNClassifier._pseudo_labeller``.
        """
        return None

    def _unlabelled_terms(self, X_u, sample_weight):
        """The unlabelled rows' loss terms in fine-tuning, or None.

        The regressor has none. See ``DBNClassifier._unlabelled_terms``.
        """
        return None

    def _validate_training_data(self, X, y, reset, sample_weight=None):
        dtype = [np.float64, np.float32]
        if not reset:
            dtype = self._network.weights[0].dtype
        labelled = None
        if isinstance(self, ClassifierMixin):
            check_labels_present(y)
        elif self.semi_supervised:
            # NaN marks the unlabelled rows: filled, so that y validates.
            labelled, y = regressor_labelled_rows(y)
        X, y = validate_training_input(
            self,
            X,
            y,
            reset,
            sample_weight,
            accept_sparse=["csr", "csc"],
            dtype=dtype,
            multi_output=self._multi_output,
            y_numeric=not isinstance(self, ClassifierMixin),
        )
        if sp.issparse(X):
            X = X.tocsr()
        return X, y, labelled

    def _split_early_stopping(self, X, Y, y, incremental, sample_weight=None):
        """``X, Y, X_val, y_val`` and the weights of the training and held-out rows."""
        if not self._early_stopping_used() or incremental:
            return X, Y, None, None, sample_weight, None
        # Multilabel targets are not stratified, as in scikit-learn's MLP.
        stratify = y if isinstance(self, ClassifierMixin) and y.ndim == 1 else None
        n_val = self._validation_size(X.shape[0])
        arrays = [X, Y, y] if sample_weight is None else [X, Y, y, sample_weight]
        try:
            split = train_test_split(
                *arrays,
                test_size=n_val,
                random_state=self._pretrain_seed,
                stratify=stratify,
            )
        except ValueError as error:
            # As MLP: a class too small to stratify is an error.
            raise ValueError(
                f"early_stopping holds out a validation set of {n_val} samples "
                f"stratified by class, which is impossible here ({error}). Give "
                "each class more samples, change validation_fraction, or set "
                "early_stopping=False."
            ) from error
        X_train, X_val, Y_train, _, _, y_val = split[:6]
        w_train, w_val = split[6:] if sample_weight is not None else (None, None)
        return X_train, Y_train, X_val, y_val, w_train, w_val

    def _initialize_network(self, X, n_outputs, X_val, rng, sample_weight=None):
        """Pre-train the stack (or not), then build the network and optimiser."""
        stack = self._make_stack()
        shape = dict(
            rng=self._rng,
            dtype=X.dtype,
            hidden_activation=self._hidden_activations(stack),
            output_activation=self._output_activation,
        )
        completed = True
        if self.pretrain:
            prepare_stack(self, stack, X)
            completed, untrained = stack._fit_layers(
                X, X_val, check_random_state(self._pretrain_seed), sample_weight
            )
            self.stack_ = stack
            # After an interrupt, the layers not reached start untrained.
            self._network = FeedForwardNetwork.from_layers(
                stack.layers_ + untrained, n_outputs, **shape
            )
        else:
            self.stack_ = None
            sizes = _RBMStackBase._layer_sizes(self)
            self._network = FeedForwardNetwork.initialize(
                [X.shape[1], *sizes, n_outputs], **shape
            )
        return completed

    def _unlabelled_terms_wanted(self):
        """Whether fine-tuning adds terms on unlabelled rows (the classifier's VAT)."""
        return False

    def _dropout_rate(self, has_unlabelled=False):
        """The hidden units' dropout in fine-tuning, with ``"auto"`` resolved.

        ``"auto"`` (the classifier's default) drops hidden units where it
        measured better: when terms on unlabelled rows (VAT) join the
        labelled loss, and when the network reads a coded table; never with
        L-BFGS, which minimises the deterministic loss.
        """
        if self.dropout != "auto":
            return float(self.dropout)
        if self.solver == "lbfgs":
            return 0.0
        if has_unlabelled and self._unlabelled_terms_wanted():
            return UNLABELLED_TERMS_DROPOUT
        if self.visible_units_ == TABULAR:
            return TABULAR_DROPOUT
        return 0.0

    def _make_stack(self, **overrides):
        if self.visible_units_ != TABULAR:
            return super()._make_stack(**overrides)
        params = {name: getattr(self, name) for name in PRETRAINING_PARAMETERS}
        params.update(stack_parameters(self), random_state=self._pretrain_seed)
        stack = TabularRBMStack(**{**params, **overrides})
        stack._validate_params()
        return stack

    def _fit_generative_layer(self, X, Y, train=True, sample_weight=None):
        """Hook for models with a generative top layer (the classifier's).

        Returns False when the user interrupted its training.
        """
        return True

    def _hidden_activations(self, stack):
        """The network's activation of each hidden layer, from its RBM's units."""
        units = stack._per_layer("hidden_units", len(stack._layer_sizes()))
        activations = [get_unit_type(u).network_activation for u in units]
        if len(set(activations)) == 1:
            return activations[0]
        return activations

    def _fine_tune(
        self,
        X,
        Y,
        X_val,
        y_val,
        epochs,
        incremental,
        sample_weight=None,
        w_val=None,
        pseudo_labeller=None,
        unlabelled_terms=None,
    ):
        network, optimizer = self._network, self._optimizer
        sparsity = fine_tuning_sparsity(
            self, _per_hidden_layer(network.hidden_activation, network.n_layers - 1)
        )
        if self.solver == "lbfgs":

            def loss_and_gradients():
                loss, grad_weights, grad_biases = network.loss_and_gradients(
                    X,
                    Y,
                    alpha=self.alpha,
                    sample_weight=sample_weight,
                    sparsity=sparsity,
                )
                return loss, grad_weights + grad_biases

            self._run_lbfgs(X.shape[0], network.parameters, loss_and_gradients)
            return
        dropout = (self.input_dropout, self.dropout_)
        if dropout == (0.0, 0.0):
            dropout = None

        def step(rows):
            X_batch, Y_batch = X[rows], Y[rows]
            w_batch = None if sample_weight is None else sample_weight[rows]
            if pseudo_labeller is not None:
                X_batch, Y_batch, w_batch = pseudo_labeller.extend(
                    network, X_batch, Y_batch, w_batch
                )
            # The L2 penalty rides on the optimiser's pass over the weights.
            loss = network.train_step(
                X_batch,
                Y_batch,
                optimizer,
                alpha=self.alpha,
                dropout=dropout,
                rng=self._rng,
                sample_weight=w_batch,
                sparsity=sparsity,
            )
            return loss, {}

        validation_score = (
            None
            if X_val is None
            else lambda: self._validation_score(X_val, y_val, w_val)
        )
        if unlabelled_terms is not None:
            self._fine_tune_with_unlabelled(
                X,
                Y,
                sample_weight,
                unlabelled_terms,
                pseudo_labeller,
                dropout,
                sparsity,
                epochs,
                incremental,
                validation_score,
            )
            return
        self._run_fine_tuning(
            X.shape[0],
            network.parameters,
            step,
            epochs=epochs,
            incremental=incremental,
            validation_score=validation_score,
            sample_weight=sample_weight,
        )

    def _fine_tune_with_unlabelled(
        self,
        X,
        Y,
        sample_weight,
        terms,
        pseudo_labeller,
        dropout,
        sparsity,
        epochs,
        incremental,
        validation_score,
    ):
        """Fine-tuning epochs that pass over the unlabelled rows.

        With few labels, an epoch over the labelled rows is a step or two,
        too few for the unlabelled rows to matter. Here each step draws a
        minibatch of unlabelled rows (an epoch is a pass over them, and
        ``t_`` counts them) and one of labelled rows, cycling through them,
        of the same size or all of them if fewer; it minimises the labelled
        rows' loss plus the unlabelled terms (``_consistency.py``).
        """
        network, optimizer = self._network, self._optimizer
        n_u = terms.X.shape[0]
        batch_size = resolve_batch_size(self.batch_size, n_u, "fine-tuning")
        labelled = ShuffledRows(X.shape[0], batch_size, self._rng, self.shuffle)

        def step(rows_u):
            rows = labelled.next()
            X_batch, Y_batch = X[rows], Y[rows]
            w_batch = None if sample_weight is None else sample_weight[rows]
            if pseudo_labeller is not None:
                X_batch, Y_batch, w_batch = pseudo_labeller.extend(
                    network, X_batch, Y_batch, w_batch
                )
            extra, grad_w, grad_b, extras = terms.loss_and_gradients(
                network, rows_u, self._rng
            )
            loss, grad_weights, grad_biases = network.loss_and_gradients(
                X_batch,
                Y_batch,
                alpha=self.alpha,
                dropout=dropout,
                rng=self._rng,
                sample_weight=w_batch,
                sparsity=sparsity,
            )
            for grad, more in zip(
                grad_weights + grad_biases, grad_w + grad_b, strict=True
            ):
                grad += more
            optimizer.update(network.parameters, grad_weights + grad_biases)
            return loss + extra, extras

        def extra_quantities(means):
            return [(name, value, ".5f") for name, value in means.items()]

        self._run_fine_tuning(
            n_u,
            network.parameters,
            step,
            epochs=epochs,
            incremental=incremental,
            validation_score=validation_score,
            extra_quantities=extra_quantities,
            sample_weight=terms.sample_weight,
        )

    # ------------------------------------------------------------ prediction

    @property
    def coefs_(self):
        """Fine-tuned weight matrices, input layer first, output layer last."""
        return self._network.weights

    @property
    def intercepts_(self):
        """Fine-tuned bias vectors, one per layer after the input."""
        return self._network.biases

    def _forward(self, X):
        check_is_fitted(self, "_network")
        return self._network.forward(prediction_input(self, X))

    def _prediction_matrix(self, X):
        """``X`` as the network reads it: scaled or coded, missing entries 0."""
        return prediction_input(self, X)

    def transform(self, X):
        """Compute the features of the last hidden layer of the fine-tuned network.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        H : ndarray of shape (n_samples, hidden_layer_sizes[-1])
            Activations of the last hidden layer (no dropout).
        """
        check_is_fitted(self, "_network")
        return self._network.hidden_features(prediction_input(self, X))

    def get_feature_names_out(self, input_features=None):
        """Get the names of the ``transform`` output: ``"<classname>0"``, ...

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against the names seen in ``fit``.

        Returns
        -------
        feature_names_out : ndarray of str objects
            One name per unit of the last hidden layer.
        """
        from sklearn.utils.validation import _check_feature_names_in

        check_is_fitted(self, "_network")
        _check_feature_names_in(self, input_features, generate_names=False)
        prefix = type(self).__name__.lower()
        n_out = self._network.weights[-1].shape[0]
        return np.asarray([f"{prefix}{i}" for i in range(n_out)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        return tags


def __getattr__(name):
    """The estimators' old home: files saved before they moved name ``skdbn._dbn``.

    pickle and skops find a class by its module and name; models saved when
    ``DBNClassifier`` and ``DBNRegressor`` lived here still load.
    """
    if name == "DBNClassifier":
        from ._classifier import DBNClassifier

        return DBNClassifier
    if name == "DBNRegressor":
        from ._regressor import DBNRegressor

        return DBNRegressor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
