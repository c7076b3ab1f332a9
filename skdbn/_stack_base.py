"""What every stack of RBMs shares: greedy layer-wise fitting, the up and down
passes, sampling and scoring (``BernoulliRBMStack`` and ``GaussianRBMStack`` in
``_stack.py``, ``TabularRBMStack`` in ``_tabular.py``)."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._mixed_units import has_missing
from ._rbm import initial_layer
from ._scaling import scale_input, unscale_output
from ._serialization import PlainStateMixin
from ._speed import (
    limit_blas_threads,
    resolve_batch_size,
    resolve_pretraining_epochs,
)
from ._training import RBMTrainer, TrainingSettings, as_training_matrix
from ._units import (
    UNIT_TYPES,
    feature_mean_and_variance,
    get_unit_type,
    sample_from_field,
)
from ._validation import (
    check_magnitude,
    check_numeric_columns,
    check_sparse_missing,
    validate_prediction_input,
    validate_sample_weight,
    weighted_rows,
)
from ._warnings import warn

#: ``learning_rate="auto"``: the step for an RBM with binary units on both
#: sides, and the smaller one that keeps RBMs with real-valued (Gaussian or
#: rectified linear) units from diverging (Hinton 2010, section 13.2).
AUTO_LEARNING_RATE = {"binary": 0.1, "real-valued": 0.01}

#: Parameters that take one value for all layers or a sequence, one per layer.
PER_LAYER_PARAMETERS = (
    "hidden_units",
    "learning_rate",
    "n_epochs",
    "cd_steps",
    "weight_decay",
    "sparsity_target",
    "sparsity_cost",
)


def auto_learning_rate(units):
    """``learning_rate="auto"`` for an RBM with ``units = (visible, hidden)``."""
    binary = all(u == "bernoulli" for u in units)
    return AUTO_LEARNING_RATE["binary" if binary else "real-valued"]


def forget_fit(estimator):
    """Leave ``estimator`` unfitted: delete its fitted attributes.

    Those whose names end in ``_`` (what ``check_is_fitted`` looks for) and
    the private ones its class lists in ``_private_fitted_attributes``.
    """
    private = getattr(estimator, "_private_fitted_attributes", ())
    for name in list(vars(estimator)):
        if (name.endswith("_") and not name.startswith("__")) or name in private:
            delattr(estimator, name)


class _RBMStackBase(
    PlainStateMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Everything a stack of RBMs does, whatever its visible unit type.

    Subclasses set ``_visible_units`` (the first layer's visible units) and
    their docstrings; each upper layer's visible units are the hidden units
    of the layer below.
    """

    _visible_units = "bernoulli"

    #: Fitted state without a trailing underscore (see ``forget_fit``).
    _private_fitted_attributes = ("_trainers", "_rngs")

    _parameter_constraints = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "hidden_units": [StrOptions(set(UNIT_TYPES)), "array-like"],
        "learning_rate": [
            Interval(Real, 0, None, closed="neither"),
            StrOptions({"auto"}),
            "array-like",
        ],
        "n_epochs": [
            Interval(Integral, 0, None, closed="left"),
            StrOptions({"auto"}),
            "array-like",
        ],
        "batch_size": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "cd_steps": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "persistent": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "initial_momentum": [Interval(Real, 0, 1, closed="left")],
        "momentum_ramp_epochs": [Interval(Integral, 0, None, closed="left")],
        "learning_rate_schedule": [StrOptions({"constant", "linear"})],
        "weight_decay": [Interval(Real, 0, None, closed="left"), "array-like"],
        "sparsity_target": [Interval(Real, 0, 1, closed="neither"), "array-like"],
        "sparsity_cost": [Interval(Real, 0, None, closed="left"), "array-like"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        *,
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
        validation_fraction=None,
        random_state=None,
        verbose=0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
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
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=True)
    @limit_blas_threads("pre-training")
    def fit(self, X, y=None, sample_weight=None):
        """Train the stack greedily, one RBM after the other.

        Layer ``i + 1`` is trained on the hidden activation probabilities of
        layer ``i`` for the same data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. float32 input is trained in float32.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row. Each minibatch's gradient is
            the weighted mean of its rows' statistics, and the first layer's
            initial biases (and standard deviations) come from the weighted
            mean (and variance): an integer weight acts as that many copies
            of the row, in expectation (the minibatches differ). Rows of
            zero weight are left out. None weighs every row 1.

        Returns
        -------
        self : object
            The fitted stack.
        """
        try:
            X = self._validate_input(X, reset=True, sample_weight=sample_weight)
            sample_weight = validate_sample_weight(sample_weight, X)
            rows = weighted_rows(sample_weight)
            if rows is not None:
                X, sample_weight = X[rows], sample_weight[rows]
            rng = check_random_state(self.random_state)
            X_train, X_val, sample_weight = self._split_validation(
                X, rng, sample_weight
            )
            completed, untrained = self._fit_layers(X_train, X_val, rng, sample_weight)
        except KeyboardInterrupt:
            forget_fit(self)
            raise
        if not completed and untrained:
            n_kept, n_layers = len(self.layers_), len(self.layers_) + len(untrained)
            warn(
                f"Stopped after {n_kept} of {n_layers} layers: the fitted stack "
                f"has only layers 1 to {n_kept}.",
                UserWarning,
            )
        return self

    def _fit_layers(self, X_train, X_val, rng, sample_weight=None):
        """Greedy training on validated data; ``X_val`` (or None) is monitored.

        ``sample_weight`` (positive, or None) weighs the rows of ``X_train``.

        Returns ``(completed, untrained)``. A ``KeyboardInterrupt`` once the
        first layer's training has begun, wherever it lands, stops the fit
        with a warning: the stack keeps the layers whose training began (the
        interrupted one with the parameters reached so far), ``completed``
        is False and ``untrained`` lists the initialised layers it dropped,
        bottom first. An earlier interrupt propagates.
        """
        sizes = self._layer_sizes()
        self._create_layers(X_train, sizes, rng, sample_weight)
        n_layers = len(sizes)
        data, val = as_training_matrix(X_train), X_val
        n_begun = 0
        try:
            for index, trainer in enumerate(self._trainers):
                n_begun = index + 1
                if not trainer.fit(
                    data, self._rngs[index], X_val=val, sample_weight=sample_weight
                ):
                    break
                if index + 1 < n_layers:
                    data = trainer.layer.hidden_mean(data)
                    val = None if val is None else trainer.layer.hidden_mean(val)
            else:
                return True, []
        except KeyboardInterrupt:
            if n_begun == 0:
                raise
            warn(
                "Training interrupted by the user after "
                f"{self._trainers[n_begun - 1].name} was trained.",
                UserWarning,
            )
        untrained = self.layers_[n_begun:]
        del self.layers_[n_begun:], self._trainers[n_begun:]
        return False, untrained

    def partial_fit(self, X, y=None, sample_weight=None):
        """Update every layer with one pass over ``X`` in minibatches.

        The first call creates the layers (sized from ``X``); each call then
        makes one epoch over ``X`` for the first layer, maps ``X`` through it
        and does the same for the next layer. Momentum, the sparsity
        estimates and the persistent chains carry over between calls, so
        data too large for memory can be streamed in chunks. Unlike ``fit``,
        it records no monitoring ``history`` (score a held-out chunk with the
        layers' ``reconstruction_error`` or ``free_energy`` instead).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of training data.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row of the chunk, as in ``fit``.

        Returns
        -------
        self : object
            The updated stack.

        Notes
        -----
        Each layer's epoch is checked as in ``fit`` (on the chunk's first
        1,000 rows): one that diverges or saturates the layer is undone with
        a ``ConvergenceWarning``. A ``KeyboardInterrupt`` propagates; during
        the first call it leaves the stack unfitted.
        """
        first_call = not hasattr(self, "layers_")
        try:
            return self._partial_fit(X, first_call, sample_weight)
        except KeyboardInterrupt:
            if first_call:
                forget_fit(self)
            raise

    @limit_blas_threads("pre-training")
    def _partial_fit(self, X, first_call, sample_weight):
        if first_call:
            self._validate_params()
        X = self._validate_input(X, reset=first_call, sample_weight=sample_weight)
        sample_weight = validate_sample_weight(sample_weight, X)
        rows = weighted_rows(sample_weight)
        if rows is not None:
            X, sample_weight = X[rows], sample_weight[rows]
        if first_call:
            self._create_layers(
                X,
                self._layer_sizes(),
                check_random_state(self.random_state),
                sample_weight,
            )
        self._partial_epoch(X, sample_weight)
        return self

    def _partial_epoch(self, X, sample_weight=None):
        """One epoch of every layer over validated, scaled ``X``."""
        data = as_training_matrix(X)
        for index, trainer in enumerate(self._trainers):
            trainer.partial_epoch(data, self._rngs[index], sample_weight)
            if index + 1 < len(self._trainers):
                data = trainer.layer.hidden_mean(data)

    def _validate_input(self, X, reset, owner=None, sample_weight=None):
        """Validate ``X``; a range warning names ``owner`` (default: self).

        With ``reset``, the input scaling (if any) is fitted on ``X``,
        weighted by ``sample_weight``; ``X`` is returned scaled.
        """
        dtype = [np.float64, np.float32]
        if not reset and hasattr(self, "layers_"):
            dtype = self.layers_[0].weights.dtype
        check_numeric_columns(X, type(owner or self).__name__)
        X = validate_data(
            self,
            X,
            accept_sparse=["csr", "csc"],
            dtype=dtype,
            ensure_all_finite="allow-nan",
            reset=reset,
        )
        check_sparse_missing(X, type(owner or self).__name__)
        check_magnitude(X, type(owner or self).__name__)
        if reset:
            self._fit_scaling(X, validate_sample_weight(sample_weight, X))
        X = scale_input(self, X)
        if getattr(owner or self, "input_scale_", None) is None:
            # (Input scaled by its estimator needs no advice on scaling.)
            get_unit_type(self._visible_units).check_visible_input(
                X, type(owner or self).__name__
            )
        return self._to_model_units(X)

    def _to_model_units(self, X):
        """``X`` (scaled as the training data) in the first RBM's units."""
        return X

    def _fit_scaling(self, X, sample_weight):
        """Fit the input scaling on training data (none for this stack)."""

    def _layer_sizes(self):
        sizes = np.atleast_1d(np.asarray(self.hidden_layer_sizes))
        if (
            sizes.ndim != 1
            or sizes.size == 0
            or not np.issubdtype(sizes.dtype, np.integer)
            or (sizes < 1).any()
        ):
            raise ValueError(
                "hidden_layer_sizes must be a positive integer or a non-empty "
                f"sequence of positive integers, got {self.hidden_layer_sizes!r}."
            )
        return [int(s) for s in sizes]

    def _per_layer(self, name, n_layers):
        """The value of parameter ``name`` for each layer, validated."""
        value = getattr(self, name)
        if isinstance(value, str) or np.ndim(value) == 0:
            return [value] * n_layers
        values = list(value)
        if len(values) != n_layers:
            raise ValueError(
                f"{name} has {len(values)} values but there are {n_layers} layers; "
                "give one value, or one per layer."
            )
        constraints = _RBMStackBase._parameter_constraints[name][:-1]
        for v in values:
            if not any(c.is_satisfied_by(v) for c in constraints):
                constraint = " or ".join(str(c) for c in constraints)
                raise ValueError(
                    f"Each value of {name} must be {constraint}; got {v!r}."
                )
        return values

    def _split_validation(self, X, rng, sample_weight=None):
        """``(X_train, X_val, sample_weight of X_train)``; no split: X_val None."""
        if self.validation_fraction is None:
            return X, None, sample_weight
        n_samples = X.shape[0]
        n_val = int(round(self.validation_fraction * n_samples))
        if n_val < 1 or n_val >= n_samples:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} leaves {n_val} "
                f"validation and {n_samples - n_val} training samples out of "
                f"{n_samples}; both need at least one."
            )
        order = rng.permutation(n_samples)
        train, val = np.sort(order[n_val:]), np.sort(order[:n_val])
        if sample_weight is not None:
            sample_weight = sample_weight[train]
        return X[train], X[val], sample_weight

    def _create_layers(self, X, sizes, rng, sample_weight=None):
        """Initialise the layers, their trainers and their random generators.

        The first layer starts from the (``sample_weight``-weighted) mean and
        spread of ``X``.
        """
        n_layers = len(sizes)
        per_layer = {
            name: self._per_layer(name, n_layers) for name in PER_LAYER_PARAMETERS
        }
        # One independent generator per layer, seeded from random_state.
        seeds = rng.randint(np.iinfo(np.int32).max, size=n_layers)
        self._rngs = [np.random.default_rng(seed) for seed in seeds]
        self.layers_, self._trainers = [], []
        X = as_training_matrix(X)
        n_visible = X.shape[1]
        if has_missing(X):  # the mean of the observed values
            visible_mean = np.ma.average(
                np.ma.masked_invalid(X), axis=0, weights=sample_weight
            ).filled(0.0)
        elif sample_weight is None:
            visible_mean = np.asarray(X.mean(axis=0)).ravel()
        else:
            visible_mean = np.asarray(sample_weight @ X).ravel()
            visible_mean /= sample_weight.sum(dtype=np.float64)
        visible_std = None
        if self._learns_visible_std():
            visible_std = self._initial_visible_std(X, sample_weight)
        visible_units = self._visible_units
        batch_size = resolve_batch_size(self.batch_size, X.shape[0], "pre-training")
        for index, n_hidden in enumerate(sizes):
            settings = {name: values[index] for name, values in per_layer.items()}
            hidden_units = settings.pop("hidden_units")
            units = (visible_units, hidden_units)
            if settings["learning_rate"] == "auto":
                settings["learning_rate"] = auto_learning_rate(units)
                if index == 0 and get_unit_type(hidden_units).name != "bernoulli":
                    # Unbounded hidden units feed back fields 1 / std times
                    # larger from input scaled by 1 / std (binary ones
                    # saturate instead): the step shrinks by as much.
                    settings["learning_rate"] *= self._fixed_std()
            settings["n_epochs"] = resolve_pretraining_epochs(
                settings["n_epochs"], X.shape[0], batch_size
            )
            layer = initial_layer(
                n_visible,
                n_hidden,
                visible_mean,
                self._rngs[index],
                X.dtype,
                units,
                visible_std=visible_std if index == 0 else None,
                visible_layout=self._visible_layout() if index == 0 else None,
            )
            settings = TrainingSettings(
                batch_size=batch_size,
                persistent=self.persistent,
                momentum=self.momentum,
                initial_momentum=self.initial_momentum,
                momentum_ramp_epochs=self.momentum_ramp_epochs,
                learning_rate_schedule=self.learning_rate_schedule,
                **settings,
            )
            name = f"layer {index + 1}/{n_layers}"
            self.layers_.append(layer)
            self._trainers.append(RBMTrainer(layer, settings, name, self.verbose))
            n_visible, visible_units = n_hidden, hidden_units
            # Upper layers see hidden activities, which start near 0.5.
            visible_mean = np.full(n_hidden, 0.5)

    def _learns_visible_std(self):
        """Whether the first layer learns its visible standard deviations."""
        return False

    def _initial_visible_std(self, X, sample_weight):
        """Where learned visible standard deviations start: the data's."""
        return np.sqrt(feature_mean_and_variance(X, sample_weight)[1])

    def _visible_layout(self):
        """The blocks of the first layer's mixed visible units (None: not mixed)."""
        return None

    def _prediction_input(self, X):
        """``X`` validated and scaled for a fitted stack's first layer."""
        return self._to_model_units(
            scale_input(self, validate_prediction_input(self, X, allow_nan=True))
        )

    def _visible_output(self, V):
        """First-layer visible states ``V`` in the input's units."""
        return unscale_output(self, V)

    def _fixed_std(self):
        """The visible units' standard deviation folded into the input's units."""
        return 1.0

    # ------------------------------------------------------------ transform

    @property
    def _n_features_out(self):
        return self.layers_[-1].n_hidden

    def transform(self, X):
        """Map ``X`` up the stack to the top layer's hidden probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to transform.

        Returns
        -------
        H : ndarray of shape (n_samples, n_features_out)
            ``E[h | v]`` at the top layer, each layer fed the probabilities
            of the layer below (the usual deterministic up pass). With
            ``GaussianRBMStack(readout="softplus")`` (its default), the
            softplus of the top layer's binary units' fields instead (see
            ``readout``).
        """
        check_is_fitted(self)
        X = self._prediction_input(X)
        for layer in self.layers_[:-1]:
            X = layer.hidden_mean(X)
        return self._top_readout(self.layers_[-1], X)

    def _top_readout(self, layer, V):
        """The features ``transform`` returns for the top layer's input ``V``."""
        return layer.hidden_mean(V)

    def _top_activities(self, H):
        """Map ``transform``'s output back to the top layer's ``E[h | v]``."""
        return H

    def inverse_transform(self, X):
        """Map top-layer activities down the stack to visible probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_out)
            Activities of the top layer's hidden units, in ``transform``'s
            read-out (for instance the output of ``transform``).

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features_in_)
            ``E[v | h]`` at the bottom layer, each layer fed the expected
            states of the layer above.
        """
        check_is_fitted(self)
        X = self._top_activities(self._validate_top_activities(X))
        for layer in reversed(self.layers_):
            X = layer.visible_mean(X)
        return self._visible_output(X)

    def _validate_top_activities(self, H):
        from sklearn.utils import check_array

        H = check_array(H, dtype=[np.float64, np.float32])
        if H.shape[1] != self._n_features_out:
            raise ValueError(
                f"X has {H.shape[1]} features, but {type(self).__name__} expects "
                f"{self._n_features_out} (the size of its top layer) as input to "
                "inverse_transform."
            )
        return H

    def score_samples(self, X):
        """Negative free energy of each sample under the first RBM.

        ``-F(v) = log p(v) + log Z``: the log-probability the first RBM gives
        ``v``, up to the log partition function ``log Z``, which is the same
        for every sample. It is exact and deterministic, so it ranks samples
        of one model (e.g. for outlier detection), but scores of different
        models are not comparable (their ``log Z`` differ). Upper layers are
        not taken into account.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Unnormalised log-probabilities; higher is more probable.
        """
        check_is_fitted(self)
        X = self._prediction_input(X)
        return -self.layers_[0].free_energy(X)

    def sample(
        self,
        n_samples=1,
        *,
        n_steps=1000,
        n_chains=None,
        thinning=1,
        start="noise",
        return_mean=True,
        random_state=None,
    ):
        """Generate data by Gibbs sampling in the top RBM, then a down pass.

        Independent chains alternate ``v ~ p(v | h)`` and ``h ~ p(h | v)`` in
        the top RBM. After ``n_steps`` steps of burn-in, each chain gives a
        sample, then another every ``thinning`` steps, until ``n_samples``
        are collected; each sample is the top RBM's ``E[v | h]`` passed down
        through the lower layers' ``E[v | h]`` (the usual way to show what a
        deep belief net generates).

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples to return.
        n_steps : int, default=1000
            Gibbs steps of burn-in before the first sample of each chain.
        n_chains : int, default=None
            Number of independent chains; by default one per sample (or one
            per row of ``start`` when it is data).
        thinning : int, default=1
            Gibbs steps between two samples of the same chain.
        start : "noise" or array-like of shape (n_starts, n_features_in_), \
                default="noise"
            Where the chains start: ``"noise"`` draws the top RBM's visible
            states from its visible biases alone (hidden units off); data
            starts them at the data's deterministic up pass, chain ``i`` at
            row ``i % n_starts``.
        return_mean : bool, default=True
            Return expected visible states ``E[v | h]`` at every layer of the
            down pass: smooth images, the usual way to show what a deep
            belief net generates. False draws ``v ~ p(v | h)`` at every
            layer instead: true samples of the model (binary for Bernoulli
            units, with the full noise of Gaussian ones).
        random_state : int, RandomState instance or None, default=None
            Seed of the chains.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features_in_)
            Expected visible states (probabilities for Bernoulli units), or
            sampled ones with ``return_mean=False``.
            Row ``i`` comes from chain ``i % n_chains``, after
            ``n_steps + (i // n_chains) * thinning`` steps.
        """
        check_is_fitted(self)
        for name, value, low in (
            ("n_samples", n_samples, 1),
            ("n_steps", n_steps, 0),
            ("thinning", thinning, 1),
        ):
            if not isinstance(value, Integral) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
        seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
        rng = np.random.default_rng(seed)
        top = self.layers_[-1]
        dtype = top.weights.dtype
        if isinstance(start, str) and start == "noise":
            n_chains = n_samples if n_chains is None else n_chains
            visible = top.sample_visible(np.zeros((n_chains, top.n_hidden), dtype), rng)
        else:
            X = self._prediction_input(start)
            n_chains = X.shape[0] if n_chains is None else n_chains
            for layer in self.layers_[:-1]:
                X = layer.hidden_mean(X)
            visible = X[np.arange(n_chains) % X.shape[0]]
        if not isinstance(n_chains, Integral) or n_chains < 1:
            raise ValueError(f"n_chains must be an integer >= 1, got {n_chains!r}.")
        hidden_units = get_unit_type(top.hidden_units)

        def down(layer, H):
            if return_mean:
                return layer.visible_mean(H)
            return layer.sample_visible(H, rng)

        samples = []
        n_collected, step = 0, 0
        with np.errstate(over="ignore"):
            hidden = sample_from_field(hidden_units, top.hidden_field(visible), rng)
            while n_collected < n_samples:
                if step >= n_steps and (step - n_steps) % thinning == 0:
                    samples.append(down(top, hidden))
                    n_collected += n_chains
                if n_collected >= n_samples:
                    break
                visible = top.sample_visible(hidden, rng)
                hidden = sample_from_field(hidden_units, top.hidden_field(visible), rng)
                step += 1
            X = np.concatenate(samples)[:n_samples]
            for layer in reversed(self.layers_[:-1]):
                X = down(layer, X)
        return self._visible_output(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
