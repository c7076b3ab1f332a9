"""Generative fine-tuning of a labelled deep belief net: the up-down algorithm.

The deep belief net of Hinton, Osindero & Teh (2006) is a joint RBM (the
"associative memory") over the penultimate layer's states and the labels, on
top of directed sigmoid belief layers that generate each layer from the one
above. After greedy pre-training the directed layers share their weights
with the RBMs they came from. The up-down algorithm (the paper's appendix B,
a contrastive version of wake-sleep) unties them into **recognition**
weights (bottom-up, for inference) and **generative** weights (top-down,
the model) and fine-tunes all of them:

1. *wake*: a stochastic up pass with the recognition weights; each layer's
   generative weights learn to predict the states of the layer below from
   the states of the layer above (the gradient of ``log p(below | above)``);
2. *top*: CD-k in the joint RBM, started from the wake states of the
   penultimate layer and the true labels (labels as a softmax group);
3. *sleep*: from the negative sample of the top RBM, a stochastic down pass
   with the generative weights; each layer's recognition weights learn to
   predict the states of the layer above from those of the layer below.

``UpDownNetwork`` holds the untied parameters and the top RBM; the functions
compute one step's parameter changes (with the random numbers injectable,
for testing) and train over epochs; ``UpDownMixin`` gives ``DBNClassifier``
its up-down fit and its generative predictions.
"""

import time

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, logsumexp
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from ._progress import epoch_line
from ._rbm import RBMLayer
from ._warnings import warn


def _dense(X):
    return X.toarray() if sp.issparse(X) else X


def _sigmoid(field):
    return expit(field, out=field)


def _softmax(field):
    field -= field.max(axis=1, keepdims=True)
    np.exp(field, out=field)
    field /= field.sum(axis=1, keepdims=True)
    return field


def _states(probabilities, uniform):
    """Binary states: a unit is on when its uniform draw falls below its probability."""
    return (uniform(probabilities.shape) < probabilities).astype(probabilities.dtype)


class UpDownNetwork:
    """A labelled deep belief net with untied recognition and generative weights.

    Layer ``i`` (``0`` is the data) is inferred from layer ``i - 1`` by
    ``sigmoid(s[i - 1] @ recognition_weights[i - 1] + recognition_biases[i - 1])``
    and generated from layer ``i + 1`` by
    ``sigmoid(s[i + 1] @ generative_weights[i] + generative_biases[i])``. The
    top layer ``L`` (the penultimate one of the paper) and the labels form the
    visible units of the joint RBM ``top``: its first ``n_visible - n_labels``
    visible units are layer ``L``, the last ``n_labels`` the labels.

    Parameters
    ----------
    recognition_weights : list of ndarray
        ``recognition_weights[i]`` of shape ``(n[i], n[i + 1])``, bottom up.
    recognition_biases : list of ndarray
        ``recognition_biases[i]`` of shape ``(n[i + 1],)``.
    generative_weights : list of ndarray
        ``generative_weights[i]`` of shape ``(n[i + 1], n[i])``, top down.
    generative_biases : list of ndarray
        ``generative_biases[i]`` of shape ``(n[i],)``.
    top : RBMLayer
        The joint RBM of layer ``L`` and the labels (binary units).
    n_labels : int
        Number of label units (the last visible units of ``top``).

    Attributes
    ----------
    history : list of dict
        One record per up-down epoch: ``epoch``, ``wake_error`` (mean squared
        error per row of the generative prediction of the data from the wake
        states of layer 1), ``sleep_error`` (the same for the recognition
        prediction of layer 1 from the dreamed data) and ``seconds``.
    """

    def __init__(
        self,
        recognition_weights,
        recognition_biases,
        generative_weights,
        generative_biases,
        top,
        n_labels,
    ):
        self.recognition_weights = recognition_weights
        self.recognition_biases = recognition_biases
        self.generative_weights = generative_weights
        self.generative_biases = generative_biases
        self.top = top
        self.n_labels = n_labels
        self.history = []

    @classmethod
    def from_pretrained(cls, layers, top, n_labels):
        """Untie pre-trained RBMs: both directions start from each RBM's weights.

        The arrays are copies; ``layers`` and ``top`` are left as they are.
        """
        for i, layer in enumerate([*layers, top]):
            units = (layer.visible_units, layer.hidden_units)
            if units != ("bernoulli", "bernoulli") or layer.visible_log_std is not None:
                raise ValueError(
                    "The up-down algorithm needs binary (Bernoulli) units in "
                    f"every layer; layer {i + 1} has {units[0]} visible and "
                    f"{units[1]} hidden units. Use visible_units='bernoulli' "
                    "(data in [0, 1]) and hidden_units='bernoulli', or set "
                    "updown_epochs=0."
                )
        joint = RBMLayer(
            top.weights.copy(), top.visible_bias.copy(), top.hidden_bias.copy()
        )
        return cls(
            [layer.weights.copy() for layer in layers],
            [layer.hidden_bias.copy() for layer in layers],
            [layer.weights.T.copy() for layer in layers],
            [layer.visible_bias.copy() for layer in layers],
            joint,
            n_labels,
        )

    @property
    def n_penultimate(self):
        """Number of units of the layer joined to the labels."""
        return self.top.n_visible - self.n_labels

    def up(self, X):
        """Deterministic up pass: each layer's probabilities, by recognition.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            Data.

        Returns
        -------
        P : ndarray of shape (n_samples, n_penultimate)
            Probabilities of the units joined to the labels.
        """
        P = X
        for weights, bias in zip(
            self.recognition_weights, self.recognition_biases, strict=True
        ):
            field = np.asarray(P @ weights)
            field += bias
            P = _sigmoid(field)
        return P

    def down(self, P):
        """Deterministic down pass: each layer's probabilities, by generation.

        Parameters
        ----------
        P : ndarray of shape (n_samples, n_penultimate)
            States (or probabilities) of the units joined to the labels.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Probabilities of the data units.
        """
        for weights, bias in zip(
            reversed(self.generative_weights),
            reversed(self.generative_biases),
            strict=True,
        ):
            field = P @ weights
            field += bias
            P = _sigmoid(field)
        return P


