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
