"""Generative metrics against brute-force enumeration and numerical integration.

The average log-likelihood is checked against sums over all joint states (or
integrals over Gaussian visible units), and DBN lower bounds against exact
values. The exact log partition function and pseudo-likelihood are tested in
``test_exact.py``, AIS in ``test_ais.py``.
"""

import itertools

import numpy as np
import pytest
from builders import binary_prototype_data, realistic_rbm
from scipy import integrate
from scipy.special import expit, logsumexp

import skdbn.evaluation as evaluation
from skdbn import BernoulliRBMStack, RBMLayer
from skdbn.evaluation import (
    dbn_log_likelihood_lower_bound,
    log_likelihood,
    log_partition_exact,
)


def test_public_names():
    assert set(evaluation.__all__) == {
        "AISResult",
        "ais_log_partition",
        "dbn_log_likelihood_lower_bound",
        "log_likelihood",
        "log_likelihood_exact",
        "log_partition_exact",
        "pseudo_likelihood",
    }


# ------------------------------------------------- RBMs and data for AIS


# ----------------------------------------------------------- log_likelihood


def test_average_log_likelihood_matches_brute_force(brute_force_rbm):
    X = binary_prototype_data(300, 10, seed=3)
    layer = (
        BernoulliRBMStack(hidden_layer_sizes=(8,), n_epochs=20, random_state=0)
        .fit(X)
        .layers_[0]
    )
    V, _, P, _ = brute_force_rbm(*layer.parameters)
    log_p = dict(zip(map(tuple, V), np.log(P.sum(axis=1)), strict=True))
    expected = np.mean([log_p[tuple(x)] for x in X[:100]])
    assert log_likelihood(layer, X[:100]) == pytest.approx(expected, rel=1e-10)
    assert log_likelihood(layer, X[:100], method="exact") == pytest.approx(
        expected, rel=1e-10
    )
    estimate = log_likelihood(
        layer, X[:100], method="ais", base_data=X, betas=1000, random_state=0
    )
    assert abs(estimate - expected) < 0.1
    log_z = log_partition_exact(layer)
    assert log_likelihood(layer, X[:100], log_partition=log_z + 2) == pytest.approx(
        expected - 2, rel=1e-10
    )
    with pytest.raises(ValueError, match="method must be one of"):
        log_likelihood(layer, X, method="exactly")


def test_log_likelihood_uses_ais_when_exact_is_too_costly(monkeypatch):
    layer = realistic_rbm(12, 10, seed=6)
    X = binary_prototype_data(30, 12, seed=1)
    exact = log_likelihood(layer, X)
    calls = []
    original = evaluation.ais_log_partition

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(evaluation, "ais_log_partition", spy)
    assert log_likelihood(layer, X) == exact and not calls
    estimate = log_likelihood(layer, X, max_states=2**9, betas=1000, random_state=0)
    assert len(calls) == 1 and calls[0]["betas"] == 1000
    assert abs(estimate - exact) < 0.1


def _gaussian_unnormalised_density(layer, v):
    """``sum_h exp(-E(v, h))`` from the definition of the energy."""
    s = np.exp(layer.visible_log_std)
    u, b = np.asarray(v) / s, layer.visible_bias / s
    H = np.array(list(itertools.product([0.0, 1.0], repeat=layer.n_hidden)))
    energy = (
        0.5 * np.sum((u - b) ** 2) - H @ layer.hidden_bias - H @ (u @ layer.weights)
    )
    return np.exp(-energy).sum()


@pytest.mark.parametrize("n_visible", [1, 2])
def test_gaussian_log_likelihood_matches_numerical_integration(n_visible):
    rng = np.random.default_rng(n_visible)
    layer = RBMLayer(
        rng.normal(0, 0.8, (n_visible, 3)),
        rng.normal(size=n_visible),
        rng.normal(size=3),
        "gaussian",
        visible_log_std=rng.normal(0, 0.3, n_visible),
    )
    density = _gaussian_unnormalised_density
    limit = 15.0
    if n_visible == 1:
        z, _ = integrate.quad(lambda x: density(layer, [x]), -limit, limit)
    else:
        z, _ = integrate.dblquad(
            lambda y, x: density(layer, [x, y]),
            -limit,
            limit,
            -limit,
            limit,
            epsabs=1e-11,
        )
    X = rng.normal(size=(5, n_visible))
    expected = np.mean([np.log(density(layer, x)) for x in X]) - np.log(z)
    assert log_likelihood(layer, X) == pytest.approx(expected, rel=1e-7)
    estimate = log_likelihood(layer, X, method="ais", betas=1000, random_state=0)
    assert abs(estimate - expected) < 0.05


# ------------------------------------------------------------ DBN lower bound