def label_free_energies(top, features, n_labels):
    """Free energy of ``[features, one-hot label]`` in ``top``, for each label.

    ``F(v) = -b @ v - sum_j softplus(v @ W[:, j] + c_j)`` with ``v`` the
    features followed by the one-hot vector of label ``k``.

    Parameters
    ----------
    top : RBMLayer
        Joint RBM with binary units; its last ``n_labels`` visible units are
        the labels.
    features : ndarray of shape (n_samples, top.n_visible - n_labels)
        States or probabilities of the other visible units.
    n_labels : int
        Number of label units.

    Returns
    -------
    F : ndarray of shape (n_samples, n_labels)
        ``F[i, k]``: the free energy of row ``i`` with label ``k`` on.
    """
    n_features = top.n_visible - n_labels
    base = features @ top.weights[:n_features] + top.hidden_bias
    offset = features @ top.visible_bias[:n_features]
    label_weights = top.weights[n_features:]
    label_bias = top.visible_bias[n_features:]
    F = np.empty((features.shape[0], n_labels), dtype=base.dtype)
    field = np.empty_like(base)
    for k in range(n_labels):
        np.add(base, label_weights[k], out=field)
        F[:, k] = -offset - label_bias[k] - np.logaddexp(0, field).sum(axis=1)
    return F


def label_log_posterior(top, features, n_labels):
    """``log p(label | features)`` in the joint RBM: a softmax of ``-F``.

    Parameters
    ----------
    top : RBMLayer
        Joint RBM; its last ``n_labels`` visible units are the labels.
    features : ndarray of shape (n_samples, top.n_visible - n_labels)
        States or probabilities of the other visible units.
    n_labels : int
        Number of label units.

    Returns
    -------
    log_proba : ndarray of shape (n_samples, n_labels)
    """
    scores = -label_free_energies(top, features, n_labels)
    return scores - logsumexp(scores, axis=1, keepdims=True)


