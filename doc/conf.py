"""Sphinx configuration of skdbn's documentation.

Build it, with warnings as errors, from the repository root::

    python -m sphinx -W --keep-going -b html doc doc/_build/html
"""

import os
import re
import sys
from pathlib import Path

# Document the source tree this file belongs to, installed or not.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "agg")

import skdbn  # noqa: E402

project = "skdbn"
author = "the skdbn developers"
copyright = "the skdbn developers"
release = skdbn.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "README.md", "auto_examples/*.ipynb"]
root_doc = "index"

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
# numpydoc renders the Attributes and Methods sections itself.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

intersphinx_mapping = {}  # offline builds: no inventories are fetched

html_theme = "pydata_sphinx_theme"
html_title = f"skdbn {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_static_path = []

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "reference_url": {"skdbn": None},
    "matplotlib_animations": False,
    "show_memory": False,
    "min_reported_time": 1,
}


# -- The API reference lists every public name ----------------------------------
# ``api.rst`` lists the names by hand (autosummary needs them in the source);
# this check turns a public name missing from it into a build warning, which
# ``-W`` makes an error, so a new estimator cannot go undocumented.

API_MODULES = ("skdbn", "skdbn.evaluation", "skdbn.datasets", "skdbn.plotting")


def _check_api_page(app):
    import importlib

    from sphinx.util import logging

    text = (Path(app.srcdir) / "api.rst").read_text(encoding="utf-8")
    for module_name in API_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            if name.startswith("__"):
                continue
            if f"   {name}\n" not in text:
                logging.getLogger(__name__).warning(
                    f"{module_name}.{name} is public but missing from doc/api.rst"
                )


# -- Docstrings as the reference shows them -------------------------------------

# ``(n_samples, n_features_in_)`` in a numpydoc type: docutils reads the
# trailing underscore as a link to a target called ``n_features_in``.
_TRAILING_UNDERSCORE = re.compile(r"(?<=[(, ])([a-z][a-z0-9_]*[a-z0-9])_(?=[,)])")


def _escape_trailing_underscores(app, what, name, obj, options, lines):
    for index, line in enumerate(lines):
        if "``" not in line:
            lines[index] = _TRAILING_UNDERSCORE.sub(r"\1\\_", line)


def _skip_scikit_learn_members(app, what, name, obj, skip, options):
    # Methods inherited from scikit-learn (get_params, set_output, score,
    # set_*_request...) are documented in scikit-learn's reference; their
    # docstrings link to pages of scikit-learn's site that do not exist here.
    function = getattr(obj, "fget", obj)
    module = getattr(function, "__module__", None) or ""
    if what == "class" and module.startswith("sklearn"):
        return True
    return None


def setup(app):
    app.connect("builder-inited", _check_api_page)
    app.connect("autodoc-process-docstring", _escape_trailing_underscores)
    app.connect("autodoc-skip-member", _skip_scikit_learn_members)
