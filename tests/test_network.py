import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from builders import OPTIMIZERS, ROUNDING
from scipy.special import expit, log_softmax, softmax

from skdbn import RBMLayer
from skdbn._activations import ACTIVATIONS, OUTPUT_ACTIVATIONS
from skdbn._network import FeedForwardNetwork
from skdbn._optimizers import AdamOptimizer, SGDOptimizer

N_FEATURES, N_OUTPUTS = 4, 3


def _network(hidden_sizes, hidden, output, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    sizes = [N_FEATURES, *hidden_sizes, N_OUTPUTS]
    weights = [
        rng.normal(0, 0.7, (a, b)).astype(dtype)
        for a, b in zip(sizes, sizes[1:], strict=False)
    ]
    biases = [rng.normal(0, 0.3, b).astype(dtype) for b in sizes[1:]]
    return FeedForwardNetwork(weights, biases, hidden, output)


def _targets(output, n, rng):
    if output == "softmax":
        return np.eye(N_OUTPUTS)[rng.integers(N_OUTPUTS, size=n)]
    if output == "logistic":
        return rng.integers(2, size=(n, N_OUTPUTS)).astype(float)
    return rng.normal(size=(n, N_OUTPUTS))


def _loss(net, X, Y, **kwargs):
    """Loss with the dropout masks fixed: a fresh generator of the same seed."""
    return net.loss_and_gradients(X, Y, rng=np.random.default_rng(7), **kwargs)[0]


@pytest.mark.parametrize("output", sorted(OUTPUT_ACTIVATIONS))
@pytest.mark.parametrize("hidden", sorted(ACTIVATIONS))
@pytest.mark.parametrize("alpha", [0.0, 0.3])
@pytest.mark.parametrize("dropout", [None, (0.2, 0.4)])
@pytest.mark.parametrize("weighted", [False, True])
def test_gradients_match_finite_differences(output, hidden, alpha, dropout, weighted):
    rng = np.random.default_rng(1)
    # Two and three hidden layers, across the parametrisation.
    hidden_sizes = (5, 4, 3) if alpha else (6, 4)
    net = _network(hidden_sizes, hidden, output)
    X = rng.normal(size=(7, N_FEATURES))
    Y = _targets(output, 7, rng)
    kwargs = {"alpha": alpha, "dropout": dropout}
    if weighted:
        kwargs["sample_weight"] = rng.uniform(0.1, 2.0, size=7)

    _, grad_weights, grad_biases = net.loss_and_gradients(
        X, Y, rng=np.random.default_rng(7), **kwargs
    )
    analytic = [g.copy() for g in grad_weights + grad_biases]
    eps = 1e-6
    for param, grad in zip(net.parameters, analytic, strict=True):
        numeric = np.empty_like(param)
        for index in np.ndindex(param.shape):
            saved = param[index]
            param[index] = saved + eps
            up = _loss(net, X, Y, **kwargs)
            param[index] = saved - eps
            down = _loss(net, X, Y, **kwargs)
            param[index] = saved
            numeric[index] = (up - down) / (2 * eps)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("dropout", [None, (0.3, 0.0), (0.3, 0.2)])
def test_sparse_input_gives_dense_results(dropout):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, N_FEATURES)) * (rng.random((8, N_FEATURES)) < 0.4)
    Y = _targets("softmax", 8, rng)
    net = _network((5,), "logistic", "softmax")
    dense = net.loss_and_gradients(
        X, Y, alpha=0.1, dropout=dropout, rng=np.random.default_rng(3)
    )
    dense = (dense[0], [g.copy() for g in dense[1] + dense[2]])
    sparse = net.loss_and_gradients(
        sp.csr_matrix(X), Y, alpha=0.1, dropout=dropout, rng=np.random.default_rng(3)
    )
    assert sparse[0] == pytest.approx(dense[0])
    for a, b in zip(sparse[1] + sparse[2], dense[1], strict=True):
        np.testing.assert_allclose(a, b)
    np.testing.assert_allclose(net.forward(sp.csr_array(X)), net.forward(X))


@pytest.mark.parametrize("output", sorted(OUTPUT_ACTIVATIONS))
def test_loss_matches_direct_computation(output):
    rng = np.random.default_rng(0)
    net = _network((5, 4), "tanh", output)
    X = rng.normal(size=(9, N_FEATURES))
    Y = _targets(output, 9, rng)
    P = net.forward(X)
    if output == "softmax":
        expected = -np.mean(np.log(P[Y == 1]))
    elif output == "logistic":
        expected = -np.mean(np.sum(Y * np.log(P) + (1 - Y) * np.log1p(-P), axis=1))
    else:
        expected = 0.5 * np.mean(np.sum((P - Y) ** 2, axis=1))
    alpha = 0.25
    penalty = 0.5 * alpha * sum(np.sum(W**2) for W in net.weights) / 9
    loss, _, _ = net.loss_and_gradients(X, Y, alpha=alpha)
    assert loss == pytest.approx(expected + penalty, rel=1e-12)


