"""What DBNClassifier and DBNRegressor read: scaled arrays or coded tables.

``visible_units`` decides once, on the training data (``fit``, or the first
``partial_fit``), how the input reaches the network; the choice and its
fitted state are plain attributes of the estimator, and every way in goes
through :func:`validate_training_input` (training) or
:func:`prediction_input` (``predict``, ``transform``, ...):

- ``"bernoulli"`` and ``"gaussian"`` (and ``"auto"`` on complete numeric
  data): a numeric array, standardised by the estimator for Gaussian units
  (``_scaling``), as before tables were supported;
- ``"tabular"`` (and ``"auto"`` on a DataFrame with non-numeric columns, an
  object array holding strings, or data with missing entries): the table's
  columns coded as in :class:`TabularRBMStack` (``_columns``): standardised
  numbers, binary columns, one-hot groups for categories, NaN where an
  entry is missing (or, with ``handle_unknown="ignore"``, an unknown
  category). The fitted coding is ``column_types_``, ``categories_``,
  ``numeric_mean_`` and ``numeric_scale_``.

Missing entries stay NaN for pre-training, whose RBMs leave them out of the
energy. The network reads them as 0 (:func:`network_input`): a missing unit
sends nothing to the first hidden layer, exactly the pre-trained RBM's
up pass with that unit left out, so the first layer conditions on the
observed inputs.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import _check_y, check_consistent_length, validate_data

from ._columns import (
    encode,
    fit_coding,
    infer_column_types,
    resolve_column_types,
    table_columns,
)
from ._mixed_units import fill_missing, has_missing
from ._scaling import scale_input, set_input_scaling
from ._validation import (
    check_magnitude,
    check_numeric_columns,
    check_sparse_missing,
    validate_prediction_input,
    validate_sample_weight,
)

#: The ``visible_units`` of a network that reads a coded table.
TABULAR = "tabular"

#: Fitted attributes of the table's coding (None when the input is numeric).
CODING_ATTRIBUTES = ("column_types_", "categories_", "numeric_mean_", "numeric_scale_")


def _holds_strings(X):
    """Whether ``X`` is a table to code: non-numeric DataFrame columns or strings."""
    dtypes = getattr(X, "dtypes", None)
    if hasattr(X, "columns") and dtypes is not None and hasattr(dtypes, "__iter__"):
        return any(getattr(dtype, "kind", "O") not in "biuf" for dtype in dtypes)
    if sp.issparse(X) or not hasattr(X, "dtype"):
        if isinstance(X, list | tuple):
            X = np.asarray(X, dtype=object)
        else:
            return False
    if X.dtype.kind in "US":
        return True
    if X.dtype.kind != "O":
        return False
    return any(isinstance(value, str | bytes) for value in np.ravel(X))


def uses_table(estimator, X, reset):
    """Whether ``X`` goes in as a coded table (decided at ``reset``)."""
    if not reset:
        return getattr(estimator, "visible_units_", None) == TABULAR
    return estimator.visible_units == TABULAR or (
        estimator.visible_units == "auto" and _holds_strings(X)
    )


def validate_training_input(
    estimator, X, y, reset, sample_weight=None, **validate_kwargs
):
    """``(X, y)`` validated; ``X`` a float matrix with NaN where missing.

    With ``reset``, resolves ``visible_units`` (``visible_units_``) and fits
    what turns ``X`` into the network's input: the table's coding, or the
    input scaling. Otherwise ``X`` must fit the estimator's fitted choice.
    ``validate_kwargs`` are those of ``validate_data`` for numeric input
    (and for ``y``: ``multi_output``, ``y_numeric``).
    """
    name = type(estimator).__name__
    if not uses_table(estimator, X, reset):
        if estimator.visible_units != "auto" or not reset:
            check_numeric_columns(
                X,
                name,
                f" Or let {name} code the table itself: visible_units='tabular' "
                "(or 'auto').",
            )
        raw = X
        X, y = validate_data(
            estimator,
            X,
            y,
            ensure_all_finite="allow-nan",
            reset=reset,
            **validate_kwargs,
        )
        check_sparse_missing(X, name)
        if reset and estimator.visible_units == "auto" and has_missing(X):
            return _validate_table(
                estimator, raw, y, reset, sample_weight, validate_kwargs
            )
        check_magnitude(X, name)
        if reset:
            _forget_coding(estimator)
            set_input_scaling(
                estimator,
                X,
                estimator.visible_units,
                validate_sample_weight(sample_weight, X),
            )
        return scale_input(estimator, X), y
    return _validate_table(estimator, X, y, reset, sample_weight, validate_kwargs)


def _forget_coding(estimator):
    for attribute in CODING_ATTRIBUTES:
        setattr(estimator, attribute, None)


def _validate_table(estimator, X, y, reset, sample_weight, validate_kwargs):
    columns, is_category = table_columns(X)
    validate_data(estimator, X, skip_check_array=True, reset=reset)
    y = _check_y(
        y,
        multi_output=validate_kwargs.get("multi_output", False),
        y_numeric=validate_kwargs.get("y_numeric", False),
        estimator=estimator,
    )
    check_consistent_length(columns[0], y)
    names = _names(estimator)
    if reset:
        requested = resolve_column_types(estimator.column_types, len(columns), names)
        estimator.column_types_ = infer_column_types(
            columns, is_category, requested, names
        )
        weights = validate_sample_weight(sample_weight, np.empty((len(columns[0]), 0)))
        (
            estimator.numeric_mean_,
            estimator.numeric_scale_,
            estimator.categories_,
        ) = fit_coding(columns, is_category, estimator.column_types_, names, weights)
        estimator.visible_units_ = TABULAR
        # The coding standardises the numbers itself.
        estimator.input_mean_ = estimator.input_scale_ = None
    return _encode(estimator, columns, names), y


def _names(estimator):
    names = getattr(estimator, "feature_names_in_", None)
    return None if names is None else list(names)


def _encode(estimator, columns, names):
    return encode(
        columns,
        estimator.column_types_,
        estimator.numeric_mean_,
        estimator.numeric_scale_,
        estimator.categories_,
        names,
        estimator.handle_unknown,
    )


def model_input(estimator, X):
    """``X`` of a fitted estimator in the first layer's units, NaN where missing."""
    if uses_table(estimator, X, reset=False):
        columns, _ = table_columns(X)
        validate_data(estimator, X, skip_check_array=True, reset=False)
        return _encode(estimator, columns, _names(estimator))
    X = validate_prediction_input(estimator, X, allow_nan=True)
    return scale_input(estimator, X)


def prediction_input(estimator, X):
    """``X`` of a fitted estimator as its network reads it (missing: 0)."""
    return network_input(model_input(estimator, X))


def network_input(X):
    """The network's input: a missing unit sends nothing, so it reads 0."""
    return fill_missing(X)


def prepare_stack(estimator, stack, X):
    """Give the unfitted pre-training ``stack`` the estimator's input state.

    A table's stack takes the estimator's coding (so that its ``transform``
    reads raw tables, as the estimator does); a numeric one validates ``X``,
    already scaled by the estimator, as its own training data.
    """
    if getattr(estimator, "visible_units_", None) != TABULAR:
        stack._validate_input(X, reset=True, owner=estimator)
        return
    stack.n_features_in_ = estimator.n_features_in_
    if hasattr(estimator, "feature_names_in_"):
        stack.feature_names_in_ = estimator.feature_names_in_
    for attribute in CODING_ATTRIBUTES:
        setattr(stack, attribute, getattr(estimator, attribute))


def stack_parameters(estimator):
    """The table stack's own parameters, from the estimator's."""
    return {
        "column_types": estimator.column_types,
        "handle_unknown": estimator.handle_unknown,
        "learn_variance": estimator.learn_variance,
    }
