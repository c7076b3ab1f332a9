"""Column types of a table and their coding as mixed visible units.

A table (a pandas DataFrame, or any 2-d array, object arrays included) is
read column by column. Each column gets a type:

- ``"gaussian"``: a number, standardised with the mean and standard
  deviation of its observed training values, one Gaussian unit;
- ``"bernoulli"``: a binary column (values in ``[0, 1]``, or booleans), one
  Bernoulli unit;
- ``"categorical"``: a category, one softmax group with a unit per category
  seen in training (the categories of a pandas ``category`` dtype), of
  which exactly one is on.

``column_types="auto"`` chooses per column: ``category``, string and other
non-numeric columns are categorical, numeric columns whose observed values
are all 0 or 1 (and booleans) Bernoulli, other numbers Gaussian. Missing
entries (NaN, None, ``pandas.NA``) become NaN in every unit of the column,
which the RBM leaves out of the energy (see ``_mixed_units``).

The coded matrix puts the Gaussian columns first, then the Bernoulli ones,
then the softmax groups (each block in the order of the columns), the
layout of :class:`skdbn._mixed_units.MixedUnits`. Nothing here is stored on
an estimator but plain lists and arrays (see ``TabularRBMStack``).
"""

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.utils import assert_all_finite, check_array

COLUMN_TYPES = ("gaussian", "bernoulli", "categorical")


def _is_missing(value):
    if value is None:
        return True
    if isinstance(value, float | np.floating):
        return value != value
    # pandas.NA and NaT, without importing pandas.
    return type(value).__name__ in ("NAType", "NaTType")


def missing_mask(values):
    """Boolean mask of the missing entries of a 1-d array (any dtype)."""
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype.kind == "O":
        return np.fromiter((_is_missing(v) for v in values), bool, len(values))
    return np.zeros(len(values), dtype=bool)


def as_numbers(values):
    """``values`` as float64 with NaN for missing entries; raises on non-numbers."""
    if values.dtype.kind in "biuf":
        return values.astype(np.float64)
    missing = missing_mask(values)
    out = np.full(len(values), np.nan)
    present = values[~missing]
    if any(isinstance(v, str | bytes) for v in present):
        raise ValueError("strings")
    # float() raises a TypeError naming the type of anything else.
    out[~missing] = [float(v) for v in present]
    return out


def table_columns(X):
    """``(columns, is_category)``: the 1-d arrays of the columns of ``X``.

    ``is_category[j]`` holds the categories of a pandas ``category`` column
    (its dtype's, in order), True for another non-numeric pandas column,
    and None otherwise. Sparse input is refused; other input goes through
    ``check_array`` (2-d, at least one row and one column, no complex).
    """
    if sp.issparse(X):
        raise TypeError(
            "Sparse input is not supported by tabular models: a table's "
            "categorical and missing entries need a dense array or DataFrame; "
            "convert it with X.toarray()."
        )
    if hasattr(X, "columns") and hasattr(X, "iloc") and hasattr(X, "dtypes"):
        import pandas as pd

        n_rows, n_columns = X.shape
        if n_rows == 0 or n_columns == 0:
            raise ValueError(
                f"Found array with {n_rows} sample(s) and {n_columns} "
                "feature(s) while a minimum of 1 is required."
            )
        columns, is_category = [], []
        for j in range(n_columns):
            series = X.iloc[:, j]
            dtype = series.dtype
            if isinstance(dtype, pd.CategoricalDtype):
                columns.append(series.to_numpy(dtype=object))
                is_category.append(list(dtype.categories))
            elif pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(
                dtype
            ):
                columns.append(series.to_numpy(dtype=np.float64, na_value=np.nan))
                is_category.append(None)
            else:
                columns.append(series.to_numpy(dtype=object))
                is_category.append(True)
        return columns, is_category
    X = check_array(X, dtype=None, ensure_all_finite=False)
    if X.dtype.kind in "biu":
        X = X.astype(np.float64)
    return [X[:, j] for j in range(X.shape[1])], [None] * X.shape[1]


