"""An RBM as the prior of a variational autoencoder's code.

The variational autoencoder of ``DBNAutoencoder`` is trained with the
standard normal prior ``N(0, I)`` on its code. The codes its encoder actually
produces, the *aggregate posterior* ``q(z) = mean_x q(z | x)``, are rarely
that simple: clusters, correlated directions, unused dimensions. A
Gaussian-Bernoulli RBM trained on codes drawn from ``q(z | x)`` learns
``q(z)``, and replaces ``N(0, I)`` as the prior: the top-level RBM of a deep
belief net acting as the prior of the layer below it.

The RBM is an ordinary ``RBMLayer`` with Gaussian visible units (the code,
with learned standard deviations) and binary hidden units, trained by the
ordinary ``RBMTrainer``. Its density is ``p(z) = exp(-F(z)) / Z``, a mixture
of ``2**n_hidden`` Gaussians with a shared diagonal covariance. Its
``log Z`` is exact (enumeration of the hidden states) for up to
``EXACT_HIDDEN_LIMIT`` hidden units and estimated by AIS
(``skdbn.evaluation``) otherwise; with that few hidden units samples are
exact too (a hidden state drawn from its enumerated marginal, then ``z``
from ``p(z | h)``), and long Gibbs chains otherwise.

Everything here is a plain function of the layer; the estimator stores the
layer (``prior_``) and its log partition function.
"""

import numpy as np
from scipy.special import erf, logsumexp

from ._ais import ais_log_partition
from ._exact import _float64_layer, log_partition_exact
from ._rbm import initial_layer
from ._training import RBMTrainer, TrainingSettings

#: Prior RBMs with at most this many hidden units get an exact ``log Z``
#: (by enumerating the ``2**n`` hidden states, in chunks) and exact samples.
EXACT_HIDDEN_LIMIT = 20

#: Pre-training settings of the prior RBM: real-valued visible units take
#: the small step (Hinton 2010, section 13.2), decayed linearly so that
#: persistent CD settles (Tieleman 2008).
PRIOR_LEARNING_RATE = 0.03
PRIOR_BATCH_SIZE = 100

#: AIS settings for prior RBMs too large to enumerate.
AIS_RUNS = 100
AIS_BETAS = 10000

#: Scale ``b`` of the Laplace prior ``prod_j exp(-|z_j| / b) / (2 b)``: unit
#: variance (``2 b**2 = 1``), as the standard normal prior it replaces.
LAPLACE_SCALE = float(np.sqrt(0.5))

#: A code unit is active when the variance of its posterior mean over the
#: training data exceeds this (Burda, Grosse & Salakhutdinov 2016).
ACTIVITY_THRESHOLD = 0.01

#: Hidden states handled at once when enumerating (bounds the memory).
_CHUNK_STATES = 2**14


def draw_codes(mean, log_var, rng):
    """One code drawn from each row's posterior ``N(mean, exp(log_var))``."""
    noise = rng.standard_normal(mean.shape).astype(mean.dtype, copy=False)
    noise *= np.exp(0.5 * log_var)
    noise += mean
    return noise


def fit_prior(codes, n_components, n_epochs, rng, verbose=0):
    """Train a Gaussian-Bernoulli RBM on ``codes``; return the ``RBMLayer``.

    The visible units start at the codes' mean and standard deviation (which
    they learn); training is persistent CD-1 with momentum, a little weight
    decay and a linearly decaying step, as the stacks train their layers.

    Parameters
    ----------
    codes : ndarray of shape (n_samples, n_code)
        Draws from the aggregate posterior.
    n_components : int
        Number of binary hidden units.
    n_epochs : int
        Training epochs.
    rng : numpy.random.Generator
        Seed of the initial weights, the minibatches and the chains.
    verbose : int, default=0
        Print one line per epoch.

    Returns
    -------
    layer : RBMLayer
        The prior: ``visible_units="gaussian"`` with ``visible_log_std``,
        ``hidden_units="bernoulli"``.
    """
    std = codes.std(axis=0, dtype=np.float64)
    layer = initial_layer(
        codes.shape[1],
        n_components,
        codes.mean(axis=0, dtype=np.float64),
        rng,
        codes.dtype,
        ("gaussian", "bernoulli"),
        visible_std=std,
    )
    settings = TrainingSettings(
        learning_rate=PRIOR_LEARNING_RATE,
        n_epochs=n_epochs,
        batch_size=min(PRIOR_BATCH_SIZE, codes.shape[0]),
        cd_steps=1,
        persistent=True,
        momentum=0.9,
        initial_momentum=0.5,
        momentum_ramp_epochs=5,
        weight_decay=2e-4,
        learning_rate_schedule="linear",
        sparsity_target=0.1,
        sparsity_cost=0.0,
    )
    RBMTrainer(layer, settings, "prior RBM", verbose).fit(codes, rng)
    return layer


