"""The up-down algorithm (``skdbn._updown``) against its definitions.

Each phase of one step is checked on a tiny net with the random numbers
injected: the states are the thresholded probabilities, and each parameter
change is the gradient of what the phase maximises (finite differences of
the log-likelihood of the layer predicted, or of the top RBM's energy). The
generative label posterior is checked against enumeration of every hidden
state of the joint RBM.
"""

import itertools
import pickle
import re
import warnings

import numpy as np
import pytest
from scipy.special import expit, logsumexp
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from skdbn import DBNClassifier
from skdbn._rbm import RBMLayer
from skdbn._updown import (
    UpDownNetwork,
    apply_changes,
    label_log_posterior,
    updown_changes,
)
from skdbn.datasets import load_digits_01

#: Layer sizes of the tiny net: data, layer 1, layer 2 (joined to the labels).
SIZES = (3, 2, 2)
N_LABELS, N_TOP = 2, 3


class InjectedUniforms:
    """``uniform(shape)`` handing out given arrays in order, checking shapes."""

    def __init__(self, arrays):
        self.arrays = list(arrays)
        self.used = 0

    def __call__(self, shape):
        array = self.arrays[self.used]
        assert array.shape == tuple(shape), (self.used, array.shape, shape)
        self.used += 1
        return array

    def all_used(self):
        return self.used == len(self.arrays)


def tiny_net(seed=0):
    rng = np.random.default_rng(seed)
    layers = [
        RBMLayer(
            rng.normal(0, 1, (n_in, n_out)),
            rng.normal(0, 0.5, n_in),
            rng.normal(0, 0.5, n_out),
        )
        for n_in, n_out in zip(SIZES, SIZES[1:], strict=False)
    ]
    top = RBMLayer(
        rng.normal(0, 1, (SIZES[-1] + N_LABELS, N_TOP)),
        rng.normal(0, 0.5, SIZES[-1] + N_LABELS),
        rng.normal(0, 0.5, N_TOP),
    )
    net = UpDownNetwork.from_pretrained(layers, top, N_LABELS)
    # Untie: the two directions differ, as they do after some fine-tuning.
    for G, g in zip(net.generative_weights, net.generative_biases, strict=True):
        G += rng.normal(0, 0.5, G.shape)
        g += rng.normal(0, 0.5, g.shape)
    return net


def draws(cd_steps, n_rows=2, seed=1):
    """Uniform arrays in the order ``updown_changes`` uses them."""
    rng = np.random.default_rng(seed)
    shapes = [SIZES[1], SIZES[2], N_TOP]
    shapes += [SIZES[2], N_TOP] * cd_steps
    shapes += [SIZES[1]]  # the sleep states of layer 1
    return [rng.random((n_rows, n)) for n in shapes]


DATA = np.array([[0.9, 0.1, 1.0], [0.2, 0.7, 0.0]])
LABELS = np.array([[1.0, 0.0], [0.0, 1.0]])


def one_step(net, cd_steps=1, row_weights=None, seed=1):
    uniforms = InjectedUniforms(draws(cd_steps, seed=seed))
    changes = updown_changes(net, DATA, LABELS, cd_steps, uniforms, row_weights)
    assert uniforms.all_used()
    return changes, uniforms.arrays


def bernoulli_log_likelihood(targets, field):
    """Mean over rows of ``sum log p(targets | sigmoid(field))``."""
    p = expit(field)
    return np.mean(np.sum(targets * np.log(p) + (1 - targets) * np.log1p(-p), 1))


