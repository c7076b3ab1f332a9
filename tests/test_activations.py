"""The hidden activations and their registry."""

import numpy as np
import pytest

from skdbn._activations import ACTIVATIONS


@pytest.mark.parametrize("hidden", sorted(ACTIVATIONS))
def test_hidden_forward_adds_the_bias(hidden):
    rng = np.random.default_rng(0)
    Z, bias = rng.normal(size=(4, 3)), rng.normal(size=3)
    activation = ACTIVATIONS[hidden]
    expected = activation.forward(Z + bias)
    np.testing.assert_allclose(activation.forward(Z.copy(), bias), expected)
