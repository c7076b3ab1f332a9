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

from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state

from ._ais import (
    _AIS_VISIBLE_UNITS,
    AISResult,
    _check_ais_units,
    ais_log_partition,
)
from ._exact import (
    _float64_layer,
    _is_binary,
    _validate_visible_data,
    log_likelihood_exact,
    log_partition_exact,
    pseudo_likelihood,
)
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
