"""Semi-supervised fitting: unlabelled rows (-1, NaN) in the DBN estimators."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV, PredefinedSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skdbn import DBNClassifier, DBNRegressor
from skdbn._network import FeedForwardNetwork
from skdbn._semisupervised import PseudoLabeller
from skdbn.datasets import load_digits_01

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits_01(return_X_y=True)
    return X[:300], y[:300]


def with_unlabelled(y, n_labelled, seed=0):
    """``y`` with all but ``n_labelled`` rows (random) marked -1, and the mask."""
    rng = np.random.default_rng(seed)
    labelled = np.zeros(len(y), dtype=bool)
    labelled[rng.choice(len(y), n_labelled, replace=False)] = True
    return np.where(labelled, y, -1), labelled


def quick(**params):
    defaults = dict(
        hidden_layer_sizes=(16,),
        n_epochs=3,
        max_iter=5,
        semi_supervised=True,
        random_state=0,
    )
    return DBNClassifier(**{**defaults, **params})


def test_unlabelled_rows_change_the_pretrained_stack(digits):
    X, y = digits
    y_semi, labelled = with_unlabelled(y, 60)
    semi = quick().fit(X, y_semi)
    labels_only = quick().fit(X[labelled], y[labelled])
    # The stack starts from the visible means of what it sees and trains on
    # all 300 rows instead of 60.
    assert not np.allclose(
        semi.stack_.layers_[0].weights, labels_only.stack_.layers_[0].weights
    )
    assert not np.allclose(
        semi.stack_.layers_[0].visible_bias,
        labels_only.stack_.layers_[0].visible_bias,
    )
    # ... and pre-training on all rows is what fitting the stack on them does.
    stack = semi._make_stack().fit(np.concatenate([X[labelled], X[~labelled]]), None)
    np.testing.assert_allclose(
        semi.stack_.layers_[0].weights, stack.layers_[0].weights, rtol=1e-6
    )


def test_minus_one_is_never_a_class(digits):
    X, y = digits
    y_semi, labelled = with_unlabelled(y, 60)
    clf = quick().fit(X, y_semi)
    assert -1 not in clf.classes_
    np.testing.assert_array_equal(clf.classes_, np.unique(y[labelled]))
    assert clf.predict_proba(X).shape == (len(X), len(clf.classes_))
    assert set(clf.predict(X)) <= set(clf.classes_)


def test_fine_tuning_sees_only_labelled_rows(digits):
    X, y = digits
    y_semi, _ = with_unlabelled(y, 60)
    semi = quick(vat_weight=0.0).fit(X, y_semi)
    # t_ counts the rows the fine-tuning updates saw: the 60 labelled ones.
    assert semi.t_ == 60 * semi.n_iter_
    # With virtual adversarial training, an epoch is a pass over the 240
    # unlabelled rows (each step also draws labelled ones).
    vat = quick().fit(X, y_semi)
    assert vat.t_ == 240 * vat.n_iter_ and vat.n_iter_ > 0


def test_early_stopping_holds_out_labelled_rows_only(digits):
    X, y = digits
    y_semi, _ = with_unlabelled(y, 100)
    clf = quick(
        early_stopping=True, validation_fraction=0.2, max_iter=3, vat_weight=0.0
    ).fit(X, y_semi)
    # 20 of the 100 labelled rows are held out: 80 fine-tuned per epoch.
    assert clf.t_ == 80 * clf.n_iter_
    assert clf.validation_scores_ and all(0 <= s <= 1 for s in clf.validation_scores_)


def test_sample_weight_with_unlabelled_rows(digits):
    X, y = digits
    y_semi, labelled = with_unlabelled(y, 60)
    weight = np.ones(len(y))
    weight[~labelled] = 0  # unlabelled rows of zero weight: a labelled-only fit
    a = quick().fit(X, y_semi, sample_weight=weight)
    b = quick().fit(X[labelled], y[labelled])
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = quick().fit(X, y_semi, sample_weight=np.where(labelled, 2.0, 0.5))
    assert not np.array_equal(c.predict_proba(X), a.predict_proba(X))


def test_all_unlabelled_is_an_error(digits):
    X, _ = digits
    with pytest.raises(ValueError, match="no labelled rows.*-1"):
        quick().fit(X, np.full(len(X), -1))
    with pytest.raises(ValueError, match="no labelled rows.*NaN"):
        DBNRegressor((8,), n_epochs=1, max_iter=2, semi_supervised=True).fit(
            X, np.full(len(X), np.nan)
        )


def test_binary_minus_one_plus_one_labels_are_refused(digits):
    X, y = digits
    y_pm = np.where(y < 5, -1, 1)
    with pytest.raises(ValueError, match=r"only one class.*\{-1, 1\}"):
        quick().fit(X, y_pm)
    with pytest.raises(ValueError, match="classes=.*holds -1"):
        quick().partial_fit(X, y_pm, classes=[-1, 1])


def test_string_labels_with_the_marker(digits):
    X, y = digits
    names = np.array(["zero", "one", "two", "three", "four", "five", "six",
                      "seven", "eight", "nine"], dtype=object)  # fmt: skip
    y_semi, labelled = with_unlabelled(y, 80)
    y_obj = np.where(labelled, names[y], -1).astype(object)
    clf = quick().fit(X, y_obj)
    assert set(clf.classes_) == set(names[y[labelled]])
    assert all(isinstance(c, str) for c in clf.classes_)
    # A string array cannot hold the integer -1: "-1" is refused, not guessed.
    with pytest.raises(ValueError, match="dtype=object"):
        quick().fit(X, np.where(labelled, names[y], "-1").astype(str))
    # String labels without any marker work as before.
    assert quick().fit(X, names[y].astype(str)).classes_.dtype.kind == "U"


def test_float_labels_with_the_marker(digits):
    X, y = digits
    y_semi, labelled = with_unlabelled(y, 60)
    a = quick().fit(X, y_semi.astype(float))
    b = quick().fit(X, y_semi)
    assert -1 not in a.classes_
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_nan_labels_stay_an_error_for_the_classifier(digits):
    X, y = digits
    y_nan = y.astype(float)
    y_nan[:5] = np.nan
    with pytest.raises(ValueError, match="missing labels"):
        quick().fit(X, y_nan)


def test_regressor_nan_marks_unlabelled_rows(digits):
    X, y = digits
    target = y / 9.0
    y_semi = target.copy()
    _, labelled = with_unlabelled(y, 60)
    y_semi[~labelled] = np.nan
    params = dict(
        hidden_layer_sizes=(16,),
        n_epochs=3,
        max_iter=5,
        semi_supervised=True,
        random_state=0,
    )
    semi = DBNRegressor(**params).fit(X, y_semi)
    labels_only = DBNRegressor(**params).fit(X[labelled], target[labelled])
    assert semi.t_ == 60 * semi.n_iter_
    assert not np.allclose(
        semi.stack_.layers_[0].weights, labels_only.stack_.layers_[0].weights
    )
    assert np.isfinite(semi.predict(X)).all()
    # The targets' standardisation comes from the labelled rows only.
    np.testing.assert_allclose(semi._target_mean, [target[labelled].mean()], rtol=1e-6)
    # Multi-output: a row is unlabelled when all its targets are NaN.
    Y = np.column_stack([target, 1 - target])
    Y[~labelled] = np.nan
    assert DBNRegressor(**params).fit(X, Y).predict(X).shape == (len(X), 2)
    Y[0, 0], Y[0, 1] = np.nan, 0.5
    with pytest.raises(ValueError, match="some, but not all, targets NaN"):
        DBNRegressor(**params).fit(X, Y)


def test_partial_fit_pretrains_on_every_chunk(digits):
    X, y = digits
    clf = quick()
    clf.partial_fit(X[:100], y[:100], classes=np.arange(10))
    before = [layer.weights.copy() for layer in clf.stack_.layers_]
    network_before = [w.copy() for w in clf.coefs_]
    t_before = clf.t_
    # A chunk without labels: the stack learns, the network is not fine-tuned.
    clf.partial_fit(X[100:200], np.full(100, -1))
    assert not np.allclose(clf.stack_.layers_[0].weights, before[0])
    assert clf.t_ == t_before
    for after, prior in zip(clf.coefs_, network_before, strict=True):
        np.testing.assert_array_equal(after, prior)
    # A labelled chunk: one more pre-training epoch and one fine-tuning epoch.
    stack_before = clf.stack_.layers_[0].weights.copy()
    clf.partial_fit(X[200:], y[200:])
    assert not np.allclose(clf.stack_.layers_[0].weights, stack_before)
    assert clf.t_ == t_before + 100


def test_unlabelled_stream_before_labels_pretrains_the_network(digits):
    X, y = digits
    clf = quick()
    clf.partial_fit(X[:100], np.full(100, -1), classes=np.arange(10))
    assert clf.t_ == 0 and clf.n_iter_ == 0
    clf.partial_fit(X[100:200], np.full(100, -1))
    # Before any fine-tuning, the network's hidden layer is the stack's.
    np.testing.assert_array_equal(clf.coefs_[0], clf.stack_.layers_[0].weights)
    np.testing.assert_array_equal(clf.intercepts_[0], clf.stack_.layers_[0].hidden_bias)
    clf.partial_fit(X[200:], y[200:])
    assert clf.t_ == 100
    assert not np.array_equal(clf.coefs_[0], clf.stack_.layers_[0].weights)
    assert set(clf.predict(X)) <= set(range(10))


def test_regressor_partial_fit_with_unlabelled_chunks(digits):
    X, y = digits
    reg = DBNRegressor((8,), n_epochs=2, semi_supervised=True, random_state=0)
    reg.partial_fit(X[:100], y[:100] / 9.0)
    before = reg.stack_.layers_[0].weights.copy()
    reg.partial_fit(X[100:200], np.full(100, np.nan))
    assert not np.allclose(reg.stack_.layers_[0].weights, before)
    assert reg.t_ == 100


def test_pseudo_labels_reach_the_loss(digits):
    X, y = digits
    y_semi, _ = with_unlabelled(y, 60)
    off = quick(pseudo_label_weight=0.0).fit(X, y_semi)
    on = quick(pseudo_label_weight=1.0, pseudo_label_threshold=0.0).fit(X, y_semi)
    assert not np.allclose(off.coefs_[-1], on.coefs_[-1])
    # Fully labelled data: the pseudo-label parameters change nothing.
    a = quick(pseudo_label_weight=0.0).fit(X, y)
    b = quick(pseudo_label_weight=3.0, pseudo_label_threshold=0.0).fit(X, y)
    np.testing.assert_array_equal(a.coefs_[-1], b.coefs_[-1])


def test_pseudo_labeller_weights_match_the_loss_it_documents():
    # Labelled mean loss + weight * (sum of confident rows' losses) / n_drawn.
    rng = np.random.default_rng(0)
    net = FeedForwardNetwork.initialize([4, 5, 3], rng=rng)
    X_l, Y_l = rng.random((6, 4)), np.eye(3)[[0, 1, 2, 0, 1, 2]]
    X_u = rng.random((10, 4))
    labeller = PseudoLabeller(X_u, None, 10, 2.0, 0.0, np.random.default_rng(1))
    X_b, Y_b, w_b = labeller.extend(net, X_l, Y_l, None)
    assert X_b.shape == (16, 4) and Y_b.shape == (16, 3)
    proba = net.forward(X_b)
    losses = -np.log(np.sum(proba * Y_b, axis=1))
    expected = losses[:6].mean() + 2.0 * losses[6:].sum() / 10
    loss, _, _ = net.loss_and_gradients(X_b, Y_b, sample_weight=w_b)
    # The weighted mean is the documented loss up to the constant total weight.
    np.testing.assert_allclose(loss * w_b.sum() / 6, expected, rtol=1e-6)
    # Pseudo targets are the network's most probable classes.
    np.testing.assert_array_equal(
        Y_b[6:].argmax(axis=1), net.forward(X_b[6:]).argmax(axis=1)
    )
    # A threshold above every probability adds nothing.
    none = PseudoLabeller(X_u, None, 10, 2.0, 1.0, np.random.default_rng(1))
    X_n, _, w_n = none.extend(net, X_l, Y_l, None)
    assert X_n.shape == (6, 4) and w_n is None


def test_pipeline_clone_pickle_and_skops(digits):
    X, y = digits
    y_semi, labelled = with_unlabelled(y, 60)
    pipe = make_pipeline(FunctionTransformer(), quick()).fit(X, y_semi)
    assert -1 not in pipe.classes_
    clf = clone(pipe[-1]).fit(X, y_semi)
    np.testing.assert_array_equal(clf.predict_proba(X), pipe.predict_proba(X))
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    sio = pytest.importorskip("skops.io")
    data = sio.dumps(clf)
    restored = sio.loads(data, trusted=["skdbn._classifier.DBNClassifier"])
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    # The restored model streams on: pre-training and fine-tuning continue.
    for model in (clf, restored):
        model.partial_fit(X[:50], np.full(50, -1))
        model.partial_fit(X[50:100], y[50:100])
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))


def test_grid_search_scored_on_labelled_rows_only(digits):
    X, y = digits
    y_semi, labelled = with_unlabelled(y, 100)

    def labelled_accuracy(estimator, X_test, y_test):
        keep = y_test != -1
        return accuracy_score(y_test[keep], estimator.predict(X_test[keep]))

    folds = np.where(labelled, np.arange(len(y)) % 2, -1)  # unlabelled: always train
    search = GridSearchCV(
        quick(),
        {"alpha": [1e-4, 1e-2]},
        cv=PredefinedSplit(folds),
        scoring=labelled_accuracy,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y_semi)
    assert -1 not in search.best_estimator_.classes_
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_regressor_first_chunk_needs_labels(digits):
    X, _ = digits
    with pytest.raises(ValueError, match="first call to partial_fit needs labelled"):
        DBNRegressor((8,), n_epochs=1, semi_supervised=True).partial_fit(
            X[:50], np.full(50, np.nan)
        )


def test_without_semi_supervised_minus_one_is_a_class_and_nan_an_error(digits):
    # The markers are opt-in: {-1, 1} is a standard binary labelling that
    # scikit-learn's estimator checks require every classifier to accept.
    X, y = digits
    y_pm = np.where(y < 5, -1, 1)
    clf = quick(semi_supervised=False).fit(X, y_pm)
    np.testing.assert_array_equal(clf.classes_, [-1, 1])
    target = y / 9.0
    target[:3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        DBNRegressor((8,), n_epochs=1, max_iter=2).fit(X, target)


def test_stream_pretraining_off_pretrains_the_first_chunk_only(digits):
    X, y = digits
    clf = quick(stream_pretraining=False)
    clf.partial_fit(X[:100], y[:100], classes=np.arange(10))
    before = clf.stack_.layers_[0].weights.copy()
    clf.partial_fit(X[100:200], y[100:200])
    np.testing.assert_array_equal(clf.stack_.layers_[0].weights, before)
    assert clf.t_ == 200


def test_generative_layer_needs_labelled_rows_in_the_first_chunk(digits):
    X, _ = digits
    clf = quick(generative_layer_size=8)
    with pytest.raises(ValueError, match="generative_layer_size needs labelled"):
        clf.partial_fit(X[:50], np.full(50, -1), classes=np.arange(10))
