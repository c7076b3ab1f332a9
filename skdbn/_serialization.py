"""Plain-data state of fitted estimators, for safe persistence.

A fitted estimator holds skdbn's own helper objects (``RBMLayer``,
trainers, the fine-tuning network and its optimiser). Pickle stores them as
they are, but ``skops.io`` refuses to load any type it does not know unless
the user approves it. ``plain_state`` turns those objects into tagged
dictionaries of arrays, numbers and strings, and ``restore_state`` rebuilds
them, so that the only type a saved skdbn estimator asks ``skops`` to trust
is the estimator's own class.

Restoring is the security boundary: the tags come from the file, and a
crafted file may name anything. So ``restore_state`` rebuilds only the
classes listed in ``REBUILT_CLASSES`` (and refers only to the activation
classes in ``REFERENCED_CLASSES``), checks every attribute of every rebuilt
object against the types, dtypes and shapes listed here, and refuses
anything else with a ``ValueError`` that names the offending entry.
"""

import importlib
import numbers

import numpy as np

#: Key that marks a dictionary as the state of one of skdbn's objects.
TAG = "__skdbn_object__"
#: Key of a dictionary that stands for an object already stored earlier.
REFERENCE = "__skdbn_reference__"
#: Key of a dictionary that stands for one of skdbn's classes (e.g. the
#: activation a network holds).
CLASS = "__skdbn_class__"
_MARKERS = (TAG, REFERENCE, CLASS)


def _refuse(where, problem):
    raise ValueError(f"Refusing to load skdbn model state: {where} {problem}.")


# -- Type checks -----------------------------------------------------------------
# A check takes the restored value and returns None when it is acceptable, or
# a description of what was expected.


def _kind(description, accepts):
    def check(value):
        return None if accepts(value) else description

    return check


def _is_integer(value):
    return isinstance(value, numbers.Integral) and not isinstance(
        value, bool | np.bool_
    )


INTEGER = _kind("an integer", _is_integer)
POSITIVE_INTEGER = _kind("a positive integer", lambda v: _is_integer(v) and v > 0)
REAL = _kind(
    "a real number",
    lambda v: isinstance(v, numbers.Real) and not isinstance(v, bool | np.bool_),
)
BOOLEAN = _kind("a boolean", lambda v: isinstance(v, bool | np.bool_))
STRING = _kind("a string", lambda v: isinstance(v, str))
GENERATOR = _kind(
    "a numpy.random.Generator", lambda v: isinstance(v, np.random.Generator)
)


def _is_float_array(value, ndim):
    return (
        isinstance(value, np.ndarray)
        and value.dtype in (np.float32, np.float64)
        and (ndim is None or value.ndim == ndim)
    )


def float_array(ndim=None):
    """A float32 or float64 array, of ``ndim`` dimensions if given."""
    dims = "" if ndim is None else f"{ndim}-d "
    return _kind(
        f"a {dims}float32 or float64 array", lambda v: _is_float_array(v, ndim)
    )


def optional(check):
    """``check``, or None."""

    def optional_check(value):
        problem = None if value is None else check(value)
        return None if problem is None else f"None or {problem}"

    return optional_check


def list_of(check):
    """A list (or tuple) whose every item passes ``check``."""

    def list_check(value):
        if not isinstance(value, list | tuple):
            return "a list"
        for i, item in enumerate(value):
            problem = check(item)
            if problem is not None:
                return f"a list whose item {i} is {problem}"
        return None

    return list_check


def instance_of(*paths):
    """An object rebuilt from one of the ``REBUILT_CLASSES`` at ``paths``."""

    def instance_check(value):
        return (
            None
            if _path(type(value)) in paths
            else "an instance of " + (" or ".join(paths))
        )

    return instance_check


def class_in(paths):
    """One of the ``REFERENCED_CLASSES`` at ``paths``."""

    def class_check(value):
        ok = isinstance(value, type) and _path(value) in paths
        return None if ok else "one of the classes " + ", ".join(sorted(paths))

    return class_check


def _is_plain(value):
    if value is None or isinstance(value, str | bool | np.bool_ | numbers.Number):
        return True
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "biuf"
    if isinstance(value, list | tuple):
        return all(_is_plain(item) for item in value)
    if isinstance(value, dict):
        return all(
            isinstance(key, str) and _is_plain(item) for key, item in value.items()
        )
    return False


