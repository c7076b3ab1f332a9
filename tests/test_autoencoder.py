"""DBNAutoencoder: unrolling a stack, and the estimator."""

import re

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning

from skdbn import BernoulliRBMStack, DataRangeWarning, DBNAutoencoder, GaussianRBMStack
from skdbn._autoencoder_network import AutoencoderNetwork
from skdbn.datasets import load_digits_01


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits_01(return_X_y=True)
    return X[:1400], X[1400:], y[:1400], y[1400:]


def quick(**params):
    defaults = dict(
        hidden_layer_sizes=(16, 4),
        n_epochs=2,
        batch_size=20,
        max_iter=5,
        learning_rate_init=0.01,
        random_state=0,
    )
    return DBNAutoencoder(**{**defaults, **params})


@pytest.fixture(scope="module")
def small():
    return load_digits_01(return_X_y=True)[0][:200]


# ------------------------------------------------------------ unrolling


@pytest.mark.parametrize(
    "stack",
    [
        BernoulliRBMStack((12, 6, 3), hidden_units=["bernoulli", "relu", "gaussian"]),
        GaussianRBMStack(
            (10, 3),
            hidden_units=["bernoulli", "gaussian"],
            learn_variance=True,
            standardize=False,
        ),
    ],
    ids=["bernoulli", "gaussian-learned-std"],
)
def test_unrolled_network_reproduces_the_stacks_up_down_pass(small, stack):
    X = small if isinstance(stack, BernoulliRBMStack) else (small - 0.3) * 2
    stack.set_params(n_epochs=2, random_state=0).fit(X)
    visible = "bernoulli" if isinstance(stack, BernoulliRBMStack) else "gaussian"
    net = AutoencoderNetwork.from_layers(stack.layers_, visible)
    np.testing.assert_allclose(net.encode(X), stack.transform(X), rtol=1e-12)
    expected = stack.inverse_transform(stack.transform(X))
    np.testing.assert_allclose(
        net.decode(net.encode(X)), expected, rtol=1e-10, atol=1e-12
    )
    # The copies are the network's own: fine-tuning leaves the stack alone.
    assert not np.shares_memory(net.weights[0], stack.layers_[0].weights)


def test_estimator_before_fine_tuning_is_the_stack(small, monkeypatch):
    monkeypatch.setattr(DBNAutoencoder, "_fine_tune", lambda self, X, X_val: None)
    ae = quick(hidden_layer_sizes=(16, 8, 4)).fit(small)
    stack = ae.stack_
    assert [layer.hidden_units for layer in stack.layers_] == [
        "bernoulli",
        "bernoulli",
        "gaussian",
    ]
    np.testing.assert_allclose(ae.transform(small), stack.transform(small))
    np.testing.assert_allclose(
        ae.inverse_transform(ae.transform(small)),
        stack.inverse_transform(stack.transform(small)),
    )
    variational = quick(variational=True).fit(small)
    np.testing.assert_allclose(
        variational.transform(small), variational.stack_.transform(small)
    )


# ------------------------------------------------------------ quality


