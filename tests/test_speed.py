"""batch_size="auto" and the BLAS thread count that fits choose for their shapes."""

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import skdbn._speed as speed
from skdbn import (
    BernoulliRBMStack,
    DBNAutoencoder,
    DBNClassifier,
    DBNRegressor,
    GaussianRBMStack,
)
from skdbn._network import FeedForwardNetwork
from skdbn._speed import blas_thread_count, resolve_batch_size
from skdbn._training import RBMTrainer

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

ESTIMATORS = [
    BernoulliRBMStack,
    GaussianRBMStack,
    DBNClassifier,
    DBNRegressor,
    DBNAutoencoder,
]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.random((450, 6))
    y = (X[:, 0] + X[:, 1] > 1).astype(int)
    return X, y


def blas_threads_now():
    """The thread counts of the BLAS pools, in threadpool_info's order."""
    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]


def record(monkeypatch, cls, name, log, what):
    """Wrap ``cls.name`` to append ``what(args)`` to ``log`` at each call."""
    original = getattr(cls, name)

    def wrapper(self, *args, **kwargs):
        log.append(what(args))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cls, name, wrapper)


# ------------------------------------------------------------------ batch size


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_batch_size_defaults_to_auto(estimator):
    assert estimator().get_params()["batch_size"] == "auto"


def test_auto_batch_size_rule():
    # Fine-tuning as MLP's "auto"; pre-training at 100 rows, or fewer for at
    # least 10 minibatches an epoch, down to 10 rows.
    assert resolve_batch_size("auto", 1000, "fine-tuning") == 200
    assert resolve_batch_size("auto", 150, "fine-tuning") == 150
    assert resolve_batch_size("auto", 60_000, "pre-training") == 100
    assert resolve_batch_size("auto", 1000, "pre-training") == 100
    assert resolve_batch_size("auto", 990, "pre-training") == 99
    assert resolve_batch_size("auto", 208, "pre-training") == 21
    assert resolve_batch_size("auto", 40, "pre-training") == 10
    assert resolve_batch_size("auto", 7, "pre-training") == 7
    # Integers are the same in both phases, capped at the number of rows.
    for phase in ("pre-training", "fine-tuning"):
        assert resolve_batch_size(37, 1000, phase) == 37
        assert resolve_batch_size(500, 60, phase) == 60


