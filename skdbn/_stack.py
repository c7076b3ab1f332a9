"""Greedy layer-wise stacks of RBMs as scikit-learn transformers."""

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
from ._scaling import fit_standardisation, scale_input, unscale_output
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

#: Default ``visible_std`` of GaussianRBMStack, in units of the standardised
#: features (see its docstring for the measurements behind it).
VISIBLE_STD = 0.3

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


class BernoulliRBMStack(_RBMStackBase):
    """Greedy layer-wise stack of binary RBMs, used as a feature transformer.

    Each layer is a Restricted Boltzmann Machine, the first with binary
    (Bernoulli) visible units, with binary hidden units by default (or
    rectified linear ones, see ``hidden_units``), trained by contrastive
    divergence (CD-k) or persistent CD with momentum, L2 weight decay and an
    optional sparsity target. Layer ``i + 1`` learns on the hidden
    activities of layer ``i`` (Hinton, Osindero & Teh 2006). ``transform``
    maps data up to the top layer; the stack also reconstructs (``inverse_transform``),
    generates (``sample``) and scores (``score_samples``) data.

    The visible units model data in ``[0, 1]`` (binary data, or grey levels
    read as probabilities). Other values are accepted, since the energy is
    defined for any real input, but ``fit`` warns with a
    ``DataRangeWarning``: scale such data first, e.g. with
    ``MinMaxScaler(clip=True)``.

    Missing entries (NaN, in dense input) are accepted in ``fit``,
    ``partial_fit``, ``transform``, ``score_samples`` and the ``start`` of
    ``sample``: a missing visible unit is left out of the first RBM's
    energy, so it sends nothing to the hidden units and adds nothing to the
    free energy or the training statistics (see the user guide's tables
    section). Infinities, and NaN in sparse input, are refused.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default=(100,)
        Number of hidden units of each RBM, bottom to top.
    hidden_units : {"bernoulli", "relu", "gaussian"} or sequence, \
            default="bernoulli"
        Type of each layer's hidden units (per layer if a sequence):
        binary, noisy rectified linear (NReLU, Nair & Hinton 2010) or linear
        with Gaussian noise. Each upper RBM's visible units are of the type
        of the hidden units below it.
    learning_rate : float, "auto" or sequence, default="auto"
        Step size of the gradient updates (per layer if a sequence).
        ``"auto"`` is 0.1 for an RBM with binary units on both sides and
        0.01 for one with real-valued (Gaussian or rectified) units, which
        diverges with larger steps.
    n_epochs : int, "auto" or sequence, default="auto"
        Passes over the training data for each layer (per layer if a
        sequence). ``"auto"`` is 500 minibatch updates within 10 to 70
        epochs, ``max(10, min(ceil(500 / n_minibatches), 70))``: 10 epochs
        on large data sets, more on small ones, which otherwise stop after a
        few dozen updates with the weights hardly changed from their initial
        values.
    batch_size : int or "auto", default="auto"
        Number of samples per minibatch (capped at the number of samples);
        ``"auto"`` is ``min(100, max(10, ceil(n_samples / 10)))``: 100 rows,
        or fewer for at least 10 minibatches an epoch.
    cd_steps : int or sequence of int, default=1
        Number of Gibbs steps ``k`` of CD-k (or PCD-k) per update.
    persistent : bool, default=False
        Use persistent contrastive divergence (Tieleman 2008): the negative
        Gibbs chains (``batch_size`` of them) continue from one update to
        the next instead of restarting at the data.
    momentum : float, default=0.9
        Momentum of the updates once the ramp is over.
    initial_momentum : float, default=0.5
        Momentum at the first epoch; it rises linearly to ``momentum`` over
        ``momentum_ramp_epochs`` epochs (Hinton 2010 uses 0.5, then 0.9).
    momentum_ramp_epochs : int, default=5
        Length of the momentum ramp in epochs (``partial_fit`` calls count as
        epochs); 0 uses ``momentum`` from the start.
    learning_rate_schedule : {"constant", "linear"}, default="constant"
        How the RBMs' step changes over a ``fit``: constant, or decaying
        linearly from ``learning_rate`` towards 0 over the ``n_epochs``
        epochs (Tieleman 2008), which lets persistent CD settle on a better
        model. ``partial_fit`` always uses the constant step.
    weight_decay : float or sequence of float, default=2e-4
        L2 penalty on the weights (not the biases).
    sparsity_target : float or sequence of float, default=0.1
        Desired mean activation of each hidden unit, used when
        ``sparsity_cost > 0``.
    sparsity_cost : float or sequence of float, default=0.0
        Strength of the sparsity penalty (Lee, Ekanadham & Ng 2008); 0
        turns it off.
    validation_fraction : float, default=None
        Fraction of the training data held out (not trained on) to monitor
        overfitting: each epoch records its reconstruction error, free
        energy and the free-energy gap to the training data.
    random_state : int, RandomState instance or None, default=None
        Seed of the weight initialisation, the minibatch order and the Gibbs
        sampling. The same seed gives the same model on the same machine
        with the same number of BLAS threads.
    verbose : int, default=0
        Print one line per epoch and layer when positive.

    Attributes
    ----------
    layers_ : list of RBMLayer
        The fitted RBMs, bottom to top: ``weights``, ``visible_bias``,
        ``hidden_bias`` and the per-epoch ``history`` of each (dicts with
        ``epoch``, ``reconstruction_error``, ``free_energy``, ``momentum``,
        ``seconds``, and with a validation set ``validation_*`` and
        ``free_energy_gap``). A fit interrupted with Ctrl-C keeps the layers
        whose training began (see the user guide).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    sklearn.neural_network.BernoulliRBM : A single binary RBM.

    Notes
    -----
    The log-likelihood gradient of an RBM is the difference between data and
    model statistics, ``<v h>_data - <v h>_model``. CD-k estimates the model
    term with ``k`` Gibbs steps started at the data; PCD keeps the chains
    running across updates. Visible states are sampled at every step so that
    the estimate is unbiased as ``k`` grows. See the user guide for the
    equations.

    References
    ----------
    Hinton, G. E., Osindero, S. & Teh, Y. (2006). A fast learning algorithm
    for deep belief nets. Neural Computation, 18, 1527-1554.

    Hinton, G. E. (2010). A practical guide to training restricted Boltzmann
    machines. UTML TR 2010-003.

    Tieleman, T. (2008). Training restricted Boltzmann machines using
    approximations to the likelihood gradient. ICML.

    Examples
    --------
    >>> import numpy as np
    >>> from skdbn import BernoulliRBMStack
    >>> X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=float)
    >>> stack = BernoulliRBMStack(hidden_layer_sizes=(4, 2), random_state=0).fit(X)
    >>> stack.transform(X).shape
    (4, 2)
    >>> stack.inverse_transform(stack.transform(X)).shape
    (4, 3)
    """


