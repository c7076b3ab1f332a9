"""Real-valued units: Gaussian visible units, NReLU units, GaussianRBMStack.

The maths is checked against formulas written here independently of skdbn:
the textbook Gaussian-Bernoulli energy summed over every hidden state,
numerical integration over the visible units, the exact log-likelihood
gradient by finite differences, and the stepped-sigmoid sum term by term.
"""

import itertools
import math
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import integrate, stats
from scipy.special import logsumexp
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_diabetes, load_wine, make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skdbn import (
    BernoulliRBMStack,
    DataRangeWarning,
    DBNClassifier,
    DBNRegressor,
    GaussianRBMStack,
    RBMLayer,
)
from skdbn._contrastive_divergence import ContrastiveDivergence
from skdbn._rbm import MIN_VISIBLE_STD
from skdbn._units import GaussianUnits, ReLUUnits, get_unit_type
from skdbn.evaluation import log_likelihood_exact, log_partition_exact


def random_grbm(n_visible, n_hidden, seed=0, learn_std=True, hidden="bernoulli"):
    rng = np.random.default_rng(seed)
    log_std = rng.uniform(-0.5, 0.5, n_visible) if learn_std else None
    return RBMLayer(
        0.5 * rng.standard_normal((n_visible, n_hidden)),
        0.5 * rng.standard_normal(n_visible),
        0.5 * rng.standard_normal(n_hidden),
        "gaussian",
        hidden,
        log_std,
    )


def textbook_energy(layer, v, h):
    """``sum (v - b)^2 / (2 s^2) - sum (v / s) W h - c h`` (Hinton 2010, 13.2)."""
    s = np.ones(layer.n_visible) if layer.visible_std is None else layer.visible_std
    b, c, W = layer.visible_bias, layer.hidden_bias, layer.weights
    return np.sum((v - b) ** 2 / (2 * s**2)) - (v / s) @ W @ h - c @ h


def hidden_states(n_hidden):
    return [
        np.array(bits, float) for bits in itertools.product([0, 1], repeat=n_hidden)
    ]


# ------------------------------------------------------------------ unit types


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gaussian_units_sample_normal_around_the_field(dtype):
    field = np.array([[-2.0, 0.0, 3.5]], dtype=dtype).repeat(40000, axis=0)
    mean, out = np.empty_like(field), np.empty_like(field)
    rng = np.random.default_rng(0)
    GaussianUnits.mean_and_sample(field, 0.0, rng, mean, out, None)
    assert out.dtype == dtype
    np.testing.assert_array_equal(mean, field)
    n = field.shape[0]
    assert np.all(np.abs(out.mean(axis=0) - field[0]) < 5 / np.sqrt(n))
    np.testing.assert_allclose(out.std(axis=0), 1.0, atol=0.02)


def test_gaussian_units_draw_the_same_numbers_in_float32_and_float64():
    field = np.random.default_rng(1).standard_normal((20, 5))
    draws = []
    for dtype in (np.float32, np.float64):
        f = field.astype(dtype)
        out = np.empty_like(f)
        GaussianUnits.mean_and_sample(
            f, 0.0, np.random.default_rng(3), np.empty_like(f), out, None
        )
        draws.append(out.astype(np.float64))
    np.testing.assert_allclose(draws[0], draws[1], rtol=1e-6, atol=1e-6)


def test_gaussian_log_partition_is_the_integral_over_each_unit():
    field = np.array([[-1.3, 0.4, 2.0]])
    bias = np.array([0.5, -1.0, 0.0])
    expected = 0.0
    for x, c in zip(field[0], bias, strict=True):
        value, _ = integrate.quad(
            lambda s, x=x, c=c: np.exp(-((s - c) ** 2) / 2 + s * (x - c)), -40, 40
        )
        expected += np.log(value)
    assert GaussianUnits.log_partition(field, bias)[0] == pytest.approx(expected)