@pytest.mark.parametrize("output", sorted(OUTPUT_ACTIVATIONS))
def test_integer_sample_weights_equal_repeated_rows(output):
    # Loss and gradients, penalty included, for every output and its loss.
    rng = np.random.default_rng(0)
    net = _network((5,), "relu", output)
    X = rng.normal(size=(6, N_FEATURES))
    Y = _targets(output, 6, rng)
    counts = np.array([1, 3, 0, 2, 1, 1])
    weighted = net.loss_and_gradients(X, Y, alpha=0.1, sample_weight=counts)
    weighted = (weighted[0], [g.copy() for g in weighted[1] + weighted[2]])
    rows = np.repeat(np.arange(6), counts)
    repeated = net.loss_and_gradients(X[rows], Y[rows], alpha=0.1)
    assert weighted[0] == pytest.approx(repeated[0])
    for a, b in zip(weighted[1], repeated[1] + repeated[2], strict=True):
        np.testing.assert_allclose(a, b, atol=1e-12)


def test_softmax_is_stable_for_huge_logits():
    # One linear layer passes +-1000 straight through as logits.
    net = FeedForwardNetwork([1000 * np.eye(3)], [np.zeros(3)])
    X = np.array([[1.0, -1.0, 0.0], [-1.0, 1.0, 1.0], [1.0, 1.0, 1.0]])
    P = net.forward(X)
    assert np.all(np.isfinite(P))
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    np.testing.assert_allclose(P, [[1, 0, 0], [0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    # The true class of row 0 has logit -1000, the best 1000: loss 2000.
    Y = np.array([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    loss, grad_weights, grad_biases = net.loss_and_gradients(X, Y)
    expected = -log_softmax(1000 * X, axis=1)[Y == 1].mean()
    assert np.isfinite(loss)
    assert loss == pytest.approx(expected)
    assert all(np.all(np.isfinite(g)) for g in grad_weights + grad_biases)


def test_logistic_output_is_stable_for_huge_logits():
    net = FeedForwardNetwork([1000 * np.eye(2)], [np.zeros(2)], "logistic", "logistic")
    X = np.array([[1.0, -1.0]])
    np.testing.assert_array_equal(net.forward(X), [[1.0, 0.0]])
    loss, _, _ = net.loss_and_gradients(X, np.array([[0.0, 1.0]]))
    assert loss == pytest.approx(2000.0)


@pytest.mark.parametrize("output", sorted(OUTPUT_ACTIVATIONS))
def test_float32_stays_float32(output):
    rng = np.random.default_rng(0)
    net = _network((5, 4), "logistic", output, dtype=np.float32)
    X = rng.normal(size=(10, N_FEATURES))  # float64: converted
    Y = _targets(output, 10, rng)
    assert net.dtype == np.float32
    assert net.forward(X).dtype == np.float32
    assert net.forward(X, dropout=(0.1, 0.5), rng=rng).dtype == np.float32
    assert net.hidden_features(X).dtype == np.float32
    loss, grad_weights, grad_biases = net.loss_and_gradients(
        X, Y, alpha=0.1, dropout=(0.1, 0.5), rng=rng, sample_weight=np.ones(10)
    )
    assert isinstance(loss, float)
    assert all(g.dtype == np.float32 for g in grad_weights + grad_biases)
    for optimizer in (SGDOptimizer(0.1), AdamOptimizer()):
        optimizer.update(net.parameters, grad_weights + grad_biases)
    assert all(p.dtype == np.float32 for p in net.parameters)
    assert all(v.dtype == np.float32 for v in optimizer.first_moments)


def test_dropout_is_inverted():
    # Input dropout through an identity layer shows the mask itself.
    rng = np.random.default_rng(0)
    net = FeedForwardNetwork([np.eye(3)], [np.zeros(3)], output_activation="identity")
    X = np.full((20000, 3), 2.0)
    out = net.forward(X, dropout=(0.25, 0.0), rng=rng)
    assert set(np.unique(out)) == {0.0, 2.0 / 0.75}
    assert np.mean(out == 0) == pytest.approx(0.25, abs=0.01)
    assert out.mean() == pytest.approx(2.0, rel=0.01)


def test_dropout_keeps_expected_output():
    # In a linear network the output is linear in each mask, so its mean over
    # many masks is the output without dropout.
    rng = np.random.default_rng(0)
    net = _network((6, 5), "identity", "identity")
    x = rng.normal(size=(1, N_FEATURES))
    X = np.repeat(x, 40000, axis=0)
    mean = net.forward(X, dropout=(0.2, 0.5), rng=rng).mean(axis=0)
    spread = net.forward(X, dropout=(0.2, 0.5), rng=rng).std(axis=0)
    np.testing.assert_allclose(mean, net.forward(x)[0], atol=5 * spread.max() / 200)


def test_no_dropout_at_prediction():
    rng = np.random.default_rng(0)
    net = _network((5, 4), "logistic", "softmax")
    X = rng.normal(size=(5, N_FEATURES))
    expected = X
    for W, b in zip(net.weights[:-1], net.biases[:-1], strict=True):
        expected = expit(expected @ W + b)
    expected = softmax(expected @ net.weights[-1] + net.biases[-1], axis=1)
    np.testing.assert_allclose(net.forward(X), expected)
    np.testing.assert_array_equal(net.forward(X), net.forward(X))
    # Training with dropout in between changes nothing at prediction time.
    net.loss_and_gradients(X, np.eye(3)[[0, 1, 2, 0, 1]], dropout=(0.5, 0.5), rng=rng)
    np.testing.assert_allclose(net.forward(X), expected)


def test_dropout_masks_are_reproducible_and_vary():
    rng = np.random.default_rng(0)
    net = _network((5,), "relu", "softmax")
    X, Y = rng.normal(size=(6, N_FEATURES)), _targets("softmax", 6, rng)
    a = _loss(net, X, Y, dropout=(0.3, 0.3))
    b = _loss(net, X, Y, dropout=(0.3, 0.3))
    c = net.loss_and_gradients(X, Y, dropout=(0.3, 0.3), rng=np.random.default_rng(8))
    assert a == b != c[0]


def test_hidden_features():
    rng = np.random.default_rng(0)
    net = _network((5, 4, 2), "tanh", "softmax")
    X = rng.normal(size=(3, N_FEATURES))
    first = np.tanh(X @ net.weights[0] + net.biases[0])
    np.testing.assert_allclose(net.hidden_features(X, layer=0), first)
    np.testing.assert_allclose(net.hidden_features(X, layer=-3), first)
    assert net.hidden_features(X).shape == (3, 2)
    with pytest.raises(ValueError, match="hidden layers"):
        net.hidden_features(X, layer=3)


def test_from_layers_copies_the_stack():
    rng = np.random.default_rng(0)
    layers = [
        RBMLayer(rng.normal(size=(4, 5)).astype(np.float32), np.zeros(4), np.ones(5)),
        RBMLayer(rng.normal(size=(5, 3)).astype(np.float32), np.zeros(5), np.ones(3)),
    ]
    saved = [layer.weights.copy() for layer in layers]
    net = FeedForwardNetwork.from_layers(layers, 2, rng=rng)
    assert net.layer_sizes == (4, 5, 3, 2)
    assert net.dtype == np.float32
    X = rng.random((6, 4)).astype(np.float32)
    np.testing.assert_allclose(
        net.hidden_features(X),
        layers[1].hidden_mean(layers[0].hidden_mean(X)),
        rtol=1e-6,
    )
    _, gw, gb = net.loss_and_gradients(X, np.eye(2)[[0, 1] * 3])
    SGDOptimizer(1.0).update(net.parameters, gw + gb)
    for layer, weights in zip(layers, saved, strict=True):
        np.testing.assert_array_equal(layer.weights, weights)


def test_invalid_arguments():
    net = _network((5,), "logistic", "softmax")
    X, Y = np.zeros((2, N_FEATURES)), np.eye(3)[[0, 1]]
    with pytest.raises(ValueError, match="Dropout needs a random generator"):
        net.loss_and_gradients(X, Y, dropout=(0.1, 0.1))
    with pytest.raises(ValueError, match="Dropout rates"):
        net.loss_and_gradients(X, Y, dropout=(1.0, 0.1), rng=np.random.default_rng())
    with pytest.raises(ValueError, match="pair"):
        net.forward(X, dropout=0.5, rng=np.random.default_rng())
    with pytest.raises(ValueError, match="Y must have shape"):
        net.loss_and_gradients(X, Y[:, :2])
    with pytest.raises(ValueError, match="X must have shape"):
        net.forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="Unknown hidden activation"):
        FeedForwardNetwork(net.weights, net.biases, hidden_activation="sigmoid")
    with pytest.raises(ValueError, match="Unknown output activation"):
        FeedForwardNetwork(net.weights, net.biases, output_activation="relu")
    with pytest.raises(ValueError, match="inputs but layer"):
        FeedForwardNetwork(
            [np.zeros((2, 3)), np.zeros((2, 2))], [np.zeros(3), np.zeros(2)]
        )


def test_network_pickles_without_buffers():
    rng = np.random.default_rng(0)
    net = _network((5,), "logistic", "softmax", dtype=np.float32)
    X = rng.random((50, N_FEATURES))
    net.loss_and_gradients(X, _targets("softmax", 50, rng))
    clone = pickle.loads(pickle.dumps(net))
    assert clone._buffers == {}
    np.testing.assert_array_equal(clone.forward(X), net.forward(X))


# -- With the optimisers (their own tests: test_optimizers.py) ------------------


@pytest.mark.parametrize("make_optimizer", OPTIMIZERS)
def test_optimizers_train_a_network(make_optimizer):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, N_FEATURES))
    Y = np.eye(3)[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)]
    net = FeedForwardNetwork.initialize([N_FEATURES, 8, 3], rng=rng)
    optimizer = make_optimizer()
    if isinstance(optimizer, SGDOptimizer):
        optimizer.learning_rate = 0.5  # changing it between updates is allowed
    first = net.loss_and_gradients(X, Y, alpha=1e-4)[0]
    for _ in range(100):
        loss, gw, gb = net.loss_and_gradients(X, Y, alpha=1e-4)
        optimizer.update(net.parameters, gw + gb)
    assert loss < 0.5 * first


@pytest.mark.parametrize("make_optimizer", OPTIMIZERS)
def test_optimizer_pickles_mid_training(make_optimizer):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, N_FEATURES))
    Y = np.eye(3)[rng.integers(3, size=30)]
    net = FeedForwardNetwork.initialize([N_FEATURES, 5, 3], rng=rng, dtype=np.float32)
    optimizer = make_optimizer()
    for _ in range(5):
        _, gw, gb = net.loss_and_gradients(X, Y)
        optimizer.update(net.parameters, gw + gb)
    net_copy, optimizer_copy = pickle.loads(pickle.dumps((net, optimizer)))
    assert "_scratch_buffers" not in optimizer_copy.__dict__
    assert "_plan" not in optimizer_copy.__dict__  # views of the old arrays
    for model, opt in ((net, optimizer), (net_copy, optimizer_copy)):
        for _ in range(5):
            _, gw, gb = model.loss_and_gradients(X, Y)
            opt.update(model.parameters, gw + gb)
    for a, b in zip(net.parameters, net_copy.parameters, strict=True):
        np.testing.assert_array_equal(a, b)


