"""Input validation shared by the estimators."""

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import _check_sample_weight, validate_data


def validate_prediction_input(estimator, X, allow_nan=False):
    """Validate ``X`` for a fitted estimator's transform or predict methods.

    Dense or CSR/CSC, float32 kept, anything else numeric cast to float64;
    rejects inf, empty input, a feature count or names other than those
    seen in ``fit``, and NaN (unless ``allow_nan``: then in dense input
    only, see :func:`check_sparse_missing`).
    """
    check_numeric_columns(X, type(estimator).__name__)
    X = validate_data(
        estimator,
        X,
        accept_sparse=["csr", "csc"],
        dtype=[np.float64, np.float32],
        ensure_all_finite="allow-nan" if allow_nan else True,
        reset=False,
    )
    if allow_nan:
        check_sparse_missing(X, type(estimator).__name__)
    return X


def check_sparse_missing(X, estimator_name):
    """Refuse NaN in sparse input, whose missing entries are taken as zeros.

    In a sparse matrix an entry left out means 0, not missing; the masks
    that leave missing units out of the RBMs' energy work on dense input.
    """
    if sp.issparse(X) and X.dtype.kind == "f" and np.isnan(X.data).any():
        raise ValueError(
            f"{estimator_name} accepts missing values (NaN) in dense input only: "
            "this sparse X stores NaN. Convert it with X.toarray(), or replace "
            "the NaN."
        )


def check_numeric_columns(X, estimator_name, hint=""):
    """Refuse a DataFrame with non-numeric columns, naming them.

    ``validate_data`` would fail with "could not convert string to float",
    which names neither the column nor the fix. ``hint`` ends the message.
    """
    columns, dtypes = getattr(X, "columns", None), getattr(X, "dtypes", None)
    if columns is None or dtypes is None or not hasattr(dtypes, "__iter__"):
        return
    offending = [
        f"{column!r} ({dtype})"
        for column, dtype in zip(columns, dtypes, strict=True)
        if getattr(dtype, "kind", "O") not in "biuf"
    ]
    if offending:
        raise ValueError(
            f"{estimator_name} needs numeric input, but X has non-numeric "
            f"columns: {', '.join(offending[:10])}"
            f"{' and more' if len(offending) > 10 else ''}. Encode them first, "
            "e.g. with sklearn.preprocessing.OneHotEncoder in a "
            f"sklearn.compose.ColumnTransformer.{hint}"
        )


def check_labels_present(y):
    """Refuse targets with missing labels (None or NaN), naming the first row.

    Without this, sorting the labels fails with a ``TypeError`` comparing
    None with a label, or the target type comes out as "unknown".
    """
    if y is None:  # validate_data says that y is required
        return
    labels = np.asarray(y) if hasattr(y, "dtype") else np.asarray(y, dtype=object)
    if labels.dtype.kind == "f":
        missing = np.isnan(labels)
    elif labels.dtype.kind == "O":
        missing = np.asarray(np.frompyfunc(_is_missing, 1, 1)(labels), dtype=bool)
    else:
        return
    if missing.any():
        row = int(np.argwhere(missing)[0][0])
        raise ValueError(
            f"y has {int(missing.sum())} missing labels (None or NaN), the "
            f"first in row {row}: every training sample needs a label. Drop "
            "the unlabelled rows, or give them a label."
        )


def _is_missing(value):
    return value is None or (isinstance(value, float) and value != value)


def check_magnitude(X, estimator_name):
    """Refuse values whose squares overflow the dtype of ``X``.

    Training squares and multiplies the inputs (reconstruction errors,
    gradients, the optimisers' second moments); beyond ``sqrt(finfo.max)``
    (1.3e154 in float64, 1.8e19 in float32) they overflow and training would
    go on from infs. scikit-learn's MLP fails on such input with "Solver
    produced non-finite parameter weights"; this says so before training.
    """
    values = X.data if sp.issparse(X) else X
    if values.size == 0:
        return
    high, low = values.max(), values.min()
    if np.isnan(high):  # a missing entry, where accepted, has no magnitude
        values = values[~np.isnan(values)]
        if values.size == 0:
            return
        high, low = values.max(), values.min()
    largest = max(abs(float(high)), abs(float(low)))
    if largest > np.sqrt(np.finfo(values.dtype).max):
        raise ValueError(
            f"X has values too large for {estimator_name} (up to {largest:.4g} "
            f"in absolute value): their squares overflow {values.dtype}, so "
            "training would produce non-finite weights. Scale the input first, "
            "e.g. with sklearn.preprocessing.MinMaxScaler or StandardScaler."
        )


def validate_sample_weight(sample_weight, X):
    """Validated ``sample_weight`` for ``X`` (None stays None), in ``X``'s dtype.

    One non-negative finite weight per row, not all zero; a precise
    ``ValueError`` otherwise.
    """
    if sample_weight is None:
        return None
    sample_weight = _check_sample_weight(
        sample_weight, X, dtype=X.dtype, ensure_non_negative=True
    )
    # scikit-learn checks this itself only from 1.7 on.
    if len(sample_weight) and not sample_weight.any():
        raise ValueError(
            "Sample weights must contain at least one non-zero number; all "
            "the weights passed in sample_weight are zero."
        )
    return sample_weight


def weighted_rows(sample_weight):
    """Indices of the rows of positive weight, or None to keep every row.

    Rows of zero weight are left out of training altogether, as if they had
    been removed from the data.
    """
    if sample_weight is None or (sample_weight > 0).all():
        return None
    return np.flatnonzero(sample_weight)
