"""The array maths of a deep (optionally variational) autoencoder.

``AutoencoderNetwork`` holds the encoder and decoder weights of an
autoencoder unrolled from a stack of RBMs (Hinton & Salakhutdinov, 2006) and
computes its codes, its reconstructions, and the loss and gradients of a
minibatch: the reconstruction loss of the visible units' type
(``OUTPUTS``), plus the KL term of a variational code (``KL_TERMS``). The
losses and their gradients are plain functions. Nothing here knows about
estimators or epochs: ``DBNAutoencoder`` (``_autoencoder.py``) owns the
loop. The hidden activations come from ``_activations.py`` and the
optimisers that update the parameters from ``_optimizers.py``.
"""

import numpy as np
import scipy.sparse as sp

from ._activations import ACTIVATIONS
from ._prior import laplace_kl, laplace_kl_gradients
from ._sparsity import sparsity_penalty
from ._units import get_unit_type

#: Initial bias of the log-variance head of a variational code layer: the
#: posterior starts narrow (standard deviation exp(-2) = 0.14), so that the
#: pre-trained decoder first sees codes close to the deterministic ones.
INITIAL_LOG_VARIANCE = -4.0

#: Log-variances are clipped to this range in the forward pass, so that
#: ``exp`` can neither overflow nor vanish.
LOG_VARIANCE_RANGE = (-30.0, 20.0)

_HALF_LOG_2PI = 0.5 * np.log(2.0 * np.pi)


# -- Losses and their gradients ---------------------------------------------------


def _dense(X):
    return X.toarray() if sp.issparse(X) else np.asarray(X)


def cross_entropy_from_logits(logits, X):
    """Binary cross-entropy of each row, summed over the features.

    ``sum_j softplus(z_j) - x_j z_j``, which equals
    ``-sum_j x_j log p_j + (1 - x_j) log(1 - p_j)`` for ``p = sigmoid(z)``,
    computed from the logits so that it stays finite for any finite ``z``.
    Its gradient with respect to ``z`` is ``p - x``.
    """
    losses = np.logaddexp(0.0, logits)
    losses -= X * logits
    return losses.sum(axis=1)


def half_squared_error(output, X):
    """``0.5 * sum_j (output_j - x_j)**2`` for each row; gradient ``output - x``."""
    diff = output - X
    return 0.5 * np.einsum("ij,ij->i", diff, diff)


def gaussian_kl(mean, log_var):
    """KL divergence of ``N(mean, exp(log_var))`` from ``N(0, I)``, per row.

    ``0.5 * sum_j (exp(log_var_j) + mean_j**2 - 1 - log_var_j)``, in nats.
    Its gradients are ``mean`` and ``0.5 * (exp(log_var) - 1)``.
    """
    return 0.5 * (np.exp(log_var) + np.square(mean) - 1.0 - log_var).sum(axis=1)


def gaussian_kl_gradients(mean, log_var):
    """Gradients of :func:`gaussian_kl` (of each row) w.r.t. its two inputs."""
    return mean.copy(), 0.5 * np.expm1(log_var)


#: The KL term of a variational code, and its gradients, for each prior the
#: network is trained with (an RBM prior is fitted after training with the
#: standard normal one).
KL_TERMS = {
    "gaussian": (gaussian_kl, gaussian_kl_gradients),
    "laplace": (laplace_kl, laplace_kl_gradients),
}

#: The decoder's output for each type of visible units: its activation, the
#: loss of a row (a function of the output layer's *input* and the data) and
#: the constant that turns that loss into ``-log p(x | code)`` per feature.
OUTPUTS = {
    "bernoulli": ("logistic", cross_entropy_from_logits, 0.0),
    "gaussian": ("identity", half_squared_error, _HALF_LOG_2PI),
}


def _initial_weights(n_in, n_out, activation, rng, dtype):
    """Glorot-uniform weights and biases, as scikit-learn's MLP draws them."""
    factor = 2.0 if activation == "logistic" else 6.0
    bound = np.sqrt(factor / (n_in + n_out))
    weights = rng.uniform(-bound, bound, (n_in, n_out)).astype(dtype)
    bias = rng.uniform(-bound, bound, n_out).astype(dtype)
    return weights, bias


# -- The unrolled network ----------------------------------------------------------


