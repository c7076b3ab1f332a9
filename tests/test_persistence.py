"""Safe persistence: every fitted estimator round-trips through ``skops.io``.

``skops.io`` refuses to load any type it does not trust (by default, only
scikit-learn's, numpy's and scipy's own types and Python builtins), so that a
file from a stranger cannot run code. A third-party estimator's class can
never be on that list, so the goal is that it is the *only* type to approve:
skdbn estimators store their fitted state as plain arrays, numbers, strings
and containers (see ``skdbn._serialization``), and ``skops.io.loads(data,
trusted=["skdbn._stack.BernoulliRBMStack"])`` is all a user writes.

To cover a new public estimator, add a fitted instance's recipe to
``ESTIMATORS``.
"""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skdbn import (
    BernoulliRBMStack,
    DBNAutoencoder,
    DBNClassifier,
    DBNRegressor,
    GaussianRBMStack,
)
from skdbn.datasets import load_digits_01

sio = pytest.importorskip("skops.io")

#: Tiny, fast instances of every public estimator (and of the settings that
#: keep extra fitted state, such as the persistent chains of PCD).
ESTIMATORS = {
    "BernoulliRBMStack": BernoulliRBMStack((16, 8), n_epochs=2, random_state=0),
    "BernoulliRBMStack-persistent": BernoulliRBMStack(
        (16,), n_epochs=2, persistent=True, random_state=0
    ),
    "GaussianRBMStack": GaussianRBMStack((16,), n_epochs=2, random_state=0),
    "GaussianRBMStack-learn-variance-relu": GaussianRBMStack(
        (16,), hidden_units="relu", learn_variance=True, n_epochs=2, random_state=0
    ),
    "DBNClassifier": DBNClassifier((16,), n_epochs=2, max_iter=3, random_state=0),
    "DBNClassifier-no-pretrain": DBNClassifier(
        (16,), pretrain=False, solver="sgd", max_iter=3, random_state=0
    ),
    "DBNClassifier-early-stopping": DBNClassifier(
        (16,), n_epochs=2, max_iter=3, early_stopping=True, random_state=0
    ),
    "DBNRegressor": DBNRegressor((16,), n_epochs=2, max_iter=3, random_state=0),
    "DBNAutoencoder-variational": DBNAutoencoder(
        (16, 4), n_epochs=2, max_iter=3, variational=True, random_state=0
    ),
}


def _digits():
    X, y = load_digits_01(return_X_y=True)
    return X[:200], y[:200]


@pytest.fixture(scope="module")
def fitted():
    """Each estimator of ``ESTIMATORS`` fitted on a digits subset, with its data."""
    X, y = _digits()
    models = {}
    for name, estimator in ESTIMATORS.items():
        target = y.astype(float) / 9 if isinstance(estimator, DBNRegressor) else y
        with warnings.catch_warnings():
            # max_iter=3 is far too few fine-tuning epochs to converge.
            warnings.simplefilter("ignore", ConvergenceWarning)
            models[name] = estimator.fit(X, target)
    return models, X


def _outputs(estimator, X):
    """Everything the fitted estimator computes from ``X``."""
    methods = [
        "predict",
        "predict_proba",
        "transform",
        "score_samples",
        "inverse_transform",
    ]
    outputs = {}
    for method in methods:
        if not hasattr(estimator, method):
            continue
        if method == "inverse_transform":
            outputs[method] = estimator.inverse_transform(estimator.transform(X))
        else:
            outputs[method] = getattr(estimator, method)(X)
    return outputs


@pytest.mark.parametrize("name", ESTIMATORS)
def test_round_trip_keeps_predictions(fitted, name):
    models, X = fitted
    estimator = models[name]
    data = sio.dumps(estimator)
    untrusted = sio.get_untrusted_types(data=data)
    loaded = sio.loads(data, trusted=untrusted)
    assert type(loaded) is type(estimator)
    before, after = _outputs(estimator, X), _outputs(loaded, X)
    assert before.keys() == after.keys() and before
    for method in before:
        np.testing.assert_array_equal(after[method], before[method], err_msg=method)


def _own_class(estimator):
    cls = type(estimator)
    return f"{cls.__module__}.{cls.__name__}"


@pytest.mark.parametrize("name", ESTIMATORS)
def test_only_the_estimator_class_needs_trusting(fitted, name):
    # Nothing from numpy.random, no function, no internal helper object: the
    # one type to approve is the public estimator class the user asked for.
    models, X = fitted
    data = sio.dumps(models[name])
    assert sio.get_untrusted_types(data=data) == [_own_class(models[name])]
    loaded = sio.loads(data, trusted=[_own_class(models[name])])
    before, after = _outputs(models[name], X), _outputs(loaded, X)
    for method in before:
        np.testing.assert_array_equal(after[method], before[method], err_msg=method)


@pytest.mark.parametrize("name", ["BernoulliRBMStack-persistent", "DBNClassifier"])
def test_loaded_model_trains_on_as_the_original(fitted, name):
    # Shared objects (a layer and its trainer) stay shared through the plain
    # state, so partial_fit after loading continues the same training.
    models, X = fitted
    original = models[name]
    data = sio.dumps(original)
    copies = [sio.loads(data, trusted=[_own_class(original)]) for _ in range(2)]
    y = _digits()[1]
    args = (X,) if "Stack" in name else (X, y)
    for model in copies:
        model.partial_fit(*args)
    np.testing.assert_array_equal(copies[0].transform(X), copies[1].transform(X))
    if "Stack" in name:
        assert copies[0]._trainers[0].layer is copies[0].layers_[0]
        assert not np.array_equal(copies[0].transform(X), original.transform(X))


def test_crafted_state_cannot_rebuild_foreign_types():
    from skdbn._serialization import TAG, restore_state

    with pytest.raises(ValueError, match="not an skdbn type"):
        restore_state({TAG: "os:system", "id": 0, "state": {}})
