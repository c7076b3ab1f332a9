"""RBMImputer: conditional means and draws of the missing entries."""

import itertools

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from skdbn import RBMImputer, RBMLayer
from skdbn._impute import _denoising_step, impute_gibbs, impute_mean_field


def _correlated(n=300, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 1))
    X = np.hstack([z, 2 * z + 1, -z]) + 0.1 * rng.standard_normal((n, 3))
    return X


def _remove(X, fraction, seed=1):
    X = X.copy()
    holes = np.random.default_rng(seed).random(X.shape) < fraction
    holes[holes.all(axis=1), 0] = False  # every row keeps an entry
    X[holes] = np.nan
    return X, holes


def _discrete_layer(seed=0):
    # Two Bernoulli units and a softmax group of 3: 12 visible states.
    rng = np.random.default_rng(seed)
    return RBMLayer(
        1.5 * rng.standard_normal((5, 3)),
        rng.standard_normal(5),
        rng.standard_normal(3),
        visible_units="mixed",
        visible_layout=np.array([0, 2, 3]),
    )


def _exact_conditional(layer, v, missing):
    """``p(missing units | observed ones)`` of the full RBM, by enumeration."""
    states = [
        np.array([a, b, *np.eye(3)[k]])
        for a, b, k in itertools.product([0, 1], [0, 1], range(3))
    ]
    states = np.array([s for s in states if np.array_equal(s[~missing], v[~missing])])
    log_p = -layer.free_energy(states)
    p = np.exp(log_p - log_p.max())
    return states, p / p.sum()


def test_gibbs_draws_follow_the_exact_conditional():
    layer = _discrete_layer()
    v = np.array([1.0, np.nan, np.nan, np.nan, np.nan])
    missing = np.isnan(v)
    states, exact = _exact_conditional(layer, v, missing)
    n_chains = 20000
    draws = impute_gibbs(
        layer, np.tile(v, (n_chains, 1)), 30, np.random.default_rng(0), draw=True
    )
    frequency = [np.all(draws == s, axis=1).mean() for s in states]
    np.testing.assert_allclose(frequency, exact, atol=0.015)
    # The Gibbs estimate of the mean is the exact conditional mean.
    mean = impute_gibbs(
        layer, np.tile(v, (2000, 1)), 40, np.random.default_rng(1), draw=False
    )
    np.testing.assert_allclose(mean.mean(axis=0), exact @ states, atol=0.02)


def test_mean_field_without_steps_is_the_observed_rows_up_down_pass():
    layer = _discrete_layer()
    V = np.array([[1.0, np.nan, 0.0, 1.0, 0.0], [np.nan, 0.0, np.nan, np.nan, np.nan]])
    filled = impute_mean_field(layer, V, 0)
    expected = layer.visible_mean(layer.hidden_mean(V))
    missing = np.isnan(V)
    np.testing.assert_allclose(filled[missing], expected[missing])
    np.testing.assert_array_equal(filled[~missing], V[~missing])
    # More steps move towards a fixed point: a softmax group still sums to 1.
    filled = impute_mean_field(layer, V, 20)
    np.testing.assert_allclose(filled[1, 2:].sum(), 1.0)


def _rmse(imputer, X_missing, X, holes):
    filled = imputer.fit(X_missing).transform(X_missing)
    np.testing.assert_array_equal(filled[~holes], X[~holes])
    return np.sqrt(np.mean((filled[holes] - X[holes]) ** 2))


def test_imputation_uses_the_other_columns():
    X = _correlated()
    X_missing, holes = _remove(X, 0.2)
    generative = RBMImputer(16, n_epochs=60, denoising_epochs=0, random_state=0)
    error = _rmse(generative, X_missing, X, holes)
    mean_filled = SimpleImputer().fit_transform(X_missing)
    baseline = np.sqrt(np.mean((mean_filled[holes] - X[holes]) ** 2))
    assert error < 0.6 * baseline
    # Learned standard deviations model such tightly related columns better.
    closer = clone(generative).set_params(learn_variance=True)
    assert _rmse(closer, X_missing, X, holes) < error


def test_denoising_fine_tuning_lowers_the_error():
    # Unit-variance Gaussian units cannot model columns that predict one
    # another to within a tenth of their spread; trained to fill in hidden
    # entries, the same RBM's mean-field imputation can.
    X = _correlated()
    X_missing, holes = _remove(X, 0.2)
    generative = RBMImputer(16, n_epochs=60, denoising_epochs=0, random_state=0)
    tuned = clone(generative).set_params(denoising_epochs=200)
    before = _rmse(generative, X_missing, X, holes)
    after = _rmse(tuned, X_missing, X, holes)
    assert after < 0.75 * before
    assert 0 < tuned.n_denoising_epochs_ <= 200
    assert len(tuned.denoising_loss_) == tuned.n_denoising_epochs_
    assert generative.n_denoising_epochs_ == 0 and generative.denoising_loss_ == []
    # Without lateral connections, Gibbs chains sample the RBM fitted by
    # contrastive divergence.
    sampler = clone(tuned).set_params(sample_posterior=True, lateral=False)
    assert sampler.fit(X_missing).n_denoising_epochs_ == 0


