"""Unit types of an RBM layer.

Each class owns everything that depends on the kind of unit: its conditional
mean given the input field, how to draw a sample, its term of the free energy
and which input values it accepts. A new unit type is one new class added to
``UNIT_TYPES``; the RBM maths in ``_rbm.py`` only ever talks to this interface.

All array methods work in place on preallocated buffers (``out=``) so that the
training loop allocates nothing per minibatch.
"""

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.utils.sparsefuncs import mean_variance_axis

from ._warnings import warn

#: Largest absolute feature mean or standard deviation that Gaussian visible
#: units accept without a ``DataRangeWarning`` (standardised data has 0 and 1).
STANDARDISED_LIMIT = 3.0

#: Slack on the ends of ``[0, 1]`` before Bernoulli visible units warn:
#: rounding puts ``MinMaxScaler`` output at up to ``1 + 2.2e-16``, and float32
#: conversions a few ``1e-8`` past the ends.
RANGE_TOLERANCE = 1e-6


def _dense(X):
    return X.toarray() if sp.issparse(X) else np.asarray(X)


def feature_mean_and_variance(X, sample_weight=None):
    """Mean and variance of each column of ``X`` (dense or sparse).

    With ``sample_weight``, the weighted mean and (biased) variance: an
    integer weight counts as that many copies of the row.
    """
    if sp.issparse(X):
        return mean_variance_axis(X.tocsr(), axis=0, weights=sample_weight)
    if X.dtype.kind == "f" and np.isnan(X.sum()):
        # Missing entries (NaN): the moments of each column's observed values
        # (0 and 1 for a column never observed).
        masked = np.ma.masked_invalid(X)
        mean = np.ma.average(masked, axis=0, weights=sample_weight)
        variance = np.ma.average(
            np.square(masked - mean), axis=0, weights=sample_weight
        )
        return mean.filled(0.0), variance.filled(1.0)
    if sample_weight is None:
        return X.mean(axis=0), X.var(axis=0)
    mean = np.average(X, axis=0, weights=sample_weight)
    variance = np.average(np.square(X - mean), axis=0, weights=sample_weight)
    return mean, variance


def _float32_scratch(out, scratch):
    """Where float32 draws go: ``out`` itself when it is float32."""
    if out.dtype == np.float32:
        return out
    return scratch if scratch is not None else np.empty(out.shape, np.float32)


