"""Semi-supervised fitting: which rows reach the supervised loss.

``DBNClassifier`` and ``DBNRegressor`` accept training rows without a label:
they take part in pre-training (which needs no labels) and, for the
classifier, in fine-tuning through virtual adversarial training
(``_consistency.py``) and pseudo-labels. This module owns the
marker of an unlabelled row and the pseudo-labelling of minibatches; the fit
loop in ``_dbn.py`` decides what each phase sees.

The markers follow scikit-learn where it has a convention:

- classifiers: the label ``-1``, as in ``sklearn.semi_supervised``
  (``LabelSpreading``, ``SelfTrainingClassifier``). String labels mark
  unlabelled rows with the integer ``-1`` in an object array, as
  ``SelfTrainingClassifier`` asks; a string array (dtype ``U``/``S``) that
  holds ``"-1"`` is refused rather than guessed at.
- regressors: ``NaN`` (every target of the row), because ``-1`` is a valid
  target value and ``NaN`` is how numpy and pandas mark a missing value.
"""

import numpy as np
import scipy.sparse as sp

#: The label that marks an unlabelled row for a classifier.
UNLABELLED = -1


def classifier_labelled_rows(y):
    """Boolean mask of the labelled rows of classifier targets ``y``.

    ``y`` is validated (1-D labels or a 2-D indicator matrix). Returns None
    when every row is labelled (the common case costs nothing further).
    """
    if y.ndim != 1:
        return None  # multilabel indicator: -1 would be rejected as a target
    if y.dtype.kind in "US":
        if (y == str(UNLABELLED)).any():
            raise ValueError(
                'y is an array of strings that holds "-1". Unlabelled rows are '
                "marked with the integer -1, as in sklearn.semi_supervised: for "
                "string labels, pass y as an object array (dtype=object) with -1 "
                'for the unlabelled rows, or rename the class "-1".'
            )
        return None
    if y.dtype.kind == "O":
        labelled = np.asarray(
            [not (_is_number(v) and v == UNLABELLED) for v in y], dtype=bool
        )
    elif y.dtype.kind in "biuf":
        labelled = y != UNLABELLED
    else:
        return None
    return None if labelled.all() else labelled


def _is_number(value):
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool)


def regressor_labelled_rows(y):
    """``(labelled mask or None, y with NaN rows filled)`` for raw regression targets.

    A row is unlabelled when all its targets are NaN; a row with some, but
    not all, targets NaN is refused. The unlabelled rows' targets are set to
    0 so that ``y`` passes scikit-learn's finiteness check; they never reach
    the loss.
    """
    if y is None or hasattr(y, "format"):  # missing, or sparse: nothing to mark
        return None, y
    values = np.asarray(y)
    if values.dtype.kind not in "f" and values.dtype.kind != "O":
        return None, y
    try:
        values = values.astype(np.float64)
    except (TypeError, ValueError):
        return None, y  # validate_data says what is wrong with y
    missing = np.isnan(values)
    if not missing.any():
        return None, y
    rows = missing.reshape(len(values), -1)
    unlabelled = rows.all(axis=1)
    partial = rows.any(axis=1) & ~unlabelled
    if partial.any():
        row = int(np.flatnonzero(partial)[0])
        raise ValueError(
            f"y has {int(partial.sum())} rows with some, but not all, targets "
            f"NaN, the first is row {row}. NaN marks an unlabelled row, which "
            "needs every target NaN (it is then used only in pre-training); "
            "fill or drop the partly missing targets."
        )
    values[missing] = 0.0
    return ~unlabelled, values


def check_some_labelled(labelled, estimator_name, incremental):
    """Refuse a ``fit`` without any labelled row (``partial_fit`` may have none)."""
    if labelled is None or incremental or labelled.any():
        return
    marker = "NaN" if estimator_name == "DBNRegressor" else "-1"
    raise ValueError(
        f"y has no labelled rows: every target is {marker}, the marker of an "
        f"unlabelled row. {estimator_name} needs at least one labelled row to "
        "fine-tune; to learn from unlabelled data alone, fit a "
        "BernoulliRBMStack or GaussianRBMStack."
    )


def split_labelled(labelled, X, y, sample_weight):
    """``(X, y, w)`` of the labelled rows and ``(X, w)`` of the unlabelled ones.

    With ``labelled`` None, everything is labelled and the unlabelled part is
    ``(None, None)``.
    """
    if labelled is None:
        return (X, y, sample_weight), (None, None)
    unlabelled = np.flatnonzero(~labelled)
    rows = np.flatnonzero(labelled)
    weight = None if sample_weight is None else sample_weight[rows]
    weight_u = None if sample_weight is None else sample_weight[unlabelled]
    return (X[rows], y[rows], weight), (X[unlabelled], weight_u)


