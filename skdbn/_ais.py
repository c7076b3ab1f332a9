"""Annealed importance sampling (AIS) of an RBM's log partition function.

For RBMs too large to enumerate, AIS (Neal 2001, Salakhutdinov & Murray
2008) estimates ``log Z`` by moving many independent runs from a tractable
base-rate model to the RBM through a sequence of intermediate distributions.
The public names are documented and imported from :mod:`skdbn.evaluation`.
"""

from collections import namedtuple
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from scipy.special import logsumexp
from sklearn.utils import check_array, check_random_state

from ._exact import _float64_layer
from ._units import BernoulliUnits, get_unit_type

#: The schedule of Salakhutdinov & Murray (2008), as (end of a segment, number
#: of evenly spaced inverse temperatures in it): 500 in [0, 0.5), 4,000 in
#: [0.5, 0.9) and 10,000 in [0.9, 1].
_PAPER_SCHEDULE = ((0.5, 500), (0.9, 4000), (1.0, 10000))

#: Pseudo-count of the Bernoulli base-rate model: a visible unit's data mean
#: ``p`` becomes ``(p + eps) / (1 + 2 eps)`` before its logit is taken, so that
#: pixels never (or always) on in the data keep a finite bias and the base
#: model covers every state.
_BASE_RATE_SMOOTHING = 0.05

#: Unit types annealed importance sampling handles.
_AIS_VISIBLE_UNITS = ("bernoulli", "gaussian")
_AIS_HIDDEN_UNITS = ("bernoulli",)

#: Number of standard errors on either side of the mean importance weight.
_INTERVAL_WIDTH = 3.0


class AISResult(
    namedtuple("AISResult", ["log_partition", "lower", "upper", "log_weights"])
):
    """Estimate of a log partition function by annealed importance sampling.

    A named tuple returned by :func:`ais_log_partition`. Each run's
    importance weight ``w_i`` is an unbiased estimate of ``Z``, so their mean
    is one too; ``log Z`` itself is estimated with a small downward bias
    (Jensen's inequality) that shrinks as the runs improve.

    Parameters
    ----------
    log_partition : float
        The estimate ``log(mean(w))`` of ``log Z``, computed with
        ``logsumexp``.
    lower : float
        ``log(mean(w) - 3 std(w) / sqrt(n_runs))``, the lower end of the
        interval of three standard errors around the mean weight; ``-inf``
        when that interval reaches zero.
    upper : float
        ``log(mean(w) + 3 std(w) / sqrt(n_runs))``.
    log_weights : ndarray of shape (n_runs,)
        ``log w_i`` of each run, including the base model's ``log Z``: each
        ``exp(log_weights[i])`` estimates ``Z``.

    See Also
    --------
    ais_log_partition : Computes it.

    Examples
    --------
    >>> import numpy as np
    >>> from skdbn.evaluation import AISResult
    >>> result = AISResult(1.0, 0.9, 1.1, np.array([0.8, 1.2]))
    >>> result.log_partition, result.upper
    (1.0, 1.1)
    """

    __slots__ = ()


def _annealing_schedule(betas):
    """The inverse temperatures ``0 = beta_0 < ... < beta_K = 1``, validated.

    An integer ``K`` spreads ``K`` steps over the three segments of the
    paper's schedule in its proportions (500 : 4,000 : 10,000); an array is
    used as given.
    """
    if isinstance(betas, Integral) and not isinstance(betas, bool):
        n_steps = int(betas)
        if n_steps < 1:
            raise ValueError(f"betas must be at least 1 when an integer, got {betas}.")
        total = sum(count for _, count in _PAPER_SCHEDULE)
        if n_steps < len(_PAPER_SCHEDULE):
            return np.linspace(0.0, 1.0, n_steps + 1)
        counts = [
            max(1, round(n_steps * count / total)) for _, count in _PAPER_SCHEDULE
        ]
        counts[-1] = max(1, n_steps - sum(counts[:-1]))
        pieces, start = [], 0.0
        for (stop, _), count in zip(_PAPER_SCHEDULE, counts, strict=True):
            pieces.append(np.linspace(start, stop, count, endpoint=False))
            start = stop
        pieces.append([1.0])
        return np.concatenate(pieces)
    schedule = np.asarray(betas, dtype=np.float64)
    if (
        schedule.ndim != 1
        or schedule.size < 2
        or schedule[0] != 0.0
        or schedule[-1] != 1.0
        or np.any(np.diff(schedule) < 0)
    ):
        raise ValueError(
            "betas must be a positive integer (the number of annealing steps) or "
            "a non-decreasing 1-D sequence of inverse temperatures from 0 to 1 "
            "(first value 0, last value 1)."
        )
    return schedule


