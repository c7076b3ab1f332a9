"""Tests of skdbn.plotting: figures of filters, images and learning curves."""

import sys

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from skdbn import BernoulliRBMStack, plotting


def new_figure():
    """An off-screen Figure; skips the test when matplotlib is missing."""
    return pytest.importorskip("matplotlib.figure").Figure()


@pytest.fixture(scope="module")
def stack():
    X = (np.random.default_rng(0).random((80, 16)) > 0.5).astype(float)
    return BernoulliRBMStack((6, 3), n_epochs=3, random_state=0).fit(X)


@pytest.fixture(scope="module")
def validated_stack():
    X = (np.random.default_rng(1).random((80, 16)) > 0.5).astype(float)
    return BernoulliRBMStack(
        (6, 3), n_epochs=3, validation_fraction=0.25, random_state=0
    ).fit(X)


@pytest.mark.parametrize("source", ["stack", "layer", "array"])
def test_plot_filters_accepts_stack_layer_or_array(stack, source):
    obj = {
        "stack": stack,
        "layer": stack.layers_[0],
        "array": stack.layers_[0].weights,
    }[source]
    fig = plotting.plot_filters(obj, (4, 4), n_cols=4, fig=new_figure())
    assert type(fig).__name__ == "Figure"
    assert len(fig.axes) == 6  # one tile per hidden unit, unused cells removed


def test_plot_filters_caps_n_filters():
    weights = np.random.default_rng(0).normal(size=(16, 30))
    fig = plotting.plot_filters(weights, (4, 4), n_filters=7, fig=new_figure())
    assert len(fig.axes) == 7


def test_plot_filters_rejects_wrong_image_shape(stack):
    with pytest.raises(ValueError, match="image_shape"):
        plotting.plot_filters(stack, (3, 5), fig=new_figure())


def test_plot_images_grid_and_row_labels():
    X = np.random.default_rng(0).random((20, 16))
    fig = plotting.plot_images(
        X,
        (4, 4),
        n_cols=10,
        row_labels=["data", "reconstruction"],
        title="t",
        fig=new_figure(),
    )
    assert len(fig.axes) == 20
    assert fig.axes[0].get_ylabel() == "data"
    assert fig.axes[10].get_ylabel() == "reconstruction"


def test_plot_images_checks_its_input():
    X = np.zeros((5, 16))
    with pytest.raises(ValueError, match="row_labels has 1"):
        plotting.plot_images(X, (4, 4), n_cols=2, row_labels=["a"], fig=new_figure())
    with pytest.raises(ValueError, match="2D array"):
        plotting.plot_images(np.zeros(16), (4, 4), fig=new_figure())


def test_default_figure_comes_from_pyplot():
    plt = pytest.importorskip("matplotlib.pyplot")
    fig = plotting.plot_images(np.zeros((3, 4)), (2, 2))
    try:
        assert fig.number in plt.get_fignums()
    finally:
        plt.close(fig)


def test_plot_learning_curves_one_column_per_layer(stack):
    fig = plotting.plot_learning_curves(stack, fig=new_figure())
    assert len(fig.axes) == 2  # no validation data: reconstruction error only
    assert all(len(ax.lines) == 1 for ax in fig.axes)
    assert len(fig.axes[0].lines[0].get_xdata()) == 3  # one point per epoch


def test_plot_learning_curves_with_validation(validated_stack):
    fig = plotting.plot_learning_curves(validated_stack, fig=new_figure())
    assert len(fig.axes) == 4  # reconstruction error and free-energy gap rows
    assert len(fig.axes[0].lines) == 2  # training and validation


def test_plot_learning_curves_needs_a_fitted_stack():
    with pytest.raises(NotFittedError):
        plotting.plot_learning_curves(BernoulliRBMStack(), fig=new_figure())
    with pytest.raises(ValueError, match="Nothing to plot"):
        plotting.plot_learning_curves([], fig=new_figure())


@pytest.mark.parametrize(
    "call",
    [
        lambda: plotting.plot_filters(np.zeros((4, 2)), (2, 2)),
        lambda: plotting.plot_images(np.zeros((2, 4)), (2, 2)),
        lambda: plotting.plot_learning_curves([]),
    ],
)
def test_clear_error_without_matplotlib(monkeypatch, call):
    # A None entry in sys.modules makes "import matplotlib" raise ImportError.
    for name in list(sys.modules):
        if name == "matplotlib" or name.startswith("matplotlib."):
            monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=r'pip install "skdbn\[plot\]"'):
        call()
