"""Greedy layer-wise stacks of RBMs as scikit-learn transformers."""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from ._rbm import initial_layer
from ._training import RBMTrainer, TrainingSettings, as_training_matrix
from ._units import get_unit_type
from ._validation import validate_prediction_input

#: Parameters that take one value for all layers or a sequence, one per layer.
PER_LAYER_PARAMETERS = (
    "learning_rate",
    "n_epochs",
    "cd_steps",
    "weight_decay",
    "sparsity_target",
    "sparsity_cost",
)


class _RBMStackBase(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Everything a stack of RBMs does, whatever its visible unit type.

    Subclasses set ``_visible_units`` (the first layer's visible units) and
    ``_hidden_units`` (every layer's hidden units) and their docstrings.
    """

    _visible_units = "bernoulli"
    _hidden_units = "bernoulli"

    _parameter_constraints = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), "array-like"],
        "n_epochs": [Interval(Integral, 0, None, closed="left"), "array-like"],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "cd_steps": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "persistent": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "initial_momentum": [Interval(Real, 0, 1, closed="left")],
        "momentum_ramp_epochs": [Interval(Integral, 0, None, closed="left")],
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
        learning_rate=0.1,
        n_epochs=10,
        batch_size=100,
        cd_steps=1,
        persistent=False,
        momentum=0.9,
        initial_momentum=0.5,
        momentum_ramp_epochs=5,
        weight_decay=2e-4,
        sparsity_target=0.1,
        sparsity_cost=0.0,
        validation_fraction=None,
        random_state=None,
        verbose=0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.learning_rate = learning_rate
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.cd_steps = cd_steps
        self.persistent = persistent
        self.momentum = momentum
        self.initial_momentum = initial_momentum
        self.momentum_ramp_epochs = momentum_ramp_epochs
        self.weight_decay = weight_decay
        self.sparsity_target = sparsity_target
        self.sparsity_cost = sparsity_cost
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the stack greedily, one RBM after the other.

        Layer ``i + 1`` is trained on the hidden activation probabilities of
        layer ``i`` for the same data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. float32 input is trained in float32.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted stack.
        """
        X = self._validate_input(X, reset=True)
        rng = check_random_state(self.random_state)
        X_train, X_val = self._split_validation(X, rng)
        return self._fit_layers(X_train, X_val, rng)

    def _fit_layers(self, X_train, X_val, rng):
        """Greedy training on validated data; ``X_val`` (or None) is monitored."""
        sizes = self._layer_sizes()
        self._create_layers(X_train, sizes, rng)
        n_layers = len(sizes)
        data, val = as_training_matrix(X_train), X_val
        for index, trainer in enumerate(self._trainers):
            completed = trainer.fit(data, self._rngs[index], X_val=val)
            if not completed:
                if index + 1 < n_layers:
                    warnings.warn(
                        f"Stopped after {index + 1} of {n_layers} layers: the fitted "
                        f"stack has only layers 1 to {index + 1}.",
                        UserWarning,
                        stacklevel=2,
                    )
                del self.layers_[index + 1 :], self._trainers[index + 1 :]
                break
            if index + 1 < n_layers:
                data = trainer.layer.hidden_mean(data)
                val = None if val is None else trainer.layer.hidden_mean(val)
        return self

    def partial_fit(self, X, y=None):
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

        Returns
        -------
        self : object
            The updated stack.
        """
        first_call = not hasattr(self, "layers_")
        if first_call:
            self._validate_params()
        X = self._validate_input(X, reset=first_call)
        if first_call:
            self._create_layers(
                X, self._layer_sizes(), check_random_state(self.random_state)
            )
        data = as_training_matrix(X)
        for index, trainer in enumerate(self._trainers):
            snapshot = [p.copy() for p in trainer.layer.parameters]
            trainer.run_epoch(data, self._rngs[index])
            trainer.check_finite(snapshot)
            if index + 1 < len(self._trainers):
                data = trainer.layer.hidden_mean(data)
        return self

    def _validate_input(self, X, reset, owner=None):
        """Validate ``X``; a range warning names ``owner`` (default: self)."""
        dtype = [np.float64, np.float32]
        if not reset and hasattr(self, "layers_"):
            dtype = self.layers_[0].weights.dtype
        X = validate_data(
            self, X, accept_sparse=["csr", "csc"], dtype=dtype, reset=reset
        )
        get_unit_type(self._visible_units).check_visible_input(
            X, type(owner or self).__name__
        )
        return X

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
        if np.ndim(value) == 0:
            return [value] * n_layers
        values = list(value)
        if len(values) != n_layers:
            raise ValueError(
                f"{name} has {len(values)} values but there are {n_layers} layers; "
                "give one value, or one per layer."
            )
        constraint = self._parameter_constraints[name][0]
        for v in values:
            if not constraint.is_satisfied_by(v):
                raise ValueError(
                    f"Each value of {name} must be {constraint}; got {v!r}."
                )
        return values

    def _split_validation(self, X, rng):
        if self.validation_fraction is None:
            return X, None
        n_samples = X.shape[0]
        n_val = int(round(self.validation_fraction * n_samples))
        if n_val < 1 or n_val >= n_samples:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} leaves {n_val} "
                f"validation and {n_samples - n_val} training samples out of "
                f"{n_samples}; both need at least one."
            )
        order = rng.permutation(n_samples)
        return X[np.sort(order[n_val:])], X[np.sort(order[:n_val])]

    def _create_layers(self, X, sizes, rng):
        """Initialise the layers, their trainers and their random generators."""
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
        visible_mean = np.asarray(X.mean(axis=0)).ravel()
        batch_size = min(self.batch_size, X.shape[0])
        for index, n_hidden in enumerate(sizes):
            units = (
                self._visible_units if index == 0 else self._hidden_units,
                self._hidden_units,
            )
            layer = initial_layer(
                n_visible, n_hidden, visible_mean, self._rngs[index], X.dtype, units
            )
            settings = TrainingSettings(
                batch_size=batch_size,
                persistent=self.persistent,
                momentum=self.momentum,
                initial_momentum=self.initial_momentum,
                momentum_ramp_epochs=self.momentum_ramp_epochs,
                **{name: values[index] for name, values in per_layer.items()},
            )
            name = f"layer {index + 1}/{n_layers}"
            self.layers_.append(layer)
            self._trainers.append(RBMTrainer(layer, settings, name, self.verbose))
            n_visible = n_hidden
            # Upper layers see hidden probabilities, which start near 0.5.
            visible_mean = np.full(n_hidden, 0.5)

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
            of the layer below (the usual deterministic up pass).
        """
        check_is_fitted(self)
        X = validate_prediction_input(self, X)
        for layer in self.layers_:
            X = layer.hidden_mean(X)
        return X

    def inverse_transform(self, X):
        """Map top-layer activities down the stack to visible probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_out)
            Activities of the top layer's hidden units (for instance the
            output of ``transform``).

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features_in_)
            ``E[v | h]`` at the bottom layer, each layer fed the expected
            states of the layer above.
        """
        check_is_fitted(self)
        X = self._validate_top_activities(X)
        for layer in reversed(self.layers_):
            X = layer.visible_mean(X)
        return X

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
        X = validate_prediction_input(self, X)
        return -self.layers_[0].free_energy(X)

    def sample(self, n_samples=1, *, n_steps=1000, random_state=None):
        """Generate data by Gibbs sampling in the top RBM, then a down pass.

        Independent chains alternate ``h ~ p(h | v)`` and ``v ~ p(v | h)`` in
        the top RBM for ``n_steps`` steps, starting from visible states drawn
        from its visible biases; the top RBM's last ``E[v | h]`` is then passed
        down through the lower layers' ``E[v | h]``.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples (independent chains).
        n_steps : int, default=1000
            Number of Gibbs steps in the top RBM.
        random_state : int, RandomState instance or None, default=None
            Seed of the chains.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features_in_)
            Expected visible states (probabilities for Bernoulli units).
        """
        check_is_fitted(self)
        seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
        rng = np.random.default_rng(seed)
        top = self.layers_[-1]
        dtype = top.weights.dtype
        with np.errstate(over="ignore"):
            start = np.broadcast_to(
                top.visible_mean(np.zeros((1, top.n_hidden), dtype)),
                (n_samples, top.n_visible),
            )
            visible = get_unit_type(top.visible_units).sample(
                start, rng, np.empty((n_samples, top.n_visible), dtype)
            )
            hidden = top.sample_hidden(visible, rng)
            for _ in range(n_steps):
                visible = top.sample_visible(hidden, rng)
                hidden = top.sample_hidden(visible, rng)
        X = top.visible_mean(hidden)
        for layer in reversed(self.layers_[:-1]):
            X = layer.visible_mean(X)
        return X

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


class BernoulliRBMStack(_RBMStackBase):
    """Greedy layer-wise stack of binary RBMs, used as a feature transformer.

    Each layer is a Restricted Boltzmann Machine with binary (Bernoulli)
    visible and hidden units, trained by contrastive divergence (CD-k) or
    persistent CD with momentum, L2 weight decay and an optional sparsity
    target. Layer ``i + 1`` learns on the hidden probabilities of layer
    ``i`` (Hinton, Osindero & Teh 2006). ``transform`` maps data up to the
    top layer; the stack also reconstructs (``inverse_transform``),
    generates (``sample``) and scores (``score_samples``) data.

    The visible units model data in ``[0, 1]`` (binary data, or grey levels
    read as probabilities). Other values are accepted, since the energy is
    defined for any real input, but ``fit`` warns with a
    ``DataRangeWarning``: scale such data first, e.g. with
    ``MinMaxScaler(clip=True)``.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default=(100,)
        Number of hidden units of each RBM, bottom to top.
    learning_rate : float or sequence of float, default=0.1
        Step size of the gradient updates (per layer if a sequence).
    n_epochs : int or sequence of int, default=10
        Passes over the training data for each layer.
    batch_size : int, default=100
        Number of samples per minibatch (capped at the number of samples).
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
        sampling. The same seed gives the same model on the same machine.
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
        trained so far.
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
