"""Missing values filled in by an RBM trained on the observed entries."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.impute import MissingIndicator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_is_fitted,
    validate_data,
)

from ._columns import (
    COLUMN_TYPES,
    as_numbers,
    coded_columns,
    column_missing,
    table_columns,
)
from ._lateral import (
    lateral_start,
    make_proper,
    solve_block,
    solve_block_backward,
    visible_conditionals,
)
from ._serialization import PlainStateMixin
from ._tabular import TabularRBMStack


def impute_mean_field(layer, V, n_steps, precision=None):
    """Missing entries (NaN) of ``V`` replaced by a mean-field estimate.

    The hidden units start at ``E[h | observed]`` (missing units left out),
    then ``n_steps`` times the missing units take their mean ``E[v | h]``
    and the hidden units ``E[h | v]`` given every unit: the naive mean-field
    fixed point of ``p(missing, h | observed)``. With a ``precision`` matrix
    of the Gaussian units (lateral connections), their missing block takes
    its exact conditional mean given ``h`` and the observed units. Returns
    a new array.
    """
    missing = np.isnan(V)
    filled = np.where(missing, 0.0, V)
    visible_mean, _ = visible_conditionals(layer, V, precision)
    hidden = layer.hidden_mean(V)
    for _ in range(n_steps):
        filled[missing] = visible_mean(hidden)[missing]
        hidden = layer.hidden_mean(filled)
    filled[missing] = visible_mean(hidden)[missing]
    return filled


#: ``n_steps="auto"`` of RBMImputer's mean-field imputation, which the
#: fine-tuning trains (3 unrolled steps imputed better than 0 or 10).
AUTO_MEAN_FIELD_STEPS = 3
#: ``n_steps="auto"`` of its Gibbs chains.
AUTO_GIBBS_STEPS = 10
#: Step size of Adam in the denoising fine-tuning (see RBMImputer).
DENOISING_LEARNING_RATE = 3e-3
#: Rows per minibatch of the denoising fine-tuning.
DENOISING_BATCH_SIZE = 32
#: Fraction of the rows held out to stop the fine-tuning (none below 10 rows).
DENOISING_VALIDATION_FRACTION = 0.2
#: Fixed draws of hidden entries per validation row (a less noisy loss).
DENOISING_VALIDATION_DRAWS = 4
#: Epochs without a lower validation loss before the fine-tuning stops.
DENOISING_PATIENCE = 20


def _sigmoid(a):
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def _mean_backward(units, mean, grad):
    """``J.T @ grad`` for the Jacobian ``J`` of the visible mean in its field."""
    out = grad.copy()
    b = units.bernoulli
    out[:, b] *= mean[:, b] * (1.0 - mean[:, b])
    if len(units.group_sizes):
        s = units.softmax
        product = grad[:, s] * mean[:, s]
        sums = np.add.reduceat(product, units.group_starts, axis=1)
        out[:, s] = product - mean[:, s] * sums[:, units.group_of]
    return out


def _denoising_step(layer, V, predict, n_steps, precision=None):
    """Loss of the mean-field imputation of ``predict`` and its gradient.

    ``V`` (model units, NaN where missing) with the units ``predict`` (all
    observed) hidden from the model; the imputation is
    :func:`impute_mean_field` with ``n_steps`` steps, unrolled, and the loss
    the negative log-likelihood of the hidden values under each unit's
    conditional given the final hidden means (squared error / 2, binary or
    categorical cross-entropy), summed over units, averaged over rows.
    Returns ``(loss, (dW, db, dc))`` for ``(weights, visible_bias,
    hidden_bias)``, and ``dP`` after them with a ``precision`` matrix of
    the Gaussian units (lateral connections, see ``_lateral``; its free
    Gaussian units are then solved for jointly given the hidden units and
    the other units). Binary hidden units; with learned standard deviations
    ``s`` (kept fixed here), ``V`` is in units of ``s``.
    """
    units, W, c = layer.visible_type, layer.weights, layer.hidden_bias
    std = layer.visible_std
    b = layer._scaled_visible_bias()
    g = units.gaussian
    target = np.where(predict, V, 0.0)
    free = np.isnan(V) | predict
    given = np.where(free, 0.0, V)

    def visible(hidden):
        field = hidden @ W.T + b
        mean = units.mean(field, np.empty_like(given))
        if precision is not None:
            mean[:, g] = solve_block(precision, field[:, g], given[:, g], free[:, g])
        return mean

    def backward(mean, d_mean, canonical=False):
        # canonical: d_mean is the loss's gradient in the field already.
        d_field = d_mean.copy() if canonical else _mean_backward(units, mean, d_mean)
        if precision is None:
            return d_field, 0.0
        d_field[:, g], dP = solve_block_backward(
            precision, mean[:, g], free[:, g], d_mean[:, g]
        )
        return d_field, dP

    inputs, hidden, means = [given], [_sigmoid(given @ W + c)], [None]
    for _ in range(n_steps):
        mean = visible(hidden[-1])
        inputs.append(np.where(free, mean, given))
        hidden.append(_sigmoid(inputs[-1] @ W + c))
        means.append(mean)
    out = visible(hidden[-1])
    n_rows = V.shape[0]
    loss = _negative_log_likelihood(units, out, target, predict) / n_rows
    # The canonical link: the loss's gradient in the field is mean - target
    # (in the mean itself for the laterally connected Gaussian units).
    d_out = np.where(predict, out - target, 0.0) / n_rows
    d_field, dP = backward(out, d_out, canonical=True)
    dW, db = d_field.T @ hidden[-1], d_field.sum(axis=0)
    dc = np.zeros_like(c)
    d_hidden = d_field @ W
    for k in range(n_steps, -1, -1):
        d_pre = d_hidden * hidden[k] * (1.0 - hidden[k])
        dW += inputs[k].T @ d_pre
        dc += d_pre.sum(axis=0)
        if k == 0:
            break
        d_field, dP_k = backward(means[k], np.where(free, d_pre @ W.T, 0.0))
        dP = dP + dP_k
        dW += d_field.T @ hidden[k - 1]
        db += d_field.sum(axis=0)
        d_hidden = d_field @ W
    if std is not None:
        db /= std
    if precision is None:
        return loss, (dW, db, dc)
    return loss, (dW, db, dc, dP)


def _negative_log_likelihood(units, mean, target, predict):
    """Summed NLL of ``target`` at the units ``predict`` given their means."""
    g, b, s = units.gaussian, units.bernoulli, units.softmax
    total = 0.5 * np.sum(np.where(predict[:, g], mean[:, g] - target[:, g], 0.0) ** 2)
    p = np.clip(mean[:, b], 1e-7, 1 - 1e-7)
    t = target[:, b]
    total -= np.sum(np.where(predict[:, b], t * np.log(p) + (1 - t) * np.log1p(-p), 0))
    total -= np.sum(
        np.where(predict[:, s], target[:, s] * np.log(np.maximum(mean[:, s], 1e-12)), 0)
    )
    return float(total)


def fine_tune_denoising(
    layer, V, columns, *, n_epochs, drop_fraction, n_steps, rng, precision=None
):
    """Train ``layer``'s mean-field imputation to fill in hidden entries.

    Each minibatch hides a random ``drop_fraction`` of each row's observed
    columns (a categorical column's whole group) and takes a step of Adam on
    the loss of :func:`_denoising_step`. ``columns``: the input column of
    each unit. ``DENOISING_VALIDATION_FRACTION`` of the rows (of tables of
    100 rows or more), not trained on, with ``DENOISING_VALIDATION_DRAWS``
    fixed draws of hidden entries each, measure the loss after each epoch;
    training stops after ``DENOISING_PATIENCE`` epochs without improvement
    and keeps the best parameters (those it started from when no epoch beat
    them). Changes ``layer`` in place; returns the number of epochs and the
    validation losses (empty without a validation set). A ``precision``
    matrix of the Gaussian units (lateral connections, see ``_lateral``) is
    trained with the rest, in place, and kept symmetric and positive
    definite after each step.
    """
    if layer.visible_std is not None:
        V = V / layer.visible_std
    n_rows, n_columns = V.shape[0], int(columns.max()) + 1 if columns.size else 0
    observed = ~np.isnan(V)

    def draw_hidden(rows):
        hide = rng.random((len(rows), n_columns)) < drop_fraction
        return hide[:, columns] & observed[rows]

    order = rng.permutation(n_rows)
    n_val = int(DENOISING_VALIDATION_FRACTION * n_rows) if n_rows >= 100 else 0
    val, train = np.sort(order[:n_val]), np.sort(order[n_val:])
    val = np.tile(val, DENOISING_VALIDATION_DRAWS)
    val_hidden = draw_hidden(val) if n_val else None
    params = [layer.weights, layer.visible_bias, layer.hidden_bias]
    if precision is not None:
        params.append(precision)
    first = [np.zeros_like(p) for p in params]
    second = [np.zeros_like(p) for p in params]
    best, best_params, losses, step, n_done = np.inf, None, [], 0, 0
    if n_val:  # the starting point is a candidate too
        best, _ = _denoising_step(layer, V[val], val_hidden, n_steps, precision)
        best_params = [p.copy() for p in params]
    while n_done < n_epochs:
        n_done += 1
        rng.shuffle(train)
        for start in range(0, len(train), DENOISING_BATCH_SIZE):
            rows = train[start : start + DENOISING_BATCH_SIZE]
            _, grads = _denoising_step(
                layer, V[rows], draw_hidden(rows), n_steps, precision
            )
            if precision is not None:  # the gradient of a symmetric matrix
                grads = (*grads[:3], 0.5 * (grads[3] + grads[3].T))
            step += 1
            for p, g, m, v in zip(params, grads, first, second, strict=True):
                m *= 0.9
                m += 0.1 * g
                v *= 0.999
                v += 0.001 * g * g
                m_hat = m / (1 - 0.9**step)
                v_hat = v / (1 - 0.999**step)
                p -= (DENOISING_LEARNING_RATE * m_hat / (np.sqrt(v_hat) + 1e-8)).astype(
                    p.dtype
                )
            if precision is not None:
                make_proper(precision)
        if not n_val:
            continue
        loss, _ = _denoising_step(layer, V[val], val_hidden, n_steps, precision)
        losses.append(loss)
        if loss < best:
            best, best_params = loss, [p.copy() for p in params]
        elif len(losses) - 1 - int(np.argmin(losses)) >= DENOISING_PATIENCE:
            break
    if best_params is not None:
        for p, saved in zip(params, best_params, strict=True):
            p[...] = saved
    return n_done, losses


def impute_gibbs(layer, V, n_steps, rng, draw, precision=None):
    """Missing entries of ``V`` filled by Gibbs sampling with the rest clamped.

    The chain alternates ``h ~ p(h | v)`` and ``v_missing ~ p(v_missing |
    h, v_observed)``, the observed units clamped to their values, from the
    mean-field estimate; its stationary distribution is the model's exact
    conditional ``p(missing | observed)``. Without lateral connections
    (``precision=None``) the visible units are independent given ``h``;
    with them the missing Gaussian units of a row are drawn jointly from
    their Gaussian given ``h`` and the observed ones. ``draw``: the last
    state of the chain (one draw, for multiple imputation); otherwise the
    average of ``E[v_missing | h, v_observed]`` over the second half of the
    ``n_steps`` steps (an estimate of the conditional mean).
    """
    missing = np.isnan(V)
    visible_mean, sample_visible = visible_conditionals(layer, V, precision)
    state = impute_mean_field(layer, V, 0, precision)
    total, n_averaged = np.zeros_like(state), 0
    for step in range(max(n_steps, 1)):
        hidden = layer.sample_hidden(state, rng)
        if not draw and 2 * step >= n_steps - 1:
            total += visible_mean(hidden)
            n_averaged += 1
        state[missing] = sample_visible(hidden, rng)[missing]
    if draw:
        return state
    filled = np.where(missing, total / n_averaged, V)
    return filled


class RBMImputer(PlainStateMixin, TransformerMixin, BaseEstimator):
    """Imputation of missing entries by a Restricted Boltzmann Machine.

    An RBM with typed visible units (numbers, binary columns and
    categories, as in :class:`TabularRBMStack`) is trained on the observed
    entries only, missing ones being left out of the energy, then
    fine-tuned to fill in entries hidden from it (see Notes). ``transform``
    then fills each missing entry from the model's conditional distribution
    given the row's observed entries: its mean (mean-field, or averaged
    over a Gibbs chain), or, with ``sample_posterior=True``, one draw, so
    that several imputations with different ``random_state`` give multiple
    imputation. Observed entries are returned unchanged.

    Numbers are filled with the conditional mean, binary columns with the
    conditional probability of a 1 (a draw of 0 or 1 with
    ``sample_posterior=True``), and categorical columns with the most
    probable category (a drawn one).

    Parameters
    ----------
    n_components : int, default=128
        Number of hidden units of the RBM.
    column_types : "auto", str, sequence of str or dict, default="auto"
        Type of each column (``"gaussian"``, ``"bernoulli"``,
        ``"categorical"``), as in :class:`TabularRBMStack`.
    method : {"mean-field", "gibbs"}, default="mean-field"
        How the conditional mean is estimated when
        ``sample_posterior=False``: a deterministic mean-field fixed point,
        or the average over a Gibbs chain with the observed entries clamped.
    n_steps : int or "auto", default="auto"
        Mean-field iterations (0 takes the hidden units given the observed
        entries alone), or Gibbs steps; ``"auto"`` is 3 mean-field steps
        and 10 Gibbs steps. The fine-tuning trains the mean-field
        imputation with this many steps.
    denoising_epochs : int, default=200
        Most passes of the denoising fine-tuning of the mean-field imputer
        (it stops earlier when the loss on held-out rows stops falling); 0
        keeps the RBM as contrastive divergence leaves it, without lateral
        connections. Without lateral connections, ``method="gibbs"`` and
        ``sample_posterior=True`` skip it too (their chains sample the RBM
        of contrastive divergence); with them, the chains sample the
        fine-tuned model (trained with 3 mean-field steps).
    drop_fraction : float, default=0.2
        Fraction of each row's observed columns hidden from the model at
        each fine-tuning step, to be filled in.
    lateral : bool, default=True
        Connect the numeric (Gaussian) visible units to one another, a
        semi-restricted Boltzmann machine: given the hidden units they are
        a Gaussian with a full precision matrix (``visible_precision_``)
        instead of independent unit-variance units, so that the model
        holds the linear regression of each number on the others, which
        ``IterativeImputer`` exploits, and the hidden units what it misses.
        The precision starts from a Gaussian fitted to the observed numbers
        by EM and is trained by the denoising fine-tuning (see Notes);
        without fine-tuning (``denoising_epochs=0``) there are none. Binary
        and categorical units are not connected laterally. On
        ``benchmarks/bench_tabular_mixed.py`` it made the RBM the best
        numeric imputer in 20 of 27 settings (11 without; see Notes).
    sample_posterior : bool, default=False
        Fill each missing entry with a draw from the RBM's conditional
        distribution (the last state of a Gibbs chain of ``n_steps`` steps)
        instead of its mean.
    add_indicator : bool, default=False
        Append a :class:`~sklearn.impute.MissingIndicator` of the columns
        that had missing entries in training.
    keep_empty_features : bool, default=False
        Keep the columns with no observed entry in training, filled with 0
        (numbers) or left missing (categorical columns, which have no
        category to choose); by default they are dropped, as in
        scikit-learn's imputers.
    learn_variance : bool, default=False
        Learn a standard deviation per numeric column in the contrastive
        divergence phase (see :class:`TabularRBMStack`; the fine-tuning
        keeps them). Without fine-tuning it helped on wine and hurt on
        breast cancer, diabetes and german in
        ``benchmarks/bench_tabular_mixed.py``, so it is off by default.
    learning_rate : float or "auto", default="auto"
        Step size of the RBM's training (``"auto"``: 0.01).
    n_epochs : int, default=100
        Passes over the training data.
    batch_size : int or "auto", default=16
        Rows per minibatch of the RBM's training; ``"auto"`` is the stacks' rule,
        ``min(100, max(10, ceil(n_samples / 10)))``. Small minibatches give
        the many updates that the small step of real-valued units needs on
        tables of a few hundred rows.
    weight_decay : float, default=2e-4
        L2 penalty on the weights.
    random_state : int, RandomState instance or None, default=None
        Seed of the training and of the Gibbs chains of ``transform`` (each
        call starts from it again, so a fixed seed imputes the same values).
    verbose : int, default=0
        Print one line per training epoch when positive.

    Attributes
    ----------
    stack_ : TabularRBMStack
        The fitted one-layer model (its ``layers_[0]`` is the RBM, with the
        fine-tuned parameters).
    n_denoising_epochs_ : int
        Epochs of denoising fine-tuning run (0 without fine-tuning).
    visible_precision_ : ndarray of shape (n_gaussian, n_gaussian) or None
        With ``lateral=True`` (and numeric columns, and fine-tuning), the
        symmetric positive definite precision matrix of the Gaussian units
        given the hidden units, in the coded (standardised) units: the
        identity minus the lateral connections, the diagonal learned too.
        The missing numbers of a row given the hidden units and its
        observed numbers ``o`` are then ``N(P_mm^-1 (b_m + (W h)_m - P_mo
        v_o), P_mm^-1)``. None without lateral connections.
    denoising_loss_ : list of float
        Loss of the imputation of hidden entries of the held-out rows after
        each fine-tuning epoch (negative log-likelihood per row; empty for
        fewer than 100 rows, which are fine-tuned for ``denoising_epochs``
        without holding any out); the parameters kept are those of the
        lowest, or those it started from if they were lower still.
    indicator_ : sklearn.impute.MissingIndicator or None
        The indicator of missing entries, with ``add_indicator=True``.
    empty_features_ : ndarray of bool of shape (n_features_in_,)
        The columns with no observed entry in training.
    n_features_in_ : int
        Number of columns seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the columns seen during fit, when ``X`` has string column
        names.

    See Also
    --------
    TabularRBMStack : The model behind the imputer.
    sklearn.impute.IterativeImputer : Imputes each column by regression.
    sklearn.impute.KNNImputer : Imputes from the nearest rows.

    Notes
    -----
    Training leaves missing entries out of the energy (see
    :class:`TabularRBMStack`); imputation conditions on the observed
    entries. Gibbs sampling with the observed units clamped samples the
    RBM's exact conditional ``p(missing | observed)``; mean-field replaces
    it by a factorised approximation, deterministic and cheaper.

    Contrastive divergence alone makes a poor imputer of numbers: a
    Gaussian unit of variance 1 on a standardised column says that the
    column varies by its whole spread around what the hidden units
    predict, and no unit-variance RBM can hold columns that predict one
    another closely (its covariance is at least the unit noise's in every
    direction). A smaller fixed ``visible_std`` makes that bound smaller
    but training by contrastive divergence did not reach it (errors rose
    on the benchmark's tables), nor did learned variances. So after
    contrastive divergence the imputer trains what it is used for, as a
    denoising autoencoder is trained (Vincent et al. 2008): each step hides
    ``drop_fraction`` of the observed columns of a minibatch's rows and
    follows, by Adam, the gradient of the negative log-likelihood of the
    hidden values (squared error, binary or categorical cross-entropy)
    under the ``n_steps``-step mean-field imputation, unrolled. The weights
    stay tied: the model is still an RBM, and its conditional mean is what
    ``transform`` computes. A fifth of the rows (of tables of 100 rows or
    more) is held out of the fine-tuning to stop it. On the tables of
    ``benchmarks/bench_tabular_mixed.py`` it lowers the numbers' error in
    18 of 21 settings (breast cancer at 20% missing: 0.638 to 0.487, in
    standard units) and keeps the categories' error.

    Tied weights alone still left the RBM behind ``IterativeImputer`` on
    near-linear numeric tables (breast cancer: 0.487 against 0.407). With
    ``lateral=True`` (the default) the Gaussian units are also connected to
    one another (a semi-restricted Boltzmann machine, Osindero & Hinton
    2008): their energy is ``v @ P @ v / 2 - v @ (b + W h)`` with a
    symmetric positive definite ``P`` (the identity in the RBM), so that
    given the hidden units the missing numbers of a row are a Gaussian
    whose mean is solved for exactly, given the row's observed numbers,
    at each mean-field step and each Gibbs step (the hidden units'
    conditional is unchanged). The diagonal of ``P`` is learned too: with
    a unit diagonal the regression coefficients of one column on another
    would have to be symmetric. The Gaussian units start as the linear
    Gaussian model of the numbers fitted by EM to the observed entries
    (correlations shrunk by 1%; no weights to the hidden units), which is
    the linear imputer, and the fine-tuning trains ``P`` with the rest (the
    gradient through the per-row solves checked by finite differences),
    keeping ``P`` positive definite; the starting point is kept if no
    epoch beats it on the held-out rows. Binary and categorical units are
    not connected laterally: they see the numbers through the hidden units.
    The model with laterals is a proper Gaussian-Bernoulli model, and its
    Gibbs chains sample it exactly (checked against numerical integration);
    its draws missed the truth by about sqrt(2) times the conditional
    mean's error on the benchmark tables, as draws from a calibrated
    conditional do, so ``method="gibbs"`` and ``sample_posterior=True``
    sample the fine-tuned model. Without laterals they sample the RBM
    fitted by contrastive divergence, without fine-tuning: its weights
    tuned for three mean-field steps are a worse generative model (Gibbs
    means of RMSE 2.26 on crx's numbers, against 1.05 without).
    On ``benchmarks/bench_tabular_mixed.py`` (three seeds) laterals made
    the RBM the best numeric imputer in 20 of 27 settings (11 without;
    breast cancer at 20%: 0.360 against ``IterativeImputer``'s 0.378 and
    0.478 without), the categories' error the lowest in 12 of 15; on the
    purely numeric tables the fine-tuning moved little from the linear
    start, so there the gain is the linear Gaussian's. Fit time is about
    9 times ``IterativeImputer``'s.

    References
    ----------
    Osindero, S. & Hinton, G. E. (2008). Modeling image patches with a
    directed hierarchy of Markov random fields. NIPS 20.

    Vincent, P., Larochelle, H., Bengio, Y. & Manzagol, P.-A. (2008).
    Extracting and composing robust features with denoising autoencoders.
    ICML.

    Examples
    --------
    >>> import numpy as np
    >>> from skdbn import RBMImputer
    >>> rng = np.random.default_rng(0)
    >>> z = rng.standard_normal((200, 1))
    >>> X = np.hstack([z, 2 * z, -z]) + 0.1 * rng.standard_normal((200, 3))
    >>> X_missing = X.copy()
    >>> X_missing[::4, 1] = np.nan
    >>> imputer = RBMImputer(n_components=8, random_state=0).fit(X_missing)
    >>> imputer.n_denoising_epochs_ > 0
    True
    >>> X_filled = imputer.transform(X_missing)
    >>> bool(np.isnan(X_filled).any())
    False
    >>> X_filled.shape
    (200, 3)
    """

    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "column_types": [StrOptions({"auto", *COLUMN_TYPES}), dict, list, tuple],
        "method": [StrOptions({"mean-field", "gibbs"})],
        "n_steps": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "denoising_epochs": [Interval(Integral, 0, None, closed="left")],
        "drop_fraction": [Interval(Real, 0, 1, closed="neither")],
        "lateral": ["boolean"],
        "sample_posterior": ["boolean"],
        "add_indicator": ["boolean"],
        "keep_empty_features": ["boolean"],
        "learn_variance": ["boolean"],
        "learning_rate": [
            Interval(Real, 0, None, closed="neither"),
            StrOptions({"auto"}),
        ],
        "n_epochs": [Interval(Integral, 0, None, closed="left")],
        "batch_size": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_components=128,
        *,
        column_types="auto",
        method="mean-field",
        n_steps="auto",
        denoising_epochs=200,
        drop_fraction=0.2,
        lateral=True,
        sample_posterior=False,
        add_indicator=False,
        keep_empty_features=False,
        learn_variance=False,
        learning_rate="auto",
        n_epochs=100,
        batch_size=16,
        weight_decay=2e-4,
        random_state=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.column_types = column_types
        self.method = method
        self.n_steps = n_steps
        self.denoising_epochs = denoising_epochs
        self.drop_fraction = drop_fraction
        self.lateral = lateral
        self.sample_posterior = sample_posterior
        self.add_indicator = add_indicator
        self.keep_empty_features = keep_empty_features
        self.learn_variance = learn_variance
        self.learning_rate = learning_rate
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the RBM on the observed entries of ``X``.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Table with missing entries (NaN, None or ``pandas.NA``).
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted imputer.
        """
        table_columns(X)  # refuses sparse, empty and complex input first
        validate_data(self, X, skip_check_array=True, reset=True)
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        self.stack_ = TabularRBMStack(
            hidden_layer_sizes=(self.n_components,),
            column_types=self.column_types,
            learn_variance=self.learn_variance,
            learning_rate=self.learning_rate,
            n_epochs=self.n_epochs,
            batch_size=self.batch_size,
            weight_decay=self.weight_decay,
            random_state=seed,
            verbose=self.verbose,
        ).fit(X)
        V = self.stack_._validate_input(X, reset=False)
        missing = self._missing(V)
        self.n_denoising_epochs_, self.denoising_loss_ = 0, []
        self.visible_precision_ = None
        stack = self.stack_
        layer = stack.layers_[0]
        lateral = self.lateral and layer.visible_type.gaussian.stop > 0
        # Without laterals, Gibbs chains sample the RBM that contrastive
        # divergence fitted: the weights tuned for mean-field are a worse
        # generative model (on crx, Gibbs means of RMSE 2.26 against 1.05
        # without the fine-tuning). With laterals, the fine-tuned model
        # samples well (draws of the spread of its conditional, see Notes).
        if self.denoising_epochs and (lateral or self._imputes_by_mean_field()):
            if lateral:
                self.visible_precision_ = lateral_start(layer, V)
            n_steps = self._n_steps() if self._imputes_by_mean_field() else None
            with np.errstate(over="ignore"):
                self.n_denoising_epochs_, self.denoising_loss_ = fine_tune_denoising(
                    layer,
                    V,
                    coded_columns(stack.column_types_, stack.categories_),
                    n_epochs=self.denoising_epochs,
                    drop_fraction=self.drop_fraction,
                    n_steps=AUTO_MEAN_FIELD_STEPS if n_steps is None else n_steps,
                    rng=np.random.default_rng(seed),
                    precision=self.visible_precision_,
                )
        self.empty_features_ = missing.all(axis=0)
        self.indicator_ = None
        if self.add_indicator:
            self.indicator_ = MissingIndicator(error_on_new=False).fit(
                np.where(missing, np.nan, 0.0)
            )
        return self

    def _n_steps(self):
        if self.n_steps != "auto":
            return self.n_steps
        if self._imputes_by_mean_field():
            return AUTO_MEAN_FIELD_STEPS
        return AUTO_GIBBS_STEPS

    def _imputes_by_mean_field(self):
        return self.method == "mean-field" and not self.sample_posterior

    def _missing(self, V):
        return column_missing(V, self.stack_.column_types_, self.stack_.categories_)

    def transform(self, X):
        """Fill in the missing entries of ``X``.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Table with missing entries.

        Returns
        -------
        X_imputed : ndarray of shape (n_samples, n_features_out)
            ``X`` with its missing entries filled, without the empty columns
            (unless ``keep_empty_features``), followed by the indicator
            columns with ``add_indicator``. float64, or an object array when
            there are categorical columns.
        """
        check_is_fitted(self)
        columns, _ = table_columns(X)
        validate_data(self, X, skip_check_array=True, reset=False)
        stack = self.stack_
        V = stack._validate_input(X, reset=False)
        missing = self._missing(V)
        layer = stack.layers_[0]
        rng = np.random.default_rng(
            check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        )
        precision = getattr(self, "visible_precision_", None)  # older fits: none
        with np.errstate(over="ignore"):
            if self.sample_posterior:
                filled = impute_gibbs(
                    layer, V, self._n_steps(), rng, draw=True, precision=precision
                )
            elif self.method == "gibbs":
                filled = impute_gibbs(
                    layer, V, self._n_steps(), rng, draw=False, precision=precision
                )
            else:
                filled = impute_mean_field(layer, V, self._n_steps(), precision)
        imputed = stack._visible_output(filled)
        out = np.empty(imputed.shape, dtype=imputed.dtype)
        for j, values in enumerate(columns):
            if stack.column_types_[j] == "categorical":
                out[:, j] = values
            else:  # numbers (None in an object column becomes NaN)
                out[:, j] = as_numbers(values)
        out[missing] = imputed[missing]
        numeric = np.array([kind != "categorical" for kind in stack.column_types_])
        empty = self.empty_features_
        out[:, empty & numeric] = 0.0
        if not self.keep_empty_features:
            out = out[:, ~empty]
        if self.indicator_ is not None:
            indicator = self.indicator_.transform(np.where(missing, np.nan, 0.0))
            out = np.hstack([out, indicator.astype(out.dtype)])
        return out

    def get_feature_names_out(self, input_features=None):
        """Get the names of the output columns.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input column names; by default ``feature_names_in_``, or
            ``x0, x1, ...``.

        Returns
        -------
        feature_names_out : ndarray of str
            The kept input columns, then the indicator's columns.
        """
        check_is_fitted(self)
        names = _check_feature_names_in(self, input_features)
        out = names if self.keep_empty_features else names[~self.empty_features_]
        if self.indicator_ is not None:
            indicator = self.indicator_.get_feature_names_out(names)
            out = np.concatenate([out, indicator])
        return np.asarray(out, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags
