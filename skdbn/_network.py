"""Feed-forward network for fine-tuning a pre-trained stack by back-propagation.

``FeedForwardNetwork`` holds the weights and biases of a multi-layer
perceptron, computes its output, and computes the loss and its gradients for
a minibatch. Its activations and losses are in ``_activations.py``; the
optimisers that update its parameters in place (``SGDOptimizer``,
``AdamOptimizer``) in ``_optimizers.py``. Nothing here knows about
estimators, epochs or schedules.

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
clipped probabilities. ``train_step`` hands the L2 penalty to the optimiser,
which adds its gradient and measures the weights' norm while each chunk is in
cache: one pass over each weight matrix per minibatch instead of three.
"""

import numpy as np
import scipy.sparse as sp

from ._activations import ACTIVATIONS, OUTPUT_ACTIVATIONS, _lookup
from ._optimizers import _chunk_scratch, _chunks, _squared_norm
from ._sparsity import sparsity_penalty


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
    >>> from skdbn._network import FeedForwardNetwork
    >>> from skdbn._optimizers import SGDOptimizer
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
        >>> from skdbn._network import FeedForwardNetwork
        >>> from skdbn._optimizers import SGDOptimizer
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