def nrelu_mean(x):
    """``E[max(0, x + sigma Z)]`` with ``sigma^2 = sigmoid(x)``."""
    sigma = np.sqrt(1 / (1 + np.exp(-x)))
    return x * stats.norm.cdf(x / sigma) + sigma * stats.norm.pdf(x / sigma)


def test_relu_units_sample_noisy_rectified_values():
    x = np.array([-2.0, -0.3, 0.0, 0.7, 4.0])
    field = np.tile(x, (50000, 1))
    mean, out = np.empty_like(field), np.empty_like(field)
    scratch = np.empty(field.shape, np.float32)
    ReLUUnits.mean_and_sample(field, 0.0, np.random.default_rng(0), mean, out, scratch)
    np.testing.assert_array_equal(mean, np.maximum(field, 0))
    assert (out >= 0).all()
    # The noise standard deviation is at most 1, so 5 / sqrt(n) bounds 5 SE.
    np.testing.assert_allclose(out.mean(axis=0), nrelu_mean(x), atol=5 / np.sqrt(5e4))
    assert (out[:, 1] > 0).mean() > 0.2  # noise can switch on a negative field


def test_relu_log_partition_is_the_stepped_sigmoid_sum():
    fields = np.array([[-45.0, -3.0, 0.0, 0.5, 1.5, 2.3, 29.5, 30.0, 31.5, 60.2]])
    expected = [
        math.fsum(math.log1p(math.exp(x - n + 0.5)) for n in range(1, 400))
        for x in fields[0]
    ]
    result = [ReLUUnits.log_partition(fields[:, [i]], None)[0] for i in range(10)]
    np.testing.assert_allclose(result, expected, rtol=1e-13, atol=1e-13)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isfinite(ReLUUnits.log_partition(np.array([[-1e4, 1e4]]), None))


def test_unit_registry_lists_every_type():
    for name, activation in [
        ("bernoulli", "logistic"),
        ("gaussian", "identity"),
        ("relu", "relu"),
    ]:
        assert get_unit_type(name).network_activation == activation


# ------------------------------------------- Gaussian-Bernoulli RBM, exactly


@pytest.mark.parametrize("learn_std", [False, True])
def test_free_energy_matches_the_sum_over_hidden_states(learn_std):
    layer = random_grbm(3, 4, learn_std=learn_std)
    V = np.random.default_rng(5).normal(size=(6, 3))
    expected = [
        -logsumexp([-textbook_energy(layer, v, h) for h in hidden_states(4)]) for v in V
    ]
    np.testing.assert_allclose(layer.free_energy(V), expected, rtol=1e-12)


@pytest.mark.parametrize("learn_std", [False, True])
def test_conditionals_match_the_joint_distribution(learn_std):
    layer = random_grbm(3, 4, learn_std=learn_std)
    H = np.array(hidden_states(4))
    V = np.random.default_rng(6).normal(size=(5, 3))
    for v, mean in zip(V, layer.hidden_mean(V), strict=True):
        log_weights = np.array([-textbook_energy(layer, v, h) for h in H])
        p = np.exp(log_weights - logsumexp(log_weights))
        np.testing.assert_allclose(mean, p @ H, rtol=1e-10)
    # Given h, v is N(b + s W h, s^2): check the mean and the samples.
    s = np.ones(3) if layer.visible_std is None else layer.visible_std
    np.testing.assert_allclose(
        layer.visible_mean(H), layer.visible_bias + s * (H @ layer.weights.T)
    )
    h = np.tile(H[5], (40000, 1))
    draws = layer.sample_visible(h, np.random.default_rng(0))
    np.testing.assert_allclose(draws.std(axis=0), s, rtol=0.03)
    np.testing.assert_allclose(
        draws.mean(axis=0), layer.visible_mean(H[[5]])[0], atol=5 * s.max() / 200
    )


