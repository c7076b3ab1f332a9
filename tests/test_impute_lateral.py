"""RBMImputer's lateral connections among numeric units (``_lateral``)."""

import numpy as np
import pytest
from sklearn.base import clone

from skdbn import RBMImputer, RBMLayer, _lateral
from skdbn._impute import _denoising_step, impute_gibbs, impute_mean_field
from skdbn._lateral import (
    initial_precision,
    make_proper,
    sample_block,
    solve_block,
    solve_block_backward,
)


def _precision(n, seed=0):
    A = np.random.default_rng(seed).standard_normal((n, n))
    return 2.0 * np.eye(n) + 0.3 * (A + A.T)


def _gaussian_layer(weights, bias, hidden_bias, n_bernoulli=0):
    n_gaussian = len(bias) - n_bernoulli
    return RBMLayer(
        np.asarray(weights, dtype=float),
        np.asarray(bias, dtype=float),
        np.asarray(hidden_bias, dtype=float),
        visible_units="mixed",
        visible_layout=np.array([n_gaussian, n_bernoulli]),
    )


@pytest.mark.parametrize("n_steps", [0, 2])
def test_gradient_with_laterals_matches_finite_differences(
    n_steps, assert_gradients_match
):
    # Gaussian units connected laterally, with Bernoulli and softmax units.
    rng = np.random.default_rng(0)
    layer = RBMLayer(
        0.5 * rng.standard_normal((7, 4)),
        rng.standard_normal(7),
        rng.standard_normal(4),
        visible_units="mixed",
        visible_layout=np.array([3, 1, 3]),
    )
    V = np.array(
        [
            [0.3, -1.2, 0.7, 1.0, 0.0, 1.0, 0.0],
            [np.nan, 0.5, -0.3, 0.0, 1.0, 0.0, 0.0],
            [1.1, np.nan, np.nan, 1.0, np.nan, np.nan, np.nan],
        ]
    )
    predict = np.zeros(V.shape, dtype=bool)
    predict[0, [1, 2, 4, 5, 6]] = True
    predict[1, [1, 3]] = True
    predict[2, 0] = True
    precision = _precision(3)

    def loss():
        return _denoising_step(layer, V, predict, n_steps, precision)[0]

    _, grads = _denoising_step(layer, V, predict, n_steps, precision)
    params = [layer.weights, layer.visible_bias, layer.hidden_bias, precision]
    assert len(grads) == 4
    assert_gradients_match(loss, params, grads)


def test_mean_field_is_the_exact_gaussian_conditional_without_hidden_input():
    # With no weights the Gaussian units are N(P^-1 b, P^-1): the missing
    # block's conditional mean is P_mm^-1 (b_m - P_mo v_o), whatever the steps.
    P = _precision(4)
    b = np.array([0.5, -1.0, 0.2, 1.5])
    layer = _gaussian_layer(np.zeros((4, 2)), b, np.zeros(2))
    V = np.array([[0.3, np.nan, np.nan, -0.4], [np.nan, 1.0, 2.0, np.nan]])
    for n_steps in (0, 3):
        filled = impute_mean_field(layer, V, n_steps, P)
        for row, v in zip(filled, V, strict=True):
            m, o = np.isnan(v), ~np.isnan(v)
            expected = np.linalg.solve(P[np.ix_(m, m)], b[m] - P[np.ix_(m, o)] @ v[o])
            np.testing.assert_allclose(row[m], expected)
            np.testing.assert_array_equal(row[o], v[o])
    # Without laterals the units would take their biases alone.
    plain = impute_mean_field(layer, V, 0)
    assert not np.allclose(plain, impute_mean_field(layer, V, 0, P))


def _exact_conditional_moments(layer, P, v, grid):
    """Mean and variance of the one missing Gaussian unit given the others.

    ``p(v) ∝ exp(-v P v / 2 + b v) prod_j (1 + exp(c_j + (v W)_j))`` with
    binary hidden units summed out, integrated numerically on ``grid``.
    """
    j = int(np.flatnonzero(np.isnan(v))[0])
    states = np.tile(np.nan_to_num(v), (len(grid), 1))
    states[:, j] = grid
    log_p = -0.5 * np.einsum("ij,jk,ik->i", states, P, states)
    log_p += states @ layer.visible_bias
    log_p += np.logaddexp(0, states @ layer.weights + layer.hidden_bias).sum(axis=1)
    p = np.exp(log_p - log_p.max())
    p /= p.sum()
    mean = p @ grid
    return mean, p @ (grid - mean) ** 2