@pytest.mark.parametrize("n_steps", [0, 2])
def test_denoising_gradient_matches_finite_differences(n_steps, assert_gradients_match):
    # Gaussian, Bernoulli and softmax units, through unrolled mean-field steps.
    rng = np.random.default_rng(0)
    layer = RBMLayer(
        0.5 * rng.standard_normal((6, 4)),
        rng.standard_normal(6),
        rng.standard_normal(4),
        visible_units="mixed",
        visible_layout=np.array([2, 1, 3]),
    )
    V = np.array(
        [
            [0.3, -1.2, 1.0, 0.0, 1.0, 0.0],
            [np.nan, 0.5, 0.0, 1.0, 0.0, 0.0],
            [1.1, np.nan, 1.0, np.nan, np.nan, np.nan],
        ]
    )
    predict = np.zeros(V.shape, dtype=bool)
    predict[0, [1, 3, 4, 5]] = True
    predict[1, [1, 2]] = True
    predict[2, 0] = True

    def loss():
        return _denoising_step(layer, V, predict, n_steps)[0]

    _, grads = _denoising_step(layer, V, predict, n_steps)
    params = [layer.weights, layer.visible_bias, layer.hidden_bias]
    assert_gradients_match(loss, params, grads)


def test_object_arrays_with_none():
    X = np.array([[1.0, "a"], [2.0, "b"], [None, "a"], [1.5, None]], dtype=object)
    out = RBMImputer(2, n_epochs=2, random_state=0).fit_transform(X)
    assert out.dtype == object and out[0, 0] == 1.0
    assert isinstance(out[2, 0], float) and out[3, 1] in ("a", "b")
    numbers = np.array([[1.0, 2.0], [None, 1.0], [3.0, None]], dtype=object)
    out = RBMImputer(2, n_epochs=2, random_state=0).fit_transform(numbers)
    assert out.dtype == np.float64 and not np.isnan(out).any()


def test_multiple_imputation_by_sampling():
    X_missing, holes = _remove(_correlated(), 0.2)
    imputer = RBMImputer(8, n_epochs=5, sample_posterior=True, random_state=0)
    imputer.fit(X_missing)
    a, b = imputer.transform(X_missing), imputer.transform(X_missing)
    np.testing.assert_array_equal(a, b)  # a fixed seed, the same draws
    c = clone(imputer).set_params(random_state=1).fit(X_missing).transform(X_missing)
    assert not np.allclose(a[holes], c[holes])
    assert not np.isnan(a).any()


def test_tables_with_categories_indicator_and_empty_columns():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    n = 200
    colour = rng.choice(["red", "blue"], n)
    X = pd.DataFrame(
        {
            "x": np.where(colour == "red", 1.0, -1.0) + 0.1 * rng.standard_normal(n),
            "colour": colour,
            "empty": np.full(n, np.nan),
        }
    )
    X.loc[::5, "colour"] = None
    X.loc[1::5, "x"] = np.nan
    imputer = RBMImputer(
        8,
        n_epochs=30,
        learning_rate=0.05,
        batch_size=20,
        add_indicator=True,
        random_state=0,
    ).fit(X)
    out = imputer.transform(X)
    # The empty column is dropped, but indicated (as SimpleImputer does).
    assert out.shape == (n, 5) and out.dtype == object
    assert list(imputer.get_feature_names_out()) == [
        "x",
        "colour",
        "missingindicator_x",
        "missingindicator_colour",
        "missingindicator_empty",
    ]
    # Colours are filled from x, which says which colour a row has.
    rows = np.arange(0, n, 5)
    truth = colour[rows]
    assert np.mean(out[rows, 1] == truth) > 0.9
    np.testing.assert_array_equal(out[:, 2], X["x"].isna().to_numpy())
    kept = clone(imputer).set_params(keep_empty_features=True, add_indicator=False)
    out = kept.fit(X).transform(X)
    assert out.shape == (n, 3)
    np.testing.assert_array_equal(out[:, 2], 0.0)
    assert list(kept.get_feature_names_out()) == ["x", "colour", "empty"]


def test_in_a_pipeline_and_after_skops():
    X = _correlated()
    y = (X[:, 0] > 0).astype(int)
    X_missing, _ = _remove(X, 0.3)
    pipe = make_pipeline(
        RBMImputer(8, n_epochs=10, random_state=0), LogisticRegression()
    ).fit(X_missing, y)
    assert pipe.score(X_missing, y) > 0.8
    sio = pytest.importorskip("skops.io")
    imputer = pipe[0]
    assert imputer.visible_precision_ is not None  # lateral connections
    loaded = sio.loads(sio.dumps(imputer), trusted=["skdbn._impute.RBMImputer"])
    np.testing.assert_array_equal(
        loaded.transform(X_missing), imputer.transform(X_missing)
    )