class BernoulliUnits:
    """Binary stochastic units with a logistic (sigmoid) activation.

    A unit is on with probability ``sigmoid(field)``. As visible units they
    model data in ``[0, 1]``: binary values, or grey levels read as the
    probability of a pixel being on.
    """

    name = "bernoulli"
    network_activation = "logistic"
    #: Whether the states are bounded (so reconstructions cannot run away).
    bounded = True

    @staticmethod
    def mean(field, out):
        """Store ``sigmoid(field)`` in ``out`` (which may be ``field``).

        Uses ``1 / (1 + exp(-x))`` in four in-place passes in float32, where
        this is several times faster than ``scipy.special.expit``, and
        ``expit`` in float64, where it is the faster. ``exp`` may
        overflow to ``inf`` for very negative fields, which correctly gives 0;
        callers run under ``np.errstate(over="ignore")``.
        """
        if out.dtype == np.float64:
            # scipy's one-pass expit beats four numpy passes in float64 (where
            # the division is slow), and loses to them in float32.
            return expit(field, out=out)
        np.negative(field, out=out)
        np.exp(out, out=out)
        out += 1.0
        np.reciprocal(out, out=out)
        return out

    @staticmethod
    def mean_from_product(product, negated_bias, out, scale=None):
        """Store ``scale * sigmoid(product + bias)`` in ``out``.

        The training loop's form of :meth:`mean`: ``product`` is the matrix
        product of the other layer's states with the weights (``out`` may be
        ``product``) and ``negated_bias`` is ``-bias``, precomputed once per
        minibatch by the caller.

        Parameters
        ----------
        product : ndarray of shape (n_samples, n_units)
            Input from the other layer, without the bias.
        negated_bias : ndarray of shape (n_units,)
            Minus the bias of these units.
        out : ndarray of shape (n_samples, n_units)
            Where the result goes.
        scale : float, optional
            Factor applied to the result; ``None`` means 1.

        Returns
        -------
        out : ndarray
            ``out``, holding the (scaled) means.
        """
        if out.dtype == np.float64:
            np.subtract(product, negated_bias, out=out)
            expit(out, out=out)
            if scale is not None:
                out *= scale
            return out
        # Four passes instead of six: adding the bias and negating the field
        # are one subtraction, and the scale rides on the final division.
        np.subtract(negated_bias, product, out=out)
        np.exp(out, out=out)
        out += 1.0
        if scale is None:
            np.reciprocal(out, out=out)
        else:
            np.divide(scale, out, out=out)
        return out

    @classmethod
    def mean_and_sample(cls, product, negated_bias, rng, mean_out, sample_out, scratch):
        """Means into ``mean_out`` and binary draws into ``sample_out``.

        The interface every unit type shares for a Gibbs step: ``product`` is
        the input from the other layer (``mean_out`` may be ``product``),
        ``negated_bias`` minus the bias, ``sample_out`` must be another array
        and ``scratch`` is float32 space of the same shape for the random
        draws (or None to allocate it when needed).
        """
        cls.mean_from_product(product, negated_bias, out=mean_out)
        return cls.sample(mean_out, rng, sample_out, scratch)

    @staticmethod
    def sample(mean, rng, out, uniforms=None):
        """Draw binary states with probabilities ``mean`` into ``out``.

        A unit is on when a uniform draw falls below its probability. The
        draws are float32 whatever the dtype: float32 and float64 models with
        the same seed then see the same random numbers (and agree to
        rounding), float32 draws are the cheaper, and their 2**-24 resolution
        is far below any difference a probability makes to a sample.

        Parameters
        ----------
        mean : ndarray
            Probabilities of each unit being on.
        rng : numpy.random.Generator
            Source of the draws.
        out : ndarray
            Where the states go; must not be ``mean``. A float32 ``out``
            holds the draws itself.
        uniforms : ndarray of float32, optional
            Scratch space for the draws when ``out`` is not float32, of
            ``out``'s shape; allocated when not given.

        Returns
        -------
        out : ndarray
            ``out``, holding 0s and 1s.
        """
        if out.dtype == np.float32:
            uniforms = out
        elif uniforms is None:
            uniforms = np.empty(out.shape, dtype=np.float32)
        rng.random(out=uniforms, dtype=np.float32)
        np.less(uniforms, mean, out=out)
        return out

    @staticmethod
    def log_partition(field, bias=None):
        """Sum over units of ``log(1 + exp(field))``, one value per row.

        This is the layer's contribution to minus the free energy when its
        states are summed out (two states per unit). ``bias`` is not needed:
        the field already contains it.
        """
        return np.logaddexp(0.0, field).sum(axis=1)

    @staticmethod
    def visible_energy(X, bias, observed=None):
        """Energy term of visible states that does not involve the weights.

        Missing units (``observed`` 0) hold the state 0, which leaves them out.
        """
        return -np.asarray(X @ bias).ravel()

    @staticmethod
    def initial_bias(data_mean):
        """``log(p / (1 - p))`` of the data's mean activity ``p``.

        The visible units then start at the data's marginals (Hinton 2010,
        section 8); ``p`` is clipped away from 0 and 1.
        """
        p = np.clip(np.asarray(data_mean, dtype=np.float64), 1e-3, 1 - 1e-3)
        return np.log(p / (1.0 - p))

    @staticmethod
    def check_visible_input(X, estimator_name):
        """Warn when data leaves ``[0, 1]``, the range Bernoulli units model.

        The maths stays well defined for any real input (the energy is linear
        in the visible states), so such data is accepted, but the model then
        no longer describes probabilities and training usually goes badly.
        """
        if in_unit_interval(X):
            return
        low, high = _value_range(X)
        gaussian = (
            "GaussianRBMStack"
            if estimator_name.endswith("Stack")
            else f'{estimator_name}(visible_units="gaussian")'
        )
        if _looks_standardised(X):
            advice = (
                "X looks standardised (feature means near 0, standard "
                f"deviations near 1): model it with Gaussian units, {gaussian}."
            )
        elif estimator_name.endswith("Stack"):
            advice = (
                "Scale the input first, e.g. with sklearn.preprocessing."
                "MinMaxScaler(clip=True); or, for real-valued data, use "
                "GaussianRBMStack, which standardises it."
            )
        else:
            advice = (
                "Scale the input first, e.g. with sklearn.preprocessing."
                "MinMaxScaler(clip=True); or, for real-valued data, use "
                f'{estimator_name}(visible_units="auto") (the default), which '
                "standardises it and uses Gaussian units."
            )
        warn(
            f"{estimator_name} has Bernoulli visible units, which model data "
            f"in [0, 1], but X has values in [{low:.6g}, {high:.6g}]. {advice}",
            DataRangeWarning,
        )


