"""Input errors that name the problem: non-numeric columns, missing labels."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skdbn import (
    BernoulliRBMStack,
    DBNAutoencoder,
    DBNClassifier,
    DBNRegressor,
    GaussianRBMStack,
)

pd = pytest.importorskip("pandas")

# (At visible_units="auto", the default, the DBN estimators code such tables
# themselves: tests/test_dbn_tabular.py.)
ESTIMATORS = [
    BernoulliRBMStack((4,), n_epochs=1),
    GaussianRBMStack((4,), n_epochs=1),
    DBNClassifier((4,), visible_units="gaussian", n_epochs=1, max_iter=2),
    DBNRegressor((4,), visible_units="bernoulli", n_epochs=1, max_iter=2),
    DBNAutoencoder((4, 2), n_epochs=1, max_iter=2),
]


def _frame(n=20):
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "x": rng.random(n),
            "colour": pd.Categorical(rng.choice(["red", "green"], n)),
            "name": rng.choice(["a", "b", "c"], n).astype(object),
            "flag": rng.random(n) > 0.5,
        }
    )


def _fit(estimator, X):
    y = np.arange(len(X)) % 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_non_numeric_columns_are_named_at_fit(estimator):
    with pytest.raises(ValueError) as error:
        _fit(estimator, _frame())
    message = str(error.value)
    assert f"{type(estimator).__name__} needs numeric input" in message
    assert "'colour' (category)" in message and "'name' (" in message
    assert "'x'" not in message and "'flag'" not in message
    assert "OneHotEncoder" in message
    if isinstance(estimator, DBNClassifier | DBNRegressor):
        assert "visible_units='tabular'" in message


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_non_numeric_columns_are_named_after_fit(estimator):
    frame = _frame()
    numeric = frame[["x", "flag"]].astype(float).assign(colour=0.0, name=1.0)
    fitted = _fit(estimator, numeric)
    method = "predict" if hasattr(fitted, "predict") else "transform"
    with pytest.raises(ValueError, match=r"'colour' \(category\)"):
        getattr(fitted, method)(frame)


@pytest.mark.parametrize(
    "y",
    [
        [0, None, 1, 0, 1, 1],
        ["cat", "dog", None, "cat", "dog", "cat"],
        [0.0, 1.0, 0.0, np.nan, 1.0, 0.0],
        np.array(["a", "b", "a", "b", np.nan, "a"], dtype=object),
    ],
    ids=["int-none", "str-none", "float-nan", "str-nan"],
)
def test_missing_labels_are_a_clear_value_error(y):
    X = np.random.default_rng(0).random((6, 3))
    first = next(i for i, v in enumerate(y) if v is None or v != v)
    with pytest.raises(ValueError, match=f"missing labels .*first in row {first}"):
        DBNClassifier((4,), n_epochs=1, max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match=f"missing labels .*first in row {first}"):
        DBNClassifier((4,), n_epochs=1).partial_fit(X, y, classes=[0, 1])