def test_log_partition_matches_numerical_integration_in_one_and_two_dimensions():
    layer = random_grbm(1, 3, seed=2)
    value, _ = integrate.quad(
        lambda v: np.exp(-layer.free_energy(np.array([[v]]))[0]), -30, 30
    )
    assert log_partition_exact(layer) == pytest.approx(np.log(value), rel=1e-8)
    layer = random_grbm(2, 3, seed=3)
    value, _ = integrate.dblquad(
        lambda y, x: np.exp(-layer.free_energy(np.array([[x, y]]))[0]),
        -20,
        20,
        -20,
        20,
    )
    assert log_partition_exact(layer) == pytest.approx(np.log(value), rel=1e-6)


def test_log_likelihood_is_a_density_that_integrates_to_one():
    layer = random_grbm(1, 4, seed=4)
    log_z = log_partition_exact(layer)
    total, _ = integrate.quad(
        lambda v: np.exp(log_likelihood_exact(layer, [[v]], log_partition=log_z)[0]),
        -30,
        30,
    )
    assert total == pytest.approx(1.0, rel=1e-8)


def test_cd_gradient_matches_finite_differences_of_the_exact_likelihood():
    # A long CD chain on many copies of the data estimates the exact
    # log-likelihood gradient, including the one of the log standard
    # deviations (derived in ContrastiveDivergence._std_gradients); the
    # visible biases' is preconditioned by s**2.
    layer = random_grbm(3, 4, seed=0)
    data = np.random.default_rng(1).normal(size=(6, 3))
    parameters = [p.copy() for p in layer.parameters]

    def mean_log_likelihood(params):
        trial = RBMLayer(*params[:3], "gaussian", "bernoulli", params[3])
        return log_likelihood_exact(trial, data).mean()

    exact = []
    for p in parameters:
        grad = np.zeros_like(p)
        for index in np.ndindex(p.shape):
            saved = p[index]
            p[index] = saved + 1e-6
            up = mean_log_likelihood(parameters)
            p[index] = saved - 1e-6
            down = mean_log_likelihood(parameters)
            p[index] = saved
            grad[index] = (up - down) / 2e-6
        exact.append(grad)
    exact[1] *= layer.visible_std**2

    n = 20000
    cd = ContrastiveDivergence(layer, n, n_steps=30)
    estimates = []
    for seed in range(4):
        cd.load_batch(data, np.arange(n) % len(data))
        estimates.append(
            [g.copy() for g in cd.estimate(n, np.random.default_rng(seed), 1 / n)]
        )
    for i, name in enumerate(["weights", "visible_bias", "hidden_bias", "log_std"]):
        values = np.array([e[i] for e in estimates])
        standard_error = values.std(axis=0, ddof=1).max() / 2
        error = np.abs(values.mean(axis=0) - exact[i]).max()
        assert error < max(5 * standard_error, 0.01), name


# ------------------------------------------------------------ the estimator


@pytest.mark.parametrize(
    "mean, std, learn_variance",
    [
        ([0.5], [0.6], True),
        ([0.5, -1.0], [0.5, 2.0], True),
        ([0.0, 0.0], [1.0, 1.0], False),
    ],
)
def test_gaussian_rbm_reproduces_the_mean_and_std_of_gaussian_data(
    mean, std, learn_variance
):
    rng = np.random.default_rng(0)
    X = rng.normal(mean, std, size=(5000, len(mean)))
    stack = GaussianRBMStack(
        (10,),
        learn_variance=learn_variance,
        learning_rate=0.003,
        n_epochs=30,
        random_state=0,
    ).fit(X)
    samples = stack.sample(4000, n_steps=100, return_mean=False, random_state=0)
    # Within 10%: of the standard deviation, and of the scale for the mean
    # (a relative error of a mean near 0 means nothing).
    np.testing.assert_allclose(samples.std(axis=0), X.std(axis=0), rtol=0.1)
    assert np.all(np.abs(samples.mean(axis=0) - X.mean(axis=0)) < 0.1 * X.std(axis=0))


