"""The maths of one RBM checked against exact answers by enumeration.

References are computed from the joint table ``p(v, h)`` of the
``brute_force_rbm`` fixture (conftest.py), never with skdbn code.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from builders import random_rbm
from scipy.special import expit, logsumexp

from skdbn import RBMLayer
from skdbn._contrastive_divergence import ContrastiveDivergence, SparsityPenalty


def state_index(rows):
    """Row index of binary vectors in the table of ``itertools.product``."""
    rows = np.asarray(rows, dtype=np.int64)
    return rows @ (2 ** np.arange(rows.shape[1] - 1, -1, -1))


def exact_moments(P, V, H):
    """Model expectations ``<v h^T>``, ``<v>``, ``<h>`` from the joint table."""
    return V.T @ P @ H, P.sum(axis=1) @ V, P.sum(axis=0) @ H


def cd_expectation(P, V, H, data, k):
    """Exact expected CD-k gradient of ``data`` (mean over its rows).

    The chain ``v0 -> h0 ~ p(h|v0) -> v1 ~ p(v|h0) -> ... -> v_k`` moves the
    visible states by the transition matrix ``T = p(h|v) @ p(v|h)``; the
    negative statistics are ``v_k E[h | v_k]^T`` averaged over ``v_k``.
    """
    h_given_v = P / P.sum(axis=1, keepdims=True)
    v_given_h = P / P.sum(axis=0, keepdims=True)
    transition = h_given_v @ v_given_h.T
    mean_h = h_given_v @ H
    start = np.bincount(state_index(data), minlength=len(V)) / len(data)
    end = start @ np.linalg.matrix_power(transition, k)
    positive = (V.T @ (start[:, None] * mean_h), start @ V, start @ mean_h)
    negative = (V.T @ (end[:, None] * mean_h), end @ V, end @ mean_h)
    return tuple(p - n for p, n in zip(positive, negative, strict=True))


def exact_gradient(P, V, H, data):
    """Exact log-likelihood gradient: ``<.>_data - <.>_model``."""
    h_given_v = P / P.sum(axis=1, keepdims=True)
    data_h = (h_given_v @ H)[state_index(data)]
    positive = (data.T @ data_h / len(data), data.mean(axis=0), data_h.mean(axis=0))
    return tuple(p - m for p, m in zip(positive, exact_moments(P, V, H), strict=True))


def max_abs_difference(grads_a, grads_b):
    return max(np.abs(a - b).max() for a, b in zip(grads_a, grads_b, strict=True))


# ------------------------------------------------------ exact conditionals


def test_free_energy_matches_brute_force(brute_force_rbm):
    layer = random_rbm(10, 8, seed=0)
    V, H, P, log_z = brute_force_rbm(*layer.parameters)
    # -F(v) = log sum_h exp(-E(v, h)) = log p(v) + log Z
    expected = -(np.log(P.sum(axis=1)) + log_z)
    np.testing.assert_allclose(layer.free_energy(V), expected, rtol=1e-10)
    np.testing.assert_allclose(
        layer.free_energy(sp.csr_matrix(V)), expected, rtol=1e-10
    )


def test_free_energy_is_stable_for_large_fields():
    # Weights of 500: exp(-E) overflows, the free energy must not.
    layer = RBMLayer(np.array([[500.0, -500.0]]), np.array([1.0]), np.zeros(2))
    F = layer.free_energy(np.array([[0.0], [1.0]]))
    # v=0: -F = 2 log 2; v=1: -F = 1 + log(1 + e^500) + log(1 + e^-500)
    np.testing.assert_allclose(F, [-2 * np.log(2), -501.0], rtol=1e-12)


def test_conditional_means_match_brute_force(brute_force_rbm):
    layer = random_rbm(7, 5, seed=1, weight_scale=2.0)
    V, H, P, _ = brute_force_rbm(*layer.parameters)
    expected_h = (P @ H) / P.sum(axis=1, keepdims=True)  # E[h | v]
    expected_v = (P.T @ V) / P.sum(axis=0)[:, None]  # E[v | h]
    np.testing.assert_allclose(layer.hidden_mean(V), expected_h, rtol=1e-10)
    np.testing.assert_allclose(layer.visible_mean(H), expected_v, rtol=1e-10)


def test_reconstruction_error_is_mean_squared_mean_field_error():
    layer = random_rbm(6, 4, seed=2)
    X = np.random.default_rng(3).random((20, 6))
    W, b, c = layer.parameters
    reconstruction = expit(expit(X @ W + c) @ W.T + b)
    expected = ((reconstruction - X) ** 2).sum(axis=1).mean()
    assert layer.reconstruction_error(X) == pytest.approx(expected, rel=1e-12)
    assert layer.reconstruction_error(sp.csr_matrix(X)) == pytest.approx(
        expected, rel=1e-12
    )


def test_sampling_frequencies_match_conditional_means():
    layer = random_rbm(5, 4, seed=4)
    rng = np.random.default_rng(0)
    n = 20000
    v = np.tile([[1.0, 0.0, 1.0, 1.0, 0.0]], (n, 1))
    h = layer.sample_hidden(v, rng)
    assert set(np.unique(h)) <= {0.0, 1.0}
    p = layer.hidden_mean(v[:1])[0]
    np.testing.assert_allclose(h.mean(axis=0), p, atol=5 * 0.5 / np.sqrt(n))
    h0 = np.tile([[0.0, 1.0, 1.0, 0.0]], (n, 1))
    q = layer.visible_mean(h0[:1])[0]
    np.testing.assert_allclose(
        layer.sample_visible(h0, rng).mean(axis=0), q, atol=5 * 0.5 / np.sqrt(n)
    )


# ------------------------------------------------------- CD-k and PCD

# A tiny RBM whose Gibbs chain mixes slowly enough that CD-1 is visibly
# biased (its exact expectation is 0.27 away from the gradient) but whose
# chain has mixed after 30 steps (CD-30 within 1e-10 of the gradient).
CD_DATA = np.array([[1, 1, 0, 0], [1, 0, 0, 0], [1, 1, 1, 0]], dtype=np.float64)
CD_COPIES = 4000  # batch = 12000 rows
# Each statistic of a row lies in [0, 1], so its standard deviation is at
# most 1/2 and the batch mean's standard error at most 0.5 / sqrt(batch).
CD_TOLERANCE = 5 * 0.5 / np.sqrt(len(CD_DATA) * CD_COPIES)


def cd_estimate(layer, k, seed):
    X = np.repeat(CD_DATA, CD_COPIES, axis=0)
    b = len(X)
    est = ContrastiveDivergence(layer, batch_size=b, n_steps=k, persistent=False)
    est.load_batch(X, np.arange(b))
    with np.errstate(over="ignore"):
        grads = est.estimate(b, np.random.default_rng(seed), scale=1.0 / b)
    return tuple(g.copy() for g in grads)


@pytest.mark.parametrize("k", [1, 2, 30])
def test_cd_k_estimate_matches_its_exact_expectation(brute_force_rbm, k):
    layer = random_rbm(4, 3, seed=2, weight_scale=2.0)
    V, H, P, _ = brute_force_rbm(*layer.parameters)
    expected = cd_expectation(P, V, H, CD_DATA, k)
    estimate = cd_estimate(layer, k, seed=k)
    for est_part, exp_part in zip(estimate, expected, strict=True):
        np.testing.assert_allclose(est_part, exp_part, rtol=0, atol=CD_TOLERANCE)
    if k < 30:
        # Resolution check: one Gibbs step more or fewer would be detected.
        for other in (k - 1, k + 1):
            other_expected = cd_expectation(P, V, H, CD_DATA, other)
            assert max_abs_difference(estimate, other_expected) > CD_TOLERANCE


def test_cd_large_k_tends_to_exact_gradient_and_cd1_is_biased(brute_force_rbm):
    layer = random_rbm(4, 3, seed=2, weight_scale=2.0)
    V, H, P, _ = brute_force_rbm(*layer.parameters)
    exact = exact_gradient(P, V, H, CD_DATA)
    # Setup check: the chain has mixed after 30 steps, not after 1.
    assert max_abs_difference(cd_expectation(P, V, H, CD_DATA, 30), exact) < 1e-8
    assert max_abs_difference(cd_expectation(P, V, H, CD_DATA, 1), exact) > 0.2

    cd30 = cd_estimate(layer, 30, seed=0)
    for est_part, exact_part in zip(cd30, exact, strict=True):
        np.testing.assert_allclose(est_part, exact_part, rtol=0, atol=CD_TOLERANCE)
    cd1 = cd_estimate(layer, 1, seed=0)
    assert max_abs_difference(cd1, exact) > 10 * CD_TOLERANCE


def test_pcd_chains_sample_the_model_distribution(brute_force_rbm):
    layer = random_rbm(6, 4, seed=5)
    V, H, P, _ = brute_force_rbm(*layer.parameters)
    expected = exact_moments(P, V, H)
    n_chains, n_burn_in, n_calls = 400, 50, 300
    # Data far from the model's moments: chains that restarted at the data
    # (i.e. not persistent) would not match.
    data = np.zeros((n_chains, 6))
    data[:, :2] = 1.0
    est = ContrastiveDivergence(layer, n_chains, n_steps=1, persistent=True)
    est.load_batch(data, np.arange(n_chains))
    rng = np.random.default_rng(0)
    sums = [
        np.zeros((n_chains, 6, 4)),
        np.zeros((n_chains, 6)),
        np.zeros((n_chains, 4)),
    ]
    with np.errstate(over="ignore"):
        for call in range(n_burn_in + n_calls):
            est.estimate(n_chains, rng, scale=1.0 / n_chains)  # no update
            if call < n_burn_in:
                continue
            v = est._V[n_chains : 2 * n_chains]
            h = est.chains
            assert set(np.unique(v)) <= {0.0, 1.0}
            assert set(np.unique(h)) <= {0.0, 1.0}
            sums[0] += v[:, :, None] * h[:, None, :]
            sums[1] += v
            sums[2] += h
    for total, exact in zip(sums, expected, strict=True):
        per_chain = total / n_calls  # chains are independent of each other
        mean = per_chain.mean(axis=0)
        stderr = per_chain.std(axis=0, ddof=1) / np.sqrt(n_chains)
        assert np.all(np.abs(mean - exact) <= 5 * stderr + 1e-3)
        assert stderr.max() < 0.01
    data_v = data.mean(axis=0)
    assert np.abs(data_v - expected[1]).max() > 0.3


def test_cd_gradient_is_the_same_for_sparse_and_dense_batches():
    layer = random_rbm(8, 5, seed=6)
    X = (np.random.default_rng(1).random((30, 8)) < 0.3).astype(np.float64)
    rows = np.array([3, 7, 1, 20, 29, 0])
    results = []
    for data in (X, sp.csr_matrix(X), sp.csr_array(X)):
        est = ContrastiveDivergence(layer, batch_size=8, n_steps=2)
        np.testing.assert_array_equal(est.load_batch(data, rows), X[rows])
        grads = est.estimate(len(rows), np.random.default_rng(0), scale=0.1)
        results.append([g.copy() for g in grads])
    for other in results[1:]:
        for a, b in zip(results[0], other, strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("persistent", [False, True])
def test_cd_keeps_float32(persistent):
    layer64 = random_rbm(6, 4, seed=7)
    layer32 = RBMLayer(*(p.astype(np.float32) for p in layer64.parameters))
    X = (np.random.default_rng(1).random((10, 6)) < 0.5).astype(np.float32)
    est = ContrastiveDivergence(layer32, batch_size=10, persistent=persistent)
    est.load_batch(X, np.arange(10))
    grads = est.estimate(10, np.random.default_rng(0), scale=0.1)
    assert all(g.dtype == np.float32 for g in grads)
    # The positive phase alone is deterministic: check it at float32 accuracy.
    np.testing.assert_allclose(
        est.batch_mean_hidden,
        expit(X @ layer64.weights + layer64.hidden_bias).mean(0),
        rtol=1e-5,
    )


def test_exact_moments_helper_sums_to_one(brute_force_rbm):
    # Guards the reference itself: a normalised table and log Z by hand.
    layer = random_rbm(3, 2, seed=8)
    V, H, P, log_z = brute_force_rbm(*layer.parameters)
    assert P.sum() == pytest.approx(1.0)
    W, b, c = layer.parameters
    by_hand = logsumexp([v @ W @ h + b @ v + c @ h for v in V for h in H])
    assert log_z == pytest.approx(by_hand)


@pytest.mark.parametrize("persistent", [False, True])
def test_gradient_is_mean_positive_minus_mean_negative_statistics(persistent):
    # White-box bookkeeping check, including a minibatch smaller than the
    # number of persistent chains: given the negative visible samples the
    # estimator drew, its gradient must be the exact difference of means.
    layer = random_rbm(6, 4, seed=9)
    W, b, c = layer.parameters
    X = (np.random.default_rng(2).random((12, 6)) < 0.5).astype(np.float64)
    est = ContrastiveDivergence(layer, batch_size=10, n_steps=3, persistent=persistent)
    rng = np.random.default_rng(0)
    for rows in (np.arange(10), np.arange(10, 12)):  # b = 10, then b = 2
        n = len(rows)
        n_chains = 10 if persistent else n
        est.load_batch(X, rows)
        grads = est.estimate(n, rng, scale=0.5 / n)
        v_model = est._V[n : n + n_chains]
        h_data, h_model = expit(X[rows] @ W + c), expit(v_model @ W + c)
        expected = (
            X[rows].T @ h_data / n - v_model.T @ h_model / n_chains,
            X[rows].mean(axis=0) - v_model.mean(axis=0),
            h_data.mean(axis=0) - h_model.mean(axis=0),
        )
        for grad, exact in zip(grads, expected, strict=True):
            np.testing.assert_allclose(grad, 0.5 * exact, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(est.batch_mean_hidden, h_data.mean(axis=0))


# ------------------------------------------------------------ sample weights


class ConstantDraws:
    """A stand-in for ``numpy.random.Generator`` that draws the same row each time.

    Every row of uniforms (normals) is the same fixed row, so that a Gibbs
    chain is a function of its starting row: repeated rows give identical
    chains, and a weight can be compared exactly with the repeats it stands
    for, while different rows still make different chains.
    """

    def random(self, out, dtype=np.float64):
        out[...] = np.linspace(0.1, 0.9, out.shape[-1])
        return out

    def standard_normal(self, out, dtype=np.float64):
        out[...] = np.linspace(-1.0, 1.0, out.shape[-1])
        return out


WEIGHTS = np.array([3, 0, 1, 2, 1, 4, 0, 2], dtype=np.float64)


def weighted_and_repeated_estimates(layer, n_steps, persistent, rng_factory, **kw):
    """CD gradients of a batch with ``WEIGHTS`` and of its rows repeated."""
    data = np.random.default_rng(5).random((len(WEIGHTS), layer.n_visible))
    repeated = np.repeat(data, WEIGHTS.astype(int), axis=0)
    n_repeated, scale = len(repeated), 0.3 / WEIGHTS.sum()
    chains = (
        np.random.default_rng(6).random((n_repeated, layer.n_hidden)) < 0.5
    ).astype(np.float64)
    results = []
    for X, weights in ((data, WEIGHTS), (repeated, None)):
        est = ContrastiveDivergence(layer, n_repeated, n_steps, persistent)
        est.chains = chains.copy() if persistent else None
        est.load_batch(X, np.arange(len(X)))
        row_weights = None
        if weights is not None:
            row_weights = est.load_weights(weights, np.arange(len(X)))
        sparsity = SparsityPenalty(0.1, 0.5) if kw.get("sparsity") else None
        with np.errstate(over="ignore"):
            grads = est.estimate(
                len(X), rng_factory(), scale, sparsity=sparsity, row_weights=row_weights
            )
        n_chains = n_repeated if persistent else len(X)
        chains_end = est._V[len(X) : len(X) + n_chains]
        results.append(
            ([g.copy() for g in grads], est.batch_mean_hidden.copy(), chains_end.copy())
        )
    return results


@pytest.mark.parametrize(
    "units, learn_std",
    [
        (("bernoulli", "bernoulli"), False),
        (("gaussian", "bernoulli"), True),
        (("gaussian", "relu"), False),
        (("relu", "gaussian"), False),
    ],
)
@pytest.mark.parametrize("n_steps", [1, 3])
@pytest.mark.parametrize("sparsity", [False, True])
def test_cd_statistics_with_integer_weights_equal_repeated_rows(
    units, learn_std, n_steps, sparsity
):
    # Positive and negative statistics (CD-k: each chain starts from its row,
    # so it carries its row's weight), the sparsity penalty's activity
    # estimate and the learned standard deviations' gradient; rows of zero
    # weight count for nothing.
    rng = np.random.default_rng(5)
    layer = RBMLayer(
        4.0 * rng.standard_normal((5, 6)),
        rng.standard_normal(5),
        rng.standard_normal(6),
        *units,
        visible_log_std=0.2 * rng.standard_normal(5) if learn_std else None,
    )
    (weighted, mean_w, chains), (repeated, mean_r, _) = weighted_and_repeated_estimates(
        layer, n_steps, False, ConstantDraws, sparsity=sparsity
    )
    # The chains must differ for the test to tell per-row weights of the
    # negative statistics from a common one.
    assert len(np.unique(chains, axis=0)) >= 3
    assert len(weighted) == (4 if learn_std else 3)
    for grad_w, grad_r in zip(weighted, repeated, strict=True):
        np.testing.assert_allclose(grad_w, grad_r, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(mean_w, mean_r, rtol=1e-12)


@pytest.mark.parametrize("sparsity", [False, True])
def test_pcd_statistics_with_integer_weights_equal_repeated_rows(sparsity):
    # The persistent chains belong to no row: with the same chains and the
    # same random numbers, the weighted batch gives the repeated batch's
    # gradient exactly, with a real random generator.
    layer = random_rbm(5, 3, seed=4)
    (weighted, _, _), (repeated, _, _) = weighted_and_repeated_estimates(
        layer, 2, True, lambda: np.random.default_rng(0), sparsity=sparsity
    )
    for grad_w, grad_r in zip(weighted, repeated, strict=True):
        np.testing.assert_allclose(grad_w, grad_r, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("persistent", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_unit_weights_give_the_unweighted_gradient(persistent, dtype):
    # The weighted path, given weights of 1, draws the same random numbers
    # and computes the same gradient as the unweighted one.
    layer = random_rbm(6, 4, seed=2)
    layer = RBMLayer(*(p.astype(dtype) for p in layer.parameters))
    X = (np.random.default_rng(3).random((10, 6)) < 0.5).astype(dtype)
    results = []
    for weights in (None, np.ones(10, dtype=dtype)):
        est = ContrastiveDivergence(layer, 10, 2, persistent)
        est.load_batch(X, np.arange(10))
        row_weights = (
            None if weights is None else est.load_weights(weights, np.arange(10))
        )
        grads = est.estimate(
            10, np.random.default_rng(0), 0.1 / 10, row_weights=row_weights
        )
        assert all(g.dtype == dtype for g in grads)
        results.append([g.copy() for g in grads])
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    for grad_w, grad_u in zip(results[1], results[0], strict=True):
        np.testing.assert_allclose(grad_w, grad_u, rtol=rtol, atol=rtol * 1e-2)
