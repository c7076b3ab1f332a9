"""DBNRegressor: a deep belief net pre-trained on the inputs, fine-tuned on targets."""

import numpy as np
from sklearn.base import (
    RegressorMixin,
    _fit_context,
)
from sklearn.metrics import r2_score
from sklearn.utils.metaestimators import available_if

from ._dbn import _BaseDBN
from ._units import feature_mean_and_variance


class DBNRegressor(RegressorMixin, _BaseDBN):
    """Deep Belief Network regressor: RBM pre-training, then back-propagation.

    As :class:`DBNClassifier`, with a linear output layer fine-tuned on the
    squared error; single and multi-output targets. The network learns the
    targets standardised (each to zero mean and unit variance, as seen in
    ``fit`` or in the first ``partial_fit`` chunk) and ``predict`` maps its
    outputs back, so that targets of any scale fit with the default step
    size.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default=(100,)
        Number of units of each hidden layer (and RBM), bottom to top.
    visible_units : {"auto", "bernoulli", "gaussian", "tabular"}, \
            default="auto"
        Input units of the first RBM: binary for data in ``[0, 1]`` (the
        stack is a :class:`BernoulliRBMStack`), Gaussian for standardised
        real-valued data (a :class:`GaussianRBMStack`), or typed per column
        for a table (a :class:`TabularRBMStack`: Gaussian units for numbers,
        Bernoulli units for binary columns, a softmax group per categorical
        column). ``"auto"`` picks ``"tabular"`` when ``X`` is a DataFrame
        with non-numeric (string, object, ``category``) columns, an array
        holding strings, or holds missing values (NaN, None,
        ``pandas.NA``); otherwise Bernoulli units when the training data
        lies within ``[0, 1]`` and Gaussian units on data the estimator
        standardises itself (``input_mean_``, ``input_scale_``; without
        centering for sparse input), so raw tables need no encoder, scaler
        or imputer. An explicit ``"gaussian"`` uses the data as given:
        standardise it first.
    column_types : "auto", str, sequence of str or dict, default="auto"
        With a table (``visible_units_ == "tabular"``), the type of each
        column: ``"gaussian"``, ``"bernoulli"`` or ``"categorical"``, as in
        :class:`TabularRBMStack` (``"auto"``: categories for non-numeric
        columns, Bernoulli for columns of 0 and 1 and booleans, Gaussian for
        other numbers; a dict maps column names or positions to types).
    handle_unknown : {"ignore", "error"}, default="ignore"
        With a table, what a category unseen in training does in
        ``predict``, ``transform``, ``score`` and later ``partial_fit``
        calls: ``"ignore"`` treats it as a missing entry (its softmax group
        sends nothing to the network), ``"error"`` raises a ``ValueError``
        naming the column and the value.
    hidden_units : {"bernoulli", "relu", "gaussian"} or sequence, \
            default="bernoulli"
        Units of each hidden layer's RBM (per layer if a sequence); the
        network's hidden layers then use the matching activation: logistic,
        rectified linear or identity.
    learning_rate : float, "auto" or sequence, default="auto"
        Pre-training step size of each RBM: ``"auto"`` is 0.1 for RBMs with
        binary units on both sides and 0.01 for those with real-valued units
        (see :class:`BernoulliRBMStack`).
    n_epochs : int, "auto" or sequence, default="auto"
        Pre-training epochs of each RBM. ``"auto"`` is 500 minibatch
        updates within 10 to 70 epochs,
        ``max(10, min(ceil(500 / n_minibatches), 70))``, so that a small
        table, with few minibatches an epoch, trains long enough to move its
        weights away from their initial scale, and a tiny one for at most
        about a third of the fine-tuning's ``max_iter=200`` epochs.
    batch_size : int or "auto", default="auto"
        Minibatch size, for pre-training and fine-tuning alike. ``"auto"`` is
        ``min(200, n_samples)`` in fine-tuning, as in scikit-learn's MLP, and
        ``min(100, max(10, ceil(n_samples / 10)))`` in pre-training, where
        contrastive divergence learns better from smaller minibatches (at
        least 10 an epoch: small tables gain from the updates).
    cd_steps : int or sequence of int, default=1
        Gibbs steps of CD-k during pre-training.
    persistent : bool, default=False
        Pre-train with persistent contrastive divergence.
    momentum : float, default=0.9
        Momentum of the pre-training updates, and of the fine-tuning updates
        when ``solver="sgd"``.
    initial_momentum : float, default=0.5
        Pre-training momentum at the first epoch.
    momentum_ramp_epochs : int, default=5
        Epochs over which the pre-training momentum ramps up.
    learning_rate_schedule : {"constant", "linear"}, default="constant"
        How the RBMs' step changes over a ``fit``: constant, or decaying
        linearly from ``learning_rate`` towards 0 over the ``n_epochs``
        epochs (Tieleman 2008), which lets persistent CD settle on a better
        model. ``partial_fit`` always uses the constant step.
    weight_decay : float or sequence of float, default=2e-4
        L2 penalty on the RBM weights during pre-training.
    sparsity_target : float or sequence of float, default=0.1
        Target mean activation of the hidden units during pre-training.
    sparsity_cost : float or sequence of float, default=0.0
        Strength of the pre-training sparsity penalty (0 turns it off).
    fine_tuning_sparsity_cost : float, default=0.0
        Keep the sparsity target during fine-tuning: adds this times
        ``sum_j KL(sparsity_target || q_j)`` to the loss for every logistic
        hidden layer, where ``q_j`` is unit ``j``'s mean activation over
        the minibatch (0 turns it off).
    learn_variance : bool, default=False
        With Gaussian visible units (``"gaussian"``, or the numeric columns
        of a table), learn each feature's standard deviation during
        pre-training (see :class:`GaussianRBMStack`).
    pretrain : bool, default=True
        Pre-train the hidden layers as RBMs; ``False`` starts from random
        weights as ``MLPRegressor`` does.
    solver : {"adam", "sgd", "lbfgs"}, default="adam"
        Fine-tuning optimiser: Adam, SGD with Nesterov momentum, or L-BFGS-B
        (through ``scipy.optimize``, as scikit-learn's MLP), which minimises
        the loss of the whole training set, without minibatches: on small data
        sets it often fits far better than the stochastic solvers. It has no
        ``partial_fit``, takes no dropout and ignores ``early_stopping``.
    learning_rate_init : float, default=3e-3
        Fine-tuning step size of ``"adam"`` and ``"sgd"`` (the first one, with
        a ``fine_tuning_schedule``). Three times MLP's default, as in
        :class:`DBNClassifier`: on the defaults benchmark's 5 regression sets
        it raised R^2 on 4 (friedman2 0.860 -> 0.955, friedman3 0.531 ->
        0.566) and lowered friedman1's by 0.002 (``benchmarks/README.md``,
        "DBNRegressor() on raw data").
    fine_tuning_schedule : {"constant", "invscaling", "adaptive"}, \
            default="constant"
        How the fine-tuning step of ``solver="sgd"`` changes (the other
        solvers ignore it): scikit-learn's MLP's ``learning_rate``, renamed
        because ``learning_rate`` is the RBMs' pre-training step here.
        ``"constant"`` keeps ``learning_rate_init``; ``"invscaling"`` sets it
        to ``learning_rate_init / (t_ + 1) ** power_t`` after each epoch;
        ``"adaptive"`` divides it by 5 whenever more than ``n_iter_no_change``
        epochs in a row have not improved by ``tol``, and stops fine-tuning
        only once it is below 1e-6. Every ``fit`` starts at
        ``learning_rate_init``, warm-started or not.
    power_t : float, default=0.5
        Exponent of the ``"invscaling"`` schedule.
    alpha : float, default=1e-4
        L2 penalty on the weights during fine-tuning.
    dropout : float, default=0.0
        Probability of dropping each hidden unit during fine-tuning.
    input_dropout : float, default=0.0
        Probability of dropping each input feature during fine-tuning.
    max_iter : int, default=200
        Maximum number of fine-tuning epochs (of L-BFGS iterations with
        ``solver="lbfgs"``).
    max_fun : int, default=15000
        Maximum number of loss evaluations with ``solver="lbfgs"``.
    shuffle : bool, default=True
        Shuffle the training rows before each fine-tuning epoch; ``False``
        takes the minibatches in the order of the rows (pre-training
        shuffles either way).
    tol : float, default=1e-4
        Minimum improvement of the loss (or validation R^2) that counts. With
        ``solver="lbfgs"``, the largest projected gradient component at which
        L-BFGS stops (scipy's ``gtol``).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data, stop when its R^2 stops
        improving and keep the best weights. ``partial_fit`` raises a
        ``ValueError`` with it, as in scikit-learn's MLP.
    validation_fraction : float, default=0.1
        Fraction of the training data held out for early stopping.
    n_iter_no_change : int or np.inf, default=10
        Fine-tuning stops once more than ``n_iter_no_change`` epochs in a row
        have not improved by ``tol``, as in scikit-learn's MLP (``np.inf``:
        never early). With ``fine_tuning_schedule="adaptive"`` the step is
        divided by 5 instead.
    warm_start : bool, default=False
        Let ``fit`` continue fine-tuning the current network.
    semi_supervised : bool, default=False
        Read a ``NaN`` target as "unlabelled": rows whose targets are all
        NaN take part in pre-training only; the target standardisation, the
        loss and the early-stopping split and score use the labelled rows.
        NaN rather than -1 (the classifiers' marker) because -1 is a valid
        target value, and NaN is what numpy and pandas use for a missing
        value; scikit-learn's regressors reject it, so nothing valid changes
        meaning. A row with some targets NaN and others not is refused.
        ``fit`` needs a labelled row, and so does the first ``partial_fit``
        chunk (it fixes the standardisation); later chunks may have none.
    stream_pretraining : bool, default=True
        Let each ``partial_fit`` call after the first also train the stack
        one epoch on its chunk (see :meth:`DBNClassifier.partial_fit`), so that streamed
        and unlabelled data are pre-trained on. ``False`` pre-trains on the
        first chunk only, which saves that epoch's time when every chunk is
        labelled and fine-tuning has begun: the stack's later updates no
        longer reach the fine-tuned network.
    random_state : int, RandomState instance or None, default=None
        Seed of everything random in the fit.
    verbose : int, default=0
        Print one line per pre-training and per fine-tuning epoch.

    Attributes
    ----------
    visible_units_ : {"bernoulli", "gaussian", "tabular"}
        The visible units used, ``visible_units`` with ``"auto"`` resolved.
    dropout_ : float
        The hidden units' dropout rate of fine-tuning (``dropout``).
    input_mean_ : ndarray of shape (n_features_in_,) or None
        Mean subtracted from each feature before the network sees it
        (zeros for sparse training data), or None when the input is used as
        it is (explicit ``visible_units``, or data within ``[0, 1]``) or
        coded as a table.
    input_scale_ : ndarray of shape (n_features_in_,) or None
        Standard deviation each feature is divided by (1 for a constant
        feature), or None as ``input_mean_``.
    column_types_ : list of str or None
        With a table, the type of each column (see ``column_types``);
        None otherwise. The network's input is then the coded table:
        standardised Gaussian columns first, then the binary ones, then one
        one-hot group per categorical column, a missing entry (or an
        ignored unknown category) coded 0, which sends nothing to the
        first hidden layer (the RBM's up pass with that unit left out).
    categories_ : list of list or None
        With a table, the categories of each categorical column (the order
        of its units); None otherwise.
    numeric_mean_ : ndarray of shape (n_gaussian,) or None
        With a table, the mean subtracted from each Gaussian column (over
        its observed values); None otherwise.
    numeric_scale_ : ndarray of shape (n_gaussian,) or None
        With a table, the standard deviation each Gaussian column is
        divided by; None otherwise.
    stack_ : BernoulliRBMStack, GaussianRBMStack, TabularRBMStack or None
        The pre-trained stack, or None with ``pretrain=False``; it was
        trained on the scaled input (see ``input_mean_``). After a
        Ctrl-C in pre-training it has only the layers whose training began,
        and the fit stopped before fine-tuning (see the user guide).
    coefs_ : list of ndarray
        Fine-tuned weights of each layer.
    intercepts_ : list of ndarray
        Fine-tuned biases of each layer.
    n_outputs_ : int
        Number of regression targets.
    loss_curve_ : list of float
        Mean training loss of each fine-tuning epoch (half the squared error
        of the standardised targets, plus the penalty; weighted means with
        ``sample_weight``).
    validation_scores_ : list of float or None
        Held-out R^2 after each epoch with ``early_stopping``.
    best_validation_score_ : float or None
        Best held-out R^2 with ``early_stopping``.
    best_loss_ : float or None
        Lowest training loss, without ``early_stopping``.
    n_iter_ : int
        Number of fine-tuning epochs (L-BFGS iterations) of the last call
        to ``fit`` or ``partial_fit``, as in scikit-learn's MLP;
        ``loss_curve_`` has those of all calls.
    t_ : int
        Number of training samples seen by the fine-tuning updates.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    DBNClassifier : The classifier.
    sklearn.neural_network.MLPRegressor : The same network without
        pre-training.

    Examples
    --------
    >>> import numpy as np
    >>> from skdbn import DBNRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((200, 5))
    >>> y = X @ np.array([1.0, -2.0, 0.5, 0.0, 1.0])
    >>> reg = DBNRegressor(hidden_layer_sizes=(20,), max_iter=300, batch_size=20,
    ...                    random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.9
    True
    """

    _output_activation = "identity"
    _multi_output = True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Pre-train the stack, then fine-tune the network on ``(X, y)``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, raw (see ``visible_units``).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets; with ``semi_supervised=True``, NaN marks unlabelled
            rows.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample, in pre-training (weighted
            RBM statistics), in the targets' standardisation and in
            fine-tuning (weighted loss, as ``MLPRegressor``'s), and in the
            early-stopping score. Rows of zero weight are ignored. None
            weighs every sample 1.

        Returns
        -------
        self : object
            The fitted regressor.
        """
        return self._fit(X, y, sample_weight=sample_weight)

    @available_if(_BaseDBN._check_solver)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """One fine-tuning epoch over ``(X, y)`` (the first call builds the network).

        Later calls also train ``stack_`` one more epoch on the chunk, as
        ``DBNClassifier.partial_fit`` does (with ``semi_supervised=True``,
        its rows of NaN targets included).

        The first call also fixes the targets' standardisation, from this
        chunk's mean and standard deviation, resolves
        ``visible_units="auto"`` and fits the input scaling on this chunk;
        later chunks are scaled the same way.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Its targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample of the chunk, as in ``fit``.

        Returns
        -------
        self : object
            The updated regressor.
        """
        return self._fit(X, y, incremental=True, sample_weight=sample_weight)

    def _encode_targets(self, y, dtype, first, classes, incremental, sample_weight):
        Y = np.array(y, dtype=dtype)  # a copy: standardised in place below
        self._y_was_1d = Y.ndim == 1 if first else self._y_was_1d
        if len(Y) == 0:  # a partial_fit chunk whose rows are all unlabelled
            if first:
                raise ValueError(
                    "The first call to partial_fit needs labelled rows (targets "
                    "that are not NaN): it fixes the targets' standardisation. "
                    "Later chunks may be unlabelled."
                )
            return Y.reshape(0, self.n_outputs_)
        Y = Y.reshape(len(Y), -1)
        if first:
            self.n_outputs_ = Y.shape[1]
            # The network learns standardised targets: the output layer's
            # initial weights and the step size suit values of order 1, and
            # every output gets the same say in the loss.
            mean, variance = feature_mean_and_variance(
                Y.astype(np.float64), sample_weight
            )
            scale = np.sqrt(variance)
            # A constant target is only centred, as StandardScaler does.
            scale[scale < 10 * np.finfo(np.float64).eps] = 1.0
            self._target_mean = mean.astype(dtype)
            self._target_scale = scale.astype(dtype)
        elif Y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {Y.shape[1]} outputs but the regressor was fitted with "
                f"{self.n_outputs_}."
            )
        Y -= self._target_mean
        Y /= self._target_scale
        return Y

    def _validation_score(self, X_val, y_val, sample_weight=None):
        return r2_score(
            y_val,
            self._shape_output(self._network.forward(X_val)),
            sample_weight=sample_weight,
        )

    def _shape_output(self, Y):
        """Network outputs back in the targets' units and shape."""
        Y *= self._target_scale
        Y += self._target_mean
        return Y.ravel() if self._y_was_1d else Y

    def predict(self, X):
        """Predict the targets of each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions, shaped like the ``y`` seen in ``fit``.
        """
        return self._shape_output(self._forward(X))
