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

from ._columns import COLUMN_TYPES, as_numbers, column_missing, table_columns
from ._serialization import PlainStateMixin
from ._tabular import TabularRBMStack


def impute_mean_field(layer, V, n_steps):
    """Missing entries (NaN) of ``V`` replaced by a mean-field estimate.

    The hidden units start at ``E[h | observed]`` (missing units left out),
    then ``n_steps`` times the missing units take their mean ``E[v | h]``
    and the hidden units ``E[h | v]`` given every unit: the naive mean-field
    fixed point of ``p(missing, h | observed)``. Returns a new array.
    """
    missing = np.isnan(V)
    filled = np.where(missing, 0.0, V)
    hidden = layer.hidden_mean(V)
    for _ in range(n_steps):
        filled[missing] = layer.visible_mean(hidden)[missing]
        hidden = layer.hidden_mean(filled)
    filled[missing] = layer.visible_mean(hidden)[missing]
    return filled


def impute_gibbs(layer, V, n_steps, rng, draw):
    """Missing entries of ``V`` filled by Gibbs sampling with the rest clamped.

    The chain alternates ``h ~ p(h | v)`` and ``v_missing ~ p(v_missing |
    h)``, the observed units clamped to their values, from the mean-field
    estimate; its stationary distribution is the RBM's exact conditional
    ``p(missing | observed)``. ``draw``: the last state of the chain (one
    draw, for multiple imputation); otherwise the average of ``E[v | h]``
    over the second half of the ``n_steps`` steps (an estimate of the
    conditional mean).
    """
    missing = np.isnan(V)
    state = impute_mean_field(layer, V, 0)
    total, n_averaged = np.zeros_like(state), 0
    for step in range(max(n_steps, 1)):
        hidden = layer.sample_hidden(state, rng)
        if not draw and 2 * step >= n_steps - 1:
            total += layer.visible_mean(hidden)
            n_averaged += 1
        state[missing] = layer.sample_visible(hidden, rng)[missing]
    if draw:
        return state
    filled = np.where(missing, total / n_averaged, V)
    return filled


class RBMImputer(PlainStateMixin, TransformerMixin, BaseEstimator):
    """Imputation of missing entries by a Restricted Boltzmann Machine.

    An RBM with typed visible units (numbers, binary columns and
    categories, as in :class:`TabularRBMStack`) is trained on the observed
    entries only, missing ones being left out of the energy. ``transform``
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
    n_components : int, default=64
        Number of hidden units of the RBM.
    column_types : "auto", str, sequence of str or dict, default="auto"
        Type of each column (``"gaussian"``, ``"bernoulli"``,
        ``"categorical"``), as in :class:`TabularRBMStack`.
    method : {"mean-field", "gibbs"}, default="mean-field"
        How the conditional mean is estimated when
        ``sample_posterior=False``: a deterministic mean-field fixed point,
        or the average over a Gibbs chain with the observed entries clamped.
    n_steps : int, default=10
        Mean-field iterations (0 takes the hidden units given the observed
        entries alone), or Gibbs steps.
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
        Learn a standard deviation per numeric column (see
        :class:`TabularRBMStack`). It helps where columns predict one
        another closely (wine in ``benchmarks/bench_tabular_mixed.py``) and
        hurts elsewhere with the default step (breast cancer, diabetes,
        german), so it is off by default.
    learning_rate : float or "auto", default="auto"
        Step size of the RBM's training (``"auto"``: 0.01).
    n_epochs : int, default=100
        Passes over the training data.
    batch_size : int or "auto", default=16
        Rows per minibatch; ``"auto"`` is ``min(100, n_samples)``. Small
        minibatches give the many updates that the small step of
        real-valued units needs on tables of a few hundred rows.
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
        The fitted one-layer model (its ``layers_[0]`` is the RBM).
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
    it by a factorised approximation, deterministic and cheaper. On the
    tables of ``benchmarks/bench_tabular_mixed.py`` the two give errors
    within a few percent of each other, neither consistently lower, so the
    default is the deterministic one.

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
        "n_steps": [Interval(Integral, 0, None, closed="left")],
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
        n_components=64,
        *,
        column_types="auto",
        method="mean-field",
        n_steps=10,
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
        missing = self._missing(self.stack_._validate_input(X, reset=False))
        self.empty_features_ = missing.all(axis=0)
        self.indicator_ = None
        if self.add_indicator:
            self.indicator_ = MissingIndicator(error_on_new=False).fit(
                np.where(missing, np.nan, 0.0)
            )
        return self

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
        with np.errstate(over="ignore"):
            if self.sample_posterior:
                filled = impute_gibbs(layer, V, self.n_steps, rng, draw=True)
            elif self.method == "gibbs":
                filled = impute_gibbs(layer, V, self.n_steps, rng, draw=False)
            else:
                filled = impute_mean_field(layer, V, self.n_steps)
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
