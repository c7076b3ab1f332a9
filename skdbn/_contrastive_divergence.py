"""Gradient estimates for one RBM: contrastive divergence and the sparsity penalty.

``ContrastiveDivergence`` estimates the log-likelihood gradient of a
minibatch by CD-k or persistent CD (PCD) into buffers it allocates once;
``SparsityPenalty`` adds the sparse-RBM term that pulls each hidden unit's
mean activity to a target. Both read and never change the ``RBMLayer`` they
estimate for (``_rbm.py``); the optimiser steps live in ``_training.py``.
"""

import numpy as np
import scipy.sparse as sp

from ._mixed_units import MIXED
from ._units import get_unit_type, sample_from_field


class SparsityPenalty:
    """Sparse-RBM penalty pulling each hidden unit's mean activity to a target.

    Keeps an exponentially decaying estimate ``q`` of each hidden unit's mean
    activation on the data (Hinton 2010, section 11; Lee, Ekanadham & Ng
    2008). The gradient of the cross-entropy penalty with respect to a hidden
    unit's total input is ``cost * (q - target)``; it is applied to the hidden
    bias and, through the data's visible activities, to the weights.

    Parameters
    ----------
    target : float
        Desired mean activation of each hidden unit, in (0, 1).
    cost : float
        Weight of the penalty.
    decay : float, default=0.9
        Decay rate of the running estimate of the mean activity.
    """

    def __init__(self, target, cost, decay=0.9):
        self.target = target
        self.cost = cost
        self.decay = decay
        self.mean_activity = None

    def field_shift(self, batch_mean_activity):
        """Update the running estimate and return ``cost * (q - target)``."""
        if self.mean_activity is None:
            self.mean_activity = batch_mean_activity.copy()
            self._shift = np.empty_like(batch_mean_activity)
        else:
            self.mean_activity *= self.decay
            self.mean_activity += (1.0 - self.decay) * batch_mean_activity
        np.subtract(self.mean_activity, self.target, out=self._shift)
        self._shift *= self.cost
        return self._shift


