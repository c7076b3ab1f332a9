"""The training loop: update rule, schedules, penalties and what it learns."""

import numpy as np
import pytest
import scipy.sparse as sp

from skdbn import BernoulliRBMStack
from skdbn._rbm import initial_layer
from skdbn._training import RBMTrainer, TrainingSettings
from skdbn.evaluation import log_likelihood_exact

BERNOULLI = ("bernoulli", "bernoulli")


def settings(**overrides):
    values = dict(
        learning_rate=0.1,
        n_epochs=1,
        batch_size=10,
        cd_steps=1,
        persistent=False,
        momentum=0.9,
        initial_momentum=0.5,
        momentum_ramp_epochs=5,
        weight_decay=0.0,
        sparsity_target=0.1,
        sparsity_cost=0.0,
    )
    values.update(overrides)
    return TrainingSettings(**values)


def prototype_data(n_samples=400, n_features=10, n_prototypes=4, noise=0.05, seed=0):
    """Binary data: a few random prototypes, each bit flipped with ``noise``."""
    rng = np.random.default_rng(seed)
    prototypes = (rng.random((n_prototypes, n_features)) < 0.5).astype(np.float64)
    X = prototypes[rng.integers(0, n_prototypes, n_samples)]
    return np.abs(X - (rng.random(X.shape) < noise))


def stack(**params):
    defaults = dict(hidden_layer_sizes=(8,), batch_size=20, random_state=0)
    defaults.update(params)
    return BernoulliRBMStack(**defaults)


def layer_parameters(fitted):
    return [p for layer in fitted.layers_ for p in layer.parameters]


# ------------------------------------------------------------ schedules


def test_momentum_ramp_values():
    s = settings(initial_momentum=0.5, momentum=0.9, momentum_ramp_epochs=4)
    values = [s.momentum_at(epoch) for epoch in range(7)]
    np.testing.assert_allclose(values, [0.5, 0.6, 0.7, 0.8, 0.9, 0.9, 0.9])
    no_ramp = settings(initial_momentum=0.5, momentum=0.9, momentum_ramp_epochs=0)
    assert no_ramp.momentum_at(0) == 0.9
    # A decreasing "ramp" is linear too.
    down = settings(initial_momentum=0.8, momentum=0.0, momentum_ramp_epochs=2)
    np.testing.assert_allclose([down.momentum_at(e) for e in range(3)], [0.8, 0.4, 0])


def test_history_records_the_momentum_used_each_epoch():
    fitted = stack(
        n_epochs=6, initial_momentum=0.5, momentum=0.9, momentum_ramp_epochs=4
    ).fit(prototype_data(n_samples=60))
    history = fitted.layers_[0].history
    assert [h["epoch"] for h in history] == [1, 2, 3, 4, 5, 6]
    np.testing.assert_allclose(
        [h["momentum"] for h in history], [0.5, 0.6, 0.7, 0.8, 0.9, 0.9]
    )


# ---------------------------------------------------------- update rule


def test_update_applies_momentum_and_weight_decay_exactly():
    rng = np.random.default_rng(0)
    layer = initial_layer(6, 4, np.full(6, 0.4), rng, np.float64, BERNOULLI)
    layer.weights += rng.standard_normal(layer.weights.shape)  # non-trivial W
    lr, decay = 0.1, 0.05
    trainer = RBMTrainer(layer, settings(learning_rate=lr, weight_decay=decay))
    captured = []
    estimate = trainer.gradient.estimate

    def capturing_estimate(*args, **kwargs):
        grads = estimate(*args, **kwargs)
        captured.append([g.copy() for g in grads])
        return grads

    trainer.gradient.estimate = capturing_estimate
    X = (rng.random((10, 6)) < 0.4).astype(np.float64)
    trainer.gradient.load_batch(X, np.arange(10))

    p0 = [p.copy() for p in layer.parameters]
    trainer.update(10, np.random.default_rng(1), momentum=0.5)
    p1 = [p.copy() for p in layer.parameters]
    trainer.update(10, np.random.default_rng(2), momentum=0.8)
    g1, g2 = captured
    # velocity_1 = g1 - lr * decay * W0 (decay on the weights only)
    v1 = [g1[0] - lr * decay * p0[0], g1[1], g1[2]]
    for before, after, v in zip(p0, p1, v1, strict=True):
        np.testing.assert_allclose(after, before + v, rtol=0, atol=1e-14)
    # velocity_2 = 0.8 velocity_1 + g2 - lr * decay * W1
    v2 = [
        0.8 * v1[0] + g2[0] - lr * decay * p1[0],
        0.8 * v1[1] + g2[1],
        0.8 * v1[2] + g2[2],
    ]
    for before, after, v in zip(p1, layer.parameters, v2, strict=True):
        np.testing.assert_allclose(after, before + v, rtol=0, atol=1e-14)
    # The gradient is the learning rate times the batch mean statistics.
    assert np.abs(g1[0]).max() > 1e-3


def test_weight_decay_shrinks_the_weights():
    X = prototype_data()
    norms = [
        np.linalg.norm(stack(n_epochs=30, weight_decay=wd).fit(X).layers_[0].weights)
        for wd in (0.0, 1e-3, 1e-2)
    ]
    assert norms[0] > norms[1] > norms[2]
    assert norms[2] < 0.8 * norms[0]


