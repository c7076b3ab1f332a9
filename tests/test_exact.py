"""Exact log partition functions, log-likelihoods and pseudo-likelihoods.

Checked against sums over all joint states (``brute_force_rbm``).
"""

import numpy as np
import pytest
import scipy.sparse as sp
from builders import random_rbm

from skdbn import _exact
from skdbn.evaluation import (
    log_likelihood_exact,
    log_partition_exact,
    pseudo_likelihood,
)


@pytest.mark.parametrize("shape", [(12, 10), (9, 11), (1, 1), (3, 12)])
def test_log_partition_matches_brute_force(brute_force_rbm, shape):
    layer = random_rbm(*shape, seed=sum(shape))
    _, _, _, log_z = brute_force_rbm(*layer.parameters)
    for over in ("auto", "visible", "hidden"):
        assert log_partition_exact(layer, over=over) == pytest.approx(
            log_z, rel=1e-12, abs=1e-12
        )


def test_log_partition_is_stable_for_large_weights(brute_force_rbm):
    # Energies of several hundred: exp(-E) overflows float64.
    layer = random_rbm(6, 5, seed=0, weight_scale=250.0)
    _, _, _, log_z = brute_force_rbm(*layer.parameters)
    assert log_z > 710  # beyond np.exp's range
    for over in ("visible", "hidden"):
        assert log_partition_exact(layer, over=over) == pytest.approx(log_z, rel=1e-12)


def test_log_partition_does_not_depend_on_chunk_size(monkeypatch):
    layer = random_rbm(9, 10, seed=1)
    expected = log_partition_exact(layer, over="hidden")
    monkeypatch.setattr(_exact, "_CHUNK_ELEMENTS", 50)  # 5 states a chunk
    for over in ("visible", "hidden"):
        assert log_partition_exact(layer, over=over) == pytest.approx(
            expected, rel=1e-12
        )


def test_log_partition_of_float32_layer_is_float64_accurate(brute_force_rbm):
    layer = random_rbm(10, 8, seed=2, dtype=np.float32)
    _, _, _, log_z = brute_force_rbm(*layer.parameters)
    result = log_partition_exact(layer)
    assert isinstance(result, float)
    assert result == pytest.approx(log_z, rel=1e-12)
    assert layer.weights.dtype == np.float32  # the layer is not touched
    V, _, P, _ = brute_force_rbm(*layer.parameters)
    np.testing.assert_allclose(
        log_likelihood_exact(layer, V.astype(np.float32)),
        np.log(P.sum(axis=1)),
        rtol=1e-10,
    )


def test_log_partition_refuses_too_many_states():
    layer = random_rbm(30, 25, seed=3)
    with pytest.raises(ValueError, match=r"n_visible=30, n_hidden=25.*2\*\*25"):
        log_partition_exact(layer)
    with pytest.raises(ValueError, match=r"2\*\*30 .*max_states=1048576"):
        log_partition_exact(layer, over="visible")
    small = random_rbm(12, 10, seed=4)
    with pytest.raises(ValueError, match=r"2\*\*10 = 1024 .*max_states=1000"):
        log_partition_exact(small, max_states=1000)
    # "auto" enumerates the smaller layer, whichever it is.
    assert np.isfinite(log_partition_exact(random_rbm(3, 25, seed=3)))
    assert np.isfinite(log_partition_exact(random_rbm(25, 3, seed=3)))
    # Exactly at the limit is allowed.
    assert np.isfinite(log_partition_exact(small, max_states=1024))
    with pytest.raises(ValueError, match="over must be"):
        log_partition_exact(small, over="both")
    with pytest.raises(ValueError, match=r"2\*\*10"):
        log_likelihood_exact(small, np.zeros((1, 12)), max_states=1000)


def test_log_likelihood_matches_brute_force(brute_force_rbm):
    layer = random_rbm(12, 10, seed=5)
    V, _, P, _ = brute_force_rbm(*layer.parameters)
    expected = np.log(P.sum(axis=1))  # log p(v) = log sum_h p(v, h)
    result = log_likelihood_exact(layer, V)
    assert result.dtype == np.float64
    np.testing.assert_allclose(result, expected, rtol=1e-10)
    # The model's probabilities of all visible vectors sum to one.
    assert np.exp(result).sum() == pytest.approx(1.0, rel=1e-10)


def test_log_likelihood_inputs():
    layer = random_rbm(6, 7, seed=6)
    X = (np.random.default_rng(0).random((25, 6)) < 0.4).astype(np.float64)
    dense = log_likelihood_exact(layer, X)
    for data in (sp.csr_matrix(X), sp.csr_array(X), sp.csc_matrix(X), X.tolist()):
        np.testing.assert_allclose(log_likelihood_exact(layer, data), dense)
    log_z = log_partition_exact(layer)
    np.testing.assert_allclose(
        log_likelihood_exact(layer, X, log_partition=log_z), dense
    )
    # A wrong log Z is used as given.
    np.testing.assert_allclose(
        log_likelihood_exact(layer, X, log_partition=log_z + 1.0), dense - 1.0
    )
    with pytest.raises(ValueError, match="X has 5 features.*6"):
        log_likelihood_exact(layer, X[:, :5])


def test_pseudo_likelihood_matches_brute_force(brute_force_rbm):
    layer = random_rbm(8, 6, seed=7, weight_scale=2.0)
    V, _, P, _ = brute_force_rbm(*layer.parameters)
    p_v = P.sum(axis=1)
    index = {tuple(v): i for i, v in enumerate(V)}
    X = V[np.random.default_rng(1).choice(len(V), 40)]
    expected = np.zeros(len(X))
    for n, x in enumerate(X):
        for i in range(len(x)):
            flipped = x.copy()
            flipped[i] = 1 - flipped[i]
            p_x, p_flipped = p_v[index[tuple(x)]], p_v[index[tuple(flipped)]]
            expected[n] += np.log(p_x / (p_x + p_flipped))  # log p(x_i | x_-i)
    result = pseudo_likelihood(layer, X)
    np.testing.assert_allclose(result, expected, rtol=1e-10)
    # Deterministic, and the same for sparse input.
    np.testing.assert_array_equal(pseudo_likelihood(layer, X), result)
    np.testing.assert_allclose(pseudo_likelihood(layer, sp.csr_array(X)), result)


def test_pseudo_likelihood_chunks_and_large_weights(monkeypatch):
    layer = random_rbm(7, 5, seed=8, weight_scale=300.0)
    X = (np.random.default_rng(2).random((30, 7)) < 0.5).astype(np.float64)
    result = pseudo_likelihood(layer, X)
    assert np.all(np.isfinite(result)) and np.all(result <= 0)
    monkeypatch.setattr(_exact, "_CHUNK_ELEMENTS", 40)  # one row a chunk
    np.testing.assert_allclose(pseudo_likelihood(layer, X), result, rtol=1e-12)