def test_gibbs_with_laterals_samples_the_exact_conditional():
    rng = np.random.default_rng(0)
    layer = _gaussian_layer(
        1.2 * rng.standard_normal((3, 2)), rng.standard_normal(3), [0.5, -1.0]
    )
    P = _precision(3, seed=1)
    v = np.array([0.8, np.nan, -0.5])
    mean, variance = _exact_conditional_moments(
        layer, P, v, np.linspace(-15, 15, 30001)
    )
    draws = impute_gibbs(
        layer,
        np.tile(v, (20000, 1)),
        20,
        np.random.default_rng(0),
        draw=True,
        precision=P,
    )[:, 1]
    assert abs(draws.mean() - mean) < 0.02
    assert abs(draws.var() - variance) < 0.03
    # The chain's average of the conditional means estimates the same mean.
    means = impute_gibbs(
        layer,
        np.tile(v, (2000, 1)),
        40,
        np.random.default_rng(1),
        draw=False,
        precision=P,
    )[:, 1]
    assert abs(means.mean() - mean) < 0.02
    # The laterals matter: the RBM without them has another conditional.
    plain, _ = _exact_conditional_moments(
        layer, np.eye(3), v, np.linspace(-15, 15, 30001)
    )
    assert abs(plain - mean) > 0.1


def test_initial_precision_fits_a_gaussian_with_missing_entries():
    rng = np.random.default_rng(0)
    cov = np.array([[1.0, 0.9, 0.5], [0.9, 1.0, 0.4], [0.5, 0.4, 1.0]])
    X = rng.multivariate_normal([1.0, 0.0, -1.0], cov, size=4000)
    mean, precision = initial_precision(X, shrinkage=0.0, n_iter=0)
    np.testing.assert_allclose(mean, X.mean(axis=0))
    np.testing.assert_allclose(precision, np.linalg.inv(np.cov(X.T, bias=True)))
    X_missing = X.copy()
    X_missing[rng.random(X.shape) < 0.3] = np.nan
    mean, precision = initial_precision(X_missing, shrinkage=0.0)
    np.testing.assert_allclose(mean, [1.0, 0.0, -1.0], atol=0.05)
    np.testing.assert_allclose(np.linalg.inv(precision), cov, atol=0.06)