def prior_log_partition(layer, codes=None, random_state=None):
    """``log Z`` of the prior: exact when small enough, else by AIS.

    ``codes`` (the training codes) centre AIS's base model; ``random_state``
    seeds AIS. The value is the log of ``Z = sum_h int exp(-E(z, h)) dz``,
    so that ``exp(-F(z)) / Z`` is a density of ``z`` itself.
    """
    if layer.n_hidden <= EXACT_HIDDEN_LIMIT:
        return log_partition_exact(layer, max_states=2**EXACT_HIDDEN_LIMIT)
    result = ais_log_partition(
        layer, codes, n_runs=AIS_RUNS, betas=AIS_BETAS, random_state=random_state
    )
    return result.log_partition


def log_prior(layer, log_partition, Z):
    """``log p(z) = -F(z) - log Z`` of each row of ``Z``, in float64."""
    return -layer.free_energy(np.asarray(Z, dtype=np.float64)) - log_partition


def expected_log_prior_bound(layer, log_partition, mean, log_var):
    """A lower bound of ``E_q[log p(z)]`` for ``q = N(mean, exp(log_var))``.

    ``-F(z) = -sum_i (z_i - b_i)**2 / (2 s_i**2) + sum_j softplus(c_j +
    (z / s) @ W_j)``. The quadratic term's expectation is exact:
    ``((mean - b)**2 + exp(log_var)) / (2 s**2)``. The softplus terms are
    convex functions of ``z``, whose expectation is at least their value at
    the mean (Jensen), so the result is deterministic and never above the
    true expectation: the ELBO it goes into stays a lower bound.
    """
    mean = np.asarray(mean, dtype=np.float64)
    variance = np.exp(np.asarray(log_var, dtype=np.float64))
    s2 = np.exp(2.0 * np.asarray(layer.visible_log_std, dtype=np.float64))
    b = np.asarray(layer.visible_bias, dtype=np.float64)
    quadratic = 0.5 * ((np.square(mean - b) + variance) / s2).sum(axis=1)
    field = mean @ np.asarray(layer.input_weights, dtype=np.float64)
    field += layer.hidden_bias
    return np.logaddexp(0.0, field).sum(axis=1) - quadratic - log_partition


def _hidden_states(start, stop, n_hidden):
    """Rows ``start`` to ``stop - 1`` of the table of binary hidden states."""
    codes = np.arange(start, stop, dtype=np.int64)
    return ((codes[:, np.newaxis] >> np.arange(n_hidden)) & 1).astype(np.float64)


