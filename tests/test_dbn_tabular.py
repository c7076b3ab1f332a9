"""DBNClassifier and DBNRegressor on tables: DataFrames as they come, NaN."""

import pickle
import warnings

import numpy as np
import pytest
from scipy.special import expit, softmax
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdbn import DBNClassifier, DBNRegressor, TabularRBMStack

pd = pytest.importorskip("pandas")

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _table(n=150, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "height": 170 + 10 * rng.standard_normal(n),
            "colour": rng.choice(["red", "green", "blue"], n).astype(object),
            "size": pd.Categorical(rng.choice(["S", "M", "L"], n), ["S", "M", "L"]),
            "member": rng.random(n) < 0.3,
            "count": rng.integers(0, 4, n),
        }
    )


def _target(X):
    score = (X["height"] - 170) / 10 + 2 * (X["colour"] == "red") - (X["size"] == "L")
    return (score > 0.5).astype(int).to_numpy()


def _with_holes(X, fraction=0.1, seed=1):
    rng = np.random.default_rng(seed)
    X = X.copy()
    for name in ("height", "colour"):
        X.loc[rng.random(len(X)) < fraction, name] = None
    return X


def _classifier(**params):
    defaults = dict(hidden_layer_sizes=(12,), n_epochs=3, max_iter=40, random_state=0)
    return DBNClassifier(**{**defaults, **params})


def test_dataframe_with_categories_is_coded_as_the_tabular_stack_does():
    X = _table()
    clf = _classifier().fit(X, _target(X))
    assert clf.visible_units_ == "tabular"
    assert clf.column_types_ == [
        "gaussian",
        "categorical",
        "categorical",
        "bernoulli",
        "gaussian",
    ]
    assert clf.categories_ == [["blue", "green", "red"], ["S", "M", "L"]]
    assert isinstance(clf.stack_, TabularRBMStack)
    assert clf.stack_.layers_[0].visible_units == "mixed"
    # The pre-trained stack reads raw tables with the estimator's coding.
    assert clf.stack_.transform(X).shape == (150, 12)
    np.testing.assert_array_equal(clf.feature_names_in_, X.columns)
    assert clf.predict(X).shape == (150,)
    assert clf.predict_proba(X).shape == (150, 2)
    assert clf.transform(X).shape == (150, 12)
    assert 0.0 <= clf.score(X, _target(X)) <= 1.0
    assert clf.input_mean_ is None  # the coding standardises the numbers


def test_tabular_classifier_learns():
    X = _table(300)
    y = _target(X)
    clf = _classifier(n_epochs=10, max_iter=200).fit(X[:200], y[:200])
    assert clf.score(X[200:], y[200:]) > 0.8


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_missing_values_in_every_method(method):
    X = _with_holes(_table())
    y = _target(_table())
    clf = _classifier()
    if method == "fit":
        clf.fit(X, y)
    else:
        clf.partial_fit(X, y, classes=[0, 1]).partial_fit(X, y)
    assert clf.visible_units_ == "tabular"
    for output in (clf.predict_proba(X), clf.transform(X)):
        assert np.isfinite(output).all()
    assert 0.0 <= clf.score(X, y) <= 1.0
    # A row with every entry missing is the network's answer to no input.
    empty = X.iloc[[0]].copy()
    for name in empty.columns:
        empty[name] = None
    assert np.isfinite(clf.predict_proba(empty)).all()


def test_numeric_array_with_nan_is_coded_and_regressor_accepts_it():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 4))
    y = X @ np.array([1.0, -1.0, 0.5, 0.0])
    X[rng.random(X.shape) < 0.15] = np.nan
    reg = DBNRegressor((8,), n_epochs=3, max_iter=30, random_state=0).fit(X, y)
    assert reg.visible_units_ == "tabular"
    assert reg.column_types_ == ["gaussian"] * 4
    assert np.isfinite(reg.predict(X)).all()
    # Infinity is not a missing value.
    X[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        reg.predict(X)
    with pytest.raises(ValueError, match="infinity"):
        clone(reg).fit(X, y)


def test_nan_with_explicit_numeric_units_reaches_the_masked_stack():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 3))
    X[rng.random(X.shape) < 0.1] = np.nan
    y = (np.nan_to_num(X[:, 0]) > 0).astype(int)
    clf = _classifier(visible_units="gaussian").fit(X, y)
    assert clf.visible_units_ == "gaussian" and clf.column_types_ is None
    assert np.isfinite(clf.stack_.layers_[0].weights).all()
    assert np.isfinite(clf.predict_proba(X)).all()


def _by_hand(clf, coded):
    """The classifier's forward pass, by hand, on coded input (NaN: missing)."""
    activity = np.nan_to_num(coded, nan=0.0)
    for W, b in zip(clf.coefs_[:-1], clf.intercepts_[:-1], strict=True):
        activity = expit(activity @ W + b)
    return softmax(activity @ clf.coefs_[-1] + clf.intercepts_[-1], axis=1)


def test_a_missing_entry_sends_nothing_to_the_first_layer():
    X = _table()
    clf = _classifier().fit(X, _target(X))
    row = X.iloc[[0]].copy()
    row["height"] = np.nan
    row["colour"] = None
    proba = clf.predict_proba(row)
    # By hand: standardised number and one-hot groups of the observed entries,
    # and the missing ones (height: unit 0; colour: units 1-3) left out.
    size = ["S", "M", "L"].index(X["size"].iloc[0])
    coded = np.full((1, 9), np.nan)
    coded[0, 1] = float(X["member"].iloc[0])
    coded[0, 2] = (X["count"].iloc[0] - clf.numeric_mean_[1]) / clf.numeric_scale_[1]
    coded[0, 3:6] = np.nan
    coded[0, 6:9] = np.eye(3)[size]
    # Coded order: Gaussian columns (height, count), binary (member), groups.
    coded = np.column_stack(
        [coded[:, [0]], coded[:, [2]], coded[:, [1]], coded[:, 3:6], coded[:, 6:9]]
    )
    np.testing.assert_allclose(proba, _by_hand(clf, coded), rtol=1e-10)
    # Filling the entries in changes the answer: they were really left out.
    assert not np.allclose(proba, clf.predict_proba(X.iloc[[0]]))


