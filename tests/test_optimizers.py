"""SGDOptimizer and AdamOptimizer: their steps, their state, chunked updates."""

import numpy as np
import pytest
from builders import OPTIMIZERS, ROUNDING

from skdbn._optimizers import AdamOptimizer, SGDOptimizer


@pytest.mark.parametrize("make_optimizer", OPTIMIZERS)
def test_optimizers_minimise_a_quadratic(make_optimizer):
    # f(x, y) = 0.5 * sum(scales * (x - target)**2), over a matrix and a vector.
    rng = np.random.default_rng(0)
    targets = [rng.normal(size=(3, 2)), rng.normal(size=4)]
    scales = [rng.uniform(0.5, 2, size=(3, 2)), rng.uniform(0.5, 2, size=4)]
    params = [np.zeros((3, 2)), np.zeros(4)]
    optimizer = make_optimizer()

    def loss():
        return sum(
            0.5 * np.sum(s * (p - t) ** 2)
            for p, t, s in zip(params, targets, scales, strict=True)
        )

    start = loss()
    for _ in range(300):
        grads = [s * (p - t) for p, t, s in zip(params, targets, scales, strict=True)]
        optimizer.update(params, grads)
    assert loss() < 1e-3 * start


def test_sgd_matches_hand_computed_steps():
    grads = [np.array([1.0, -2.0]), np.array([0.5, 0.5])]
    x = np.array([1.0, 1.0])
    optimizer = SGDOptimizer(0.1, momentum=0.5, nesterov=True)
    v = np.zeros(2)
    expected = x.copy()
    for g in grads:
        v = 0.5 * v - 0.1 * g
        expected = expected + 0.5 * v - 0.1 * g
        optimizer.update([x], [g])
    np.testing.assert_allclose(x, expected)
    classical = SGDOptimizer(0.1, momentum=0.5, nesterov=False)
    y = np.array([1.0, 1.0])
    for g in grads:
        classical.update([y], [g])
    np.testing.assert_allclose(y, [1.0 - 0.1 - 0.05 - 0.05, 1.0 + 0.2 + 0.1 - 0.05])


def test_adam_matches_hand_computed_steps():
    lr, b1, b2, eps = 0.01, 0.8, 0.99, 1e-8
    x = np.array([[1.0, -3.0], [0.0, 2.0]])
    g1 = np.array([[0.5, -4.0], [1e-3, 2.0]])
    g2 = np.array([[-1.0, 1.0], [0.0, 3.0]])
    optimizer = AdamOptimizer(lr, b1, b2, eps)
    optimizer.update([x], [g1])
    # First step: m = (1-b1) g, v = (1-b2) g^2, bias corrections undo them.
    m1, v1 = (1 - b1) * g1, (1 - b2) * g1**2
    x1 = np.array([[1.0, -3.0], [0.0, 2.0]])
    x1 -= lr * np.sqrt(1 - b2) / (1 - b1) * m1 / (np.sqrt(v1) + eps)
    np.testing.assert_allclose(x, x1)
    np.testing.assert_allclose(x1, [[0.99, -2.99], [-0.01, 1.99]], atol=1e-5)
    optimizer.update([x], [g2])
    m2, v2 = b1 * m1 + (1 - b1) * g2, b2 * v1 + (1 - b2) * g2**2
    x2 = x1 - lr * np.sqrt(1 - b2**2) / (1 - b1**2) * m2 / (np.sqrt(v2) + eps)
    np.testing.assert_allclose(x, x2)
    assert optimizer.t == 2


@pytest.mark.parametrize("make_optimizer", OPTIMIZERS)
def test_optimizer_follows_new_arrays_of_the_same_shapes(make_optimizer):
    # The update keeps chunk views of the arrays it was last given; other
    # arrays (a new network, a new gradient buffer, reset state) must be the
    # ones updated and read, never the cached ones.
    rng = np.random.default_rng(0)
    grad, other_grad = rng.normal(size=(300, 200)), rng.normal(size=(300, 200))
    first, second = np.zeros((300, 200)), np.zeros((300, 200))
    optimizer = make_optimizer()
    optimizer.update([first], [grad])
    after_one = first.copy()
    optimizer.update([second], [other_grad])
    np.testing.assert_array_equal(first, after_one)
    reference = make_optimizer()
    expected = np.zeros((300, 200))
    reference.update([np.zeros((300, 200))], [grad])
    reference.update([expected], [other_grad])
    np.testing.assert_array_equal(second, expected)
    # The same arrays again, with their gradient changed in place.
    grad[...] = other_grad
    optimizer.update([second], [grad])
    reference.update([expected], [other_grad.copy()])
    np.testing.assert_array_equal(second, expected)


