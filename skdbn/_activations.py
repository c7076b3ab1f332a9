"""Activations of a feed-forward network's layers, and its outputs with their losses.

Each hidden activation is a class with ``forward(Z, bias=None)``, which
replaces ``Z`` in place, and ``derivative(A, delta)``, which multiplies
``delta`` in place by the derivative expressed from the activation's output
``A``. Each output class has ``activate(Z)`` and ``activate_with_loss(Z, Y)``
and names its canonical loss, whose gradient with respect to the output
layer's input is ``output - Y``: ``"softmax"`` with the multinomial log loss,
``"logistic"`` with the binary log loss of each output column (multilabel),
``"identity"`` with half the squared error summed over the outputs. The
losses are computed from the output layer's input (the logits), never from
clipped probabilities.

``ACTIVATIONS`` and ``OUTPUT_ACTIVATIONS`` map the names users pass to the
classes. The classes are referred to, never instantiated: a fitted network
holds the classes themselves (persisted by name, see ``_serialization``).
"""

import numpy as np

from ._units import BernoulliUnits

# -- Hidden activations ---------------------------------------------------------


class LogisticActivation:
    """Logistic sigmoid ``1 / (1 + exp(-z))``, the mean of a Bernoulli unit.

    Hidden layers initialised from Bernoulli-unit RBMs use this activation, so
    that the network computes what the stack's ``transform`` computes.
    """

    name = "logistic"
    #: Glorot's uniform initialisation uses ``sqrt(init_factor / fan_sum)``.
    init_factor = 2.0

    @staticmethod
    def forward(Z, bias=None):
        """Replace ``Z`` by the activation of ``Z + bias``, in place; return it.

        The very computation of the RBMs' Bernoulli units
        (``BernoulliUnits.mean_from_product``), whose first pass adds the
        bias and negates at once; ``exp`` may overflow to ``inf``, which
        correctly gives 0, and callers silence the overflow warning.
        """
        if bias is None:
            return BernoulliUnits.mean(Z, out=Z)
        return BernoulliUnits.mean_from_product(Z, -bias, out=Z)

    @staticmethod
    def derivative(A, delta):
        """Multiply ``delta`` in place by the derivative at output ``A``.

        ``f' = A (1 - A)``. ``A`` is used as scratch space and overwritten.
        """
        delta *= A
        np.subtract(1.0, A, out=A)
        delta *= A
        return delta


class TanhActivation:
    """Hyperbolic tangent."""

    name = "tanh"
    init_factor = 6.0

    @staticmethod
    def forward(Z, bias=None):
        """Replace ``Z`` by ``tanh(Z + bias)``, in place, and return it."""
        if bias is not None:
            Z += bias
        return np.tanh(Z, out=Z)

    @staticmethod
    def derivative(A, delta):
        """Multiply ``delta`` in place by ``1 - A**2``; ``A`` is overwritten."""
        np.square(A, out=A)
        np.subtract(1.0, A, out=A)
        delta *= A
        return delta


class ReluActivation:
    """Rectified linear unit ``max(z, 0)``."""

    name = "relu"
    init_factor = 6.0

    @staticmethod
    def forward(Z, bias=None):
        """Replace ``Z`` by ``max(Z + bias, 0)``, in place, and return it."""
        if bias is not None:
            Z += bias
        return np.maximum(Z, 0.0, out=Z)

    @staticmethod
    def derivative(A, delta):
        """Zero ``delta`` where the unit is off; ``A`` is overwritten.

        ``sign(A)`` is 1 where the unit is on and 0 where it is off (``A`` is
        never negative), which avoids a boolean temporary.
        """
        np.sign(A, out=A)
        delta *= A
        return delta


class IdentityActivation:
    """Identity: a linear layer."""

    name = "identity"
    init_factor = 6.0

    @staticmethod
    def forward(Z, bias=None):
        """Return ``Z + bias``, in place."""
        if bias is not None:
            Z += bias
        return Z

    @staticmethod
    def derivative(A, delta):
        """Return ``delta`` unchanged (the derivative is 1)."""
        return delta


