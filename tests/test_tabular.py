"""TabularRBMStack: DataFrames as they come, typed columns, missing values."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdbn import TabularRBMStack

pd = pytest.importorskip("pandas")


def _table(n=120, seed=0):
    rng = np.random.default_rng(seed)
    colour = rng.choice(["red", "green", "blue"], n)
    return pd.DataFrame(
        {
            "height": 170 + 10 * rng.standard_normal(n),
            "smoker": rng.integers(0, 2, n),
            "colour": colour,
            "size": pd.Categorical(rng.choice(["S", "M", "L"], n), ["S", "M", "L"]),
            "member": rng.random(n) < 0.3,
        }
    )


def _fit(X, **params):
    params = {"hidden_layer_sizes": 6, "n_epochs": 3, "random_state": 0, **params}
    return TabularRBMStack(**params).fit(X)


def test_dataframe_columns_get_their_unit_types():
    stack = _fit(_table())
    assert stack.column_types_ == [
        "gaussian",
        "bernoulli",
        "categorical",
        "categorical",
        "bernoulli",
    ]
    # Sorted categories for strings; the dtype's order for a category column.
    assert stack.categories_ == [["blue", "green", "red"], ["S", "M", "L"]]
    np.testing.assert_array_equal(stack.layers_[0].visible_layout, [1, 2, 3, 3])
    assert stack.layers_[0].visible_units == "mixed"
    # Gaussian columns are standardised with the training data's statistics.
    assert stack.numeric_mean_[0] == pytest.approx(_table()["height"].mean())
    assert stack.transform(_table()).shape == (120, 6)


def test_explicit_column_types():
    X = _table()
    stack = _fit(X, column_types={"smoker": "categorical", "height": "gaussian"})
    assert stack.column_types_[:3] == ["gaussian", "categorical", "categorical"]
    assert stack.categories_[0] == [0.0, 1.0]
    stack = _fit(X[["height", "smoker"]], column_types=["gaussian", "gaussian"])
    assert stack.column_types_ == ["gaussian", "gaussian"]
    with pytest.raises(ValueError, match="'weight', which X does not have"):
        _fit(X, column_types={"weight": "gaussian"})
    with pytest.raises(ValueError, match="Unknown column type 'number'"):
        _fit(X, column_types={"height": "number"})
    with pytest.raises(ValueError, match="'colour' of X is gaussian but holds"):
        _fit(X, column_types={"colour": "gaussian"})
    with pytest.raises(ValueError, match="'height' of X is bernoulli"):
        _fit(X, column_types={"height": "bernoulli"})
    with pytest.raises(ValueError, match="column_types has 1 entries but X has 2"):
        _fit(X[["height", "smoker"]], column_types=["gaussian"])


def test_unknown_categories_are_missing_or_an_error():
    X = _table()
    stack = _fit(X)
    new = X.head(3).copy()
    new["colour"] = ["purple", "red", "purple"]
    unknown_as_missing = new.copy()
    unknown_as_missing["colour"] = [None, "red", None]
    np.testing.assert_allclose(
        stack.transform(new), stack.transform(unknown_as_missing)
    )
    strict = _fit(X, handle_unknown="error")
    with pytest.raises(
        ValueError, match="Column 'colour' of X has the category 'purple'"
    ):
        strict.transform(new)


def test_missing_entries_are_accepted_everywhere_and_left_out():
    X = _table()
    # Nullable dtypes (pandas.NA) and NaN in floats and categories alike.
    holes = X.astype({"member": "boolean", "smoker": "Int64"})
    rng = np.random.default_rng(1)
    for column in holes.columns:
        holes.loc[rng.random(len(X)) < 0.2, column] = None
    stack = _fit(holes)
    stack.partial_fit(holes)
    H = stack.transform(holes)
    scores = stack.score_samples(holes)
    assert np.isfinite(H).all() and np.isfinite(scores).all()
    # A missing entry is left out: the same as the column's units absent.
    layer = stack.layers_[0]
    row = holes.iloc[[0]].copy()
    row["height"] = np.nan
    coded = stack._validate_input(row, reset=False)
    kept = ~np.isnan(coded[0])
    field = coded[0, kept] @ layer.weights[kept] + layer.hidden_bias
    expected = 1 / (1 + np.exp(-field))
    np.testing.assert_allclose(stack.layers_[0].hidden_mean(coded)[0], expected)
    # Samples started from rows with holes are complete tables.
    samples = stack.sample(4, n_steps=2, start=holes, random_state=0)
    assert samples.shape == (4, 5) and not pd.isna(samples).any()


def test_inverse_transform_and_samples_return_the_table_columns():
    X = _table()
    stack = _fit(X)
    back = stack.inverse_transform(stack.transform(X))
    assert back.dtype == object and back.shape == X.shape
    assert set(back[:, 2]) <= {"red", "green", "blue"}
    assert set(back[:, 3]) <= {"S", "M", "L"}
    samples = stack.sample(5, n_steps=3, return_mean=False, random_state=0)
    assert set(samples[:, 1]) <= {0.0, 1.0}
    numeric = _fit(X[["height"]])
    assert numeric.inverse_transform(numeric.transform(X[["height"]])).dtype == float


def test_same_seed_same_model_and_clone():
    X = _table()
    a, b = _fit(X), _fit(X)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    c = clone(a).fit(X)
    np.testing.assert_array_equal(a.transform(X), c.transform(X))


def test_feature_names_set_output_and_column_transformer():
    X = _table()
    stack = _fit(X)
    names = stack.get_feature_names_out()
    assert list(names) == [f"tabularrbmstack{i}" for i in range(6)]
    stack.set_output(transform="pandas")
    out = stack.transform(X)
    assert list(out.columns) == list(names)
    transformer = ColumnTransformer(
        [
            (
                "rbm",
                TabularRBMStack(4, n_epochs=2, random_state=0),
                ["colour", "height"],
            ),
            ("scale", StandardScaler(), ["height"]),
        ]
    )
    assert transformer.fit_transform(X).shape == (120, 5)
    pipe = make_pipeline(TabularRBMStack(4, n_epochs=2, random_state=0))
    assert pipe.fit_transform(X).shape == (120, 4)


def test_object_arrays_and_bad_input():
    X = np.array([[1.0, "a"], [2.5, "b"], [None, "a"], [0.5, None]], dtype=object)
    stack = TabularRBMStack(2, n_epochs=1, random_state=0).fit(X)
    assert stack.column_types_ == ["gaussian", "categorical"]
    with pytest.raises(TypeError, match="Sparse input is not supported"):
        import scipy.sparse as sp

        stack.fit(sp.csr_matrix(np.ones((3, 2))))
    with pytest.raises(ValueError, match="infinity"):
        stack.fit(np.array([[1.0, np.inf], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="0 sample"):
        stack.fit(_table().head(0))
    with pytest.raises(ValueError, match="X has 3 features"):
        stack.transform(np.ones((2, 3)))


def test_skops_round_trip_with_categories():
    sio = pytest.importorskip("skops.io")
    X = _table()
    X.loc[::7, "colour"] = None
    stack = _fit(X)
    data = sio.dumps(stack)
    loaded = sio.loads(data, trusted=["skdbn._tabular.TabularRBMStack"])
    np.testing.assert_array_equal(loaded.transform(X), stack.transform(X))
    np.testing.assert_array_equal(loaded.score_samples(X), stack.score_samples(X))
    assert loaded.categories_ == stack.categories_
