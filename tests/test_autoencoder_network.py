"""AutoencoderNetwork: the losses, the KL term and their gradients."""

import numpy as np
import pytest
from scipy.special import expit
from scipy.stats import norm

from skdbn._autoencoder_network import (
    AutoencoderNetwork,
    cross_entropy_from_logits,
    gaussian_kl,
    gaussian_kl_gradients,
    half_squared_error,
)


def test_cross_entropy_from_logits_matches_its_definition():
    rng = np.random.default_rng(0)
    logits, X = rng.normal(size=(5, 7)) * 3, rng.random((5, 7))
    p = expit(logits)
    expected = -(X * np.log(p) + (1 - X) * np.log(1 - p)).sum(axis=1)
    np.testing.assert_allclose(cross_entropy_from_logits(logits, X), expected)
    # Finite for logits where the probability rounds to 0 or 1.
    assert np.isfinite(
        cross_entropy_from_logits(np.array([[800.0, -800.0]]), X[:1, :2])
    )


def test_half_squared_error():
    out, X = np.array([[1.0, 2.0], [0.0, 0.0]]), np.array([[0.0, 0.0], [3.0, 4.0]])
    np.testing.assert_allclose(half_squared_error(out, X), [2.5, 12.5])


def test_kl_matches_closed_form_and_monte_carlo():
    mean, log_var = np.array([[0.3, -1.2]]), np.array([[-0.5, 0.4]])
    std = np.exp(0.5 * log_var)
    # KL(N(m, s^2) || N(0, 1)) = log(1 / s) + (s^2 + m^2 - 1) / 2, per dimension.
    closed = (np.log(1 / std) + (std**2 + mean**2 - 1) / 2).sum()
    assert gaussian_kl(mean, log_var)[0] == pytest.approx(closed, rel=1e-12)
    assert gaussian_kl(np.zeros((1, 3)), np.zeros((1, 3)))[0] == 0.0
    rng = np.random.default_rng(0)
    z = mean + std * rng.standard_normal((200_000, 2))
    log_ratio = norm.logpdf(z, mean, std).sum(axis=1) - norm.logpdf(z).sum(axis=1)
    assert log_ratio.mean() == pytest.approx(closed, abs=0.01)


def test_kl_gradients_match_finite_differences():
    rng = np.random.default_rng(1)
    mean, log_var = rng.normal(size=(1, 4)), rng.normal(size=(1, 4))
    grad_mean, grad_log_var = gaussian_kl_gradients(mean, log_var)
    for array, grad in ((mean, grad_mean), (log_var, grad_log_var)):
        for j in range(4):
            step = np.zeros_like(array)
            step[0, j] = 1e-6
            plus = gaussian_kl(
                mean + step * (array is mean), log_var + step * (array is log_var)
            )
            minus = gaussian_kl(
                mean - step * (array is mean), log_var - step * (array is log_var)
            )
            assert (plus - minus)[0] / 2e-6 == pytest.approx(grad[0, j], rel=1e-6)


def _network(visible_units, variational, activations=("logistic", "relu", "identity")):
    rng = np.random.default_rng(0)
    net = AutoencoderNetwork.initialize(
        [6, 5, 4, 3], activations, visible_units, rng, np.float64, variational
    )
    if variational:  # away from the initial zeros, to exercise every path
        net.log_var_weights[...] = 0.3 * rng.standard_normal(net.log_var_weights.shape)
        net.log_var_bias[...] = 0.2 * rng.standard_normal(3)
    return net


@pytest.mark.parametrize(
    "visible_units, variational, activations",
    [
        ("bernoulli", False, ("logistic", "logistic", "identity")),
        ("gaussian", False, ("logistic", "relu", "identity")),
        ("bernoulli", True, ("logistic", "tanh", "identity")),
        ("gaussian", True, ("relu", "logistic", "identity")),
        ("bernoulli", False, ("logistic", "logistic", "logistic")),
    ],
)
def test_gradients_match_finite_differences(
    visible_units, variational, activations, assert_gradients_match
):
    net = _network(visible_units, variational, activations)
    rng = np.random.default_rng(2)
    X = rng.random((7, 6)) if visible_units == "bernoulli" else rng.normal(size=(7, 6))
    noise = rng.standard_normal((7, 3)) if variational else None
    kwargs = dict(kl_weight=0.7, alpha=0.3, noise=noise)
    _, _, grads = net.loss_and_gradients(X, **kwargs)
    assert_gradients_match(
        lambda: net.loss_and_gradients(X, **kwargs)[0], net.parameters, grads
    )


def test_variational_loss_is_reconstruction_plus_weighted_kl():
    net = _network("bernoulli", True)
    rng = np.random.default_rng(3)
    X, noise = rng.random((4, 6)), rng.standard_normal((4, 3))
    loss, parts, _ = net.loss_and_gradients(X, kl_weight=0.25, noise=noise)
    mean, log_var = net.encode(X, return_log_var=True)
    code = mean + np.exp(0.5 * log_var) * noise
    reconstruction = cross_entropy_from_logits(net.decode_logits(code), X).mean()
    kl = gaussian_kl(mean, log_var).mean()
    assert parts == pytest.approx({"reconstruction": reconstruction, "kl": kl})
    assert loss == pytest.approx(reconstruction + 0.25 * kl)
    with pytest.raises(ValueError, match="noise"):
        net.loss_and_gradients(X)