def test_network_with_fortran_ordered_weights():
    net = _network((5, 4), "logistic", "softmax")
    reference = _network((5, 4), "logistic", "softmax")
    net.weights = [np.asfortranarray(W) for W in net.weights]
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(6, N_FEATURES)), _targets("softmax", 6, rng)
    np.testing.assert_allclose(net.forward(X), reference.forward(X))
    ours = net.loss_and_gradients(X, Y, alpha=0.5)
    theirs = reference.loss_and_gradients(X, Y, alpha=0.5)
    assert ours[0] == pytest.approx(theirs[0])
    for a, b in zip(ours[1] + ours[2], theirs[1] + theirs[2], strict=True):
        np.testing.assert_allclose(a, b)


@pytest.mark.parametrize("make_optimizer", OPTIMIZERS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_train_step_equals_gradients_then_update(make_optimizer, dtype, weighted):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(9, N_FEATURES))
    Y = _targets("softmax", 9, rng)
    sample_weight = rng.uniform(0.5, 2.0, size=9) if weighted else None
    stepped = _network((6, 5), "logistic", "softmax", dtype=dtype)
    reference = _network((6, 5), "logistic", "softmax", dtype=dtype)
    stepped_optimizer, reference_optimizer = make_optimizer(), make_optimizer()
    kwargs = {"alpha": 0.2, "dropout": (0.1, 0.2), "sample_weight": sample_weight}
    for seed in range(3):
        loss = stepped.train_step(
            X, Y, stepped_optimizer, rng=np.random.default_rng(seed), **kwargs
        )
        expected, gw, gb = reference.loss_and_gradients(
            X, Y, rng=np.random.default_rng(seed), **kwargs
        )
        reference_optimizer.update(reference.parameters, gw + gb)
        assert isinstance(loss, float)
        # The penalty's norm is summed chunk by chunk: equal to rounding.
        assert loss == pytest.approx(
            expected, rel=1e-12 if dtype == np.float64 else 1e-6
        )
    for a, b in zip(stepped.parameters, reference.parameters, strict=True):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, **ROUNDING[dtype])