def resolve_column_types(column_types, n_columns, names):
    """The requested type of each column (``"auto"`` where not given)."""
    if isinstance(column_types, str):
        requested = [column_types] * n_columns
    elif isinstance(column_types, dict):
        requested = ["auto"] * n_columns
        positions = {name: j for j, name in enumerate(names)} if names else {}
        for key, kind in column_types.items():
            if isinstance(key, numbers.Integral) and not isinstance(key, bool):
                if not -n_columns <= key < n_columns:
                    raise ValueError(
                        f"column_types names column {key}, but X has "
                        f"{n_columns} columns."
                    )
                requested[key] = kind
            elif key in positions:
                requested[positions[key]] = kind
            else:
                raise ValueError(
                    f"column_types names the column {key!r}, which X does not "
                    "have (give column names of a DataFrame, or positions)."
                )
    else:
        requested = list(column_types)
        if len(requested) != n_columns:
            raise ValueError(
                f"column_types has {len(requested)} entries but X has "
                f"{n_columns} columns; give one per column, a dict, or a string."
            )
    for kind in requested:
        if kind not in (*COLUMN_TYPES, "auto"):
            raise ValueError(
                f"Unknown column type {kind!r} in column_types; choose among "
                f"{['auto', *COLUMN_TYPES]}."
            )
    return requested


def _column_name(names, j):
    return repr(names[j]) if names is not None else str(j)


def infer_column_types(columns, is_category, requested, names):
    """Each column's type, ``"auto"`` resolved on the training columns."""
    kinds = []
    for j, (values, category, kind) in enumerate(
        zip(columns, is_category, requested, strict=True)
    ):
        if kind != "auto":
            kinds.append(kind)
            continue
        if category is not None:
            kinds.append("categorical")
            continue
        try:
            numbers_ = as_numbers(values)
        except ValueError:
            kinds.append("categorical")
            continue
        except TypeError as error:
            raise TypeError(
                f"Column {_column_name(names, j)} of X holds a value that is "
                f"neither a number, a string nor missing: {error}"
            ) from None
        observed = numbers_[~np.isnan(numbers_)]
        binary = observed.size and np.isin(observed, (0.0, 1.0)).all()
        kinds.append("bernoulli" if binary else "gaussian")
    return kinds


def _sort_categories(values):
    unique = list(dict.fromkeys(v.item() if hasattr(v, "item") else v for v in values))
    try:
        return sorted(unique)
    except TypeError:  # mixed types: sort by their text
        return sorted(unique, key=lambda v: (type(v).__name__, str(v)))


def fit_coding(columns, is_category, kinds, names, sample_weight=None):
    """``(numeric_mean, numeric_scale, categories)`` fitted on training columns.

    Gaussian columns: the (weighted) mean and standard deviation of their
    observed values (0 and 1 for a column never observed, scale 1 for a
    constant one). Categorical columns: their categories.
    """
    means, scales, categories = [], [], []
    for j, (values, category, kind) in enumerate(
        zip(columns, is_category, kinds, strict=True)
    ):
        if kind == "gaussian":
            numbers_ = numeric_column(values, kind, names, j)
            observed = ~np.isnan(numbers_)
            weights = None if sample_weight is None else sample_weight[observed]
            if not observed.any() or (weights is not None and not weights.sum()):
                means.append(0.0)
                scales.append(1.0)
                continue
            x = numbers_[observed]
            mean = float(np.average(x, weights=weights))
            std = float(np.sqrt(np.average((x - mean) ** 2, weights=weights)))
            if not np.isfinite(std) or std > np.sqrt(np.finfo(np.float64).max):
                raise ValueError(
                    f"Column {_column_name(names, j)} of X has values too large "
                    "to standardise (their squares overflow float64)."
                )
            constant = std <= 10 * np.finfo(np.float64).eps * max(1.0, abs(mean))
            means.append(mean)
            scales.append(1.0 if constant else std)
        elif kind == "categorical":
            if isinstance(category, list):
                categories.append(
                    [c.item() if hasattr(c, "item") else c for c in category]
                )
            else:
                values = values[~missing_mask(values)]
                categories.append(_sort_categories(values))
    return np.array(means), np.array(scales), categories


def numeric_column(values, kind, names, j):
    """A Gaussian or Bernoulli column as float64 (NaN where missing), checked."""
    try:
        numbers_ = as_numbers(values)
    except TypeError as error:
        raise TypeError(
            f"Column {_column_name(names, j)} of X holds a value that is "
            f"neither a number, a string nor missing: {error}"
        ) from None
    except ValueError:
        raise ValueError(
            f"Column {_column_name(names, j)} of X is {kind} but holds values "
            "that are not numbers; give it the type 'categorical' in "
            "column_types."
        ) from None
    assert_all_finite(numbers_, allow_nan=True, input_name="X")
    if kind == "bernoulli":
        observed = numbers_[~np.isnan(numbers_)]
        if observed.size and (observed.min() < 0 or observed.max() > 1):
            raise ValueError(
                f"Column {_column_name(names, j)} of X is bernoulli (binary) but "
                f"has values in [{observed.min():.6g}, {observed.max():.6g}]; "
                "Bernoulli units model values in [0, 1]. Give it the type "
                "'gaussian' in column_types."
            )
    return numbers_


def layout(kinds, categories):
    """``[n_gaussian, n_bernoulli, size_1, ...]`` of the coded columns."""
    return np.array(
        [kinds.count("gaussian"), kinds.count("bernoulli")]
        # A categorical column never observed has no units.
        + [len(c) for c in categories if len(c)],
        dtype=np.int64,
    )


def _blocks(kinds):
    """Column indices of each block, in coded order."""
    return [[j for j, k in enumerate(kinds) if k == kind] for kind in COLUMN_TYPES]


def encode(columns, kinds, mean, scale, categories, names, handle_unknown="ignore"):
    """The coded matrix (float64, NaN where missing) of a table's columns.

    Unknown categories are missing entries with ``handle_unknown="ignore"``,
    and a ``ValueError`` naming the column and the value with ``"error"``.
    """
    n_rows = len(columns[0])
    gaussian, bernoulli, categorical = _blocks(kinds)
    width = len(gaussian) + len(bernoulli) + sum(len(c) for c in categories)
    out = np.empty((n_rows, width))
    for i, j in enumerate(gaussian):
        values = numeric_column(columns[j], "gaussian", names, j)
        out[:, i] = (values - mean[i]) / scale[i]
    start = len(gaussian)
    for i, j in enumerate(bernoulli):
        out[:, start + i] = numeric_column(columns[j], "bernoulli", names, j)
    start += len(bernoulli)
    for group, j in enumerate(categorical):
        known = categories[group]
        index = {value: k for k, value in enumerate(known)}
        values = columns[j]
        missing = missing_mask(values)
        codes = np.full(n_rows, -1)
        for row in np.flatnonzero(~missing):
            value = values[row]
            value = value.item() if hasattr(value, "item") else value
            code = index.get(value, -1)
            if code < 0 and handle_unknown == "error":
                raise ValueError(
                    f"Column {_column_name(names, j)} of X has the category "
                    f"{value!r}, unknown in training (known: {known[:10]}"
                    f"{' ...' if len(known) > 10 else ''}). Use "
                    "handle_unknown='ignore' to treat unknown categories as "
                    "missing."
                )
            codes[row] = code
        block = out[:, start : start + len(known)]
        block[...] = 0.0
        seen = codes >= 0
        block[np.flatnonzero(seen), codes[seen]] = 1.0
        block[~seen] = np.nan
        start += len(known)
    return out


def decode(V, kinds, mean, scale, categories):
    """Columns (in input order) of coded visible states ``V`` (no NaN).

    Gaussian columns are mapped back to the input's units, Bernoulli ones
    kept as they are (probabilities or draws) and each softmax group gives
    its most probable category (its drawn one, for one-hot draws). The
    result is float64 without categorical columns, else an object array.
    """
    n_rows = V.shape[0]
    gaussian, bernoulli, categorical = _blocks(kinds)
    dtype = object if categorical else np.float64
    out = np.empty((n_rows, len(kinds)), dtype=dtype)
    for i, j in enumerate(gaussian):
        out[:, j] = V[:, i] * scale[i] + mean[i]
    start = len(gaussian)
    for i, j in enumerate(bernoulli):
        out[:, j] = V[:, start + i]
    start += len(bernoulli)
    for group, j in enumerate(categorical):
        known = categories[group]
        block = V[:, start : start + len(known)]
        labels = np.empty(len(known), dtype=object)
        labels[:] = known
        out[:, j] = labels[np.argmax(block, axis=1)] if len(known) else None
        start += len(known)
    return out


def column_missing(V, kinds, categories):
    """Boolean ``(n_rows, n_columns)`` mask of the columns missing in ``V``."""
    gaussian, bernoulli, categorical = _blocks(kinds)
    out = np.zeros((V.shape[0], len(kinds)), dtype=bool)
    order = gaussian + bernoulli
    for i, j in enumerate(order):
        out[:, j] = np.isnan(V[:, i])
    start = len(order)
    for group, j in enumerate(categorical):
        size = len(categories[group])
        out[:, j] = np.isnan(V[:, start]) if size else True
        start += size
    return out


def coded_columns(kinds, categories):
    """The input column of each coded unit (an int array)."""
    gaussian, bernoulli, categorical = _blocks(kinds)
    sizes = [len(c) for c in categories]
    return np.array(
        gaussian
        + bernoulli
        + [j for j, s in zip(categorical, sizes, strict=True) for _ in range(s)],
        dtype=np.intp,
    )
