"""Small models, data and optimisers that several test modules build alike.

Imported by the test modules as ``builders`` (pytest puts ``tests/`` on the
import path, as it does for ``conftest.py``). Fixtures stay in
``conftest.py``; plain constructors live here.
"""

import numpy as np

from skdbn import RBMLayer
from skdbn._optimizers import AdamOptimizer, SGDOptimizer


def random_rbm(n_visible, n_hidden, seed, weight_scale=1.0, dtype=np.float64):
    """An RBM with N(0, weight_scale**2) weights and N(0, 1) biases."""
    rng = np.random.default_rng(seed)
    return RBMLayer(
        (weight_scale * rng.standard_normal((n_visible, n_hidden))).astype(dtype),
        rng.standard_normal(n_visible).astype(dtype),
        rng.standard_normal(n_hidden).astype(dtype),
    )


def realistic_rbm(n_visible, n_hidden, seed, visible_units="bernoulli", std=False):
    """Weights N(0, 0.5^2), unit-normal biases; optional learned log std."""
    rng = np.random.default_rng(seed)
    log_std = rng.normal(0.0, 0.3, n_visible) if std else None
    return RBMLayer(
        rng.normal(0.0, 0.5, (n_visible, n_hidden)),
        rng.standard_normal(n_visible),
        rng.standard_normal(n_hidden),
        visible_units,
        "bernoulli",
        log_std,
    )


def binary_prototype_data(n_samples, n_features, seed):
    """Noisy copies of a few binary prototypes: data with real structure."""
    rng = np.random.default_rng(seed)
    prototypes = rng.random((4, n_features)) < 0.5
    rows = prototypes[rng.integers(4, size=n_samples)]
    flips = rng.random(rows.shape) < 0.05
    return (rows ^ flips).astype(np.float64)


#: One of each optimiser configuration, made fresh per test.
OPTIMIZERS = [
    lambda: SGDOptimizer(0.05, momentum=0.0),
    lambda: SGDOptimizer(0.05, momentum=0.9, nesterov=False),
    lambda: SGDOptimizer(0.05, momentum=0.9, nesterov=True),
    lambda: AdamOptimizer(0.1),
]

#: Tolerances for "equal to rounding" after a few steps.
ROUNDING = {
    np.float64: {"rtol": 1e-12, "atol": 1e-14},
    np.float32: {"rtol": 1e-5, "atol": 1e-6},
}
