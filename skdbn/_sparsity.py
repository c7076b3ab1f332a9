"""A sparsity penalty on hidden activations, for back-propagation.

Pre-training can pull each binary hidden unit's mean activation towards a
``sparsity_target`` (``SparsityPenalty`` in ``_contrastive_divergence.py``).
Fine-tuning by back-propagation would otherwise forget it. This is the same idea as a
term of the network's loss (Lee, Ekanadham & Ng 2008; Ng's sparse
autoencoder): for each penalised layer, ``cost`` times the KL divergence of
a Bernoulli of mean ``target`` from one of mean ``q_j``, summed over its
units, where ``q_j`` is the unit's mean activation over the minibatch:

``cost * sum_j t log(t / q_j) + (1 - t) log((1 - t) / (1 - q_j))``.

Its gradient with respect to the activation ``a_ij`` of row ``i`` is
``cost * (q_j - t) / (q_j (1 - q_j)) * w_i``, with ``w_i`` the row's
weight in the mean (``1 / n`` without sample weights). Only activations in
``(0, 1)`` (logistic units) have a Bernoulli mean; the networks apply it to
those layers only.
"""

import numpy as np

#: Mean activations are kept this far inside (0, 1), so that the penalty
#: stays finite for a unit that is (nearly) always on or off.
ACTIVITY_CLIP = 1e-6


def sparsity_kl(mean_activity, target):
    """``sum_j KL(Bernoulli(target) || Bernoulli(q_j))`` for ``q = mean_activity``."""
    q = np.clip(mean_activity, ACTIVITY_CLIP, 1.0 - ACTIVITY_CLIP)
    t = target
    kl = t * (np.log(t) - np.log(q)) + (1.0 - t) * (np.log1p(-t) - np.log1p(-q))
    return float(np.sum(kl, dtype=np.float64))


def sparsity_penalty(A, target, cost, row_scale):
    """The penalty of one layer's activations ``A`` and its gradient.

    Parameters
    ----------
    A : ndarray of shape (n_samples, n_units)
        Activations in ``[0, 1]``.
    target : float
        Target mean activation, in ``(0, 1)``.
    cost : float
        Weight of the penalty.
    row_scale : float or ndarray of shape (n_samples, 1)
        Weight of each row in the mean activation (summing to 1 over rows).

    Returns
    -------
    loss : float
        ``cost`` times the summed KL divergences.
    grad : ndarray of shape (n_samples, n_units)
        Its gradient with respect to ``A``, of ``A``'s dtype.
    """
    if np.ndim(row_scale) == 0:
        mean_activity = A.sum(axis=0, dtype=np.float64) * float(row_scale)
    else:
        mean_activity = np.asarray(row_scale, dtype=np.float64).ravel() @ A
    q = np.clip(mean_activity, ACTIVITY_CLIP, 1.0 - ACTIVITY_CLIP)
    slope = cost * (q - target) / (q * (1.0 - q))
    grad = np.empty_like(A)
    np.multiply(row_scale, slope.astype(A.dtype), out=grad)
    return cost * sparsity_kl(mean_activity, target), grad


def layer_sparsity(activations, targets, cost):
    """``(target, cost)`` for each hidden layer, None where not penalised.

    Only logistic layers are penalised; ``cost`` 0 penalises none (None).
    """
    if not cost:
        return None
    terms = [
        (float(target), float(cost)) if activation == "logistic" else None
        for activation, target in zip(activations, targets, strict=True)
    ]
    return terms if any(term is not None for term in terms) else None


def fine_tuning_sparsity(estimator, activations):
    """The ``sparsity`` argument of the networks for ``estimator``'s fine-tuning.

    ``estimator.sparsity_target`` (one value, or one per hidden layer) with
    ``estimator.fine_tuning_sparsity_cost``, for the hidden layers of
    ``activations``; None when the cost is 0.
    """
    from ._stack_base import _RBMStackBase

    targets = _RBMStackBase._per_layer(estimator, "sparsity_target", len(activations))
    return layer_sparsity(activations, targets, estimator.fine_tuning_sparsity_cost)
