"""Fine-tuning terms on unlabelled rows: virtual adversarial training, entropy.

With ``semi_supervised=True``, ``DBNClassifier`` can add to each fine-tuning
step a loss on a minibatch of unlabelled rows, which needs no label:

- **virtual adversarial training** (VAT; Miyato, Maeda, Koyama & Ishii 2018):
  with ``p`` the network's class probabilities at ``x``, held fixed, the
  term is ``KL(p || p(x + r_adv))``, where ``r_adv`` is the perturbation of
  norm ``epsilon`` that most changes the output, found by one power
  iteration: ``r_adv = epsilon * g / ||g||`` with ``g`` the gradient, with
  respect to ``r``, of ``KL(p || p(x + r))`` at ``r = xi * d`` for a random
  unit vector ``d``. It makes the output smooth around every row, so that
  the decision boundary moves to where the data are sparse;
- **entropy minimisation** (Grandvalet & Bengio 2005): the entropy of
  ``p(x)``, which makes the network confident on the unlabelled rows.

The gradient of both with respect to the output layer's input (the logits)
is simple: ``q - p`` for ``KL(p || q)`` with ``p`` fixed, and
``-q * (log q + H(q))`` for the entropy ``H(q)``. ``backward`` carries it
down the network, to the weights and, for the power iteration, to the
input (``delta_1 @ W_1^T``). No dropout is applied to these passes.
"""

import numpy as np
import scipy.sparse as sp

#: The power iteration's probe ``xi``, as a fraction of ``epsilon``: small
#: enough that the KL divergence is locally quadratic, large enough that
#: ``q - p`` stands above float32 rounding.
XI_FRACTION = 1e-2


def forward(network, X):
    """Forward pass without dropout, keeping what ``backward`` needs.

    Returns ``(inputs, outputs, logits)``: the input of each layer, the
    activation of each hidden layer, and the output layer's input.
    """
    weights, biases, hidden = network.weights, network.biases, network._hidden
    inputs, outputs = [], []
    A = X
    with np.errstate(over="ignore"):
        for i in range(network.n_layers):
            inputs.append(A)
            Z = np.asarray(A @ weights[i])
            if i == network.n_layers - 1:
                Z += biases[i]
                return inputs, outputs, Z
            A = hidden[i].forward(Z, biases[i])
            outputs.append(A)


def backward(network, inputs, outputs, delta, *, parameters=True, input=False):
    """Gradients from ``delta``, the loss's gradient w.r.t. the logits.

    Parameters
    ----------
    network : FeedForwardNetwork
    inputs, outputs : list of ndarray
        From ``forward``; ``outputs`` is overwritten (used as scratch).
    delta : ndarray of shape (n_samples, n_outputs)
        Gradient of the (already averaged) loss w.r.t. the output layer's input.
    parameters : bool, default=True
        Whether to compute the gradients of the weights and biases.
    input : bool, default=False
        Whether to compute the gradient w.r.t. the network's input.

    Returns
    -------
    grad_weights, grad_biases : list of ndarray or None
    grad_input : ndarray of shape (n_samples, n_features) or None
    """
    n_layers = network.n_layers
    grad_weights = [None] * n_layers if parameters else None
    grad_biases = [None] * n_layers if parameters else None
    for i in range(n_layers - 1, -1, -1):
        if parameters:
            grad_weights[i] = np.asarray(inputs[i].T @ delta)
            grad_biases[i] = delta.sum(axis=0)
        if i == 0 and not input:
            break
        below = delta @ network.weights[i].T
        if i == 0:
            return grad_weights, grad_biases, below
        delta = network._hidden[i - 1].derivative(outputs[i - 1], below)
    return grad_weights, grad_biases, None


def log_softmax(Z):
    """Row-wise ``log softmax(Z)``, from the max-shifted logits (a new array)."""
    Z = Z - Z.max(axis=1, keepdims=True)
    Z -= np.log(np.exp(Z).sum(axis=1, keepdims=True))
    return Z


def kl_loss_and_gradients(network, X, log_p, row_scale, *, input=False):
    """``sum_i row_scale_i KL(p_i || q(X_i))`` and its gradients, ``p`` fixed.

    ``log_p`` holds ``log p`` (finite). Returns ``(loss, grad_weights,
    grad_biases, grad_input)`` (``grad_input`` None unless ``input``).
    """
    inputs, outputs, Z = forward(network, X)
    log_q = log_softmax(Z)
    p = np.exp(log_p)
    kl = np.einsum("ij,ij->i", p, log_p - log_q)
    delta = (np.exp(log_q) - p) * row_scale
    grads = backward(network, inputs, outputs, delta, input=input)
    return float(np.dot(row_scale[:, 0], kl)), *grads


def entropy_loss_and_gradients(network, X, row_scale):
    """``sum_i row_scale_i H(q(X_i))`` and its weight and bias gradients."""
    inputs, outputs, Z = forward(network, X)
    log_q = log_softmax(Z)
    q = np.exp(log_q)
    entropy = -np.einsum("ij,ij->i", q, log_q)
    delta = -q * (log_q + entropy[:, np.newaxis]) * row_scale
    grad_weights, grad_biases, _ = backward(network, inputs, outputs, delta)
    return float(np.dot(row_scale[:, 0], entropy)), grad_weights, grad_biases