def _value_range(X):
    """Smallest and largest value of ``X`` (the implicit zeros of sparse included)."""
    values = X.data if sp.issparse(X) else X
    if values.size == 0:
        return 0.0, 0.0
    low, high = values.min(), values.max()
    if np.isnan(high):  # missing entries (NaN): the range of the observed ones
        values = values[~np.isnan(values)]
        if values.size == 0:
            return 0.0, 0.0
        low, high = values.min(), values.max()
    if sp.issparse(X) and X.nnz < X.shape[0] * X.shape[1]:
        low, high = min(low, 0.0), max(high, 0.0)
    return low, high


def in_unit_interval(X):
    """Whether every value of ``X`` lies in ``[0, 1]``, up to ``RANGE_TOLERANCE``.

    The data Bernoulli visible units model: the test of their
    ``DataRangeWarning`` and of ``visible_units="auto"``.
    """
    low, high = _value_range(X)
    return bool(low >= -RANGE_TOLERANCE and high <= 1.0 + RANGE_TOLERANCE)


def _looks_standardised(X):
    """Whether every feature has mean within 0.5 of 0 and std at most 2."""
    if X.shape[0] < 2:
        return False
    with np.errstate(over="ignore", invalid="ignore"):
        mean, variance = feature_mean_and_variance(X)
    return bool(np.all(np.abs(mean) <= 0.5) and np.all(variance <= 4.0))


