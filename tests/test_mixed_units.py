"""Mixed visible units (Gaussian, Bernoulli, softmax groups) and missing values.

Every quantity is checked against brute-force enumeration of a tiny RBM,
written from the energy's definition independently of skdbn:
``E(v, h) = sum_gauss (v - b)**2 / 2 - sum_other b v - v @ W @ h - c @ h``,
with exactly one unit on in each softmax group.
"""

import itertools

import numpy as np
import pytest
from scipy.special import logsumexp

from skdbn import RBMLayer
from skdbn._contrastive_divergence import ContrastiveDivergence
from skdbn._mixed_units import MixedUnits, check_layout


def _layer(layout, n_hidden=3, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    n_visible = sum(layout)
    return RBMLayer(
        scale * rng.standard_normal((n_visible, n_hidden)),
        rng.standard_normal(n_visible),
        rng.standard_normal(n_hidden),
        visible_units="mixed",
        visible_layout=np.array(layout),
    )


def _discrete_states(layout):
    """Every state of the Bernoulli units and softmax groups (Gaussians excluded)."""
    _, n_bernoulli, *sizes = layout
    blocks = [[(0.0,), (1.0,)]] * n_bernoulli
    blocks += [[tuple(np.eye(size)[k]) for k in range(size)] for size in sizes]
    return np.array([sum(choice, ()) for choice in itertools.product(*blocks)])


def _hidden_states(n_hidden):
    return np.array(list(itertools.product([0.0, 1.0], repeat=n_hidden)))


def _minus_energy(layer, V, H, observed=None):
    """``-E(v, h)`` for every pair of rows of ``V`` and ``H`` (table)."""
    n_gaussian = int(layer.visible_layout[0])
    W, b, c = layer.weights, layer.visible_bias, layer.hidden_bias
    observed = np.ones(V.shape[1]) if observed is None else observed
    V = np.where(observed, V, 0.0)
    quadratic = 0.5 * (
        ((V[:, :n_gaussian] - b[:n_gaussian]) ** 2) * observed[:n_gaussian]
    )
    linear = V[:, n_gaussian:] @ b[n_gaussian:]
    return (
        V @ W @ H.T
        - quadratic.sum(axis=1)[:, None]
        + linear[:, None]
        + (H @ c)[None, :]
    )


def test_layout_is_validated():
    assert check_layout([1, 0, 3]) == (1, 0, 3)
    with pytest.raises(ValueError, match="group sizes >= 1"):
        check_layout([1, 0, 0])
    with pytest.raises(ValueError, match="has 4 units, but the layer has 5"):
        check_layout([1, 0, 3], n_visible=5)


def test_free_energy_matches_enumeration_over_hidden_states():
    layout = (2, 2, 3, 2)
    layer = _layer(layout)
    rng = np.random.default_rng(1)
    discrete = _discrete_states(layout)[rng.choice(24, 5)]
    V = np.hstack([rng.standard_normal((5, 2)), discrete])
    exact = -logsumexp(_minus_energy(layer, V, _hidden_states(3)), axis=1)
    np.testing.assert_allclose(layer.free_energy(V), exact, rtol=1e-10)


def test_hidden_free_energy_matches_enumeration_and_quadrature():
    # One Gaussian unit, integrated on a fine grid; the others enumerated.
    layout = (1, 1, 3)
    layer = _layer(layout, n_hidden=2)
    H = _hidden_states(2)
    discrete = _discrete_states(layout)
    grid = np.linspace(-20, 20, 8001)
    V = np.array([[g, *d] for d in discrete for g in grid])
    minus_energy = _minus_energy(layer, V, H).reshape(len(discrete), len(grid), -1)
    step = grid[1] - grid[0]
    log_integral = logsumexp(minus_energy, axis=(0, 1)) + np.log(step)
    np.testing.assert_allclose(layer.hidden_free_energy(H), -log_integral, rtol=1e-7)


def test_conditionals_match_enumeration():
    layout = (0, 2, 3, 2)
    layer = _layer(layout)
    V = _discrete_states(layout)
    H = _hidden_states(3)
    joint = np.exp(_minus_energy(layer, V, H))
    # p(v | h) for each h: columns normalised.
    p_v_given_h = joint / joint.sum(axis=0)
    expected_mean = p_v_given_h.T @ V
    np.testing.assert_allclose(layer.visible_mean(H), expected_mean, rtol=1e-10)
    # Each softmax group's probabilities sum to one.
    means = layer.visible_mean(H)
    np.testing.assert_allclose(means[:, 2:5].sum(axis=1), 1.0)
    np.testing.assert_allclose(means[:, 5:7].sum(axis=1), 1.0)
    # p(h | v): factorial, the usual sigmoid.
    p_h_given_v = joint / joint.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(layer.hidden_mean(V), p_h_given_v @ H, rtol=1e-10)


def test_samples_follow_the_conditionals():
    layout = (2, 2, 3, 2)
    layer = _layer(layout)
    H = np.tile(_hidden_states(3)[[5]], (20000, 1))
    rng = np.random.default_rng(0)
    samples = layer.sample_visible(H, rng)
    # Exactly one unit on per softmax group; binary states binary.
    np.testing.assert_array_equal(samples[:, 4:7].sum(axis=1), 1.0)
    np.testing.assert_array_equal(samples[:, 7:9].sum(axis=1), 1.0)
    assert set(np.unique(samples[:, 2:])) == {0.0, 1.0}
    mean = layer.visible_mean(H[:1])[0]
    np.testing.assert_allclose(samples.mean(axis=0), mean, atol=0.03)
    # Gaussian units have unit variance around their mean.
    np.testing.assert_allclose(samples[:, :2].std(axis=0), 1.0, atol=0.03)


def _exact_cd1_gradient(layer, v0):
    """Exact expectation of the CD-1 weight gradient for one data row ``v0``.

    Positive term ``v0 E[h | v0]``; negative term ``E[v1 E[h | v1]]`` with
    ``h0 ~ p(h | v0)`` and ``v1 ~ p(v | h0)``, both enumerated. Missing (NaN)
    units of ``v0`` are absent from the model (the restricted RBM).
    """
    observed = ~np.isnan(v0)
    sub = RBMLayer(
        layer.weights[observed],
        layer.visible_bias[observed],
        layer.hidden_bias,
    )
    layout = np.array(layer.visible_layout)
    # Rebuild the restricted layout from the observed units (whole groups).
    n_gaussian, n_bernoulli, *sizes = layout
    kept = [
        int(observed[:n_gaussian].sum()),
        int(observed[n_gaussian : n_gaussian + n_bernoulli].sum()),
    ]
    start = n_gaussian + n_bernoulli
    for size in sizes:
        if observed[start : start + size].all():
            kept.append(size)
        start += size
    sub.visible_units, sub.visible_layout = "mixed", np.array(kept)
    v = v0[observed]
    H = _hidden_states(layer.n_hidden)
    p_h0 = np.prod(
        np.where(H == 1, sub.hidden_mean(v[None])[0], 1 - sub.hidden_mean(v[None])[0]),
        axis=1,
    )
    V = _discrete_states(sub.visible_layout)
    joint = np.exp(_minus_energy(sub, V, H))
    p_v_given_h = joint / joint.sum(axis=0)
    p_v1 = p_v_given_h @ p_h0
    negative = (V * p_v1[:, None]).T @ sub.hidden_mean(V)
    positive = np.outer(v, sub.hidden_mean(v[None])[0])
    gradient = np.zeros_like(layer.weights)
    gradient[observed] = positive - negative
    return gradient


@pytest.mark.parametrize("missing", [None, 1, (2, 3, 4)])
def test_cd1_gradient_expectation_matches_enumeration(missing):
    # No Gaussian units, so that every visible state can be enumerated.
    layout = (0, 2, 3, 2)
    layer = _layer(layout, n_hidden=2, seed=3)
    v0 = np.array([1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0])
    if missing is not None:
        v0[list(np.atleast_1d(missing))] = np.nan
    n_rows = 40000
    estimator = ContrastiveDivergence(layer, batch_size=n_rows)
    estimator.missing = missing is not None
    estimator.load_batch(np.tile(v0, (n_rows, 1)), np.arange(n_rows))
    (grad_weights, *_) = estimator.estimate(
        n_rows, np.random.default_rng(0), scale=1.0 / n_rows
    )
    exact = _exact_cd1_gradient(layer, v0)
    np.testing.assert_allclose(grad_weights, exact, atol=0.015)
    if missing is not None:
        # Missing units get no statistics at all.
        np.testing.assert_array_equal(grad_weights[np.isnan(v0)], 0.0)


@pytest.mark.parametrize("missing", [[0], [3], [5, 6, 7]])
def test_missing_units_are_left_out_of_the_free_energy(missing):
    # A Gaussian, a Bernoulli unit, a whole softmax group: the free energy
    # with NaNs is that of the RBM restricted to the observed units.
    layout = (2, 2, 3, 2)
    layer = _layer(layout)
    V = np.array([[0.3, -1.2, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0]])
    V[0, missing] = np.nan
    observed = ~np.isnan(V[0])
    exact = -logsumexp(
        _minus_energy(layer, V, _hidden_states(3), observed=observed), axis=1
    )
    np.testing.assert_allclose(layer.free_energy(V), exact, rtol=1e-10)
    # The hidden units see only the observed units.
    field = np.where(observed, V[0], 0.0) @ layer.weights + layer.hidden_bias
    np.testing.assert_allclose(layer.hidden_mean(V)[0], 1 / (1 + np.exp(-field)))


def test_mixed_layer_trains_on_missing_data():
    # A whole fit with NaNs stays finite, and the missing units' weights
    # stay where they started when a column is never observed.
    from skdbn._rbm import initial_layer
    from skdbn._training import RBMTrainer, TrainingSettings

    rng = np.random.default_rng(0)
    X = np.hstack(
        [
            rng.standard_normal((200, 2)),
            rng.integers(0, 2, (200, 2)),
            np.eye(3)[rng.integers(0, 3, 200)],
        ]
    )
    X[rng.random(X.shape) < 0.2] = np.nan
    X[:, 1] = np.nan
    mean = np.zeros(7)
    mean[[0, 2, 3, 4, 5, 6]] = np.nanmean(X[:, [0, 2, 3, 4, 5, 6]], axis=0)
    layer = initial_layer(
        7,
        4,
        mean,
        np.random.default_rng(1),
        np.float64,
        ("mixed", "bernoulli"),
        visible_layout=[2, 2, 3],
    )
    start = layer.weights.copy()
    settings = TrainingSettings(
        learning_rate=0.01,
        n_epochs=3,
        batch_size=20,
        cd_steps=1,
        persistent=False,
        momentum=0.5,
        initial_momentum=0.5,
        momentum_ramp_epochs=0,
        weight_decay=0.0,
        sparsity_target=0.1,
        sparsity_cost=0.0,
    )
    RBMTrainer(layer, settings).fit(X, np.random.default_rng(2))
    assert layer.is_finite()
    np.testing.assert_array_equal(layer.weights[1], start[1])
    assert not np.allclose(layer.weights[0], start[0])
    assert np.isfinite(layer.free_energy(X)).all()


def test_mixed_units_alone():
    units = MixedUnits([1, 1, 2])
    field = np.array([[0.5, 0.0, 1.0, 1.0]])
    np.testing.assert_allclose(
        units.mean(field, np.empty_like(field)), [[0.5, 0.5, 0.5, 0.5]]
    )


def test_learned_standard_deviations_of_the_gaussian_block():
    # The free energy with s != 1 on the Gaussian units is the enumeration's
    # with v / s and b / s there; the other units keep s = 1.
    layout = (2, 1, 3)
    layer = _layer(layout)
    std = np.array([2.0, 0.5, 1.0, 1.0, 1.0, 1.0])
    layer.visible_log_std = np.log(std)
    rng = np.random.default_rng(0)
    V = np.hstack([rng.standard_normal((4, 2)), _discrete_states(layout)[:4]])
    scaled = RBMLayer(
        layer.weights,
        layer.visible_bias / std,
        layer.hidden_bias,
        visible_units="mixed",
        visible_layout=np.array(layout),
    )
    exact = -logsumexp(_minus_energy(scaled, V / std, _hidden_states(3)), axis=1)
    np.testing.assert_allclose(layer.free_energy(V), exact, rtol=1e-10)


def test_only_gaussian_standard_deviations_are_learned():
    pd = pytest.importorskip("pandas")
    from skdbn import TabularRBMStack

    rng = np.random.default_rng(0)
    z = rng.standard_normal(300)
    X = pd.DataFrame(
        {
            "a": z,
            "b": 2 * z + 0.05 * rng.standard_normal(300),
            "on": (z > 0).astype(int),
            "c": np.where(z > 0, "up", "down"),
        }
    )
    stack = TabularRBMStack(
        8, learn_variance=True, n_epochs=20, batch_size=16, random_state=0
    )
    log_std = stack.fit(X).layers_[0].visible_log_std
    np.testing.assert_array_equal(log_std[2:], 0.0)
    # The predictable Gaussian columns learn a spread below their whole one.
    assert (log_std[:2] < -0.1).all()
