"""Exact generative metrics of RBMs: enumeration and pseudo-likelihood.

For an RBM small enough that one of its layers has at most about twenty
binary units, the partition function ``Z = sum_{v, h} exp(-E(v, h))`` can be
computed exactly by enumerating the ``2**m`` states of the smaller layer and
summing over the other layer analytically. That gives the exact
log-likelihood of data, the reference against which sampled estimates (and
training itself) can be checked. The pseudo-likelihood needs no partition
function and works for RBMs of any size.

The sums over the non-enumerated layer go through the unit classes of
``skdbn._units`` (their ``log_partition`` and ``visible_energy`` terms, as in
``RBMLayer.free_energy``), so a new unit type plugs in there; only the layer
that is enumerated must have discrete (binary) states. The public functions
are documented and imported from :mod:`skdbn.evaluation`.
"""

import numpy as np
import scipy.sparse as sp
from scipy.special import logsumexp
from sklearn.utils import check_array

from ._rbm import RBMLayer
from ._units import get_unit_type

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
