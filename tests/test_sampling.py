"""Generating data: stack sampling options and class-conditional samples."""

import itertools
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from skdbn import BernoulliRBMStack, DBNClassifier, RBMLayer


@pytest.fixture(scope="module")
def digits01():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


@pytest.fixture(scope="module")
def small_stack(digits01):
    X, _ = digits01
    return BernoulliRBMStack((32, 16), n_epochs=2, random_state=0).fit(X[:300])


def test_sample_shapes_and_reproducibility(small_stack):
    a = small_stack.sample(7, n_steps=5, random_state=3)
    b = small_stack.sample(7, n_steps=5, random_state=3)
    assert a.shape == (7, 64)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, small_stack.sample(7, n_steps=5, random_state=4))
    assert ((a >= 0) & (a <= 1)).all()


def test_return_mean_false_gives_binary_draws(small_stack):
    draws = small_stack.sample(20, n_steps=3, return_mean=False, random_state=0)
    assert set(np.unique(draws)) <= {0.0, 1.0}


def test_thinning_and_chains_order_the_samples(small_stack):
    # Row i comes from chain i % n_chains after n_steps + (i // n_chains) *
    # thinning steps: with zero burn-in and one step between samples, the
    # first n_chains rows equal a run of n_steps=0, the next ones n_steps=1.
    many = small_stack.sample(6, n_steps=0, n_chains=3, thinning=1, random_state=0)
    first = small_stack.sample(3, n_steps=0, random_state=0)
    # To rounding: the down pass's matrix products see 6 rows instead of 3.
    np.testing.assert_allclose(many[:3], first, rtol=1e-12, atol=1e-15)
    assert not np.array_equal(many[3:], first)
    thinned = small_stack.sample(9, n_steps=2, n_chains=3, thinning=4, random_state=1)
    assert thinned.shape == (9, 64)


def test_chains_can_start_from_data(digits01, small_stack):
    X, _ = digits01
    start = X[:4]
    samples = small_stack.sample(8, n_steps=0, start=start, random_state=0)
    # No step: each sample is the data's up pass, then the mean-field way down.
    up = small_stack.layers_[0].hidden_mean(start)
    top = small_stack.layers_[1]
    hidden = np.asarray(samples)  # placeholder for the shape check below
    assert hidden.shape == (8, 64)
    # Chain i starts from row i % 4, so rows 0 and 4 share a starting point.
    assert np.corrcoef(samples[0], samples[4])[0, 1] > 0.5
    assert up.shape == (4, 32) and top.n_visible == 32


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_steps": -1}, "n_steps"),
        ({"thinning": 0}, "thinning"),
        ({"n_chains": 0}, "n_chains"),
    ],
)
def test_bad_sampling_arguments_are_named(small_stack, params, match):
    with pytest.raises(ValueError, match=match):
        small_stack.sample(3, **params)
    with pytest.raises(ValueError, match="n_samples"):
        small_stack.sample(0)
    with pytest.raises(ValueError, match="features"):
        small_stack.sample(2, start=np.zeros((2, 5)))


def test_samples_reproduce_the_exact_marginals_of_a_small_rbm(brute_force_rbm):
    rng = np.random.default_rng(0)
    W, b, c = rng.normal(0, 1, (6, 4)), rng.normal(0, 1, 6), rng.normal(0, 1, 4)
    V, _, P, _ = brute_force_rbm(W, b, c)
    exact = P.sum(axis=1) @ V
    stack = BernoulliRBMStack(4)
    stack.layers_ = [RBMLayer(W, b, c)]
    stack.n_features_in_ = 6
    draws = stack.sample(4000, n_steps=50, return_mean=False, random_state=0)
    standard_error = np.sqrt(exact * (1 - exact) / 4000)
    assert np.all(np.abs(draws.mean(axis=0) - exact) < 5 * standard_error)
    # And pairwise: E[v_i v_j] of the model.
    pairs = list(itertools.combinations(range(6), 2))
    exact_pairs = [(P.sum(axis=1) * V[:, i] * V[:, j]).sum() for i, j in pairs]
    drawn_pairs = [(draws[:, i] * draws[:, j]).mean() for i, j in pairs]
    np.testing.assert_allclose(drawn_pairs, exact_pairs, atol=0.035)


# ------------------------------------------------- class-conditional samples


@pytest.fixture(scope="module")
def generative_classifier(digits01):
    X, y = digits01
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return DBNClassifier(
            (200,),
            generative_layer_size=300,
            n_epochs=30,
            batch_size=20,
            max_iter=2,
            random_state=0,
        ).fit(X, y)


def test_class_conditional_samples_show_the_requested_digit(
    digits01, generative_classifier
):
    X, y = digits01
    judge = LogisticRegression(max_iter=3000).fit(X, y)
    samples, classes = generative_classifier.sample(200, n_steps=100, random_state=0)
    assert samples.shape == (200, 64)
    np.testing.assert_array_equal(classes, np.arange(200) % 10)
    # An independent classifier recognises the requested class (chance: 10%).
    assert (judge.predict(samples) == classes).mean() > 0.85
    sevens, labels = generative_classifier.sample(5, y=7, n_steps=10, random_state=0)
    assert (labels == 7).all() and (judge.predict(sevens) == 7).mean() >= 0.6


def test_generative_layer_models_features_and_labels(generative_classifier):
    layer = generative_classifier.generative_layer_
    assert layer.n_visible == 200 + 10 and layer.n_hidden == 300
    assert layer.history  # trained, with monitoring


def test_sampling_needs_the_generative_layer(digits01, generative_classifier):
    X, y = digits01
    with pytest.raises(ValueError, match="not seen in fit"):
        generative_classifier.sample(2, y=11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = DBNClassifier((8,), n_epochs=1, max_iter=1).fit(X[:50], y[:50])
        with pytest.raises(ValueError, match="generative_layer_size"):
            plain.sample(3)
        with pytest.raises(ValueError, match="pretrain=True"):
            DBNClassifier(
                (8,), pretrain=False, generative_layer_size=5, max_iter=1
            ).fit(X[:50], y[:50])


def test_samples_of_raw_data_are_in_the_datas_units():
    # Raw columns far from [0, 1]: "auto" standardises them for Gaussian
    # units, and the samples must come back in the columns' own units.
    rng = np.random.default_rng(0)
    y = np.arange(120) % 2
    X = 1000.0 + 50.0 * rng.standard_normal((120, 3)) + 200.0 * y[:, None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = DBNClassifier(
            (6,), generative_layer_size=8, n_epochs=20, max_iter=2, random_state=0
        ).fit(X, y)
    assert clf.visible_units_ == "gaussian"
    samples, classes = clf.sample(200, n_steps=20, random_state=0)
    column_means = samples.mean(axis=0)
    # Standardised samples would average near 0; the data average 1100.
    assert np.all(np.abs(column_means - X.mean(axis=0)) < 2 * X.std(axis=0))
    assert np.all(column_means > 500)
