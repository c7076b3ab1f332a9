"""Warnings name the user's line, not a line inside skdbn or scikit-learn."""

import warnings

import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skdbn import BernoulliRBMStack, DBNAutoencoder, DBNClassifier, GaussianRBMStack


def _caught(fit):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit()
    return caught


def test_every_warning_points_at_the_calling_code():
    rng = np.random.default_rng(0)
    X, y = rng.random((40, 5)), np.arange(40) % 2
    fits = [
        lambda: DBNClassifier((4,), n_epochs=1, max_iter=2).fit(X, y),  # max_iter
        lambda: DBNAutoencoder((4, 2), n_epochs=1, max_iter=2).fit(X),  # max_iter
        lambda: BernoulliRBMStack(3, n_epochs=1).fit(X * 5),  # data range
        lambda: GaussianRBMStack(3, learning_rate=10.0, n_epochs=3).fit(
            rng.normal(size=(100, 4))
        ),  # divergence
        # Through a Pipeline: scikit-learn's frames are skipped too.
        lambda: make_pipeline(
            FunctionTransformer(), BernoulliRBMStack(3, n_epochs=1)
        ).fit(X * 5),
    ]
    for fit in fits:
        caught = _caught(fit)
        assert caught
        for warning in caught:
            assert warning.filename == __file__, (warning.message, warning.filename)
