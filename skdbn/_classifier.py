"""DBNClassifier: a deep belief net pre-trained on the inputs, fine-tuned on labels."""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    ClassifierMixin,
    _fit_context,
)
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    check_classification_targets,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import column_or_1d

from ._consistency import make_unlabelled_terms
from ._dbn import _BaseDBN
from ._generative_top import GenerativeTopMixin
from ._semisupervised import (
    PseudoLabeller,
    classifier_labelled_rows,
)
from ._speed import resolve_batch_size
from ._updown import UpDownMixin


class DBNClassifier(ClassifierMixin, GenerativeTopMixin, UpDownMixin, _BaseDBN):
    """Deep Belief Network classifier: RBM pre-training, then back-propagation.

    A stack of RBMs (``hidden_layer_sizes``) is first trained greedily,
    without labels, exactly as :class:`BernoulliRBMStack` does with the same
    parameters. Its weights and hidden biases then initialise the hidden
    layers of a feed-forward network with logistic units, topped by a softmax
    output layer, and the whole network is fine-tuned to minimise the
    cross-entropy (log-loss) by minibatch back-propagation (Hinton &
    Salakhutdinov 2006). Multilabel targets (an indicator matrix) get one
    logistic output per label and the binary log-loss of each, as in
    ``MLPClassifier``.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default=(100,)
        Number of units of each hidden layer (and RBM), bottom to top.
    visible_units : {"auto", "bernoulli", "gaussian", "tabular"}, \
            default="auto"
        Input units of the first RBM: binary for data in ``[0, 1]`` (the
        stack is a :class:`BernoulliRBMStack`), Gaussian for standardised
        real-valued data (a :class:`GaussianRBMStack`), or typed per column
        for a table (a :class:`TabularRBMStack`: Gaussian units for numbers,
        Bernoulli units for binary columns, a softmax group per categorical
        column). ``"auto"`` picks ``"tabular"`` when ``X`` is a DataFrame
        with non-numeric (string, object, ``category``) columns, an array
        holding strings, or holds missing values (NaN, None,
        ``pandas.NA``); otherwise Bernoulli units when the training data
        lies within ``[0, 1]`` and Gaussian units on data the estimator
        standardises itself (``input_mean_``, ``input_scale_``; without
        centering for sparse input), so raw tables need no encoder, scaler
        or imputer. An explicit ``"gaussian"`` uses the data as given:
        standardise it first.
    column_types : "auto", str, sequence of str or dict, default="auto"
        With a table (``visible_units_ == "tabular"``), the type of each
        column: ``"gaussian"``, ``"bernoulli"`` or ``"categorical"``, as in
        :class:`TabularRBMStack` (``"auto"``: categories for non-numeric
        columns, Bernoulli for columns of 0 and 1 and booleans, Gaussian for
        other numbers; a dict maps column names or positions to types).
    handle_unknown : {"ignore", "error"}, default="ignore"
        With a table, what a category unseen in training does in
        ``predict``, ``transform``, ``score`` and later ``partial_fit``
        calls: ``"ignore"`` treats it as a missing entry (its softmax group
        sends nothing to the network), ``"error"`` raises a ``ValueError``
        naming the column and the value.
    hidden_units : {"bernoulli", "relu", "gaussian"} or sequence, \
            default="bernoulli"
        Units of each hidden layer's RBM (per layer if a sequence); the
        network's hidden layers then use the matching activation: logistic,
        rectified linear or identity.
    learning_rate : float, "auto" or sequence, default="auto"
        Pre-training step size of each RBM: ``"auto"`` is 0.1 for RBMs with
        binary units on both sides and 0.01 for those with real-valued units
        (see :class:`BernoulliRBMStack`).
    n_epochs : int, "auto" or sequence, default="auto"
        Pre-training epochs of each RBM. ``"auto"`` is 500 minibatch
        updates within 10 to 70 epochs,
        ``max(10, min(ceil(500 / n_minibatches), 70))``, so that a small
        table, with few minibatches an epoch, trains long enough to move its
        weights away from their initial scale, and a tiny one for at most
        about a third of the fine-tuning's ``max_iter=200`` epochs.
    batch_size : int or "auto", default="auto"
        Minibatch size, for pre-training and fine-tuning alike. ``"auto"`` is
        ``min(200, n_samples)`` in fine-tuning, as in scikit-learn's MLP, and
        ``min(100, max(10, ceil(n_samples / 10)))`` in pre-training, where
        contrastive divergence learns better from smaller minibatches (at
        least 10 an epoch: small tables gain from the updates).
    cd_steps : int or sequence of int, default=1
        Gibbs steps of CD-k during pre-training.
    persistent : bool, default=False
        Pre-train with persistent contrastive divergence.
    momentum : float, default=0.9
        Momentum of the pre-training updates, and of the fine-tuning updates
        when ``solver="sgd"``.
    initial_momentum : float, default=0.5
        Pre-training momentum at the first epoch (see
        :class:`BernoulliRBMStack`).
    momentum_ramp_epochs : int, default=5
        Epochs over which the pre-training momentum ramps up.
    learning_rate_schedule : {"constant", "linear"}, default="constant"
        How the RBMs' step changes over a ``fit``: constant, or decaying
        linearly from ``learning_rate`` towards 0 over the ``n_epochs``
        epochs (Tieleman 2008), which lets persistent CD settle on a better
        model. ``partial_fit`` always uses the constant step.
    weight_decay : float or sequence of float, default=2e-4
        L2 penalty on the RBM weights during pre-training.
    sparsity_target : float or sequence of float, default=0.1
        Target mean activation of the hidden units during pre-training.
    sparsity_cost : float or sequence of float, default=0.0
        Strength of the pre-training sparsity penalty (0 turns it off).
    fine_tuning_sparsity_cost : float, default=0.0
        Keep the sparsity target during fine-tuning: adds this times
        ``sum_j KL(sparsity_target || q_j)`` to the loss for every logistic
        hidden layer, where ``q_j`` is unit ``j``'s mean activation over
        the minibatch (0 turns it off).
    learn_variance : bool, default=False
        With Gaussian visible units (``"gaussian"``, or the numeric columns
        of a table), learn each feature's standard deviation during
        pre-training (see :class:`GaussianRBMStack`).
    pretrain : bool, default=True
        Pre-train the hidden layers as RBMs. ``False`` starts fine-tuning
        from the random initialisation scikit-learn's ``MLPClassifier`` uses,
        to measure what pre-training buys.
    solver : {"adam", "sgd", "lbfgs"}, default="adam"
        Fine-tuning optimiser: Adam, SGD with Nesterov momentum, or L-BFGS-B
        (through ``scipy.optimize``, as scikit-learn's MLP), which minimises
        the loss of the whole training set, without minibatches: on small data
        sets it often fits far better than the stochastic solvers. It has no
        ``partial_fit``, takes no dropout and ignores ``early_stopping``.
    learning_rate_init : float, default=3e-3
        Fine-tuning step size of ``"adam"`` and ``"sgd"`` (the first one, with
        a ``fine_tuning_schedule``). Three times MLP's default: logistic
        hidden units learn more slowly than rectified ones, and at 1e-3 the
        network was still far from a fit after 200 epochs on several tables
        of the defaults benchmark (``benchmarks/README.md``,
        "DBNClassifier() on raw tables").
    fine_tuning_schedule : {"constant", "invscaling", "adaptive"}, \
            default="constant"
        How the fine-tuning step of ``solver="sgd"`` changes (the other
        solvers ignore it): scikit-learn's MLP's ``learning_rate``, renamed
        because ``learning_rate`` is the RBMs' pre-training step here.
        ``"constant"`` keeps ``learning_rate_init``; ``"invscaling"`` sets it
        to ``learning_rate_init / (t_ + 1) ** power_t`` after each epoch;
        ``"adaptive"`` divides it by 5 whenever more than ``n_iter_no_change``
        epochs in a row have not improved by ``tol``, and stops fine-tuning
        only once it is below 1e-6. Every ``fit`` starts at
        ``learning_rate_init``, warm-started or not.
    power_t : float, default=0.5
        Exponent of the ``"invscaling"`` schedule.
    alpha : float, default=1e-4
        L2 penalty on the weights during fine-tuning, with scikit-learn's
        ``MLPClassifier`` scaling (``0.5 * alpha * ||W||^2 / n_samples``).
    dropout : float or "auto", default="auto"
        Probability of dropping each hidden unit during fine-tuning (inverted
        dropout: the kept units are scaled by ``1 / (1 - dropout)``, and
        ``predict`` uses the whole network). ``"auto"`` is 0.3 when
        virtual adversarial training (or entropy minimisation) fine-tunes on
        unlabelled rows (``semi_supervised``, below), 0.2 when the input is
        a coded table (``visible_units_ == "tabular"``: a DataFrame with
        categories, or missing values), 0 otherwise, and always 0 with
        ``solver="lbfgs"``. With VAT it took MNIST with 100 labels from
        13.45% to 11.05% test error (without VAT it did nothing). On
        tables with categories and holes it helped the small tables (KEEL's
        breast +3.1 points, german +1.3) and cost about a point on the
        largest (segment), +0.1 points on average over 17 settings; on raw
        numeric tables, which the network under-fits rather than over-fits,
        0.2 lost up to 4.3 points (bupa, sonar). See
        ``benchmarks/README.md``, "Dropout on tables". ``dropout_`` holds
        the rate used.
    input_dropout : float, default=0.0
        Probability of dropping each input feature during fine-tuning.
    max_iter : int, default=200
        Maximum number of fine-tuning epochs (of L-BFGS iterations with
        ``solver="lbfgs"``).
    max_fun : int, default=15000
        Maximum number of loss evaluations with ``solver="lbfgs"``.
    shuffle : bool, default=True
        Shuffle the training rows before each fine-tuning epoch; ``False``
        takes the minibatches in the order of the rows (pre-training
        shuffles either way).
    tol : float, default=1e-4
        Minimum improvement of the training loss (or of the validation score
        with ``early_stopping``) that resets the patience counter. With
        ``solver="lbfgs"``, the largest projected gradient component at which
        L-BFGS stops (scipy's ``gtol``).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified), stop when
        its accuracy stops improving, and keep the best weights. The held-out
        data is used neither for pre-training nor for fine-tuning, and
        pre-training monitors it (see ``stack_.layers_[i].history``). A class
        with too few samples to stratify raises a ``ValueError``, as does
        ``partial_fit`` (as in scikit-learn's MLP).
    validation_fraction : float, default=0.1
        Fraction of the training data held out for early stopping.
    n_iter_no_change : int or np.inf, default=10
        Fine-tuning stops once more than ``n_iter_no_change`` epochs in a row
        have not improved by ``tol``, as in scikit-learn's MLP (``np.inf``:
        never early). With ``fine_tuning_schedule="adaptive"`` the step is
        divided by 5 instead.
    warm_start : bool, default=False
        Let ``fit`` continue fine-tuning the current network (no new
        pre-training) instead of starting afresh, with the same classes.
    generative_layer_size : int, default=None
        Size of a joint RBM to learn after pre-training, over the stack's
        top-level features and the one-hot labels: the "associative memory"
        of Hinton, Osindero & Teh (2006), which turns the pre-trained stack
        into a generative model of each class, so that :meth:`sample` can
        draw digits of a requested class. It is not used for prediction.
        None learns no such layer.
    updown_epochs : int, default=0
        Epochs of generative fine-tuning of the deep belief net made of the
        stack and the joint top layer by the up-down algorithm of Hinton,
        Osindero & Teh (2006) (needs ``generative_layer_size`` and binary
        units): the stack's weights are untied into recognition and
        generative weights, fine-tuned with the top layer into ``updown_``,
        which :meth:`predict_proba_generative` and :meth:`sample` then use.
        It runs after pre-training, before (and apart from) the
        discriminative fine-tuning. 0 skips it.
    updown_learning_rate : float, default=0.01
        Step size of the up-down updates (mean over a minibatch of the
        pre-training ``batch_size``).
    updown_cd_steps : int, default=3
        Gibbs steps of CD-k in the top layer at each up-down step.
    semi_supervised : bool, default=False
        Read the label ``-1`` as "unlabelled", as ``sklearn.semi_supervised``
        does: unlabelled rows take part in pre-training (which needs no
        labels) and in fine-tuning (``vat_weight``, ``pseudo_label_weight``);
        only the labelled rows reach the supervised loss, the early-stopping
        split and its score, and ``classes_`` never holds -1. For string
        labels, pass an object array with the integer -1 for the unlabelled
        rows (as ``SelfTrainingClassifier`` asks). ``fit`` needs at least
        one labelled row; a ``partial_fit`` chunk may have none (it then
        only pre-trains). Off by default because -1 is an ordinary class
        otherwise (binary labels in {-1, 1}).
    pseudo_label_weight : float, default=0.0
        With ``semi_supervised``, the weight of pseudo-labelled unlabelled
        rows in fine-tuning (Lee 2013): each step adds a minibatch of
        unlabelled rows, labelled with the network's own most probable class
        where its probability reaches ``pseudo_label_threshold``, and
        minimises the labelled rows' mean loss plus ``pseudo_label_weight``
        times the mean loss over that minibatch. 0 (the default, the better
        setting in our measurements, see the user guide) uses the unlabelled
        rows in pre-training only. Ignored by ``solver="lbfgs"``.
    pseudo_label_threshold : float, default=0.95
        Lowest probability of the most probable class for an unlabelled row
        to get a pseudo-label.
    vat_weight : float, default=1.0
        With ``semi_supervised`` and unlabelled rows, the weight of virtual
        adversarial training (Miyato et al. 2018) in fine-tuning: the mean
        over a minibatch of unlabelled rows of ``KL(p(x) || p(x + r_adv))``,
        ``p(x)`` held fixed, ``r_adv`` the perturbation of norm
        ``vat_epsilon`` (relative) that changes the output most, found by
        one power iteration. With it (or ``entropy_weight``) a fine-tuning
        epoch is a pass over the unlabelled rows, each step drawing as many
        labelled rows (all of them if fewer), so that ``max_iter``,
        ``n_iter_``, ``t_`` and the early-stopping patience count passes
        over the unlabelled rows; ``loss_curve_`` holds the labelled loss
        plus both terms. 0 turns it off. Ignored by ``solver="lbfgs"`` and
        multilabel targets. ``dropout="auto"`` then drops 30% of the hidden
        units on the labelled rows, which helped it with few labels on
        MNIST: see the user guide.
    vat_epsilon : float, default=0.4
        Norm of ``r_adv`` as a fraction of the root mean square norm of the
        unlabelled rows as the network reads them (scaled, or in [0, 1]).
    entropy_weight : float, default=0.0
        With ``semi_supervised`` and unlabelled rows, the weight of the mean
        entropy of ``p(x)`` over the unlabelled minibatch (entropy
        minimisation, Grandvalet & Bengio 2005), which pushes the decision
        boundary away from the unlabelled rows. 0 (the default) turns it
        off: it hurt in our measurements (user guide).
    stream_pretraining : bool, default=True
        Let each ``partial_fit`` call after the first also train the stack
        one epoch on its chunk (see :meth:`partial_fit`), so that streamed
        and unlabelled data are pre-trained on. ``False`` pre-trains on the
        first chunk only, which saves that epoch's time when every chunk is
        labelled and fine-tuning has begun: the stack's later updates no
        longer reach the fine-tuned network.
    random_state : int, RandomState instance or None, default=None
        Seed of the pre-training, the weight initialisation, the minibatch
        order and the dropout masks: the same seed gives the same model on
        the same machine with the same number of BLAS threads.
    verbose : int, default=0
        Print one line per pre-training and per fine-tuning epoch.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, in the order of ``predict_proba``'s columns; for
        multilabel targets, the column indices ``0, ..., n_labels - 1``.
    visible_units_ : {"bernoulli", "gaussian", "tabular"}
        The visible units used, ``visible_units`` with ``"auto"`` resolved.
    dropout_ : float
        The hidden units' dropout rate of fine-tuning, ``dropout`` with
        ``"auto"`` resolved.
    input_mean_ : ndarray of shape (n_features_in_,) or None
        Mean subtracted from each feature before the network sees it
        (zeros for sparse training data), or None when the input is used as
        it is (explicit ``visible_units``, or data within ``[0, 1]``) or
        coded as a table.
    input_scale_ : ndarray of shape (n_features_in_,) or None
        Standard deviation each feature is divided by (1 for a constant
        feature), or None as ``input_mean_``.
    column_types_ : list of str or None
        With a table, the type of each column (see ``column_types``);
        None otherwise. The network's input is then the coded table:
        standardised Gaussian columns first, then the binary ones, then one
        one-hot group per categorical column, a missing entry (or an
        ignored unknown category) coded 0, which sends nothing to the
        first hidden layer (the RBM's up pass with that unit left out).
    categories_ : list of list or None
        With a table, the categories of each categorical column (the order
        of its units); None otherwise.
    numeric_mean_ : ndarray of shape (n_gaussian,) or None
        With a table, the mean subtracted from each Gaussian column (over
        its observed values); None otherwise.
    numeric_scale_ : ndarray of shape (n_gaussian,) or None
        With a table, the standard deviation each Gaussian column is
        divided by; None otherwise.
    stack_ : BernoulliRBMStack, GaussianRBMStack, TabularRBMStack or None
        The pre-trained stack (its layers keep their pre-training weights and
        history), or None with ``pretrain=False``. It was trained on the
        scaled input (see ``input_mean_``). After a Ctrl-C in
        pre-training it has only the layers whose training began, and the
        fit stopped before fine-tuning (see the user guide).
    generative_layer_ : RBMLayer or None
        The joint RBM of top-level features (first visible units) and labels
        (last ``n_classes`` visible units, in ``classes_`` order), with
        ``generative_layer_size``, as pre-training left it.
    updown_ : UpDownNetwork or None
        The deep belief net after ``updown_epochs`` of up-down fine-tuning:
        its recognition and generative weights, its joint top layer and its
        ``history`` (one record per epoch); None without up-down.
    coefs_ : list of ndarray
        Fine-tuned weights, ``coefs_[i]`` of shape (n_in, n_out) for layer i.
    intercepts_ : list of ndarray
        Fine-tuned biases of each layer.
    loss_curve_ : list of float
        Mean training loss (log-loss plus penalty) of each fine-tuning epoch
        (weighted means with ``sample_weight``).
    validation_scores_ : list of float or None
        Held-out accuracy after each epoch with ``early_stopping``.
    best_validation_score_ : float or None
        Best held-out accuracy with ``early_stopping``.
    best_loss_ : float or None
        Lowest training loss, without ``early_stopping``.
    n_iter_ : int
        Number of fine-tuning epochs (L-BFGS iterations) of the last call
        to ``fit`` or ``partial_fit``, as in scikit-learn's MLP;
        ``loss_curve_`` has those of all calls.
    t_ : int
        Number of training samples seen by the fine-tuning updates.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    BernoulliRBMStack : The unsupervised stack that does the pre-training.
    DBNRegressor : The same network with a linear output, for regression.
    sklearn.neural_network.MLPClassifier : The same network without
        pre-training.

    References
    ----------
    Hinton, G. E. & Salakhutdinov, R. R. (2006). Reducing the dimensionality
    of data with neural networks. Science, 313, 504-507.

    Hinton, G. E., Osindero, S. & Teh, Y. (2006). A fast learning algorithm
    for deep belief nets. Neural Computation, 18, 1527-1554.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import train_test_split
    >>> from skdbn import DBNClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(X / 16, y, random_state=0)
    >>> clf = DBNClassifier(hidden_layer_sizes=(64,), batch_size=20, max_iter=30,
    ...                     random_state=0).fit(X_train, y_train)
    >>> clf.score(X_test, y_test) > 0.95
    True

    A table with a categorical column and missing entries, as it comes:

    >>> import numpy as np
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> table = pd.DataFrame({"size": rng.normal(size=200),
    ...                       "colour": rng.choice(["red", "blue"], 200)})
    >>> labels = (table["size"] > 0) | (table["colour"] == "red")
    >>> table.loc[::10, "size"] = np.nan
    >>> clf = DBNClassifier(hidden_layer_sizes=(16,), random_state=0).fit(
    ...     table, labels)
    >>> clf.visible_units_, clf.column_types_, clf.categories_
    ('tabular', ['gaussian', 'categorical'], [['blue', 'red']])
    >>> clf.predict(pd.DataFrame({"size": [np.nan], "colour": ["red"]}))
    array([ True])
    """

    _multi_output = True

    _parameter_constraints = {
        **_BaseDBN._parameter_constraints,
        "generative_layer_size": [Interval(Integral, 1, None, closed="left"), None],
        "updown_epochs": [Interval(Integral, 0, None, closed="left")],
        "updown_learning_rate": [Interval(Real, 0, None, closed="neither")],
        "updown_cd_steps": [Interval(Integral, 1, None, closed="left")],
        "pseudo_label_weight": [Interval(Real, 0, None, closed="left")],
        "pseudo_label_threshold": [Interval(Real, 0, 1, closed="both")],
        "vat_weight": [Interval(Real, 0, None, closed="left")],
        "vat_epsilon": [Interval(Real, 0, None, closed="neither")],
        "entropy_weight": [Interval(Real, 0, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left"), StrOptions({"auto"})],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        *,
        visible_units="auto",
        column_types="auto",
        handle_unknown="ignore",
        hidden_units="bernoulli",
        learning_rate="auto",
        n_epochs="auto",
        batch_size="auto",
        cd_steps=1,
        persistent=False,
        momentum=0.9,
        initial_momentum=0.5,
        momentum_ramp_epochs=5,
        learning_rate_schedule="constant",
        weight_decay=2e-4,
        sparsity_target=0.1,
        sparsity_cost=0.0,
        fine_tuning_sparsity_cost=0.0,
        learn_variance=False,
        pretrain=True,
        solver="adam",
        learning_rate_init=3e-3,
        fine_tuning_schedule="constant",
        power_t=0.5,
        alpha=1e-4,
        dropout="auto",
        input_dropout=0.0,
        max_iter=200,
        max_fun=15000,
        shuffle=True,
        tol=1e-4,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        warm_start=False,
        generative_layer_size=None,
        updown_epochs=0,
        updown_learning_rate=0.01,
        updown_cd_steps=3,
        semi_supervised=False,
        pseudo_label_weight=0.0,
        pseudo_label_threshold=0.95,
        vat_weight=1.0,
        vat_epsilon=0.4,
        entropy_weight=0.0,
        stream_pretraining=True,
        random_state=None,
        verbose=0,
    ):
        super().__init__(
            hidden_layer_sizes,
            visible_units=visible_units,
            column_types=column_types,
            handle_unknown=handle_unknown,
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
            fine_tuning_sparsity_cost=fine_tuning_sparsity_cost,
            learn_variance=learn_variance,
            pretrain=pretrain,
            solver=solver,
            learning_rate_init=learning_rate_init,
            fine_tuning_schedule=fine_tuning_schedule,
            power_t=power_t,
            alpha=alpha,
            dropout=dropout,
            input_dropout=input_dropout,
            max_iter=max_iter,
            max_fun=max_fun,
            shuffle=shuffle,
            tol=tol,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            warm_start=warm_start,
            semi_supervised=semi_supervised,
            stream_pretraining=stream_pretraining,
            random_state=random_state,
            verbose=verbose,
        )
        self.generative_layer_size = generative_layer_size
        self.updown_epochs = updown_epochs
        self.updown_learning_rate = updown_learning_rate
        self.updown_cd_steps = updown_cd_steps
        self.pseudo_label_weight = pseudo_label_weight
        self.pseudo_label_threshold = pseudo_label_threshold
        self.vat_weight = vat_weight
        self.vat_epsilon = vat_epsilon
        self.entropy_weight = entropy_weight

    def _unlabelled_terms_wanted(self):
        return self.semi_supervised and bool(self.vat_weight or self.entropy_weight)

    def _unlabelled_terms(self, X_u, sample_weight):
        """VAT and entropy terms on the unlabelled rows, or None (``_consistency``)."""
        return make_unlabelled_terms(self, X_u, sample_weight)

    def _pseudo_labeller(self, X_u, sample_weight):
        """Pseudo-labels for the unlabelled rows in fine-tuning, or None.

        None when there are no unlabelled rows, with ``pseudo_label_weight=0``
        and with ``solver="lbfgs"`` (whose full-batch loss has no
        minibatches to add them to).
        """
        if (
            X_u is None
            or X_u.shape[0] == 0
            or self.pseudo_label_weight == 0
            or self.solver == "lbfgs"
            or self._multilabel
        ):
            return None
        return PseudoLabeller(
            X_u,
            sample_weight,
            resolve_batch_size(self.batch_size, X_u.shape[0], "fine-tuning"),
            self.pseudo_label_weight,
            self.pseudo_label_threshold,
            self._rng,
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Pre-train the stack, then fine-tune the network on ``(X, y)``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, raw (see ``visible_units``).
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a multilabel indicator matrix (one 0/1 column
            per label). With ``semi_supervised=True``, -1 marks an
            unlabelled row (1-D labels only).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample, in pre-training (weighted
            RBM statistics) and fine-tuning (weighted loss, as
            ``MLPClassifier``'s), and in the early-stopping score. Rows of
            zero weight are ignored. None weighs every sample 1.

        Returns
        -------
        self : object
            The fitted classifier.
        """
        self._check_updown_parameters()
        return self._fit(X, y, sample_weight=sample_weight)

    @available_if(_BaseDBN._check_solver)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One fine-tuning epoch over ``(X, y)``, and one of pre-training.

        The first call builds the network, pre-training the stack on this
        first chunk (``n_epochs`` epochs) when ``pretrain=True``; it needs
        ``classes``. It also resolves ``visible_units="auto"`` and fits the
        input scaling on this chunk; later chunks are scaled the same way.
        Each later call first trains every layer of ``stack_`` one more
        epoch on the chunk (as ``BernoulliRBMStack.partial_fit``; not with
        ``stream_pretraining=False``), then fine-tunes the network one epoch
        on the chunk's labelled rows. With
        ``semi_supervised=True``, rows labelled -1 are pre-trained on (and
        pseudo-labelled, with ``pseudo_label_weight``) but not fine-tuned on,
        and a chunk without labelled rows only pre-trains; until the first
        labelled row arrives the network's hidden layers follow the stack,
        so a stream of unlabelled chunks pre-trains the network that the
        labelled chunks then fine-tune.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of training data.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Its labels, or a multilabel indicator matrix.
        classes : array-like of shape (n_classes,), default=None
            All the classes, required on the first call; later calls may pass
            them again, but a different set raises a ``ValueError``. With
            multilabel targets, the labels ``0, ..., n_labels - 1`` (the
            columns of ``y``).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample of the chunk, as in ``fit``.

        Returns
        -------
        self : object
            The updated classifier.
        """
        self._check_updown_parameters()
        return self._fit(
            X, y, incremental=True, classes=classes, sample_weight=sample_weight
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    @property
    def _output_activation(self):
        # Independent logistic outputs for multilabel targets, as MLPClassifier.
        return "logistic" if getattr(self, "_multilabel", False) else "softmax"

    def _validate_training_data(self, X, y, reset, sample_weight=None):
        X, y, _ = super()._validate_training_data(X, y, reset, sample_weight)
        if sp.issparse(y):
            y = y.toarray()
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not self.semi_supervised:
            return X, y, None
        return X, y, classifier_labelled_rows(y)

    def _encode_targets(self, y, dtype, first, classes, incremental, sample_weight):
        check_classification_targets(y)
        target_type = type_of_target(y)
        multilabel = target_type == "multilabel-indicator"
        if y.ndim > 1 and not multilabel:
            raise ValueError(
                "DBNClassifier supports class labels (a 1-D y) and multilabel "
                f"indicator matrices (0/1 columns), not {target_type} targets."
            )
        if first and incremental and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if not first and multilabel != self._multilabel:
            raise ValueError(
                f"y is {'a multilabel indicator matrix' if multilabel else '1-D'} "
                "but the classifier was fitted on "
                f"{'multilabel' if self._multilabel else 'single-label'} targets."
            )
        if multilabel:
            return self._encode_multilabel(y, dtype, first, classes)
        if first:
            self._multilabel = False
            self._label_encoder = LabelEncoder().fit(
                y if classes is None else np.asarray(classes)
            )
            self.classes_ = self._label_encoder.classes_
            if classes is not None and not np.isin(y, self.classes_).all():
                raise ValueError(
                    "y has labels that are not in classes: "
                    f"{np.setdiff1d(y, self.classes_)!r}."
                )
        else:
            if classes is not None and not np.array_equal(
                np.unique(classes), self.classes_
            ):
                raise ValueError(
                    f"classes={classes!r} is not the same as on the first call "
                    f"to partial_fit, which had {self.classes_!r}."
                )
            if self.warm_start and not incremental:
                seen = np.unique(y)
                if not np.array_equal(seen, self.classes_):
                    raise ValueError(
                        "warm_start can only be used where y has the same classes "
                        f"as in the previous call to fit: it had {self.classes_!r}, "
                        f"y has {seen!r}. Refit with warm_start=False to change "
                        "the classes."
                    )
            unseen = np.setdiff1d(y, self.classes_)
            if unseen.size:
                raise ValueError(
                    f"y has labels not seen in the first fit: {unseen!r}; the "
                    f"classifier knows {self.classes_!r}."
                )
        # (An empty chunk, all unlabelled, transforms to an empty float array.)
        indices = self._label_encoder.transform(y).astype(np.intp, copy=False)
        Y = np.zeros((len(y), len(self.classes_)), dtype=dtype)
        Y[np.arange(len(y)), indices] = 1
        return Y

    def _encode_multilabel(self, y, dtype, first, classes):
        """The indicator matrix ``y`` as targets; ``classes_`` its column indices."""
        labels = unique_labels(y)
        if first:
            if classes is not None and not np.array_equal(
                np.sort(np.asarray(classes).ravel()), labels
            ):
                raise ValueError(
                    f"classes must be the {len(labels)} column indices "
                    f"{labels!r} of the multilabel indicator y; got {classes!r}."
                )
            if self.generative_layer_size is not None:
                raise ValueError(
                    "generative_layer_size needs single-label targets: the joint "
                    "RBM draws samples of one class; y is a multilabel indicator "
                    "matrix."
                )
            self._multilabel = True
            self.classes_ = labels
        elif y.shape[1] != len(self.classes_):
            raise ValueError(
                f"y has {y.shape[1]} labels but the classifier was fitted with "
                f"{len(self.classes_)}."
            )
        elif classes is not None and not np.array_equal(
            np.unique(classes), self.classes_
        ):
            raise ValueError(
                f"classes={classes!r} is not the same as on the first call "
                f"to partial_fit, which had {self.classes_!r}."
            )
        return np.asarray(y, dtype=dtype)

    def _validation_score(self, X_val, y_val, sample_weight=None):
        return accuracy_score(
            y_val, self._predict_checked(X_val), sample_weight=sample_weight
        )

    def _predict_checked(self, X):
        return self._labels(self._network.forward(X))

    def _labels(self, proba):
        """Predicted labels from the network's outputs."""
        if getattr(self, "_multilabel", False):
            # As MLPClassifier: a label is on when its probability exceeds 0.5.
            return (proba > 0.5).astype(int)
        return self.classes_[np.argmax(proba, axis=1)]

    def predict(self, X):
        """Predict the class of each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            The most probable class or, for multilabel targets, the indicator
            matrix of the labels whose probability exceeds 0.5.
        """
        proba = self._forward(X)  # checks that the model is fitted first
        return self._labels(proba)

    def predict_proba(self, X):
        """Class probabilities of each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Softmax outputs; columns follow ``classes_``, rows sum to 1. For
            multilabel targets, each label's own (logistic) probability.
        """
        return self._forward(X)

    def predict_log_proba(self, X):
        """Log of the class probabilities of each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            ``log(predict_proba(X))``, with zero probabilities giving ``-inf``.
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))
