"""Training that goes wrong: runaway layers, unusable input and Ctrl-C.

Interrupts are simulated by stand-ins that raise ``KeyboardInterrupt`` from a
function the training loop calls, at a chosen moment.
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils.validation import check_is_fitted

from skdbn import (
    BernoulliRBMStack,
    DBNAutoencoder,
    DBNClassifier,
    DBNRegressor,
    GaussianRBMStack,
)
from skdbn._stack_base import _RBMStackBase
from skdbn._training import SATURATION_FIELD, RBMTrainer


@pytest.fixture(scope="module")
def digits01():
    X, y = load_digits(return_X_y=True)
    return X[:400] / 16.0, y[:400]


@pytest.fixture(scope="module")
def binary_data():
    rng = np.random.default_rng(0)
    return (rng.random((60, 12)) < 0.3).astype(np.float64)


def interrupting_run_epoch(layer_name, epochs_done):
    """A ``run_epoch`` raising in ``layer_name`` after ``epochs_done`` epochs."""
    original = RBMTrainer.run_epoch

    def run_epoch(self, *args, **kwargs):
        if self.name.startswith(layer_name) and self.epochs_done == epochs_done:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    return run_epoch


# ------------------------------------------------- saturated and runaway layers


def test_runaway_hidden_biases_of_binary_units_are_undone(digits01):
    X, _ = digits01
    stack = BernoulliRBMStack(
        (64,), learning_rate=1e3, n_epochs=5, batch_size=50, random_state=0
    )
    with pytest.warns(ConvergenceWarning, match="saturated every hidden unit") as w:
        stack.fit(X)
    assert "Lower learning_rate" in str(w[0].message)
    layer = stack.layers_[0]
    # Saturated in the first epoch: back to the untrained layer, no history.
    assert layer.history == []
    assert np.abs(layer.hidden_bias).max() == 0.0
    H = stack.transform(X)
    assert np.ptp(H, axis=0).min() > 0  # the output depends on the input
    assert np.abs(layer.hidden_field(X)).min() < SATURATION_FIELD


def test_healthy_training_is_not_called_saturated(digits01):
    X, _ = digits01
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stack = BernoulliRBMStack((32, 16), n_epochs=5, random_state=0).fit(X)
        # Identical rows: a constant output is the right model, not a fault.
        BernoulliRBMStack((4,), random_state=0).fit(np.full((4, 10), 1.0))
    assert all(len(layer.history) == 5 for layer in stack.layers_)


def test_saturating_identical_rows_is_not_a_fault():
    X = np.full((4, 10), 5.0)  # out of range, so the fields run to ~650
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        stack = BernoulliRBMStack(random_state=0).fit(X)
    assert not any(w.category is ConvergenceWarning for w in record)
    assert np.abs(stack.layers_[0].hidden_field(X)).min() > SATURATION_FIELD


def test_runaway_upper_layer_is_undone(binary_data):
    # One minibatch per epoch: the weights jump to 1e150 and stay finite.
    stack = BernoulliRBMStack(
        (6, 5), learning_rate=[0.1, 1e150], n_epochs=3, batch_size=60, random_state=0
    )
    with pytest.warns(ConvergenceWarning, match="layer 2/2 saturated"):
        stack.fit(binary_data)
    assert len(stack.layers_[0].history) == 3
    assert max(np.abs(p).max() for p in stack.layers_[1].parameters) < 1.0
    assert np.ptp(stack.transform(binary_data), axis=0).min() > 0


def test_partial_fit_undoes_a_runaway_epoch(binary_data):
    # One minibatch per call: the weights jump to 1e150 and stay finite.
    stack = BernoulliRBMStack((6,), learning_rate=1e150, batch_size=60, random_state=0)
    for _ in range(3):
        with pytest.warns(ConvergenceWarning, match="saturated") as record:
            stack.partial_fit(binary_data)
        assert "training of this layer stopped" not in str(record[0].message)
        assert max(np.abs(p).max() for p in stack.layers_[0].parameters) < 10.0


def test_partial_fit_undoes_a_runaway_reconstruction():
    X = np.random.default_rng(0).normal(size=(100, 5))
    stack = GaussianRBMStack((5,), learning_rate=100.0, random_state=0)
    with pytest.warns(ConvergenceWarning, match="diverged in epoch 1"):
        stack.partial_fit(X)
    assert stack.layers_[0].reconstruction_error(X) < 10.0
    healthy = GaussianRBMStack((5,), learning_rate=0.01, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(5):
            healthy.partial_fit(X)


@pytest.mark.parametrize(
    "estimator",
    [
        DBNRegressor(hidden_layer_sizes=(5,), max_iter=5),
        DBNRegressor(hidden_layer_sizes=(5,), max_iter=5, pretrain=False),
        DBNClassifier(hidden_layer_sizes=(5,), max_iter=5),
        DBNAutoencoder(hidden_layer_sizes=(5, 2), max_iter=5),
        BernoulliRBMStack((5,)),
    ],
    ids=lambda e: type(e).__name__,
)
def test_input_whose_squares_overflow_is_rejected(estimator):
    rng = np.random.RandomState(0)
    U, y = rng.uniform(size=(40, 3)), rng.randint(2, size=40)
    target = (y,) if isinstance(estimator, (DBNClassifier, DBNRegressor)) else ()
    with pytest.raises(ValueError, match="too large .* squares overflow float64"):
        estimator.fit(np.finfo(float).max * U, *target)
    # In float32 the limit is sqrt(3.4e38) = 1.8e19.
    with pytest.raises(ValueError, match="squares overflow float32"):
        estimator.fit((1e20 * U).astype(np.float32), *target)
    # Large values below the limit are left to the range checks.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.set_params(max_iter=1) if hasattr(estimator, "max_iter") else None
        estimator.fit(1e100 * U, *target)


# ------------------------------------------------------------------- Ctrl-C


def test_interrupt_with_non_finite_parameters_restores_the_epoch(
    binary_data, monkeypatch
):
    original = RBMTrainer.run_epoch

    def run_epoch(self, *args, **kwargs):
        if self.epochs_done == 1:
            self.layer.weights[0, 0] = np.nan
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(RBMTrainer, "run_epoch", run_epoch)
    stack = BernoulliRBMStack((6,), n_epochs=3, batch_size=10, random_state=0)
    with pytest.warns(UserWarning, match="during epoch 2 of layer 1/1; restoring"):
        stack.fit(binary_data)
    assert stack.layers_[0].is_finite()
    assert len(stack.layers_[0].history) == 1


def test_interrupt_in_monitoring_stops_with_the_layers_begun(binary_data, monkeypatch):
    original = RBMTrainer.record

    def record(self, *args, **kwargs):
        if self.name.startswith("layer 2"):
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(RBMTrainer, "record", record)
    stack = BernoulliRBMStack((6, 5, 4), n_epochs=2, batch_size=10, random_state=0)
    with pytest.warns(UserWarning) as record_:
        stack.fit(binary_data)
    messages = [str(w.message) for w in record_]
    assert any("during epoch 1 of layer 2/3" in m for m in messages)
    assert any("Stopped after 2 of 3 layers" in m for m in messages)
    assert len(stack.layers_) == 2 and len(stack._trainers) == 2
    assert stack.transform(binary_data).shape == (60, 5)


def test_interrupt_between_layers_keeps_the_trained_layers(binary_data, monkeypatch):
    original = RBMTrainer.fit

    def fit(self, *args, **kwargs):
        completed = original(self, *args, **kwargs)
        if self.name.startswith("layer 1"):
            raise KeyboardInterrupt  # as if it landed right after layer 1
        return completed

    monkeypatch.setattr(RBMTrainer, "fit", fit)
    stack = BernoulliRBMStack((6, 5, 4), n_epochs=2, batch_size=10, random_state=0)
    with pytest.warns(UserWarning) as record:
        stack.fit(binary_data)
    messages = [str(w.message) for w in record]
    assert any(
        "interrupted by the user after layer 1/3 was trained" in m for m in messages
    )
    assert any("Stopped after 1 of 3 layers" in m for m in messages)
    assert len(stack.layers_) == 1 and len(stack.layers_[0].history) == 2
    assert stack.transform(binary_data).shape == (60, 6)


@pytest.mark.parametrize("fitted_before", [False, True])
def test_interrupt_before_training_leaves_the_stack_unfitted(
    binary_data, monkeypatch, fitted_before
):
    stack = BernoulliRBMStack((6, 5), n_epochs=1, batch_size=10, random_state=0)
    if fitted_before:
        stack.fit(binary_data)
    original = _RBMStackBase._create_layers

    def create_layers(self, *args, **kwargs):
        original(self, *args, **kwargs)
        del self.layers_[1:]  # as if interrupted half-way
        raise KeyboardInterrupt

    monkeypatch.setattr(_RBMStackBase, "_create_layers", create_layers)
    with pytest.raises(KeyboardInterrupt):
        stack.fit(binary_data)
    with pytest.raises(NotFittedError):
        check_is_fitted(stack)
    with pytest.raises(NotFittedError):
        stack.transform(binary_data)
    monkeypatch.undo()
    fresh = BernoulliRBMStack((6, 5), n_epochs=1, batch_size=10, random_state=0)
    stack.fit(binary_data)
    np.testing.assert_array_equal(
        stack.transform(binary_data), fresh.fit(binary_data).transform(binary_data)
    )


def test_interrupt_in_the_first_partial_fit_leaves_the_stack_unfitted(
    binary_data, monkeypatch
):
    monkeypatch.setattr(RBMTrainer, "run_epoch", interrupting_run_epoch("layer 2", 0))
    stack = BernoulliRBMStack((6, 5), batch_size=10, random_state=0)
    with pytest.raises(KeyboardInterrupt):
        stack.partial_fit(binary_data)
    with pytest.raises(NotFittedError):
        check_is_fitted(stack)
    monkeypatch.undo()
    stack.partial_fit(binary_data)
    monkeypatch.setattr(RBMTrainer, "run_epoch", interrupting_run_epoch("layer 2", 1))
    with pytest.raises(KeyboardInterrupt):
        stack.partial_fit(binary_data)
    # A later call keeps the layers and the updates made so far.
    assert len(stack.layers_) == 2
    assert stack.transform(binary_data).shape == (60, 5)


def classifier(**params):
    defaults = dict(n_epochs=2, batch_size=50, max_iter=20, random_state=0)
    return DBNClassifier(**{**defaults, **params})


def autoencoder(**params):
    defaults = dict(n_epochs=2, batch_size=50, max_iter=20, random_state=0)
    return DBNAutoencoder(**{**defaults, **params})


@pytest.mark.parametrize(
    "make, hidden_units",
    [
        (classifier, "bernoulli"),
        (classifier, ["bernoulli", "relu", "bernoulli"]),
        (autoencoder, "auto"),
        (autoencoder, ["bernoulli", "relu", "gaussian"]),
    ],
)
def test_interrupt_in_pretraining_stops_the_whole_fit(
    digits01, monkeypatch, make, hidden_units
):
    X, y = digits01
    args = (X, y) if make is classifier else (X,)
    monkeypatch.setattr(RBMTrainer, "run_epoch", interrupting_run_epoch("layer 2", 1))
    estimator = make(hidden_layer_sizes=(20, 12, 6), hidden_units=hidden_units)
    with pytest.warns(UserWarning) as record:
        estimator.fit(*args)
    messages = [str(w.message) for w in record]
    assert any("during epoch 2 of layer 2/3" in m for m in messages)
    assert any(
        "Pre-training interrupted by the user: the fit stopped before fine-tuning" in m
        and "layer 3 start untrained" in m
        for m in messages
    )
    assert not any("Stopped after" in m for m in messages)
    # No fine-tuning, and the network has every layer asked for.
    assert estimator.n_iter_ == 0 and estimator.loss_curve_ == []
    assert len(estimator.stack_.layers_) == 2
    assert [w.shape[1] for w in estimator.coefs_][:3] == [20, 12, 6]
    np.testing.assert_array_equal(
        estimator.coefs_[0], estimator.stack_.layers_[0].weights
    )
    check_is_fitted(estimator)
    assert estimator.transform(X).shape == (len(X), 6)
    assert np.isfinite(estimator.transform(X)).all()
    if make is classifier:
        assert np.isfinite(estimator.predict_proba(X)).all()
    # Fine-tuning resumes with warm_start.
    monkeypatch.undo()
    estimator.set_params(warm_start=True, max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(*args)
    assert estimator.n_iter_ == 3 and len(estimator.stack_.layers_) == 2


def test_interrupt_in_the_top_layer_keeps_every_layer(digits01, monkeypatch):
    X, y = digits01
    monkeypatch.setattr(RBMTrainer, "run_epoch", interrupting_run_epoch("layer 2", 1))
    clf = classifier(hidden_layer_sizes=(20, 12))
    with (
        pytest.warns(UserWarning, match="during epoch 2 of layer 2/2"),
        pytest.warns(UserWarning, match="hidden layers 1 to 2 start from the "),
    ):
        clf.fit(X, y)
    assert len(clf.stack_.layers_) == 2 and clf.n_iter_ == 0


def test_interrupt_in_the_joint_top_layer_stops_the_fit(digits01, monkeypatch):
    X, y = digits01
    monkeypatch.setattr(
        RBMTrainer, "run_epoch", interrupting_run_epoch("joint top layer", 1)
    )
    clf = classifier(hidden_layer_sizes=(20,), generative_layer_size=10)
    with (
        pytest.warns(UserWarning, match="during epoch 2 of joint top layer"),
        pytest.warns(UserWarning, match="fit stopped before fine-tuning"),
    ):
        clf.fit(X, y)
    assert clf.n_iter_ == 0
    assert clf.generative_layer_ is not None
    samples, labels = clf.sample(2, y=[0, 1], n_steps=2, random_state=0)
    assert samples.shape == (2, 64) and list(labels) == [0, 1]


@pytest.mark.parametrize("make", [classifier, autoencoder])
def test_interrupt_before_the_network_exists_leaves_it_unfitted(
    digits01, monkeypatch, make
):
    X, y = digits01
    args = (X, y) if make is classifier else (X,)
    estimator = make(hidden_layer_sizes=(8,), max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(*args)  # fitted before: a refit starts over

    def create_layers(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(_RBMStackBase, "_create_layers", create_layers)
    with pytest.raises(KeyboardInterrupt):
        estimator.fit(*args)
    with pytest.raises(NotFittedError):
        check_is_fitted(estimator)
    with pytest.raises(NotFittedError):
        estimator.transform(X)
    assert not hasattr(estimator, "_network")


@pytest.mark.parametrize("make", [classifier, autoencoder])
def test_interrupt_in_fine_tuning_monitoring_keeps_a_usable_model(
    digits01, monkeypatch, make
):
    X, y = digits01
    args = (X, y) if make is classifier else (X,)
    estimator = make(hidden_layer_sizes=(8,), early_stopping=True)
    cls = type(estimator)
    original, calls = cls._validation_score, []

    def validation_score(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cls, "_validation_score", validation_score)
    with pytest.warns(UserWarning, match="Fit interrupted by the user; keeping"):
        estimator.fit(*args)
    check_is_fitted(estimator)
    assert len(estimator.validation_scores_) == 2
    assert np.isfinite(estimator.transform(X)).all()