def sample_prior(layer, n_samples, rng, n_steps=1000):
    """Draw ``n_samples`` codes from the prior RBM.

    With at most ``EXACT_HIDDEN_LIMIT`` hidden units the draws are exact:
    hidden states from their marginal ``p(h) = exp(-F(h)) / Z`` (all states
    enumerated), then ``z ~ p(z | h) = N(b + s * (W h), s**2)``. Larger
    RBMs run one Gibbs chain per sample for ``n_steps`` steps, started from
    ``p(z | h = 0)``, and return the chains' last visible draws.

    Returns an array of shape ``(n_samples, n_code)`` of the layer's dtype.
    """
    if layer.n_hidden > EXACT_HIDDEN_LIMIT:
        return _gibbs_samples(layer, n_samples, rng, n_steps)
    exact = _float64_layer(layer)
    n_states = 2**layer.n_hidden
    log_marginals = np.empty(n_states)
    for start in range(0, n_states, _CHUNK_STATES):
        stop = min(start + _CHUNK_STATES, n_states)
        states = _hidden_states(start, stop, layer.n_hidden)
        log_marginals[start:stop] = -exact.hidden_free_energy(states)
    probabilities = np.exp(log_marginals - logsumexp(log_marginals))
    cumulative = np.cumsum(probabilities)
    picks = np.searchsorted(cumulative, rng.random(n_samples) * cumulative[-1])
    picks = np.minimum(picks, n_states - 1)
    hidden = ((picks[:, np.newaxis] >> np.arange(layer.n_hidden)) & 1).astype(
        layer.weights.dtype
    )
    return layer.sample_visible(hidden, rng)


def _gibbs_samples(layer, n_samples, rng, n_steps):
    dtype = layer.weights.dtype
    visible = layer.sample_visible(np.zeros((n_samples, layer.n_hidden), dtype), rng)
    for _ in range(n_steps):
        hidden = layer.sample_hidden(visible, rng)
        visible = layer.sample_visible(hidden, rng)
    return visible


# -- The Laplace prior: a sparse code --------------------------------------------

_SQRT_2_OVER_PI = float(np.sqrt(2.0 / np.pi))
_LOG_2PI_E = float(np.log(2.0 * np.pi) + 1.0)


def _folded_normal_terms(mean, log_var):
    std = np.exp(0.5 * log_var)
    with np.errstate(over="ignore", under="ignore"):
        density = _SQRT_2_OVER_PI * np.exp(-0.5 * np.square(mean) / np.square(std))
    return std, density, erf(mean / (std * np.sqrt(2.0)))


def laplace_kl(mean, log_var, scale=LAPLACE_SCALE):
    """KL divergence of ``N(mean, exp(log_var))`` from the Laplace prior, per row.

    The prior is ``prod_j exp(-|z_j| / b) / (2 b)`` with ``b = scale``
    (``LAPLACE_SCALE``, unit variance, by default).
    ``KL = -H(q) - E_q[log p(z)]`` is in closed form:
    ``sum_j log(2 b) + E|z_j| / b - (log(2 pi e) + log_var_j) / 2``, where
    ``E|z| = s sqrt(2 / pi) exp(-m**2 / (2 s**2)) + m erf(m / (s sqrt 2))``
    is the mean of a folded normal.
    """
    std, density, erf_term = _folded_normal_terms(mean, log_var)
    expected_abs = std * density + mean * erf_term
    b = scale
    terms = np.log(2.0 * b) + expected_abs / b - 0.5 * (log_var + _LOG_2PI_E)
    return terms.sum(axis=1)


def laplace_kl_gradients(mean, log_var, scale=LAPLACE_SCALE):
    """Gradients of :func:`laplace_kl` (of each row) w.r.t. its two inputs.

    ``d E|z| / d m = erf(m / (s sqrt 2))`` and ``d E|z| / d s = sqrt(2 / pi)
    exp(-m**2 / (2 s**2))``, with ``d s / d log_var = s / 2``.
    """
    std, density, erf_term = _folded_normal_terms(mean, log_var)
    b = scale
    grad_mean = erf_term / b
    grad_log_var = density * std / (2.0 * b) - 0.5
    return grad_mean.astype(mean.dtype, copy=False), grad_log_var.astype(
        mean.dtype, copy=False
    )


def active_code_fraction(mean):
    """Fraction of code units whose posterior mean varies over the data.

    A unit is active when the variance of its mean over the rows of
    ``mean`` exceeds ``ACTIVITY_THRESHOLD``; an inactive one says the same
    for every input (its posterior has collapsed to the prior).
    """
    variance = np.var(np.asarray(mean, dtype=np.float64), axis=0)
    return float(np.mean(variance > ACTIVITY_THRESHOLD))