def test_beats_pca_with_the_same_code_size(digits):
    X_train, X_test, _, _ = digits
    ae = DBNAutoencoder(
        hidden_layer_sizes=(64, 10),
        batch_size=20,
        max_iter=30,
        learning_rate_init=0.01,
        random_state=0,
    )
    with pytest.warns(ConvergenceWarning):
        ae.fit(X_train)
    pca = PCA(10).fit(X_train)
    pca_error = ((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2).sum(1)
    assert -ae.score(X_test) < 0.8 * pca_error.mean()
    assert ae.loss_curve_[-1] < ae.loss_curve_[0]


def test_default_pretraining_helps_and_beats_pca(digits):
    # The defaults (pre-training long enough to hand fine-tuning weights of
    # a useful scale, Adam at 1e-2), fine-tuning cut to 30 epochs for speed:
    # pre-training must give a lower error than the same fit from a random
    # start, and one clearly below PCA's at the same code size: here 2.54
    # against 2.84 and PCA's 3.34 (at code size 10: 1.07, 1.53 and 1.30).
    # Before the change (10 pre-training epochs, Adam at 1e-3) the
    # pre-trained error was 3.33 (2.71 at code size 10).
    X_train, X_test, _, _ = digits
    errors = {}
    for pretrain in (True, False):
        ae = DBNAutoencoder((100, 2), pretrain=pretrain, max_iter=30, random_state=0)
        with pytest.warns(ConvergenceWarning):
            ae.fit(X_train)
        errors[pretrain] = -ae.score(X_test)
    pca = PCA(2).fit(X_train)
    pca_error = ((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2).sum(1)
    assert errors[True] < 0.95 * errors[False]
    assert errors[True] < 0.9 * pca_error.mean()


def test_variational_fit_sample_and_elbo(digits):
    X_train, X_test, _, _ = digits
    vae = quick(hidden_layer_sizes=(32, 4), variational=True, max_iter=8)
    with pytest.warns(ConvergenceWarning):
        vae.fit(X_train[:500])
    assert len(vae.kl_curve_) == vae.n_iter_ == 8
    samples = vae.sample(7, random_state=0)
    assert samples.shape == (7, 64)
    assert samples.min() >= 0 and samples.max() <= 1
    np.testing.assert_array_equal(samples, vae.sample(7, random_state=0))
    elbo = vae.score_samples(X_test)
    assert elbo.shape == (len(X_test),) and np.all(elbo < 0)
    # Deterministic by default, so subsets score the same.
    # Row by row as in a batch (to rounding: BLAS blocks by the batch's size).
    np.testing.assert_allclose(vae.score_samples(X_test[:5]), elbo[:5], rtol=1e-12)
    monte_carlo = vae.score_samples(X_test, n_draws=5, random_state=0)
    assert abs(monte_carlo.mean() - elbo.mean()) < 0.2 * abs(elbo.mean())
    with pytest.raises(ValueError, match="n_draws"):
        vae.score_samples(X_test, n_draws=-1)
    with pytest.raises(ValueError, match="n_samples"):
        vae.sample(0)
    assert not hasattr(quick(), "score_samples") and not hasattr(quick(), "sample")


def test_kl_warm_up_is_linear():
    vae = quick(variational=True, kl_weight=2.0, kl_warmup_epochs=4)
    assert [vae._kl_weight_at(e) for e in range(6)] == [0.5, 1.0, 1.5, 2.0, 2.0, 2.0]
    assert quick(variational=True, kl_warmup_epochs=0)._kl_weight_at(0) == 1.0


# ------------------------------------------------------------ estimator API


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_same_seed_same_model(small):
    for params in ({}, {"variational": True}, {"pretrain": False}):
        a = quick(**params).fit(small).transform(small)
        b = quick(**params).fit(small).transform(small)
        np.testing.assert_array_equal(a, b)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_float32_and_sparse_input(small):
    X32 = small.astype(np.float32)
    ae = quick().fit(X32)
    assert ae.transform(X32).dtype == np.float32
    assert ae.inverse_transform(ae.transform(X32)).dtype == np.float32
    assert all(w.dtype == np.float32 for w in ae.coefs_)
    dense = quick(variational=True).fit(small)
    sparse = quick(variational=True).fit(sp.csr_matrix(small))
    np.testing.assert_allclose(
        sparse.transform(small), dense.transform(small), atol=1e-8
    )
    np.testing.assert_allclose(
        sparse.score_samples(sp.csr_matrix(small)), dense.score_samples(small)
    )


def test_pretrain_false(small):
    with pytest.warns(ConvergenceWarning):
        ae = quick(pretrain=False, solver="sgd", learning_rate_init=0.1).fit(small)
    assert ae.stack_ is None
    assert [w.shape for w in ae.coefs_] == [(64, 16), (16, 4), (4, 16), (16, 64)]
    assert np.isfinite(ae.score(small))


def test_attributes_and_feature_names(small):
    with pytest.warns(ConvergenceWarning, match="max_iter=5"):
        ae = quick().fit(small)
    assert ae.n_features_in_ == 64 and ae.n_components_ == 4 and ae.n_iter_ == 5
    assert len(ae.loss_curve_) == 5 and ae.best_loss_ == min(ae.loss_curve_)
    assert ae.t_ == 5 * len(small)
    assert ae.validation_scores_ is None and ae.kl_curve_ is None
    assert list(ae.get_feature_names_out()) == [f"dbnautoencoder{i}" for i in range(4)]
    assert ae.score(small) == pytest.approx(
        -((ae.inverse_transform(ae.transform(small)) - small) ** 2).sum(1).mean()
    )


def test_early_stopping_and_warm_start(small):
    ae = quick(early_stopping=True, max_iter=30, n_iter_no_change=2, tol=10.0)
    # tol=10 never counts as improvement: stops after more than 2 more epochs,
    # as MLP does.
    ae.fit(small)
    assert ae.n_iter_ == 4 and len(ae.validation_scores_) == 4
    assert ae.best_validation_score_ == max(ae.validation_scores_)
    stack = ae.stack_
    ae.set_params(warm_start=True, early_stopping=False, max_iter=2)
    with pytest.warns(ConvergenceWarning):
        ae.fit(small)
    # n_iter_ counts the epochs of the last fit; loss_curve_ all of them.
    assert ae.n_iter_ == 2 and len(ae.loss_curve_) == 6 and ae.stack_ is stack
    with pytest.raises(ValueError, match="variational"):
        ae.set_params(variational=True).fit(small)


def test_bad_input(small):
    with pytest.raises(ValueError, match="NaN"):
        quick().fit(np.full((10, 4), np.nan))
    with pytest.warns(ConvergenceWarning):
        ae = quick().fit(small)
    with pytest.raises(ValueError, match="features"):
        ae.transform(small[:, :10])
    with pytest.raises(ValueError, match="size of its code"):
        ae.inverse_transform(np.zeros((2, 5)))
    with (
        pytest.warns(DataRangeWarning, match="DBNAutoencoder"),
        pytest.warns(ConvergenceWarning, match="saturated every hidden unit"),
    ):
        quick(visible_units="bernoulli", max_iter=1, n_iter_no_change=1, tol=1e9).fit(
            small * 3
        )
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        quick(hidden_layer_sizes=(4, 0)).fit(small)


def test_divergence_restores_finite_weights(small):
    ae = quick(solver="sgd", learning_rate_init=1e30, pretrain=False)
    with pytest.warns(ConvergenceWarning, match="diverged"):
        ae.fit(small)
    assert all(np.isfinite(w).all() for w in ae.coefs_)


def test_keyboard_interrupt_leaves_a_usable_model(small, monkeypatch):
    calls = {"n": 0}
    original = AutoencoderNetwork.loss_and_gradients

    def interrupting(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 25:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(AutoencoderNetwork, "loss_and_gradients", interrupting)
    with pytest.warns(UserWarning, match="Fine-tuning interrupted by the user"):
        ae = quick(max_iter=50).fit(small)
    assert ae.n_iter_ == 2  # 10 minibatches per epoch: stopped in the third
    assert np.isfinite(ae.transform(small)).all()


def test_verbose_prints_one_line_per_epoch(small, capsys):
    with pytest.warns(ConvergenceWarning):
        quick(verbose=1, variational=True, max_iter=3, n_epochs=1).fit(small)
    lines = [
        line
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("[fine-tuning]")
    ]
    assert len(lines) == 3
    assert lines[0].startswith("[fine-tuning] epoch   1/3, loss ")
    assert "KL " in lines[0] and "KL weight " in lines[0]
    assert re.search(r"\ds, ETA \d+:\d\d:\d\d$", lines[0])


def test_kl_warm_up_continues_across_warm_starts(small, capsys):
    vae = quick(
        variational=True, max_iter=2, kl_warmup_epochs=4, warm_start=True, verbose=1
    )
    with pytest.warns(ConvergenceWarning):
        vae.fit(small)
    capsys.readouterr()
    with pytest.warns(ConvergenceWarning):
        vae.fit(small)
    # n_iter_ restarts at each fit, the KL warm-up does not.
    assert vae.n_iter_ == 2 and len(vae.loss_curve_) == len(vae.kl_curve_) == 4
    weights = re.findall(r"KL weight ([\d.]+)", capsys.readouterr().out)
    assert weights == ["0.75", "1"]


def test_lbfgs_fine_tunes_the_whole_training_set(small):
    sgd = quick(solver="sgd", max_iter=10)
    with pytest.warns(ConvergenceWarning):
        sgd.fit(small)
    ae = quick(solver="lbfgs", max_iter=30)
    with pytest.warns(ConvergenceWarning, match="L-BFGS"):
        ae.fit(small)
    assert ae.n_iter_ == len(ae.loss_curve_) == 30
    assert ae.loss_curve_[-1] < ae.loss_curve_[0]
    assert ae.score(small) > sgd.score(small)
    with pytest.raises(ValueError, match="variational code needs a stochastic"):
        quick(solver="lbfgs", variational=True).fit(small)


def test_invscaling_schedule_lowers_the_sgd_step(small):
    ae = quick(solver="sgd", fine_tuning_schedule="invscaling", power_t=0.25)
    with pytest.warns(ConvergenceWarning):
        ae.fit(small)
    assert ae.t_ == 5 * 200
    assert ae._optimizer.learning_rate == pytest.approx(0.01 / 1001**0.25)