def test_rows_solved_in_chunks_give_the_same_results(monkeypatch):
    # The per-row matrices are built a chunk of rows at a time, to bound
    # memory on long tables; chunks of 2 rows must change nothing.
    rng = np.random.default_rng(0)
    P = _precision(4)
    field, given = rng.standard_normal((2, 9, 4))
    free = rng.random((9, 4)) < 0.5
    given[free] = 0.0
    grad = rng.standard_normal((9, 4))

    def run():
        y = solve_block(P, field, given, free)
        return (
            y,
            *solve_block_backward(P, y, free, grad),
            sample_block(P, y, free, np.random.default_rng(1)),
            *initial_precision(np.where(free, np.nan, field), n_iter=2),
        )

    whole = run()
    monkeypatch.setattr(_lateral, "BLOCK_ENTRIES", 2 * 16)
    assert len(_lateral._row_chunks(9, 4)) == 5
    for a, b in zip(whole, run(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_make_proper_floors_the_eigenvalues():
    P = np.array([[1.0, 2.0], [2.0, 1.0]])  # eigenvalues 3 and -1
    make_proper(P, 0.1)
    np.testing.assert_allclose(np.linalg.eigvalsh(P), [0.1, 3.0])
    np.testing.assert_array_equal(P, P.T)
    proper = _precision(3)
    np.testing.assert_allclose(make_proper(proper.copy()), proper)


def _correlated_gaussian(n=600, seed=0):
    rng = np.random.default_rng(seed)
    # Two tight groups of three columns and a loose one: linear dependence
    # the unit-variance RBM cannot hold.
    mixing = np.array(
        [
            [1.0, 0.0, 0.0],
            [0.9, 0.3, 0.0],
            [-0.8, 0.0, 0.4],
            [0.0, 1.0, 0.0],
            [0.2, 0.9, 0.3],
            [0.0, -0.7, 0.6],
            [0.5, 0.5, 0.5],
        ]
    )
    cov = mixing @ mixing.T + 0.05 * np.eye(7)
    return rng.multivariate_normal(np.zeros(7), cov, size=n), cov


def test_laterals_approach_the_exact_conditional_gaussian_error():
    X, cov = _correlated_gaussian()
    holes = np.random.default_rng(1).random(X.shape) < 0.2
    holes[holes.all(axis=1), 0] = False
    X_missing = np.where(holes, np.nan, X)
    # The best any imputer can do: the true Gaussian's conditional mean.
    precision = np.linalg.inv(cov)
    zeros = np.zeros_like(X)
    exact = solve_block(precision, zeros, np.where(holes, 0.0, X), holes)
    best = np.sqrt(np.mean((exact - X)[holes] ** 2))

    def rmse(imputer):
        filled = imputer.fit(X_missing).transform(X_missing)
        return np.sqrt(np.mean((filled - X)[holes] ** 2))

    lateral = RBMImputer(16, n_epochs=20, random_state=0)
    error = rmse(lateral)
    assert error < 1.1 * best
    assert lateral.visible_precision_.shape == (7, 7)
    np.testing.assert_array_equal(
        lateral.visible_precision_, lateral.visible_precision_.T
    )
    assert np.linalg.eigvalsh(lateral.visible_precision_).min() > 0
    # Learned standard deviations: the precision is in the scaled units.
    scaled = clone(lateral).set_params(learn_variance=True)
    assert rmse(scaled) < 1.1 * best
    # The RBM without laterals, fine-tuned alike, stays well above.
    plain = clone(lateral).set_params(lateral=False)
    assert rmse(plain) > 1.25 * best
    assert plain.visible_precision_ is None


def test_laterals_are_reproducible_and_part_of_the_fine_tuning():
    X, _ = _correlated_gaussian(200)
    X[np.random.default_rng(2).random(X.shape) < 0.2] = np.nan
    a = RBMImputer(8, n_epochs=5, denoising_epochs=10, random_state=0).fit(X)
    b = clone(a).fit(X)
    np.testing.assert_array_equal(a.visible_precision_, b.visible_precision_)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    assert clone(a).set_params(denoising_epochs=0).fit(X).visible_precision_ is None
    # Without laterals Gibbs chains sample the RBM that contrastive
    # divergence fitted; with them, the fine-tuned model.
    plain = clone(a).set_params(lateral=False, method="gibbs").fit(X)
    assert plain.visible_precision_ is None and plain.n_denoising_epochs_ == 0
    gibbs = clone(a).set_params(method="gibbs").fit(X)
    assert gibbs.n_denoising_epochs_ > 0
    np.testing.assert_array_equal(gibbs.visible_precision_, a.visible_precision_)


def test_draws_with_laterals_have_the_spread_of_the_conditional():
    # A draw x' from the exact conditional misses the truth x by sqrt(2)
    # times the conditional mean's error on average (x and x' independent
    # given the observed entries): multiple imputation's draws must be of
    # the right spread, neither the mean's nor the column's.
    X, _ = _correlated_gaussian()
    holes = np.random.default_rng(1).random(X.shape) < 0.2
    holes[holes.all(axis=1), 0] = False
    X_missing = np.where(holes, np.nan, X)
    imputer = RBMImputer(16, n_epochs=20, random_state=0).fit(X_missing)
    mean = imputer.transform(X_missing)
    sampler = clone(imputer).set_params(sample_posterior=True).fit(X_missing)
    draws = np.stack(
        [
            sampler.set_params(random_state=seed).transform(X_missing)
            for seed in range(5)
        ]
    )
    error = np.sqrt(np.mean((mean - X)[holes] ** 2))
    draw_error = np.sqrt(np.mean((draws - X)[:, holes] ** 2))
    assert 1.25 * error < draw_error < 1.75 * error  # 1.57 measured
    # The average of many draws comes back to the conditional mean.
    gap = np.sqrt(np.mean((draws.mean(axis=0) - mean)[holes] ** 2))
    assert gap < 0.7 * error  # 1 / sqrt(5) of the spread, 0.53 measured


def test_categorical_columns_keep_no_laterals():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    x = rng.standard_normal(150)
    X = pd.DataFrame(
        {
            "x": x,
            "y": 2 * x + 0.1 * rng.standard_normal(150),
            "c": np.where(x > 0, "a", "b"),
        }
    )
    X.loc[::7, "y"] = np.nan
    X.loc[3::7, "c"] = None
    imputer = RBMImputer(8, n_epochs=5, denoising_epochs=5, random_state=0).fit(X)
    assert imputer.visible_precision_.shape == (2, 2)  # the numbers only
    out = imputer.transform(X)
    rows = np.arange(0, 150, 7)
    assert np.sqrt(np.mean((out[rows, 1].astype(float) - 2 * x[rows]) ** 2)) < 0.5
