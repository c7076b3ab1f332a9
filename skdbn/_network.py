"""Feed-forward network for fine-tuning a pre-trained stack by back-propagation.

``FeedForwardNetwork`` holds the weights and biases of a multi-layer
perceptron, computes its output, and computes the loss and its gradients for
a minibatch. ``SGDOptimizer`` and ``AdamOptimizer`` update the parameters in
place. Nothing here knows about estimators, epochs or schedules.

Conventions follow scikit-learn's ``MLPClassifier``/``MLPRegressor`` so that
the estimators behave like them for the same ``alpha``:

- ``weights[i]`` has shape ``(n_in, n_out)``, as ``RBMLayer.weights`` and
  ``MLPClassifier.coefs_``;
- the objective is the (sample-weighted) mean data loss plus
  ``0.5 * alpha * sum_i ||weights[i]||^2 / n_samples`` (``n_samples`` being
  the sum of the sample weights when they are given); biases are not
  penalised;
- each output activation has its canonical loss, so that the gradient of the
  loss with respect to the output layer's input is ``output - Y``:
  ``"softmax"`` with the multinomial log loss, ``"logistic"`` with the binary
  log loss of each output column (multilabel), ``"identity"`` with half the
  squared error summed over the outputs.

The training path (``loss_and_gradients``, ``train_step``) writes into
buffers allocated once per network and reused for every minibatch of at most
the same size, keeps the parameters' dtype (float32 stays float32), and
computes the losses from the output layer's input (the logits), never from
clipped probabilities. The optimisers keep their state in arrays of the
parameters' dtype and make their elementwise passes chunk by cache-sized
chunk, which halves the memory traffic of an update. ``train_step`` hands the
L2 penalty to the optimiser, which adds its gradient and measures the weights'
norm while each chunk is in cache: one pass over each weight matrix per
minibatch instead of three.
"""

from collections import namedtuple

import numpy as np
import scipy.sparse as sp
from scipy.linalg.blas import get_blas_funcs

from ._sparsity import sparsity_penalty
from ._speed import blas_controller
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


def _per_hidden_layer(activation, n_hidden_layers):
    """The activation name of each of ``n_hidden_layers`` hidden layers."""
    if isinstance(activation, str):
        return [activation] * n_hidden_layers
    names = list(activation)
    if len(names) != n_hidden_layers:
        raise ValueError(
            f"hidden_activation has {len(names)} names for {n_hidden_layers} "
            "hidden layers; give one name, or one per hidden layer."
        )
    return names


def _check_dropout(dropout):
    """Return ``(input_rate, hidden_rate)`` as floats, or ``None`` for no dropout."""
    if dropout is None:
        return None
    try:
        input_rate, hidden_rate = (float(rate) for rate in dropout)
    except (TypeError, ValueError):
        raise ValueError(
            "dropout must be None or a pair (input_rate, hidden_rate); "
            f"got {dropout!r}."
        ) from None
    for rate in (input_rate, hidden_rate):
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout rates must lie in [0, 1); got {dropout!r}.")
    if input_rate == 0.0 and hidden_rate == 0.0:
        return None
    return input_rate, hidden_rate


def _draw_mask(rng, rate, out):
    """Fill ``out`` with an inverted-dropout mask: 0, or ``1 / (1 - rate)``.

    Each entry is kept with probability ``1 - rate``; scaling the kept ones
    makes the expected masked activation equal the unmasked one, so nothing
    needs rescaling at prediction time.
    """
    rng.random(out=out, dtype=out.dtype)
    np.greater_equal(out, rate, out=out)
    out *= 1.0 / (1.0 - rate)
    return out


def glorot_uniform(n_in, n_out, rng, *, dtype=np.float64, activation="logistic"):
    """Weights and biases drawn as scikit-learn's MLP initialises a layer.

    Both are uniform on ``[-bound, bound]`` with
    ``bound = sqrt(factor / (n_in + n_out))`` (Glorot & Bengio, 2010), where
    ``factor`` is 2 for the logistic activation and 6 otherwise.

    Parameters
    ----------
    n_in, n_out : int
        Number of inputs and of units of the layer.
    rng : numpy.random.Generator
        Source of the random values.
    dtype : dtype, default=np.float64
        Floating dtype of the returned arrays.
    activation : str, default="logistic"
        Name of the layer's activation, a key of ``ACTIVATIONS``.

    Returns
    -------
    weights : ndarray of shape (n_in, n_out)
    bias : ndarray of shape (n_out,)

    Examples
    --------
    >>> import numpy as np
    >>> from skdbn._network import glorot_uniform
    >>> W, b = glorot_uniform(3, 2, np.random.default_rng(0), dtype=np.float32)
    >>> W.shape, b.shape, W.dtype
    ((3, 2), (2,), dtype('float32'))
    >>> bool(np.all(np.abs(W) <= np.sqrt(2 / 5)))
    True
    """
    factor = _lookup(ACTIVATIONS, activation, "activation").init_factor
    bound = np.sqrt(factor / (n_in + n_out))
    weights = rng.uniform(-bound, bound, (n_in, n_out)).astype(dtype, copy=False)
    bias = rng.uniform(-bound, bound, n_out).astype(dtype, copy=False)
    return weights, bias


# -- The network ----------------------------------------------------------------