class GaussianUnits:
    """Real-valued units with Gaussian conditionals of unit variance.

    Given its field ``x`` (bias plus input), a unit is distributed as
    ``N(x, 1)``; its energy term is ``(s - bias)**2 / 2``. As visible units
    they model standardised real-valued data; an ``RBMLayer`` with
    ``visible_log_std`` rescales the data by a per-feature standard deviation
    first, so the unit itself always has unit variance. As hidden units they
    are linear units, e.g. for the real-valued code layer of an autoencoder.
    """

    name = "gaussian"
    network_activation = "identity"
    bounded = False

    @staticmethod
    def mean(field, out):
        """Store ``E[s | field] = field`` in ``out``."""
        if out is not field:
            np.copyto(out, field)
        return out

    @staticmethod
    def mean_from_product(product, negated_bias, out, scale=None):
        """Store ``scale * (product + bias)`` in ``out`` (see ``BernoulliUnits``)."""
        np.subtract(product, negated_bias, out=out)
        if scale is not None:
            out *= scale
        return out

    @staticmethod
    def mean_and_sample(product, negated_bias, rng, mean_out, sample_out, scratch):
        """Means into ``mean_out``, draws ``N(mean, 1)`` into ``sample_out``."""
        np.subtract(product, negated_bias, out=mean_out)
        noise = _float32_scratch(sample_out, scratch)
        rng.standard_normal(out=noise, dtype=np.float32)
        np.add(mean_out, noise, out=sample_out)
        return sample_out

    @staticmethod
    def log_partition(field, bias):
        """Sum over units of ``log of the integral of exp(-E)`` over each state.

        ``log int exp(-(s - c)**2 / 2 + s * (x - c)) ds`` with field ``x``
        and bias ``c`` is ``(x**2 - c**2) / 2 + log(2 pi) / 2``.
        """
        field = np.asarray(field)
        constant = 0.5 * np.log(2 * np.pi) * field.shape[1]
        return 0.5 * (np.einsum("ij,ij->i", field, field) - bias @ bias) + constant

    @staticmethod
    def visible_energy(X, bias, observed=None):
        """``sum_i (x_i - b_i)**2 / 2`` for each row, over the ``observed`` units."""
        diff = _dense(X) - bias
        if observed is not None:
            diff *= observed
        return 0.5 * np.einsum("ij,ij->i", diff, diff)

    @staticmethod
    def initial_bias(data_mean):
        """The data's mean: the visible units start at the data's centre."""
        return np.asarray(data_mean, dtype=np.float64)

    @staticmethod
    def check_visible_input(X, estimator_name):
        """Warn when the data are far from standardised.

        With unit variance, a feature that varies over many units sends huge
        inputs to the hidden units and training diverges; a constant feature
        is harmless (its bias learns the constant).
        """
        if X.shape[0] < 2:
            return
        with np.errstate(over="ignore", invalid="ignore"):
            mean, variance = feature_mean_and_variance(X)
        if not (np.isfinite(mean).all() and np.isfinite(variance).all()):
            raise ValueError(
                f"X has values too large for the Gaussian visible units of "
                f"{estimator_name} (up to {abs(X).max():.4g} in absolute value): "
                "their squares overflow. Standardise the input, e.g. with "
                "sklearn.preprocessing.StandardScaler."
            )
        largest_std = float(np.sqrt(variance.max()))
        largest_mean = float(np.abs(mean).max())
        if largest_std > STANDARDISED_LIMIT or largest_mean > STANDARDISED_LIMIT:
            warn(
                f"{estimator_name} has Gaussian visible units, which model "
                "standardised data (mean 0 and standard deviation 1 per feature), "
                f"but X has features with standard deviation up to "
                f"{largest_std:.4g} and mean up to {largest_mean:.4g} in absolute "
                "value. Scale the input first, e.g. with "
                "sklearn.preprocessing.StandardScaler; training may diverge.",
                DataRangeWarning,
            )