def test_train_step_without_penalty_reports_the_data_loss():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(5, N_FEATURES)), _targets("softmax", 5, rng)
    net = _network((4,), "relu", "softmax")
    expected = net.loss_and_gradients(X, Y)[0]
    assert net.train_step(X, Y, SGDOptimizer(0.1)) == expected


def test_one_activation_per_hidden_layer_matches_finite_differences():
    rng = np.random.default_rng(0)
    net = FeedForwardNetwork.initialize(
        [5, 4, 3, 2],
        rng=rng,
        hidden_activation=["relu", "logistic"],
        output_activation="softmax",
    )
    assert [a.__name__ for a in net._hidden] == [
        "ReluActivation",
        "LogisticActivation",
    ]
    X = rng.random((6, 5))
    Y = np.eye(2)[rng.integers(0, 2, 6)]
    _, grad_weights, _ = net.loss_and_gradients(X, Y)
    W = net.weights[0]
    for index in [(0, 0), (2, 1), (4, 3)]:
        saved = W[index]
        W[index] = saved + 1e-6
        up = net.loss_and_gradients(X, Y)[0]
        W[index] = saved - 1e-6
        down = net.loss_and_gradients(X, Y)[0]
        W[index] = saved
        assert grad_weights[0][index] == pytest.approx((up - down) / 2e-6, abs=1e-7)
    with pytest.raises(ValueError, match="one per hidden layer"):
        FeedForwardNetwork.initialize(
            [5, 4, 2], rng=rng, hidden_activation=["relu"] * 2
        )


