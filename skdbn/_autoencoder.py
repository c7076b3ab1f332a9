"""DBNAutoencoder: a deep (optionally variational) autoencoder unrolled from a stack.

Hinton & Salakhutdinov (2006): pre-train a stack of RBMs, "unroll" it into an
encoder (the stack's up pass) and a decoder (its down pass, with the
transposed weights), untie the two halves and fine-tune the whole network by
back-propagation of the reconstruction error.

The array maths (losses, their gradients, the forward and backward passes of
the unrolled network) are plain functions and one small class,
``AutoencoderNetwork``, free of estimator code, in
``_autoencoder_network.py``; the estimator here owns the loop: minibatches,
early stopping, the KL warm-up, warm starts and progress reports.
"""

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.model_selection import train_test_split
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._autoencoder_network import (
    AutoencoderNetwork,
    _dense,
)
from ._fine_tuning import (
    FINE_TUNING_CONSTRAINTS,
    PRETRAINING_PARAMETERS,
    STACK_CLASSES,
    FineTuningMixin,
)
from ._prior import (
    LAPLACE_SCALE,
    active_code_fraction,
)
from ._scaling import (
    scale_input,
    set_input_scaling,
    unscale_output,
)
from ._serialization import PlainStateMixin
from ._sparsity import fine_tuning_sparsity
from ._speed import limit_blas_threads, resolve_batch_size
from ._stack_base import _RBMStackBase, forget_fit
from ._units import UNIT_TYPES, DataRangeWarning, get_unit_type
from ._validation import (
    check_magnitude,
    check_numeric_columns,
    validate_prediction_input,
)
from ._variational import VariationalCodeMixin

# -- The estimator -----------------------------------------------------------------