def test_sparsity_target_pulls_mean_activation_toward_target():
    X = prototype_data()
    target = 0.05
    activity = {
        cost: stack(n_epochs=30, sparsity_target=target, sparsity_cost=cost)
        .fit(X)
        .transform(X)
        .mean()
        for cost in (0.0, 0.1, 1.0)
    }
    gap = {cost: abs(mean - target) for cost, mean in activity.items()}
    assert gap[0.0] > 0.2  # without the penalty the units are far from sparse
    assert gap[1.0] < gap[0.1] < gap[0.0]
    assert gap[1.0] < 0.2 * gap[0.0]


# -------------------------------------------------------------- learning


def test_training_lowers_reconstruction_error_and_raises_log_likelihood():
    X = prototype_data()
    before = initial_layer(
        10, 8, X.mean(axis=0), np.random.default_rng(0), np.float64, BERNOULLI
    )
    fitted = stack(n_epochs=30).fit(X)
    after = fitted.layers_[0]
    ll_before = log_likelihood_exact(before, X).mean()
    ll_after = log_likelihood_exact(after, X).mean()
    # The initial RBM is close to the best factorial model (independent
    # bits); four noisy prototypes are far more predictable than that.
    assert ll_after > ll_before + 1.0
    history = [h["reconstruction_error"] for h in after.history]
    assert before.reconstruction_error(X) > 1.5
    assert history[-1] < 0.5 * history[0]
    assert after.reconstruction_error(X) < 0.3 * before.reconstruction_error(X)


# ------------------------------------------------ dtypes and containers


