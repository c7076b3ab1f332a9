"""A stack of RBMs for tables: typed columns and missing values, natively."""

import numpy as np
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import validate_data

from ._columns import (
    COLUMN_TYPES,
    decode,
    encode,
    fit_coding,
    infer_column_types,
    layout,
    resolve_column_types,
    table_columns,
)
from ._stack_base import _RBMStackBase
from ._validation import validate_sample_weight


class TabularRBMStack(_RBMStackBase):
    """Greedy layer-wise stack of RBMs for tables of mixed column types.

    The first RBM's visible units are typed per column: a Gaussian unit for
    each numeric column (standardised with the training data's mean and
    standard deviation), a Bernoulli unit for each binary column and a
    softmax group for each categorical column, one unit per category, of
    which exactly one is on. A pandas DataFrame is used as it comes, with
    no encoder or scaler in front: ``category``, string and other
    non-numeric columns are categorical, numeric columns holding only 0 and
    1 (and booleans) binary, other numbers Gaussian; ``column_types``
    overrides the choice. The layers above are as in
    :class:`BernoulliRBMStack`.

    Missing entries (NaN, None, ``pandas.NA``) are accepted everywhere
    (``fit``, ``partial_fit``, ``transform``, ``score_samples``, the
    ``start`` of ``sample``): a missing column's units are left out of the
    energy, so they send nothing to the hidden units and add nothing to the
    free energy or to the training statistics. Each row is then modelled by
    the RBM restricted to its observed columns (with the weights every row
    shares), not by imputing a value. :class:`RBMImputer` fills them in.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default=(100,)
        Number of hidden units of each RBM, bottom to top.
    column_types : "auto", str, sequence of str or dict, default="auto"
        Type of each column: ``"gaussian"``, ``"bernoulli"`` or
        ``"categorical"``. ``"auto"`` chooses from the training data as
        above; one type applies to every column; a sequence gives one per
        column, and a dict maps column names (or positions) to types, the
        other columns ``"auto"``.
    handle_unknown : {"ignore", "error"}, default="ignore"
        What a category unseen in training does in ``transform``,
        ``score_samples`` and the later ``partial_fit`` calls: ``"ignore"``
        treats it as a missing entry (left out of the energy, rather than
        coded as all zeros as ``OneHotEncoder(handle_unknown="ignore")``
        does), ``"error"`` raises a ``ValueError`` naming the column and the
        value.
    hidden_units : {"bernoulli", "relu", "gaussian"} or sequence, \
            default="bernoulli"
        Type of each layer's hidden units (per layer if a sequence).
    learning_rate : float, "auto" or sequence, default="auto"
        Step size of the gradient updates (per layer if a sequence).
        ``"auto"`` is 0.01 for the first RBM (real-valued and softmax
        units), and 0.1 for upper RBMs with binary units on both sides.
    n_epochs : int, "auto" or sequence, default=10
        Passes over the training data for each layer. ``"auto"`` is 500
        minibatch updates within 10 to 70 epochs,
        ``max(10, min(ceil(500 / n_minibatches), 70))``, so that a small table, with
        few minibatches an epoch, trains long enough to move its weights away
        from their initial scale.
    batch_size : int or "auto", default="auto"
        Number of samples per minibatch (capped at the number of samples);
        ``"auto"`` is ``min(100, max(10, ceil(n_samples / 10)))``: 100 rows,
        or fewer for at least 10 minibatches an epoch.
    cd_steps : int or sequence of int, default=1
        Number of Gibbs steps ``k`` of CD-k (or PCD-k) per update.
    persistent : bool, default=False
        Use persistent contrastive divergence. With missing entries, the
        chains take the missing-value masks of the minibatch's rows, an
        approximation (CD-k's chains each belong to a row, and are exact).
    learn_variance : bool, default=False
        Learn a standard deviation per Gaussian column (in standard units,
        starting at 1, kept at or above 0.01; ``layers_[0].visible_log_std``,
        0 for the other units). Unit variance tells the RBM that a column
        varies by its whole spread around what the hidden units predict,
        which suits noisy columns; a learned one lets it model columns that
        the others predict closely.
    momentum : float, default=0.9
        Momentum of the updates once the ramp is over.
    initial_momentum : float, default=0.5
        Momentum at the first epoch, rising linearly to ``momentum``.
    momentum_ramp_epochs : int, default=5
        Length of the momentum ramp in epochs.
    learning_rate_schedule : {"constant", "linear"}, default="constant"
        Constant step, or decaying linearly towards 0 over a ``fit``.
    weight_decay : float or sequence of float, default=2e-4
        L2 penalty on the weights (not the biases).
    sparsity_target : float or sequence of float, default=0.1
        Desired mean activation of each hidden unit, when ``sparsity_cost > 0``.
    sparsity_cost : float or sequence of float, default=0.0
        Strength of the sparsity penalty; 0 turns it off.
    validation_fraction : float, default=None
        Fraction of the training data held out to monitor overfitting.
    random_state : int, RandomState instance or None, default=None
        Seed of the weight initialisation, the minibatch order and the Gibbs
        sampling.
    verbose : int, default=0
        Print one line per epoch and layer when positive.

    Attributes
    ----------
    layers_ : list of RBMLayer
        The fitted RBMs, bottom to top. The first has
        ``visible_units="mixed"`` and a ``visible_layout``
        ``[n_gaussian, n_bernoulli, size_1, ...]``: its visible units are
        the Gaussian columns first, then the binary ones, then one softmax
        group per categorical column, each block in column order.
    column_types_ : list of str
        Type of each input column.
    categories_ : list of list
        Categories of each categorical column, in column order (the order
        of the units of its softmax group).
    numeric_mean_ : ndarray of shape (n_gaussian,)
        Mean subtracted from each Gaussian column (over its observed values).
    numeric_scale_ : ndarray of shape (n_gaussian,)
        Standard deviation each Gaussian column is divided by (1 for a
        constant column).
    n_features_in_ : int
        Number of columns seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the columns seen during fit, when ``X`` has string column
        names.

    See Also
    --------
    GaussianRBMStack : A stack for real-valued features only.
    BernoulliRBMStack : A stack for data in ``[0, 1]``.
    RBMImputer : Fills in missing entries with such an RBM.

    Notes
    -----
    The first RBM's energy is ``E(v, h) = sum_gauss (v_i - b_i)**2 / 2 -
    sum_other b_i v_i - v @ W @ h - c @ h`` over the observed units, with
    exactly one unit on in each softmax group. Given ``h``, a Gaussian unit
    is ``N(b_i + (W h)_i, 1)``, a binary unit on with probability
    ``sigmoid(b_i + (W h)_i)`` and a softmax group takes category ``k``
    with probability proportional to ``exp(b_k + (W h)_k)``. Leaving a
    missing unit out of the energy is not the same as summing it out of the
    full RBM (whose marginal is intractable): it is the weight-sharing
    model of Salakhutdinov, Mnih & Hinton (2007) for missing ratings.
    ``inverse_transform`` and ``sample`` return the table's columns: numbers
    in the input's units, the probability (or draw) of binary columns and
    the most probable (or drawn) category.

    References
    ----------
    Salakhutdinov, R., Mnih, A. & Hinton, G. (2007). Restricted Boltzmann
    machines for collaborative filtering. ICML.

    Hinton, G. E. (2010). A practical guide to training restricted Boltzmann
    machines. UTML TR 2010-003.

    Examples
    --------
    >>> import numpy as np
    >>> from skdbn import TabularRBMStack
    >>> X = np.array(
    ...     [[1.5, 0, "red"], [2.0, 1, "blue"], [np.nan, 1, "red"], [0.5, 0, None]],
    ...     dtype=object,
    ... )
    >>> stack = TabularRBMStack(hidden_layer_sizes=3, random_state=0).fit(X)
    >>> stack.column_types_
    ['gaussian', 'bernoulli', 'categorical']
    >>> stack.categories_
    [['blue', 'red']]
    >>> stack.transform(X).shape
    (4, 3)
    """

    _visible_units = "mixed"

    _parameter_constraints = {
        **_RBMStackBase._parameter_constraints,
        "column_types": [
            StrOptions({"auto", *COLUMN_TYPES}),
            dict,
            list,
            tuple,
        ],
        "handle_unknown": [StrOptions({"ignore", "error"})],
        "learn_variance": ["boolean"],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        *,
        column_types="auto",
        handle_unknown="ignore",
        hidden_units="bernoulli",
        learning_rate="auto",
        n_epochs=10,
        batch_size="auto",
        cd_steps=1,
        persistent=False,
        learn_variance=False,
        momentum=0.9,
        initial_momentum=0.5,
        momentum_ramp_epochs=5,
        learning_rate_schedule="constant",
        weight_decay=2e-4,
        sparsity_target=0.1,
        sparsity_cost=0.0,
        validation_fraction=None,
        random_state=None,
        verbose=0,
    ):
        super().__init__(
            hidden_layer_sizes,
            hidden_units=hidden_units,
            learning_rate=learning_rate,
            n_epochs=n_epochs,
            batch_size=batch_size,
            cd_steps=cd_steps,
            persistent=persistent,
            momentum=momentum,
            initial_momentum=initial_momentum,
            momentum_ramp_epochs=momentum_ramp_epochs,
            learning_rate_schedule=learning_rate_schedule,
            weight_decay=weight_decay,
            sparsity_target=sparsity_target,
            sparsity_cost=sparsity_cost,
            validation_fraction=validation_fraction,
            random_state=random_state,
            verbose=verbose,
        )
        self.column_types = column_types
        self.handle_unknown = handle_unknown
        self.learn_variance = learn_variance

    def _learns_visible_std(self):
        return self.learn_variance

    def _initial_visible_std(self, X, sample_weight):
        # Standard units: every Gaussian column starts at 1, as the others.
        return np.ones(X.shape[1])

    # -- the table's coding ----------------------------------------------------

    def _validate_input(self, X, reset, owner=None, sample_weight=None):
        """The coded matrix of table ``X``; with ``reset``, fit the coding first."""
        columns, is_category = table_columns(X)
        validate_data(self, X, skip_check_array=True, reset=reset)
        names = getattr(self, "feature_names_in_", None)
        names = None if names is None else list(names)
        if reset:
            requested = resolve_column_types(self.column_types, len(columns), names)
            self.column_types_ = infer_column_types(
                columns, is_category, requested, names
            )
            if sample_weight is not None:
                sample_weight = validate_sample_weight(
                    sample_weight, np.empty((len(columns[0]), 0))
                )
            self.numeric_mean_, self.numeric_scale_, self.categories_ = fit_coding(
                columns, is_category, self.column_types_, names, sample_weight
            )
        return encode(
            columns,
            self.column_types_,
            self.numeric_mean_,
            self.numeric_scale_,
            self.categories_,
            names,
            self.handle_unknown,
        )

    def _visible_layout(self):
        return layout(self.column_types_, self.categories_)

    def _prediction_input(self, X):
        return self._validate_input(X, reset=False)

    def _visible_output(self, V):
        return decode(
            V,
            self.column_types_,
            self.numeric_mean_,
            self.numeric_scale_,
            self.categories_,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags
