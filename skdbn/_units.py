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
    def sample(mean, rng, out):
        """Draw binary states with probabilities ``mean`` into ``out``.

        ``out`` must not be ``mean``; it is first filled with uniform draws
        of its own dtype, then compared in place.
        """
        rng.random(out=out, dtype=out.dtype)
        np.less(out, mean, out=out)
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
