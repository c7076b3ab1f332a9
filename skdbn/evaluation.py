"""Generative-model metrics of RBMs and Deep Belief Networks.

For an RBM small enough that one of its layers has at most about twenty
binary units, the partition function ``Z = sum_{v, h} exp(-E(v, h))`` can be
computed exactly by enumerating the ``2**m`` states of the smaller layer and
summing over the other layer analytically. That gives the exact
log-likelihood of data, the reference against which sampled estimates (and
training itself) can be checked. The pseudo-likelihood needs no partition
function and works for RBMs of any size.

For larger RBMs, annealed importance sampling (AIS; Neal 2001,
Salakhutdinov & Murray 2008) estimates ``log Z`` by moving many independent
runs from a tractable base-rate model to the RBM through a sequence of
intermediate distributions; :func:`log_likelihood` uses it (or the exact value
when it is cheap), and :func:`dbn_log_likelihood_lower_bound` combines it with
a variational bound to score Deep Belief Networks.

The sums over the non-enumerated layer go through the unit classes of
``skdbn._units`` (their ``log_partition`` and ``visible_energy`` terms, as in
``RBMLayer.free_energy``), so a new unit type plugs in there; only the layer
that is enumerated must have discrete (binary) states.
"""

from collections import namedtuple
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from scipy.special import logsumexp
from sklearn.utils import check_array, check_random_state

from ._rbm import RBMLayer
from ._units import BernoulliUnits, get_unit_type

__all__ = [
    "AISResult",
    "ais_log_partition",
    "dbn_log_likelihood_lower_bound",
    "log_likelihood",
    "log_likelihood_exact",
    "log_partition_exact",
    "pseudo_likelihood",
]

#: Unit types whose states can be enumerated: each unit is 0 or 1.
_BINARY_UNITS = ("bernoulli",)

#: Upper bound on the number of float64 values in one chunk of work (32 MiB),
#: so that memory stays bounded however many states are enumerated.
_CHUNK_ELEMENTS = 2**22


def _float64_layer(layer):
    """The same RBM with float64 parameters, so sums of many terms stay exact."""
    return RBMLayer(
        np.asarray(layer.weights, dtype=np.float64),
        np.asarray(layer.visible_bias, dtype=np.float64),
        np.asarray(layer.hidden_bias, dtype=np.float64),
        layer.visible_units,
        layer.hidden_units,
        None
        if layer.visible_log_std is None
        else np.asarray(layer.visible_log_std, dtype=np.float64),
    )


def _binary_states(start, stop, n_units):
    """Rows ``start`` to ``stop - 1`` of the table of all binary states.

    Row ``i`` holds the bits of the integer ``i``, least significant first.
    """
    codes = np.arange(start, stop, dtype=np.int64)
    bits = (codes[:, np.newaxis] >> np.arange(n_units, dtype=np.int64)) & 1
    return bits.astype(np.float64)