#: Numbers, strings, numeric arrays and containers of them (a history).
PLAIN = _kind("plain data (numbers, strings, numeric arrays, lists, dicts)", _is_plain)


# -- What may be rebuilt -----------------------------------------------------------


def _unit_name(value):
    from ._units import UNIT_TYPES

    return None if value in UNIT_TYPES else f"one of {sorted(UNIT_TYPES)}"


def _visible_unit_name(value):
    from ._mixed_units import MIXED

    return None if value == MIXED else _unit_name(value)


def _is_int_array(value, ndim):
    return (
        isinstance(value, np.ndarray)
        and value.dtype.kind in "iu"
        and (ndim is None or value.ndim == ndim)
    )


def int_array(ndim=None):
    """An integer array, of ``ndim`` dimensions if given."""
    dims = "" if ndim is None else f"{ndim}-d "
    return _kind(f"a {dims}integer array", lambda v: _is_int_array(v, ndim))


def _activation_name(value):
    names = value if isinstance(value, list | tuple) else [value]
    from ._activations import ACTIVATIONS, OUTPUT_ACTIVATIONS

    known = set(ACTIVATIONS) | set(OUTPUT_ACTIVATIONS)
    if all(isinstance(name, str) and name in known for name in names):
        return None
    return f"one of {sorted(known)}, or a list of them"


#: The activation classes a network refers to (values, never instantiated).
REFERENCED_CLASSES = frozenset(
    f"skdbn._activations:{name}"
    for name in (
        "LogisticActivation",
        "TanhActivation",
        "ReluActivation",
        "IdentityActivation",
        "SoftmaxOutput",
        "LogisticOutput",
        "IdentityOutput",
    )
)

_LAYER = "skdbn._rbm:RBMLayer"
_STACKS = (
    "skdbn._stack:BernoulliRBMStack",
    "skdbn._stack:GaussianRBMStack",
)
_OPTIMIZERS = ("skdbn._optimizers:SGDOptimizer", "skdbn._optimizers:AdamOptimizer")


def _check_layer(state):
    n_visible, n_hidden = state["weights"].shape
    dtype = state["weights"].dtype
    for name, length in [
        ("visible_bias", n_visible),
        ("hidden_bias", n_hidden),
        ("visible_log_std", n_visible),
    ]:
        array = state[name]
        if array is not None and (array.shape != (length,) or array.dtype != dtype):
            return f"{name} of shape {array.shape} and dtype {array.dtype}, for "
    layout = state.get("visible_layout")
    mixed = state["visible_units"] == "mixed"
    if mixed != (layout is not None):
        return "a visible_layout that does not match its visible_units"
    if mixed:
        from ._mixed_units import check_layout

        try:
            check_layout(layout, n_visible)
        except ValueError as error:
            return f"an invalid visible_layout ({error})"
    return None


def _check_layer_chain(weights, biases):
    for i, (W, b) in enumerate(zip(weights, biases, strict=False)):
        if b.shape != (W.shape[1],) or W.dtype != weights[0].dtype:
            return f"weights[{i}] {W.shape} and biases[{i}] {b.shape} that do not match"
        if i and weights[i - 1].shape[1] != W.shape[0]:
            return f"weights[{i - 1}] and weights[{i}] that do not chain"
    if len(weights) != len(biases):
        return "as many weights as biases"
    return None


def _check_network(state):
    return _check_layer_chain(state["weights"], state["biases"]) or (
        None if not state["_buffers"] else "empty _buffers"
    )


def _check_autoencoder_network(state):
    return _check_layer_chain(state["weights"], state["biases"])


def _check_updown(state):
    recognition = state["recognition_weights"]
    problem = _check_layer_chain(recognition, state["recognition_biases"])
    if problem:
        return f"recognition {problem}"
    generative = state["generative_weights"]
    if [W.T.shape for W in generative] != [W.shape for W in recognition] or any(
        W.dtype != recognition[0].dtype for W in generative
    ):
        return "generative_weights that are not the recognition weights' mirror"
    biases = state["generative_biases"]
    if [b.shape for b in biases] != [(W.shape[0],) for W in recognition]:
        return "generative_biases that do not match the layers"
    top = state["top"]
    n_top = recognition[-1].shape[1] if recognition else None
    if top.n_visible - state["n_labels"] != n_top:
        return "a top layer that does not read the last layer and the labels"
    return None


def _check_trainer(state):
    shapes = [np.shape(p) for p in state["layer"].parameters]
    if [v.shape for v in state["velocities"]] != shapes:
        return "velocities of the shapes of the layer's parameters"
    return None


