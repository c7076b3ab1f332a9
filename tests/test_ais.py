"""Annealed importance sampling of log Z against exact enumeration."""

import numpy as np
import pytest
import scipy.sparse as sp
from builders import binary_prototype_data, realistic_rbm
from scipy.special import logsumexp

from skdbn import BernoulliRBMStack, RBMLayer, _ais
from skdbn.evaluation import (
    AISResult,
    ais_log_partition,
    log_likelihood,
    log_partition_exact,
)


@pytest.fixture(scope="module")
def trained_rbm():
    """A 15 x 10 Bernoulli RBM trained by CD-1 on structured data, and the data."""
    X = binary_prototype_data(500, 15, seed=0)
    stack = BernoulliRBMStack(
        hidden_layer_sizes=(10,), n_epochs=30, learning_rate=0.1, random_state=0
    ).fit(X)
    return stack.layers_[0], X


#: (shape, visible units, learned std, annealing steps): Gaussian visible
#: units need a longer schedule for the same accuracy. Over seeds 0-9 these
#: budgets gave errors of at most 0.05 (Bernoulli) and 0.065 (Gaussian) nats.
AIS_CASES = [
    ((10, 8), "bernoulli", False, 1000),
    ((15, 10), "bernoulli", False, 1000),
    ((10, 8), "gaussian", False, 3000),
    ((15, 10), "gaussian", False, 3000),
    ((10, 8), "gaussian", True, 3000),
    ((15, 10), "gaussian", True, 3000),
]


@pytest.mark.parametrize("shape, units, std, n_steps", AIS_CASES)
def test_ais_matches_exact_log_partition(shape, units, std, n_steps):
    layer = realistic_rbm(*shape, seed=sum(shape), visible_units=units, std=std)
    exact = log_partition_exact(layer, over="hidden")
    result = ais_log_partition(layer, n_runs=100, betas=n_steps, random_state=0)
    assert isinstance(result, AISResult)
    assert abs(result.log_partition - exact) < 0.1
    assert result.lower <= result.log_partition <= result.upper
    assert result.log_weights.shape == (100,)
    assert result.log_weights.dtype == np.float64
    # The estimate is the log of the mean importance weight.
    assert result.log_partition == pytest.approx(
        logsumexp(result.log_weights) - np.log(100), rel=1e-12
    )


def test_ais_matches_exact_for_trained_rbm(trained_rbm):
    layer, X = trained_rbm
    exact = log_partition_exact(layer)
    result = ais_log_partition(layer, X, betas=1000, random_state=0)
    assert abs(result.log_partition - exact) < 0.1
    assert result.lower < exact < result.upper


@pytest.mark.parametrize("units, std", [("bernoulli", False), ("gaussian", True)])
def test_ais_is_unbiased_in_z(units, std):
    # Each importance weight is an unbiased estimate of Z: over many runs of a
    # deliberately short schedule (so that the weights vary a lot), their mean
    # divided by the exact Z is 1 within a few standard errors.
    layer = realistic_rbm(10, 8, seed=3, visible_units=units, std=std)
    exact = log_partition_exact(layer, over="hidden")
    ratios = np.concatenate(
        [
            np.exp(
                ais_log_partition(layer, betas=10, random_state=seed).log_weights
                - exact
            )
            for seed in range(20)
        ]
    )
    standard_error = ratios.std(ddof=1) / np.sqrt(ratios.size)
    assert standard_error > 0.005  # the test has something to detect
    assert abs(ratios.mean() - 1.0) < 3 * standard_error


def test_ais_interval_contains_exact_value_in_most_seeds():
    layer = realistic_rbm(15, 10, seed=4)
    exact = log_partition_exact(layer)
    results = [ais_log_partition(layer, betas=100, random_state=s) for s in range(10)]
    covered = sum(r.lower <= exact <= r.upper for r in results)
    assert covered >= 8
    # The interval is not vacuous: a long schedule narrows it.
    narrow = ais_log_partition(layer, betas=2000, random_state=0)
    assert narrow.upper - narrow.lower < 0.2
    assert narrow.lower <= exact <= narrow.upper