def _chunk_rows(n_columns):
    return max(1, _CHUNK_ELEMENTS // max(1, n_columns))


def _is_binary(layer, which):
    units = layer.visible_units if which == "visible" else layer.hidden_units
    return get_unit_type(units).name in _BINARY_UNITS


def _resolve_enumerated_layer(layer, over, max_states):
    """Which layer to enumerate (``"visible"`` or ``"hidden"``), validated."""
    if over not in ("auto", "visible", "hidden"):
        raise ValueError(f"over must be 'auto', 'visible' or 'hidden', got {over!r}.")
    n_visible, n_hidden = layer.n_visible, layer.n_hidden
    if over == "auto":
        over = "visible" if n_visible < n_hidden else "hidden"
        # Only binary units can be enumerated: fall back to the other layer.
        if not _is_binary(layer, over):
            other = "hidden" if over == "visible" else "visible"
            over = other if _is_binary(layer, other) else over
    n_units = n_visible if over == "visible" else n_hidden
    units = layer.visible_units if over == "visible" else layer.hidden_units
    if get_unit_type(units).name not in _BINARY_UNITS:
        raise ValueError(
            f"Cannot enumerate the states of the {over} layer: its units are "
            f"{units!r}, and only {list(_BINARY_UNITS)} units have finitely many "
            "states."
        )
    if 2**n_units > max_states:
        raise ValueError(
            f"The exact log partition function of this RBM (n_visible="
            f"{n_visible}, n_hidden={n_hidden}) needs 2**{n_units} = "
            f"{2**n_units} states of its {over} layer, more than max_states="
            f"{max_states}. Exact evaluation is only feasible when one layer has "
            "about 20 units or fewer; raise max_states if you can afford the time, "
            "or use an estimate of log Z instead."
        )
    return over, n_units


def _unnormalised_log_marginals(layer, states, over):
    """``log sum_{other layer} exp(-E)`` for each row of enumerated ``states``."""
    if over == "visible":
        return -layer.free_energy(states)
    # Mirror image of the free energy: sum over the visible units analytically.
    return -layer.hidden_free_energy(states)


def log_partition_exact(layer, max_states=2**20, *, over="auto"):
    """Exact log partition function ``log Z`` of a small RBM.

    ``Z = sum_{v, h} exp(-E(v, h))`` is computed by enumerating all ``2**m``
    states of one layer, by default the smaller one, and summing over the
    other layer in closed form: over hidden states ``h``,
    ``log Z = logsumexp_h [c @ h + sum_i softplus(b_i + W_i @ h)]``, and over
    visible states ``v``, ``log Z = logsumexp_v [-F(v)]``. States are
    processed in chunks, so memory stays bounded; the work grows as ``2**m``.
    The sums are done in float64 whatever the dtype of the parameters.

    Parameters
    ----------
    layer : RBMLayer
        The RBM, e.g. an element of a fitted stack's ``layers_``. The layer
        that is enumerated must have binary (``"bernoulli"``) units.
    max_states : int, default=2**20
        Largest number of states that may be enumerated; a larger RBM raises
        a ``ValueError`` instead of running for a very long time.
    over : {"auto", "visible", "hidden"}, default="auto"
        The layer whose states are enumerated. ``"auto"`` picks the layer with
        fewer units (the hidden layer on a tie), or the only binary one (e.g.
        the hidden layer of a Gaussian-Bernoulli RBM).

    Returns
    -------
    log_z : float
        The natural logarithm of the partition function.

    Raises
    ------
    ValueError
        If ``2**m`` exceeds ``max_states``, where ``m`` is the number of units
        of the enumerated layer, or if that layer's units are not binary.

    See Also
    --------
    log_likelihood_exact : Exact log-probability of data under the RBM.

    Examples
    --------
    >>> import numpy as np
    >>> from skdbn import RBMLayer
    >>> from skdbn.evaluation import log_partition_exact

    With zero parameters all ``2**(3 + 2)`` joint states have energy 0, so
    ``log Z = 5 log 2``:

    >>> layer = RBMLayer(np.zeros((3, 2)), np.zeros(3), np.zeros(2))
    >>> log_partition_exact(layer)
    3.4657...
    >>> log_partition_exact(layer, over="visible")
    3.4657...
    """
    max_states = int(max_states)
    over, n_units = _resolve_enumerated_layer(layer, over, max_states)
    layer = _float64_layer(layer)
    n_other = layer.n_hidden if over == "visible" else layer.n_visible
    chunk = _chunk_rows(max(n_units, n_other))
    n_states = 2**n_units
    log_z = -np.inf
    for start in range(0, n_states, chunk):
        states = _binary_states(start, min(start + chunk, n_states), n_units)
        log_z = np.logaddexp(
            log_z, logsumexp(_unnormalised_log_marginals(layer, states, over))
        )
    return float(log_z)


def _validate_visible_data(layer, X, function_name):
    X = check_array(X, accept_sparse=["csr", "csc"], dtype=np.float64)
    if X.shape[1] != layer.n_visible:
        raise ValueError(
            f"X has {X.shape[1]} features, but {function_name} needs "
            f"{layer.n_visible}, the number of visible units of the layer."
        )
    return X


def log_likelihood_exact(layer, X, *, log_partition=None, max_states=2**20):
    """Exact log-probability ``log p(x) = -F(x) - log Z`` of each sample.

    The free energy ``F`` is exact for any RBM; ``log Z`` is exact too when
    one layer is small enough to enumerate (see
    :func:`log_partition_exact`), or may be given, e.g. an AIS estimate from
    :func:`ais_log_partition`. For Gaussian visible units it is a log
    density.

    Parameters
    ----------
    layer : RBMLayer
        The RBM. Its log partition function is computed exactly by
        :func:`log_partition_exact` unless given.
    X : {array-like, sparse matrix} of shape (n_samples, n_visible)
        Visible states. With Bernoulli visible units, ``p`` is a probability
        only for binary rows; rows with values strictly between 0 and 1 get
        a number but no probabilistic meaning.
    log_partition : float, default=None
        ``log Z`` of ``layer`` if already known (e.g. to score several data
        sets with one enumeration); computed when None.
    max_states : int, default=2**20
        Passed to :func:`log_partition_exact` when ``log_partition`` is None.

    Returns
    -------
    log_likelihood : ndarray of shape (n_samples,)
        Natural log-probability of each row of ``X``, in float64. Its mean is
        the data's average log-likelihood (higher is better).

    Raises
    ------
    ValueError
        If the RBM is too large to enumerate (see
        :func:`log_partition_exact`), or ``X`` has the wrong number of
        features.

    See Also
    --------
    log_partition_exact : The normalising constant used here.
    pseudo_likelihood : A tractable proxy for RBMs too large to enumerate.

    Examples
    --------
    >>> import numpy as np
    >>> from skdbn import RBMLayer
    >>> from skdbn.evaluation import log_likelihood_exact

    An RBM with zero parameters gives each of the 8 binary vectors of
    length 3 probability ``1 / 8``:

    >>> layer = RBMLayer(np.zeros((3, 2)), np.zeros(3), np.zeros(2))
    >>> log_likelihood_exact(layer, [[0, 1, 1], [1, 0, 0]])
    array([-2.0794, -2.0794])
    >>> float(np.log(1 / 8))
    -2.0794...
    """
    X = _validate_visible_data(layer, X, "log_likelihood_exact")
    if log_partition is None:
        log_partition = log_partition_exact(layer, max_states=max_states)
    return -_float64_layer(layer).free_energy(X) - log_partition


def pseudo_likelihood(layer, X):
    """Log pseudo-likelihood of each sample, summed over all its features.

    ``sum_i log p(x_i | x_{-i})``, where ``p(x_i | x_{-i})`` is the model's
    probability of feature ``i`` given all the others: with Bernoulli visible
    units, ``sigmoid(F(x') - F(x))`` where ``x'`` is ``x`` with feature ``i``
    flipped to ``1 - x_i``. It needs no partition function, so it works for
    RBMs of any size, and it is deterministic: every feature is used, where
    ``sklearn.neural_network.BernoulliRBM.score_samples`` draws one feature
    at random and multiplies by ``n_features`` (an estimate of this value).
    It costs ``n_features`` free energies per sample.

    Parameters
    ----------
    layer : RBMLayer
        The RBM; its visible units must be ``"bernoulli"``.
    X : {array-like, sparse matrix} of shape (n_samples, n_visible)
        Visible states, binary (or in ``[0, 1]``, flipped to ``1 - x_i``).

    Returns
    -------
    log_pseudo_likelihood : ndarray of shape (n_samples,)
        ``sum_i log p(x_i | x_{-i})`` for each row, in float64 (at most 0).

    See Also
    --------
    log_likelihood_exact : The exact log-likelihood, for small RBMs.

    Examples
    --------
    >>> import numpy as np
    >>> from skdbn import RBMLayer
    >>> from skdbn.evaluation import pseudo_likelihood

    With zero parameters each feature is 0 or 1 with probability 1/2
    whatever the others, so each sample scores ``3 log(1/2)``:

    >>> layer = RBMLayer(np.zeros((3, 2)), np.zeros(3), np.zeros(2))
    >>> pseudo_likelihood(layer, [[0, 1, 1], [1, 0, 0]])
    array([-2.0794, -2.0794])
    """
    if get_unit_type(layer.visible_units).name != "bernoulli":
        raise ValueError(
            "pseudo_likelihood needs Bernoulli visible units, got "
            f"{layer.visible_units!r}."
        )
    X = _validate_visible_data(layer, X, "pseudo_likelihood")
    layer = _float64_layer(layer)
    hidden = get_unit_type(layer.hidden_units)
    W, b = layer.weights, layer.visible_bias
    n_samples, n_visible = X.shape
    result = np.empty(n_samples)
    chunk = _chunk_rows(n_visible * max(layer.n_hidden, 1))
    for start in range(0, n_samples, chunk):
        rows = X[start : start + chunk]
        rows = rows.toarray() if sp.issparse(rows) else rows
        field = layer.hidden_field(rows)
        # delta[n, i]: change of x_i when it is flipped; only that feature's
        # visible bias and weights change the free energy.
        delta = 1.0 - 2.0 * rows
        flipped_field = field[:, np.newaxis, :] + delta[:, :, np.newaxis] * W
        n = rows.shape[0]
        log_partition_x = hidden.log_partition(field)
        log_partition_flipped = hidden.log_partition(
            flipped_field.reshape(n * n_visible, -1)
        ).reshape(n, n_visible)
        # F(x') - F(x) = -b_i delta_i - log_partition(x') + log_partition(x).
        gap = -delta * b - log_partition_flipped + log_partition_x[:, np.newaxis]
        # log sigmoid(gap) = -softplus(-gap)
        result[start : start + n] = -np.logaddexp(0.0, -gap).sum(axis=1)
    return result


# ------------------------------------------------------------------------- AIS

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


# ------------------------------------------------------- log-likelihood of data

_METHODS = ("auto", "exact", "ais")


def _exact_is_feasible(layer, max_states):
    """Whether :func:`log_partition_exact` can enumerate a layer of ``layer``."""
    sizes = [
        n
        for which, n in (("visible", layer.n_visible), ("hidden", layer.n_hidden))
        if _is_binary(layer, which)
    ]
    return bool(sizes) and 2 ** min(sizes) <= max_states


def _log_partition(layer, method, max_states, base_data, ais_options, name):
    """``log Z`` by enumeration or AIS, as ``method`` asks."""
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}.")
    if method == "exact" or (
        method == "auto" and _exact_is_feasible(layer, int(max_states))
    ):
        return log_partition_exact(layer, max_states=max_states)
    _check_ais_units(layer, name)
    return ais_log_partition(layer, base_data, **ais_options).log_partition


