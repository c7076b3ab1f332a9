"""BernoulliRBMStack inside scikit-learn's tools: Pipeline, search, clone, pickle."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler

from skdbn import BernoulliRBMStack


@pytest.fixture(scope="module")
def digits_split():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


def digits_pipeline(**stack_params):
    params = dict(hidden_layer_sizes=(64,), n_epochs=10, batch_size=20, random_state=0)
    return Pipeline(
        [
            ("scale", MinMaxScaler(clip=True)),
            ("rbm", BernoulliRBMStack(**{**params, **stack_params})),
            ("clf", LogisticRegression(max_iter=2000)),
        ]
    )


def test_pipeline_learns_useful_features(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    accuracy = digits_pipeline().fit(X_train, y_train).score(X_test, y_test)
    # Chance is 0.1; 64 binary features that keep ~88% of the digits' signal.
    assert accuracy > 0.85


def test_grid_search_over_stack_parameters(digits_split):
    X_train, _, y_train, _ = digits_split
    search = GridSearchCV(
        digits_pipeline(n_epochs=5, batch_size=10),
        {
            "rbm__learning_rate": [0.05, 0.1],
            "rbm__hidden_layer_sizes": [(32,), (32, 16)],
        },
        cv=2,
        n_jobs=2,
    )
    search.fit(X_train[:600], y_train[:600])
    assert set(search.best_params_) == {"rbm__learning_rate", "rbm__hidden_layer_sizes"}
    assert search.best_score_ > 0.3  # 3x chance: short fits on 300 samples
    # Parallel and sequential searches give the same scores: each fit is seeded.
    sequential = clone(search).set_params(n_jobs=1).fit(X_train[:600], y_train[:600])
    np.testing.assert_allclose(
        search.cv_results_["mean_test_score"], sequential.cv_results_["mean_test_score"]
    )


def test_clone_and_pickle_round_trip(digits_split):
    X_train = digits_split[0] / 16.0
    stack = BernoulliRBMStack((16, 8), n_epochs=2, random_state=0).fit(X_train)
    unfitted = clone(stack)
    assert unfitted.get_params() == stack.get_params()
    assert not hasattr(unfitted, "layers_")
    restored = pickle.loads(pickle.dumps(stack))
    np.testing.assert_array_equal(restored.transform(X_train), stack.transform(X_train))
    np.testing.assert_array_equal(
        restored.score_samples(X_train), stack.score_samples(X_train)
    )


def test_same_seed_same_model_in_a_pipeline(digits_split):
    X_train, X_test, y_train, _ = digits_split
    first = digits_pipeline(n_epochs=2).fit(X_train, y_train)
    second = digits_pipeline(n_epochs=2).fit(X_train, y_train)
    np.testing.assert_array_equal(
        first.predict_proba(X_test), second.predict_proba(X_test)
    )


def test_set_output_pandas_names_the_features(digits_split):
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(digits_split[0] / 16.0).add_prefix("pixel")
    stack = BernoulliRBMStack((5,), n_epochs=1, random_state=0).set_output(
        transform="pandas"
    )
    out = stack.fit(X).transform(X)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == [f"bernoullirbmstack{i}" for i in range(5)]
    assert list(stack.feature_names_in_) == list(X.columns)
    assert out.index.equals(X.index)


def test_column_transformer_with_pandas_output(digits_split):
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(digits_split[0]).add_prefix("pixel")
    X["label_text"] = "x"
    pixels = [c for c in X.columns if c.startswith("pixel")]
    transformer = ColumnTransformer(
        [
            (
                "rbm",
                Pipeline(
                    [
                        ("scale", MinMaxScaler()),
                        ("stack", BernoulliRBMStack((4,), n_epochs=1, random_state=0)),
                    ]
                ),
                pixels,
            )
        ]
    ).set_output(transform="pandas")
    out = transformer.fit_transform(X)
    assert list(out.columns) == [f"rbm__bernoullirbmstack{i}" for i in range(4)]
