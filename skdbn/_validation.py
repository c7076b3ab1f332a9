"""Input validation shared by the estimators."""

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import _check_sample_weight, validate_data


def validate_prediction_input(estimator, X):
    """Validate ``X`` for a fitted estimator's transform or predict methods.

    Dense or CSR/CSC, float32 kept, anything else numeric cast to float64;
    rejects NaN, inf, empty input and a feature count or names other than
    those seen in ``fit``.
    """
    check_numeric_columns(X, type(estimator).__name__)
    return validate_data(
        estimator,
        X,
        accept_sparse=["csr", "csc"],
        dtype=[np.float64, np.float32],
        reset=False,
    )


def check_numeric_columns(X, estimator_name):
    """Refuse a DataFrame with non-numeric columns, naming them.

    ``validate_data`` would fail with "could not convert string to float",
    which names neither the column nor the fix.
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
            "sklearn.compose.ColumnTransformer."
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
    largest = max(abs(float(values.max())), abs(float(values.min())))
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