def test_automatic_learning_rate_trains_stably_on_standardised_tabular_data():
    X, _ = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    for params in [{}, {"hidden_units": "relu"}, {"learn_variance": True}]:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            stack = GaussianRBMStack(
                (20, 10), n_epochs=30, batch_size=20, random_state=0, **params
            ).fit(X)
        errors = [e["reconstruction_error"] for e in stack.layers_[0].history]
        assert errors[-1] < 0.7 * errors[0], params


def test_learning_rate_auto_is_small_for_real_valued_layers():
    X = np.random.default_rng(0).normal(size=(50, 4))
    stack = GaussianRBMStack((3, 2), n_epochs=1, random_state=0).fit(X)
    assert [t.settings.learning_rate for t in stack._trainers] == [0.01, 0.1]
    stack = BernoulliRBMStack((3, 2), hidden_units=["bernoulli", "relu"], n_epochs=1)
    stack.fit(np.abs(X) / 3)
    assert [t.settings.learning_rate for t in stack._trainers] == [0.1, 0.01]
    assert [layer.visible_units for layer in stack.layers_] == [
        "bernoulli",
        "bernoulli",
    ]
    assert [layer.hidden_units for layer in stack.layers_] == ["bernoulli", "relu"]


def test_relu_hidden_units_give_non_negative_features():
    X = np.random.default_rng(0).normal(size=(80, 5))
    stack = GaussianRBMStack((6, 3), hidden_units="relu", n_epochs=3, random_state=0)
    features = stack.fit(X).transform(X)
    assert (features >= 0).all() and features.shape == (80, 3)
    assert stack.layers_[1].visible_units == "relu"
    assert np.isfinite(stack.score_samples(X)).all()


def test_learned_std_starts_below_the_data_and_respects_its_floor():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3)) * [1.0, 2.0, 1.0]
    X[:, 2] = 0.0  # a constant (standardised) feature
    stack = GaussianRBMStack(
        (4,), learn_variance=True, n_epochs=0, standardize=False, random_state=0
    )
    std = stack.fit(X).layers_[0].visible_std
    # visible_std times the data's spread (0.3 by default: see the class).
    start = stack.visible_std * X[:, :2].std(axis=0)
    np.testing.assert_allclose(std, [*start, MIN_VISIBLE_STD])
    stack.set_params(n_epochs=10).fit(X)
    assert stack.layers_[0].visible_std.min() >= MIN_VISIBLE_STD * (1 - 1e-12)
    assert np.isfinite(stack.transform(X)).all()


def test_fixed_variance_by_default():
    X = np.random.default_rng(0).normal(size=(40, 3))
    stack = GaussianRBMStack((4,), n_epochs=1, random_state=0).fit(X)
    assert stack.layers_[0].visible_log_std is None
    assert len(stack.layers_[0].parameters) == 3


@pytest.mark.parametrize("learn_variance", [False, True])
def test_same_seed_same_model_and_float32_kept(learn_variance):
    X = np.random.default_rng(0).normal(size=(120, 6)).astype(np.float32)
    params = dict(n_epochs=3, learn_variance=learn_variance, random_state=4)
    a = GaussianRBMStack((5,), hidden_units="relu", **params).fit(X)
    b = GaussianRBMStack((5,), hidden_units="relu", **params).fit(X)
    for p, q in zip(a.layers_[0].parameters, b.layers_[0].parameters, strict=True):
        assert p.dtype == np.float32
        np.testing.assert_array_equal(p, q)
    assert a.transform(X).dtype == np.float32


