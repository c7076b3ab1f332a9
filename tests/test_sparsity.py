"""The sparsity penalty of fine-tuning, against its definition."""

import numpy as np
import pytest

from skdbn._network import FeedForwardNetwork
from skdbn._optimizers import SGDOptimizer
from skdbn._sparsity import layer_sparsity, sparsity_kl, sparsity_penalty


def test_sparsity_kl_by_hand():
    q, t = np.array([0.2, 0.5]), 0.1
    by_hand = sum(t * np.log(t / p) + (1 - t) * np.log((1 - t) / (1 - p)) for p in q)
    assert sparsity_kl(q, t) == pytest.approx(by_hand)
    assert sparsity_kl(np.array([0.1, 0.1]), 0.1) == pytest.approx(0.0)


@pytest.mark.parametrize("weighted", [False, True])
def test_penalty_gradient_matches_finite_differences(weighted):
    rng = np.random.default_rng(0)
    A = rng.random((6, 4))
    w = rng.random(6) + 0.5 if weighted else np.ones(6)
    row_scale = (w / w.sum())[:, None] if weighted else 1 / 6
    loss, grad = sparsity_penalty(A, 0.05, 0.7, row_scale)
    numeric = np.empty_like(A)
    for index in np.ndindex(A.shape):
        saved = A[index]
        A[index] = saved + 1e-6
        plus = sparsity_penalty(A, 0.05, 0.7, row_scale)[0]
        A[index] = saved - 1e-6
        minus = sparsity_penalty(A, 0.05, 0.7, row_scale)[0]
        A[index] = saved
        numeric[index] = (plus - minus) / 2e-6
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)
    q = (w @ A) / w.sum()
    assert loss == pytest.approx(0.7 * sparsity_kl(q, 0.05))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dropout", [None, (0.0, 0.3)])
def test_network_gradients_with_sparsity_match_finite_differences(
    weighted, dropout, assert_gradients_match
):
    rng = np.random.default_rng(1)
    net = FeedForwardNetwork.initialize(
        [5, 4, 3, 2], rng=rng, hidden_activation=["logistic", "logistic"]
    )
    X, Y = rng.random((7, 5)), np.eye(2)[rng.integers(0, 2, 7)]
    sparsity = [(0.05, 0.5), (0.2, 1.3)]
    kwargs = dict(
        alpha=0.1,
        sparsity=sparsity,
        sample_weight=rng.random(7) + 0.5 if weighted else None,
        dropout=dropout,
    )

    def loss_and_gradients():
        # The same dropout masks at every call.
        return net.loss_and_gradients(X, Y, rng=np.random.default_rng(5), **kwargs)

    loss, grad_weights, grad_biases = loss_and_gradients()
    grads = [g.copy() for g in grad_weights + grad_biases]
    plain = net.loss_and_gradients(
        X, Y, rng=np.random.default_rng(5), **{**kwargs, "sparsity": None}
    )[0]
    assert loss > plain
    assert_gradients_match(lambda: loss_and_gradients()[0], net.parameters, grads)


def test_train_step_with_sparsity_lowers_the_mean_activation():
    rng = np.random.default_rng(2)
    net = FeedForwardNetwork.initialize([5, 8, 2], rng=rng)
    X, Y = rng.random((50, 5)), np.eye(2)[rng.integers(0, 2, 50)]
    before = net.hidden_features(X).mean()
    optimizer = SGDOptimizer(learning_rate=0.5)
    for _ in range(100):
        net.train_step(X, Y, optimizer, sparsity=[(0.05, 3.0)])
    assert net.hidden_features(X).mean() < min(before, 0.15)


def test_layer_sparsity_penalises_logistic_layers_only():
    assert layer_sparsity(["logistic", "relu"], [0.1, 0.2], 0.0) is None
    assert layer_sparsity(["relu"], [0.1], 1.0) is None
    assert layer_sparsity(["logistic", "relu"], [0.1, 0.2], 2.0) == [
        (0.1, 2.0),
        None,
    ]


@pytest.mark.parametrize("variational", [False, True])
def test_autoencoder_gradients_with_sparsity_match_finite_differences(
    variational, assert_gradients_match
):
    from skdbn._autoencoder_network import AutoencoderNetwork

    rng = np.random.default_rng(3)
    net = AutoencoderNetwork.initialize(
        [6, 5, 4, 3],
        ("logistic", "logistic", "logistic"),
        "bernoulli",
        rng,
        np.float64,
        variational,
    )
    if variational:
        net.log_var_weights[...] = 0.3 * rng.standard_normal(net.log_var_weights.shape)
    X = rng.random((7, 6))
    sparsity = [(0.05, 0.5), (0.2, 1.3), (0.1, 0.8)]
    kwargs = dict(
        alpha=0.1,
        sparsity=sparsity,
        noise=rng.standard_normal((7, 3)) if variational else None,
    )
    loss, _, grads = net.loss_and_gradients(X, **kwargs)
    assert loss > net.loss_and_gradients(X, **{**kwargs, "sparsity": None})[0]
    assert_gradients_match(
        lambda: net.loss_and_gradients(X, **kwargs)[0], net.parameters, grads
    )


def test_estimators_keep_the_sparsity_target_in_fine_tuning():
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from skdbn import DBNAutoencoder, DBNClassifier
    from skdbn.datasets import load_digits_01

    X, y = load_digits_01(return_X_y=True)
    X, y = X[:300], y[:300]
    common = dict(
        n_epochs=2,
        max_iter=15,
        learning_rate_init=0.01,
        random_state=0,
        sparsity_target=0.05,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense = DBNClassifier((32,), **common).fit(X, y)
        sparse = DBNClassifier((32,), fine_tuning_sparsity_cost=0.01, **common).fit(
            X, y
        )
        ae_dense = DBNAutoencoder((32, 4), **common).fit(X)
        ae_sparse = DBNAutoencoder(
            (32, 4), fine_tuning_sparsity_cost=0.01, **common
        ).fit(X)

    def first_layer(ae):
        return ae._network._encode_hidden(X)[1].mean()

    assert sparse.transform(X).mean() < 0.8 * dense.transform(X).mean()
    assert sparse.score(X, y) > 0.8

    assert first_layer(ae_sparse) < 0.8 * first_layer(ae_dense)