def log_likelihood(
    layer,
    X,
    *,
    log_partition=None,
    method="auto",
    base_data=None,
    n_runs=100,
    betas=14500,
    max_states=2**20,
    random_state=None,
):
    """Average log-probability of data under an RBM: ``mean(-F(x)) - log Z``.

    The usual measure of an RBM as a generative model, on held-out data
    (higher is better; in nats per sample). The free energies ``F(x)`` are
    exact; ``log Z`` is given, computed exactly when one layer of binary
    units is small enough to enumerate, or estimated by annealed importance
    sampling (:func:`ais_log_partition`).

    Parameters
    ----------
    layer : RBMLayer
        The RBM, e.g. ``stack.layers_[0]`` of a fitted ``BernoulliRBMStack``.
    X : {array-like, sparse matrix} of shape (n_samples, n_visible)
        Data to score, usually a held-out (test) set. With Bernoulli visible
        units, the value is a log-probability only for binary data.
    log_partition : float, default=None
        ``log Z`` of the layer if already known (e.g. to score several data
        sets with one estimate); ``method`` and the options after it are then
        unused.
    method : {"auto", "exact", "ais"}, default="auto"
        How to get ``log Z``: ``"exact"`` by :func:`log_partition_exact`,
        ``"ais"`` by :func:`ais_log_partition`, ``"auto"`` exactly when a
        layer of binary units has at most ``log2(max_states)`` units, else by
        AIS.
    base_data : {array-like, sparse matrix}, default=None
        Data defining AIS's base-rate model, e.g. the training set; ``X``
        when None.
    n_runs : int, default=100
        Number of AIS runs.
    betas : int or array-like, default=14500
        AIS's annealing schedule (see :func:`ais_log_partition`).
    max_states : int, default=2**20
        Largest number of states enumerated for the exact ``log Z``.
    random_state : int, RandomState instance or None, default=None
        Seed of AIS.

    Returns
    -------
    log_likelihood : float
        ``mean_i log p(x_i)`` over the rows of ``X``, in nats.

    Raises
    ------
    ValueError
        If ``X`` has the wrong number of features, ``method`` is unknown, or
        the RBM cannot be handled by the method asked for.

    See Also
    --------
    log_likelihood_exact : Per-sample log-probabilities with the exact ``log Z``.
    ais_log_partition : The AIS estimate, with its interval.

    Notes
    -----
    An AIS estimate of ``log Z`` tends to be slightly too low, which makes
    the log-likelihood slightly too high. To report an interval, call
    :func:`ais_log_partition` and subtract its ``upper`` and ``lower`` from
    ``mean(-F(x))``.

    Examples
    --------
    >>> import numpy as np
    >>> from skdbn import RBMLayer
    >>> from skdbn.evaluation import log_likelihood
    >>> rng = np.random.default_rng(0)
    >>> layer = RBMLayer(
    ...     rng.normal(0, 0.5, (10, 8)), rng.normal(size=10), rng.normal(size=8)
    ... )
    >>> X = (rng.random((50, 10)) < 0.5).astype(float)
    >>> exact = log_likelihood(layer, X)  # 2**8 hidden states: exact
    >>> estimate = log_likelihood(layer, X, method="ais", betas=500, random_state=0)
    >>> round(exact, 1), round(estimate, 1)
    (-10.9, -10.9)
    """
    X = _validate_visible_data(layer, X, "log_likelihood")
    if log_partition is None:
        log_partition = _log_partition(
            layer,
            method,
            max_states,
            X if base_data is None else base_data,
            {"n_runs": n_runs, "betas": betas, "random_state": random_state},
            "log_likelihood",
        )
    return float(np.mean(-_float64_layer(layer).free_energy(X)) - log_partition)