class AutoencoderNetwork:
    """Encoder and decoder weights of a deep autoencoder, with its maths.

    The encoder has ``n_code_layer`` layers, the last of which gives the code
    (its activation ``activations[n_code_layer - 1]``); the decoder has as
    many, the last giving the reconstruction (logistic or linear output, see
    ``visible_units``). Layer ``i`` computes ``f_i(a @ weights[i] +
    biases[i])``. With ``log_var_weights`` the code layer is variational: the
    encoder's last layer gives the mean (linear) of a diagonal Gaussian
    posterior and ``a @ log_var_weights + log_var_bias`` its log-variance,
    where ``a`` is the last hidden layer of the encoder (or the input).

    Parameters
    ----------
    weights, biases : list of ndarray
        ``2 * n_code_layer`` weight matrices ``(n_in, n_out)`` and biases,
        encoder first; used as given, updated in place by the optimisers.
    activations : list of str
        Activation of each layer but the output (keys of ``ACTIVATIONS``).
    visible_units : {"bernoulli", "gaussian"}
        Fixes the output activation and the reconstruction loss.
    log_var_weights, log_var_bias : ndarray or None
        The log-variance head of a variational code layer.
    """

    def __init__(
        self,
        weights,
        biases,
        activations,
        visible_units,
        log_var_weights=None,
        log_var_bias=None,
    ):
        self.weights = list(weights)
        self.biases = list(biases)
        self.activations = list(activations)
        self.visible_units = visible_units
        self.log_var_weights = log_var_weights
        self.log_var_bias = log_var_bias

    # ----------------------------------------------------------- building

    @classmethod
    def from_layers(cls, layers, visible_units, variational=False):
        """Unroll fitted RBMs ``layers`` (bottom first) into an autoencoder.

        The encoder is the stack's deterministic up pass (``input_weights``
        and hidden biases), the decoder its down pass: each RBM's transposed
        weights (times the visible standard deviations for the first one)
        with its visible biases, so that before fine-tuning the network
        computes exactly ``inverse_transform(transform(X))`` of the stack.
        """
        weights, biases, activations = [], [], []
        for layer in layers:
            weights.append(np.array(layer.input_weights, copy=True))
            biases.append(layer.hidden_bias.copy())
            activations.append(get_unit_type(layer.hidden_units).network_activation)
        for index in range(len(layers) - 1, -1, -1):
            layer = layers[index]
            W = layer.weights
            std = layer.visible_std
            if std is not None:
                W = W * std[:, np.newaxis].astype(W.dtype)
            weights.append(np.ascontiguousarray(W.T))
            biases.append(layer.visible_bias.copy())
            if index > 0:
                units = get_unit_type(layer.visible_units)
                activations.append(units.network_activation)
        log_var_weights = log_var_bias = None
        if variational:
            activations[len(layers) - 1] = "identity"
            code = weights[len(layers) - 1]
            log_var_weights = np.zeros_like(code)
            log_var_bias = np.full(code.shape[1], INITIAL_LOG_VARIANCE, code.dtype)
        return cls(
            weights, biases, activations, visible_units, log_var_weights, log_var_bias
        )

    @classmethod
    def initialize(cls, sizes, activations, visible_units, rng, dtype, variational):
        """A randomly initialised autoencoder with encoder layer ``sizes``.

        ``sizes`` are the input size, then each encoder layer's; the decoder
        mirrors them. ``activations`` are the encoder layers' (the decoder's
        hidden layers get the same, mirrored).
        """
        n = len(sizes) - 1
        activations = list(activations)
        if variational:
            activations[-1] = "identity"
        decoder = [activations[i] for i in range(n - 2, -1, -1)]
        layer_sizes = [*sizes, *sizes[-2::-1]]
        all_activations = [*activations, *decoder, OUTPUTS[visible_units][0]]
        weights, biases = [], []
        for i in range(2 * n):
            W, b = _initial_weights(
                layer_sizes[i], layer_sizes[i + 1], all_activations[i], rng, dtype
            )
            weights.append(W)
            biases.append(b)
        log_var_weights = log_var_bias = None
        if variational:
            log_var_weights = np.zeros((sizes[-2], sizes[-1]), dtype)
            log_var_bias = np.full(sizes[-1], INITIAL_LOG_VARIANCE, dtype)
        return cls(
            weights,
            biases,
            [*activations, *decoder],
            visible_units,
            log_var_weights,
            log_var_bias,
        )

    # ------------------------------------------------------------ shapes

    @property
    def n_code_layer(self):
        """Number of encoder layers (the code is the last one's output)."""
        return len(self.weights) // 2

    @property
    def n_components(self):
        """Size of the code."""
        return self.weights[self.n_code_layer - 1].shape[1]

    @property
    def variational(self):
        return self.log_var_weights is not None

    @property
    def dtype(self):
        return self.weights[0].dtype

    @property
    def parameters(self):
        """Every trainable array: weights, then biases, then the log-variance head."""
        params = [*self.weights, *self.biases]
        if self.variational:
            params += [self.log_var_weights, self.log_var_bias]
        return params

    @property
    def penalised(self):
        """The parameters under the L2 penalty: the weight matrices."""
        params = list(self.weights)
        if self.variational:
            params.append(self.log_var_weights)
        return params

    # ---------------------------------------------------------- passes

    def _layer(self, i, A):
        """Output of layer ``i`` (hidden or output) for input ``A``; allocates."""
        Z = np.asarray(A @ self.weights[i])
        if i == len(self.weights) - 1:
            Z += self.biases[i]
            return Z  # the output layer's input (logits for Bernoulli units)
        with np.errstate(over="ignore"):
            return ACTIVATIONS[self.activations[i]].forward(Z, self.biases[i])

    def _encode_hidden(self, X):
        """The encoder's activations up to (not including) the code layer."""
        hidden = [X]
        for i in range(self.n_code_layer - 1):
            hidden.append(self._layer(i, hidden[-1]))
        return hidden

    def _log_var(self, A):
        log_var = np.asarray(A @ self.log_var_weights)
        log_var += self.log_var_bias
        return np.clip(log_var, *LOG_VARIANCE_RANGE, out=log_var)

    def encode(self, X, return_log_var=False):
        """The code of each row (the posterior mean for a variational code)."""
        A = self._encode_hidden(X)[-1]
        code = self._layer(self.n_code_layer - 1, A)
        if return_log_var:
            return code, self._log_var(A)
        return code

    def decode_logits(self, code):
        """The output layer's input for each code (logits for Bernoulli units)."""
        A = code
        for i in range(self.n_code_layer, len(self.weights)):
            A = self._layer(i, A)
        return A

    def decode(self, code):
        """The reconstruction: ``E[x | code]`` (probabilities for Bernoulli units)."""
        out = self.decode_logits(code)
        if self.visible_units == "bernoulli":
            with np.errstate(over="ignore"):
                out = ACTIVATIONS["logistic"].forward(out)
        return out

    def reconstruction_loss(self, logits, X):
        """``-log p(x | code)`` of each row, without the normalising constant."""
        return OUTPUTS[self.visible_units][1](logits, _dense(X))

    # ------------------------------------------------------ training maths

    def loss_and_gradients(
        self,
        X,
        *,
        kl_weight=1.0,
        alpha=0.0,
        noise=None,
        prior="gaussian",
        prior_scale=None,
        sparsity=None,
    ):
        """Mean loss of the minibatch ``X`` and its gradients.

        The loss is the mean over rows of the reconstruction loss (binary
        cross-entropy or half the squared error, summed over features), plus
        for a variational code ``kl_weight`` times the KL divergence of the
        posterior from ``N(0, I)``, plus ``0.5 * alpha * sum ||W||^2 /
        n_samples`` over the weight matrices.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            The minibatch (input and target).
        kl_weight : float, default=1.0
            Weight of the KL term (variational code only).
        alpha : float, default=0.0
            L2 penalty.
        noise : ndarray of shape (n_samples, n_components), default=None
            Standard normal draws ``eps`` of the reparameterisation
            ``code = mean + exp(log_var / 2) * eps``; required for a
            variational code, ignored otherwise.
        prior : {"gaussian", "laplace"}, default="gaussian"
            The prior of the KL term (a key of ``KL_TERMS``): ``N(0, I)``,
            or the sparsity-inducing Laplace prior of unit variance.
        prior_scale : float or None, default=None
            Scale ``b`` of the Laplace prior ``exp(-|z| / b) / (2 b)`` (None:
            ``LAPLACE_SCALE``, unit variance); ignored by the Gaussian prior.
        sparsity : list of (float, float) or None, default=None
            ``(target, cost)`` for each encoder layer (None for a layer left
            alone): the sparsity penalty of ``skdbn._sparsity`` on its mean
            activation over the minibatch, added to the loss (except on a
            variational code layer).

        Returns
        -------
        loss : float
            The minibatch's mean loss.
        parts : dict
            ``"reconstruction"`` and ``"kl"``: their means (``kl`` unweighted;
            0 without a variational code).
        grads : list of ndarray
            Gradient of the loss for each of ``parameters``, in order.
        """
        n = X.shape[0]
        n_code = self.n_code_layer
        n_layers = len(self.weights)
        target = _dense(X)
        acts = self._encode_hidden(X)
        A = acts[-1]
        kl = 0.0
        if self.variational:
            if noise is None:
                raise ValueError("A variational network needs noise to train.")
            mean = self._layer(n_code - 1, A)
            log_var = self._log_var(A)
            std = np.exp(0.5 * log_var)
            code = mean + std * noise
            kl_function, kl_gradients = KL_TERMS[prior]
            # The Laplace prior's scale (None: its unit-variance default).
            scale = () if prior_scale is None or prior != "laplace" else (prior_scale,)
            kl_rows = kl_function(mean, log_var, *scale)
            kl = float(kl_rows.mean(dtype=np.float64))
        else:
            code = self._layer(n_code - 1, A)
        acts.append(code)
        sparsity_grads = [None] * n_code
        sparsity_loss = 0.0
        for i, term in enumerate(sparsity or ()):
            # (A variational code layer is Gaussian: never penalised.)
            if term is not None and not (self.variational and i == n_code - 1):
                penalty, sparsity_grads[i] = sparsity_penalty(
                    acts[i + 1], *term, 1.0 / n
                )
                sparsity_loss += penalty
        for i in range(n_code, n_layers - 1):
            acts.append(self._layer(i, acts[-1]))
        logits = self._layer(n_layers - 1, acts[-1])
        rec_rows = OUTPUTS[self.visible_units][1](logits, target)
        reconstruction = float(rec_rows.mean(dtype=np.float64))
        penalty = 0.0
        if alpha:
            penalty = 0.5 * alpha * sum(float(np.vdot(W, W)) for W in self.penalised)
            penalty /= n
        loss = reconstruction + kl_weight * kl + penalty + sparsity_loss

        # Backward pass: d(mean loss)/d(output layer input) = (output - x) / n.
        if self.visible_units == "bernoulli":
            with np.errstate(over="ignore"):
                output = ACTIVATIONS["logistic"].forward(logits)
        else:
            output = logits
        delta = output - target
        delta /= n
        grad_weights = [None] * n_layers
        grad_biases = [None] * n_layers
        for i in range(n_layers - 1, n_code - 1, -1):
            grad_weights[i] = np.asarray(acts[i].T @ delta)
            grad_biases[i] = delta.sum(axis=0)
            delta = delta @ self.weights[i].T
            if i > n_code:
                delta = ACTIVATIONS[self.activations[i - 1]].derivative(acts[i], delta)
        # delta is now the gradient with respect to the code.
        grads_extra = []
        A = acts[n_code - 1]
        if self.variational:
            kl_mean, kl_log_var = kl_gradients(mean, log_var, *scale)
            scale = kl_weight / n
            delta_log_var = delta * noise
            delta_log_var *= 0.5 * std
            delta_log_var += scale * kl_log_var
            delta += scale * kl_mean  # the mean head is linear
            grads_extra = [
                np.asarray(A.T @ delta_log_var),
                delta_log_var.sum(axis=0),
            ]
        else:
            if sparsity_grads[n_code - 1] is not None:
                delta += sparsity_grads[n_code - 1]
            delta = ACTIVATIONS[self.activations[n_code - 1]].derivative(
                acts[n_code], delta
            )
        for i in range(n_code - 1, -1, -1):
            grad_weights[i] = np.asarray(acts[i].T @ delta)
            grad_biases[i] = delta.sum(axis=0)
            if i == 0:
                break
            below = delta @ self.weights[i].T
            if self.variational and i == n_code - 1:
                below += delta_log_var @ self.log_var_weights.T
            if sparsity_grads[i - 1] is not None:
                below += sparsity_grads[i - 1]
            delta = ACTIVATIONS[self.activations[i - 1]].derivative(acts[i], below)
        if alpha:
            penalised_grads = grad_weights + grads_extra[:1]
            for grad, W in zip(penalised_grads, self.penalised, strict=True):
                grad += (alpha / n) * W
        grads = [*grad_weights, *grad_biases, *grads_extra]
        parts = {"reconstruction": reconstruction, "kl": kl}
        return loss, parts, grads