def _brute_force_dbn_log_likelihood(layers, V):
    """``log p(v)`` of a binary DBN by summing over every hidden layer's states."""
    *directed, top = layers
    states = [
        np.array(list(itertools.product([0.0, 1.0], repeat=layer.n_hidden)))
        for layer in directed
    ]
    # p_top(h) for every state h of the top RBM's visible layer.
    H_top = states[-1]
    minus_f = [
        logsumexp(
            [
                h @ top.weights @ g + top.visible_bias @ h + top.hidden_bias @ g
                for g in itertools.product([0.0, 1.0], repeat=top.n_hidden)
            ]
        )
        for h in H_top
    ]
    log_p = np.array(minus_f) - logsumexp(minus_f)
    # Down the directed layers: log p(h_{l-1}) = logsumexp_h log p(h_{l-1}|h) + log p(h)
    below_states = [V, *states[:-1]]
    for layer, H, below in zip(
        reversed(directed), reversed(states), reversed(below_states), strict=True
    ):
        probability = expit(H @ layer.weights.T + layer.visible_bias)  # (n_h, n_v)
        log_conditional = (
            below @ np.log(probability).T + (1 - below) @ np.log1p(-probability).T
        )  # (n_below, n_h)
        log_p = logsumexp(log_conditional + log_p, axis=1)
    return log_p


def _exact_two_layer_bound(layers, V):
    """The bound for two layers, with the expectation over q(h1|v) enumerated."""
    bottom, top = layers
    H = np.array(list(itertools.product([0.0, 1.0], repeat=bottom.n_hidden)))
    q = expit(V @ bottom.weights + bottom.hidden_bias)  # (n_v, n_h1)
    log_q = H @ np.log(q).T + (1 - H) @ np.log1p(-q).T  # (n_states, n_v)
    probability = expit(H @ bottom.weights.T + bottom.visible_bias)
    log_conditional = np.log(probability) @ V.T + np.log1p(-probability) @ (1 - V).T
    log_p_top = -top.free_energy(H) - log_partition_exact(top)
    integrand = log_conditional + log_p_top[:, np.newaxis] - log_q
    return np.sum(np.exp(log_q) * integrand, axis=0)


@pytest.fixture(scope="module")
def tiny_dbn():
    rng = np.random.default_rng(7)
    shapes = [(6, 5), (5, 4)]
    return [
        RBMLayer(
            rng.normal(0, 1.0, shape),
            rng.normal(size=shape[0]),
            rng.normal(size=shape[1]),
        )
        for shape in shapes
    ]


def test_dbn_lower_bound_is_below_exact_log_likelihood(tiny_dbn, brute_force_rbm):
    V = np.array(list(itertools.product([0.0, 1.0], repeat=6)))
    exact = _brute_force_dbn_log_likelihood(tiny_dbn, V)
    assert logsumexp(exact) == pytest.approx(0.0, abs=1e-10)  # a distribution
    # Cross-check the brute force with the RBM fixture: p(v) = sum_h1 p(v|h1) p(h1).
    bottom, top = tiny_dbn
    H1, _, P_top, _ = brute_force_rbm(*top.parameters)
    p_v_given_h = np.prod(
        np.where(V[:, np.newaxis], 1, 0)
        * expit(H1 @ bottom.weights.T + bottom.visible_bias)
        + np.where(V[:, np.newaxis], 0, 1)
        * (1 - expit(H1 @ bottom.weights.T + bottom.visible_bias)),
        axis=2,
    )
    np.testing.assert_allclose(np.log(p_v_given_h @ P_top.sum(axis=1)), exact)

    X = V[np.random.default_rng(0).choice(len(V), 40)]
    expected_bound = _exact_two_layer_bound(tiny_dbn, X).mean()
    expected_log_likelihood = _brute_force_dbn_log_likelihood(tiny_dbn, X).mean()
    assert expected_log_likelihood - expected_bound > 0.1  # a real gap
    bound = dbn_log_likelihood_lower_bound(tiny_dbn, X, n_samples=500, random_state=0)
    assert bound == pytest.approx(expected_bound, abs=0.05)
    assert bound < expected_log_likelihood
    # With log Z of the top RBM by AIS instead.
    estimate = dbn_log_likelihood_lower_bound(
        tiny_dbn, X, n_samples=500, method="ais", betas=1000, random_state=0
    )
    assert estimate == pytest.approx(bound, abs=0.1)


def _log_bernoulli_table(states, logits):
    """``log p(states[i])`` under independent units with each row of ``logits``."""
    return (
        states @ -np.logaddexp(0, -logits).T + (1 - states) @ -np.logaddexp(0, logits).T
    )


def _exact_three_layer_bound(layers, X):
    """The bound for three layers, enumerating q(h1|v) q(h2|h1)."""
    bottom, middle, top = layers
    H1 = np.array(list(itertools.product([0.0, 1.0], repeat=bottom.n_hidden)))
    H2 = np.array(list(itertools.product([0.0, 1.0], repeat=middle.n_hidden)))
    log_p_top = -top.free_energy(H2) - log_partition_exact(top)
    log_p_h1 = _log_bernoulli_table(H1, H2 @ middle.weights.T + middle.visible_bias)
    log_q2 = _log_bernoulli_table(H2, H1 @ middle.weights + middle.hidden_bias)
    # inner[i] = E_{q(h2|h1_i)}[log p(h1_i|h2) + log p_top(h2) - log q(h2|h1_i)]
    inner = np.sum(np.exp(log_q2) * (log_p_h1.T + log_p_top[:, None] - log_q2), 0)
    log_q1 = _log_bernoulli_table(H1, X @ bottom.weights + bottom.hidden_bias)
    log_p_v = _log_bernoulli_table(X, H1 @ bottom.weights.T + bottom.visible_bias).T
    return np.sum(np.exp(log_q1) * (log_p_v + inner[:, None] - log_q1), axis=0)