# --------------------------------------------------------- DBN lower bound


def _as_layers(stack_or_layers):
    layers = getattr(stack_or_layers, "layers_", stack_or_layers)
    try:
        layers = list(layers)
    except TypeError:
        raise TypeError(
            "Expected a fitted RBM stack (with layers_) or a list of RBMLayer, "
            f"got {type(stack_or_layers).__name__}."
        ) from None
    if not all(isinstance(layer, RBMLayer) for layer in layers):
        raise TypeError("Expected a fitted RBM stack or a list of RBMLayer.")
    if len(layers) < 2:
        raise ValueError(
            f"A Deep Belief Network needs at least two layers, got {len(layers)}; "
            "score a single RBM with log_likelihood."
        )
    for index, (below, above) in enumerate(zip(layers[:-1], layers[1:], strict=True)):
        if below.n_hidden != above.n_visible:
            raise ValueError(
                f"Layer {index + 1} has {below.n_hidden} hidden units but layer "
                f"{index + 2} has {above.n_visible} visible units; they must match."
            )
    for index, layer in enumerate(layers):
        hidden = get_unit_type(layer.hidden_units).name
        visible = get_unit_type(layer.visible_units).name
        allowed = _AIS_VISIBLE_UNITS if index == 0 else ("bernoulli",)
        if hidden != "bernoulli" or visible not in allowed:
            raise ValueError(
                "dbn_log_likelihood_lower_bound handles DBNs of Bernoulli hidden "
                f"units, with {' or '.join(_AIS_VISIBLE_UNITS)} visible units in "
                f"the first layer; layer {index + 1} has {layer.visible_units!r} "
                f"visible and {layer.hidden_units!r} hidden units."
            )
    return [_float64_layer(layer) for layer in layers]