@pytest.mark.parametrize("output", sorted(OUTPUT_ACTIVATIONS))
def test_alpha_penalises_every_layer_as_mlp(output):
    # MLP's objective: data loss + 0.5 * alpha * sum_i ||coefs_[i]||^2 / n,
    # the output layer's weights included, the biases excluded.
    rng = np.random.default_rng(0)
    net = _network((5, 4), "logistic", output)
    X, Y = rng.normal(size=(7, N_FEATURES)), _targets(output, 7, rng)
    alpha = 0.3
    free, free_w, free_b = net.loss_and_gradients(X, Y)
    free_w, free_b = [g.copy() for g in free_w], [g.copy() for g in free_b]
    loss, grad_w, grad_b = net.loss_and_gradients(X, Y, alpha=alpha)
    norms = sum(float((W**2).sum()) for W in net.weights)
    assert loss == pytest.approx(free + 0.5 * alpha * norms / 7)
    for W, g, g0 in zip(net.weights, grad_w, free_w, strict=True):
        np.testing.assert_allclose(g - g0, alpha * W / 7, atol=1e-12)
    for g, g0 in zip(grad_b, free_b, strict=True):
        np.testing.assert_array_equal(g, g0)


@pytest.mark.parametrize("output", sorted(OUTPUT_ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lbfgs_objective_matches_finite_differences(output, dtype):
    from scipy.optimize import approx_fprime

    from skdbn._lbfgs import PackedObjective

    rng = np.random.default_rng(3)
    net = _network((5, 4), "tanh", output, dtype=dtype)
    X, Y = rng.normal(size=(6, N_FEATURES)), _targets(output, 6, rng)

    def loss_and_gradients():
        loss, grad_weights, grad_biases = net.loss_and_gradients(X, Y, alpha=0.2)
        return loss, grad_weights + grad_biases

    objective = PackedObjective(net.parameters, loss_and_gradients)
    x = objective.pack()
    assert x.dtype == np.float64 and x.size == sum(p.size for p in net.parameters)
    loss, gradient = objective(x)
    eps = 1e-6 if dtype == np.float64 else 1e-2
    numeric = approx_fprime(x, lambda v: objective(v)[0], eps)
    tolerance = 1e-5 if dtype == np.float64 else 2e-2
    np.testing.assert_allclose(gradient, numeric, rtol=tolerance, atol=tolerance)
    # The parameters keep their dtype and end where the vector puts them.
    objective(x + 1.0)
    assert all(p.dtype == dtype for p in net.parameters)
    np.testing.assert_allclose(objective.pack(), x + 1.0, rtol=1e-6)
