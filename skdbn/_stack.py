"""Greedy layer-wise stacks of RBMs as scikit-learn transformers."""

from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from ._scaling import fit_standardisation
from ._stack_base import _RBMStackBase

#: Default ``visible_std`` of GaussianRBMStack, in units of the standardised
#: features (see its docstring for the measurements behind it).
VISIBLE_STD = 0.3


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