def test_sparse_input_gives_the_dense_model():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5)) * (rng.random((60, 5)) < 0.5)
    models = [
        GaussianRBMStack(
            (4,), learn_variance=True, n_epochs=2, standardize=False, random_state=0
        ).fit(A)
        for A in (X, sp.csr_matrix(X))
    ]
    for p, q in zip(
        models[0].layers_[0].parameters, models[1].layers_[0].parameters, strict=True
    ):
        np.testing.assert_allclose(p, q, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_infinite_input_is_rejected(bad):
    # (NaN is a missing entry, accepted: tests/test_stack.py.)
    X = np.random.default_rng(0).normal(size=(20, 3))
    X[3, 1] = bad
    with pytest.raises(ValueError, match="infinity"):
        GaussianRBMStack((2,)).fit(X)


def test_unscaled_input_warns_and_overflowing_input_is_rejected():
    X = np.random.default_rng(0).normal(size=(100, 3))
    X[:, 1] *= 1e6
    # The huge feature also saturates every hidden unit at once.
    with (
        pytest.warns(DataRangeWarning, match="StandardScaler"),
        pytest.warns(ConvergenceWarning, match="saturated every hidden unit"),
    ):
        GaussianRBMStack((2,), n_epochs=1, standardize=False).fit(X)
    with pytest.warns(DataRangeWarning, match="mean up to 49"):
        GaussianRBMStack((2,), n_epochs=1, standardize=False).fit(X[:, [0]] + 50)
    with pytest.raises(ValueError, match="too large .* squares overflow"):
        GaussianRBMStack((2,)).fit(X * 1e200)
    # Standardised data and constant features pass silently.
    X = StandardScaler().fit_transform(X)
    X[:, 2] = 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        GaussianRBMStack((2,), n_epochs=2, standardize=False).fit(X)


def test_learned_variance_copes_with_huge_magnitudes():
    # The standard deviations start at the data's, so one huge feature is
    # modelled at its own scale instead of diverging.
    X = np.random.default_rng(0).normal(size=(300, 4))
    X[:, 2] *= 1e6
    with pytest.warns(DataRangeWarning):
        stack = GaussianRBMStack(
            (8,), learn_variance=True, n_epochs=5, standardize=False, random_state=0
        )
        stack.fit(X)
    assert stack.layers_[0].is_finite()
    assert stack.layers_[0].visible_std[2] > 1e5


@pytest.mark.parametrize("learning_rate", [10.0, 1e30])
def test_divergence_is_reported_not_returned(learning_rate):
    # Gaussian units run away to huge but finite values before any NaN.
    X = np.random.default_rng(0).normal(size=(100, 4))
    with pytest.warns(ConvergenceWarning, match="diverged"):
        stack = GaussianRBMStack((5,), learning_rate=learning_rate, random_state=0).fit(
            X
        )
    layer = stack.layers_[0]
    assert layer.is_finite() and np.abs(layer.weights).max() < 1e3
    assert all(np.isfinite(e["reconstruction_error"]) for e in layer.history)
    assert np.isfinite(stack.transform(X)).all()


@pytest.mark.parametrize("standardise", [False, True])
@pytest.mark.parametrize("learn_variance", [False, True])
def test_constant_features_are_harmless(standardise, learn_variance):
    X = np.random.default_rng(0).normal(size=(200, 3))
    X[:, 1] = 1.5
    if standardise:
        X = StandardScaler().fit_transform(X)  # the constant column becomes 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stack = GaussianRBMStack(
            (4,),
            learn_variance=learn_variance,
            n_epochs=30,
            standardize=False,
            random_state=0,
        ).fit(X)
    layer = stack.layers_[0]
    assert layer.is_finite()
    # The constant is reconstructed, whatever the other features do.
    reconstruction = stack.inverse_transform(stack.transform(X))
    np.testing.assert_allclose(reconstruction[:, 1], X[:, 1], atol=0.1)


# ------------------------------------------------- pipelines and the DBNs


def test_column_transformer_with_pandas_output():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "height": rng.normal(170, 10, 50),
            "weight": rng.normal(70, 12, 50),
            "colour": rng.choice(["red", "blue"], 50),
        }
    )
    transformer = ColumnTransformer(
        [
            (
                "numeric",
                make_pipeline(
                    StandardScaler(), GaussianRBMStack((3,), n_epochs=2, random_state=0)
                ),
                ["height", "weight"],
            ),
            ("categorical", OneHotEncoder(sparse_output=False), ["colour"]),
        ]
    ).set_output(transform="pandas")
    out = transformer.fit_transform(frame)
    assert list(out.columns) == [
        "numeric__gaussianrbmstack0",
        "numeric__gaussianrbmstack1",
        "numeric__gaussianrbmstack2",
        "categorical__colour_blue",
        "categorical__colour_red",
    ]


