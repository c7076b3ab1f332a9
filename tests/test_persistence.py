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

import io
import json
import os
import pickle
import pkgutil
import re
import warnings
import zipfile

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import skdbn
from skdbn import (
    BernoulliRBMStack,
    DBNAutoencoder,
    DBNClassifier,
    DBNRegressor,
    GaussianRBMStack,
    RBMImputer,
    TabularRBMStack,
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
    "TabularRBMStack": TabularRBMStack((16,), n_epochs=2, random_state=0),
    "RBMImputer": RBMImputer(8, n_epochs=2, add_indicator=True, random_state=0),
    "DBNClassifier": DBNClassifier((16,), n_epochs=2, max_iter=3, random_state=0),
    "DBNClassifier-no-pretrain": DBNClassifier(
        (16,), pretrain=False, solver="sgd", max_iter=3, random_state=0
    ),
    "DBNClassifier-early-stopping": DBNClassifier(
        (16,), n_epochs=2, max_iter=3, early_stopping=True, random_state=0
    ),
    # The generative top layer, fine-tuned by up-down (skdbn._updown).
    "DBNClassifier-updown": DBNClassifier(
        (16,),
        n_epochs=2,
        max_iter=3,
        generative_layer_size=8,
        updown_epochs=1,
        random_state=0,
    ),
    "DBNRegressor": DBNRegressor((16,), n_epochs=2, max_iter=3, random_state=0),
    "DBNRegressor-lbfgs": DBNRegressor(
        (16,), n_epochs=2, solver="lbfgs", max_iter=3, random_state=0
    ),
    "DBNAutoencoder-variational": DBNAutoencoder(
        (16, 4), n_epochs=2, max_iter=3, variational=True, random_state=0
    ),
    "DBNAutoencoder-rbm-prior": DBNAutoencoder(
        (16, 4),
        n_epochs=2,
        max_iter=3,
        variational=True,
        prior="rbm",
        prior_n_components=3,
        prior_n_epochs=2,
        random_state=0,
    ),
    "DBNAutoencoder-laplace-prior": DBNAutoencoder(
        (16, 4),
        n_epochs=2,
        max_iter=3,
        variational=True,
        prior="laplace",
        laplace_scale=0.3,
        random_state=0,
    ),
    # visible_units="auto" on data outside [0, 1] (see RAW_INPUT): Gaussian
    # units and the input scaling as fitted state.
    "DBNClassifier-auto-scaled": DBNClassifier(
        (16,), n_epochs=2, max_iter=3, random_state=0
    ),
    "DBNAutoencoder-auto-scaled": DBNAutoencoder(
        (16, 4), n_epochs=2, max_iter=3, variational=True, random_state=0
    ),
}

#: The estimators fitted on raw-looking data (pixel values 0 to 16, shifted).
RAW_INPUT = {"DBNClassifier-auto-scaled", "DBNAutoencoder-auto-scaled"}


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
            data = X * 16 - 2 if name in RAW_INPUT else X
            models[name] = estimator.fit(data, target)
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


# -- Crafted files ---------------------------------------------------------------
# A file is the attacker's: every tag in it may name anything. Only the
# allow-listed classes of skdbn._serialization may be rebuilt, and each with
# the attribute types, dtypes and shapes listed there.

SKDBN_MODULES = sorted(
    f"skdbn.{info.name}" for info in pkgutil.iter_modules(skdbn.__path__)
)
DANGEROUS = ["pickle.loads", "os.system", "builtins.eval", "importlib.import_module"]