@pytest.mark.parametrize("estimator", [DBNClassifier, DBNRegressor])
@pytest.mark.parametrize(
    "batch_size, pretraining, fine_tuning", [("auto", 45, 200), (30, 30, 30)]
)
def test_dbn_batch_sizes_in_each_phase(
    data, monkeypatch, estimator, batch_size, pretraining, fine_tuning
):
    X, y = data
    rows = []
    record(monkeypatch, FeedForwardNetwork, "train_step", rows, lambda a: len(a[0]))
    model = estimator(
        (5,), n_epochs=1, max_iter=1, batch_size=batch_size, random_state=0
    )
    model.fit(X, y)
    assert model.stack_._trainers[0].settings.batch_size == pretraining
    # 450 rows in even minibatches of at most ``fine_tuning`` rows.
    n_batches = -(-450 // fine_tuning)
    assert len(rows) == n_batches
    assert max(rows) == -(-450 // n_batches)


def test_autoencoder_batch_sizes_in_each_phase(data, monkeypatch):
    from skdbn._autoencoder_network import AutoencoderNetwork

    X, _ = data
    rows = []
    record(
        monkeypatch, AutoencoderNetwork, "loss_and_gradients", rows, lambda a: len(a[0])
    )
    model = DBNAutoencoder((5, 2), n_epochs=1, max_iter=1, random_state=0).fit(X)
    assert model.stack_._trainers[0].settings.batch_size == 45
    assert rows == [150, 150, 150]  # 450 rows, minibatches of at most 200


@pytest.mark.parametrize("estimator", [BernoulliRBMStack, GaussianRBMStack])
def test_stack_auto_batch_size_is_pretraining_rule(data, estimator):
    X, _ = data
    stack = estimator((4,), n_epochs=1, random_state=0).fit(X)
    assert stack._trainers[0].settings.batch_size == 45
    small = estimator((4,), n_epochs=1, random_state=0).fit(X[:30])
    assert small._trainers[0].settings.batch_size == 10


@pytest.mark.parametrize("batch_size", ["big", 0, 2.5])
def test_bad_batch_size_is_rejected(data, batch_size):
    with pytest.raises(ValueError, match="batch_size"):
        DBNClassifier(batch_size=batch_size).fit(*data)


# ------------------------------------------------------------ pre-training epochs


def test_auto_pretraining_epochs_rule():
    # 500 minibatch updates, within 10 to 70 epochs.
    assert speed.resolve_pretraining_epochs("auto", 60_000, 100) == 10
    assert speed.resolve_pretraining_epochs("auto", 5_000, 100) == 10
    assert speed.resolve_pretraining_epochs("auto", 1_000, 100) == 50
    assert speed.resolve_pretraining_epochs("auto", 701, 100) == 63
    assert speed.resolve_pretraining_epochs("auto", 690, 100) == 70  # 72, capped
    assert speed.resolve_pretraining_epochs("auto", 216, 100) == 70  # 167, capped
    assert speed.resolve_pretraining_epochs("auto", 40, 40) == 70
    assert speed.resolve_pretraining_epochs(3, 40, 40) == 3
    assert speed.resolve_pretraining_epochs(500, 40, 40) == 500  # no cap if given


def test_auto_pretraining_epochs_cap_never_goes_below_the_minimum(monkeypatch):
    monkeypatch.setattr(speed, "MAX_AUTO_PRETRAINING_EPOCHS", 5)
    assert speed.resolve_pretraining_epochs("auto", 216, 100) == 10
    assert speed.resolve_pretraining_epochs("auto", 60_000, 100) == 10


@pytest.mark.parametrize("estimator", [BernoulliRBMStack, GaussianRBMStack])
@pytest.mark.parametrize("n_epochs", ["auto", ["auto", 2]])
def test_stack_trains_auto_epochs(data, estimator, n_epochs):
    X, _ = data
    stack = estimator((4, 3), n_epochs=n_epochs, random_state=0).fit(X[:150])
    epochs = [trainer.epochs_done for trainer in stack._trainers]
    # 150 rows in minibatches of 15: 10 updates an epoch, 50 epochs.
    assert epochs == ([50, 50] if n_epochs == "auto" else [50, 2])
    assert [t.settings.n_epochs for t in stack._trainers] == epochs


def test_bad_n_epochs_is_rejected(data):
    with pytest.raises(ValueError, match="n_epochs"):
        GaussianRBMStack(n_epochs="many").fit(data[0])
    with pytest.raises(ValueError, match="n_epochs"):
        GaussianRBMStack((3, 2), n_epochs=["auto", "many"]).fit(data[0])


# -------------------------------------------------------------------- threads


def test_thread_rule_by_shape():
    with threadpool_limits(limits=4, user_api="blas"):
        if max(blas_threads_now()) < 4:
            pytest.skip("the BLAS library does not take 4 threads here")
        # Small products: one thread.
        assert blas_thread_count((14000, 10), (256, 256), 200) == 1
        assert blas_thread_count((569, 30), (100,), 200, n_outputs=2) == 1
        # One thread per THREAD_GRAIN multiply-adds of the largest product.
        rows = speed.THREAD_GRAIN // 1024**2  # products of rows x 1024 x 1024
        assert blas_thread_count((100, 1024), (1024,), rows // 2) == 1
        assert blas_thread_count((100, 1024), (1024, 3 * 1024), rows) == 3
        assert blas_thread_count((100, 1024), (1024,), rows, n_outputs=2048) == 2
        # As many as the caller allows, or more: the caller's setting.
        assert blas_thread_count((1000, 4096), (4096,), 200) is None


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_fit_runs_on_the_rules_threads_and_restores_the_callers(
    data, monkeypatch, estimator
):
    X, y = data
    inside = []
    record(
        monkeypatch, RBMTrainer, "run_epoch", inside, lambda a: max(blas_threads_now())
    )
    with threadpool_limits(limits=2, user_api="blas"):
        before = threadpool_info()
        if max(blas_threads_now()) < 2:
            pytest.skip("the BLAS library does not take 2 threads here")
        estimator((5,), n_epochs=1, random_state=0).set_params(
            **({"max_iter": 1} if "max_iter" in estimator().get_params() else {})
        ).fit(X, y)
        after = threadpool_info()
    assert inside and set(inside) == {1}
    assert after == before


def test_callers_threads_restored_when_fit_fails(data):
    X, y = data
    X = X.copy()
    X[0, 0] = np.inf  # (NaN is a missing entry, accepted)
    with threadpool_limits(limits=2, user_api="blas"):
        before = threadpool_info()
        with pytest.raises(ValueError, match="infinity"):
            DBNClassifier((5,)).fit(X, y)
        assert threadpool_info() == before


def test_partial_fit_runs_on_the_rules_threads(data, monkeypatch):
    X, _ = data
    inside = []
    record(
        monkeypatch,
        RBMTrainer,
        "partial_epoch",
        inside,
        lambda a: max(blas_threads_now()),
    )
    with threadpool_limits(limits=2, user_api="blas"):
        if max(blas_threads_now()) < 2:
            pytest.skip("the BLAS library does not take 2 threads here")
        BernoulliRBMStack((5,), random_state=0).partial_fit(X).partial_fit(X)
    assert inside == [1, 1]


def test_thread_rule_keeps_the_model_of_a_fixed_thread_count(data, monkeypatch):
    # The rule holds this fit to one thread: the same model as a caller
    # holding BLAS to one thread, and the same model every time.
    X, y = data
    params = dict(hidden_layer_sizes=(8, 6), n_epochs=2, max_iter=3, random_state=0)
    models = []
    with threadpool_limits(limits=2, user_api="blas"):
        models.append(DBNClassifier(**params).fit(X, y))
        models.append(DBNClassifier(**params).fit(X, y))
    monkeypatch.setattr(speed, "AUTO_THREADS", False)
    with threadpool_limits(limits=1, user_api="blas"):
        models.append(DBNClassifier(**params).fit(X, y))
    for model in models[1:]:
        for a, b in zip(models[0].coefs_, model.coefs_, strict=True):
            np.testing.assert_array_equal(a, b)
        for a, b in zip(models[0].stack_.layers_, model.stack_.layers_, strict=True):
            np.testing.assert_array_equal(a.weights, b.weights)
