"""Every public docstring follows numpydoc, checked with ``numpydoc.validate``.

Checked: every object in ``skdbn.__all__``, the public methods and
properties those classes define themselves, and the public functions of
``skdbn.evaluation``, ``skdbn.datasets`` and ``skdbn.plotting``. Methods a
class inherits from scikit-learn (``get_params``, ``set_params``,
``fit_transform``, ``set_output``, ``score``...) or from Python (the
warning's ``with_traceback``...) are someone else's docstrings and are
skipped. The codes ignored, and why, are in ``IGNORED``; docstrings that
still fail are listed in ``KNOWN_FAILURES`` with their codes (strict
expected failures: fixing one makes its test fail until it is removed from
the list).
"""

import importlib
import inspect

import pytest

import skdbn

validate = pytest.importorskip("numpydoc.validate").validate

MODULES = ("skdbn.evaluation", "skdbn.datasets", "skdbn.plotting")

#: Codes never checked (the choices scikit-learn's own test_docstrings makes).
IGNORED = {
    # The first line of Returns may name the returned object (``self : object``)
    "RT02",
    # Summary on the line of the opening quotes, as this project writes them.
    "GL01",
    # A blank line before the closing quotes of a one-line docstring.
    "GL02",
}

#: Codes checked on classes and module functions only: a method need not have
#: an extended summary, a See Also section or its own example.
IGNORED_FOR_METHODS = {"ES01", "SA01", "EX01"}

#: Checked on classes only; module functions are documented in the user
#: guide's context and need not point to one another.
IGNORED_FOR_FUNCTIONS = {"SA01"}

#: Docstrings that fail today, with the failing codes, for the owners of the
#: modules to fix. ``test_known_failures_are_current`` keeps this list honest.
KNOWN_FAILURES = {}


def _own_members(cls):
    """Public methods and properties defined in skdbn, not inherited from others."""
    for name in sorted(dir(cls)):
        if name.startswith("_"):
            continue
        member = inspect.getattr_static(cls, name)
        if isinstance(member, property):
            function = member.fget
        elif isinstance(member, (staticmethod, classmethod)):
            function = member.__func__
        else:
            function = member
        if callable(function) and getattr(function, "__module__", "").startswith(
            "skdbn"
        ):
            yield name


def _public_objects():
    """``(import path, kind)`` of every docstring checked."""
    for name in skdbn.__all__:
        obj = getattr(skdbn, name)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue  # __version__
        if inspect.isfunction(obj):
            yield f"skdbn.{name}", "function"
            continue
        yield f"skdbn.{name}", "class"
        for member in _own_members(obj):
            yield f"skdbn.{name}.{member}", "method"
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            yield f"{module_name}.{name}", "function"


PUBLIC_OBJECTS = list(_public_objects())


def _is_property(path):
    owner_path, _, name = path.rpartition(".")
    module_name, _, class_name = owner_path.rpartition(".")
    owner = getattr(importlib.import_module(module_name), class_name, None)
    return inspect.isclass(owner) and isinstance(
        inspect.getattr_static(owner, name, None), property
    )


def _errors(path, kind):
    """numpydoc's ``(code, message)`` pairs for ``path``, less the ignored ones."""
    ignored = set(IGNORED)
    if kind == "method":
        ignored |= IGNORED_FOR_METHODS
    if kind == "function":
        ignored |= IGNORED_FOR_FUNCTIONS
    errors = [(c, m) for c, m in validate(path)["errors"] if c not in ignored]
    if kind == "method" and _is_property(path):
        # As in scikit-learn: a property has no signature to document
        # parameters against (PR02), and may leave its docstring to the
        # class's Attributes section (GL08).
        errors = [(c, m) for c, m in errors if c not in ("PR02", "GL08")]
    return errors


def _cases():
    for path, kind in PUBLIC_OBJECTS:
        marks = []
        if path in KNOWN_FAILURES:
            codes = ", ".join(sorted(KNOWN_FAILURES[path]))
            marks = [pytest.mark.xfail(strict=True, reason=f"fails {codes}")]
        yield pytest.param(path, kind, id=path, marks=marks)


@pytest.mark.parametrize("path, kind", list(_cases()))
def test_docstring(path, kind):
    errors = _errors(path, kind)
    assert not errors, f"{path}:\n" + "\n".join(f"  {c}: {m}" for c, m in errors)


def test_known_failures_are_current():
    # Every listed docstring exists, and fails with exactly the listed codes:
    # a partial fix, or a new failure in a listed docstring, shows up here.
    kinds = dict(PUBLIC_OBJECTS)
    stale = {}
    for path, codes in KNOWN_FAILURES.items():
        found = {c for c, _ in _errors(path, kinds[path])} if path in kinds else None
        if found != codes:
            stale[path] = found
    assert not stale, f"update KNOWN_FAILURES: {stale}"


def test_inherited_methods_are_skipped():
    checked = {path for path, _ in PUBLIC_OBJECTS}
    for inherited in ("get_params", "set_params", "fit_transform", "score"):
        assert f"skdbn.DBNClassifier.{inherited}" not in checked
    assert "skdbn.BernoulliRBMStack.fit" in checked