def _check_stack(state):
    layers = state.get("layers_", [])
    for lower, upper in zip(layers, layers[1:], strict=False):
        if lower.n_hidden != upper.n_visible:
            return "layers_ that do not chain"
    n_features = state.get("n_features_in_")
    if layers and n_features is not None and layers[0].n_visible != n_features:
        return "layers_ whose first layer does not read n_features_in_ features"
    return None


def _check_tabular_stack(state):
    """The stack's layers chain, and the first reads the coded columns."""
    layers = state.get("layers_", [])
    for lower, upper in zip(layers, layers[1:], strict=False):
        if lower.n_hidden != upper.n_visible:
            return "layers_ that do not chain"
    kinds, categories = state.get("column_types_"), state.get("categories_")
    if kinds is None or categories is None:
        return None
    if len(kinds) != state.get("n_features_in_", len(kinds)):
        return "column_types_ that do not give one type per column"
    if kinds.count("categorical") != len(categories):
        return "categories_ that do not give one list per categorical column"
    n_gaussian = kinds.count("gaussian")
    for name in ("numeric_mean_", "numeric_scale_"):
        if name in state and state[name].shape != (n_gaussian,):
            return f"a {name} without one value per Gaussian column"
    n_units = n_gaussian + kinds.count("bernoulli") + sum(map(len, categories))
    if layers and layers[0].n_visible != n_units:
        return "layers_ whose first layer does not read the coded columns"
    return None