def test_float32_and_float64_training_agree():
    X = prototype_data()
    fit64 = stack(n_epochs=5).fit(X)
    fit32 = stack(n_epochs=5).fit(X.astype(np.float32))
    for layer in fit32.layers_:
        assert all(p.dtype == np.float32 for p in layer.parameters)
    assert fit32.transform(X.astype(np.float32)).dtype == np.float32
    for p32, p64 in zip(layer_parameters(fit32), layer_parameters(fit64), strict=True):
        np.testing.assert_allclose(p32, p64, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize(
    "container", [sp.csr_matrix, sp.csr_array, sp.csc_matrix, sp.csc_array]
)
def test_sparse_and_dense_input_give_the_same_model(container):
    X = prototype_data(n_samples=120)
    X[:, :3] = 0.0  # some all-zero columns, as in real sparse data
    params = dict(hidden_layer_sizes=(8, 4), n_epochs=3, cd_steps=2)
    dense = stack(**params).fit(X)
    sparse = stack(**params).fit(container(X))
    for a, b in zip(layer_parameters(dense), layer_parameters(sparse), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dense.transform(X), sparse.transform(container(X)))

    dense.partial_fit(X)
    sparse.partial_fit(container(X))
    for a, b in zip(layer_parameters(dense), layer_parameters(sparse), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("persistent", [False, True])
def test_same_seed_gives_bit_identical_model(persistent):
    X = prototype_data(n_samples=100)
    params = dict(
        hidden_layer_sizes=(6, 3),
        n_epochs=3,
        persistent=persistent,
        validation_fraction=0.2,
    )
    first = stack(**params).fit(X)
    second = stack(**params).fit(X)
    for a, b in zip(layer_parameters(first), layer_parameters(second), strict=True):
        np.testing.assert_array_equal(a, b)
    assert [h["reconstruction_error"] for h in first.layers_[0].history] == [
        h["reconstruction_error"] for h in second.layers_[0].history
    ]
    first.partial_fit(X)
    second.partial_fit(X)
    for a, b in zip(layer_parameters(first), layer_parameters(second), strict=True):
        np.testing.assert_array_equal(a, b)
    other = stack(**{**params, "random_state": 1}).fit(X)
    assert not np.array_equal(other.layers_[0].weights, first.layers_[0].weights)


def _read_only(X):
    if sp.issparse(X):
        for array in (X.data, X.indices, X.indptr):
            array.flags.writeable = False
    else:
        X.flags.writeable = False
    return X


def _assert_unchanged(X, original):
    if sp.issparse(X):
        assert type(X) is type(original)
        for name in ("data", "indices", "indptr"):
            np.testing.assert_array_equal(getattr(X, name), getattr(original, name))
    else:
        np.testing.assert_array_equal(X, original)


@pytest.mark.parametrize(
    "container",
    [np.asarray, sp.csr_matrix, sp.csr_array, sp.csc_matrix],
    ids=["dense", "csr_matrix", "csr_array", "csc_matrix"],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_input_data_is_never_modified(container, dtype):
    X = _read_only(container(prototype_data(n_samples=60).astype(dtype)))
    original = X.copy()
    fitted = stack(hidden_layer_sizes=(5, 3), n_epochs=2, validation_fraction=0.25)
    fitted.fit(X)
    H = fitted.transform(X)
    fitted.inverse_transform(H)
    fitted.score_samples(X)
    fitted.partial_fit(X)
    stack(hidden_layer_sizes=(5,)).partial_fit(X).partial_fit(X)
    stack(hidden_layer_sizes=(4,), n_epochs=1).fit_transform(X)
    _assert_unchanged(X, original)


def test_linear_learning_rate_schedule_decays_to_the_last_step():
    settings = TrainingSettings(
        learning_rate=0.1,
        n_epochs=4,
        batch_size=10,
        cd_steps=1,
        persistent=True,
        momentum=0.5,
        initial_momentum=0.5,
        momentum_ramp_epochs=0,
        weight_decay=0.0,
        sparsity_target=0.1,
        sparsity_cost=0.0,
        learning_rate_schedule="linear",
    )
    steps = [settings.learning_rate_at(epoch, 4) for epoch in range(4)]
    np.testing.assert_allclose(steps, [0.1, 0.075, 0.05, 0.025])
    settings.learning_rate_schedule = "constant"
    assert settings.learning_rate_at(3, 4) == 0.1


def test_stacks_train_with_the_linear_schedule():
    X = (np.random.default_rng(0).random((60, 8)) < 0.3).astype(float)
    stack = BernoulliRBMStack(
        (5,),
        persistent=True,
        n_epochs=4,
        learning_rate_schedule="linear",
        random_state=0,
    ).fit(X)
    assert stack._trainers[0].learning_rate == pytest.approx(0.1 / 4)
    constant = BernoulliRBMStack((5,), persistent=True, n_epochs=4, random_state=0)
    assert not np.allclose(constant.fit(X).layers_[0].weights, stack.layers_[0].weights)
    # partial_fit keeps the constant step.
    stack.partial_fit(X)
    assert stack._trainers[0].learning_rate == 0.1


# ------------------------------------------------------------ sample weights


class RowDraws:
    """Draws the same row of random numbers for every row (see test_rbm.py)."""

    def random(self, out, dtype=np.float64):
        out[...] = np.linspace(0.1, 0.9, out.shape[-1])
        return out

    def standard_normal(self, out, dtype=np.float64):
        out[...] = np.linspace(-1.0, 1.0, out.shape[-1])
        return out


@pytest.mark.parametrize("persistent", [False, True])
def test_weighted_epochs_equal_epochs_on_repeated_rows(persistent):
    # Full-batch epochs in a fixed order, with momentum, weight decay and the
    # sparsity penalty: integer weights train exactly as repeated rows do.
    X = prototype_data(n_samples=12, n_features=6, seed=3)
    weights = np.array([1, 3, 2, 1, 4, 2, 1, 1, 3, 2, 1, 2], dtype=np.float64)
    repeated = np.repeat(X, weights.astype(int), axis=0)
    models = []
    for data, sample_weight in ((X, weights), (repeated, None)):
        rng = np.random.default_rng(0)
        layer = initial_layer(6, 5, np.full(6, 0.4), rng, np.float64, BERNOULLI)
        layer.weights *= 100  # chains that depend on their start
        trainer = RBMTrainer(
            layer,
            settings(
                batch_size=len(repeated),
                persistent=persistent,
                weight_decay=0.01,
                sparsity_cost=0.1,
            ),
        )
        if persistent:
            trainer.gradient.chains = np.zeros((len(repeated), 5))
        for _ in range(3):
            trainer.run_epoch(
                data, RowDraws(), shuffle=False, sample_weight=sample_weight
            )
        models.append(layer.parameters)
    for weighted, plain in zip(*models, strict=True):
        np.testing.assert_allclose(weighted, plain, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------ monitoring


@pytest.mark.parametrize(
    "units, visible_std, missing",
    [
        (BERNOULLI, None, False),
        (("gaussian", "bernoulli"), np.full(6, 0.5), True),
        (("gaussian", "relu"), None, False),
    ],
)
def test_monitoring_statistics_equal_the_separate_methods(units, visible_std, missing):
    # The epoch's monitoring shares one hidden field between the two numbers
    # (and the saturation check): the values must not change.
    rng = np.random.default_rng(0)
    X = rng.random((40, 6))
    layer = initial_layer(6, 5, X.mean(axis=0), rng, np.float64, units, visible_std)
    layer.weights += rng.normal(scale=0.5, size=layer.weights.shape)
    layer.hidden_bias += rng.normal(size=5)
    if missing:
        X[::3, 2] = np.nan
    error, free_energy, field = layer.monitoring_statistics(X)
    assert error == layer.reconstruction_error(X)
    np.testing.assert_array_equal(free_energy, layer.free_energy(X))
    np.testing.assert_array_equal(field, layer.hidden_field(X))


def test_saturation_check_reads_the_monitoring_field():
    rng = np.random.default_rng(0)
    X = prototype_data(n_samples=100)
    layer = initial_layer(10, 4, X.mean(axis=0), rng, np.float64, BERNOULLI)
    trainer = RBMTrainer(layer, settings())
    field = layer.hidden_field(X)
    assert not trainer._saturated(X, field)
    layer.hidden_bias[:] = 100.0  # every unit stuck on
    assert trainer._saturated(X) and trainer._saturated(X, layer.hidden_field(X))
