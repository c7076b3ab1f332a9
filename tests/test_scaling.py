"""visible_units="auto" and the input scaling the estimators fit themselves."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdbn import (
    BernoulliRBMStack,
    DBNAutoencoder,
    DBNClassifier,
    DBNRegressor,
    GaussianRBMStack,
)
from skdbn._scaling import fit_input_scaling, scale_input, unscale_output
from skdbn._units import RANGE_TOLERANCE, DataRangeWarning

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def cancer():
    return load_breast_cancer(return_X_y=True)


def _rng_data(n=120, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * [1.0, 10.0, 1e4, 0.1, 3.0][:d] + 50.0
    y = (X[:, 0] + X[:, 2] / 1e4 > 50).astype(int)
    return X, y


# --------------------------------------------------------------- resolution


def test_auto_resolves_on_the_range_with_the_warning_tolerance():
    inside = np.array([[0.0, 1.0 + RANGE_TOLERANCE / 2], [-RANGE_TOLERANCE / 2, 0.5]])
    assert fit_input_scaling(inside, "auto") == ("bernoulli", None, None)
    outside = inside + [[0.0, 2 * RANGE_TOLERANCE], [0.0, 0.0]]
    units, mean, scale = fit_input_scaling(outside, "auto")
    assert units == "gaussian" and mean is not None and scale is not None
    # An explicit choice is kept, with no scaling.
    assert fit_input_scaling(outside, "bernoulli") == ("bernoulli", None, None)
    assert fit_input_scaling(inside, "gaussian") == ("gaussian", None, None)


def test_constant_features_get_scale_one_and_sparse_is_not_centered():
    X = np.array([[1.0, 5.0, 0.0], [3.0, 5.0, 2.0], [5.0, 5.0, 0.0]])
    units, mean, scale = fit_input_scaling(X, "auto")
    np.testing.assert_allclose(mean, X.mean(axis=0))
    np.testing.assert_allclose(scale, [X[:, 0].std(), 1.0, X[:, 2].std()])
    assert np.isfinite(scale_input(_Fitted(mean, scale), X)).all()
    units, mean, scale = fit_input_scaling(sp.csr_matrix(X), "auto")
    np.testing.assert_array_equal(mean, 0.0)
    np.testing.assert_allclose(scale, [X[:, 0].std(), 1.0, X[:, 2].std()])
    scaled = scale_input(_Fitted(mean, scale), sp.csr_matrix(X))
    assert sp.issparse(scaled)
    np.testing.assert_allclose(scaled.toarray(), X / scale)
    np.testing.assert_allclose(unscale_output(_Fitted(mean, scale), X / scale), X)


class _Fitted:
    def __init__(self, mean, scale):
        self.input_mean_, self.input_scale_ = mean, scale


# ---------------------------------------------------------- the classifier


def test_raw_breast_cancer_is_learned_at_defaults(cancer):
    # With Bernoulli units on the raw table (features up to 4254),
    # DBNClassifier() sat at the majority-class rate (0.627) when issue 14
    # was filed, and still gets only 0.935 here; Gaussian units on the
    # standardised table get 0.979.
    X, y = cancer
    clf = DBNClassifier(max_iter=50, random_state=0)
    scores = cross_val_score(clf, X, y, cv=3)
    assert scores.mean() > 0.96
    assert clf.fit(X, y).visible_units_ == "gaussian"


def test_wide_ranges_just_work():
    X, y = load_wine(return_X_y=True)
    X = X.copy()
    X[:, 4] *= 1e4  # a column in the hundreds of thousands
    clf = DBNClassifier(max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataRangeWarning)
        assert cross_val_score(clf, X, y, cv=3).mean() > 0.9


def test_unit_interval_data_gets_exactly_the_bernoulli_model():
    rng = np.random.default_rng(0)
    X = rng.random((80, 6))
    y = (X[:, 0] > 0.5).astype(int)
    params = dict(hidden_layer_sizes=(8,), n_epochs=2, max_iter=5, random_state=0)
    auto = DBNClassifier(**params).fit(X, y)
    explicit = DBNClassifier(visible_units="bernoulli", **params).fit(X, y)
    assert auto.visible_units_ == "bernoulli" and auto.input_mean_ is None
    for a, b in zip(auto.coefs_, explicit.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(auto.predict_proba(X), explicit.predict_proba(X))


def test_explicit_gaussian_uses_the_data_as_given():
    X, y = _rng_data()
    X = StandardScaler().fit_transform(X)
    clf = DBNClassifier((8,), visible_units="gaussian", n_epochs=2, max_iter=5)
    clf.set_params(random_state=0).fit(X, y)
    assert clf.visible_units_ == "gaussian" and clf.input_scale_ is None
    # Unscaled data is not standardised behind the user's back: it warns.
    with pytest.warns(DataRangeWarning, match="Gaussian visible units"):
        clone(clf).fit(X * 100, y)


@pytest.mark.parametrize("Estimator", [DBNClassifier, DBNRegressor])
def test_auto_equals_standard_scaler_and_explicit_gaussian(Estimator):
    X, y = _rng_data()
    params = dict(hidden_layer_sizes=(8,), n_epochs=2, max_iter=5, random_state=0)
    auto = Estimator(**params).fit(X, y)
    pipe = make_pipeline(
        StandardScaler(), Estimator(visible_units="gaussian", **params)
    ).fit(X, y)
    np.testing.assert_allclose(auto.input_mean_, pipe[0].mean_)
    np.testing.assert_allclose(auto.input_scale_, pipe[0].scale_)
    np.testing.assert_allclose(auto.transform(X), pipe.transform(X), atol=1e-6)
    np.testing.assert_allclose(auto.predict(X), pipe.predict(X), atol=1e-6)


def test_partial_fit_fits_the_scaling_on_the_first_chunk():
    X, y = _rng_data(n=200)
    clf = DBNClassifier((8,), n_epochs=1, random_state=0)
    clf.partial_fit(X[:100], y[:100], classes=[0, 1])
    mean, scale = clf.input_mean_.copy(), clf.input_scale_.copy()
    np.testing.assert_allclose(mean, X[:100].mean(axis=0))
    clf.partial_fit(X[100:] * 2, y[100:])
    np.testing.assert_array_equal(clf.input_mean_, mean)
    np.testing.assert_array_equal(clf.input_scale_, scale)
    assert clf.visible_units_ == "gaussian"


def test_float32_is_kept():
    X, y = _rng_data()
    X = X.astype(np.float32)
    clf = DBNClassifier((8,), n_epochs=1, max_iter=3, random_state=0).fit(X, y)
    assert clf.input_mean_.dtype == np.float32
    assert clf.coefs_[0].dtype == np.float32
    assert clf.transform(X).dtype == np.float32
    assert clf.predict_proba(X).dtype == np.float32


def test_sparse_input_is_scaled_without_centering():
    X, y = _rng_data()
    X[X < 55] = 0.0
    params = dict(hidden_layer_sizes=(8,), n_epochs=2, max_iter=5, random_state=0)
    with warnings.catch_warnings():
        # The non-centered features have means far from 0: no advice needed.
        warnings.simplefilter("error", DataRangeWarning)
        sparse = DBNClassifier(**params).fit(sp.csr_matrix(X), y)
    np.testing.assert_array_equal(sparse.input_mean_, 0.0)
    # The same model as the explicit Gaussian one on X divided by its std.
    scaled = X / sparse.input_scale_
    dense = DBNClassifier(visible_units="gaussian", **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataRangeWarning)
        dense.fit(scaled, y)
    np.testing.assert_allclose(
        sparse.predict_proba(sp.csr_matrix(X)), dense.predict_proba(scaled), atol=1e-8
    )
    # Dense input to the sparse-fitted model gives the same predictions.
    np.testing.assert_allclose(
        sparse.predict_proba(X), sparse.predict_proba(sp.csr_matrix(X))
    )


def test_pandas_output_and_grid_search_over_visible_units():
    pd = pytest.importorskip("pandas")
    X, y = _rng_data()
    frame = pd.DataFrame(X, columns=[f"c{i}" for i in range(X.shape[1])])
    clf = DBNClassifier((4,), n_epochs=1, max_iter=3, random_state=0)
    out = clf.set_output(transform="pandas").fit(frame, y).transform(frame)
    assert isinstance(out, pd.DataFrame) and out.shape == (len(X), 4)
    search = GridSearchCV(
        clone(clf).set_output(transform="default"),
        {"visible_units": ["auto", "gaussian", "bernoulli"]},
        cv=2,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataRangeWarning)
        search.fit(X, y)
    assert search.best_params_["visible_units"] == "auto"
    assert clone(search.best_estimator_).get_params()["visible_units"] == "auto"


def test_refit_without_warm_start_refits_the_scaling():
    X, y = _rng_data()
    clf = DBNClassifier((4,), n_epochs=1, max_iter=2, random_state=0).fit(X, y)
    clf.fit((X - X.min(axis=0)) / (X.max(axis=0) - X.min(axis=0)), y)
    assert clf.visible_units_ == "bernoulli" and clf.input_mean_ is None
    clf.set_params(warm_start=True).fit(X, y)
    assert clf.visible_units_ == "bernoulli"


# --------------------------------------------------------- the autoencoder


def test_autoencoder_reconstructs_in_the_input_units():
    X, _ = _rng_data(n=150)
    params = dict(hidden_layer_sizes=(16, 4), n_epochs=2, max_iter=20, random_state=0)
    auto = DBNAutoencoder(**params).fit(X)
    scaler = StandardScaler().fit(X)
    pipe = DBNAutoencoder(visible_units="gaussian", **params).fit(scaler.transform(X))
    np.testing.assert_allclose(auto.transform(X), pipe.transform(scaler.transform(X)))
    reconstruction = auto.inverse_transform(auto.transform(X))
    expected = scaler.inverse_transform(
        pipe.inverse_transform(pipe.transform(scaler.transform(X)))
    )
    np.testing.assert_allclose(reconstruction, expected, rtol=1e-6)
    # score is minus the squared error in the input's units.
    error = np.sum((reconstruction - X) ** 2) / len(X)
    np.testing.assert_allclose(auto.score(X), -error)


def test_variational_autoencoder_samples_and_scores_in_the_input_units():
    X, _ = _rng_data(n=150)
    params = dict(
        hidden_layer_sizes=(16, 4),
        n_epochs=2,
        max_iter=10,
        variational=True,
        random_state=0,
    )
    auto = DBNAutoencoder(**params).fit(X)
    scaler = StandardScaler().fit(X)
    pipe = DBNAutoencoder(visible_units="gaussian", **params).fit(scaler.transform(X))
    np.testing.assert_allclose(
        auto.sample(5, random_state=0),
        scaler.inverse_transform(pipe.sample(5, random_state=0)),
        rtol=1e-6,
    )
    # A density of the input: the log-Jacobian of the scaling is taken off.
    np.testing.assert_allclose(
        auto.score_samples(X),
        pipe.score_samples(scaler.transform(X)) - np.log(scaler.scale_).sum(),
        rtol=1e-6,
    )


def test_autoencoder_on_unit_interval_data_is_the_bernoulli_one():
    X = np.random.default_rng(0).random((60, 8))
    params = dict(hidden_layer_sizes=(6, 2), n_epochs=1, max_iter=3, random_state=0)
    auto = DBNAutoencoder(**params).fit(X)
    explicit = DBNAutoencoder(visible_units="bernoulli", **params).fit(X)
    assert auto.visible_units_ == "bernoulli"
    np.testing.assert_array_equal(auto.transform(X), explicit.transform(X))


# -------------------------------------------------------------- the stacks


def test_gaussian_stack_standardizes_by_default():
    X, _ = _rng_data()
    stack = GaussianRBMStack((6,), n_epochs=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataRangeWarning)
        stack.fit(X)
    scaler = StandardScaler().fit(X)
    plain = GaussianRBMStack((6,), n_epochs=2, standardize=False, random_state=0)
    plain.fit(scaler.transform(X))
    np.testing.assert_allclose(stack.transform(X), plain.transform(scaler.transform(X)))
    np.testing.assert_allclose(
        stack.inverse_transform(stack.transform(X)),
        scaler.inverse_transform(
            plain.inverse_transform(plain.transform(scaler.transform(X)))
        ),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        stack.sample(3, n_steps=5, random_state=0),
        scaler.inverse_transform(plain.sample(3, n_steps=5, random_state=0)),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        stack.score_samples(X), plain.score_samples(scaler.transform(X))
    )
    # Streaming: the scaling is fitted on the first chunk, then kept.
    streamed = GaussianRBMStack((6,), random_state=0).partial_fit(X[:60])
    np.testing.assert_allclose(streamed.input_mean_, X[:60].mean(axis=0))
    mean = streamed.input_mean_.copy()
    streamed.partial_fit(X[60:])
    np.testing.assert_array_equal(streamed.input_mean_, mean)


def test_bernoulli_stack_keeps_its_unit_interval_contract():
    X, _ = _rng_data()
    with pytest.warns(DataRangeWarning, match="MinMaxScaler"):
        stack = BernoulliRBMStack((4,), n_epochs=1, random_state=0).fit(X)
    assert not hasattr(stack, "input_mean_")


def test_regressor_on_raw_wide_inputs():
    X, _ = _rng_data(n=200)
    y = X[:, 0] - 50 + X[:, 2] / 1e4
    reg = DBNRegressor((16,), max_iter=300, random_state=0).fit(X, y)
    assert reg.visible_units_ == "gaussian"
    assert reg.score(X, y) > 0.9
    # Bernoulli units on the raw inputs saturate and stall (R^2 0.51).
    raw = clone(reg).set_params(visible_units="bernoulli")
    with pytest.warns(DataRangeWarning):
        raw.fit(X, y)
    assert raw.score(X, y) < reg.score(X, y) - 0.3


def test_fit_warns_nothing_on_raw_data(cancer):
    X, y = cancer
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)
        DBNClassifier((8,), n_epochs=1, max_iter=2, random_state=0).fit(X, y)


def test_the_scaling_weighs_samples_as_repeated_rows():
    X, y = _rng_data(n=60)
    weights = np.arange(60) % 3  # 0, 1 or 2 copies of each row
    repeated = np.repeat(np.arange(60), weights)
    params = dict(hidden_layer_sizes=(4,), n_epochs=1, max_iter=2, random_state=0)
    weighted = DBNClassifier(**params).fit(X, y, sample_weight=weights)
    copies = DBNClassifier(**params).fit(X[repeated], y[repeated])
    np.testing.assert_allclose(weighted.input_mean_, copies.input_mean_)
    np.testing.assert_allclose(weighted.input_scale_, copies.input_scale_)
    stack = GaussianRBMStack((4,), n_epochs=1, random_state=0)
    stack.fit(X, sample_weight=weights)
    np.testing.assert_allclose(stack.input_mean_, copies.input_mean_)
    np.testing.assert_allclose(stack.input_scale_, copies.input_scale_)