class DBNAutoencoder(
    VariationalCodeMixin,
    PlainStateMixin,
    FineTuningMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    BaseEstimator,
):
    """Deep autoencoder pre-trained as a stack of RBMs, optionally variational.

    A stack of RBMs (``hidden_layer_sizes``, the last being the code layer)
    is first trained greedily, as :class:`BernoulliRBMStack` (or
    :class:`GaussianRBMStack` for ``visible_units="gaussian"``) does with
    the same parameters; the top RBM has linear (Gaussian) hidden units by
    default, so that the code is real-valued. The stack is then "unrolled"
    (Hinton & Salakhutdinov 2006): the encoder is its up pass, the decoder
    its down pass with the transposed weights and the visible biases. The
    two halves are untied and fine-tuned together by back-propagation of the
    reconstruction error: the binary cross-entropy with a logistic output
    for Bernoulli visible units (data in ``[0, 1]``), half the squared error
    with a linear output for Gaussian ones (standardised data).

    With ``variational=True`` the code layer becomes the Gaussian posterior
    ``q(z | x) = N(mu(x), diag(exp(log_var(x))))`` of a variational
    autoencoder (Kingma & Welling 2014): the mean head starts from the top
    RBM, the log-variance head from zero weights and a bias of -4; the
    network is trained on the negative evidence lower bound (ELBO),
    reconstruction loss of a code drawn by the reparameterisation trick plus
    ``kl_weight`` times ``KL(q(z | x) || N(0, I))``, and ``sample`` draws
    data from the prior through the decoder.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default=(100, 30)
        Number of units of each encoder layer (and RBM), bottom to top; the
        last is the size of the code. The decoder mirrors them.
    visible_units : {"auto", "bernoulli", "gaussian"}, default="auto"
        Input units of the first RBM and the decoder's output: binary for
        data in ``[0, 1]`` (logistic output, cross-entropy), Gaussian for
        standardised real-valued data (linear output, squared error).
        ``"auto"`` picks Bernoulli units when the training data lies within
        ``[0, 1]`` and otherwise Gaussian units on data the autoencoder
        standardises itself (``input_mean_``, ``input_scale_``; without
        centering for sparse input): ``transform`` scales its input, and
        reconstructions, samples and ``score`` are in the input's units.
        An explicit ``"gaussian"`` uses the data as given.
    hidden_units : {"auto", "bernoulli", "relu", "gaussian"} or sequence, \
            default="auto"
        Units of each RBM's hidden layer (per layer if a sequence), which fix
        the activation of the matching encoder and decoder layers: logistic,
        rectified linear or identity. ``"auto"`` is binary units below and
        linear (Gaussian) units in the code layer, as in the 2006 paper.
    learning_rate : float, "auto" or sequence, default="auto"
        Pre-training step size of each RBM: ``"auto"`` is 0.1 for RBMs with
        binary units on both sides and 0.01 for those with real-valued units,
        the linear code layer included (Hinton & Salakhutdinov used 0.001
        there; pass a sequence to do the same).
    n_epochs : int, "auto" or sequence, default=50
        Pre-training epochs of each RBM. Fewer hand fine-tuning a poor
        start: after 10 epochs on the digits the code layer's weights are a
        quarter of the scale of a random (Glorot) start and the unrolled
        network reconstructs little better than the mean image, so that
        pre-training loses to ``pretrain=False`` (see the Notes).
        ``"auto"`` is 500 minibatch updates within 10 to 70 epochs,
        ``max(10, min(ceil(500 / n_minibatches), 70))``.
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
        layer of the encoder, where ``q_j`` is unit ``j``'s mean activation
        over the minibatch (0 turns it off).
    learn_variance : bool, default=False
        With ``visible_units="gaussian"``, learn each feature's standard
        deviation during pre-training; the unrolled decoder then starts from
        ``E[v | h] = b + s * (W h)``. Fine-tuning uses the squared error
        (unit variance) either way.
    pretrain : bool, default=True
        Pre-train the layers as RBMs. ``False`` starts fine-tuning from a
        Glorot-uniform random initialisation, to measure what pre-training
        buys.
    variational : bool, default=False
        Make the code layer a Gaussian posterior and train on the ELBO (see
        above).
    kl_weight : float, default=1.0
        Weight of the KL term of a variational code (1 gives the ELBO;
        other values a beta-VAE).
    kl_warmup_epochs : int, default=10
        Fine-tuning epochs over which the KL weight rises linearly from
        ``kl_weight / kl_warmup_epochs`` to ``kl_weight`` (0: no warm-up).
        Those epochs count neither towards ``n_iter_no_change`` nor towards
        ``best_loss_``, since their loss is not comparable.
    prior : {"gaussian", "laplace", "rbm"}, default="gaussian"
        Prior of a variational code. ``"gaussian"`` is ``N(0, I)``.
        ``"laplace"`` is the sparsity-inducing Laplace prior
        ``prod_j exp(-sqrt(2) |z_j|) / sqrt(2)`` (unit variance, as
        ``N(0, I)``), whose KL term is in closed form and pulls the
        posterior means to exactly 0 like an L1 penalty: a sparse code
        (``laplace_scale`` sets how strongly).
        ``"rbm"`` trains the network with ``N(0, I)``, then a
        Gaussian-Bernoulli RBM (``prior_``) on codes drawn from the training
        data's posteriors, so that it learns their aggregate distribution;
        ``sample`` and ``score_samples`` then use it instead of ``N(0, I)``:
        the top-level RBM of a deep belief net as the prior of the layer
        below.
    laplace_scale : float or None, default=None
        Scale ``b`` of the Laplace prior ``prod_j exp(-|z_j| / b) / (2 b)``
        (``prior="laplace"`` only). None is ``sqrt(1/2)``, unit variance, as
        ``N(0, I)``. A smaller scale pulls more posterior means to 0: on the
        digits (code of 16 units) 0.3 gave about half of them near 0, while
        unit variance kept the code about as dense as the Gaussian prior's
        (``benchmarks/README.md``, ``bench_generative.py``).
    prior_n_components : int, default=16
        Binary hidden units of the RBM prior. Up to 20, its log partition
        function and its samples are exact (``2**n`` states enumerated);
        beyond, ``log Z`` is estimated by AIS and samples by Gibbs chains.
    prior_n_epochs : int, default=50
        Training epochs of the RBM prior (persistent CD-1).
    solver : {"adam", "sgd", "lbfgs"}, default="adam"
        Fine-tuning optimiser: Adam, SGD with Nesterov momentum ``momentum``,
        or L-BFGS-B (through ``scipy.optimize``, as scikit-learn's MLP), which
        minimises the loss of the whole training set, without minibatches: on
        small data sets it often fits far better than the stochastic solvers.
        It has no ``partial_fit``, takes no dropout and ignores
        ``early_stopping``. A variational code needs a stochastic solver.
    learning_rate_init : float, default=1e-2
        Fine-tuning step size of ``"adam"`` and ``"sgd"`` (the first one, with
        a ``fine_tuning_schedule``). Ten times MLP's: at 1e-3 Adam is still
        far from a fit after 200 epochs of a small data set (the digits'
        reconstruction errors at code sizes 10 and 30 are two to three
        times as large), with or without pre-training.
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
        L2 penalty on the weights during fine-tuning, with scikit-learn's
        ``MLPRegressor`` scaling (``0.5 * alpha * ||W||^2 / batch_size``).
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
        Minimum improvement of the training loss (or of the validation score
        with ``early_stopping``) that resets the patience counter. With
        ``solver="lbfgs"``, the largest projected gradient component at which
        L-BFGS stops (scipy's ``gtol``).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (used neither for
        pre-training nor for fine-tuning), stop when its score stops
        improving and keep the best weights. The score is ``score`` (minus
        the mean squared reconstruction error), or for a variational code
        the mean of ``score_samples`` (the deterministic ELBO).
    validation_fraction : float, default=0.1
        Fraction of the training data held out for early stopping.
    n_iter_no_change : int or np.inf, default=10
        Fine-tuning stops once more than ``n_iter_no_change`` epochs in a row
        have not improved by ``tol``, as in scikit-learn's MLP (``np.inf``:
        never early). With ``fine_tuning_schedule="adaptive"`` the step is
        divided by 5 instead.
    warm_start : bool, default=False
        Let ``fit`` continue fine-tuning the current network (no new
        pre-training) instead of starting afresh.
    random_state : int, RandomState instance or None, default=None
        Seed of the pre-training, the weight initialisation, the minibatch
        order and the noise of the variational code: the same seed gives
        the same model on the same machine with the same number of BLAS
        threads.
    verbose : int, default=0
        Print one line per pre-training and per fine-tuning epoch.

    Attributes
    ----------
    visible_units_ : {"bernoulli", "gaussian"}
        The visible units used, ``visible_units`` with ``"auto"`` resolved.
    input_mean_ : ndarray of shape (n_features_in_,) or None
        Mean subtracted from each feature before the encoder sees it
        (zeros for sparse training data), or None when the input is used as
        it is (explicit ``visible_units``, or data within ``[0, 1]``).
    input_scale_ : ndarray of shape (n_features_in_,) or None
        Standard deviation each feature is divided by (1 for a constant
        feature), or None as ``input_mean_``.
    stack_ : BernoulliRBMStack, GaussianRBMStack or None
        The pre-trained stack (its layers keep their pre-training weights and
        history), or None with ``pretrain=False``; it was trained on the
        scaled input (see ``input_mean_``). After a Ctrl-C in
        pre-training it has only the layers whose training began, and the
        fit stopped before fine-tuning (see the user guide).
    coefs_ : list of ndarray
        Fine-tuned weights, encoder then decoder, ``coefs_[i]`` of shape
        (n_in, n_out).
    intercepts_ : list of ndarray
        Fine-tuned biases of each layer.
    n_components_ : int
        Size of the code, ``hidden_layer_sizes[-1]``.
    loss_curve_ : list of float
        Mean training loss of each fine-tuning epoch (reconstruction loss,
        plus the weighted KL term, plus the L2 penalty).
    kl_curve_ : list of float or None
        Mean KL term (unweighted, nats) of each epoch, for a variational
        code.
    active_code_fraction_ : float or None
        For a variational code, the fraction of code units that are active:
        whose posterior mean varies over the training data with a variance
        above 0.01 (Burda, Grosse & Salakhutdinov 2016). The others have
        collapsed to the prior and carry no information. None otherwise.
    prior_ : RBMLayer or None
        The RBM prior of the code (Gaussian visible units with learned
        standard deviations, binary hidden units) with ``prior="rbm"``;
        None otherwise.
    prior_log_partition_ : float or None
        Log partition function of ``prior_`` (exact up to 20 hidden units,
        an AIS estimate beyond), so that ``log p(z) = -prior_.free_energy(z)
        - prior_log_partition_``.
    validation_scores_ : list of float or None
        Held-out score after each epoch with ``early_stopping``.
    best_validation_score_ : float or None
        Best held-out score with ``early_stopping``.
    best_loss_ : float or None
        Lowest training loss after the KL warm-up, without
        ``early_stopping``.
    n_iter_ : int
        Number of fine-tuning epochs (L-BFGS iterations) of the last call
        to ``fit``, as in scikit-learn's MLP;
        ``loss_curve_`` has those of all calls.
    t_ : int
        Number of training samples seen by the fine-tuning updates.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    BernoulliRBMStack : The stack that does the pre-training.
    sklearn.decomposition.PCA : The linear method a deep autoencoder beats.

    Notes
    -----
    ``score(X)`` is minus the squared reconstruction error summed over the
    features and averaged over the samples, ``-mean_i ||x_i - x_hat_i||^2``
    with ``x_hat = inverse_transform(transform(X))``, the measure of the
    2006 paper, whatever the training loss. For Bernoulli visible units and
    data in ``[0, 1]`` that are not binary, the cross-entropy is not the
    log-likelihood of a proper density; the ELBO of ``score_samples`` is
    then, as usual for grey-level MNIST, a number to compare models by.

    The defaults (``n_epochs=50``, ``learning_rate_init=1e-2``) were chosen
    on the digits and on 10,000 MNIST images at code sizes 2, 10 and 30
    (``benchmarks/bench_defaults.py --sections autoencoder``, results in
    ``benchmarks/README.md``): there the autoencoder reconstructs held-out
    images better than PCA at code sizes 2 and 10 (PCA stays ahead at code
    size 30 on the digits, whose 64 pixels have nearly all their variance
    in 30 components), and better than ``pretrain=False`` on the digits at
    every code size and on MNIST at 30; on MNIST at code sizes 2 and 10
    ``pretrain=False`` is 3-4% better, for about 15% less time.

    References
    ----------
    Hinton, G. E. & Salakhutdinov, R. R. (2006). Reducing the dimensionality
    of data with neural networks. Science, 313, 504-507.

    Kingma, D. P. & Welling, M. (2014). Auto-encoding variational Bayes.
    ICLR.

    Examples
    --------
    >>> from skdbn import DBNAutoencoder
    >>> from skdbn.datasets import load_digits_01
    >>> X, _ = load_digits_01(return_X_y=True)
    >>> X_train, X_test = X[:1000], X[1000:]
    >>> ae = DBNAutoencoder(hidden_layer_sizes=(64, 10), n_epochs=3, batch_size=20,
    ...                     learning_rate_init=0.01, max_iter=10,
    ...                     random_state=0).fit(X_train)
    >>> codes = ae.transform(X_test)
    >>> codes.shape, ae.inverse_transform(codes).shape
    ((797, 10), (797, 64))
    >>> list(ae.get_feature_names_out()[:2])
    ['dbnautoencoder0', 'dbnautoencoder1']
    >>> bool(-ae.score(X_test) < 3.0)  # squared error per image, of up to 64
    True
    """

    #: Fitted state without a trailing underscore (see ``forget_fit``).
    _private_fitted_attributes = (
        "_network",
        "_optimizer",
        "_rng",
        "_pretrain_seed",
        "_no_improvement_count",
        "_training_prior",
        "_laplace_scale",
    )

    _parameter_constraints = {
        **{
            name: _RBMStackBase._parameter_constraints[name]
            for name in PRETRAINING_PARAMETERS
        },
        "hidden_units": [StrOptions(set(UNIT_TYPES) | {"auto"}), "array-like"],
        "visible_units": [StrOptions(set(STACK_CLASSES) | {"auto"})],
        "learn_variance": ["boolean"],
        "pretrain": ["boolean"],
        "variational": ["boolean"],
        "kl_weight": [Interval(Real, 0, None, closed="left")],
        "kl_warmup_epochs": [Interval(Integral, 0, None, closed="left")],
        "prior": [StrOptions({"gaussian", "laplace", "rbm"})],
        "laplace_scale": [Interval(Real, 0, None, closed="neither"), None],
        "fine_tuning_sparsity_cost": [Interval(Real, 0, None, closed="left")],
        "prior_n_components": [Interval(Integral, 1, None, closed="left")],
        "prior_n_epochs": [Interval(Integral, 1, None, closed="left")],
        **FINE_TUNING_CONSTRAINTS,
    }

    def __init__(
        self,
        hidden_layer_sizes=(100, 30),
        *,
        visible_units="auto",
        hidden_units="auto",
        learning_rate="auto",
        n_epochs=50,
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
        variational=False,
        kl_weight=1.0,
        kl_warmup_epochs=10,
        prior="gaussian",
        laplace_scale=None,
        prior_n_components=16,
        prior_n_epochs=50,
        solver="adam",
        learning_rate_init=1e-2,
        fine_tuning_schedule="constant",
        power_t=0.5,
        alpha=1e-4,
        max_iter=200,
        max_fun=15000,
        shuffle=True,
        tol=1e-4,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        warm_start=False,
        random_state=None,
        verbose=0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.visible_units = visible_units
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
        self.variational = variational
        self.kl_weight = kl_weight
        self.kl_warmup_epochs = kl_warmup_epochs
        self.prior = prior
        self.laplace_scale = laplace_scale
        self.prior_n_components = prior_n_components
        self.prior_n_epochs = prior_n_epochs
        self.solver = solver
        self.learning_rate_init = learning_rate_init
        self.fine_tuning_schedule = fine_tuning_schedule
        self.power_t = power_t
        self.alpha = alpha
        self.max_iter = max_iter
        self.max_fun = max_fun
        self.shuffle = shuffle
        self.tol = tol
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose

    # --------------------------------------------------------------- fitting

    @_fit_context(prefer_skip_nested_validation=True)
    @limit_blas_threads("pre-training", "fine-tuning")
    def fit(self, X, y=None):
        """Pre-train the stack, unroll it and fine-tune the autoencoder on ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data: raw with ``visible_units="auto"``, in ``[0, 1]``
            for Bernoulli visible units, standardised for explicit Gaussian
            ones. float32 input is trained in float32.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted autoencoder.
        """
        first = not (self.warm_start and hasattr(self, "_network"))
        if not first and self._network.variational != self.variational:
            raise ValueError(
                "warm_start cannot change variational: refit with warm_start=False."
            )
        if self.solver == "lbfgs" and self.variational:
            raise ValueError(
                "A variational code needs a stochastic solver ('adam' or 'sgd'): "
                "its loss is an expectation over noise, which solver='lbfgs' "
                "cannot minimise."
            )
        if self.prior != "gaussian" and not self.variational:
            raise ValueError(
                f"prior={self.prior!r} is the prior of a variational code: set "
                "variational=True, or keep prior='gaussian'."
            )
        built = not first
        try:
            X = self._validate_training_data(X, reset=first)
            rng = check_random_state(self.random_state)
            if first:
                self._initialize(rng)
            X_train, X_val = self._split_early_stopping(X)
            self._training_prior = "laplace" if self.prior == "laplace" else "gaussian"
            self._laplace_scale = (
                LAPLACE_SCALE
                if self.laplace_scale is None
                else float(self.laplace_scale)
            )
            if first:
                pretrained = self._initialize_network(X_train, X_val)
                built = True
            self._optimizer = self._make_optimizer()
            if first and not pretrained:
                self._stop_after_interrupted_pretraining()
                return self
            self._fine_tune(X_train, X_val)
            self._fit_prior(X_train)
            self.active_code_fraction_ = (
                active_code_fraction(self._network.encode(X_train))
                if self.variational
                else None
            )
        except KeyboardInterrupt:
            # Before the network exists, nothing usable was fitted.
            if not built:
                forget_fit(self)
                raise
            self._interrupted_outside_epochs()
        return self

    def _validate_training_data(self, X, reset):
        dtype = [np.float64, np.float32] if reset else self._network.dtype
        check_numeric_columns(X, type(self).__name__)
        X = validate_data(
            self, X, accept_sparse=["csr", "csc"], dtype=dtype, reset=reset
        )
        if sp.issparse(X):
            X = X.tocsr()
        check_magnitude(X, type(self).__name__)
        if reset:
            set_input_scaling(self, X, self.visible_units)
        X = scale_input(self, X)
        if self.input_scale_ is None:
            # (Input scaled by the estimator needs no advice on scaling.)
            units = get_unit_type(self.visible_units_)
            units.check_visible_input(X, type(self).__name__)
        return X

    def _initialize(self, rng):
        """Reset the fitted state before a fresh (not warm-started) fit."""
        self._reset_fine_tuning(rng)
        self.kl_curve_ = [] if self.variational else None
        self.prior_ = self.prior_log_partition_ = None
        self.active_code_fraction_ = None

    def _split_early_stopping(self, X):
        if not self._early_stopping_used():
            return X, None
        X_train, X_val = train_test_split(
            X,
            test_size=self._validation_size(X.shape[0]),
            random_state=self._pretrain_seed,
        )
        return X_train, X_val

    def _hidden_units(self):
        """``hidden_units`` with ``"auto"`` resolved: binary, then linear on top."""
        if isinstance(self.hidden_units, str) and self.hidden_units == "auto":
            n_layers = len(_RBMStackBase._layer_sizes(self))
            return ["bernoulli"] * (n_layers - 1) + ["gaussian"]
        return self.hidden_units

    def _initialize_network(self, X, X_val):
        """Pre-train (or not) and build the network; False if interrupted."""
        stack = self._make_stack(hidden_units=self._hidden_units())
        sizes = stack._layer_sizes()
        units = stack._per_layer("hidden_units", len(sizes))
        completed = True
        if self.pretrain:
            with warnings.catch_warnings():
                # Already said by _validate_training_data, about all of X.
                warnings.simplefilter("ignore", DataRangeWarning)
                stack._validate_input(X, reset=True, owner=self)
            completed, untrained = stack._fit_layers(
                X, X_val, check_random_state(self._pretrain_seed)
            )
            self.stack_ = stack
            # After an interrupt, the layers not reached start untrained.
            self._network = AutoencoderNetwork.from_layers(
                stack.layers_ + untrained, self.visible_units_, self.variational
            )
        else:
            self.stack_ = None
            activations = [get_unit_type(u).network_activation for u in units]
            self._network = AutoencoderNetwork.initialize(
                [X.shape[1], *sizes],
                activations,
                self.visible_units_,
                self._rng,
                X.dtype,
                self.variational,
            )
        return completed

    def _fine_tune(self, X, X_val):
        network, optimizer = self._network, self._optimizer
        sparsity = fine_tuning_sparsity(
            self, network.activations[: network.n_code_layer]
        )
        if self.solver == "lbfgs":

            def loss_and_gradients():
                loss, _, grads = network.loss_and_gradients(
                    X, alpha=self.alpha, sparsity=sparsity
                )
                return loss, grads

            self._run_lbfgs(X.shape[0], network.parameters, loss_and_gradients)
            return
        if network.variational:
            # One buffer for every minibatch's reparameterisation noise.
            batch_size = resolve_batch_size(self.batch_size, X.shape[0], "fine-tuning")
            noise_buffer = np.empty((batch_size, network.n_components), network.dtype)

        def step(rows):
            # The KL warm-up runs over all the epochs, warm starts included.
            epoch = len(self.loss_curve_)
            kl_weight = self._kl_weight_at(epoch) if self.variational else 0.0
            noise = None
            if network.variational:
                noise = self._rng.standard_normal(
                    out=noise_buffer[: len(rows)], dtype=network.dtype
                )
            loss, parts, grads = network.loss_and_gradients(
                X[rows],
                kl_weight=kl_weight,
                alpha=self.alpha,
                noise=noise,
                prior=self._training_prior,
                prior_scale=self._code_prior_scale(),
                sparsity=sparsity,
            )
            optimizer.update(network.parameters, grads)
            return loss, {"kl": parts["kl"]}

        def warming_up():
            # The epoch just finished is number len(loss_curve_) - 1 (from 0).
            weight = self._kl_weight_at(len(self.loss_curve_) - 1)
            return self.variational and weight < self.kl_weight

        def kl_quantities(means):
            if not self.variational:
                return []
            weight = self._kl_weight_at(len(self.loss_curve_) - 1)
            return [("KL", means["kl"], ".5f"), ("KL weight", weight, ".3g")]

        history = self._run_fine_tuning(
            X.shape[0],
            network.parameters,
            step,
            epochs=self.max_iter,
            validation_score=(
                None if X_val is None else lambda: self._validation_score(X_val)
            ),
            warming_up=warming_up,
            extra_quantities=kl_quantities,
        )
        if self.variational:
            self.kl_curve_.extend(means["kl"] for means in history)

    def _validation_score(self, X_val):
        if self.variational:
            return float(np.mean(self._elbo(X_val)))
        return self._score(X_val, scaled=True)

    # ------------------------------------------------------------ transforms

    @property
    def coefs_(self):
        """Fine-tuned weight matrices, encoder first, output layer last."""
        return self._network.weights

    @property
    def intercepts_(self):
        """Fine-tuned bias vectors, one per layer."""
        return self._network.biases

    @property
    def n_components_(self):
        """Size of the code."""
        return self._network.n_components

    @property
    def _n_features_out(self):
        return self._network.n_components

    def _check_input(self, X):
        check_is_fitted(self, "_network")
        return scale_input(self, validate_prediction_input(self, X))

    def transform(self, X):
        """Encode ``X``: the code of each sample (the posterior mean if variational).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        codes : ndarray of shape (n_samples, n_components_)
            The fine-tuned encoder's output.
        """
        X = self._check_input(X)
        return self._network.encode(X)

    def inverse_transform(self, X):
        """Decode codes to reconstructions, ``E[x | code]``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components_)
            Codes, e.g. the output of ``transform``.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features_in_)
            The decoder's means: probabilities for Bernoulli visible units,
            real values for Gaussian ones, in the input's units (the input
            scaling of ``visible_units="auto"`` undone).
        """
        check_is_fitted(self, "_network")
        X = check_array(X, dtype=[np.float64, np.float32])
        if X.shape[1] != self.n_components_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} expects "
                f"{self.n_components_} (the size of its code) as input to "
                "inverse_transform."
            )
        return unscale_output(self, self._network.decode(X))

    def _score(self, X, scaled=False):
        """Minus the mean squared reconstruction error of ``X`` (scaled input).

        ``scaled=True`` measures it in standardised units (early stopping),
        the default in the input's units.
        """
        reconstruction = self._network.decode(self._network.encode(X))
        if not scaled:
            reconstruction = unscale_output(self, reconstruction)
            X = unscale_output(self, _dense(X))
        diff = reconstruction - _dense(X)
        return -float(np.einsum("ij,ij->", diff, diff)) / X.shape[0]

    def score(self, X, y=None):
        """Compute minus the mean squared reconstruction error of ``X``.

        ``-mean_i sum_j (x_ij - x_hat_ij)**2`` with ``x_hat =
        inverse_transform(transform(X))``: the squared error summed over the
        features and averaged over the samples (the measure of Hinton &
        Salakhutdinov 2006), in the input's units; higher is better.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to reconstruct.
        y : None
            Ignored.

        Returns
        -------
        score : float
            Minus the mean squared reconstruction error per sample.
        """
        return self._score(self._check_input(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
