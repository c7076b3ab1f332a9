"""Unit types: conditional means, sampling, free-energy terms, input checks."""

import math
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from skdbn import DataRangeWarning
from skdbn._units import UNIT_TYPES, BernoulliUnits, ReLUUnits, get_unit_type


def logistic(x):
    """The exact logistic function, one value at a time in Python floats."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bernoulli_mean_matches_logistic(dtype):
    field = np.linspace(-40, 40, 801).astype(dtype).reshape(3, 267)
    expected = np.vectorize(logistic)(field.astype(np.float64))
    with np.errstate(over="ignore"):
        out = BernoulliUnits.mean(field, out=np.empty_like(field))
    assert out.dtype == dtype
    rtol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(out, expected, rtol=rtol, atol=1e-300)
    # In place (out=field), as the training loop calls it.
    with np.errstate(over="ignore"):
        in_place = BernoulliUnits.mean(field, out=field)
    assert in_place is field
    np.testing.assert_allclose(field, expected, rtol=rtol, atol=1e-300)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bernoulli_mean_of_extreme_fields_is_clean(dtype):
    field = np.array([[-1000.0, -100.0, -89.0, 0.0, 89.0, 100.0, 1000.0]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # Callers silence overflow only; NaN or division problems must not occur.
        with np.errstate(over="ignore", invalid="raise", divide="raise"):
            out = BernoulliUnits.mean(field, out=field.copy())
    assert not np.isnan(out).any()
    assert out[0, 0] == 0.0 and out[0, -1] == 1.0
    assert out[0, 3] == 0.5
    assert np.all((out >= 0) & (out <= 1))
    assert np.all(np.diff(out[0]) >= 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [None, -0.25])
def test_bernoulli_mean_from_product_matches_logistic(dtype, scale):
    # The training loop's fused form: scale * sigmoid(product + bias).
    if not hasattr(BernoulliUnits, "mean_from_product"):
        pytest.skip("BernoulliUnits.mean_from_product not available")
    rng = np.random.default_rng(0)
    product = (30 * rng.standard_normal((5, 4))).astype(dtype)
    product[0] = [-1000, 1000, -90, 90]
    bias = rng.standard_normal(4).astype(dtype)
    field = product.astype(np.float64) + bias.astype(np.float64)
    expected = np.vectorize(logistic)(field) * (1.0 if scale is None else scale)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="ignore", invalid="raise", divide="raise"):
            out = BernoulliUnits.mean_from_product(
                product, -bias, out=product, scale=scale
            )
    assert out is product and out.dtype == dtype
    rtol = 1e-5 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(out, expected, rtol=rtol, atol=1e-30)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bernoulli_sample_frequencies_match_probabilities(dtype):
    p = np.array([0.0, 0.02, 0.3, 0.5, 0.77, 0.99, 1.0], dtype=dtype)
    n = 40000
    mean = np.broadcast_to(p, (n, p.size))
    out = np.empty((n, p.size), dtype=dtype)
    result = BernoulliUnits.sample(mean, np.random.default_rng(0), out=out)
    assert result is out and out.dtype == dtype
    assert set(np.unique(out)) <= {0.0, 1.0}
    frequency = out.mean(axis=0, dtype=np.float64)
    stderr = np.sqrt(p * (1 - p) / n)
    np.testing.assert_array_less(np.abs(frequency - p), 5 * stderr + 1e-12)
    # Probability 0 and 1 are honoured exactly.
    assert frequency[0] == 0.0 and frequency[-1] == 1.0
    # Independent draws: two columns with p = 0.5 and 0.3 are uncorrelated.
    assert abs(np.corrcoef(out[:, 2], out[:, 3])[0, 1]) < 5 / np.sqrt(n)


def test_bernoulli_sample_is_reproducible():
    mean = np.full((50, 4), 0.5)
    a = BernoulliUnits.sample(mean, np.random.default_rng(3), np.empty((50, 4)))
    b = BernoulliUnits.sample(mean, np.random.default_rng(3), np.empty((50, 4)))
    c = BernoulliUnits.sample(mean, np.random.default_rng(4), np.empty((50, 4)))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_bernoulli_log_partition_is_softplus_sum():
    field = np.array([[0.0, 1.0, -2.0], [800.0, -800.0, 3.0]])
    expected = [
        math.log(2) + math.log1p(math.e) + math.log1p(math.exp(-2)),
        800.0 + 0.0 + math.log1p(math.exp(3)),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(
            BernoulliUnits.log_partition(field), expected, rtol=1e-14
        )


def test_bernoulli_visible_energy_dense_and_sparse():
    X = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0], [0.5, 1.0, 0.0]])
    bias = np.array([0.5, -2.0, 3.0])
    expected = [-3.5, 0.0, 1.75]
    np.testing.assert_allclose(BernoulliUnits.visible_energy(X, bias), expected)
    for container in (sp.csr_matrix, sp.csr_array, sp.csc_matrix):
        result = BernoulliUnits.visible_energy(container(X), bias)
        assert result.shape == (3,)
        np.testing.assert_allclose(result, expected)


def test_check_visible_input_warns_outside_unit_interval():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        BernoulliUnits.check_visible_input(np.array([[0.0, 1.0], [0.5, 0.2]]), "E")
        BernoulliUnits.check_visible_input(sp.csr_matrix([[0.0, 1.0]]), "E")
        BernoulliUnits.check_visible_input(np.empty((0, 3)), "E")
    with pytest.warns(DataRangeWarning, match=r"E has Bernoulli.*\[-1, 2\]"):
        BernoulliUnits.check_visible_input(np.array([[-1.0, 2.0]]), "E")
    # Sparse: implicit zeros count, stored values above 1 are caught.
    with pytest.warns(DataRangeWarning, match=r"\[0, 3\]"):
        BernoulliUnits.check_visible_input(sp.csr_array([[0.0, 3.0]]), "E")


def test_rounding_past_the_unit_interval_does_not_warn():
    # MinMaxScaler's output reaches 1 + 2.2e-16; float32 a few 1e-8 past 0.
    X = np.random.default_rng(5).normal(size=(50, 4)) * 7 + 3
    scaled = MinMaxScaler().fit_transform(X)
    assert scaled.max() == 1.0000000000000002
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        BernoulliUnits.check_visible_input(scaled, "E")
        BernoulliUnits.check_visible_input(np.array([[1.0 + 2.2e-16, -3e-8]]), "E")
        ReLUUnits.check_visible_input(np.array([[-3e-8, 2.0]]), "E")
    with pytest.warns(DataRangeWarning, match=r"\[0, 1.001\]"):
        BernoulliUnits.check_visible_input(np.array([[0.0, 1.001]]), "E")


@pytest.mark.parametrize(
    "name, fix, raw_fix",
    [
        ("BernoulliRBMStack", "GaussianRBMStack", "GaussianRBMStack, which"),
        (
            "DBNClassifier",
            'DBNClassifier(visible_units="gaussian")',
            'DBNClassifier(visible_units="auto") (the default), which standardises',
        ),
    ],
)
def test_standardised_data_are_pointed_at_gaussian_units(name, fix, raw_fix):
    X = StandardScaler().fit_transform(
        np.random.default_rng(0).normal(size=(100, 5)) * 4 + 10
    )
    with pytest.warns(DataRangeWarning, match="looks standardised") as record:
        BernoulliUnits.check_visible_input(X, name)
    assert fix in str(record[0].message)
    # Data far from standardised get the scaling advice, and Gaussian units
    # on data the estimator standardises as the alternative for real values.
    with pytest.warns(DataRangeWarning, match="MinMaxScaler") as record:
        BernoulliUnits.check_visible_input(X * 100 + 50, name)
    assert raw_fix in str(record[0].message)


def test_unit_registry():
    assert get_unit_type("bernoulli") is BernoulliUnits
    assert UNIT_TYPES["bernoulli"].name == "bernoulli"
    with pytest.raises(ValueError, match=r"Unknown unit type 'gauss'.*bernoulli"):
        get_unit_type("gauss")