class FeedForwardNetwork:
    """A multi-layer perceptron: its forward pass, loss and gradients.

    Layer ``i`` computes ``f(a @ weights[i] + biases[i])`` from the previous
    layer's activations ``a`` (the input for ``i = 0``); ``f`` is the hidden
    activation for all layers but the last, and the output activation for the
    last.

    Parameters
    ----------
    weights : list of ndarray of shape (n_in, n_out)
        Weight matrix of each layer, in order from the input. The arrays are
        used as given (not copied) and updated in place by the optimisers.
    biases : list of ndarray of shape (n_out,)
        Bias vector of each layer.
    hidden_activation : {"logistic", "relu", "tanh", "identity"} or sequence, \
            default="logistic"
        Activation of the hidden layers (a key of ``ACTIVATIONS``), or one
        per hidden layer.
    output_activation : {"softmax", "logistic", "identity"}, default="softmax"
        Activation of the output layer, which fixes the loss: multinomial log
        loss for ``"softmax"`` (one-hot targets; use it for binary
        classification too, with two columns), binary log loss of each column
        for ``"logistic"`` (multilabel), half the squared error summed over
        outputs for ``"identity"`` (regression).

    Attributes
    ----------
    dtype : numpy.dtype
        Floating dtype of all parameters, buffers, outputs and gradients.
    n_layers : int
        Number of weight layers (hidden layers plus the output layer).
    layer_sizes : tuple of int
        Number of units of each layer, the input first.
    loss : str
        Name of the loss: ``"log_loss"``, ``"binary_log_loss"`` or
        ``"squared_error"``.

    See Also
    --------
    SGDOptimizer, AdamOptimizer : Update ``weights + biases`` in place.

    Notes
    -----
    The training path writes into buffers sized for the largest minibatch
    seen so far; the gradients that ``loss_and_gradients`` returns are views of
    them, overwritten by the next call. The prediction path (``forward``,
    ``hidden_features``) allocates its own arrays and changes no state, so one
    network can predict from several threads. Buffers are not pickled.

    Examples
    --------
    >>> import numpy as np
    >>> from skdbn._network import FeedForwardNetwork, SGDOptimizer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((6, 4))
    >>> Y = np.eye(2)[[0, 1, 0, 1, 0, 1]]
    >>> net = FeedForwardNetwork.initialize([4, 3, 2], rng=rng)
    >>> net.forward(X).sum(axis=1)
    array([1., 1., 1., 1., 1., 1.])
    >>> optimizer = SGDOptimizer(learning_rate=0.5)
    >>> first, grad_weights, grad_biases = net.loss_and_gradients(X, Y)
    >>> norm = optimizer.update(net.parameters, grad_weights + grad_biases)
    >>> for _ in range(50):  # the same, faster
    ...     loss = net.train_step(X, Y, optimizer)
    >>> bool(loss < first)
    True
    """

    def __init__(
        self,
        weights,
        biases,
        hidden_activation="logistic",
        output_activation="softmax",
    ):
        weights, biases = list(weights), list(biases)
        if not weights or len(weights) != len(biases):
            raise ValueError(
                "weights and biases must be non-empty lists of the same length; "
                f"got {len(weights)} weight matrices and {len(biases)} biases."
            )
        dtype = np.result_type(*weights, *biases)
        if not np.issubdtype(dtype, np.floating):
            dtype = np.dtype(np.float64)
        self.weights = [np.asarray(W, dtype=dtype) for W in weights]
        self.biases = [np.asarray(b, dtype=dtype) for b in biases]
        for i, (W, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            if W.ndim != 2 or b.shape != (W.shape[1],):
                raise ValueError(
                    f"Layer {i}: weights must be 2-D (n_in, n_out) and the bias of "
                    f"shape (n_out,); got {W.shape} and {b.shape}."
                )
            if i > 0 and W.shape[0] != self.weights[i - 1].shape[1]:
                raise ValueError(
                    f"Layer {i} has {W.shape[0]} inputs but layer {i - 1} has "
                    f"{self.weights[i - 1].shape[1]} units."
                )
        self.hidden_activation = hidden_activation
        self.output_activation = output_activation
        names = _per_hidden_layer(hidden_activation, len(self.weights) - 1)
        self._hidden = [_lookup(ACTIVATIONS, n, "hidden activation") for n in names]
        self._output = _lookup(
            OUTPUT_ACTIVATIONS, output_activation, "output activation"
        )
        self._buffers = {}

    @classmethod
    def initialize(
        cls,
        layer_sizes,
        *,
        rng,
        dtype=np.float64,
        hidden_activation="logistic",
        output_activation="softmax",
    ):
        """A randomly initialised network (no pre-training).

        Parameters
        ----------
        layer_sizes : sequence of int
            Number of units of each layer, the input first, the output last.
        rng : numpy.random.Generator
            Source of the initial weights (see ``glorot_uniform``).
        dtype : dtype, default=np.float64
            Floating dtype of the parameters.
        hidden_activation, output_activation : str
            As in the class's constructor.

        Returns
        -------
        network : FeedForwardNetwork

        Examples
        --------
        >>> import numpy as np
        >>> from skdbn._network import FeedForwardNetwork
        >>> net = FeedForwardNetwork.initialize([4, 3, 2], rng=np.random.default_rng(0))
        >>> net.layer_sizes
        (4, 3, 2)
        """
        names = _per_hidden_layer(hidden_activation, len(layer_sizes) - 2)
        # The output layer is initialised for the last hidden activation.
        names = [*names, names[-1] if names else "logistic"]
        layers = [
            glorot_uniform(n_in, n_out, rng, dtype=dtype, activation=name)
            for n_in, n_out, name in zip(
                layer_sizes[:-1], layer_sizes[1:], names, strict=False
            )
        ]
        return cls(
            [W for W, _ in layers],
            [b for _, b in layers],
            hidden_activation=hidden_activation,
            output_activation=output_activation,
        )

    @classmethod
    def from_layers(
        cls,
        layers,
        n_outputs,
        *,
        rng,
        dtype=None,
        hidden_activation="logistic",
        output_activation="softmax",
    ):
        """A network whose hidden layers start from pre-trained RBM layers.

        Copies each layer's ``weights`` and ``hidden_bias`` (the stack is not
        modified by fine-tuning) and adds a randomly initialised output layer.

        Parameters
        ----------
        layers : sequence of RBMLayer
            Fitted layers, the bottom one first (e.g. a stack's ``layers_``);
            anything with ``weights`` of shape (n_in, n_out) and
            ``hidden_bias`` will do.
        n_outputs : int
            Number of output units.
        rng : numpy.random.Generator
            Source of the output layer's initial weights.
        dtype : dtype, default=None
            Floating dtype of the parameters; by default the first layer's.
        hidden_activation, output_activation : str
            As in the class's constructor.

        Returns
        -------
        network : FeedForwardNetwork

        Examples
        --------
        >>> import numpy as np
        >>> from skdbn import RBMLayer
        >>> from skdbn._network import FeedForwardNetwork
        >>> rbm = RBMLayer(np.zeros((4, 3)), np.zeros(4), np.zeros(3))
        >>> net = FeedForwardNetwork.from_layers([rbm], 2, rng=np.random.default_rng(0))
        >>> net.layer_sizes
        (4, 3, 2)
        >>> net.hidden_features(np.ones((1, 4)))  # what rbm.hidden_mean gives
        array([[0.5, 0.5, 0.5]])
        """
        layers = list(layers)
        if dtype is None:
            dtype = np.asarray(layers[0].weights).dtype if layers else np.float64
        # input_weights folds a Gaussian layer's learned standard deviations
        # into its weights: the network then reads unscaled data.
        weights = [
            np.array(getattr(layer, "input_weights", layer.weights), dtype=dtype)
            for layer in layers
        ]
        biases = [np.array(layer.hidden_bias, dtype=dtype) for layer in layers]
        n_last = weights[-1].shape[1] if layers else None
        if n_last is None:
            raise ValueError("from_layers needs at least one layer.")
        last = _per_hidden_layer(hidden_activation, len(layers))[-1]
        W, b = glorot_uniform(n_last, n_outputs, rng, dtype=dtype, activation=last)
        return cls(
            [*weights, W],
            [*biases, b],
            hidden_activation=hidden_activation,
            output_activation=output_activation,
        )

    # -- Descriptions -------------------------------------------------------------

    @property
    def dtype(self):
        return self.weights[0].dtype

    @property
    def n_layers(self):
        return len(self.weights)

    @property
    def layer_sizes(self):
        return (self.weights[0].shape[0], *(W.shape[1] for W in self.weights))

    @property
    def loss(self):
        return self._output.loss

    @property
    def parameters(self):
        """``weights + biases``: the list an optimiser updates, in that order."""
        return [*self.weights, *self.biases]

    def __repr__(self):
        return (
            f"FeedForwardNetwork(layer_sizes={self.layer_sizes}, "
            f"hidden_activation={self.hidden_activation!r}, "
            f"output_activation={self.output_activation!r}, dtype={self.dtype})"
        )

    def __getstate__(self):
        # Buffers are scratch space, re-created on demand.
        state = self.__dict__.copy()
        state["_buffers"] = {}
        return state

    # -- Prediction ---------------------------------------------------------------

    def _as_input(self, X):
        if sp.issparse(X):
            X = X.astype(self.dtype, copy=False)
        else:
            X = np.asarray(X, dtype=self.dtype)
        if X.ndim != 2 or X.shape[1] != self.layer_sizes[0]:
            raise ValueError(
                f"X must have shape (n_samples, {self.layer_sizes[0]}); got {X.shape}."
            )
        return X

    def _propagate(self, X, n_layers, dropout, rng):
        """Activations of layer ``n_layers - 1`` (hidden activation for all)."""
        if dropout is not None and rng is None:
            raise ValueError("Dropout needs a random generator: pass rng.")
        A = X
        if dropout is not None and dropout[0] > 0.0:
            A = X.toarray() if sp.issparse(X) else X
            mask = _draw_mask(rng, dropout[0], np.empty(A.shape, self.dtype))
            A = A * mask
        with np.errstate(over="ignore"):
            for i in range(n_layers):
                Z = np.asarray(A @ self.weights[i])
                Z += self.biases[i]
                A = self._hidden[i].forward(Z)
                if dropout is not None and dropout[1] > 0.0:
                    A *= _draw_mask(rng, dropout[1], np.empty(A.shape, self.dtype))
        return A

    def forward(self, X, *, dropout=None, rng=None):
        """Output of the network for each row of ``X``.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            Input, converted to the network's dtype.
        dropout : (float, float) or None, default=None
            ``(input_rate, hidden_rate)``: apply training-time (inverted)
            dropout, e.g. for Monte-Carlo dropout. ``None`` (the default) is
            the prediction-time network, without dropout.
        rng : numpy.random.Generator, optional
            Source of the dropout masks; required with ``dropout``.

        Returns
        -------
        output : ndarray of shape (n_samples, n_outputs)
            Probabilities for the softmax and logistic outputs (each softmax
            row sums to 1), values for the identity output. A new array.

        Examples
        --------
        >>> import numpy as np
        >>> from skdbn._network import FeedForwardNetwork
        >>> net = FeedForwardNetwork(
        ...     [np.zeros((2, 3)), np.zeros((3, 2))],
        ...     [np.zeros(3), np.array([0.0, 1.0])],
        ... )
        >>> net.forward(np.ones((1, 2)))
        array([[0.26894142, 0.73105858]])
        """
        dropout = _check_dropout(dropout)
        A = self._propagate(self._as_input(X), self.n_layers - 1, dropout, rng)
        Z = np.asarray(A @ self.weights[-1])
        Z += self.biases[-1]
        return self._output.activate(Z)

    def hidden_features(self, X, layer=-1):
        """Activations of a hidden layer for each row of ``X``, without dropout.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            Input, converted to the network's dtype.
        layer : int, default=-1
            Index of the hidden layer, counted from 0 at the bottom; negative
            values count from the top (-1 is the last hidden layer).

        Returns
        -------
        features : ndarray of shape (n_samples, n_units)
            A new array.

        Examples
        --------
        >>> import numpy as np
        >>> from skdbn._network import FeedForwardNetwork
        >>> rng = np.random.default_rng(0)
        >>> net = FeedForwardNetwork.initialize([4, 3, 5, 2], rng=rng)
        >>> net.hidden_features(np.ones((2, 4)), layer=0).shape
        (2, 3)
        >>> net.hidden_features(np.ones((2, 4))).shape
        (2, 5)
        """
        n_hidden = self.n_layers - 1
        if not -n_hidden <= layer < n_hidden:
            raise ValueError(
                f"layer must index one of the {n_hidden} hidden layers; got {layer}."
            )
        return self._propagate(self._as_input(X), layer % n_hidden + 1, None, None)

    # -- Training -----------------------------------------------------------------

    def _buffer(self, key, n_rows, n_cols):
        """Rows ``[:n_rows]`` of a scratch buffer, grown when too small."""
        buffer = self._buffers.get(key)
        if buffer is None or buffer.shape[0] < n_rows or buffer.shape[1] != n_cols:
            buffer = np.empty((n_rows, n_cols), dtype=self.dtype)
            self._buffers[key] = buffer
        return buffer[:n_rows]

    def _gradient_buffers(self):
        grads = self._buffers.get("grads")
        shapes = [W.shape for W in self.weights]
        if grads is None or [g.shape for g in grads[0]] != shapes:
            grads = (
                [np.empty(W.shape, self.dtype) for W in self.weights],
                [np.empty(b.shape, self.dtype) for b in self.biases],
            )
            self._buffers["grads"] = grads
        return grads

    def _check_targets(self, X, Y):
        n_outputs = self.layer_sizes[-1]
        Y = np.asarray(Y, dtype=self.dtype)
        if Y.ndim == 1 and n_outputs == 1:
            Y = Y.reshape(-1, 1)
        if Y.shape != (X.shape[0], n_outputs):
            raise ValueError(
                f"Y must have shape ({X.shape[0]}, {n_outputs}) to match X and the "
                f"output layer; got {Y.shape}."
            )
        return Y

    def loss_and_gradients(
        self,
        X,
        Y,
        *,
        alpha=0.0,
        dropout=None,
        rng=None,
        sample_weight=None,
        sparsity=None,
    ):
        """Loss on a minibatch and its gradients with respect to every parameter.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            Input rows, converted to the network's dtype.
        Y : ndarray of shape (n_samples, n_outputs)
            Targets: one-hot rows for the softmax output, 0/1 indicators for
            the logistic output, values for the identity output.
        alpha : float, default=0.0
            Strength of the L2 penalty on the weights (not the biases), as in
            scikit-learn's MLP: ``0.5 * alpha * sum ||W||^2 / n_samples`` is
            added to the loss.
        dropout : (float, float) or None, default=None
            ``(input_rate, hidden_rate)``: the probability of dropping each
            input and each hidden unit. Kept units are scaled by
            ``1 / (1 - rate)`` (inverted dropout), so the prediction-time
            network needs no rescaling.
        rng : numpy.random.Generator, optional
            Source of the dropout masks; required with ``dropout``. The masks
            depend only on the generator's state and the minibatch's shape.
        sample_weight : ndarray of shape (n_samples,), optional
            Weight of each row: the data loss is the weighted mean and
            ``n_samples`` in the penalty becomes the sum of the weights.
        sparsity : list of (float, float) or None, optional
            ``(target, cost)`` for each hidden layer (None for a layer left
            alone): adds the sparsity penalty of ``skdbn._sparsity`` on the
            layer's (weighted) mean activation over the minibatch.

        Returns
        -------
        loss : float
            Data loss plus penalties.
        grad_weights : list of ndarray
            Gradient for each ``weights[i]``, of the network's dtype.
        grad_biases : list of ndarray
            Gradient for each ``biases[i]``.

            Both lists hold views of internal buffers, overwritten by the next
            call; copy them to keep them.

        See Also
        --------
        train_step : Gradients and the optimiser's update in one call, with
            the penalty's gradient folded into the update (faster).

        Examples
        --------
        >>> import numpy as np
        >>> from skdbn._network import FeedForwardNetwork
        >>> net = FeedForwardNetwork([np.zeros((3, 2))], [np.zeros(2)])
        >>> loss, grad_weights, grad_biases = net.loss_and_gradients(
        ...     np.ones((2, 3)), np.array([[1.0, 0.0], [1.0, 0.0]])
        ... )
        >>> print(f"{loss:.6f} {np.log(2):.6f}")
        0.693147 0.693147
        >>> grad_biases[0]
        array([-0.5,  0.5])
        """
        loss, total_weight, grad_weights, grad_biases = self._backpropagate(
            X, Y, dropout, rng, sample_weight, sparsity
        )
        if alpha:
            decay = alpha / total_weight
            scratch = self._buffers.get("decay")
            squared_norm = 0.0
            for grad, W in zip(grad_weights, self.weights, strict=True):
                scratch = _chunk_scratch(W, scratch)
                for grad_chunk, W_chunk, scaled in _chunks((grad, W), scratch):
                    # The chunk of W is in cache: its norm costs no extra pass.
                    squared_norm += _squared_norm(W_chunk)
                    np.multiply(W_chunk, decay, out=scaled)
                    grad_chunk += scaled
            self._buffers["decay"] = scratch
            loss += 0.5 * decay * squared_norm
        return loss, grad_weights, grad_biases

    def train_step(
        self,
        X,
        Y,
        optimizer,
        *,
        alpha=0.0,
        dropout=None,
        rng=None,
        sample_weight=None,
        sparsity=None,
    ):
        """One training step on a minibatch: gradients, then the update.

        Does what ``loss_and_gradients`` followed by
        ``optimizer.update(network.parameters, grad_weights + grad_biases)``
        does, with the same result to rounding, but faster: the penalty's
        gradient ``alpha / n_samples * weights[i]`` and its loss term are
        computed inside the optimiser's pass over each weight matrix, instead
        of in two passes of their own.

        Parameters
        ----------
        X, Y, alpha, dropout, rng, sample_weight, sparsity
            As in ``loss_and_gradients``.
        optimizer : SGDOptimizer or AdamOptimizer
            Updates ``parameters`` in place; anything with the same
            ``update(params, grads, *, weight_decay, n_decayed)`` will do.

        Returns
        -------
        loss : float
            Data loss plus penalty at the parameters before the update, as
            ``loss_and_gradients`` returns it.

        Examples
        --------
        >>> import numpy as np
        >>> from skdbn._network import FeedForwardNetwork, SGDOptimizer
        >>> rng = np.random.default_rng(0)
        >>> X, Y = rng.random((6, 4)), np.eye(2)[[0, 1, 0, 1, 0, 1]]
        >>> net = FeedForwardNetwork.initialize([4, 3, 2], rng=rng)
        >>> optimizer = SGDOptimizer(learning_rate=0.5)
        >>> losses = [net.train_step(X, Y, optimizer, alpha=1e-4) for _ in range(50)]
        >>> bool(losses[-1] < losses[0])
        True
        """
        loss, total_weight, grad_weights, grad_biases = self._backpropagate(
            X, Y, dropout, rng, sample_weight, sparsity
        )
        decay = alpha / total_weight
        squared_norm = optimizer.update(
            self.parameters,
            grad_weights + grad_biases,
            weight_decay=decay,
            n_decayed=self.n_layers,
        )
        if decay:
            loss += 0.5 * decay * squared_norm
        return loss

    def _backpropagate(self, X, Y, dropout, rng, sample_weight, sparsity=None):
        """Data loss (and sparsity penalty), total sample weight, gradients."""
        dropout = _check_dropout(dropout)
        if dropout is not None and rng is None:
            raise ValueError("Dropout needs a random generator: pass rng.")
        X = self._as_input(X)
        Y = self._check_targets(X, Y)
        n, n_outputs = Y.shape
        input_rate, hidden_rate = dropout if dropout is not None else (0.0, 0.0)
        hidden, n_layers = self._hidden, self.n_layers
        weights, biases = self.weights, self.biases
        grad_weights, grad_biases = self._gradient_buffers()

        # Forward pass. inputs[i] is what layer i reads (after dropout);
        # outputs[i] its activation before dropout; masks[i] its dropout mask.
        inputs, outputs, masks = [None] * n_layers, [None] * n_layers, [None] * n_layers
        if input_rate > 0.0:
            mask = _draw_mask(rng, input_rate, self._buffer("mask_in", n, X.shape[1]))
            A = self._buffer("input", n, X.shape[1])
            np.multiply(X.toarray() if sp.issparse(X) else X, mask, out=A)
        else:
            A = X
        with np.errstate(over="ignore"):
            for i in range(n_layers):
                inputs[i] = A
                Z = self._buffer(("z", i), n, weights[i].shape[1])
                if sp.issparse(A):
                    Z[...] = A @ weights[i]
                else:
                    np.matmul(A, weights[i], out=Z)
                if i == n_layers - 1:
                    Z += biases[i]
                    break
                outputs[i] = A = hidden[i].forward(Z, biases[i])
                if hidden_rate > 0.0:
                    masks[i] = _draw_mask(
                        rng, hidden_rate, self._buffer(("mask", i), n, Z.shape[1])
                    )
                    A = self._buffer(("dropped", i), n, Z.shape[1])
                    np.multiply(Z, masks[i], out=A)
            losses = self._output.activate_with_loss(Z, Y)

        # Sample weights enter once, as the scale of the output deltas.
        if sample_weight is None:
            total_weight = n
            loss = float(losses.sum(dtype=np.float64)) / n
            row_scale = 1.0 / n
        else:
            sample_weight = np.asarray(sample_weight, dtype=self.dtype)
            total_weight = float(sample_weight.sum(dtype=np.float64))
            loss = float(np.dot(sample_weight, losses)) / total_weight
            row_scale = (sample_weight / self.dtype.type(total_weight))[:, np.newaxis]
        sparsity_grads = [None] * (n_layers - 1)
        for i, term in enumerate(sparsity or ()):
            if term is not None:
                penalty, sparsity_grads[i] = sparsity_penalty(
                    outputs[i], *term, row_scale
                )
                loss += penalty

        # Backward pass. With the canonical loss of each output activation, the
        # derivative with respect to the output layer's input is output - Y.
        delta = self._buffer(("delta", n_layers - 1), n, n_outputs)
        np.subtract(Z, Y, out=delta)
        delta *= row_scale
        ones = self._buffer("ones", n, 1)[:, 0]
        ones.fill(1.0)
        for i in range(n_layers - 1, -1, -1):
            A = inputs[i]
            if sp.issparse(A):
                grad_weights[i][...] = A.T @ delta
            else:
                np.matmul(A.T, delta, out=grad_weights[i])
            np.matmul(ones, delta, out=grad_biases[i])
            if i == 0:
                break
            below = self._buffer(("delta", i - 1), n, weights[i].shape[0])
            np.matmul(delta, weights[i].T, out=below)
            if masks[i - 1] is not None:
                below *= masks[i - 1]
            if sparsity_grads[i - 1] is not None:
                below += sparsity_grads[i - 1]
            # outputs[i - 1] is no longer needed: the derivative may overwrite it.
            delta = hidden[i - 1].derivative(outputs[i - 1], below)
        return loss, total_weight, grad_weights, grad_biases


# -- Optimisers -----------------------------------------------------------------

#: Bytes of each array in one chunk of an elementwise update. An update makes
#: several passes over each parameter; done chunk by chunk, the few arrays
#: involved stay in cache between passes instead of streaming from memory on
#: every pass, which makes the update about twice as fast.
CHUNK_BYTES = 2**17


def _single_threaded_blas():
    """A context that holds every BLAS library to one thread.

    The level-1 calls of an update are memory-bound: one thread streams them
    as fast as several, without the threads' start-up cost and without
    fighting the thread pool of numpy's own BLAS. Entering it costs about
    ten microseconds. The controller is the one the fits' thread rule uses
    (``_speed``), never stored on an optimiser (it does not pickle).
    """
    return blas_controller().limit(limits=1, user_api="blas")


def _chunks(arrays, *scratch):
    """Matching flat chunks of same-shape ``arrays``, then a chunk of each scratch.

    ``arrays[0]`` is written in place, and so are the others that are
    C-contiguous; those read only may have any layout. When ``arrays[0]`` is
    not C-contiguous, yields the whole arrays once, with scratch arrays of
    their shape. Each of ``scratch`` is a flat buffer of at least one chunk
    (or of the whole array, in the second case).
    """
    first = arrays[0]
    if not first.flags.c_contiguous or first.size == 0:
        yield (*arrays, *(s[: first.size].reshape(first.shape) for s in scratch))
        return
    step = max(1, CHUNK_BYTES // first.itemsize)
    flats = [a.reshape(-1) for a in arrays]
    for start in range(0, first.size, step):
        stop = min(start + step, first.size)
        yield (
            *(f[start:stop] for f in flats),
            *(s[: stop - start] for s in scratch),
        )


def _chunk_scratch(array, buffer=None):
    """A flat buffer big enough for ``_chunks`` over ``array``; reuses ``buffer``."""
    size = min(array.size, max(1, CHUNK_BYTES // array.itemsize))
    if not array.flags.c_contiguous:
        size = array.size
    if buffer is None or buffer.size < size or buffer.dtype != array.dtype:
        size = max(size, 0 if buffer is None else buffer.size)
        buffer = np.empty(size, dtype=array.dtype)
    return buffer


def _squared_norm(array, blas=None):
    """``sum(array**2)`` as a Python float, without a temporary if contiguous.

    With ``blas`` (from ``_blas_functions``, for a contiguous ``array``), by
    its ``dot``: one BLAS library throughout an update keeps a second one's
    threads from waking up.
    """
    if blas is not None:
        return float(blas.dot(array, array))
    if array.flags.f_contiguous and not array.flags.c_contiguous:
        array = array.T
    if array.flags.c_contiguous:
        array = array.reshape(-1)
        return float(np.dot(array, array))
    return float(np.vdot(array, array))


_BlasFunctions = namedtuple("_BlasFunctions", ["axpy", "scal", "dot"])


def _blas_functions(param, state):
    """BLAS ``axpy``, ``scal``, ``dot`` to update ``param`` and ``state``.

    ``None`` unless both are C-contiguous and of the same float32 or float64
    dtype: scipy's BLAS wrappers work in place only on such arrays (on any
    other they silently work on a copy).
    """
    dtype = param.dtype
    if (
        dtype not in (np.float32, np.float64)
        or state.dtype != dtype
        or not (param.flags.c_contiguous and state.flags.c_contiguous)
    ):
        return None
    return _BlasFunctions(*get_blas_funcs(_BlasFunctions._fields, dtype=dtype))


class _Optimizer:
    """Shared bookkeeping: lazily created state, scratch buffers, chunk plans."""

    def _chunk_plan(self, params, grads, states, n_scratch=1):
        """The chunks of each parameter, built once and reused while it stays.

        Returns one ``(blas, chunks)`` per parameter: ``blas`` from
        ``_blas_functions`` (``None`` where BLAS cannot work in place), and
        the list of ``(param, *state, grad, *scratch)`` chunk views that
        ``_chunks`` yields. Slicing the chunks anew at every update costs
        about a tenth of the update itself, so the views are kept for as long
        as the caller passes the very same arrays (the network's parameters
        and gradient buffers) and the state is the same. ``states`` is a list
        of per-parameter state lists (velocities, moments).
        """
        key = (*params, *grads, *(s for state in states for s in state))
        cached = getattr(self, "_plan", None)
        if (
            cached is not None
            and len(cached[0]) == len(key)
            and all(a is b for a, b in zip(cached[0], key, strict=True))
        ):
            return cached[1]
        # One scratch buffer per slot, sized for the largest parameter first,
        # so that every parameter's chunks share it.
        buffers = getattr(self, "_scratch_buffers", [])
        buffers += [None] * (n_scratch - len(buffers))
        for k in range(n_scratch):
            for param in params:
                buffers[k] = _chunk_scratch(param, buffers[k])
        self._scratch_buffers = buffers
        plan = []
        for param, grad, *state in zip(params, grads, *states, strict=True):
            chunks = list(_chunks((param, *state, grad), *buffers[:n_scratch]))
            plan.append((_blas_functions(param, state[0]), chunks))
        self._plan = (key, plan)
        return plan

    def _check(self, params, grads, state, n_decayed):
        if len(params) != len(grads):
            raise ValueError(
                f"Got {len(params)} parameters but {len(grads)} gradients."
            )
        if not 0 <= n_decayed <= len(params):
            raise ValueError(
                f"n_decayed must lie in [0, {len(params)}]; got {n_decayed}."
            )
        if state is not None and [s.shape for s in state] != [p.shape for p in params]:
            raise ValueError(
                "The parameters' shapes changed since the optimiser's first update; "
                "use a new optimiser."
            )

    def __getstate__(self):
        # Scratch space and views of the caller's arrays: rebuilt on demand.
        state = self.__dict__.copy()
        state.pop("_scratch_buffers", None)
        state.pop("_plan", None)
        return state


class SGDOptimizer(_Optimizer):
    """Stochastic gradient descent with momentum, optionally Nesterov's.

    With velocity ``v``, each update does ``v = momentum * v - lr * grad``,
    then ``param += v`` (classical momentum) or
    ``param += momentum * v - lr * grad`` (Nesterov), as scikit-learn's MLP.

    Parameters
    ----------
    learning_rate : float
        Step size. May be changed between updates (schedules).
    momentum : float, default=0.9
        Momentum in [0, 1].
    nesterov : bool, default=True
        Whether to use Nesterov's momentum.

    Attributes
    ----------
    velocities : list of ndarray or None
        One velocity per parameter, of its dtype; ``None`` before the first
        update.

    Examples
    --------
    >>> import numpy as np
    >>> from skdbn._network import SGDOptimizer
    >>> x = np.array([3.0])
    >>> optimizer = SGDOptimizer(learning_rate=0.1, momentum=0.0)
    >>> optimizer.update([x], [2 * x])  # gradient of x**2; no penalty: 0.0
    0.0
    >>> x
    array([2.4])
    """

    def __init__(self, learning_rate, momentum=0.9, nesterov=True):
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.nesterov = nesterov
        self.velocities = None

    def update(self, params, grads, *, weight_decay=0.0, n_decayed=0):
        """Update each of ``params`` in place from its gradient in ``grads``.

        Parameters
        ----------
        params : list of ndarray
            The parameters, e.g. ``network.parameters``; the same arrays, in
            the same order, at every call.
        grads : list of ndarray
            The gradient of the loss for each parameter. With
            ``weight_decay``, the penalised ones may be overwritten with
            ``grad + weight_decay * param`` (they are scratch space to the
            callers, which recompute them at every step).
        weight_decay : float, default=0.0
            Coefficient of an L2 penalty ``0.5 * weight_decay * ||param||^2``
            on each of the first ``n_decayed`` parameters: ``weight_decay *
            param`` is added to their gradient within the update's own pass
            over them (``alpha / n_samples`` for scikit-learn's ``alpha``).
        n_decayed : int, default=0
            How many of ``params``, from the first, the penalty applies to
            (``network.n_layers``: the weights, not the biases).

        Returns
        -------
        squared_norm : float
            ``sum ||param||^2`` over the penalised parameters, before the
            update (the penalty's loss is ``0.5 * weight_decay`` times it);
            0.0 when ``weight_decay`` is 0.
        """
        self._check(params, grads, self.velocities, n_decayed)
        if self.velocities is None:
            self.velocities = [np.zeros(p.shape, p.dtype) for p in params]
        plan = self._chunk_plan(params, grads, [self.velocities])
        squared_norm = 0.0
        with _single_threaded_blas():
            for i, (blas, chunks) in enumerate(plan):
                decay = weight_decay if i < n_decayed else 0.0
                for param, velocity, grad, scratch in chunks:
                    if decay:
                        # The chunk of param is in cache: its norm costs no pass.
                        squared_norm += _squared_norm(param, blas)
                    if blas is not None:
                        self._blas_step(blas, param, velocity, grad, decay)
                    else:
                        self._numpy_step(param, velocity, grad, scratch, decay)
        return squared_norm

    def _blas_step(self, blas, param, velocity, grad, decay):
        """The update of one chunk by BLAS ``axpy`` (``y += a * x``) and ``scal``.

        Each is one fused pass where numpy needs two (a product into scratch,
        then a sum): Nesterov's update makes four passes over the chunk
        instead of six (five instead of eight with the penalty). ``param`` and
        ``velocity`` must be contiguous, of the dtype of the BLAS functions,
        or they would be copied and not updated.
        """
        axpy, scal = blas.axpy, blas.scal
        lr, momentum = self.learning_rate, self.momentum
        if decay:
            # grad + decay * param, once, for its two uses below; in the
            # gradient's own buffer, which saves a copy pass.
            grad = axpy(param, grad, a=decay)
        scal(momentum, velocity)
        axpy(grad, velocity, a=-lr)
        if self.nesterov:
            axpy(velocity, param, a=momentum)
            axpy(grad, param, a=-lr)
        else:
            axpy(velocity, param, a=1.0)

    def _numpy_step(self, param, velocity, grad, step, decay):
        """The update of one chunk (or whole array, of any layout) by numpy."""
        lr, momentum = self.learning_rate, self.momentum
        if decay:
            np.multiply(param, decay, out=step)
            step += grad
            step *= lr
        else:
            np.multiply(grad, lr, out=step)
        velocity *= momentum
        velocity -= step
        if self.nesterov:
            param -= step
            np.multiply(velocity, momentum, out=step)
            param += step
        else:
            param += velocity


class AdamOptimizer(_Optimizer):
    """Adam (Kingma & Ba, 2015), with scikit-learn's MLP formulation.

    At step ``t``: ``m = beta_1 m + (1 - beta_1) grad``,
    ``v = beta_2 v + (1 - beta_2) grad**2`` and
    ``param -= lr * sqrt(1 - beta_2**t) / (1 - beta_1**t) * m / (sqrt(v) + eps)``.

    Parameters
    ----------
    learning_rate : float, default=1e-3
        Step size. May be changed between updates.
    beta_1, beta_2 : float, default=0.9, 0.999
        Decay rates of the first and second moment estimates, in [0, 1).
    epsilon : float, default=1e-8
        Added to the root of the second moment, for stability.

    Attributes
    ----------
    t : int
        Number of updates done.
    first_moments, second_moments : list of ndarray or None
        ``m`` and ``v`` of each parameter, of its dtype; ``None`` before the
        first update.

    Examples
    --------
    >>> import numpy as np
    >>> from skdbn._network import AdamOptimizer
    >>> x = np.array([3.0])
    >>> optimizer = AdamOptimizer(learning_rate=0.1)
    >>> optimizer.update([x], [2 * x])  # first step: lr * sign(grad)
    0.0
    >>> x
    array([2.9])
    """

    def __init__(self, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.t = 0
        self.first_moments = None
        self.second_moments = None

    def update(self, params, grads, *, weight_decay=0.0, n_decayed=0):
        """Update each of ``params`` in place from its gradient in ``grads``.

        Parameters
        ----------
        params : list of ndarray
            The parameters, e.g. ``network.parameters``; the same arrays, in
            the same order, at every call.
        grads : list of ndarray
            The gradient of the loss for each parameter. With
            ``weight_decay``, the penalised ones may be overwritten with
            ``grad + weight_decay * param`` (they are scratch space to the
            callers, which recompute them at every step).
        weight_decay : float, default=0.0
            Coefficient of an L2 penalty ``0.5 * weight_decay * ||param||^2``
            on each of the first ``n_decayed`` parameters: ``weight_decay *
            param`` is added to their gradient within the update's own pass
            over them (``alpha / n_samples`` for scikit-learn's ``alpha``).
        n_decayed : int, default=0
            How many of ``params``, from the first, the penalty applies to
            (``network.n_layers``: the weights, not the biases).

        Returns
        -------
        squared_norm : float
            ``sum ||param||^2`` over the penalised parameters, before the
            update (the penalty's loss is ``0.5 * weight_decay`` times it);
            0.0 when ``weight_decay`` is 0.
        """
        self._check(params, grads, self.first_moments, n_decayed)
        if self.first_moments is None:
            self.first_moments = [np.zeros(p.shape, p.dtype) for p in params]
            self.second_moments = [np.zeros(p.shape, p.dtype) for p in params]
        self.t += 1
        beta_1, beta_2 = self.beta_1, self.beta_2
        step_size = (
            self.learning_rate * np.sqrt(1.0 - beta_2**self.t) / (1.0 - beta_1**self.t)
        )
        plan = self._chunk_plan(
            params, grads, [self.first_moments, self.second_moments], n_scratch=2
        )
        squared_norm = 0.0
        for i, (_, chunks) in enumerate(plan):
            decay = weight_decay if i < n_decayed else 0.0
            for param, m, v, grad, scratch, decayed in chunks:
                if decay:
                    # grad + decay * param, read twice below: its own buffer.
                    squared_norm += _squared_norm(param)
                    np.multiply(param, decay, out=decayed)
                    decayed += grad
                    grad = decayed
                m *= beta_1
                np.multiply(grad, 1.0 - beta_1, out=scratch)
                m += scratch
                v *= beta_2
                np.square(grad, out=scratch)
                scratch *= 1.0 - beta_2
                v += scratch
                np.sqrt(v, out=scratch)
                scratch += self.epsilon
                np.divide(m, scratch, out=scratch)
                scratch *= step_size
                param -= scratch
        return squared_norm
