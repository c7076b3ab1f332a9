"""Lateral connections among the numeric visible units of :class:`RBMImputer`.

A semi-restricted Boltzmann machine (Osindero & Hinton 2008) connects its
visible units to one another as well as to the hidden ones. For Gaussian
visible units the lateral connections and the units' own quadratic terms
together make a symmetric precision matrix ``P`` (the identity in an RBM with
unit variances), and the energy of the Gaussian units is ``v @ P @ v / 2 -
v @ (b + W h)``: given the hidden units they are a full-covariance Gaussian,
``N(P^-1 (b + W h), P^-1)``. Only the Gaussian units are connected laterally
here (binary and softmax units stay independent given the hidden units), and
``P``'s diagonal is a parameter too, so that the model holds any linear
Gaussian regression of one numeric column on the others, which a unit
diagonal does not (the coefficients of a column on another would then have
to be symmetric). The hidden units keep ``p(h | v)`` of the RBM: nothing in
``P`` involves them.

Given the hidden units and the observed entries ``o`` of a row, the missing
Gaussian units ``m`` are Gaussian with precision ``P[m, m]`` and mean
``P[m, m]^-1 (b_m + (W h)_m - P[m, o] v_o)``: one linear system per row,
solved batched with the observed units' rows and columns replaced by the
identity's (so that every row has the same shape).
"""

import numpy as np

#: Smallest eigenvalue kept in the precision matrix (a proper Gaussian).
MIN_PRECISION_EIGENVALUE = 1e-2
#: Shrinkage of the observed correlations towards the identity before they
#: are inverted into the initial precision matrix (see initial_precision).
PRECISION_SHRINKAGE = 0.01
#: Smallest variance of a column in the initial Gaussian (standard units).
MIN_VARIANCE = 1e-2
#: Most entries of the per-row matrices built at once (32 MB in float64).
BLOCK_ENTRIES = 2**22
#: Rounds of EM that fit the initial Gaussian to the observed entries.
EM_ITERATIONS = 10


def masked_system(precision, free):
    """The per-row matrices: ``precision`` among free units, identity elsewhere."""
    both = free[:, :, np.newaxis] & free[:, np.newaxis, :]
    eye = np.eye(precision.shape[0], dtype=precision.dtype)
    return np.where(both, precision, eye)