def _unit_rows(R):
    """``R`` with each row divided by its norm; rows of norm 0 stay 0."""
    norms = np.sqrt(np.einsum("ij,ij->i", R, R))[:, np.newaxis]
    np.divide(R, norms, out=R, where=norms > 0)
    return R


def adversarial_perturbation(network, X, log_p, epsilon, xi, rng):
    """``r_adv``: one power iteration from a random direction, rows of norm ``epsilon``.

    A row whose gradient vanishes (a locally constant network) keeps the
    random direction.
    """
    d = _unit_rows(rng.standard_normal(X.shape).astype(X.dtype, copy=False))
    row_scale = np.ones((X.shape[0], 1), dtype=X.dtype)  # the direction only
    *_, g = kl_loss_and_gradients(network, X + xi * d, log_p, row_scale, input=True)
    g = _unit_rows(g)
    flat = np.einsum("ij,ij->i", g, g) == 0
    g[flat] = d[flat]
    g *= epsilon
    return g


class UnlabelledTerms:
    """The VAT and entropy terms on minibatches of unlabelled rows.

    The step's objective is the labelled rows' loss plus ``vat_weight`` times
    the (weighted) mean of ``KL(p || p(x + r_adv))`` over the unlabelled
    minibatch plus ``entropy_weight`` times the mean entropy of ``p(x)``.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_unlabelled, n_features)
        The unlabelled rows, as the network reads them.
    sample_weight : ndarray of shape (n_unlabelled,) or None
        Their weights.
    vat_weight, entropy_weight : float
        Weights of the two terms (0 leaves a term out).
    vat_epsilon : float
        Norm of ``r_adv`` relative to the root mean square norm of the rows
        of ``X``, so that one value suits inputs in [0, 1] and standardised
        ones.

    Attributes
    ----------
    epsilon, xi : float
        The perturbation's norm and the power iteration's probe, in the
        input's units.
    """

    def __init__(self, X, sample_weight, vat_weight, vat_epsilon, entropy_weight):
        self.X, self.sample_weight = X, sample_weight
        self.vat_weight, self.entropy_weight = float(vat_weight), float(entropy_weight)
        squares = X.multiply(X).sum() if sp.issparse(X) else np.einsum("ij,ij->", X, X)
        self.epsilon = float(vat_epsilon) * float(np.sqrt(squares / X.shape[0]))
        self.xi = XI_FRACTION * self.epsilon

    def loss_and_gradients(self, network, rows, rng):
        """The terms' loss on ``X[rows]``, their gradients, and each term's mean.

        Returns ``(loss, grad_weights, grad_biases, extras)``; the gradients
        are None when both weights are 0.
        """
        X = self.X[rows]
        X = network._as_input(X.toarray() if sp.issparse(X) else X)
        if self.sample_weight is None:
            row_scale = np.full((X.shape[0], 1), 1.0 / X.shape[0], dtype=X.dtype)
        else:
            w = self.sample_weight[rows].astype(X.dtype)
            row_scale = (w / w.sum(dtype=np.float64))[:, np.newaxis].astype(X.dtype)
        loss, extras, total = 0.0, {}, None
        if self.vat_weight:
            _, _, Z = forward(network, X)
            log_p = log_softmax(Z)
            r_adv = adversarial_perturbation(
                network, X, log_p, self.epsilon, self.xi, rng
            )
            kl, gw, gb, _ = kl_loss_and_gradients(
                network, X + r_adv, log_p, self.vat_weight * row_scale
            )
            loss += kl
            extras["vat"] = kl / self.vat_weight
            total = (gw, gb)
        if self.entropy_weight:
            entropy, gw, gb = entropy_loss_and_gradients(
                network, X, self.entropy_weight * row_scale
            )
            loss += entropy
            extras["entropy"] = entropy / self.entropy_weight
            if total is None:
                total = (gw, gb)
            else:
                for mine, more in zip(total[0] + total[1], gw + gb, strict=True):
                    mine += more
        if total is None:
            return loss, None, None, extras
        return loss, total[0], total[1], extras


def make_unlabelled_terms(estimator, X_u, sample_weight):
    """The classifier's ``UnlabelledTerms`` for ``X_u``, or None when unused.

    None without unlabelled rows, with both weights 0, with
    ``solver="lbfgs"`` (no minibatches) and for multilabel targets (no
    softmax output).
    """
    if (
        X_u is None
        or X_u.shape[0] == 0
        or not (estimator.vat_weight or estimator.entropy_weight)
        or estimator.solver == "lbfgs"
        or estimator._multilabel
    ):
        return None
    return UnlabelledTerms(
        X_u,
        sample_weight,
        estimator.vat_weight,
        estimator.vat_epsilon,
        estimator.entropy_weight,
    )
