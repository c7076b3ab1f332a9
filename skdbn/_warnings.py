"""Warnings that point at the user's code.

skdbn warns from deep inside a fit (a layer's trainer, the fine-tuning loop,
an input check), at depths that differ between estimators and that
scikit-learn's ``fit`` wrappers lengthen. A fixed ``stacklevel`` then names
a line of skdbn or scikit-learn; ``warn`` instead attributes the warning to
the first frame outside both packages, where the user called ``fit``.
"""

import os
import sys
import warnings

import sklearn

_INTERNAL_DIRECTORIES = tuple(
    os.path.dirname(module.__file__) + os.sep
    for module in (sys.modules[__package__], sklearn)
)


def external_stacklevel():
    """``stacklevel`` for a ``warnings.warn`` called by this function's caller.

    Level 1 is that caller; each frame of skdbn or scikit-learn above it adds
    one, up to the first frame of other code.
    """
    frame = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(
        _INTERNAL_DIRECTORIES
    ):
        frame = frame.f_back
        level += 1
    return level


def warn(message, category):
    """``warnings.warn`` attributed to the user's line that led here."""
    warnings.warn(message, category, stacklevel=external_stacklevel())