def test_wake_phase_states_and_generative_changes(numerical_gradient):
    net = tiny_net()
    changes, u = one_step(net)
    wake = changes["wake"]
    # States: a unit is on when its uniform draw falls below its probability.
    R, r = net.recognition_weights, net.recognition_biases
    hid = (u[0] < expit(DATA @ R[0] + r[0])).astype(float)
    pen = (u[1] < expit(hid @ R[1] + r[1])).astype(float)
    np.testing.assert_array_equal(wake[0], DATA)
    np.testing.assert_array_equal(wake[1], hid)
    np.testing.assert_array_equal(wake[2], pen)
    # Generative weights climb log p(layer below | layer above) at the wake states.
    G, g = net.generative_weights, net.generative_biases
    for i, (below, above) in enumerate([(DATA, hid), (hid, pen)]):

        def log_likelihood(i=i, below=below, above=above):
            return bernoulli_log_likelihood(below, above @ G[i] + g[i])

        np.testing.assert_allclose(
            changes["generative_weights"][i],
            numerical_gradient(log_likelihood, G[i]),
            atol=1e-7,
        )
        np.testing.assert_allclose(
            changes["generative_biases"][i],
            numerical_gradient(log_likelihood, g[i]),
            atol=1e-7,
        )


def energy(top, V, H):
    """Mean energy ``-v W h - b v - c h`` of the rows of ``(V, H)``."""
    return np.mean(
        -np.einsum("ni,ij,nj->n", V, top.weights, H)
        - V @ top.visible_bias
        - H @ top.hidden_bias
    )


@pytest.mark.parametrize("cd_steps", [1, 2])
def test_top_phase_is_contrastive_divergence_with_softmax_labels(
    cd_steps, numerical_gradient
):
    net = tiny_net()
    changes, u = one_step(net, cd_steps)
    top, n_pen = net.top, SIZES[-1]
    W, b, c = top.weights, top.visible_bias, top.hidden_bias
    pen = changes["wake"][-1]
    positive_top = (u[2] < expit(pen @ W[:n_pen] + LABELS @ W[n_pen:] + c)) * 1.0
    hidden = positive_top
    for step in range(cd_steps):
        u_pen, u_top = u[3 + 2 * step], u[4 + 2 * step]
        negative_pen = (u_pen < expit(hidden @ W[:n_pen].T + b[:n_pen])) * 1.0
        label_field = hidden @ W[n_pen:].T + b[n_pen:]
        negative_labels = np.exp(label_field - logsumexp(label_field, 1, keepdims=1))
        field = negative_pen @ W[:n_pen] + negative_labels @ W[n_pen:] + c
        hidden = (u_top < expit(field)) * 1.0
    positive_visible, got_positive_top = changes["positive"]
    negative_visible, negative_top = changes["negative"]
    np.testing.assert_array_equal(got_positive_top, positive_top)
    np.testing.assert_array_equal(positive_visible, np.hstack([pen, LABELS]))
    np.testing.assert_allclose(
        negative_visible, np.hstack([negative_pen, negative_labels])
    )
    np.testing.assert_array_equal(negative_top, hidden)

    # The change is -dE/dtheta at the data minus -dE/dtheta at the sample.
    def contrast():
        return -energy(top, positive_visible, positive_top) + energy(
            top, negative_visible, negative_top
        )

    for name, array in [
        ("top_weights", W),
        ("top_visible_bias", b),
        ("top_hidden_bias", c),
    ]:
        np.testing.assert_allclose(
            changes[name], numerical_gradient(contrast, array), atol=1e-7
        )


def test_sleep_phase_states_and_recognition_changes(numerical_gradient):
    net = tiny_net()
    changes, u = one_step(net)
    sleep = changes["sleep"]
    G, g = net.generative_weights, net.generative_biases
    negative_pen = changes["negative"][0][:, : SIZES[-1]]
    # The dream starts from the top RBM's negative sample and goes down.
    np.testing.assert_array_equal(sleep[2], negative_pen)
    hid = (u[-1] < expit(negative_pen @ G[1] + g[1])).astype(float)
    np.testing.assert_array_equal(sleep[1], hid)
    np.testing.assert_allclose(sleep[0], expit(hid @ G[0] + g[0]))
    # Recognition weights climb log p(layer above | layer below) in the dream.
    R, r = net.recognition_weights, net.recognition_biases
    for i in range(2):

        def log_likelihood(i=i):
            return bernoulli_log_likelihood(sleep[i + 1], sleep[i] @ R[i] + r[i])

        np.testing.assert_allclose(
            changes["recognition_weights"][i],
            numerical_gradient(log_likelihood, R[i]),
            atol=1e-7,
        )
        np.testing.assert_allclose(
            changes["recognition_biases"][i],
            numerical_gradient(log_likelihood, r[i]),
            atol=1e-7,
        )