def _check_ais_units(layer, function_name):
    visible = get_unit_type(layer.visible_units).name
    hidden = get_unit_type(layer.hidden_units).name
    if visible not in _AIS_VISIBLE_UNITS or hidden not in _AIS_HIDDEN_UNITS:
        raise ValueError(
            f"{function_name} handles RBMs with {' or '.join(_AIS_VISIBLE_UNITS)} "
            f"visible units and {' or '.join(_AIS_HIDDEN_UNITS)} hidden units; "
            f"this one has {layer.visible_units!r} visible and "
            f"{layer.hidden_units!r} hidden units."
        )
    return visible


def _feature_means(layer, X):
    """Per-feature means of ``X`` in float64 (None without data), copying nothing."""
    if X is None:
        return None
    X = check_array(X, accept_sparse=["csr", "csc"], dtype=[np.float64, np.float32])
    if X.shape[1] != layer.n_visible:
        raise ValueError(
            f"X has {X.shape[1]} features, but the base-rate model of AIS needs "
            f"{layer.n_visible}, the number of visible units of the layer."
        )
    if sp.issparse(X):
        return np.asarray(X.sum(axis=0, dtype=np.float64)).ravel() / X.shape[0]
    return X.mean(axis=0, dtype=np.float64)


def _base_model(layer, visible, base_data):
    """Parameters of the base-rate model (weights zero) and its ``log Z``.

    Bernoulli visible units get biases ``logit`` of the data's smoothed means
    (0, the uniform distribution, without data). Gaussian visible units get
    mean ``m`` (the data's mean, or the layer's visible bias without data)
    and the layer's standard deviations ``s``; the returned bias is ``m / s``,
    in the scaled space ``u = v / s`` where the units have unit variance.
    The base model's hidden units have zero biases and weights: each adds
    ``log 2`` to ``log Z``.
    """
    n_visible = layer.n_visible
    mean = _feature_means(layer, base_data)
    hidden_log_z = layer.n_hidden * np.log(2.0)
    if visible == "bernoulli":
        if mean is None:
            bias = np.zeros(n_visible)
        else:
            p = (np.clip(mean, 0.0, 1.0) + _BASE_RATE_SMOOTHING) / (
                1.0 + 2.0 * _BASE_RATE_SMOOTHING
            )
            bias = np.log(p) - np.log1p(-p)
        return bias, float(np.logaddexp(0.0, bias).sum() + hidden_log_z)
    std = layer.visible_std
    log_std_sum = 0.0 if std is None else float(layer.visible_log_std.sum())
    centre = layer.visible_bias if mean is None else mean
    bias = centre if std is None else centre / std
    # int exp(-(v / s - m / s)**2 / 2) dv = s sqrt(2 pi), for each unit.
    log_z = 0.5 * n_visible * np.log(2.0 * np.pi) + log_std_sum + hidden_log_z
    return np.array(bias, dtype=np.float64), float(log_z)


def _summarise_log_weights(log_weights):
    """``AISResult`` from the runs' log weights, stably in log space."""
    n_runs = log_weights.size
    shift = np.max(log_weights)
    if not np.isfinite(shift):
        return AISResult(float(shift), float(shift), float(shift), log_weights)
    weights = np.exp(log_weights - shift)
    mean = weights.mean()
    half_width = _INTERVAL_WIDTH * weights.std(ddof=1) / np.sqrt(n_runs)
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = np.log(mean - half_width) if mean > half_width else -np.inf
    return AISResult(
        float(logsumexp(log_weights) - np.log(n_runs)),
        float(shift + lower),
        float(shift + np.log(mean + half_width)),
        log_weights,
    )


def ais_log_partition(layer, X=None, *, n_runs=100, betas=14500, random_state=None):
    """Estimate ``log Z`` of an RBM by annealed importance sampling (AIS).

    The method of Salakhutdinov & Murray (2008). ``n_runs`` independent runs
    start from exact samples of a base-rate model ``A`` (the RBM with zero
    weights, whose visible units match the data's marginals) and move through
    the distributions ``p_k(v) ~ p_A(v)**(1 - beta_k) p*(v)**beta_k`` for the
    inverse temperatures ``0 = beta_0 < beta_1 < ... < beta_K = 1``, where
    ``p*(v) = exp(-F(v))`` is the RBM's unnormalised marginal. At step ``k``
    each run's log weight gains ``log p*_k(v) - log p*_{k-1}(v)``; then one
    Gibbs step (hidden states at inverse temperature ``beta_k``, then visible
    states) leaves ``p_k`` invariant. Each weight ``w_i``, times the base
    model's known ``Z_A``, is an unbiased estimate of ``Z``.

    All runs advance together in one vectorised pass, in float64 whatever
    the dtype of the layer; the cost is two matrix products of
    ``(n_runs, n_visible)`` by ``(n_visible, n_hidden)`` per inverse
    temperature.

    Parameters
    ----------
    layer : RBMLayer
        The RBM, with ``"bernoulli"`` or ``"gaussian"`` visible units (with or
        without learned ``visible_log_std``) and ``"bernoulli"`` hidden units.
    X : {array-like, sparse matrix} of shape (n_samples, n_visible), default=None
        Data whose per-feature means define the base-rate model, usually the
        training data. Binary visible units: the base model's biases are the
        logits of the smoothed means (uniform without data). Gaussian visible
        units: the base model is a Gaussian centred on the data's mean (the
        layer's visible bias without data) with the layer's standard
        deviations. The base model only affects the variance of the
        estimate, never its expectation.
    n_runs : int, default=100
        Number of independent annealing runs (importance weights), at least 2.
    betas : int or array-like of shape (n_betas,), default=14500
        The annealing schedule. An integer ``K`` gives ``K`` steps spread as in
        the paper, evenly spaced within each segment: 1/29 of them in
        ``[0, 0.5)``, 8/29 in ``[0.5, 0.9)`` and 20/29 in ``[0.9, 1]``; the
        default is the paper's own schedule. An array gives the inverse
        temperatures themselves: a non-decreasing sequence from 0 to 1.
        More steps give a less variable estimate, at a cost linear in their
        number.
    random_state : int, RandomState instance or None, default=None
        Seed of the runs, for reproducible estimates.

    Returns
    -------
    result : AISResult
        ``(log_partition, lower, upper, log_weights)``: the estimate of
        ``log Z``, the ends of the interval ``log(mean(w) +- 3 std(w) /
        sqrt(n_runs))`` (``lower`` is ``-inf`` when it reaches zero), and each
        run's log weight.

    Raises
    ------
    ValueError
        If the layer's unit types are not supported, ``X`` has the wrong
        number of features, or ``n_runs`` or ``betas`` are invalid.

    See Also
    --------
    log_partition_exact : The exact value, for RBMs with a small layer.
    log_likelihood : Average log-likelihood of data, with this estimate.

    Notes
    -----
    The interval reflects the spread of the weights only: when the runs miss
    important modes of the RBM (too few inverse temperatures), all weights
    may be too small together and the interval too narrow. Compare estimates
    from schedules of different lengths when in doubt.

    References
    ----------
    Neal, R. M. (2001). Annealed importance sampling. Statistics and
    Computing, 11, 125-139.

    Salakhutdinov, R. & Murray, I. (2008). On the quantitative analysis of
    deep belief networks. ICML.

    Examples
    --------
    >>> import numpy as np
    >>> from skdbn import RBMLayer
    >>> from skdbn.evaluation import ais_log_partition, log_partition_exact
    >>> rng = np.random.default_rng(0)
    >>> layer = RBMLayer(
    ...     rng.normal(0, 0.5, (10, 8)), rng.normal(size=10), rng.normal(size=8)
    ... )
    >>> result = ais_log_partition(layer, betas=500, random_state=0)
    >>> round(result.log_partition, 1), round(log_partition_exact(layer), 1)
    (18.9, 18.9)
    >>> bool(result.lower < log_partition_exact(layer) < result.upper)
    True
    """
    visible = _check_ais_units(layer, "ais_log_partition")
    if not isinstance(n_runs, Integral) or isinstance(n_runs, bool) or n_runs < 2:
        raise ValueError(f"n_runs must be an integer of at least 2, got {n_runs!r}.")
    schedule = _annealing_schedule(betas)
    layer = _float64_layer(layer)
    base_bias, base_log_z = _base_model(layer, visible, X)
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    rng = np.random.default_rng(seed)
    log_weights = _anneal(layer, visible, base_bias, schedule, int(n_runs), rng)
    log_weights += base_log_z
    return _summarise_log_weights(log_weights)