def _row_chunks(n_rows, n_units):
    """Slices of rows whose per-row matrices hold ``BLOCK_ENTRIES`` at most."""
    step = max(1, BLOCK_ENTRIES // max(n_units * n_units, 1))
    return [slice(start, start + step) for start in range(0, n_rows, step)]


def solve_block(precision, field, given, free):
    """Means of the free Gaussian units given the others.

    ``field``: ``b + W h`` of each unit (n_rows, n_gaussian); ``given``: the
    other units' values, 0 where free; ``free``: the units to fill. Returns
    ``y``, which holds ``given`` at the other units and, at the free ones,
    the solution of ``P[m, m] y_m = field_m - P[m, o] v_o``. The rows'
    systems are built and solved a chunk of rows at a time.
    """
    rhs = np.where(free, field - given @ precision.T, given)
    y = np.empty_like(rhs)
    for rows in _row_chunks(*rhs.shape):
        A = masked_system(precision, free[rows])
        y[rows] = np.linalg.solve(A, rhs[rows, :, np.newaxis])[:, :, 0]
    return y


def solve_block_backward(precision, y, free, grad):
    """Gradients of :func:`solve_block` in ``field`` and ``precision``.

    ``y``: its result; ``grad``: the loss's gradient in ``y`` (only its
    free entries count: the others are ``given``). Returns ``(d_field,
    d_precision)``, with ``d_precision[i, j]`` the gradient in the entry
    ``(i, j)`` alone (its symmetric part is the gradient of a symmetric
    matrix).
    """
    grad = np.where(free, grad, 0.0)
    g = np.empty_like(grad)
    # The transposed systems. They have the identity in the rows and
    # columns of the given units, so the solution is 0 there: nothing flows
    # into the given values.
    for rows in _row_chunks(*grad.shape):
        A_T = masked_system(precision.T, free[rows])
        g[rows] = np.linalg.solve(A_T, grad[rows, :, np.newaxis])[:, :, 0]
    return g, -(g.T @ y)


def sample_block(precision, y, free, rng):
    """A draw of the free units from ``N(y_m, P[m, m]^-1)``; others ``y``.

    With ``A = L L^T`` (Cholesky) for a row's system ``A``, ``L^-T z`` for
    standard normal ``z`` has covariance ``A^-1``, which is ``P[m, m]^-1``
    on the free units and the identity (masked out) on the others.
    """
    z = rng.standard_normal(y.shape)
    noise = np.empty_like(z)
    for rows in _row_chunks(*y.shape):
        L = np.linalg.cholesky(masked_system(precision, free[rows]))
        L_T = np.swapaxes(L, 1, 2)
        noise[rows] = np.linalg.solve(L_T, z[rows, :, np.newaxis])[:, :, 0]
    return np.where(free, y + noise, y)


def make_proper(precision, min_eigenvalue=MIN_PRECISION_EIGENVALUE):
    """``precision`` made symmetric with eigenvalues of at least ``min_eigenvalue``.

    In place; the eigendecomposition only when the Cholesky factorisation of
    the shifted matrix fails (the usual case is a proper matrix).
    """
    precision += precision.T
    precision *= 0.5
    n = precision.shape[0]
    try:
        np.linalg.cholesky(precision - min_eigenvalue * np.eye(n))
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(precision)
        values = np.maximum(values, min_eigenvalue)
        precision[...] = (vectors * values) @ vectors.T
        precision += precision.T
        precision *= 0.5
    return precision


def initial_precision(U, shrinkage=PRECISION_SHRINKAGE, n_iter=EM_ITERATIONS):
    """Mean and precision of a Gaussian fitted to ``U`` (NaN = missing) by EM.

    Starts from the pairwise-complete covariances; each of the ``n_iter``
    rounds of expectation-maximisation (Dempster, Laird & Rubin 1977) fills
    each row's missing entries with their conditional mean under the
    current Gaussian and adds their conditional covariance to the scatter.
    The correlations are shrunk by ``shrinkage`` towards the identity (a
    regularised regression of each column on the others, which keeps
    columns that predict one another exactly from making the matrix
    singular) before they are inverted. Returns ``(mean, precision)``.
    """
    observed = ~np.isnan(U)
    missing = ~observed
    counts = observed.sum(axis=0)
    mean = np.where(observed, U, 0.0).sum(axis=0) / np.maximum(counts, 1)
    Z = np.where(observed, U - mean, 0.0)
    pairs = observed.T.astype(np.float64) @ observed
    precision = _shrunk_inverse((Z.T @ Z) / np.maximum(pairs, 1.0), shrinkage)
    for _ in range(n_iter):
        given = np.where(missing, 0.0, U - mean)
        y = solve_block(precision, np.zeros_like(given), given, missing)
        # The scatter of the missing blocks' conditional covariances P_mm^-1.
        spread = np.zeros_like(precision)
        for rows in _row_chunks(*U.shape):
            inverse = np.linalg.inv(masked_system(precision, missing[rows]))
            both = missing[rows, :, np.newaxis] & missing[rows, np.newaxis, :]
            spread += np.where(both, inverse, 0.0).sum(axis=0)
        filled = y + mean
        mean = filled.mean(axis=0)
        Z = filled - mean
        precision = _shrunk_inverse((Z.T @ Z + spread) / len(U), shrinkage)
    return mean, precision


def _shrunk_inverse(cov, shrinkage):
    """The inverse of ``cov`` with its correlations shrunk towards the identity."""
    # Constant and empty columns would be infinitely precise.
    scale = np.sqrt(np.maximum(np.diag(cov), MIN_VARIANCE))
    corr = cov / np.outer(scale, scale)
    corr = (1 - shrinkage) * corr + shrinkage * np.eye(len(scale))
    np.fill_diagonal(corr, 1.0)
    values, vectors = np.linalg.eigh(corr)
    values = np.maximum(values, shrinkage)
    precision = (vectors / values) @ vectors.T / np.outer(scale, scale)
    return make_proper(precision)


def lateral_start(layer, V):
    """The initial precision matrix of ``layer``'s Gaussian units, from ``V``.

    A Gaussian fitted to the observed numbers by EM (see
    ``initial_precision``) is the linear imputer of the numbers; the
    Gaussian units start as exactly that model: precision ``P``, biases
    ``P @ mean`` and no weights to the hidden units (which the fine-tuning
    then grows to model what the linear model misses). Changes ``layer``.
    """
    g = layer.visible_type.gaussian
    std = layer.visible_std
    scale = 1.0 if std is None else std[g]
    mean, precision = initial_precision(V[:, g] / scale)
    layer.weights[g] = 0.0
    layer.visible_bias[g] = precision @ mean * scale
    return precision.astype(layer.weights.dtype)


def visible_conditionals(layer, V, precision):
    """``(mean, sample)``: ``E[v | h, observed]`` and a draw, functions of ``h``.

    Without ``precision`` the visible units are independent given ``h``
    (the layer's own conditionals); with it, the missing Gaussian units of
    each row are a Gaussian given ``h`` and the row's observed Gaussian
    units (see ``_lateral``). Only the missing entries are meant to be read.
    """
    if precision is None:
        return layer.visible_mean, layer.sample_visible
    g = layer.visible_type.gaussian
    std = layer.visible_std
    scale = 1.0 if std is None else std[g]
    missing = np.isnan(V[:, g])
    given = np.where(missing, 0.0, V[:, g]) / scale  # in the units' scale

    def block(hidden):
        return solve_block(precision, layer.visible_field(hidden)[:, g], given, missing)

    def mean(hidden):
        out = layer.visible_mean(hidden)
        out[:, g] = block(hidden) * scale
        return out

    def sample(hidden, rng):
        out = layer.sample_visible(hidden, rng)
        draw = sample_block(precision, block(hidden), missing, rng)
        out[:, g] = draw * scale
        return out

    return mean, sample