class ReLUUnits:
    """Noisy rectified linear units (NReLU; Nair & Hinton 2010).

    A unit with field ``x`` takes the value ``max(0, x + noise)`` with
    Gaussian noise of variance ``sigmoid(x)``; its mean is taken to be
    ``max(0, x)``. They approximate an infinite set of binary units sharing
    weights, with biases offset by ``-0.5, -1.5, -2.5, ...`` (the "stepped
    sigmoid" units), whose free energy is used for ``log_partition``.
    """

    name = "relu"
    network_activation = "relu"
    bounded = False

    #: Terms of the stepped-sigmoid sum kept on each side of the field; the
    #: neglected terms are below ``exp(-STEPS + 0.5)`` each.
    STEPS = 30

    @staticmethod
    def mean(field, out):
        """Store ``max(0, field)`` in ``out``."""
        return np.maximum(field, 0, out=out)

    @staticmethod
    def mean_from_product(product, negated_bias, out, scale=None):
        """Store ``scale * max(0, product + bias)`` in ``out``."""
        np.subtract(product, negated_bias, out=out)
        np.maximum(out, 0, out=out)
        if scale is not None:
            out *= scale
        return out

    @staticmethod
    def mean_and_sample(product, negated_bias, rng, mean_out, sample_out, scratch):
        """Means into ``mean_out``, NReLU draws into ``sample_out``."""
        field = np.subtract(product, negated_bias, out=mean_out)
        # Noise standard deviation sqrt(sigmoid(x)), computed in sample_out.
        BernoulliUnits.mean(field, out=sample_out)
        np.sqrt(sample_out, out=sample_out)
        noise = scratch if scratch is not None else np.empty(field.shape, np.float32)
        rng.standard_normal(out=noise, dtype=np.float32)
        sample_out *= noise
        sample_out += field
        np.maximum(sample_out, 0, out=sample_out)
        np.maximum(field, 0, out=mean_out)
        return sample_out

    @classmethod
    def log_partition(cls, field, bias):
        """Sum over units of the stepped-sigmoid log partition.

        ``sum_{n >= 1} log(1 + exp(x - n + 0.5))`` for field ``x``: the terms
        with ``x - n + 0.5 > 0`` are their argument plus a small correction,
        so the sum is the arithmetic series of those arguments plus
        ``log(1 + exp(-|x - n + 0.5|))`` summed over the ``STEPS`` terms on
        either side of ``x`` (the rest is below float precision).
        """
        x = np.asarray(field, dtype=np.float64)
        # Number of terms with a positive argument: n < x + 0.5.
        n_positive = np.maximum(np.ceil(x + 0.5) - 1, 0)
        total = n_positive * (x + 0.5) - n_positive * (n_positive + 1) / 2
        # Term n = n_positive + d has argument remainder - d, which is <= 0
        # for d >= 1 and > 0 for d <= 0 (remainder is in (0, 1] when
        # n_positive >= 1), so log(1 + exp(-|argument|)) is log1p of
        # exp(+-remainder) times a constant: two passes per term.
        remainder = x + 0.5 - n_positive
        with np.errstate(over="ignore"):  # only where masked out below
            up, down = np.exp(remainder), np.exp(-remainder)
        term = np.empty_like(x)
        for d in range(1, cls.STEPS + 1):
            np.multiply(up, np.exp(-d), out=term)
            total += np.log1p(term, out=term)
        largest = int(n_positive.max()) if n_positive.size else 0
        for d in range(0, -min(largest, cls.STEPS), -1):
            np.multiply(down, np.exp(d), out=term)
            np.log1p(term, out=term)
            # Only terms with n = n_positive + d >= 1 exist.
            np.add(total, term, out=total, where=n_positive >= 1 - d)
        return total.sum(axis=1)

    @staticmethod
    def visible_energy(X, bias, observed=None):
        """Energy term of visible states that does not involve the weights.

        Missing units (``observed`` 0) hold the state 0, which leaves them out.
        """
        return -np.asarray(X @ bias).ravel()

    @staticmethod
    def initial_bias(data_mean):
        """The data's mean, so that ``max(0, bias)`` starts at the mean."""
        return np.asarray(data_mean, dtype=np.float64)

    @staticmethod
    def check_visible_input(X, estimator_name):
        """Warn when data has negative values, which NReLU units never take."""
        values = X.data if sp.issparse(X) else X
        if values.size and values.min() < -RANGE_TOLERANCE:
            warn(
                f"{estimator_name} has rectified linear visible units, which "
                f"model non-negative data, but X has values down to "
                f"{values.min():.4g}.",
                DataRangeWarning,
            )


def sample_from_field(units, field, rng):
    """Draw states of ``units`` (a unit class) given their ``field``; allocates."""
    mean, out = np.empty_like(field), np.empty_like(field)
    return units.mean_and_sample(field, 0.0, rng, mean, out, None)


class DataRangeWarning(UserWarning):
    """Warning raised when data lies outside the range a unit type models.

    Binary (Bernoulli) visible units model data in ``[0, 1]``, Gaussian ones
    standardised data, rectified linear ones non-negative data. Other input
    is accepted where the maths stays defined, but the model then describes
    it badly, so ``fit`` warns with this class. Silence it with
    ``warnings.filterwarnings("ignore", category=DataRangeWarning)`` once
    you have checked the scaling.

    See Also
    --------
    sklearn.preprocessing.MinMaxScaler : Scales data into ``[0, 1]``.
    sklearn.preprocessing.StandardScaler : Standardises data.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from skdbn import BernoulliRBMStack, DataRangeWarning
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = BernoulliRBMStack(2, n_epochs=1).fit(np.array([[0.0, 5.0]]))
    >>> caught[0].category is DataRangeWarning
    True
    """


#: Maps the name a user passes (e.g. ``visible_units="bernoulli"``) to its class.
UNIT_TYPES = {cls.name: cls for cls in (BernoulliUnits, GaussianUnits, ReLUUnits)}


def get_unit_type(name):
    """Return the unit class registered under ``name``."""
    try:
        return UNIT_TYPES[name]
    except KeyError:
        raise ValueError(
            f"Unknown unit type {name!r}; choose one of {sorted(UNIT_TYPES)}."
        ) from None