def test_a_step_adds_the_learning_rate_times_each_change():
    net = tiny_net()
    before = tiny_net()
    changes, _ = one_step(net)
    apply_changes(net, changes, 0.5)
    for name in ("generative_weights", "recognition_biases"):
        for new, old, change in zip(
            getattr(net, name), getattr(before, name), changes[name], strict=True
        ):
            np.testing.assert_allclose(new, old + 0.5 * change)
    np.testing.assert_allclose(
        net.top.weights, before.top.weights + 0.5 * changes["top_weights"]
    )


def test_integer_row_weights_count_as_repeated_rows():
    net = tiny_net()
    weighted, u = one_step(net, row_weights=np.array([2.0, 1.0]))
    # The same step on the first row twice, with the same random numbers.
    uniforms = InjectedUniforms([a[[0, 0, 1]] for a in u])
    repeated = updown_changes(net, DATA[[0, 0, 1]], LABELS[[0, 0, 1]], 1, uniforms)
    for name in ("generative_weights", "recognition_weights"):
        for a, b in zip(weighted[name], repeated[name], strict=True):
            np.testing.assert_allclose(a, b)
    np.testing.assert_allclose(weighted["top_weights"], repeated["top_weights"])


def test_label_posterior_is_exp_minus_free_energy_by_enumeration():
    rng = np.random.default_rng(3)
    n_features, n_labels, n_hidden = 3, 3, 4
    top = RBMLayer(
        rng.normal(0, 1, (n_features + n_labels, n_hidden)),
        rng.normal(0, 1, n_features + n_labels),
        rng.normal(0, 1, n_hidden),
    )
    features = rng.random((5, n_features))
    hidden_states = np.array(list(itertools.product([0, 1], repeat=n_hidden)))
    expected = np.empty((5, n_labels))
    for k in range(n_labels):
        V = np.hstack([features, np.tile(np.eye(n_labels)[k], (5, 1))])
        # -E(v, h) for every hidden state, summed out: -F(v).
        minus_energy = (
            V @ top.weights @ hidden_states.T
            + (V @ top.visible_bias)[:, None]
            + hidden_states @ top.hidden_bias
        )
        expected[:, k] = logsumexp(minus_energy, axis=1)
    expected -= logsumexp(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(
        label_log_posterior(top, features, n_labels), expected, rtol=1e-12
    )


# ------------------------------------------------------------ the estimator


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits_01(return_X_y=True)
    return X[:300], y[:300]


def updown_classifier(**params):
    settings = dict(
        hidden_layer_sizes=(24, 16),
        generative_layer_size=32,
        n_epochs=3,
        batch_size=20,
        max_iter=2,
        updown_epochs=3,
        random_state=0,
    )
    settings.update(params)
    return DBNClassifier(**settings)


@pytest.fixture(scope="module")
def fitted(digits):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return updown_classifier().fit(*digits)


def test_fit_untied_and_fine_tuned_copies(fitted):
    net = fitted.updown_
    assert len(net.history) == 3 and net.history[-1]["epoch"] == 3
    stack = fitted.stack_.layers_
    for i, layer in enumerate(stack):
        # Both directions moved away from the pre-trained (tied) weights ...
        assert not np.allclose(net.recognition_weights[i], layer.weights)
        assert not np.allclose(net.generative_weights[i], layer.weights.T)
        assert net.generative_weights[i].shape == layer.weights.T.shape
    # ... and pre-training's own layers were left as they were.
    assert not np.allclose(net.top.weights, fitted.generative_layer_.weights)
    assert fitted.updown_epochs == 3


def test_generative_posterior_from_the_recognition_up_pass(fitted, digits):
    X, _ = digits
    net = fitted.updown_
    P = X[:20]
    for W, b in zip(net.recognition_weights, net.recognition_biases, strict=True):
        P = expit(P @ W + b)
    top, n_pen = net.top, net.n_penultimate
    proba = fitted.predict_proba_generative(X[:20])
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    np.testing.assert_array_equal(
        fitted.predict_generative(X[:20]), fitted.classes_[np.argmax(proba, axis=1)]
    )
    # -F(p, k) = b @ [p, e_k] + sum_j softplus(([p, e_k] @ W)_j + c_j).
    expected = np.stack(
        [
            P @ top.visible_bias[:n_pen]
            + top.visible_bias[n_pen + k]
            + np.logaddexp(
                0, P @ top.weights[:n_pen] + top.weights[n_pen + k] + top.hidden_bias
            ).sum(1)
            for k in range(10)
        ],
        axis=1,
    )
    expected = np.exp(expected - logsumexp(expected, axis=1, keepdims=True))
    np.testing.assert_allclose(proba, expected, rtol=1e-6)


def test_same_seed_same_model_other_seed_another(digits, fitted):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        again = updown_classifier().fit(*digits)
        other = updown_classifier(random_state=1).fit(*digits)
    for a, b in zip(
        again.updown_.generative_weights, fitted.updown_.generative_weights, strict=True
    ):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(again.updown_.top.weights, fitted.updown_.top.weights)
    assert not np.allclose(other.updown_.top.weights, fitted.updown_.top.weights)


def test_float32_stays_float32(digits):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = updown_classifier(updown_epochs=1).fit(X.astype(np.float32), y)
    net = clf.updown_
    arrays = [*net.recognition_weights, *net.generative_biases, net.top.weights]
    assert all(a.dtype == np.float32 for a in arrays)
    assert clf.predict_proba_generative(X[:5].astype(np.float32)).dtype == np.float32


def test_sample_uses_the_generative_weights(fitted):
    samples, classes = fitted.sample(6, n_steps=5, random_state=0)
    assert samples.shape == (6, 64) and ((samples >= 0) & (samples <= 1)).all()
    np.testing.assert_array_equal(classes, np.arange(6))
    # A tied (untrained) up-down net generates exactly as the pre-trained stack.
    model = pickle.loads(pickle.dumps(fitted))
    model.updown_ = None
    plain, _ = model.sample(6, n_steps=5, random_state=0)
    model.updown_ = UpDownNetwork.from_pretrained(
        model.stack_.layers_, model.generative_layer_, 10
    )
    tied, _ = model.sample(6, n_steps=5, random_state=0)
    np.testing.assert_allclose(tied, plain, rtol=1e-12)
    assert not np.allclose(samples, plain)


def test_without_updown_the_pretrained_model_classifies(digits):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = updown_classifier(updown_epochs=0).fit(X, y)
    assert clf.updown_ is None
    P = clf.stack_.transform(X[:10])
    expected = np.exp(label_log_posterior(clf.generative_layer_, P, 10))
    np.testing.assert_allclose(clf.predict_proba_generative(X[:10]), expected)


def test_clone_and_round_trips(fitted, digits):
    X, _ = digits
    copy = clone(fitted)
    assert copy.get_params()["updown_epochs"] == 3
    assert not hasattr(copy, "updown_")
    sio = pytest.importorskip("skops.io")
    data = sio.dumps(fitted)
    assert sio.get_untrusted_types(data=data) == ["skdbn._classifier.DBNClassifier"]
    for loaded in (
        sio.loads(data, trusted=["skdbn._classifier.DBNClassifier"]),
        pickle.loads(pickle.dumps(fitted)),
    ):
        assert type(loaded.updown_) is UpDownNetwork
        assert loaded.updown_.history == fitted.updown_.history
        np.testing.assert_array_equal(
            loaded.predict_proba_generative(X), fitted.predict_proba_generative(X)
        )
        np.testing.assert_array_equal(
            loaded.sample(3, n_steps=2, random_state=0)[0],
            fitted.sample(3, n_steps=2, random_state=0)[0],
        )


def test_tampered_updown_state_is_refused(fitted):
    from skdbn._serialization import TAG, plain_state

    state = plain_state(fitted.__getstate__())
    entry = state["updown_"]
    assert entry[TAG] == "skdbn._updown:UpDownNetwork"
    weights = entry["state"]["generative_weights"]
    weights[0] = weights[0][:, :5]
    loaded = DBNClassifier.__new__(DBNClassifier)
    with pytest.raises(ValueError, match="not the recognition weights' mirror"):
        loaded.__setstate__(state)


def test_bad_settings_are_refused(digits):
    X, y = digits
    with pytest.raises(ValueError, match="updown_epochs=2 needs generative_layer_size"):
        DBNClassifier((8,), updown_epochs=2).fit(X, y)
    with pytest.raises(ValueError, match="updown_learning_rate"):
        updown_classifier(updown_learning_rate=0).fit(X, y)
    for bad in [dict(hidden_units="relu"), dict(visible_units="gaussian")]:
        with pytest.raises(ValueError, match=re.escape("binary (Bernoulli) units")):
            updown_classifier(**bad).fit(X, y)
    # visible_units="auto" resolves to Gaussian units on data outside [0, 1].
    with pytest.raises(ValueError, match=re.escape("layer 1 has gaussian visible")):
        updown_classifier(n_epochs=1).fit(X * 16 - 2, y)
    with pytest.raises(NotFittedError):
        updown_classifier().predict_generative(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = DBNClassifier((8,), n_epochs=1, max_iter=1).fit(X[:50], y[:50])
    with pytest.raises(ValueError, match="no generative top layer"):
        plain.predict_proba_generative(X)


def test_interrupt_in_updown_keeps_a_usable_model(digits, monkeypatch):
    import skdbn._updown as updown

    real = updown.updown_changes
    calls = []

    def interrupting(*args, **kwargs):
        calls.append(1)
        if len(calls) == 20:  # in the second epoch (15 minibatches an epoch)
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(updown, "updown_changes", interrupting)
    X, y = digits
    with (
        pytest.warns(UserWarning, match="Up-down fine-tuning interrupted"),
        pytest.warns(UserWarning, match="fit stopped before fine-tuning"),
    ):
        clf = updown_classifier().fit(X, y)
    assert clf.n_iter_ == 0 and len(clf.updown_.history) == 1
    assert clf.predict_generative(X[:5]).shape == (5,)


def test_divergence_restores_the_last_epoch(digits):
    X, y = digits
    with (
        pytest.warns(ConvergenceWarning, match="Up-down fine-tuning diverged"),
        warnings.catch_warnings(),
    ):
        warnings.filterwarnings("ignore", "Fine-tuning stopped", ConvergenceWarning)
        clf = updown_classifier(updown_learning_rate=1e308).fit(X, y)
    assert clf.updown_.history == []
    top = clf.updown_.top
    np.testing.assert_array_equal(top.weights, clf.generative_layer_.weights)


def test_sparse_input_gives_the_dense_model(digits):
    import scipy.sparse as sp

    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense = updown_classifier(updown_epochs=1).fit(X, y)
        sparse = updown_classifier(updown_epochs=1).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(
        sparse.predict_proba_generative(sp.csr_matrix(X)),
        dense.predict_proba_generative(X),
        atol=1e-10,
    )