def add_rows(X, sample_weight, X_more, weight_more):
    """Rows of ``X`` followed by those of ``X_more`` (None: nothing to add)."""
    if X_more is None or X_more.shape[0] == 0:
        return X, sample_weight
    if sp.issparse(X) or sp.issparse(X_more):
        X = sp.vstack([X, X_more], format="csr")
    else:
        X = np.concatenate([X, X_more])
    if sample_weight is not None:
        sample_weight = np.concatenate([sample_weight, weight_more])
    return X, sample_weight


class ShuffledRows:
    """Minibatches of ``batch_size`` indices from successive passes over ``n`` rows."""

    def __init__(self, n, batch_size, rng, shuffle=True):
        self.n, self.batch_size = n, max(1, min(int(batch_size), n))
        self.rng, self.shuffle = rng, shuffle
        self._order = np.empty(0, dtype=np.intp)

    def next(self):
        if self._order.size < self.batch_size:
            fresh = self.rng.permutation(self.n) if self.shuffle else np.arange(self.n)
            self._order = np.concatenate([self._order, fresh])
        rows, self._order = (
            self._order[: self.batch_size],
            self._order[self.batch_size :],
        )
        return rows


class PseudoLabeller:
    """Pseudo-labels for unlabelled rows, one minibatch at a time.

    Pseudo-labelling (Lee 2013): alongside each minibatch of labelled rows,
    the fine-tuning step sees a minibatch of unlabelled rows labelled with
    the network's own most probable class, where that class's probability
    reaches ``threshold``. The step's loss is the labelled rows' (weighted)
    mean loss plus ``weight`` times the mean loss over the unlabelled
    minibatch, in which the rows below the threshold count zero. The labels
    are recomputed at every step from the current network, without dropout.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_unlabelled, n_features)
        The unlabelled rows, scaled as the network reads them.
    sample_weight : ndarray of shape (n_unlabelled,) or None
        Their weights (multiplied into the pseudo-labelled rows' weights).
    batch_size : int
        Unlabelled rows drawn per step (at most ``n_unlabelled``).
    weight : float
        Weight of a pseudo-labelled row relative to a labelled one.
    threshold : float
        Lowest probability of the most probable class that yields a label.
    rng : numpy.random.Generator
        Source of the minibatch draws.
    """

    def __init__(self, X, sample_weight, batch_size, weight, threshold, rng):
        self.X = X
        self.sample_weight = sample_weight
        self.weight = float(weight)
        self.threshold = float(threshold)
        self._rows = ShuffledRows(X.shape[0], batch_size, rng)

    def extend(self, network, X, Y, sample_weight):
        """The minibatch ``(X, Y, sample_weight)`` with pseudo-labelled rows added.

        ``sample_weight`` None means weights of 1; the result has explicit
        weights when rows were added.
        """
        rows = self._rows.next()
        X_u = self.X[rows]
        proba = network.forward(X_u)
        best = np.argmax(proba, axis=1)
        confident = proba[np.arange(len(rows)), best] >= self.threshold
        if not confident.any():
            return X, Y, sample_weight
        X_u, best = X_u[confident], best[confident]
        Y_u = np.zeros((len(best), Y.shape[1]), dtype=Y.dtype)
        Y_u[np.arange(len(best)), best] = 1
        if sample_weight is None:
            sample_weight = np.ones(Y.shape[0], dtype=Y.dtype)
        # As Lee (2013): the labelled rows' mean loss plus ``weight`` times
        # the mean loss of the unlabelled minibatch (unconfident rows count 0).
        total = float(sample_weight.sum(dtype=np.float64))
        weight_u = np.full(len(best), self.weight * total / len(rows), dtype=Y.dtype)
        if self.sample_weight is not None:
            weight_u *= self.sample_weight[rows][confident]
        X, sample_weight = add_rows(X, sample_weight, X_u, weight_u)
        return X, np.concatenate([Y, Y_u]), sample_weight


def check_marker_use(estimator, y, labelled, classes, first):
    """Refuse class sets that make the ``-1`` marker ambiguous (classifiers).

    ``classes`` (``partial_fit``) must not hold -1; and a fresh ``fit`` whose
    labelled rows have a single class, beside rows marked -1, most likely
    had -1 as a class (binary labels in {-1, 1}): that is an error, not a
    one-class model.
    """
    if y.ndim != 1:
        return
    if classes is not None:
        marked = [c for c in np.asarray(classes, dtype=object).ravel() if c is not None]
        if any(_is_number(c) and c == UNLABELLED for c in marked):
            raise ValueError(
                f"classes={classes!r} holds -1, which marks an unlabelled row "
                "(as in sklearn.semi_supervised) and cannot be a class. Encode "
                "the classes without -1 (e.g. with sklearn.preprocessing."
                "LabelEncoder)."
            )
        return
    if first and labelled is not None and np.unique(y).size < 2:
        raise ValueError(
            f"y has {int((~labelled).sum())} rows labelled -1, the marker of an "
            "unlabelled row (as in sklearn.semi_supervised), and only one class "
            f"among the others ({np.unique(y)!r}). If -1 is a class of your data "
            "(binary labels in {-1, 1}), encode the labels without it, e.g. "
            "y = (y == 1).astype(int)."
        )