def updown_changes(net, V, Y, cd_steps, uniform, row_weights=None):
    """The changes of every parameter for one up-down step (before the step size).

    Each change is a mean over the rows (a weighted mean with
    ``row_weights``) of the paper's per-case update divided by the learning
    rate. Random states are drawn as ``uniform(shape) < probability``, in
    this order: the wake states of layers 1 to L, the top RBM's hidden
    states, then per CD step the negative states of layer L and of the top
    RBM's hidden units, then the sleep states of layers L-1 down to 1 (the
    dreamed data are probabilities).

    Parameters
    ----------
    net : UpDownNetwork
    V : ndarray of shape (n_samples, n_features)
        Data (dense).
    Y : ndarray of shape (n_samples, n_labels)
        One-hot labels.
    cd_steps : int
        Gibbs steps in the top RBM.
    uniform : callable
        ``uniform(shape)`` returns uniform draws in ``[0, 1)`` of that shape.
    row_weights : ndarray of shape (n_samples,), default=None
        Weight of each row.

    Returns
    -------
    changes : dict
        ``"generative_weights"``, ``"generative_biases"``,
        ``"recognition_weights"``, ``"recognition_biases"`` (lists, one per
        lower layer) and ``"top_weights"``, ``"top_visible_bias"``,
        ``"top_hidden_bias"``; also ``"wake"``, ``"sleep"``, ``"positive"``
        and ``"negative"``, the states used, and ``"generated_data"`` and
        ``"recognised_layer_1"``, the predictions of the data from layer 1
        and of layer 1 from the dreamed data (for monitoring and tests).
    """
    n_rows = V.shape[0]
    if row_weights is None:
        scale = 1.0 / n_rows
        weights_column = None
    else:
        scale = 1.0 / row_weights.sum()
        weights_column = row_weights[:, np.newaxis].astype(V.dtype)

    def weighted(A):
        return A if weights_column is None else A * weights_column

    R, r = net.recognition_weights, net.recognition_biases
    G, g = net.generative_weights, net.generative_biases
    top, n_pen = net.top, net.n_penultimate
    W_pen, W_lab = top.weights[:n_pen], top.weights[n_pen:]
    b_pen, b_lab = top.visible_bias[:n_pen], top.visible_bias[n_pen:]
    c = top.hidden_bias
    n_lower = len(R)

    # Wake: a stochastic up pass with the recognition weights.
    wake = [V]
    for R_i, r_i in zip(R, r, strict=True):
        wake.append(_states(_sigmoid(wake[-1] @ R_i + r_i), uniform))
    pen = wake[-1]
    positive_top = _states(_sigmoid(pen @ W_pen + Y @ W_lab + c), uniform)

    # Top: CD-k in the joint RBM, the labels a softmax group.
    negative_top = positive_top
    for _ in range(cd_steps):
        negative_pen = _states(_sigmoid(negative_top @ W_pen.T + b_pen), uniform)
        negative_labels = _softmax(negative_top @ W_lab.T + b_lab)
        negative_top = _states(
            _sigmoid(negative_pen @ W_pen + negative_labels @ W_lab + c), uniform
        )

    # Sleep: a stochastic down pass with the generative weights.
    sleep = [None] * (n_lower + 1)
    sleep[n_lower] = negative_pen
    for i in range(n_lower, 0, -1):
        probabilities = _sigmoid(sleep[i] @ G[i - 1] + g[i - 1])
        sleep[i - 1] = probabilities if i == 1 else _states(probabilities, uniform)

    changes = {
        "generative_weights": [],
        "generative_biases": [],
        "recognition_weights": [],
        "recognition_biases": [],
    }
    for i in range(1, n_lower + 1):
        # Generative: predict the wake states below from the wake states above.
        predicted = _sigmoid(wake[i] @ G[i - 1] + g[i - 1])
        if i == 1:
            changes["generated_data"] = predicted
        error = weighted(wake[i - 1] - predicted)
        changes["generative_weights"].append(scale * (wake[i].T @ error))
        changes["generative_biases"].append(scale * error.sum(axis=0))
        # Recognition: predict the sleep states above from the sleep states below.
        predicted = _sigmoid(sleep[i - 1] @ R[i - 1] + r[i - 1])
        if i == 1:
            changes["recognised_layer_1"] = predicted
        error = weighted(sleep[i] - predicted)
        changes["recognition_weights"].append(scale * (sleep[i - 1].T @ error))
        changes["recognition_biases"].append(scale * error.sum(axis=0))

    positive_visible = np.hstack([pen, Y])
    negative_visible = np.hstack([negative_pen, negative_labels])
    changes["top_weights"] = scale * (
        positive_visible.T @ weighted(positive_top)
        - negative_visible.T @ weighted(negative_top)
    )
    changes["top_visible_bias"] = scale * weighted(
        positive_visible - negative_visible
    ).sum(axis=0)
    changes["top_hidden_bias"] = scale * weighted(positive_top - negative_top).sum(
        axis=0
    )
    changes["wake"] = wake
    changes["sleep"] = sleep
    changes["positive"] = (positive_visible, positive_top)
    changes["negative"] = (negative_visible, negative_top)
    return changes


