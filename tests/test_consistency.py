"""Virtual adversarial training and entropy minimisation on unlabelled rows."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_moons
from sklearn.exceptions import ConvergenceWarning

from skdbn import DBNClassifier
from skdbn._consistency import (
    UnlabelledTerms,
    adversarial_perturbation,
    entropy_loss_and_gradients,
    kl_loss_and_gradients,
    log_softmax,
)
from skdbn._network import FeedForwardNetwork
from skdbn.datasets import load_digits_01

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def small_network(activation="logistic", seed=0):
    rng = np.random.default_rng(seed)
    net = FeedForwardNetwork.initialize(
        [5, 4, 3, 3], rng=rng, hidden_activation=activation
    )
    for W in net.weights:
        W *= 3.0  # outputs far from uniform: gradients of a useful size
    return net


def fixed_targets(n, seed=1):
    """``log p`` of random class probabilities."""
    rng = np.random.default_rng(seed)
    return log_softmax(rng.normal(size=(n, 3)))


@pytest.mark.parametrize("activation", ["logistic", "tanh", "identity"])
def test_kl_input_gradient_matches_finite_differences(activation, numerical_gradient):
    net = small_network(activation)
    X = np.random.default_rng(2).random((6, 5))
    log_p = fixed_targets(6)
    scale = np.full((6, 1), 1 / 6)
    *_, grad_input = kl_loss_and_gradients(net, X, log_p, scale, input=True)

    def loss():
        return kl_loss_and_gradients(net, X, log_p, scale)[0]

    np.testing.assert_allclose(grad_input, numerical_gradient(loss, X), atol=1e-8)


def test_vat_loss_weight_gradient_matches_finite_differences(numerical_gradient):
    # r_adv held fixed: the VAT term is KL(p || q(x + r_adv)) with p fixed.
    net = small_network()
    rng = np.random.default_rng(3)
    X = rng.random((6, 5))
    log_p = np.log(net.forward(X))
    r_adv = adversarial_perturbation(net, X, log_p, 0.5, 0.005, rng)
    scale = rng.random((6, 1))
    _, grad_weights, grad_biases, _ = kl_loss_and_gradients(
        net, X + r_adv, log_p, scale
    )

    def loss():
        return kl_loss_and_gradients(net, X + r_adv, log_p, scale)[0]

    for param, grad in zip(net.parameters, grad_weights + grad_biases, strict=True):
        np.testing.assert_allclose(grad, numerical_gradient(loss, param), atol=1e-8)


def test_entropy_gradient_matches_finite_differences(numerical_gradient):
    net = small_network("tanh")
    X = np.random.default_rng(4).random((7, 5))
    scale = np.full((7, 1), 1 / 7)
    loss, grad_weights, grad_biases = entropy_loss_and_gradients(net, X, scale)
    proba = net.forward(X)
    np.testing.assert_allclose(loss, -np.mean(np.sum(proba * np.log(proba), axis=1)))

    def f():
        return entropy_loss_and_gradients(net, X, scale)[0]

    for param, grad in zip(net.parameters, grad_weights + grad_biases, strict=True):
        np.testing.assert_allclose(grad, numerical_gradient(f, param), atol=1e-8)


def test_perturbation_has_the_norm_and_finds_the_sensitive_direction():
    net = small_network()
    rng = np.random.default_rng(5)
    X = rng.random((50, 5))
    log_p = np.log(net.forward(X))
    r_adv = adversarial_perturbation(net, X, log_p, 0.3, 1e-3, rng)
    np.testing.assert_allclose(np.linalg.norm(r_adv, axis=1), 0.3)
    scale = np.ones((1, 1))
    gains = []
    for i in range(50):
        row, lp = X[i : i + 1], log_p[i : i + 1]
        adversarial = kl_loss_and_gradients(net, row + r_adv[i], lp, scale)[0]
        d = rng.standard_normal(5)
        random = kl_loss_and_gradients(
            net, row + 0.3 * d / np.linalg.norm(d), lp, scale
        )[0]
        gains.append(adversarial >= random)
    # One power iteration from a random start: better than a random
    # direction for (almost) every row.
    assert np.mean(gains) > 0.9


def test_vat_term_is_zero_for_a_constant_network():
    rng = np.random.default_rng(6)
    net = FeedForwardNetwork(
        [np.zeros((5, 4)), np.zeros((4, 3))], [rng.normal(size=4), rng.normal(size=3)]
    )
    X = rng.random((8, 5))
    terms = UnlabelledTerms(X, None, 1.0, 0.2, 0.0)
    loss, grad_weights, grad_biases, extras = terms.loss_and_gradients(
        net, np.arange(8), rng
    )
    assert loss == 0.0 and extras["vat"] == 0.0
    for grad in grad_weights + grad_biases:
        np.testing.assert_array_equal(grad, 0.0)


def test_epsilon_is_relative_to_the_rows_norm():
    X = np.random.default_rng(7).random((20, 5))
    dense = UnlabelledTerms(X, None, 1.0, 0.2, 0.0)
    rms = np.sqrt(np.mean(np.sum(X**2, axis=1)))
    np.testing.assert_allclose(dense.epsilon, 0.2 * rms)
    np.testing.assert_allclose(
        UnlabelledTerms(sp.csr_matrix(X), None, 1, 0.2, 0).epsilon, dense.epsilon
    )


@pytest.fixture(scope="module")
def moons():
    X, y = make_moons(600, noise=0.1, random_state=0)
    rng = np.random.default_rng(0)
    labelled = np.concatenate(
        [rng.choice(np.flatnonzero(y == c), 3, replace=False) for c in (0, 1)]
    )
    y_semi = np.full_like(y, -1)
    y_semi[labelled] = y[labelled]
    X_test, y_test = make_moons(1000, noise=0.1, random_state=1)
    return X, y_semi, X_test, y_test


def moons_model(**params):
    defaults = dict(
        hidden_layer_sizes=(32,),
        n_epochs=5,
        max_iter=40,
        semi_supervised=True,
        random_state=0,
    )
    return DBNClassifier(**{**defaults, **params})


def test_vat_beats_labels_only_on_two_moons(moons):
    X, y_semi, X_test, y_test = moons
    labels_only = moons_model(vat_weight=0.0, entropy_weight=0.0, max_iter=2000)
    vat = moons_model()
    error_labels = 1 - labels_only.fit(X, y_semi).score(X_test, y_test)
    error_vat = 1 - vat.fit(X, y_semi).score(X_test, y_test)
    assert error_vat < error_labels - 0.05, (error_vat, error_labels)


def test_auto_dropout_is_on_with_the_unlabelled_terms_only():
    # dropout="auto" drops 30% of the hidden units when VAT (or entropy)
    # terms fine-tune on unlabelled rows, as dropout=0.3 would; not without
    # unlabelled rows, nor with both terms off.
    X, y = load_digits_01(return_X_y=True)
    X, y = X[:200], y[:200].copy()
    y_semi = y.copy()
    y_semi[40:] = -1
    params = dict(n_epochs=2, max_iter=3, semi_supervised=True, random_state=0)
    auto = DBNClassifier((16,), **params).fit(X, y_semi)
    assert auto.dropout == "auto" and auto.dropout_ == 0.3
    explicit = DBNClassifier((16,), dropout=0.3, **params).fit(X, y_semi)
    np.testing.assert_array_equal(auto.predict_proba(X), explicit.predict_proba(X))
    without = DBNClassifier((16,), dropout=0.0, **params).fit(X, y_semi)
    assert not np.allclose(auto.predict_proba(X), without.predict_proba(X))
    assert DBNClassifier((16,), **params).fit(X, y).dropout_ == 0.0
    off = DBNClassifier((16,), vat_weight=0.0, **params).fit(X, y_semi)
    assert off.dropout_ == 0.0
    entropy = dict(params, vat_weight=0.0, entropy_weight=0.5)
    assert DBNClassifier((16,), **entropy).fit(X, y_semi).dropout_ == 0.3
    # -1 is an ordinary class without semi_supervised: no unlabelled rows.
    plain = dict(params, semi_supervised=False)
    assert DBNClassifier((16,), **plain).fit(X, y_semi).dropout_ == 0.0


def test_same_seed_same_model_and_float32_stays_float32():
    X, y = load_digits_01(return_X_y=True)
    X, y = X[:200].astype(np.float32), y[:200].copy()
    y[40:] = -1
    a = DBNClassifier(
        (16,), n_epochs=2, max_iter=3, semi_supervised=True, random_state=0
    )
    b = DBNClassifier(
        (16,), n_epochs=2, max_iter=3, semi_supervised=True, random_state=0
    )
    a.fit(X, y), b.fit(X, y)
    for W_a, W_b in zip(a.coefs_, b.coefs_, strict=True):
        assert W_a.dtype == np.float32
        np.testing.assert_array_equal(W_a, W_b)
    # An epoch passes over the 160 unlabelled rows, 40 labelled ones each step.
    assert a.n_iter_ == 3 and a.t_ == 3 * 160 and len(a.loss_curve_) == 3


def test_fully_labelled_fit_ignores_the_terms_and_partial_fit_uses_them():
    X, y = load_digits_01(return_X_y=True)
    X, y = X[:200], y[:200].copy()
    params = dict(n_epochs=2, max_iter=3, semi_supervised=True, random_state=0)
    a = DBNClassifier((16,), vat_weight=0.0, entropy_weight=0.0, **params).fit(X, y)
    b = DBNClassifier((16,), vat_weight=5.0, entropy_weight=2.0, **params).fit(X, y)
    np.testing.assert_array_equal(a.coefs_[-1], b.coefs_[-1])
    y[100:] = -1
    clf = DBNClassifier((16,), **params)
    clf.partial_fit(X[:150], y[:150], classes=np.arange(10))
    assert clf.t_ == 50 and clf.n_iter_ == 1  # a pass over the chunk's -1 rows
    sparse = DBNClassifier((16,), **params).fit(sp.csr_matrix(X), y)
    dense = DBNClassifier((16,), **params).fit(X, y)
    np.testing.assert_allclose(sparse.coefs_[-1], dense.coefs_[-1], atol=1e-10)


@pytest.mark.parametrize(
    "params", [dict(vat_epsilon=0.0), dict(vat_weight=-1.0), dict(entropy_weight=-0.1)]
)
def test_invalid_parameters_are_refused(params):
    X, y = load_digits_01(return_X_y=True)
    with pytest.raises(ValueError), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        DBNClassifier((8,), **params).fit(X[:50], y[:50])


def test_early_stopping_and_verbose_lines_with_vat(capsys):
    X, y = load_digits_01(return_X_y=True)
    X, y = X[:200], y[:200].copy()
    y[100:] = -1
    clf = DBNClassifier(
        (16,),
        n_epochs=2,
        max_iter=4,
        semi_supervised=True,
        early_stopping=True,
        validation_fraction=0.2,
        random_state=0,
        verbose=1,
    ).fit(X, y)
    # 20 labelled rows held out; an epoch is a pass over the 100 -1 rows.
    assert len(clf.validation_scores_) == clf.n_iter_ == 4
    assert clf.t_ == 4 * 100
    lines = [
        line for line in capsys.readouterr().out.splitlines() if "fine-tuning" in line
    ]
    assert len(lines) == 4 and all("vat" in line for line in lines)
