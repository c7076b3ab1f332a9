"""scikit-learn's common estimator checks on every public estimator."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skdbn import (
    BernoulliRBMStack,
    DBNAutoencoder,
    DBNClassifier,
    DBNRegressor,
    GaussianRBMStack,
    RBMImputer,
    TabularRBMStack,
)

# n_epochs is fixed: "auto" (the default) runs 500 minibatch updates within
# 10 to 70 epochs, 70 on the checks' tiny data sets, for some 40 fits per
# estimator; its rule is tested in test_speed.py.
ESTIMATORS = [
    BernoulliRBMStack(n_epochs=10),
    BernoulliRBMStack(hidden_layer_sizes=(8, 4), n_epochs=3, persistent=True),
    DBNClassifier(n_epochs=10),
    DBNClassifier(
        hidden_layer_sizes=(8, 4), pretrain=False, solver="sgd", learning_rate_init=0.1
    ),
    DBNRegressor(n_epochs=10),
    # Fine-tuning alone, full batch on the checks' tiny data: sample_weight exact.
    DBNRegressor(hidden_layer_sizes=(8,), pretrain=False, learning_rate_init=0.01),
    GaussianRBMStack(n_epochs=10),
    GaussianRBMStack(
        hidden_layer_sizes=(8, 4), hidden_units="relu", learn_variance=True, n_epochs=3
    ),
    DBNClassifier(
        visible_units="gaussian", hidden_units="relu", learn_variance=True, n_epochs=3
    ),
    DBNRegressor(visible_units="gaussian", n_epochs=2),
    DBNAutoencoder((8, 2), n_epochs=2, max_iter=20),
    DBNAutoencoder(
        (6, 2), visible_units="gaussian", variational=True, n_epochs=5, max_iter=20
    ),
    TabularRBMStack(),
    TabularRBMStack(hidden_layer_sizes=(8, 4), column_types="gaussian", n_epochs=3),
    RBMImputer(n_epochs=5),
    RBMImputer(
        8, method="gibbs", sample_posterior=True, add_indicator=True, n_epochs=5
    ),
]

# Contrastive divergence draws one Gibbs chain per row: a row of weight k is
# one chain, k repeated rows are k chains, so the fits differ (they agree in
# expectation; tests/test_rbm.py checks the statistics exactly). scikit-learn
# lists its stochastic learners (SGD, MLP with minibatches) the same way.
STOCHASTIC_WEIGHTS = (
    "contrastive divergence samples one Gibbs chain per row, not one per repeat: "
    "weights equal repeats in expectation only"
)
SAMPLE_WEIGHT_CHECKS = (
    "check_sample_weight_equivalence_on_dense_data",
    "check_sample_weight_equivalence_on_sparse_data",
)


def expected_failed_checks(estimator):
    """Expected failures of an estimator: check name -> reason."""
    if isinstance(estimator, RBMImputer):
        return {}  # no sample_weight
    if isinstance(estimator, TabularRBMStack):  # dense tables only
        return {SAMPLE_WEIGHT_CHECKS[0]: STOCHASTIC_WEIGHTS}
    pretrains = estimator.get_params().get("pretrain", True)
    if pretrains and not isinstance(estimator, DBNAutoencoder):
        return dict.fromkeys(SAMPLE_WEIGHT_CHECKS, STOCHASTIC_WEIGHTS)
    # Without pre-training, full-batch fine-tuning of the tiny data is exact.
    return {}


# The common checks feed standard-normal data to every transformer; Bernoulli
# visible units accept it (the maths is defined for any real input) but warn
# that it lies outside [0, 1]. That warning is tested in test_stack.py. Data
# around 100 (or all positive, up to ~10) drive every hidden unit of a
# Bernoulli RBM into saturation, which the trainer rightly reports with a
# ConvergenceWarning (tested in test_failures.py).


def _parametrize_with_listed_checks(estimators, **kwargs):
    """``parametrize_with_checks``, with its cases materialised as a list.

    scikit-learn before 1.7 passes a generator to ``pytest.mark.parametrize``,
    which pytest 9.1 deprecates (an error here, where deprecations are).
    """
    mark = parametrize_with_checks(estimators, **kwargs)
    argnames, argvalues = mark.args
    return pytest.mark.parametrize(argnames, list(argvalues), **mark.kwargs)


@pytest.mark.filterwarnings("ignore::skdbn.DataRangeWarning")
@pytest.mark.filterwarnings(
    "ignore:Training of layer .* saturated every hidden unit"
    ":sklearn.exceptions.ConvergenceWarning"
)
@_parametrize_with_listed_checks(
    ESTIMATORS,
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