def _log_conditional(layer, V, H):
    """``log p(v | h)`` of each row under one layer's visible conditional."""
    field = layer.visible_field(H)
    if get_unit_type(layer.visible_units).name == "bernoulli":
        # sum_i v_i f_i - log(1 + exp(f_i))
        return np.einsum("ij,ij->i", V, field) - np.logaddexp(0.0, field).sum(axis=1)
    # Gaussian: v = s u with u ~ N(field, 1); the density of v has 1 / s.
    std = layer.visible_std
    diff = V - field if std is None else V / std - field
    log_density = -0.5 * np.einsum("ij,ij->i", diff, diff)
    log_density -= 0.5 * layer.n_visible * np.log(2 * np.pi)
    if layer.visible_log_std is not None:
        log_density -= layer.visible_log_std.sum()
    return log_density


def _log_bernoulli(H, field):
    """``log q(h)`` of binary ``H`` under independent units with logits ``field``."""
    return np.einsum("ij,ij->i", H, field) - np.logaddexp(0.0, field).sum(axis=1)


def dbn_log_likelihood_lower_bound(
    stack_or_layers,
    X,
    *,
    n_samples=10,
    log_partition=None,
    method="auto",
    n_runs=100,
    betas=14500,
    max_states=2**20,
    random_state=None,
):
    """Variational lower bound on the average log-probability of data under a DBN.

    A Deep Belief Network of RBMs ``1, ..., L`` is a directed sigmoid belief
    network ``p(v | h1) p(h1 | h2) ... `` under an undirected top RBM over
    ``(h_{L-1}, h_L)``; its ``log p(v)`` is intractable. With the
    approximate posterior ``q(h1, ..., h_{L-1} | v) = prod_l q(h_l |
    h_{l-1})``, each factor the up-pass conditional of layer ``l``,

    ``log p(v) >= E_q[log p(v | h1) + ... + log p*(h_{L-1})
    - log q(h1, ..., h_{L-1} | v)] - log Z_L``,

    where ``p*(h) = exp(-F_L(h))`` is the top RBM's unnormalised marginal over
    its visible units and ``Z_L`` its partition function (Salakhutdinov &
    Murray 2008, section 4; for two layers this is their
    ``E_q[log p(v | h1) + log p*(h1)] + H(q) - log Z``). The expectation is
    estimated with ``n_samples`` draws of the hidden layers per sample, and
    ``log Z_L`` exactly or by annealed importance sampling, with the
    posterior samples of ``h_{L-1}`` as AIS's base data.

    Parameters
    ----------
    stack_or_layers : BernoulliRBMStack or list of RBMLayer
        A fitted stack (its ``layers_`` are used) or its layers, bottom first;
        at least two, with Bernoulli hidden units (the first layer's visible
        units may be Gaussian).
    X : {array-like, sparse matrix} of shape (n_samples_X, n_visible)
        Data to score, usually held out.
    n_samples : int, default=10
        Draws from ``q`` per sample of ``X``.
    log_partition : float, default=None
        ``log Z`` of the top RBM if already known.
    method : {"auto", "exact", "ais"}, default="auto"
        How to get the top RBM's ``log Z`` (see :func:`log_likelihood`).
    n_runs : int, default=100
        Number of AIS runs.
    betas : int or array-like, default=14500
        AIS's annealing schedule (see :func:`ais_log_partition`).
    max_states : int, default=2**20
        Largest number of states enumerated for an exact ``log Z``.
    random_state : int, RandomState instance or None, default=None
        Seed of the draws from ``q`` and of AIS.

    Returns
    -------
    bound : float
        Estimate of the average over the rows of ``X`` of the lower bound on
        ``log p(x)``, in nats.

    Raises
    ------
    ValueError
        If there are fewer than two layers, their sizes do not chain, a unit
        type is not supported, or ``X`` has the wrong number of features.

    See Also
    --------
    log_likelihood : The average log-likelihood of a single RBM.

    Notes
    -----
    The bound is exact when ``q`` is the true posterior, e.g. for a two-layer
    DBN whose top RBM is the first one turned upside down. The Monte Carlo
    estimate is unbiased for the bound given ``log Z``; an AIS estimate of
    ``log Z`` that is slightly too low makes it slightly too high.

    References
    ----------
    Salakhutdinov, R. & Murray, I. (2008). On the quantitative analysis of
    deep belief networks. ICML.

    Examples
    --------
    >>> import numpy as np
    >>> from skdbn import RBMLayer
    >>> from skdbn.evaluation import dbn_log_likelihood_lower_bound, log_likelihood
    >>> rng = np.random.default_rng(0)
    >>> bottom = RBMLayer(rng.normal(0, 0.5, (10, 6)), np.zeros(10), np.zeros(6))

    A top RBM that is the bottom one upside down makes the DBN the same model
    as the bottom RBM, and ``q`` its exact posterior: the bound is tight.

    >>> top = RBMLayer(bottom.weights.T, bottom.hidden_bias, bottom.visible_bias)
    >>> X = (rng.random((20, 10)) < 0.5).astype(float)
    >>> bound = dbn_log_likelihood_lower_bound([bottom, top], X, random_state=0)
    >>> round(bound, 4) == round(log_likelihood(bottom, X), 4)
    True
    """
    layers = _as_layers(stack_or_layers)
    X = _validate_visible_data(layers[0], X, "dbn_log_likelihood_lower_bound")
    if not isinstance(n_samples, Integral) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
    X = X.toarray() if sp.issparse(X) else X
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    rng = np.random.default_rng(seed)
    top = layers[-1]
    total = np.zeros(X.shape[0])
    top_visible_sum = np.zeros(top.n_visible)
    with np.errstate(over="ignore"):
        for _ in range(int(n_samples)):
            below = X
            for layer in layers[:-1]:
                field = layer.hidden_field(below)
                probability = BernoulliUnits.mean(field, out=np.empty_like(field))
                H = (rng.random(field.shape) < probability).astype(np.float64)
                total += _log_conditional(layer, below, H) - _log_bernoulli(H, field)
                below = H
            total -= top.free_energy(below)
            top_visible_sum += below.sum(axis=0)
    if log_partition is None:
        top_mean = top_visible_sum[np.newaxis] / max(1, X.shape[0] * n_samples)
        log_partition = _log_partition(
            top,
            method,
            max_states,
            top_mean,
            {"n_runs": n_runs, "betas": betas, "random_state": rng.integers(2**31)},
            "dbn_log_likelihood_lower_bound",
        )
    return float(total.mean() / n_samples - log_partition)