def test_dbn_classifier_on_standardised_real_valued_data():
    X, y = load_wine(return_X_y=True)
    model = make_pipeline(
        StandardScaler(),
        DBNClassifier(
            (30,),
            visible_units="gaussian",
            hidden_units="relu",
            n_epochs=10,
            max_iter=60,
            batch_size=100,  # 2 steps an epoch on the folds' 118 rows
            random_state=0,
        ),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(model, X, y, cv=3)
    assert scores.mean() > 0.93
    dbn = model.fit(X, y)[-1]
    assert isinstance(dbn.stack_, GaussianRBMStack)
    assert dbn._network.hidden_activation == "relu"


def test_dbn_starts_fine_tuning_from_the_scaled_first_layer():
    X = StandardScaler().fit_transform(load_diabetes().data)
    y = load_diabetes().target / 100
    dbn = DBNRegressor(
        (8, 4),
        visible_units="gaussian",
        hidden_units=["relu", "bernoulli"],
        learn_variance=True,
        n_epochs=3,
        max_iter=1,
        learning_rate_init=1e-12,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dbn.fit(X, y)
    first = dbn.stack_.layers_[0]
    np.testing.assert_allclose(dbn.coefs_[0], first.input_weights, rtol=1e-6)
    # The network's hidden features are the stack's deterministic up pass.
    np.testing.assert_allclose(dbn.transform(X), dbn.stack_.transform(X), rtol=1e-5)


def test_partial_fit_streams_chunks_with_learned_variances():
    rng = np.random.default_rng(0)
    chunks = [rng.normal(0.5, [0.5, 2.0], size=(200, 2)) for _ in range(5)]
    stack = GaussianRBMStack(
        (6,), learn_variance=True, standardize=False, random_state=0
    )
    for chunk in chunks:
        stack.partial_fit(chunk)
    layer = stack.layers_[0]
    assert layer.is_finite() and stack._trainers[0].epochs_done == 5
    np.testing.assert_allclose(layer.visible_std, [0.5, 2.0], rtol=0.25)


# ------------------------------------------------------ features that pay


def clustered_xor(seed=0):
    """Eight Gaussian clusters in 6-D, labelled alternately: not linear."""
    X, cluster = make_blobs(300, n_features=6, centers=8, random_state=seed)
    return X, cluster % 2


def test_default_features_beat_logistic_regression_on_clustered_data():
    # Unit-variance visible units on standardised data leave the hidden
    # units nothing to explain: the old default (unit variance, 10 epochs)
    # scored 0.707, below raw LR's 0.830; visible_std=0.3 with the
    # probabilities as features 0.897, with the softplus read-out 0.963.
    X, y = clustered_xor()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        raw = cross_val_score(LogisticRegression(), X, y, cv=3).mean()
        scores = {}
        for readout in ("softplus", "probability"):
            stack = GaussianRBMStack(readout=readout, random_state=0)
            model = make_pipeline(stack, LogisticRegression())
            scores[readout] = cross_val_score(model, X, y, cv=3).mean()
    assert GaussianRBMStack().readout == "softplus"
    assert raw < 0.85
    assert scores["probability"] > raw + 0.04
    assert scores["softplus"] > scores["probability"] + 0.03


def test_visible_std_is_the_noise_of_the_visible_units():
    X = np.random.default_rng(0).normal(size=(150, 4))
    params = dict(n_epochs=3, standardize=False, random_state=0)
    narrow = GaussianRBMStack((5,), visible_std=0.25, **params).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataRangeWarning)  # 4 X on purpose
        unit = GaussianRBMStack((5,), visible_std=1.0, **params).fit(4 * X)
    # An RBM with noise 0.25 on X is the unit-variance RBM on X / 0.25.
    layers = narrow.layers_[0], unit.layers_[0]
    for p, q in zip(layers[0].parameters, layers[1].parameters, strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-10)
    # The softplus read-out is in the input's units: times visible_std.
    np.testing.assert_allclose(narrow.transform(X), unit.transform(4 * X) / 4)
    H = narrow.transform(X)
    np.testing.assert_allclose(
        narrow.inverse_transform(H), unit.inverse_transform(4 * H) / 4, rtol=1e-10
    )
    samples = narrow.sample(3, n_steps=2, return_mean=False, random_state=1)
    np.testing.assert_allclose(
        samples, unit.sample(3, n_steps=2, return_mean=False, random_state=1) / 4
    )
    # Learned deviations start at visible_std times the data's spread.
    learned = GaussianRBMStack(
        (5,), learn_variance=True, visible_std=0.25, **{**params, "n_epochs": 0}
    ).fit(X)
    np.testing.assert_allclose(learned.layers_[0].visible_std, 0.25 * X.std(axis=0))
    np.testing.assert_allclose(
        learned.set_params(readout="probability").transform(X),
        learned.layers_[0].hidden_mean(X),
    )


def test_softplus_readout_keeps_the_field_and_inverts_to_probabilities():
    X = np.random.default_rng(0).normal(size=(60, 5))
    params = dict(n_epochs=3, random_state=0)
    soft = GaussianRBMStack((6, 4), **params).fit(X)
    prob = GaussianRBMStack((6, 4), readout="probability", **params).fit(X)
    # Same training; only the top layer's read-out differs.
    below = soft.layers_[0].hidden_mean(soft._prediction_input(X))
    field = soft.layers_[1].hidden_field(below)
    H = soft.transform(X)
    np.testing.assert_allclose(H, np.logaddexp(0, field))
    np.testing.assert_allclose(prob.transform(X), 1 / (1 + np.exp(-field)))
    assert H.min() > 0 and not np.allclose(H, prob.transform(X))
    # inverse_transform reads each form back to the same reconstruction.
    np.testing.assert_allclose(
        soft.inverse_transform(H), prob.inverse_transform(prob.transform(X))
    )
    # One layer: in the standardised input's units (times visible_std).
    one = GaussianRBMStack((6,), visible_std=0.25, **params).fit(X)
    first = one.layers_[0]
    np.testing.assert_allclose(
        one.transform(X),
        0.25 * np.logaddexp(0, first.hidden_field(one._prediction_input(X))),
    )
    np.testing.assert_allclose(
        one.inverse_transform(one.transform(X)),
        one.set_params(readout="probability").inverse_transform(
            first.hidden_mean(one._prediction_input(X))
        ),
    )
    # Rectified top units are returned as their mean under either read-out.
    relu = GaussianRBMStack((6,), hidden_units="relu", **params).fit(X)
    np.testing.assert_allclose(
        relu.transform(X), relu.set_params(readout="probability").transform(X)
    )
    with pytest.raises(ValueError, match="readout"):
        GaussianRBMStack(readout="field").fit(X)


def test_dbn_pre_training_keeps_unit_variance():
    # The DBNs' networks read the input their stack was trained on.
    X, y = clustered_xor()
    dbn = DBNClassifier((4,), n_epochs=1, max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dbn.fit(X, y)
    assert dbn.stack_.visible_std == 1.0
    np.testing.assert_allclose(
        dbn.stack_.transform((X - dbn.input_mean_) / dbn.input_scale_),
        dbn.stack_.layers_[0].hidden_mean((X - dbn.input_mean_) / dbn.input_scale_),
    )


@pytest.mark.parametrize(
    "n_samples, batch_size, expected", [(40, "auto", 70), (300, 10, 17)]
)
def test_n_epochs_auto_by_default_gives_small_data_more_epochs(
    n_samples, batch_size, expected
):
    X = np.random.default_rng(0).normal(size=(n_samples, 3))
    stack = GaussianRBMStack((2, 2), batch_size=batch_size).fit(X)
    assert [len(layer.history) for layer in stack.layers_] == [expected] * 2
