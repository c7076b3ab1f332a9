import itertools

import numpy as np
import pytest
from scipy.special import logsumexp


def _brute_force_rbm(W, b, c):
    """Every joint state of a binary RBM and its exact probability.

    Written from the definition ``p(v, h) = exp(v W h + b v + c h) / Z``,
    independently of skdbn. Returns ``(V, H, P, log_z)``: all visible states
    (rows of ``V``), all hidden states (rows of ``H``), the joint probability
    table ``P[i, j] = p(V[i], H[j])`` and ``log Z``.
    """
    W, b, c = (np.asarray(a, dtype=np.float64) for a in (W, b, c))
    V = np.array(list(itertools.product([0.0, 1.0], repeat=W.shape[0])))
    H = np.array(list(itertools.product([0.0, 1.0], repeat=W.shape[1])))
    minus_energy = V @ W @ H.T + (V @ b)[:, np.newaxis] + (H @ c)[np.newaxis, :]
    log_z = logsumexp(minus_energy)
    return V, H, np.exp(minus_energy - log_z), log_z


@pytest.fixture
def brute_force_rbm():
    """``f(W, b, c) -> (V, H, P, log_z)``: exact joint distribution of an RBM."""
    return _brute_force_rbm


def _numerical_gradient(loss, array, step=1e-6):
    """Central differences of ``loss()`` in each entry of ``array``.

    ``loss`` is a callable without arguments that reads ``array``, which is
    changed in place, one entry at a time, and restored.
    """
    gradient = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        saved = array[index]
        array[index] = saved + step
        plus = loss()
        array[index] = saved - step
        minus = loss()
        array[index] = saved
        gradient[index] = (plus - minus) / (2 * step)
    return gradient


@pytest.fixture
def numerical_gradient():
    """``f(loss, array)``: central differences of ``loss()`` in ``array``."""
    return _numerical_gradient


def _assert_gradients_match_finite_differences(
    loss, params, grads, step=1e-6, rtol=1e-5, atol=1e-8
):
    """Each ``grads[i]`` against central differences of ``loss()`` in ``params[i]``.

    ``loss`` is a callable without arguments that returns the scalar loss
    for the current values of ``params`` (see ``_numerical_gradient``).
    """
    assert len(grads) == len(params)
    for param, grad in zip(params, grads, strict=True):
        assert grad.shape == param.shape
        numeric = _numerical_gradient(loss, param, step)
        np.testing.assert_allclose(grad, numeric, rtol=rtol, atol=atol)


@pytest.fixture
def assert_gradients_match():
    """``f(loss, params, grads)``: gradients against central finite differences."""
    return _assert_gradients_match_finite_differences
