"""Plain-data state of fitted estimators, for safe persistence.

A fitted estimator holds skdbn's own helper objects (``RBMLayer``,
trainers, the fine-tuning network and its optimiser). Pickle stores them as
they are, but ``skops.io`` refuses to load any type it does not know unless
the user approves it. ``plain_state`` turns those objects into tagged
dictionaries of arrays, numbers and strings, and ``restore_state`` rebuilds
them, so that the only type a saved skdbn estimator asks ``skops`` to trust
is the estimator's own class. Only classes defined in skdbn's own modules
are ever rebuilt, so a crafted file cannot make ``restore_state`` create
anything else.
"""

import importlib

#: Key that marks a dictionary as the state of one of skdbn's objects.
TAG = "__skdbn_object__"
#: Key of a dictionary that stands for an object already stored earlier.
REFERENCE = "__skdbn_reference__"
#: Key of a dictionary that stands for one of skdbn's classes (e.g. the
#: activation a network holds).
CLASS = "__skdbn_class__"


def _in_skdbn(cls):
    return cls.__module__.startswith("skdbn.")


def _is_skdbn_object(value):
    return _in_skdbn(type(value)) and not isinstance(value, type)


def _skdbn_class(path):
    """The skdbn class at ``"module:QualName"``; nothing outside skdbn."""
    module_name, _, qualname = path.partition(":")
    if not module_name.startswith("skdbn."):
        raise ValueError(f"Refusing to rebuild {path!r}: not an skdbn type.")
    cls = importlib.import_module(module_name)
    for name in qualname.split("."):
        cls = getattr(cls, name)
    return cls


def _path(cls):
    return f"{cls.__module__}:{cls.__qualname__}"


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
    """Inverse of :func:`plain_state`."""
    memo = {} if memo is None else memo
    if isinstance(value, list):
        return [restore_state(v, memo) for v in value]
    if isinstance(value, tuple):
        return tuple(restore_state(v, memo) for v in value)
    if not isinstance(value, dict):
        return value
    if REFERENCE in value:
        return memo[value[REFERENCE]]
    if CLASS in value:
        return _skdbn_class(value[CLASS])
    if TAG not in value:
        return {key: restore_state(v, memo) for key, v in value.items()}
    cls = _skdbn_class(value[TAG])
    instance = cls.__new__(cls)
    memo[value["id"]] = instance
    state = value["state"]
    if not isinstance(instance, PlainStateMixin):
        # An estimator's __setstate__ restores its own plain state, with its
        # own numbering of shared objects.
        state = restore_state(state, memo)
    if hasattr(instance, "__setstate__"):
        instance.__setstate__(state)
    elif state is not None:
        instance.__dict__.update(state)
    return instance


class PlainStateMixin:
    """Estimator mixin: pickles and ``skops`` files hold only plain data.

    Put it before ``BaseEstimator`` in the bases, so that scikit-learn's own
    ``__getstate__`` (which records the version) runs first.
    """

    def __getstate__(self):
        return plain_state(super().__getstate__())

    def __setstate__(self, state):
        super().__setstate__(restore_state(state))