#: Every class ``restore_state`` may instantiate, with the attributes of its
#: state: name -> type check, and a check of the whole state (shapes that
#: must agree). ``partial``: estimators, whose fitted attributes exist only
#: once fitted and whose parameters are validated by ``fit``; only the
#: attributes listed are checked, when present.
REBUILT_CLASSES = {
    _LAYER: {
        "attributes": {
            "weights": float_array(2),
            "visible_bias": float_array(1),
            "hidden_bias": float_array(1),
            "visible_units": _visible_unit_name,
            "hidden_units": _unit_name,
            "visible_log_std": optional(float_array(1)),
            "visible_layout": optional(int_array(1)),
            "history": PLAIN,
        },
        # Only layers with mixed visible units have a layout.
        "optional": {"visible_layout"},
        "check": _check_layer,
    },
    "skdbn._contrastive_divergence:SparsityPenalty": {
        "attributes": {
            "target": REAL,
            "cost": REAL,
            "decay": REAL,
            "mean_activity": optional(float_array(1)),
            "_shift": float_array(1),
        },
        "optional": {"_shift"},
    },
    "skdbn._contrastive_divergence:ContrastiveDivergence": {
        "attributes": {
            "layer": instance_of(_LAYER),
            "batch_size": POSITIVE_INTEGER,
            "n_steps": POSITIVE_INTEGER,
            "persistent": BOOLEAN,
            "chains": optional(float_array(2)),
        },
    },
    "skdbn._training:TrainingSettings": {
        "attributes": {
            "learning_rate": REAL,
            "n_epochs": INTEGER,
            "batch_size": POSITIVE_INTEGER,
            "cd_steps": POSITIVE_INTEGER,
            "persistent": BOOLEAN,
            "momentum": REAL,
            "initial_momentum": REAL,
            "momentum_ramp_epochs": INTEGER,
            "learning_rate_schedule": STRING,
            "weight_decay": REAL,
            "sparsity_target": REAL,
            "sparsity_cost": REAL,
        },
    },
    "skdbn._training:RBMTrainer": {
        "attributes": {
            "layer": instance_of(_LAYER),
            "settings": instance_of("skdbn._training:TrainingSettings"),
            "name": STRING,
            "verbose": INTEGER,
            "gradient": instance_of(
                "skdbn._contrastive_divergence:ContrastiveDivergence"
            ),
            "velocities": list_of(float_array()),
            "sparsity": optional(
                instance_of("skdbn._contrastive_divergence:SparsityPenalty")
            ),
            "epochs_done": INTEGER,
            "diverged": BOOLEAN,
            "learning_rate": REAL,
            "_clock": instance_of("skdbn._progress:EpochClock"),
        },
        # Made by fit; a trainer that only partial_fit has used has none.
        "optional": {"_clock"},
        "check": _check_trainer,
    },
    "skdbn._progress:EpochClock": {
        "attributes": {
            "n_epochs": optional(INTEGER),
            "elapsed": REAL,
            "epochs_timed": INTEGER,
        },
    },
    "skdbn._network:FeedForwardNetwork": {
        "attributes": {
            "weights": list_of(float_array(2)),
            "biases": list_of(float_array(1)),
            "hidden_activation": _activation_name,
            "output_activation": _activation_name,
            "_hidden": list_of(class_in(REFERENCED_CLASSES)),
            "_output": class_in(REFERENCED_CLASSES),
            "_buffers": _kind("a dict", lambda v: isinstance(v, dict)),
        },
        "check": _check_network,
    },
    "skdbn._updown:UpDownNetwork": {
        "attributes": {
            "recognition_weights": list_of(float_array(2)),
            "recognition_biases": list_of(float_array(1)),
            "generative_weights": list_of(float_array(2)),
            "generative_biases": list_of(float_array(1)),
            "top": instance_of(_LAYER),
            "n_labels": POSITIVE_INTEGER,
            "history": PLAIN,
        },
        "check": _check_updown,
    },
    "skdbn._autoencoder_network:AutoencoderNetwork": {
        "attributes": {
            "weights": list_of(float_array(2)),
            "biases": list_of(float_array(1)),
            "activations": list_of(_activation_name),
            "visible_units": _unit_name,
            "log_var_weights": optional(float_array(2)),
            "log_var_bias": optional(float_array(1)),
        },
        "check": _check_autoencoder_network,
    },
    "skdbn._optimizers:SGDOptimizer": {
        "attributes": {
            "learning_rate": REAL,
            "momentum": REAL,
            "nesterov": BOOLEAN,
            # None until the first step.
            "velocities": optional(list_of(float_array())),
        },
    },
    "skdbn._optimizers:AdamOptimizer": {
        "attributes": {
            "learning_rate": REAL,
            "beta_1": REAL,
            "beta_2": REAL,
            "epsilon": REAL,
            "t": INTEGER,
            "first_moments": optional(list_of(float_array())),
            "second_moments": optional(list_of(float_array())),
        },
    },
    **{
        path: {
            "attributes": {
                "n_features_in_": POSITIVE_INTEGER,
                "layers_": list_of(instance_of(_LAYER)),
                "_trainers": list_of(instance_of("skdbn._training:RBMTrainer")),
                "_rngs": list_of(GENERATOR),
            },
            "check": _check_stack,
            "partial": True,
        }
        for path in _STACKS
    },
    # The table's coding, on top of what every stack stores.
    "skdbn._tabular:TabularRBMStack": {
        "attributes": {
            "n_features_in_": POSITIVE_INTEGER,
            "layers_": list_of(instance_of(_LAYER)),
            "_trainers": list_of(instance_of("skdbn._training:RBMTrainer")),
            "_rngs": list_of(GENERATOR),
            "column_types_": list_of(STRING),
            "categories_": list_of(list_of(PLAIN)),
            "numeric_mean_": float_array(1),
            "numeric_scale_": float_array(1),
        },
        "check": _check_tabular_stack,
        "partial": True,
    },
    **{
        path: {
            "attributes": {
                "n_features_in_": POSITIVE_INTEGER,
                "stack_": optional(
                    instance_of(*_STACKS, "skdbn._tabular:TabularRBMStack")
                ),
                # The table's coding (visible_units_="tabular"), else None.
                "column_types_": optional(list_of(STRING)),
                "categories_": optional(list_of(list_of(PLAIN))),
                "numeric_mean_": optional(float_array(1)),
                "numeric_scale_": optional(float_array(1)),
                "generative_layer_": optional(instance_of(_LAYER)),
                "updown_": optional(instance_of("skdbn._updown:UpDownNetwork")),
                "_network": optional(instance_of("skdbn._network:FeedForwardNetwork")),
                "_optimizer": optional(instance_of(*_OPTIMIZERS)),
                "_rng": GENERATOR,
            },
            "partial": True,
        }
        for path in ("skdbn._classifier:DBNClassifier", "skdbn._regressor:DBNRegressor")
    },
    "skdbn._impute:RBMImputer": {
        "attributes": {
            "n_features_in_": POSITIVE_INTEGER,
            "stack_": instance_of("skdbn._tabular:TabularRBMStack"),
            "n_denoising_epochs_": INTEGER,
            "denoising_loss_": list_of(REAL),
            "visible_precision_": optional(float_array(2)),
            "empty_features_": _kind(
                "a 1-d boolean array",
                lambda v: isinstance(v, np.ndarray) and v.dtype == bool and v.ndim == 1,
            ),
        },
        "partial": True,
    },
    "skdbn._autoencoder:DBNAutoencoder": {
        "attributes": {
            "n_features_in_": POSITIVE_INTEGER,
            "stack_": optional(instance_of(*_STACKS)),
            "_network": optional(
                instance_of("skdbn._autoencoder_network:AutoencoderNetwork")
            ),
            "_optimizer": optional(instance_of(*_OPTIMIZERS)),
            "prior_": optional(instance_of(_LAYER)),
            "prior_log_partition_": optional(REAL),
            "active_code_fraction_": optional(REAL),
            "_training_prior": STRING,
            "_laplace_scale": REAL,
            "_rng": GENERATOR,
        },
        "partial": True,
    },
}


