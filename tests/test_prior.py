"""The RBM prior of the variational autoencoder, against exact answers."""

import warnings

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import norm
from sklearn.exceptions import ConvergenceWarning

from skdbn import DBNAutoencoder, RBMLayer, _prior
from skdbn._prior import (
    expected_log_prior_bound,
    log_prior,
    prior_log_partition,
    sample_prior,
)
from skdbn.datasets import load_digits_01
from skdbn.evaluation import log_partition_exact


def _layer(n_visible=2, n_hidden=3, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    return RBMLayer(
        scale * rng.normal(size=(n_visible, n_hidden)),
        rng.normal(size=n_visible),
        rng.normal(size=n_hidden),
        "gaussian",
        "bernoulli",
        0.3 * rng.normal(size=n_visible),
    )


def _grid_log_density(layer, lim=12.0, n=801):
    """``log p(z)`` on a 2-D grid, normalised by numeric integration."""
    axis = np.linspace(-lim, lim, n)
    Z1, Z2 = np.meshgrid(axis, axis, indexing="ij")
    Z = np.column_stack([Z1.ravel(), Z2.ravel()])
    log_unnormalised = -layer.free_energy(Z)
    cell = (axis[1] - axis[0]) ** 2
    return Z, log_unnormalised, float(logsumexp(log_unnormalised) + np.log(cell))


def test_log_partition_matches_numeric_integration_over_the_code():
    # Z = int exp(-F(z)) dz over the real-valued code, learned scales included.
    layer = _layer()
    _, _, numeric = _grid_log_density(layer)
    assert prior_log_partition(layer) == pytest.approx(numeric, abs=1e-6)


def test_log_prior_is_a_normalised_density():
    layer = _layer(seed=1)
    Z, log_unnormalised, numeric = _grid_log_density(layer)
    log_z = prior_log_partition(layer)
    np.testing.assert_allclose(
        log_prior(layer, log_z, Z[::997]), log_unnormalised[::997] - numeric, atol=1e-6
    )


def test_log_partition_by_ais_beyond_the_exact_limit(monkeypatch):
    layer = _layer(n_visible=3, n_hidden=8, seed=2, scale=0.5)
    exact = log_partition_exact(layer)
    monkeypatch.setattr(_prior, "EXACT_HIDDEN_LIMIT", 4)
    monkeypatch.setattr(_prior, "AIS_BETAS", 2000)
    estimate = prior_log_partition(layer, random_state=0)
    assert estimate != exact
    assert estimate == pytest.approx(exact, abs=0.05)


def _mixture_moments(layer):
    """Exact mean and variance of the prior, a mixture of 2**n Gaussians."""
    n = layer.n_hidden
    H = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(float)
    log_p = -layer.hidden_free_energy(H)
    p = np.exp(log_p - logsumexp(log_p))
    means = layer.visible_mean(H)  # b + s * (W h), one row per state
    mean = p @ means
    variance = p @ np.square(means - mean) + np.exp(2 * layer.visible_log_std)
    return mean, variance


@pytest.mark.parametrize("gibbs", [False, True])
def test_samples_have_the_exact_mixture_moments(monkeypatch, gibbs):
    layer = _layer(n_visible=2, n_hidden=4, seed=3, scale=1.5)
    if gibbs:
        monkeypatch.setattr(_prior, "EXACT_HIDDEN_LIMIT", 2)
    n = 20000
    Z = sample_prior(layer, n, np.random.default_rng(0), n_steps=100)
    mean, variance = _mixture_moments(layer)
    # Within 5 standard errors of the exact moments.
    error = np.abs(Z.mean(axis=0) - mean)
    assert np.all(error < 5 * np.sqrt(variance / n)), (Z.mean(axis=0), mean)
    np.testing.assert_allclose(Z.var(axis=0), variance, rtol=0.08)


def test_expected_log_prior_bound_by_hand():
    layer = _layer(n_visible=2, n_hidden=3, seed=4)
    rng = np.random.default_rng(0)
    mean = rng.normal(size=(3, 2))
    log_var = rng.normal(size=(3, 2)) - 1.0
    log_z = prior_log_partition(layer)
    bound = expected_log_prior_bound(layer, log_z, mean, log_var)
    # By hand: -E_q[(z - b)**2 / (2 s**2)] exactly, softplus at the mean.
    s2 = np.exp(2 * layer.visible_log_std)
    by_hand = np.empty(3)
    for i in range(3):
        quad = 0.5 * (((mean[i] - layer.visible_bias) ** 2 + np.exp(log_var[i])) / s2)
        field = layer.hidden_bias + (mean[i] / np.sqrt(s2)) @ layer.weights
        by_hand[i] = np.log1p(np.exp(field)).sum() - quad.sum() - log_z
    np.testing.assert_allclose(bound, by_hand)
    # Below the true expectation, here by Monte Carlo with 200,000 draws.
    for i in range(3):
        draws = mean[i] + np.exp(0.5 * log_var[i]) * rng.standard_normal((200000, 2))
        expectation = log_prior(layer, log_z, draws).mean()
        assert bound[i] <= expectation + 1e-3


def test_bound_is_exact_for_a_gaussian_prior():
    # With W = 0 the RBM is N(b, s**2) and the bound is E_q[log N(z; b, s**2)].
    layer = _layer(n_visible=2, n_hidden=3, seed=5)
    layer.weights[...] = 0
    rng = np.random.default_rng(1)
    mean, log_var = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    s = np.exp(layer.visible_log_std)
    expected = (
        norm.logpdf(mean, layer.visible_bias, s) - 0.5 * np.exp(log_var) / s**2
    ).sum(axis=1)
    bound = expected_log_prior_bound(layer, prior_log_partition(layer), mean, log_var)
    np.testing.assert_allclose(bound, expected)


# ------------------------------------------------------------- the estimator


@pytest.fixture(scope="module")
def small():
    return load_digits_01(return_X_y=True)[0][:300]


def _vae(**params):
    defaults = dict(
        hidden_layer_sizes=(16, 3),
        n_epochs=2,
        batch_size=20,
        max_iter=10,
        learning_rate_init=0.01,
        variational=True,
        prior="rbm",
        prior_n_components=4,
        prior_n_epochs=5,
        random_state=0,
    )
    return DBNAutoencoder(**{**defaults, **params})


@pytest.fixture(scope="module")
def vae(small):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return _vae().fit(small)


def test_rbm_prior_is_fitted_on_the_code(vae):
    assert vae.prior_.n_visible == 3 and vae.prior_.n_hidden == 4
    assert vae.prior_.visible_units == "gaussian"
    assert vae.prior_log_partition_ == pytest.approx(log_partition_exact(vae.prior_))
    gaussian = DBNAutoencoder(variational=True)
    assert gaussian.prior == "gaussian"


def test_standard_normal_rbm_prior_gives_the_gaussian_elbo(vae, small):
    # An RBM with W = 0, b = 0 and s = 1 is N(0, I): the ELBO must not change.
    gaussian_elbo = _without_prior(vae).score_samples(small)
    layer = vae.prior_
    saved = [p.copy() for p in layer.parameters], vae.prior_log_partition_
    try:
        for p in layer.parameters[:2] + layer.parameters[3:]:
            p[...] = 0
        vae.prior_log_partition_ = prior_log_partition(layer)
        np.testing.assert_allclose(vae.score_samples(small), gaussian_elbo)
        # The Monte-Carlo estimate of E_q[log p(z)] on the likelihood's own
        # draws agrees with the closed-form KL, within its sampling error.
        X = small[:5]
        mc = vae.score_samples(X, n_draws=2000, random_state=0)
        exact_kl = _without_prior(vae).score_samples(X, n_draws=2000, random_state=0)
        np.testing.assert_allclose(mc, exact_kl, atol=0.1)
    finally:
        for p, kept in zip(layer.parameters, saved[0], strict=True):
            p[...] = kept
        vae.prior_log_partition_ = saved[1]


def _without_prior(vae):
    import copy

    other = copy.deepcopy(vae)
    other.prior_ = other.prior_log_partition_ = None
    return other


def test_score_samples_with_the_rbm_prior_by_hand(vae, small):
    X = small[:5]
    network = vae._network
    mean, log_var = network.encode(X, return_log_var=True)
    log_lik = -network.reconstruction_loss(network.decode_logits(mean), X)
    entropy = 0.5 * (log_var + 1 + np.log(2 * np.pi)).sum(axis=1)
    prior = expected_log_prior_bound(
        vae.prior_, vae.prior_log_partition_, mean, log_var
    )
    np.testing.assert_allclose(vae.score_samples(X), log_lik + prior + entropy)
    # The Monte-Carlo estimate, with many draws, is close to the same bound.
    mc = vae.score_samples(X, n_draws=400, random_state=0)
    assert np.all(np.abs(mc - vae.score_samples(X)) < 3.0)


def test_samples_from_the_rbm_prior(vae):
    X = vae.sample(7, random_state=0)
    assert X.shape == (7, 64)
    assert np.all((X >= 0) & (X <= 1))
    np.testing.assert_array_equal(X, vae.sample(7, random_state=0))
    assert not np.array_equal(X, _without_prior(vae).sample(7, random_state=0))
    with pytest.raises(ValueError, match="n_steps"):
        vae.sample(2, n_steps=-1)


def test_same_seed_same_prior(vae, small):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        again = _vae().fit(small)
    for a, b in zip(vae.prior_.parameters, again.prior_.parameters, strict=True):
        np.testing.assert_array_equal(a, b)


def test_rbm_prior_needs_a_variational_code(small):
    with pytest.raises(ValueError, match="variational=True"):
        _vae(variational=False).fit(small)


def test_gaussian_prior_stores_no_rbm(small):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ae = _vae(prior="gaussian", max_iter=2).fit(small)
    assert ae.prior_ is None and ae.prior_log_partition_ is None


def test_float32_prior(small):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ae = _vae(max_iter=2).fit(small.astype(np.float32))
    assert ae.prior_.weights.dtype == np.float32
    assert ae.sample(3, random_state=0).dtype == np.float32
    assert np.isfinite(ae.score_samples(small[:4])).all()


# ------------------------------------------------- the Laplace prior (sparse)


@pytest.mark.parametrize("scale", [None, 0.3, 2.0])
def test_laplace_kl_matches_numeric_integration(scale):
    from scipy.integrate import quad

    from skdbn._prior import LAPLACE_SCALE, laplace_kl

    b = LAPLACE_SCALE if scale is None else scale
    args = () if scale is None else (scale,)
    for m, log_var in [(0.0, 0.0), (1.3, -2.0), (-0.4, 1.0), (3.0, -6.0)]:
        s = np.exp(0.5 * log_var)

        def integrand(z, m=m, s=s):
            log_q = norm.logpdf(z, m, s)
            return np.exp(log_q) * (log_q - (-np.abs(z) / b - np.log(2 * b)))

        numeric = quad(integrand, m - 12 * s, m + 12 * s, points=[0.0], limit=200)[0]
        value = laplace_kl(np.array([[m]]), np.array([[log_var]]), *args)[0]
        assert value == pytest.approx(numeric, abs=1e-7)


@pytest.mark.parametrize("scale", [None, 0.3])
def test_laplace_loss_gradients_match_finite_differences(assert_gradients_match, scale):
    from skdbn._autoencoder_network import AutoencoderNetwork

    rng = np.random.default_rng(0)
    net = AutoencoderNetwork.initialize(
        [6, 5, 3], ("logistic", "identity"), "bernoulli", rng, np.float64, True
    )
    net.log_var_weights[...] = 0.3 * rng.standard_normal(net.log_var_weights.shape)
    net.log_var_bias[...] = 0.2 * rng.standard_normal(3)
    X = rng.random((7, 6))
    kwargs = dict(
        kl_weight=0.7,
        alpha=0.1,
        noise=rng.standard_normal((7, 3)),
        prior="laplace",
        prior_scale=scale,
    )
    loss, parts, grads = net.loss_and_gradients(X, **kwargs)
    gaussian = net.loss_and_gradients(X, **{**kwargs, "prior": "gaussian"})
    assert parts["kl"] != gaussian[1]["kl"]
    assert_gradients_match(
        lambda: net.loss_and_gradients(X, **kwargs)[0], net.parameters, grads
    )


def test_laplace_scale_is_fitted_state(small):
    from skdbn._prior import LAPLACE_SCALE

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        default = _vae(prior="laplace", hidden_layer_sizes=(16, 6)).fit(small)
        narrow = _vae(
            prior="laplace", laplace_scale=0.1, hidden_layer_sizes=(16, 6)
        ).fit(small)
    assert default._laplace_scale == LAPLACE_SCALE
    assert narrow._laplace_scale == 0.1
    # The ELBO and the samples use the scale the network was trained with,
    # even after set_params; the fitted scale is what they read.
    before = narrow.score_samples(small)
    samples = narrow.sample(4, random_state=0)
    narrow.set_params(laplace_scale=5.0)
    np.testing.assert_array_equal(narrow.score_samples(small), before)
    np.testing.assert_array_equal(narrow.sample(4, random_state=0), samples)
    narrow._laplace_scale = 0.5
    assert not np.allclose(narrow.score_samples(small), before)
    assert not np.allclose(narrow.sample(4, random_state=0), samples)
    with pytest.raises(ValueError, match="laplace_scale"):
        _vae(prior="laplace", laplace_scale=0.0).fit(small)


def test_active_code_fraction_by_hand():
    from skdbn._prior import active_code_fraction

    mean = np.column_stack(
        [np.linspace(-1, 1, 50), np.full(50, 0.3), 0.05 * np.ones(50)]
    )
    mean[::2, 2] = -0.05  # variance 0.0025: inactive
    assert active_code_fraction(mean) == pytest.approx(1 / 3)


def test_laplace_prior_estimator(small):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sparse = _vae(prior="laplace", hidden_layer_sizes=(16, 6)).fit(small)
        dense = _vae(prior="gaussian", hidden_layer_sizes=(16, 6)).fit(small)
    assert sparse.prior_ is None
    assert 0 <= sparse.active_code_fraction_ <= 1
    assert 0 <= dense.active_code_fraction_ <= 1
    # Same seed, different prior: a different network and ELBO.
    assert not np.allclose(sparse.transform(small), dense.transform(small))
    elbo = sparse.score_samples(small)
    assert np.isfinite(elbo).all()
    X = sparse.sample(5, random_state=0)
    assert X.shape == (5, 64) and np.all((X >= 0) & (X <= 1))
    with pytest.raises(ValueError, match="prior='laplace'"):
        _vae(prior="laplace", variational=False).fit(small)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = _vae(prior="gaussian", variational=False, max_iter=2).fit(small)
    assert plain.active_code_fraction_ is None
