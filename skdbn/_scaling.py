"""Input scaling chosen by ``visible_units="auto"``: fitted once, applied in one place.

An estimator with ``visible_units="auto"`` looks at its training data once
(``fit``, or the first ``partial_fit``): data within ``[0, 1]`` (with the
slack of the ``DataRangeWarning``) gets Bernoulli visible units and is used
as it is; anything else gets Gaussian visible units on data the estimator
standardises itself. The choice and the scaling are plain fitted arrays on
the estimator: ``visible_units_``, ``input_mean_`` and ``input_scale_``
(both None when nothing is scaled). Every way in (``fit``, ``partial_fit``,
``transform``, ``predict``, ``score_samples``) goes through
:func:`scale_input`; every output in input units (reconstructions, samples)
through :func:`unscale_output`.

Sparse input is scaled without centering (as
``StandardScaler(with_mean=False)``), so that it stays sparse; a constant
feature gets scale 1, so nothing is divided by zero.
"""

import numpy as np
import scipy.sparse as sp

from ._units import feature_mean_and_variance, in_unit_interval


def fit_input_scaling(X, visible_units, sample_weight=None):
    """Resolve ``visible_units`` on training data ``X``.

    Returns ``(units, mean, scale)``: the unit type's name, and the
    per-feature mean and scale (in the dtype of ``X``) that standardise
    ``X``, or None and None when ``X`` is used as it is (an explicit choice,
    or ``"auto"`` on data within ``[0, 1]``).
    """
    if visible_units != "auto":
        return visible_units, None, None
    if in_unit_interval(X):
        return "bernoulli", None, None
    return "gaussian", *fit_standardisation(X, sample_weight)


def fit_standardisation(X, sample_weight=None):
    """Per-feature ``(mean, scale)``, in the dtype of ``X``, that standardise ``X``.

    Weighted by ``sample_weight`` (an integer weight counts as that many
    copies of the row); the mean is 0 for sparse ``X`` (scaling only, so
    that it stays sparse); a constant feature gets scale 1.
    """
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        # Rows of zero weight are left out, as in training; equal weights
        # are no weights (so that the result is exactly the unweighted one).
        kept = np.flatnonzero(sample_weight)
        if len(kept) < len(sample_weight):
            X, sample_weight = X[kept], sample_weight[kept]
        if np.all(sample_weight == sample_weight[0]):
            sample_weight = None
    with np.errstate(over="ignore", invalid="ignore"):
        mean, variance = feature_mean_and_variance(
            X.astype(np.float64, copy=False), sample_weight
        )
    mean = np.asarray(mean, dtype=np.float64)
    scale = np.sqrt(np.asarray(variance, dtype=np.float64))
    # A constant feature (up to rounding) keeps its values: scale 1.
    constant = scale <= 10 * np.finfo(np.float64).eps * np.maximum(1.0, np.abs(mean))
    scale[constant] = 1.0
    if sp.issparse(X):
        # Centering would densify the matrix: scale only.
        mean = np.zeros_like(mean)
    return mean.astype(X.dtype), scale.astype(X.dtype)


def set_input_scaling(estimator, X, visible_units, sample_weight=None):
    """Fit the scaling on ``X`` and store it as the estimator's fitted state."""
    units, mean, scale = fit_input_scaling(X, visible_units, sample_weight)
    estimator.visible_units_ = units
    estimator.input_mean_ = mean
    estimator.input_scale_ = scale


def scale_input(estimator, X):
    """``X`` standardised as the estimator's training data was (or ``X`` itself).

    Sparse input stays sparse when the scaling does not center (it was
    fitted on sparse data); otherwise it is made dense, as centering must.
    """
    mean = getattr(estimator, "input_mean_", None)
    if mean is None:
        return X
    scale = estimator.input_scale_
    if sp.issparse(X):
        if not mean.any():
            # Each stored value divided by its column's scale, as in the
            # dense case (CSR indices are column indices).
            X = X.tocsr(copy=True)
            X.data /= scale.astype(X.dtype, copy=False)[X.indices]
            return X
        X = X.toarray()
    X = X - mean.astype(X.dtype, copy=False)
    X /= scale.astype(X.dtype, copy=False)
    return X


def unscale_output(estimator, X):
    """Map values in standardised units back to the units of the input."""
    mean = getattr(estimator, "input_mean_", None)
    if mean is None:
        return X
    X = X * estimator.input_scale_.astype(X.dtype, copy=False)
    X += mean.astype(X.dtype, copy=False)
    return X


def log_scale_correction(estimator):
    """``sum(log(input_scale_))``: what a log-density in standardised units
    loses to be one in the input's units (the log-Jacobian of the scaling)."""
    scale = getattr(estimator, "input_scale_", None)
    if scale is None:
        return 0.0
    return float(np.sum(np.log(scale.astype(np.float64))))