def test_unknown_categories():
    X = _table()
    y = _target(X)
    clf = _classifier().fit(X, y)
    unknown = X.iloc[:3].copy()
    unknown["colour"] = "purple"
    missing = X.iloc[:3].copy()
    missing["colour"] = None
    # "ignore" (the default): an unknown category is a missing entry.
    np.testing.assert_allclose(clf.predict_proba(unknown), clf.predict_proba(missing))
    strict = _classifier(handle_unknown="error").fit(X, y)
    with pytest.raises(ValueError, match="'colour' of X has the category 'purple'"):
        strict.predict(unknown)


def test_column_types_are_a_parameter():
    X = _table()
    clf = _classifier(column_types={"count": "categorical"}).fit(X, _target(X))
    assert clf.column_types_[-1] == "categorical"
    assert clf.categories_[-1] == [0.0, 1.0, 2.0, 3.0]
    numeric = X[["height", "count"]]
    forced = _classifier(visible_units="tabular").fit(numeric, _target(X))
    assert forced.visible_units_ == "tabular"
    assert forced.column_types_ == ["gaussian", "gaussian"]


def test_complete_numeric_data_keeps_the_numeric_path():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 4))
    y = (X[:, 0] > 0).astype(int)
    auto = _classifier().fit(X, y)
    assert auto.visible_units_ == "gaussian" and auto.column_types_ is None
    # The numeric path by hand: Gaussian units on standardised columns.
    Z = StandardScaler().fit_transform(X)
    explicit = _classifier(visible_units="gaussian").fit(Z, y)
    np.testing.assert_allclose(auto.predict_proba(X), explicit.predict_proba(Z))
    frame = pd.DataFrame(X, columns=list("abcd")).assign(flag=X[:, 0] > 0)
    assert _classifier().fit(frame, y).visible_units_ == "gaussian"


def test_auto_dropout_on_tables_only():
    # dropout="auto" drops hidden units in fine-tuning on a coded table, not
    # on numeric arrays, and never with L-BFGS (which refuses dropout).
    X, y = _table(), _target(_table())
    auto = _classifier().fit(X, y)
    assert auto.dropout == "auto" and auto.dropout_ == 0.2
    explicit = _classifier(dropout=0.2).fit(X, y)
    np.testing.assert_array_equal(auto.predict_proba(X), explicit.predict_proba(X))
    assert not np.allclose(
        auto.predict_proba(X), _classifier(dropout=0.0).fit(X, y).predict_proba(X)
    )
    assert _classifier(solver="lbfgs", max_iter=5).fit(X, y).dropout_ == 0.0
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((80, 4))
    numeric = _classifier().fit(Z, y[:80])
    assert numeric.visible_units_ == "gaussian" and numeric.dropout_ == 0.0
    np.testing.assert_array_equal(
        numeric.predict_proba(Z),
        _classifier(dropout=0.0).fit(Z, y[:80]).predict_proba(Z),
    )
    # Explicit rates are used as given, on any input.
    assert _classifier(dropout=0.1).fit(Z, y[:80]).dropout_ == 0.1
    with pytest.raises(ValueError, match="dropout"):
        _classifier(dropout="always").fit(Z, y[:80])


def test_pickle_and_skops_round_trip():
    sio = pytest.importorskip("skops.io")
    X = _with_holes(_table())
    y = _target(_table())
    clf = _classifier().fit(X, y)
    expected = clf.predict_proba(X)
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(clf)).predict_proba(X), expected
    )
    loaded = sio.loads(sio.dumps(clf), trusted=["skdbn._classifier.DBNClassifier"])
    np.testing.assert_array_equal(loaded.predict_proba(X), expected)
    assert loaded.categories_ == clf.categories_


def test_pipeline_column_transformer_and_pandas_output():
    X = _table()
    y = _target(X)
    model = ColumnTransformer(
        [
            ("scaled", StandardScaler(), ["count"]),
            ("dbn", _classifier(), ["height", "colour", "size"]),
        ]
    ).set_output(transform="pandas")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        out = model.fit_transform(X, y)
    assert list(out.columns[:2]) == ["scaled__count", "dbn__dbnclassifier0"]
    assert out.shape == (150, 13)
    pipe = make_pipeline(_classifier()).fit(X, y)
    assert pipe.predict(X).shape == (150,)
    names = _classifier().fit(X, y).get_feature_names_out()
    assert len(names) == 12


def test_grid_search_and_clone():
    X = _table(90)
    y = _target(X)
    search = GridSearchCV(
        _classifier(max_iter=10), {"handle_unknown": ["ignore", "error"]}, cv=2
    ).fit(X, y)
    assert search.best_estimator_.visible_units_ == "tabular"
    assert clone(search.best_estimator_).get_params()["column_types"] == "auto"


def test_generative_top_layer_samples_tables():
    X = _table()
    clf = _classifier(generative_layer_size=6).fit(X, _target(X))
    samples, labels = clf.sample(4, n_steps=2, random_state=0)
    assert samples.shape == (4, 5) and labels.shape == (4,)
    assert set(samples[:, 1]) <= {"blue", "green", "red"}