#: Where classes that files written by earlier versions name now live: such a
#: file's path is read as the class's current one. Only these old paths are
#: accepted, each for the one class it named; every current path must be in
#: ``REBUILT_CLASSES`` or ``REFERENCED_CLASSES``.
MOVED_CLASSES = {
    # Moved out of _network.py and _autoencoder.py in 0.1.0.dev0.
    **{
        f"skdbn._network:{name}": f"skdbn._activations:{name}"
        for name in (
            "LogisticActivation",
            "TanhActivation",
            "ReluActivation",
            "IdentityActivation",
            "SoftmaxOutput",
            "LogisticOutput",
            "IdentityOutput",
        )
    },
    "skdbn._network:SGDOptimizer": "skdbn._optimizers:SGDOptimizer",
    "skdbn._network:AdamOptimizer": "skdbn._optimizers:AdamOptimizer",
    "skdbn._autoencoder:AutoencoderNetwork": (
        "skdbn._autoencoder_network:AutoencoderNetwork"
    ),
    # Moved out of _dbn.py (which keeps the loop they share) in 0.1.0.dev0.
    "skdbn._dbn:DBNClassifier": "skdbn._classifier:DBNClassifier",
    "skdbn._dbn:DBNRegressor": "skdbn._regressor:DBNRegressor",
    # Moved out of _rbm.py (which keeps RBMLayer) in 0.1.0.dev0.
    "skdbn._rbm:ContrastiveDivergence": (
        "skdbn._contrastive_divergence:ContrastiveDivergence"
    ),
    "skdbn._rbm:SparsityPenalty": "skdbn._contrastive_divergence:SparsityPenalty",
}


def _path(cls):
    return f"{cls.__module__}:{cls.__qualname__}"


def _allowed_class(path, allowed, role):
    """The class at ``path`` if ``path`` is in ``allowed``; refuse otherwise.

    An old path of ``MOVED_CLASSES`` stands for the class's current one.
    """
    current = MOVED_CLASSES.get(path, path) if isinstance(path, str) else path
    if not isinstance(current, str) or current not in allowed:
        _refuse(
            f"{path!r}",
            f"is not one of the classes skdbn {role} (the file is damaged or "
            "crafted; load only models from sources you trust)",
        )
    module_name, _, name = current.partition(":")
    cls = getattr(importlib.import_module(module_name), name)
    # The allow-list names classes defined where it says, never an alias.
    assert isinstance(cls, type) and _path(cls) == current, current
    return cls


def check_state(cls, state):
    """Refuse ``state`` unless it has the attributes ``cls``'s must have.

    ``state`` is the restored ``__dict__`` of an instance of ``cls``.
    Raises ``ValueError`` naming the first attribute of the wrong type,
    dtype or shape, and any attribute missing or unexpected.
    """
    path = _path(cls)
    spec = REBUILT_CLASSES[path]
    if not isinstance(state, dict):
        _refuse(path, f"has state of type {type(state).__name__}, not a dict")
    attributes = spec["attributes"]
    if not spec.get("partial", False):
        required = set(attributes) - spec.get("optional", set())
        missing = sorted(required - set(state))
        unexpected = sorted(set(state) - set(attributes))
        if missing:
            _refuse(path, f"lacks the attributes {missing}")
        if unexpected:
            _refuse(path, f"has unexpected attributes {unexpected}")
    for name, check in attributes.items():
        if name not in state:
            continue
        problem = check(state[name])
        if problem is not None:
            _refuse(
                f"{path}.{name}",
                f"is {_describe(state[name])}; expected {problem}",
            )
    try:
        problem = spec.get("check", lambda state: None)(state)
    except Exception as error:  # objects only half rebuilt, by a crafted order
        problem = f"state whose parts do not fit together ({error!r})"
    if problem is not None:
        _refuse(path, f"has {problem}")