def _rewrite_skops(data, old, new):
    """The skops file ``data`` with the string ``old`` replaced by ``new``."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            content = source.read(name)
            if name == "schema.json":
                # skops stores a string as its JSON text inside a JSON string.
                text, needle = content.decode(), json.dumps(json.dumps(old))[1:-1]
                assert needle in text
                content = text.replace(needle, json.dumps(json.dumps(new))[1:-1])
                content = content.encode()
            target.writestr(name, content)
    return out.getvalue()


@pytest.fixture
def calls(monkeypatch):
    """Records any call of the functions an attacker would name."""
    record = []

    def spy(name):
        return lambda *args, **kwargs: record.append(name)

    monkeypatch.setattr(os, "system", spy("os.system"))
    monkeypatch.setattr(pickle, "loads", spy("pickle.loads"))
    return record


@pytest.mark.parametrize("target", DANGEROUS)
@pytest.mark.parametrize("module", SKDBN_MODULES)
@pytest.mark.parametrize(
    "replaced",
    ["skdbn._rbm:RBMLayer", "skdbn._activations:LogisticActivation"],
    ids=["object", "class"],
)
def test_crafted_skops_file_cannot_name_functions(
    fitted, calls, replaced, module, target
):
    # "skdbn.datasets:pickle.loads" is reachable from an skdbn module (it
    # imports pickle), but it is not a class skdbn means to rebuild.
    model, X = fitted[0]["DBNClassifier"], fitted[1]
    crafted = f"{module}:{target}"
    data = _rewrite_skops(sio.dumps(model), replaced, crafted)
    with pytest.raises(ValueError, match="Refusing to load") as error:
        sio.loads(data, trusted=[_own_class(model)]).predict(X)
    assert repr(crafted) in str(error.value)
    assert "not one of the classes skdbn" in str(error.value)
    assert calls == []


def _tagged(state, path):
    """The first tagged dictionary for class ``path`` in a plain state."""
    from skdbn._serialization import TAG

    stack = [state]
    while stack:
        value = stack.pop(0)
        if isinstance(value, dict):
            if value.get(TAG) == path:
                return value
            stack.extend(value.values())
        elif isinstance(value, list | tuple):
            stack.extend(value)
    raise LookupError(path)


def _load_plain(model, state):
    loaded = type(model).__new__(type(model))
    loaded.__setstate__(state)
    return loaded


TAMPERED = {
    "wrong-shape": (
        "skdbn._rbm:RBMLayer",
        "weights",
        lambda W: np.zeros((W.shape[0] + 1, W.shape[1])),
        "visible_bias of shape",
    ),
    "integer-dtype": (
        "skdbn._rbm:RBMLayer",
        "hidden_bias",
        lambda b: b.astype(np.int64),
        "RBMLayer.hidden_bias is an array of dtype int64",
    ),
    "object-dtype": (
        "skdbn._rbm:RBMLayer",
        "weights",
        lambda W: W.astype(object),
        "RBMLayer.weights is an array of dtype object",
    ),
    "string-for-array": (
        "skdbn._network:FeedForwardNetwork",
        "weights",
        lambda weights: ["W"] * len(weights),
        "FeedForwardNetwork.weights is list",
    ),
    "string-for-number": (
        "skdbn._training:TrainingSettings",
        "batch_size",
        lambda n: "10",
        "TrainingSettings.batch_size is str",
    ),
    "bool-for-integer": (
        "skdbn._contrastive_divergence:ContrastiveDivergence",
        "n_steps",
        lambda n: True,
        "ContrastiveDivergence.n_steps is bool",
    ),
    "unknown-unit-type": (
        "skdbn._rbm:RBMLayer",
        "hidden_units",
        lambda name: "os.system",
        "RBMLayer.hidden_units is str 'os.system'",
    ),
    "weights-that-do-not-chain": (
        "skdbn._network:FeedForwardNetwork",
        "weights",
        lambda weights: [weights[0][:, :3], *weights[1:]],
        "FeedForwardNetwork has weights",
    ),
    "velocity-of-another-shape": (
        "skdbn._training:RBMTrainer",
        "velocities",
        lambda velocities: [v[:1] for v in velocities],
        "velocities of the shapes",
    ),
    "estimator-attribute": (
        "skdbn._stack:BernoulliRBMStack",
        "n_features_in_",
        lambda n: str(n),
        "BernoulliRBMStack.n_features_in_ is str",
    ),
}


@pytest.mark.parametrize("case", TAMPERED)
def test_tampered_state_is_refused_naming_the_entry(fitted, case):
    from skdbn._serialization import plain_state

    path, attribute, tamper, message = TAMPERED[case]
    model = fitted[0]["DBNClassifier"]
    state = plain_state(model.__getstate__())
    entry = _tagged(state, path)["state"]
    entry[attribute] = tamper(entry[attribute])
    with pytest.raises(ValueError, match=re.escape(message)):
        _load_plain(model, state)
    # The same bytes through pickle meet the same checks.
    with pytest.raises(ValueError, match=re.escape(message)):
        pickle.loads(pickle.dumps(_Raw(type(model), state)))


class _Raw:
    """Pickles as an instance of ``cls`` with the given (tampered) state."""

    def __init__(self, cls, state):
        self.cls, self.state = cls, state

    def __reduce__(self):
        return (object.__new__, (self.cls,), self.state)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda s: s.update(extra=1), "unexpected attributes ['extra']"),
        (lambda s: s.pop("history"), "lacks the attributes ['history']"),
    ],
    ids=["unexpected", "missing"],
)
def test_attributes_must_be_exactly_those_listed(fitted, change, message):
    from skdbn._serialization import plain_state

    model = fitted[0]["BernoulliRBMStack"]
    state = plain_state(model.__getstate__())
    change(_tagged(state, "skdbn._rbm:RBMLayer")["state"])
    with pytest.raises(ValueError, match=re.escape(message)):
        _load_plain(model, state)


def test_crafted_references_and_ids_are_refused():
    from skdbn._serialization import CLASS, REFERENCE, TAG, restore_state

    with pytest.raises(ValueError, match="names no object stored before"):
        restore_state({REFERENCE: 7})
    with pytest.raises(ValueError, match="is not a new integer"):
        restore_state({TAG: "skdbn._progress:EpochClock", "id": "0", "state": {}})
    with pytest.raises(ValueError, match="not one of the classes skdbn refers to"):
        # A rebuildable class is still no activation to refer to.
        restore_state({CLASS: "skdbn._rbm:RBMLayer"})
    with pytest.raises(ValueError, match="'os:system' is not one of the classes"):
        restore_state({TAG: "os:system", "id": 0, "state": {}})


def test_every_rebuilt_class_is_listed_with_its_real_attributes(fitted):
    # The allow-list must cover what the estimators store, exactly: each
    # rebuilt object's attributes are the ones listed for its class.
    from skdbn._serialization import REBUILT_CLASSES, TAG, plain_state

    models, _ = fitted
    seen = set()
    for model in models.values():
        stack = [plain_state(model.__getstate__())]
        while stack:
            value = stack.pop()
            if isinstance(value, dict):
                if TAG in value:
                    seen.add(value[TAG])
                stack.extend(value.values())
            elif isinstance(value, list | tuple):
                stack.extend(value)
    assert seen <= set(REBUILT_CLASSES)
    assert "skdbn._rbm:RBMLayer" in seen and "skdbn._optimizers:AdamOptimizer" in seen


def _partial_fitted(name):
    X, y = _digits()
    if name == "stack-partial-fit":
        return BernoulliRBMStack((8,), random_state=0).partial_fit(X)
    if name == "stack-sparse-partial-fit":
        return BernoulliRBMStack((8,), sparsity_cost=0.1, random_state=0).partial_fit(X)
    if name == "stack-sparse-fit":
        return BernoulliRBMStack(
            (8,), sparsity_cost=0.1, n_epochs=1, random_state=0
        ).fit(X)
    return DBNClassifier((8,), random_state=0).partial_fit(X, y, classes=range(10))


@pytest.mark.parametrize(
    "name",
    [
        "stack-partial-fit",
        "stack-sparse-partial-fit",
        "stack-sparse-fit",
        "classifier-partial-fit",
    ],
)
def test_states_reached_by_other_paths_round_trip(name):
    # partial_fit alone never times a whole fit (no epoch clock), and a
    # sparsity penalty keeps a running mean: both are valid states to load.
    model = _partial_fitted(name)
    X = _digits()[0]
    data = sio.dumps(model)
    loaded = sio.loads(data, trusted=[_own_class(model)])
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))


@pytest.mark.parametrize("optimizer", ["SGDOptimizer", "AdamOptimizer"])
def test_an_optimizer_that_never_stepped_round_trips(optimizer):
    # A fit interrupted before its first fine-tuning step leaves one.
    from skdbn import _optimizers
    from skdbn._serialization import plain_state, restore_state

    fresh = getattr(_optimizers, optimizer)(learning_rate=0.1)
    restored = restore_state(plain_state(fresh))
    assert type(restored) is type(fresh)
    assert vars(restored) == vars(fresh)


# -- Files written before a class moved --------------------------------------------
# skops and pickle files name skdbn's helper classes by "module:Class". Files
# written before a class moved name its old module; MOVED_CLASSES maps those
# old paths, and only those, to the classes' new homes.

#: Written by the code of commit e4377c7, before the activations, optimisers
#: and AutoencoderNetwork left _network.py and _autoencoder.py:
#: ``DBNClassifier((8,), n_epochs=1, max_iter=2, solver="sgd", random_state=0)``
#: and ``DBNAutoencoder((8, 2), n_epochs=1, max_iter=2, variational=True,
#: random_state=0)`` fitted on the first 120 rows of ``load_digits_01``, with
#: what they computed from the first 10 rows, dumped by ``skops.io.dump`` as
#: one dict (ZIP_DEFLATED).
BEFORE_SPLIT = os.path.join(
    os.path.dirname(__file__), "data", "persisted_before_split.skops"
)


def test_file_written_before_the_classes_moved_still_loads():
    from skdbn._activations import LogisticActivation, SoftmaxOutput
    from skdbn._autoencoder_network import AutoencoderNetwork
    from skdbn._contrastive_divergence import ContrastiveDivergence
    from skdbn._optimizers import AdamOptimizer, SGDOptimizer

    with zipfile.ZipFile(BEFORE_SPLIT) as archive:
        schema = archive.read("schema.json").decode()
    for old in [
        "skdbn._network:SGDOptimizer",
        "skdbn._network:AdamOptimizer",
        "skdbn._network:LogisticActivation",
        "skdbn._network:SoftmaxOutput",
        "skdbn._autoencoder:AutoencoderNetwork",
        "skdbn._rbm:ContrastiveDivergence",
    ]:
        assert json.dumps(json.dumps(old))[1:-1] in schema, old
    trusted = ["skdbn._autoencoder.DBNAutoencoder", "skdbn._dbn.DBNClassifier"]
    assert sorted(sio.get_untrusted_types(file=BEFORE_SPLIT)) == trusted
    data = sio.load(BEFORE_SPLIT, trusted=trusted)
    classifier, autoencoder, X = data["classifier"], data["autoencoder"], data["X"]
    assert type(classifier) is DBNClassifier  # written as skdbn._dbn.DBNClassifier
    assert type(classifier._optimizer) is SGDOptimizer
    assert classifier._network._hidden == [LogisticActivation]
    assert classifier._network._output is SoftmaxOutput
    assert type(autoencoder._optimizer) is AdamOptimizer
    assert type(autoencoder._network) is AutoencoderNetwork
    trainers = classifier.stack_._trainers
    assert trainers and all(
        type(trainer.gradient) is ContrastiveDivergence for trainer in trainers
    )
    codes = autoencoder.transform(X)
    for name, computed in [
        ("predict_proba", classifier.predict_proba(X)),
        ("transform", codes),
        ("inverse_transform", autoencoder.inverse_transform(codes)),
    ]:
        np.testing.assert_allclose(computed, data[name], rtol=1e-10, err_msg=name)
    # The restored optimisers carry on training.
    before = classifier.predict_proba(X)
    classifier.partial_fit(X, classifier.predict(X))
    assert not np.array_equal(classifier.predict_proba(X), before)
    assert classifier._optimizer.velocities is not None


@pytest.mark.parametrize(
    "estimator, module",
    [(DBNClassifier, b"skdbn._classifier"), (DBNRegressor, b"skdbn._regressor")],
)
def test_pickle_naming_the_estimators_old_module_still_loads(estimator, module):
    # Both estimators lived in skdbn._dbn; a pickle written then names it.
    X, y = load_digits_01(return_X_y=True)
    X, y = X[:60], y[:60] % 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = estimator((8,), n_epochs=1, max_iter=2, random_state=0).fit(X, y)
    name = estimator.__name__.encode()
    data = pickle.dumps(model, protocol=0)  # text opcodes: "c<module>\n<name>"
    assert data.count(module + b"\n" + name) == 1
    old = data.replace(module + b"\n" + name, b"skdbn._dbn\n" + name)
    restored = pickle.loads(old)
    assert type(restored) is estimator
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))


def test_pickle_naming_the_gradient_estimators_old_module_still_loads():
    # ContrastiveDivergence and SparsityPenalty lived in skdbn._rbm. A stack
    # keeps them (in its trainers, for partial_fit); its pickle names them in
    # its plain state, which MOVED_CLASSES maps to their new module.
    X = load_digits_01(return_X_y=True)[0][:60]
    stack = BernoulliRBMStack(
        (8,), n_epochs=1, sparsity_target=0.1, sparsity_cost=0.1, random_state=0
    ).fit(X)
    data = pickle.dumps(stack, protocol=0)
    for name in (b"ContrastiveDivergence", b"SparsityPenalty"):
        current = b"skdbn._contrastive_divergence:" + name
        assert data.count(current) == 1, name
        data = data.replace(current, b"skdbn._rbm:" + name)
    restored = pickle.loads(data)
    np.testing.assert_array_equal(restored.transform(X), stack.transform(X))
    restored.partial_fit(X)  # the restored estimators carry on training


def test_moved_classes_map_old_paths_to_current_ones():
    from skdbn._serialization import (
        MOVED_CLASSES,
        REBUILT_CLASSES,
        REFERENCED_CLASSES,
        _allowed_class,
    )

    current = set(REBUILT_CLASSES) | REFERENCED_CLASSES
    for old, new in MOVED_CLASSES.items():
        assert old not in current and new in current
        allowed = REBUILT_CLASSES if new in REBUILT_CLASSES else REFERENCED_CLASSES
        assert _allowed_class(old, allowed, "rebuilds") is _allowed_class(
            new, allowed, "rebuilds"
        )


def test_old_path_in_a_file_loads_as_the_moved_class(fitted):
    model, X = fitted[0]["DBNClassifier"], fitted[1]
    data = _rewrite_skops(
        sio.dumps(model),
        "skdbn._optimizers:AdamOptimizer",
        "skdbn._network:AdamOptimizer",
    )
    loaded = sio.loads(data, trusted=[_own_class(model)])
    assert type(loaded._optimizer) is type(model._optimizer)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


@pytest.mark.parametrize(
    "replaced, crafted",
    [
        # Never a persisted class at that path, nor one that moved.
        ("skdbn._optimizers:AdamOptimizer", "skdbn._autoencoder:AdamOptimizer"),
        ("skdbn._optimizers:AdamOptimizer", "skdbn._network:_Optimizer"),
        ("skdbn._optimizers:AdamOptimizer", "skdbn._network:glorot_uniform"),
        ("skdbn._optimizers:AdamOptimizer", "skdbn.evaluation:AISResult"),
        # An activation's old path still names a class referred to, never built.
        ("skdbn._optimizers:AdamOptimizer", "skdbn._network:LogisticActivation"),
        # An optimiser's old path names a class built, never referred to.
        ("skdbn._activations:LogisticActivation", "skdbn._network:SGDOptimizer"),
    ],
)
def test_paths_not_listed_as_moved_are_refused(fitted, calls, replaced, crafted):
    model, X = fitted[0]["DBNClassifier"], fitted[1]
    data = _rewrite_skops(sio.dumps(model), replaced, crafted)
    with pytest.raises(ValueError, match="Refusing to load") as error:
        sio.loads(data, trusted=[_own_class(model)]).predict(X)
    assert repr(crafted) in str(error.value)
    assert "not one of the classes skdbn" in str(error.value)
    assert calls == []