def test_dbn_lower_bound_of_three_layers_is_below_exact_log_likelihood():
    rng = np.random.default_rng(8)
    layers = [
        RBMLayer(rng.normal(0, 1, s), rng.normal(size=s[0]), rng.normal(size=s[1]))
        for s in [(5, 4), (4, 4), (4, 3)]
    ]
    X = (rng.random((30, 5)) < 0.5).astype(float)
    exact = _brute_force_dbn_log_likelihood(layers, X).mean()
    expected_bound = _exact_three_layer_bound(layers, X).mean()
    assert expected_bound < exact
    bound = dbn_log_likelihood_lower_bound(layers, X, n_samples=300, random_state=0)
    assert bound == pytest.approx(expected_bound, abs=0.1)
    assert bound < exact


def test_dbn_lower_bound_is_tight_when_q_is_the_true_posterior():
    # A top RBM that is the bottom RBM upside down makes the DBN the bottom
    # RBM itself, and q(h1|v) its exact posterior: every sample gives log p(v).
    rng = np.random.default_rng(9)
    bottom = RBMLayer(rng.normal(0, 1, (8, 6)), rng.normal(size=8), rng.normal(size=6))
    top = RBMLayer(bottom.weights.T.copy(), bottom.hidden_bias, bottom.visible_bias)
    X = (rng.random((25, 8)) < 0.5).astype(float)
    bound = dbn_log_likelihood_lower_bound(
        [bottom, top], X, n_samples=1, random_state=0
    )
    assert bound == pytest.approx(log_likelihood(bottom, X), rel=1e-10)


def test_dbn_lower_bound_with_gaussian_visible_units():
    rng = np.random.default_rng(10)
    bottom = RBMLayer(
        rng.normal(0, 0.5, (4, 5)),
        rng.normal(size=4),
        rng.normal(size=5),
        "gaussian",
        visible_log_std=rng.normal(0, 0.3, 4),
    )
    # log p(v) = log sum_h1 p(v|h1) p_top(h1), enumerating h1, is above the bound.
    top = RBMLayer(rng.normal(0, 0.5, (5, 3)), rng.normal(size=5), rng.normal(size=3))
    X = rng.normal(size=(20, 4))
    H = np.array(list(itertools.product([0.0, 1.0], repeat=5)))
    log_p_top = -top.free_energy(H) - log_partition_exact(top)
    s = np.exp(bottom.visible_log_std)
    mean = bottom.visible_bias + s * (H @ bottom.weights.T)  # (n_h, n_v)
    log_conditional = np.sum(
        -0.5 * ((X[:, np.newaxis] - mean) / s) ** 2
        - np.log(s)
        - 0.5 * np.log(2 * np.pi),
        axis=2,
    )
    exact = logsumexp(log_conditional + log_p_top, axis=1).mean()
    bound = dbn_log_likelihood_lower_bound(
        [bottom, top], X, n_samples=300, random_state=0
    )
    assert exact - 3.0 < bound < exact


def test_dbn_lower_bound_accepts_a_fitted_stack():
    X = binary_prototype_data(200, 12, seed=2)
    stack = BernoulliRBMStack(hidden_layer_sizes=(6, 4), n_epochs=3, random_state=0)
    stack.fit(X)
    from_stack = dbn_log_likelihood_lower_bound(stack, X[:20], random_state=0)
    from_list = dbn_log_likelihood_lower_bound(stack.layers_, X[:20], random_state=0)
    assert from_stack == from_list
    assert np.isfinite(from_stack)


def test_dbn_lower_bound_rejects_bad_input(tiny_dbn):
    bottom, top = tiny_dbn
    X = np.zeros((2, 6))
    with pytest.raises(ValueError, match="at least two layers, got 1"):
        dbn_log_likelihood_lower_bound([bottom], X)
    with pytest.raises(ValueError, match="5 hidden units but layer 2 has 6"):
        dbn_log_likelihood_lower_bound([bottom, bottom], X)
    relu = RBMLayer(top.weights, top.visible_bias, top.hidden_bias, "bernoulli", "relu")
    with pytest.raises(ValueError, match="layer 2 has 'bernoulli' visible and 'relu'"):
        dbn_log_likelihood_lower_bound([bottom, relu], X)
    with pytest.raises(ValueError, match="X has 5 features"):
        dbn_log_likelihood_lower_bound(tiny_dbn, X[:, :5])
    with pytest.raises(ValueError, match="n_samples must be a positive integer"):
        dbn_log_likelihood_lower_bound(tiny_dbn, X, n_samples=0)
    with pytest.raises(TypeError, match="list of RBMLayer"):
        dbn_log_likelihood_lower_bound([bottom, "top"], X)
