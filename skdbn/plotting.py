"""Figures of fitted RBM stacks: filters, images and learning curves.

matplotlib is an optional dependency (``pip install "skdbn[plot]"``): it is
imported inside the functions, so this module imports without it.

Every function returns the matplotlib ``Figure`` it drew on. Without a
``fig`` argument the figure is created with ``matplotlib.pyplot`` (so that
``plt.show()``, notebooks and sphinx-gallery pick it up); pass
``fig=matplotlib.figure.Figure()`` to draw off-screen without pyplot, as the
demo does when it writes image files.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = ["plot_filters", "plot_images", "plot_learning_curves"]

_INSTALL_HINT = (
    "Plotting needs matplotlib, an optional dependency of skdbn: install it with "
    'pip install "skdbn[plot]" (or pip install matplotlib).'
)


def _check_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc


def _new_figure(fig, figsize):
    """``fig`` resized to ``figsize``, or a new pyplot figure of that size."""
    if fig is None:
        import matplotlib.pyplot as plt

        return plt.figure(figsize=figsize)
    if hasattr(fig, "set_size_inches"):  # a SubFigure has no size of its own
        fig.set_size_inches(figsize)
    return fig


def _image_grid(fig, n_images, n_cols, title, left=0.1):
    """A figure sized for a grid of small square images, and its axes.

    ``left`` is the left margin in inches (room for row labels).
    """
    tile, gap, top = 0.9, 0.1, (0.5 if title else 0.1)
    n_rows, n_cols = _grid(n_images, n_cols)
    width = left + n_cols * tile + gap
    height = top + n_rows * tile + gap
    fig = _new_figure(fig, figsize=(width, height))
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    fig.subplots_adjust(
        left=left / width,
        right=1 - gap / width,
        bottom=gap / height,
        top=1 - top / height,
        wspace=0.1,
        hspace=0.1,
    )
    for index, ax in enumerate(axes.ravel()):
        if index >= n_images:
            ax.remove()
    if title:
        fig.suptitle(title)
    return fig, axes


def _check_image_shape(image_shape, n_pixels, what):
    image_shape = tuple(int(s) for s in image_shape)
    if len(image_shape) != 2 or int(np.prod(image_shape)) != n_pixels:
        raise ValueError(
            f"image_shape={image_shape} does not fit {what} of {n_pixels} values: "
            "give (height, width) with height * width equal to that number."
        )
    return image_shape


def _grid(n_images, n_cols):
    n_cols = max(1, min(int(n_cols), n_images))
    return -(-n_images // n_cols), n_cols


def _first_layer_weights(layer_or_weights):
    """The ``(n_visible, n_hidden)`` weights of a stack, a layer or an array."""
    obj = layer_or_weights
    if hasattr(obj, "layers_"):  # a fitted stack: its first RBM
        obj = obj.layers_[0]
    weights = np.asarray(getattr(obj, "weights", obj), dtype=float)
    if weights.ndim != 2:
        raise ValueError(
            "Expected a fitted stack, an RBMLayer or a weight matrix of shape "
            f"(n_visible, n_hidden); got an array of shape {weights.shape}."
        )
    return weights


def plot_filters(
    layer_or_weights, image_shape, *, n_filters=100, n_cols=10, cmap="gray", fig=None
):
    """Show the first RBM's weights as images, one tile per hidden unit.

    The column of weights from the visible units to hidden unit ``j`` is the
    image that unit responds to most (its "filter" or receptive field).
    Each tile has its own grey scale, centred on zero: mid-grey is a zero
    weight, white excitatory and black inhibitory.

    Parameters
    ----------
    layer_or_weights : BernoulliRBMStack, RBMLayer or array-like
        A fitted stack (its first layer is shown), one ``RBMLayer``, or a
        weight matrix of shape ``(n_visible, n_hidden)``.
    image_shape : tuple of int
        ``(height, width)`` of one image; ``height * width`` must equal
        ``n_visible``.
    n_filters : int, default=100
        Number of hidden units shown (the first ones); capped at
        ``n_hidden``.
    n_cols : int, default=10
        Number of tiles per row.
    cmap : str, default="gray"
        Name of a matplotlib colormap.
    fig : matplotlib.figure.Figure, default=None
        Figure to draw on, resized to fit; a new pyplot figure when None.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure, with one axes per filter.

    Examples
    --------
    >>> import numpy as np
    >>> import pytest; _ = pytest.importorskip("matplotlib")  # skdbn[plot]
    >>> from matplotlib.figure import Figure
    >>> from skdbn.plotting import plot_filters
    >>> weights = np.random.default_rng(0).normal(size=(64, 12))
    >>> fig = plot_filters(weights, (8, 8), n_cols=6, fig=Figure())
    >>> len(fig.axes)
    12
    """
    _check_matplotlib()
    weights = _first_layer_weights(layer_or_weights)
    image_shape = _check_image_shape(image_shape, weights.shape[0], "filters")
    n_filters = max(1, min(int(n_filters), weights.shape[1]))
    fig, axes = _image_grid(
        fig,
        n_filters,
        n_cols,
        f"First-layer filters ({n_filters} of {weights.shape[1]} units)",
    )
    for index, ax in enumerate(axes.ravel()[:n_filters]):
        filt = weights[:, index].reshape(image_shape)
        limit = float(np.abs(filt).max()) or 1.0
        ax.imshow(filt, cmap=cmap, vmin=-limit, vmax=limit, interpolation="nearest")
        ax.set_axis_off()
    return fig


def plot_images(
    X,
    image_shape,
    *,
    n_cols=10,
    row_labels=None,
    cmap="gray_r",
    vmin=0.0,
    vmax=1.0,
    title=None,
    fig=None,
):
    """Show the rows of ``X`` as a grid of images.

    Use it for data, samples from a stack and reconstructions. To compare
    originals with their reconstructions, stack them, e.g.
    ``np.vstack([X[:10], stack.inverse_transform(stack.transform(X[:10]))])``
    with ``n_cols=10`` and ``row_labels=["data", "reconstruction"]``.

    Parameters
    ----------
    X : array-like of shape (n_images, n_pixels)
        Images, one per row, with ``n_pixels = height * width``.
    image_shape : tuple of int
        ``(height, width)`` of one image.
    n_cols : int, default=10
        Number of images per row of the grid.
    row_labels : list of str, default=None
        A label for each row of the grid, written left of its first image.
    cmap : str, default="gray_r"
        Name of a matplotlib colormap (the default draws 1 as black ink on
        white).
    vmin, vmax : float, default=0.0, 1.0
        Values mapped to the ends of the colormap; the Bernoulli units'
        range by default.
    title : str, default=None
        Figure title.
    fig : matplotlib.figure.Figure, default=None
        Figure to draw on, resized to fit; a new pyplot figure when None.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure, with one axes per image.

    Examples
    --------
    >>> import numpy as np
    >>> import pytest; _ = pytest.importorskip("matplotlib")  # skdbn[plot]
    >>> from matplotlib.figure import Figure
    >>> from skdbn.plotting import plot_images
    >>> X = np.random.default_rng(0).random((20, 64))
    >>> fig = plot_images(X, (8, 8), n_cols=10, row_labels=["a", "b"], fig=Figure())
    >>> len(fig.axes)
    20
    """
    _check_matplotlib()
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(
            f"X must be a non-empty 2D array of images, one per row; got shape "
            f"{X.shape}."
        )
    image_shape = _check_image_shape(image_shape, X.shape[1], "rows")
    n_rows, _ = _grid(X.shape[0], n_cols)
    if row_labels is not None and len(row_labels) != n_rows:
        raise ValueError(
            f"row_labels has {len(row_labels)} labels for {n_rows} rows of images."
        )
    left = 0.1 if row_labels is None else 0.2 + 0.08 * max(map(len, row_labels))
    fig, axes = _image_grid(fig, X.shape[0], n_cols, title, left=left)
    for index, ax in enumerate(axes.ravel()[: X.shape[0]]):
        ax.imshow(
            X[index].reshape(image_shape),
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
            interpolation="nearest",
        )
        ax.set_xticks([])
        ax.set_yticks([])
    if row_labels is not None:
        for label, ax in zip(row_labels, axes[:, 0], strict=True):
            ax.set_ylabel(label, rotation=0, ha="right", va="center")
    return fig


def _layers(stack):
    if hasattr(stack, "history"):  # one RBMLayer
        return [stack]
    if hasattr(stack, "get_params"):  # an estimator
        check_is_fitted(stack, "layers_")
        return list(stack.layers_)
    return list(stack)


def plot_learning_curves(stack, *, fig=None):
    """Plot each layer's training history against the epoch.

    The top row shows the mean squared reconstruction error per sample
    (training data, and held-out data when the stack was fitted with
    ``validation_fraction``); a second row, present only with held-out data,
    shows the free-energy gap (mean free energy of the held-out data minus
    that of the training data), which grows when the RBM overfits. One
    column per layer: upper layers model hidden probabilities, so their
    errors are on another scale.

    Parameters
    ----------
    stack : BernoulliRBMStack, RBMLayer or list of RBMLayer
        A fitted stack, or its layers.
    fig : matplotlib.figure.Figure, default=None
        Figure to draw on, resized to fit; a new pyplot figure when None.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure, with ``n_layers`` axes, or ``2 * n_layers`` when there is
        a free-energy gap to show.

    Examples
    --------
    >>> import numpy as np
    >>> import pytest; _ = pytest.importorskip("matplotlib")  # skdbn[plot]
    >>> from matplotlib.figure import Figure
    >>> from skdbn import BernoulliRBMStack
    >>> from skdbn.plotting import plot_learning_curves
    >>> X = (np.random.default_rng(0).random((60, 16)) > 0.5).astype(float)
    >>> stack = BernoulliRBMStack((8, 4), n_epochs=3, validation_fraction=0.2,
    ...                           random_state=0).fit(X)
    >>> fig = plot_learning_curves(stack, fig=Figure())
    >>> len(fig.axes)
    4
    """
    _check_matplotlib()
    layers = _layers(stack)
    if not layers or not all(layer.history for layer in layers):
        raise ValueError(
            "Nothing to plot: fit the stack first (every layer needs a training "
            "history)."
        )
    has_gap = any("free_energy_gap" in rec for layer in layers for rec in layer.history)
    n_rows, n_cols = (2 if has_gap else 1), len(layers)
    fig = _new_figure(fig, figsize=(3.6 * n_cols + 0.4, 2.8 * n_rows + 0.6))
    axes = fig.subplots(n_rows, n_cols, squeeze=False, sharex="col")
    for col, layer in enumerate(layers):
        epochs = [rec["epoch"] for rec in layer.history]

        def series(key, history=layer.history):
            return [rec.get(key, np.nan) for rec in history]

        ax = axes[0, col]
        ax.plot(epochs, series("reconstruction_error"), marker=".", label="training")
        if any("validation_reconstruction_error" in r for r in layer.history):
            ax.plot(
                epochs,
                series("validation_reconstruction_error"),
                marker=".",
                label="validation",
            )
            ax.legend()
        ax.set_title(f"layer {col + 1} ({layer.n_visible} -> {layer.n_hidden})")
        if col == 0:
            ax.set_ylabel("reconstruction error")
        if has_gap:
            ax = axes[1, col]
            ax.plot(epochs, series("free_energy_gap"), marker=".", color="C2")
            ax.axhline(0.0, color="0.6", linewidth=0.8)
            if col == 0:
                ax.set_ylabel("free-energy gap\n(validation - training)")
        axes[-1, col].set_xlabel("epoch")
    fig.tight_layout()
    return fig