def test_optimizer_rejects_mismatched_parameters():
    optimizer = SGDOptimizer(0.1)
    optimizer.update([np.zeros(3)], [np.ones(3)])
    with pytest.raises(ValueError, match="shapes changed"):
        optimizer.update([np.zeros(4)], [np.ones(4)])
    with pytest.raises(ValueError, match="gradients"):
        optimizer.update([np.zeros(3)], [])


def _reference_updates(kind, param, grads, lr=0.01):
    """SGD (Nesterov) or Adam written out with whole-array numpy expressions."""
    param = param.copy()
    first, second = np.zeros_like(param), np.zeros_like(param)
    for t, g in enumerate(grads, start=1):
        if kind == "sgd":
            first = 0.9 * first - lr * g
            param += 0.9 * first - lr * g
        else:
            first = 0.9 * first + 0.1 * g
            second = 0.999 * second + 0.001 * g**2
            step = lr * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
            param -= step * first / (np.sqrt(second) + 1e-8)
    return param


@pytest.mark.parametrize("kind", ["sgd", "adam"])
@pytest.mark.parametrize("order", ["C", "F"])
def test_optimizers_on_large_and_non_contiguous_parameters(kind, order):
    # 300 x 200 float64 spans several of the updates' cache-sized chunks; an
    # F-ordered parameter takes the whole-array path.
    rng = np.random.default_rng(0)
    start = np.asarray(rng.normal(size=(300, 200)), order=order)
    bias = rng.normal(size=7)
    grads = [rng.normal(size=(300, 200)) for _ in range(3)]
    bias_grads = [rng.normal(size=7) for _ in range(3)]
    param = start.copy(order="K")
    optimizer = SGDOptimizer(0.01) if kind == "sgd" else AdamOptimizer(0.01)
    biases = bias.copy()
    for g, gb in zip(grads, bias_grads, strict=True):
        optimizer.update([param, biases], [g[:, ::-1].copy()[:, ::-1], gb])
    assert param.flags.f_contiguous == (order == "F")
    np.testing.assert_allclose(param, _reference_updates(kind, start, grads))
    np.testing.assert_allclose(biases, _reference_updates(kind, bias, bias_grads))


@pytest.mark.parametrize("make_optimizer", OPTIMIZERS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_folded_weight_decay_gives_the_unfused_step(make_optimizer, dtype):
    # weight_decay * param added to the gradient inside the update gives the
    # step of adding it beforehand, to rounding (BLAS's axpy rounds once
    # where numpy's product-then-sum rounds twice). 300 x 200 spans several
    # chunks; the F-ordered matrix takes the numpy, whole-array path; the
    # last parameter (a bias) is not penalised.
    rng = np.random.default_rng(0)
    start = [
        rng.normal(size=(300, 200)).astype(dtype),
        np.asfortranarray(rng.normal(size=(6, 5))).astype(dtype),
        rng.normal(size=7).astype(dtype),
    ]
    fused, unfused = [p.copy(order="K") for p in start], [p.copy() for p in start]
    fused_optimizer, unfused_optimizer = make_optimizer(), make_optimizer()
    decay = 0.03
    for _ in range(3):
        grads = [rng.normal(size=p.shape).astype(dtype) for p in start]
        expected_norm = sum(float(np.sum(p.astype(np.float64) ** 2)) for p in fused[:2])
        decayed = [g + dtype(decay) * p for g, p in zip(grads, unfused, strict=False)]
        assert unfused_optimizer.update(unfused, [*decayed[:2], grads[2]]) == 0.0
        norm = fused_optimizer.update(fused, grads, weight_decay=decay, n_decayed=2)
        assert norm == pytest.approx(expected_norm, rel=1e-5)
    for a, b in zip(fused, unfused, strict=True):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, **ROUNDING[dtype])


def test_optimizer_rejects_bad_n_decayed():
    with pytest.raises(ValueError, match="n_decayed"):
        SGDOptimizer(0.1).update([np.zeros(3)], [np.ones(3)], n_decayed=2)


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sgd_blas_and_numpy_paths_agree(nesterov, dtype):
    # The C-ordered copy goes through BLAS, the F-ordered one through numpy.
    rng = np.random.default_rng(0)
    start = rng.normal(size=(150, 120)).astype(dtype)
    c_param, f_param = start.copy(), np.asfortranarray(start)
    c_opt, f_opt = (SGDOptimizer(0.05, 0.9, nesterov) for _ in range(2))
    for _ in range(3):
        grad = rng.normal(size=start.shape)  # float64: cast on the way in
        c_opt.update([c_param], [grad.copy()], weight_decay=0.1, n_decayed=1)
        f_opt.update([f_param], [grad.copy()], weight_decay=0.1, n_decayed=1)
    assert c_param.dtype == f_param.dtype == dtype
    np.testing.assert_allclose(c_param, f_param, **ROUNDING[dtype])
    assert not np.allclose(c_param, start)
