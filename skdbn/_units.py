"""Unit types of an RBM layer.

Each class owns everything that depends on the kind of unit: its conditional
mean given the input field, how to draw a sample, its term of the free energy
and which input values it accepts. A new unit type is one new class added to
``UNIT_TYPES``; the RBM maths in ``_rbm.py`` only ever talks to this interface.

All array methods work in place on preallocated buffers (``out=``) so that the
training loop allocates nothing per minibatch.
"""

import warnings

import numpy as np
import scipy.sparse as sp


class BernoulliUnits:
    """Binary stochastic units with a logistic (sigmoid) activation.

    A unit is on with probability ``sigmoid(field)``. As visible units they
    model data in ``[0, 1]``: binary values, or grey levels read as the
    probability of a pixel being on.
    """

    name = "bernoulli"

    @staticmethod
    def mean(field, out):
        """Store ``sigmoid(field)`` in ``out`` (which may be ``field``).

        Uses ``1 / (1 + exp(-x))`` in four in-place passes: on float32 this
        is several times faster than ``scipy.special.expit``. ``exp`` may
        overflow to ``inf`` for very negative fields, which correctly gives 0;
        callers run under ``np.errstate(over="ignore")``.
        """
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
    def log_partition(field):
        """Sum over units of ``log(1 + exp(field))``, one value per row.

        This is the hidden layer's contribution to minus the free energy
        (the log of the sum over its two states per unit).
        """
        return np.logaddexp(0.0, field).sum(axis=1)

    @staticmethod
    def visible_energy(X, bias):
        """Energy term of visible states that does not involve the weights."""
        return -np.asarray(X @ bias).ravel()

    @staticmethod
    def check_visible_input(X, estimator_name):
        """Warn when data leaves ``[0, 1]``, the range Bernoulli units model.

        The maths stays well defined for any real input (the energy is linear
        in the visible states), so such data is accepted, but the model then
        no longer describes probabilities and training usually goes badly.
        """
        values = X.data if sp.issparse(X) else X
        if values.size == 0:
            return
        low, high = values.min(), values.max()
        if sp.issparse(X) and X.nnz < X.shape[0] * X.shape[1]:
            low = min(low, 0.0)
        if low < 0.0 or high > 1.0:
            warnings.warn(
                f"{estimator_name} has Bernoulli visible units, which model data "
                f"in [0, 1], but X has values in [{low:.4g}, {high:.4g}]. Scale "
                "the input first, e.g. with sklearn.preprocessing.MinMaxScaler"
                "(clip=True).",
                DataRangeWarning,
                stacklevel=4,
            )


class DataRangeWarning(UserWarning):
    """Warning raised when data lies outside the range a unit type models."""


#: Maps the name a user passes (e.g. ``visible_units="bernoulli"``) to its class.
UNIT_TYPES = {cls.name: cls for cls in (BernoulliUnits,)}


def get_unit_type(name):
    """Return the unit class registered under ``name``."""
    try:
        return UNIT_TYPES[name]
    except KeyError:
        raise ValueError(
            f"Unknown unit type {name!r}; choose one of {sorted(UNIT_TYPES)}."
        ) from None