class GaussianRBMStack(_RBMStackBase):
    """Greedy layer-wise stack of RBMs for real-valued data.

    The real-valued sibling of :class:`BernoulliRBMStack`: the first RBM has
    Gaussian visible units, so it models standardised real-valued features
    (tabular data, pixel intensities after ``StandardScaler``), with binary
    or noisy rectified linear hidden units; the layers above are as in
    :class:`BernoulliRBMStack`. Given the hidden states ``h``, feature ``i``
    is ``N(b_i + s_i (W h)_i, s_i**2)``, with ``s_i = visible_std`` unless
    ``learn_variance=True``.

    The noise ``visible_std`` is well below the standardised features'
    spread of 1 by default: with ``s_i = 1`` the noise alone explains all
    of each feature's variance, the hidden units are left only the
    correlations, most of them die out in training and the features they
    give a classifier are worse than the input itself (on the benchmark's
    18 tables, a logistic regression on the old default's features lost to
    one on the standardised input on every table, by up to 43 points).
    With the default, the hidden units must carry the data's structure.

    With unit variance, a feature that varies over many units would give
    the hidden units huge inputs, so by default (``standardize=True``) the
    stack standardises its input itself: raw tables need no scaler, and
    ``inverse_transform`` and ``sample`` return values in the input's
    units. With ``standardize=False``, standardise the input first
    (``StandardScaler``); ``fit`` then warns with a ``DataRangeWarning``
    when a feature's mean or standard deviation exceeds 3 in absolute
    value. A fit that diverges anyway stops with a ``ConvergenceWarning``
    (lower ``learning_rate``). Constant features are fine.

    Missing entries (NaN, in dense input) are left out of the first RBM as
    in :class:`BernoulliRBMStack`, and the standardisation uses each
    feature's observed values.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default=(100,)
        Number of hidden units of each RBM, bottom to top.
    hidden_units : {"bernoulli", "relu", "gaussian"} or sequence, \
            default="bernoulli"
        Type of each layer's hidden units (per layer if a sequence):
        binary, noisy rectified linear (NReLU, Nair & Hinton 2010) or linear
        with Gaussian noise. Each upper RBM's visible units are of the type
        of the hidden units below it.
    learning_rate : float, "auto" or sequence, default="auto"
        Step size of the gradient updates (per layer if a sequence).
        ``"auto"`` is 0.01 for the first RBM (and any other with real-valued
        units), which diverges with the 0.1 that suits binary units, and 0.1
        for upper RBMs with binary units on both sides. A first RBM with
        rectified or Gaussian hidden units, which do not saturate, gets
        ``0.01 * visible_std``.
    n_epochs : int, "auto" or sequence, default="auto"
        Passes over the training data for each layer (per layer if a
        sequence). ``"auto"`` is 500 minibatch updates within 10 to 70
        epochs, ``max(10, min(ceil(500 / n_minibatches), 70))``: 10 epochs
        on large data sets, more on small ones, which otherwise stop after a
        few dozen updates with the weights hardly changed from their initial
        values.
    batch_size : int or "auto", default="auto"
        Number of samples per minibatch (capped at the number of samples);
        ``"auto"`` is ``min(100, max(10, ceil(n_samples / 10)))``: 100 rows,
        or fewer for at least 10 minibatches an epoch.
    cd_steps : int or sequence of int, default=1
        Number of Gibbs steps ``k`` of CD-k (or PCD-k) per update.
    persistent : bool, default=False
        Use persistent contrastive divergence (Tieleman 2008): the negative
        Gibbs chains (``batch_size`` of them) continue from one update to
        the next instead of restarting at the data.
    learn_variance : bool, default=False
        Learn a standard deviation ``s_i`` per feature (stored as
        ``layers_[0].visible_log_std``), starting at ``visible_std`` times
        the data's and kept at or above 0.01 so that it cannot collapse.
        By default every feature has the fixed ``visible_std``.
    visible_std : float, default=0.3
        Standard deviation ``s_i`` of every Gaussian visible unit given the
        hidden ones, in the units of the standardised features (of the
        input with ``standardize=False``). The RBM works on the input
        divided by it, with unit variance; ``layers_[0]`` holds the
        parameters, and its ``history`` the reconstruction errors, in those
        units. Smaller values make sharper, more
        nonlinear features (see the class description). With
        ``learn_variance=True``, where the learned deviations start.
    standardize : bool, default=True
        Standardise each feature on the training data (``fit``, or the
        first ``partial_fit`` chunk) and apply the same scaling in
        ``transform``, ``score_samples`` and to the chains' ``start``;
        ``inverse_transform`` and ``sample`` map back to the input's units.
        Sparse input is scaled without centering, so that it stays sparse.
        False models the data as given.
    momentum : float, default=0.9
        Momentum of the updates once the ramp is over.
    initial_momentum : float, default=0.5
        Momentum at the first epoch; it rises linearly to ``momentum`` over
        ``momentum_ramp_epochs`` epochs (Hinton 2010 uses 0.5, then 0.9).
    momentum_ramp_epochs : int, default=5
        Length of the momentum ramp in epochs (``partial_fit`` calls count as
        epochs); 0 uses ``momentum`` from the start.
    learning_rate_schedule : {"constant", "linear"}, default="constant"
        How the RBMs' step changes over a ``fit``: constant, or decaying
        linearly from ``learning_rate`` towards 0 over the ``n_epochs``
        epochs (Tieleman 2008), which lets persistent CD settle on a better
        model. ``partial_fit`` always uses the constant step.
    weight_decay : float or sequence of float, default=2e-4
        L2 penalty on the weights (not the biases).
    sparsity_target : float or sequence of float, default=0.1
        Desired mean activation of each hidden unit, used when
        ``sparsity_cost > 0``.
    sparsity_cost : float or sequence of float, default=0.0
        Strength of the sparsity penalty (Lee, Ekanadham & Ng 2008); 0
        turns it off.
    validation_fraction : float, default=None
        Fraction of the training data held out (not trained on) to monitor
        overfitting: each epoch records its reconstruction error, free
        energy and the free-energy gap to the training data.
    readout : {"softplus", "probability"}, default="softplus"
        What ``transform`` returns for binary top-layer units:
        ``"probability"``, ``E[h | v] = sigmoid(x)`` of each unit's field
        ``x``; ``"softplus"``, ``log(1 + exp(x))``, the unit's term of the
        negative free energy (the mean of a unit made of many binary copies
        with shifted biases, Nair & Hinton 2010), times a fixed ``visible_std`` in a
        one-layer stack so that the features are in the standardised
        input's units (far past its threshold, a unit is then the
        projection ``v @ W`` of the input, whatever ``visible_std``). The
        softplus keeps how far a unit is past its threshold, which the
        saturated probability discards: over the benchmark's 18 tables, a
        logistic regression on it scored 0.891 on average against 0.876 on
        the probabilities (vowel 0.825 -> 0.926, vehicle 0.741 -> 0.790,
        texture 0.960 -> 0.989; see ``benchmarks/README.md``).
        ``inverse_transform`` reads the same form back (``sigmoid(x) =
        1 - exp(-softplus(x))``). Lower layers always pass probabilities
        up, as in training; rectified or Gaussian top units return their
        mean either way.
    random_state : int, RandomState instance or None, default=None
        Seed of the weight initialisation, the minibatch order and the Gibbs
        sampling. The same seed gives the same model on the same machine
        with the same number of BLAS threads.
    verbose : int, default=0
        Print one line per epoch and layer when positive.

    Attributes
    ----------
    layers_ : list of RBMLayer
        The fitted RBMs, bottom to top: ``weights``, ``visible_bias``,
        ``hidden_bias`` and the per-epoch ``history`` of each (dicts with
        ``epoch``, ``reconstruction_error``, ``free_energy``, ``momentum``,
        ``seconds``, and with a validation set ``validation_*`` and
        ``free_energy_gap``). A fit interrupted with Ctrl-C keeps the layers
        whose training began (see the user guide).
    input_mean_ : ndarray of shape (n_features_in_,) or None
        Mean subtracted from each feature (zeros for sparse training data),
        or None with ``standardize=False``.
    input_scale_ : ndarray of shape (n_features_in_,) or None
        Standard deviation each feature is divided by (1 for a constant
        feature), or None with ``standardize=False``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    BernoulliRBMStack : The same stack for data in ``[0, 1]``.
    sklearn.preprocessing.StandardScaler : The scaling this stack expects.

    Notes
    -----
    The energy of the first RBM is ``E(v, h) = sum_i (v_i - b_i)**2 /
    (2 s_i**2) - sum_ij (v_i / s_i) W_ij h_j - c @ h`` (Hinton 2010,
    section 13.2); CD-k samples the visible units from their Gaussian
    conditionals. Real-valued RBMs need learning rates one or two orders of
    magnitude smaller than binary ones, hence ``learning_rate="auto"``.

    References
    ----------
    Hinton, G. E., Osindero, S. & Teh, Y. (2006). A fast learning algorithm
    for deep belief nets. Neural Computation, 18, 1527-1554.

    Hinton, G. E. (2010). A practical guide to training restricted Boltzmann
    machines. UTML TR 2010-003.

    Nair, V. & Hinton, G. E. (2010). Rectified linear units improve
    restricted Boltzmann machines. ICML.

    Tieleman, T. (2008). Training restricted Boltzmann machines using
    approximations to the likelihood gradient. ICML.

    Examples
    --------
    >>> from sklearn.datasets import load_wine
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skdbn import GaussianRBMStack
    >>> X, _ = load_wine(return_X_y=True)
    >>> model = make_pipeline(
    ...     StandardScaler(), GaussianRBMStack(hidden_layer_sizes=(20,), random_state=0)
    ... ).fit(X)
    >>> model.transform(X).shape
    (178, 20)
    """

    _visible_units = "gaussian"

    _parameter_constraints = {
        **_RBMStackBase._parameter_constraints,
        "learn_variance": ["boolean"],
        "visible_std": [Interval(Real, 0, None, closed="neither")],
        "standardize": ["boolean"],
        "readout": [StrOptions({"softplus", "probability"})],
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
        learn_variance=False,
        visible_std=VISIBLE_STD,
        standardize=True,
        momentum=0.9,
        initial_momentum=0.5,
        momentum_ramp_epochs=5,
        learning_rate_schedule="constant",
        weight_decay=2e-4,
        sparsity_target=0.1,
        sparsity_cost=0.0,
        validation_fraction=None,
        readout="softplus",
        random_state=None,
        verbose=0,
    ):
        super().__init__(
            hidden_layer_sizes,
            hidden_units=hidden_units,
            learning_rate=learning_rate,
            n_epochs=n_epochs,
            batch_size=batch_size,
            cd_steps=cd_steps,
            persistent=persistent,
            momentum=momentum,
            initial_momentum=initial_momentum,
            momentum_ramp_epochs=momentum_ramp_epochs,
            learning_rate_schedule=learning_rate_schedule,
            weight_decay=weight_decay,
            sparsity_target=sparsity_target,
            sparsity_cost=sparsity_cost,
            validation_fraction=validation_fraction,
            random_state=random_state,
            verbose=verbose,
        )
        self.learn_variance = learn_variance
        self.visible_std = visible_std
        self.standardize = standardize
        self.readout = readout

    def _softplus_readout(self, layer):
        return self.readout == "softplus" and layer.hidden_units == "bernoulli"

    def _readout_scale(self):
        # A one-layer stack's fields are in units of its input divided by
        # visible_std: times visible_std, the features are in the
        # standardised input's units whatever visible_std, so a downstream
        # model's regularisation means what it means on the input. Upper
        # layers read probabilities, which need no rescaling.
        return self._fixed_std() if len(self.layers_) == 1 else 1.0

    def _top_readout(self, layer, V):
        if not self._softplus_readout(layer):
            return super()._top_readout(layer, V)
        # softplus(x) = log(1 + e^x), the hidden unit's term of -F(v); it
        # keeps the field's magnitude that the saturated sigmoid discards.
        H = np.logaddexp(0, layer.hidden_field(V))
        scale = self._readout_scale()
        return H if scale == 1 else H * np.asarray(scale, dtype=H.dtype)

    def _top_activities(self, H):
        if not self._softplus_readout(self.layers_[-1]):
            return H
        # sigmoid(x) = 1 - exp(-softplus(x)).
        return -np.expm1(-H / np.asarray(self._readout_scale(), dtype=H.dtype))

    def _learns_visible_std(self):
        return self.learn_variance

    def _initial_visible_std(self, X, sample_weight):
        # In the first RBM's units (see visible_std).
        return self.visible_std * super()._initial_visible_std(X, sample_weight)

    def _fixed_std(self):
        return 1.0 if self.learn_variance else self.visible_std

    def _to_model_units(self, X):
        # Unit variance on X / visible_std is a standard deviation of
        # visible_std on X; learned deviations live on X itself.
        std = self._fixed_std()
        if std == 1:
            return X
        return X * np.asarray(1.0 / std, dtype=X.dtype)

    def _visible_output(self, V):
        std = self._fixed_std()
        if std != 1:
            V = V * np.asarray(std, dtype=V.dtype)
        return super()._visible_output(V)

    def _fit_scaling(self, X, sample_weight):
        if self.standardize:
            self.input_mean_, self.input_scale_ = fit_standardisation(X, sample_weight)
        else:
            self.input_mean_ = self.input_scale_ = None