def test_ais_is_reproducible_and_accepts_any_dtype_and_sparse_data(trained_rbm):
    layer, X = trained_rbm
    first = ais_log_partition(layer, X, betas=50, random_state=1)
    again = ais_log_partition(layer, X, betas=50, random_state=1)
    np.testing.assert_array_equal(first.log_weights, again.log_weights)
    other = ais_log_partition(layer, X, betas=50, random_state=2)
    assert not np.array_equal(first.log_weights, other.log_weights)
    sparse = ais_log_partition(layer, sp.csr_array(X), betas=50, random_state=1)
    np.testing.assert_allclose(sparse.log_weights, first.log_weights, rtol=1e-12)
    float32 = RBMLayer(*(np.asarray(p, np.float32) for p in layer.parameters))
    result = ais_log_partition(float32, X, betas=50, random_state=1)
    assert result.log_weights.dtype == np.float64
    np.testing.assert_allclose(result.log_weights, first.log_weights, rtol=1e-5)


def test_ais_base_rate_model_is_exact_for_an_independent_rbm():
    # With zero weights the RBM is its own base-rate model when the data's
    # smoothed means are the sigmoid of its biases: every weight is Z exactly.
    smoothing = _ais._BASE_RATE_SMOOTHING
    p = np.array([0.2, 0.5, 0.9])
    q = (p + smoothing) / (1 + 2 * smoothing)
    layer = RBMLayer(np.zeros((3, 4)), np.log(q / (1 - q)), np.zeros(4))
    result = ais_log_partition(layer, p[np.newaxis], betas=5, random_state=0)
    np.testing.assert_allclose(result.log_weights, log_partition_exact(layer))
    assert result.lower == pytest.approx(result.upper)


def test_ais_default_schedule_is_the_papers():
    betas = _ais._annealing_schedule(14500)
    expected = np.concatenate(
        [
            np.linspace(0, 0.5, 500, endpoint=False),
            np.linspace(0.5, 0.9, 4000, endpoint=False),
            np.linspace(0.9, 1.0, 10001),
        ]
    )
    np.testing.assert_allclose(betas, expected)
    for n in (1, 2, 3, 29, 100, 1001):
        schedule = _ais._annealing_schedule(n)
        assert schedule.size == n + 1
        assert schedule[0] == 0 and schedule[-1] == 1
        assert np.all(np.diff(schedule) > 0)
    custom = [0.0, 0.3, 0.3, 1.0]
    np.testing.assert_array_equal(_ais._annealing_schedule(custom), custom)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"betas": 0}, "betas must be at least 1"),
        ({"betas": [0.0, 0.5]}, "from 0 to 1"),
        ({"betas": [0.1, 1.0]}, "from 0 to 1"),
        ({"betas": [0.0, 0.7, 0.5, 1.0]}, "non-decreasing"),
        ({"n_runs": 1}, "n_runs must be an integer of at least 2"),
        ({"X": np.zeros((3, 4))}, "X has 4 features"),
    ],
)
def test_ais_rejects_bad_arguments(kwargs, message):
    layer = realistic_rbm(5, 3, seed=0)
    with pytest.raises(ValueError, match=message):
        ais_log_partition(layer, **kwargs)


@pytest.mark.parametrize(
    "visible, hidden",
    [("relu", "bernoulli"), ("bernoulli", "relu"), ("bernoulli", "gaussian")],
)
def test_ais_rejects_unsupported_units(visible, hidden):
    layer = RBMLayer(np.zeros((3, 2)), np.zeros(3), np.zeros(2), visible, hidden)
    message = (
        "bernoulli or gaussian visible units and bernoulli hidden units; this one "
        f"has '{visible}' visible and '{hidden}' hidden"
    )
    with pytest.raises(ValueError, match=message):
        ais_log_partition(layer)
    with pytest.raises(ValueError, match="bernoulli or gaussian visible units"):
        log_likelihood(layer, np.zeros((1, 3)), method="ais")


def test_log_partition_exact_auto_enumerates_the_binary_layer():
    # Gaussian visible units cannot be enumerated, even when fewer.
    layer = realistic_rbm(3, 6, seed=5, visible_units="gaussian")
    assert log_partition_exact(layer) == log_partition_exact(layer, over="hidden")