#: Maps a hidden activation's name to its class. Each class has
#: ``forward(Z, bias=None)`` (in place) and ``derivative(A, delta)``, which
#: multiplies ``delta`` in place by the derivative expressed from the
#: activation's output ``A``.
ACTIVATIONS = {
    cls.name: cls
    for cls in (LogisticActivation, TanhActivation, ReluActivation, IdentityActivation)
}


# -- Output layers and their losses -----------------------------------------------


class SoftmaxOutput:
    """Softmax output with the multinomial log loss (cross-entropy).

    For one-hot (or probability) rows ``y`` and logits ``z``, the loss of a
    sample is ``sum_k y_k (logsumexp(z) - z_k)``, computed with the
    max-shifted logits so that it stays finite for any finite logits.
    """

    name = "softmax"
    loss = "log_loss"

    @staticmethod
    def activate(Z):
        """Replace logits ``Z`` by probabilities, in place; rows sum to 1."""
        Z -= Z.max(axis=1, keepdims=True)
        np.exp(Z, out=Z)
        Z /= Z.sum(axis=1, keepdims=True)
        return Z

    @staticmethod
    def activate_with_loss(Z, Y):
        """Activate ``Z`` in place and return each row's loss against ``Y``."""
        Z -= Z.max(axis=1, keepdims=True)
        # Taken on the shifted logits: logsumexp shifts by the same amount.
        y_dot_z = np.einsum("ij,ij->i", Y, Z)
        np.exp(Z, out=Z)
        total = Z.sum(axis=1, keepdims=True)
        Z /= total
        log_total = np.log(total[:, 0])
        return np.einsum("ij->i", Y) * log_total - y_dot_z


class LogisticOutput:
    """Independent logistic outputs with the binary log loss of each column.

    The loss of a sample is ``sum_k softplus(z_k) - y_k z_k``, which equals
    ``-sum_k y_k log p_k + (1 - y_k) log(1 - p_k)`` for ``p = sigmoid(z)``
    without ever taking the log of a rounded probability.
    """

    name = "logistic"
    loss = "binary_log_loss"

    @staticmethod
    def activate(Z):
        """Replace logits ``Z`` by probabilities, in place."""
        with np.errstate(over="ignore"):
            return LogisticActivation.forward(Z)

    @staticmethod
    def activate_with_loss(Z, Y):
        """Activate ``Z`` in place and return each row's loss against ``Y``."""
        losses = np.logaddexp(0.0, Z)
        losses -= Y * Z
        with np.errstate(over="ignore"):
            LogisticActivation.forward(Z)
        return losses.sum(axis=1)


class IdentityOutput:
    """Linear output with half the squared error, summed over the outputs.

    The loss of a sample is ``0.5 * sum_k (z_k - y_k)**2``. scikit-learn's
    ``MLPRegressor`` reports this divided by the number of outputs but takes
    its gradients without that division; here loss and gradients agree.
    """

    name = "identity"
    loss = "squared_error"

    @staticmethod
    def activate(Z):
        """Return ``Z`` unchanged."""
        return Z

    @staticmethod
    def activate_with_loss(Z, Y):
        """Return each row's loss against ``Y``; ``Z`` is left unchanged."""
        diff = Z - Y
        return 0.5 * np.einsum("ij,ij->i", diff, diff)


#: Maps an output activation's name to its class (which also names its loss).
OUTPUT_ACTIVATIONS = {
    cls.name: cls for cls in (SoftmaxOutput, LogisticOutput, IdentityOutput)
}


def _lookup(registry, name, what):
    try:
        return registry[name]
    except KeyError:
        raise ValueError(
            f"Unknown {what} {name!r}; choose one of {sorted(registry)}."
        ) from None