def _describe(value):
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype} and shape {value.shape}"
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"


# -- Plain state and back --------------------------------------------------------


def _in_skdbn(cls):
    return cls.__module__.startswith("skdbn.")


def _is_skdbn_object(value):
    return _in_skdbn(type(value)) and not isinstance(value, type)


def _object_state(value):
    getstate = getattr(value, "__getstate__", None)
    return getstate() if getstate is not None else value.__dict__


def plain_state(value, memo=None):
    """``value`` with every skdbn object replaced by a tagged dictionary.

    Lists, tuples and dictionaries are walked; an skdbn class becomes
    ``{CLASS: "module:QualName"}`` and an skdbn object
    ``{TAG: "module:QualName", "id": k, "state": ...}`` with the plain form
    of its ``__getstate__()`` (which for estimators is already plain), and
    any later occurrence of the same object ``{REFERENCE: k}``, so that
    objects shared between attributes (a layer and its trainer) stay shared.
    Everything else is returned as is.
    """
    memo = {} if memo is None else memo
    if isinstance(value, list):
        return [plain_state(v, memo) for v in value]
    if isinstance(value, tuple):
        return tuple(plain_state(v, memo) for v in value)
    if isinstance(value, dict):
        return {key: plain_state(v, memo) for key, v in value.items()}
    if isinstance(value, type) and _in_skdbn(value):
        return {CLASS: _path(value)}
    if not _is_skdbn_object(value):
        return value
    if id(value) in memo:
        return {REFERENCE: memo[id(value)][0]}
    # Keep the object alive in the memo so that its id is not reused.
    memo[id(value)] = (len(memo), value)
    return {
        TAG: _path(type(value)),
        "id": memo[id(value)][0],
        "state": plain_state(_object_state(value), memo),
    }


def restore_state(value, memo=None):
    """Inverse of :func:`plain_state`, for the allow-listed classes only.

    Raises ``ValueError`` for a tag naming any other class, a reference to
    an object not stored before, or a rebuilt object whose state does not
    pass :func:`check_state`.
    """
    memo = {} if memo is None else memo
    if isinstance(value, list):
        return [restore_state(v, memo) for v in value]
    if isinstance(value, tuple):
        return tuple(restore_state(v, memo) for v in value)
    if not isinstance(value, dict):
        return value
    if REFERENCE in value:
        key = value[REFERENCE]
        if not _is_integer(key) or key not in memo:
            _refuse(f"reference {key!r}", "names no object stored before it")
        return memo[key]
    if CLASS in value:
        return _allowed_class(value[CLASS], REFERENCED_CLASSES, "refers to")
    if TAG not in value:
        return {key: restore_state(v, memo) for key, v in value.items()}
    cls = _allowed_class(value[TAG], REBUILT_CLASSES, "rebuilds")
    key = value.get("id")
    if not _is_integer(key) or key in memo:
        _refuse(f"{value[TAG]} id {key!r}", "is not a new integer")
    instance = cls.__new__(cls)
    memo[key] = instance
    state = value.get("state")
    if isinstance(instance, PlainStateMixin):
        # An estimator's __setstate__ restores and checks its own plain
        # state, with its own numbering of shared objects.
        instance.__setstate__(state)
        return instance
    state = restore_state(state, memo)
    check_state(cls, state)
    if "__setstate__" in vars(cls):
        instance.__setstate__(state)
    else:
        instance.__dict__.update(state)
    return instance


class PlainStateMixin:
    """Estimator mixin: pickles and ``skops`` files hold only plain data.

    Put it before ``BaseEstimator`` in the bases, so that scikit-learn's own
    ``__getstate__`` (which records the version) runs first. Loading
    restores only skdbn's allow-listed classes and checks their state (see
    :func:`restore_state`).
    """

    def __getstate__(self):
        return plain_state(super().__getstate__())

    def __setstate__(self, state):
        if not isinstance(state, dict) or any(key in state for key in _MARKERS):
            _refuse(_path(type(self)), "has state that is not a dict of attributes")
        state = restore_state(state)
        check_state(type(self), state)
        super().__setstate__(state)