def _anneal(layer, visible, base_bias, schedule, n_runs, rng):
    """The runs' ``log w_i``, without the base model's ``log Z``.

    Works with the scaled visible states ``u = v / s`` (``v`` itself when
    there is no ``visible_log_std``): there every visible unit has unit
    variance, the RBM's visible bias is ``b / s`` and the hidden field is
    ``u @ W + c``. Ratios of unnormalised densities are the same in ``u`` and
    ``v``, so the weights are too.
    """
    W, c = layer.weights, layer.hidden_bias
    target_bias = layer._scaled_visible_bias()
    n_visible, n_hidden = W.shape
    gaussian = visible == "gaussian"
    u = np.empty((n_runs, n_visible))
    field = np.empty((n_runs, n_hidden))
    scaled = np.empty((n_runs, n_hidden))
    softplus = np.empty((n_runs, n_hidden))
    hidden = np.empty((n_runs, n_hidden))
    visible_field = np.empty((n_runs, n_visible))
    bias_gap = target_bias - base_bias
    diff_base = np.empty((n_runs, n_visible)) if gaussian else None
    diff_target = np.empty((n_runs, n_visible)) if gaussian else None
    # Uniform draws and probabilities, reused at every temperature.
    uniform_visible = np.empty((n_runs, n_visible))
    visible_probability = np.empty((n_runs, n_visible))
    uniform_hidden = np.empty((n_runs, n_hidden))

    def sample_visible(mean):
        # u ~ p(u | h) at the current temperature, given its mean (Gaussian)
        # or its field (Bernoulli).
        if gaussian:
            rng.standard_normal(out=u)
            np.add(u, mean, out=u)
        else:
            probability = BernoulliUnits.mean(mean, out=visible_probability)
            np.less(rng.random(out=uniform_visible), probability, out=u)

    def visible_log_ratio():
        # d/dbeta of log p*_beta(u) from the visible terms, for each run.
        if gaussian:
            np.subtract(u, base_bias, out=diff_base)
            np.subtract(u, target_bias, out=diff_target)
            return 0.5 * (
                np.einsum("ij,ij->i", diff_base, diff_base)
                - np.einsum("ij,ij->i", diff_target, diff_target)
            )
        return u @ bias_gap

    def hidden_log_partition(beta):
        # sum_j log(1 + exp(beta * field_j)), leaving beta * field in scaled.
        np.multiply(field, beta, out=scaled)
        _softplus(scaled, out=softplus, scratch=hidden)
        return softplus.sum(axis=1)

    log_weights = np.zeros(n_runs)
    sample_visible(np.broadcast_to(base_bias, u.shape))
    for k in range(1, schedule.size):
        previous, beta = schedule[k - 1], schedule[k]
        np.matmul(u, W, out=field)
        field += c
        log_weights += (beta - previous) * visible_log_ratio()
        log_weights -= hidden_log_partition(previous)
        log_weights += hidden_log_partition(beta)
        if k + 1 == schedule.size:
            break
        # Gibbs step leaving p_k invariant: h ~ p_k(h | u), then u ~ p_k(u | h).
        # sigmoid(x) = exp(x - softplus(x)), both already in scaled/softplus.
        np.subtract(scaled, softplus, out=scaled)
        np.exp(scaled, out=scaled)
        np.less(rng.random(out=uniform_hidden), scaled, out=hidden)
        np.matmul(hidden, W.T, out=visible_field)
        visible_field += target_bias
        visible_field *= beta
        visible_field += (1.0 - beta) * base_bias
        sample_visible(visible_field)
    return log_weights


def _softplus(x, out, scratch):
    """``log(1 + exp(x))`` into ``out``, as ``max(x, 0) + log1p(exp(-|x|))``.

    Stable for any ``x`` and faster than ``np.logaddexp(0, x)``; ``scratch``
    (of ``x``'s shape) is overwritten.
    """
    np.abs(x, out=scratch)
    np.negative(scratch, out=scratch)
    np.exp(scratch, out=scratch)
    np.log1p(scratch, out=scratch)
    np.maximum(x, 0.0, out=out)
    out += scratch
    return out