class ContrastiveDivergence:
    """CD-k and persistent-CD gradient estimates for one RBM.

    The estimate for a minibatch ``v0`` of ``b`` rows is

    - positive statistics: ``v0`` and ``h0 = E[h | v0]``;
    - negative statistics: ``k`` alternating Gibbs steps ``v ~ p(v | h)``,
      ``h ~ p(h | v)``, started from a sample of ``h0`` (CD-k) or from the
      persistent chains' last hidden states (PCD, Tieleman 2008), recording
      the sampled ``v_k`` and ``E[h | v_k]``.

    Visible states are sampled at every step, so that the chain is a proper
    Markov chain: CD-k tends to the exact gradient as ``k`` grows, and PCD's
    chains sample the model's distribution.

    To spend one matrix product on the weight gradient, the visible statistics
    are stacked as ``V = [v0; v_k]`` and the hidden ones as
    ``H = [h0; -h_k]`` (scaled), so that ``V.T @ H`` is positive minus
    negative statistics in a single GEMM.

    Missing visible states (NaN, with ``missing`` set) are left out: they
    count as 0 in the data's statistics, and each chain's visible states are
    masked as its row's (chain ``j`` takes row ``j % b``'s mask), so that a
    row's statistics are those of the RBM restricted to its observed units.
    With PCD the chains do not belong to rows, and the masked chain is an
    approximation of the restricted RBM's statistics.

    Parameters
    ----------
    layer : RBMLayer
        The RBM whose gradient is estimated; its arrays are read at each call.
    batch_size : int
        The largest minibatch that will be passed.
    n_steps : int, default=1
        Number of Gibbs steps ``k``.
    persistent : bool, default=False
        Whether the negative chains persist across calls (PCD), with
        ``batch_size`` chains.

    Attributes
    ----------
    gradients : list of ndarray
        The buffers ``estimate`` writes the gradient of ``(weights,
        visible_bias, hidden_bias)`` into. The owner may exchange them for
        other arrays of the same shapes and dtype (the trainer does, to
        adopt a gradient as its velocity without copying it).
    chains : ndarray of shape (batch_size, n_hidden) or None
        Hidden states of the persistent chains (PCD only), or None before
        the first call.
    """

    def __init__(self, layer, batch_size, n_steps=1, persistent=False):
        self.layer = layer
        self.batch_size = batch_size
        self.n_steps = n_steps
        self.persistent = persistent
        dtype = layer.weights.dtype
        n_visible, n_hidden = layer.weights.shape
        self._visible_units = layer.visible_type
        self._hidden_units = get_unit_type(layer.hidden_units)
        # Rows [:b] hold the data's statistics, rows [b:] the chains'.
        self._V = np.zeros((2 * batch_size, n_visible), dtype=dtype)
        self._H = np.zeros((2 * batch_size, n_hidden), dtype=dtype)
        self._visible_mean = np.empty((batch_size, n_visible), dtype=dtype)
        self._hidden_state = np.empty((batch_size, n_hidden), dtype=dtype)
        self._negated_visible_bias = np.empty(n_visible, dtype=dtype)
        self._negated_hidden_bias = np.empty(n_hidden, dtype=dtype)
        # float32 scratch for the uniform draws of float64 models.
        self._uniforms = np.empty(batch_size * max(n_visible, n_hidden), np.float32)
        self._signs = np.empty(2 * batch_size, dtype=dtype)
        self._row_weights = None
        self._ones = np.ones(2 * batch_size, dtype=dtype)
        self.gradients = [np.empty_like(p) for p in layer.parameters]
        if layer.visible_log_std is not None:
            self._inverse_std = np.empty(n_visible, dtype=dtype)
            self._squares = np.empty((2 * batch_size, n_visible), dtype=dtype)
            self._visible_scratch = np.empty(n_visible, dtype=dtype)
        self.batch_mean_hidden = np.empty(n_hidden, dtype=dtype)
        self.chains = None
        #: Whether minibatches may hold missing (NaN) visible states; the
        #: trainer sets it once per epoch, and its masks are then allocated.
        self.missing = False
        self._observed = None

    @property
    def grad_weights(self):
        """The weight gradient's buffer, ``gradients[0]``."""
        return self.gradients[0]

    @property
    def grad_visible_bias(self):
        """The visible bias gradient's buffer, ``gradients[1]``."""
        return self.gradients[1]

    @property
    def grad_hidden_bias(self):
        """The hidden bias gradient's buffer, ``gradients[2]``."""
        return self.gradients[2]

    def __getstate__(self):
        # Buffers are scratch space: only the chains are state worth keeping.
        return {
            "layer": self.layer,
            "batch_size": self.batch_size,
            "n_steps": self.n_steps,
            "persistent": self.persistent,
            "chains": self.chains,
        }

    def __setstate__(self, state):
        self.__init__(
            state["layer"], state["batch_size"], state["n_steps"], state["persistent"]
        )
        self.chains = state["chains"]

    def load_batch(self, X, rows):
        """Copy rows ``rows`` of ``X`` (dense or CSR) into the data buffer."""
        out = self._V[: len(rows)]
        if sp.issparse(X):
            out.fill(0)
            X[rows].toarray(out=out)
        else:
            # mode="clip" lets numpy gather straight into ``out``; the default
            # "raise" goes through a temporary so that a bad index cannot
            # leave ``out`` half written (twice the time).
            np.take(X, rows, axis=0, out=out, mode="clip")
        return out

    def load_weights(self, sample_weight, rows):
        """Copy ``sample_weight[rows]`` into the row-weight buffer; return it.

        The buffer is allocated on the first call, so that unweighted
        training never pays for it.
        """
        if self._row_weights is None:
            self._row_weights = np.empty(self.batch_size, dtype=self._signs.dtype)
        out = self._row_weights[: len(rows)]
        np.take(sample_weight, rows, out=out, mode="clip")
        return out

    def estimate(self, batch_rows, rng, scale, sparsity=None, row_weights=None):
        """Estimate the gradient for the minibatch in the data buffer.

        Callers should ignore overflow warnings (``np.errstate(over="ignore")``):
        the sigmoid's ``exp`` may overflow, which correctly gives 0.

        Parameters
        ----------
        batch_rows : int
            Number of rows ``b`` loaded by ``load_batch``.
        rng : numpy.random.Generator
            Source of the Gibbs samples.
        scale : float
            Factor applied to the summed statistics, e.g. ``learning_rate / b``
            (``learning_rate / row_weights.sum()`` with weights).
        sparsity : SparsityPenalty, optional
            Penalty on the hidden units' mean activity.
        row_weights : ndarray of shape (b,), optional
            Weight of each row (see ``load_weights``): its positive
            statistics, and with CD-k the negative ones of the chain started
            from it, count ``row_weights[i]`` times, so that an integer
            weight is the same as repeating the row; PCD's chains, which no
            row owns, share the total weight equally. The sparsity penalty's
            activity estimate is the weighted mean. None weighs every row 1.

        Returns
        -------
        gradients : list of ndarray
            ``scale`` times (positive minus negative statistics), the ascent
            direction of the log-likelihood, for each of the layer's
            ``parameters``: the arrays of ``gradients``. With learned
            standard deviations ``s``, the one for the visible biases is
            preconditioned by ``s**2`` (see ``_std_gradients``).
        """
        b = batch_rows
        layer = self.layer
        W = layer.weights
        visible, hidden = self._visible_units, self._hidden_units
        V, H = self._V, self._H
        v_data, h_data = V[:b], H[:b]
        negated_visible_bias = np.negative(
            layer.visible_bias, out=self._negated_visible_bias
        )
        negated_hidden_bias = np.negative(
            layer.hidden_bias, out=self._negated_hidden_bias
        )
        observed = self._load_mask(v_data) if self.missing else None
        learn_std = layer.visible_log_std is not None
        if learn_std:
            # Work with v / s: the visible units then have unit variance
            # and bias b / s, and the weights act as for unscaled units.
            inverse_std = np.exp(
                np.negative(layer.visible_log_std, out=self._inverse_std),
                out=self._inverse_std,
            )
            v_data *= inverse_std
            negated_visible_bias *= inverse_std

        # Positive phase: E[h | v0] (and a sample of h0 for CD).
        weighted = row_weights is not None
        np.matmul(v_data, W, out=h_data)
        if self.persistent:
            hidden.mean_from_product(h_data, negated_hidden_bias, out=h_data)
        else:
            h_state = hidden.mean_and_sample(
                h_data,
                negated_hidden_bias,
                rng,
                h_data,
                self._hidden_state[:b],
                self._scratch(h_data.shape),
            )
        if weighted:
            # The total weight of the rows, the mass b of unweighted ones.
            mass = float(row_weights.sum(dtype=np.float64))
            np.matmul(row_weights, h_data, out=self.batch_mean_hidden)
            self.batch_mean_hidden /= mass
        else:
            mass = b
            np.matmul(self._ones[:b], h_data, out=self.batch_mean_hidden)
            self.batch_mean_hidden /= b

        # Negative phase: k Gibbs steps from the chains' hidden states.
        if self.persistent:
            n_chains = self.batch_size
            if self.chains is None:
                # Start the chains from the first minibatch, recycling its
                # rows when it is smaller than the number of chains.
                rows = np.arange(n_chains) % b
                field = v_data[rows] @ W - negated_hidden_bias
                self.chains = sample_from_field(hidden, field, rng)
            h_state = self.chains
        else:
            n_chains = b
        # The chains' statistics enter the gradient with this factor (with
        # CD-k and row weights, each chain's times its row's weight).
        chain_scale = -scale * mass / n_chains
        per_row = weighted and not self.persistent
        signs = self._signs[: b + n_chains]
        if weighted:
            np.multiply(row_weights, scale, out=signs[:b])
            if per_row:
                np.negative(signs[:b], out=signs[b:])
        v_model = V[b : b + n_chains]
        h_model = H[b : b + n_chains]
        v_mean = self._visible_mean[:n_chains]
        if observed is not None and n_chains != b:
            observed = observed[np.arange(n_chains) % b]
        for step in range(self.n_steps):
            last = step + 1 == self.n_steps
            np.matmul(h_state, W.T, out=v_mean)
            visible.mean_and_sample(
                v_mean,
                negated_visible_bias,
                rng,
                v_mean,
                v_model,
                self._scratch(v_model.shape),
            )
            if observed is not None:
                v_model *= observed
            np.matmul(v_model, W, out=h_model)
            if last and not self.persistent:
                # Only the gradient reads h_k: scale it in the same pass.
                hidden.mean_from_product(
                    h_model,
                    negated_hidden_bias,
                    out=h_model,
                    scale=None if per_row else chain_scale,
                )
                if per_row:
                    h_model *= signs[b:, np.newaxis]
            else:
                hidden.mean_and_sample(
                    h_model,
                    negated_hidden_bias,
                    rng,
                    h_model,
                    h_state,
                    self._scratch(h_state.shape),
                )
                if last:
                    h_model *= chain_scale

        # Scale and sign the data's statistics so one GEMM gives the difference.
        if sparsity is not None:
            h_data -= sparsity.field_shift(self.batch_mean_hidden)
        if weighted:
            h_data *= signs[:b, np.newaxis]
        else:
            h_data *= scale
            signs[:b] = scale
        if not per_row:
            signs[b:] = chain_scale
        V_used, H_used = V[: b + n_chains], H[: b + n_chains]
        grad_weights, grad_visible_bias, grad_hidden_bias = self.gradients[:3]
        np.matmul(V_used.T, H_used, out=grad_weights)
        np.matmul(signs, V_used, out=grad_visible_bias)
        np.matmul(self._ones[: b + n_chains], H_used, out=grad_hidden_bias)
        if learn_std:
            self._std_gradients(V_used, signs, negated_visible_bias, inverse_std)
        return self.gradients

    def _load_mask(self, v_data):
        """Mask the NaNs of the loaded minibatch: 0 in ``v_data``, 0 in the mask.

        Returns the mask, 1 where observed and 0 where missing.
        """
        if self._observed is None:
            shape = (self.batch_size, v_data.shape[1])
            self._observed = np.empty(shape, dtype=v_data.dtype)
            self._missing = np.empty(shape, dtype=bool)
        b = v_data.shape[0]
        missing = np.isnan(v_data, out=self._missing[:b])
        np.copyto(v_data, 0, where=missing)
        observed = self._observed[:b]
        np.logical_not(missing, out=observed)
        return observed

    def _std_gradients(self, V_used, signs, negated_visible_bias, inverse_std):
        """Turn the scaled-space gradients into those of ``b`` and ``log s``.

        With ``u = v / s`` and ``b' = b / s``, ``-dE/d(log s_i)`` is
        ``(u_i - b'_i)**2 - u_i (W h)_i``. Summed with the signs (which add
        up to zero), the first term is ``sum(signs * u**2) - 2 b' g_b'``
        where ``g_b' = sum(signs * u)`` is the gradient for ``b'``, and the
        second is the row sums of ``W * g_W``, because ``g_W = sum(signs *
        u h^T)``.

        The exact gradient for ``b`` is ``g_b' / s``, whose scale grows as
        ``s`` shrinks while the curvature grows as ``1 / s**2``: a step along
        it overshoots and diverges once a feature's ``s`` is small. The
        returned direction is the step ``g_b'`` taken in ``b'`` expressed in
        ``b``, ``s * g_b' = s**2 * (exact gradient)``: still an ascent
        direction, and as well scaled as the one for ``b'``.
        """
        grad_weights, grad_visible_bias, _, grad_log_std = self.gradients
        squares = np.square(V_used, out=self._squares[: V_used.shape[0]])
        np.matmul(signs, squares, out=grad_log_std)
        scratch = self._visible_scratch
        # negated_visible_bias holds -b', so this adds -2 b' g_b'.
        np.multiply(negated_visible_bias, grad_visible_bias, out=scratch)
        scratch *= 2
        grad_log_std += scratch
        np.einsum("ij,ij->i", self.layer.weights, grad_weights, out=scratch)
        grad_log_std -= scratch
        grad_visible_bias /= inverse_std
        if self._visible_units.name == MIXED:
            # Only the Gaussian block has a standard deviation to learn; the
            # other units keep s = 1 (log s = 0).
            grad_log_std[self._visible_units.gaussian.stop :] = 0

    def _scratch(self, shape):
        """float32 scratch of ``shape`` for the uniform draws."""
        return self._uniforms[: shape[0] * shape[1]].reshape(shape)