def apply_changes(net, changes, learning_rate):
    """Add ``learning_rate`` times each change to its parameter, in place."""
    for name in (
        "generative_weights",
        "generative_biases",
        "recognition_weights",
        "recognition_biases",
    ):
        for parameter, change in zip(getattr(net, name), changes[name], strict=True):
            parameter += learning_rate * change
    net.top.weights += learning_rate * changes["top_weights"]
    net.top.visible_bias += learning_rate * changes["top_visible_bias"]
    net.top.hidden_bias += learning_rate * changes["top_hidden_bias"]


def _parameters(net):
    return [
        *net.recognition_weights,
        *net.recognition_biases,
        *net.generative_weights,
        *net.generative_biases,
        *net.top.parameters,
    ]


def fit_updown(
    net,
    X,
    Y,
    *,
    n_epochs,
    learning_rate,
    cd_steps,
    batch_size,
    rng,
    sample_weight=None,
    verbose=0,
):
    """Fine-tune ``net`` in place by ``n_epochs`` epochs of up-down.

    Each epoch visits the rows in a fresh random order, in minibatches of
    ``batch_size``. Returns False when the user interrupted it (Ctrl-C),
    True otherwise; the parameters are those of the last completed step.
    """
    n_rows = X.shape[0]
    dtype = net.top.weights.dtype

    def uniform(shape):
        return rng.random(shape, dtype=np.float32)

    for epoch in range(len(net.history) + 1, len(net.history) + n_epochs + 1):
        start = time.perf_counter()
        snapshot = [array.copy() for array in _parameters(net)]
        order = rng.permutation(n_rows)
        wake_error = sleep_error = total = 0.0
        try:
            # A diverging step overflows: the check after the epoch says so.
            with np.errstate(over="ignore", invalid="ignore"):
                for begin in range(0, n_rows, batch_size):
                    rows = np.sort(order[begin : begin + batch_size])
                    V = np.asarray(_dense(X[rows]), dtype=dtype)
                    w = None if sample_weight is None else sample_weight[rows]
                    changes = updown_changes(net, V, Y[rows], cd_steps, uniform, w)
                    # Monitoring, from the states the step drew: no extra draws.
                    generated = changes["generated_data"]
                    recognised = changes["recognised_layer_1"]
                    wake_error += float(np.square(V - generated).sum())
                    sleep_error += float(
                        np.square(changes["sleep"][1] - recognised).sum()
                    )
                    total += V.shape[0]
                    apply_changes(net, changes, learning_rate)
        except KeyboardInterrupt:
            warn(
                f"Up-down fine-tuning interrupted by the user in epoch {epoch}: "
                "the fit stopped before discriminative fine-tuning; updown_ "
                "keeps the parameters of the last step.",
                UserWarning,
            )
            return False
        if not all(np.isfinite(array).all() for array in _parameters(net)):
            for array, saved in zip(_parameters(net), snapshot, strict=True):
                array[...] = saved
            warn(
                f"Up-down fine-tuning diverged in epoch {epoch} (the parameters "
                "became inf or NaN); they were restored to the end of the "
                "previous epoch and up-down stopped. Lower updown_learning_rate.",
                ConvergenceWarning,
            )
            return True
        entry = {
            "epoch": epoch,
            "wake_error": wake_error / total,
            "sleep_error": sleep_error / total,
            "seconds": time.perf_counter() - start,
        }
        net.history.append(entry)
        if verbose:
            quantities = [
                ("wake error", entry["wake_error"], ".4f"),
                ("sleep error", entry["sleep_error"], ".4f"),
            ]
            print(
                epoch_line("up-down", epoch, n_epochs, quantities, entry["seconds"]),
                flush=True,
            )
    return True


class UpDownMixin:
    """Up-down fine-tuning and generative classification for ``DBNClassifier``.

    The estimator keeps its fitted ``stack_`` and ``generative_layer_`` as
    pre-training left them; up-down fine-tunes copies, stored in ``updown_``.
    """

    def _fit_updown(self, X, Y, sample_weight=None):
        """Run up-down on the pre-trained model when asked to.

        Returns False when the user interrupted it.
        """
        self.updown_ = None
        if not self.updown_epochs or self.generative_layer_ is None:
            return True
        net = UpDownNetwork.from_pretrained(
            self.stack_.layers_, self.generative_layer_, Y.shape[1]
        )
        self.updown_ = net
        return fit_updown(
            net,
            X,
            Y,
            n_epochs=self.updown_epochs,
            learning_rate=self.updown_learning_rate,
            cd_steps=self.updown_cd_steps,
            batch_size=self.stack_._trainers[-1].settings.batch_size,
            rng=np.random.default_rng(self._pretrain_seed + 2),
            sample_weight=sample_weight,
            verbose=self.verbose,
        )

    def _check_updown_parameters(self):
        if self.updown_epochs and self.generative_layer_size is None:
            raise ValueError(
                f"updown_epochs={self.updown_epochs} needs generative_layer_size: "
                "the up-down algorithm fine-tunes the deep belief net whose top "
                "RBM joins the labels. Set generative_layer_size (e.g. 2000), or "
                "updown_epochs=0."
            )
        units = np.atleast_1d(np.asarray(self.hidden_units, dtype=object))
        if self.updown_epochs and (
            self.visible_units == "gaussian" or any(u != "bernoulli" for u in units)
        ):
            # Checked before pre-training; "auto" visible units are checked
            # once resolved (UpDownNetwork.from_pretrained).
            raise ValueError(
                "The up-down algorithm needs binary (Bernoulli) units in every "
                f"layer; got visible_units={self.visible_units!r} and "
                f"hidden_units={self.hidden_units!r}. Use hidden_units="
                "'bernoulli' and data in [0, 1], or set updown_epochs=0."
            )

    def _generative_label_log_proba(self, X):
        check_is_fitted(self, "_network")
        if getattr(self, "generative_layer_", None) is None:
            raise ValueError(
                f"This {type(self).__name__} has no generative top layer: fit it "
                "with generative_layer_size set (e.g. 2000) to classify "
                "generatively."
            )
        X = self._prediction_matrix(X)
        net = self.updown_
        if net is None:
            top, features = self.generative_layer_, X
            for layer in self.stack_.layers_:
                features = layer.hidden_mean(features)
        else:
            top, features = net.top, net.up(X)
        return label_log_posterior(top, features, len(self.classes_))

    def predict_proba_generative(self, X):
        """Class probabilities under the deep belief net's generative model.

        A deterministic up pass (the recognition weights of ``updown_`` after
        up-down fine-tuning, the pre-trained stack's otherwise) gives the
        probabilities ``p`` of the units joined to the labels; the
        probability of class ``k`` is then ``exp(-F(p, k))`` normalised over
        the classes, ``F`` the free energy of the joint RBM with label unit
        ``k`` on (Hinton, Osindero & Teh 2006, section 6). The fine-tuned
        network (``predict_proba``) plays no part.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``; rows sum to 1.
        """
        return np.exp(self._generative_label_log_proba(X))

    def predict_generative(self, X):
        """Predict the class of least free energy in the generative model.

        See :meth:`predict_proba_generative`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            The class whose label gives the lowest free energy.
        """
        log_proba = self._generative_label_log_proba(X)
        return self.classes_[np.argmax(log_proba, axis=1)]
