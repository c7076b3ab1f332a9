"""BernoulliRBMStack: the estimator's API, its fitted state and bad input."""

import pickle
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from skdbn import BernoulliRBMStack, DataRangeWarning, GaussianRBMStack, RBMLayer
from skdbn._training import RBMTrainer


@pytest.fixture(scope="module")
def digits01():
    X, _ = load_digits(return_X_y=True)
    return X / 16.0


@pytest.fixture(scope="module")
def binary_data():
    rng = np.random.default_rng(0)
    return (rng.random((60, 12)) < 0.3).astype(np.float64)


def small_stack(**params):
    defaults = dict(
        hidden_layer_sizes=(6, 4), n_epochs=3, batch_size=10, random_state=0
    )
    return BernoulliRBMStack(**{**defaults, **params})


# ----------------------------------------------------------------- fitted state


def test_fit_creates_one_layer_per_size(binary_data):
    stack = small_stack(hidden_layer_sizes=(7, 5, 3)).fit(binary_data)
    assert [type(layer) for layer in stack.layers_] == [RBMLayer] * 3
    shapes = [layer.weights.shape for layer in stack.layers_]
    assert shapes == [(12, 7), (7, 5), (5, 3)]
    assert [layer.visible_bias.shape for layer in stack.layers_] == [(12,), (7,), (5,)]
    assert [len(layer.history) for layer in stack.layers_] == [3, 3, 3]
    assert stack.n_features_in_ == 12


def test_integer_hidden_layer_sizes_means_one_layer(binary_data):
    stack = small_stack(hidden_layer_sizes=5).fit(binary_data)
    assert len(stack.layers_) == 1
    assert stack.transform(binary_data).shape == (60, 5)


def test_history_records_each_epoch(binary_data):
    stack = small_stack(n_epochs=4, validation_fraction=0.25).fit(binary_data)
    history = stack.layers_[0].history
    assert [entry["epoch"] for entry in history] == [1, 2, 3, 4]
    for entry in history:
        assert {"reconstruction_error", "free_energy", "momentum", "seconds"} <= set(
            entry
        )
        assert np.isclose(
            entry["free_energy_gap"],
            entry["validation_free_energy"] - entry["free_energy"],
        )
    # Momentum ramps linearly from 0.5 towards 0.9 over the first 5 epochs.
    assert [entry["momentum"] for entry in history] == pytest.approx(
        [0.5, 0.58, 0.66, 0.74]
    )


def test_upper_layers_train_on_lower_layer_probabilities(binary_data, monkeypatch):
    seen = []
    original_fit = RBMTrainer.fit

    def recording_fit(self, X, rng, **kwargs):
        seen.append(np.array(X, copy=True))
        return original_fit(self, X, rng, **kwargs)

    monkeypatch.setattr(RBMTrainer, "fit", recording_fit)
    stack = small_stack().fit(binary_data)
    np.testing.assert_allclose(seen[1], stack.layers_[0].hidden_mean(binary_data))


def test_training_lowers_reconstruction_error(digits01):
    stack = BernoulliRBMStack(
        hidden_layer_sizes=(64,), n_epochs=15, batch_size=20, random_state=0
    ).fit(digits01)
    errors = [entry["reconstruction_error"] for entry in stack.layers_[0].history]
    assert errors[-1] < 0.6 * errors[0]


# -------------------------------------------------------------------- methods


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transform_preserves_dtype_and_range(binary_data, dtype):
    X = binary_data.astype(dtype)
    stack = small_stack().fit(X)
    H = stack.transform(X)
    assert H.dtype == dtype
    assert stack.layers_[0].weights.dtype == dtype
    assert H.shape == (60, 4)
    assert np.all((H >= 0) & (H <= 1))
    np.testing.assert_allclose(stack.fit_transform(X), H, rtol=1e-6)


def test_inverse_transform_goes_down_the_stack(binary_data):
    stack = small_stack().fit(binary_data)
    H = stack.transform(binary_data)
    V = stack.inverse_transform(H)
    expected = stack.layers_[0].visible_mean(stack.layers_[1].visible_mean(H))
    np.testing.assert_allclose(V, expected)
    assert V.shape == binary_data.shape
    with pytest.raises(ValueError, match="expects 4 .*inverse_transform"):
        stack.inverse_transform(np.zeros((2, 5)))


def test_score_samples_is_negative_free_energy(binary_data):
    stack = small_stack().fit(binary_data)
    scores = stack.score_samples(binary_data)
    np.testing.assert_allclose(scores, -stack.layers_[0].free_energy(binary_data))
    np.testing.assert_array_equal(scores, stack.score_samples(binary_data))
    # Row-wise: a sample scores the same alone as within a batch.
    np.testing.assert_allclose(stack.score_samples(binary_data[3:4]), scores[3:4])


def test_score_samples_ranks_training_data_above_noise(digits01):
    stack = BernoulliRBMStack((32,), n_epochs=10, batch_size=20, random_state=0)
    stack.fit(digits01)
    noise = np.random.default_rng(0).random(digits01.shape)
    assert np.median(stack.score_samples(digits01)) > np.median(
        stack.score_samples(noise)
    )


def test_sample_shapes_range_and_seed(binary_data):
    stack = small_stack().fit(binary_data)
    samples = stack.sample(5, n_steps=20, random_state=1)
    assert samples.shape == (5, 12)
    assert np.all((samples >= 0) & (samples <= 1))
    np.testing.assert_array_equal(samples, stack.sample(5, n_steps=20, random_state=1))
    assert not np.array_equal(samples, stack.sample(5, n_steps=20, random_state=2))


def test_sample_reproduces_the_data_marginals(digits01):
    stack = BernoulliRBMStack((64,), n_epochs=20, batch_size=20, random_state=0)
    stack.fit(digits01)
    samples = stack.sample(500, n_steps=200, random_state=0)
    # Pixel marginals of generated digits follow the data's (border pixels
    # stay off, central ones on); a loose check that sampling is wired right.
    correlation = np.corrcoef(samples.mean(axis=0), digits01.mean(axis=0))[0, 1]
    assert correlation > 0.9


def test_feature_names_out(binary_data):
    stack = small_stack().fit(binary_data)
    names = stack.get_feature_names_out()
    assert list(names) == [f"bernoullirbmstack{i}" for i in range(4)]


def test_per_layer_parameters(binary_data):
    stack = small_stack(learning_rate=[0.1, 0.01], n_epochs=(2, 5)).fit(binary_data)
    assert [len(layer.history) for layer in stack.layers_] == [2, 5]
    assert [t.settings.learning_rate for t in stack._trainers] == [0.1, 0.01]


@pytest.mark.parametrize(
    "params, message",
    [
        (
            dict(learning_rate=[0.1]),
            "learning_rate has 1 values but there are 2 layers",
        ),
        (dict(n_epochs=[2, -1]), "Each value of n_epochs"),
        (dict(sparsity_target=[0.1, 1.5]), "Each value of sparsity_target"),
        (dict(hidden_layer_sizes=()), "hidden_layer_sizes must be"),
        (dict(hidden_layer_sizes=(4, 0)), "hidden_layer_sizes must be"),
        (dict(hidden_layer_sizes=(4.5,)), "hidden_layer_sizes must be"),
        (dict(learning_rate=0), "learning_rate"),
        (dict(batch_size=0), "batch_size"),
        (dict(momentum=1.0), "momentum"),
        (dict(cd_steps=0), "cd_steps"),
        (dict(validation_fraction=1.0), "validation_fraction"),
    ],
)
def test_invalid_parameters_are_named(binary_data, params, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        small_stack(**params).fit(binary_data)


def test_validation_fraction_needs_samples_on_both_sides():
    with pytest.raises(ValueError, match="validation_fraction=0.1 leaves 0"):
        small_stack(validation_fraction=0.1).fit(np.zeros((3, 4)))


def test_sparsity_penalty_pulls_hidden_activity_to_target(digits01):
    params = dict(hidden_layer_sizes=(50,), n_epochs=10, batch_size=20, random_state=0)
    free = BernoulliRBMStack(**params).fit(digits01).transform(digits01).mean()
    stack = BernoulliRBMStack(**params, sparsity_target=0.3, sparsity_cost=0.5)
    activity = stack.fit(digits01).transform(digits01).mean()
    assert abs(free - 0.3) > 0.2
    assert activity == pytest.approx(0.3, abs=0.03)


def test_verbose_prints_one_line_per_layer_and_epoch(binary_data, capsys):
    small_stack(verbose=1, n_epochs=2).fit(binary_data)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("[layer 1/2] epoch   1/2, reconstruction error")
    assert lines[-1].startswith("[layer 2/2] epoch   2/2")


# ---------------------------------------------------------------- partial_fit


def test_partial_fit_streams_chunks(digits01):
    stack = BernoulliRBMStack((32, 16), batch_size=20, random_state=0)
    for chunk in np.array_split(digits01.astype(np.float32), 9):
        assert stack.partial_fit(chunk) is stack
    assert stack.layers_[0].weights.dtype == np.float32
    first = BernoulliRBMStack((32, 16), batch_size=20, random_state=0)
    first.partial_fit(digits01[:200].astype(np.float32))
    # Later chunks keep training (and float64 chunks are cast to float32).
    stack.partial_fit(digits01[:200])
    assert stack.transform(digits01[:5].astype(np.float32)).dtype == np.float32
    error = stack.layers_[0].reconstruction_error(digits01.astype(np.float32))
    untrained = first.layers_[0].reconstruction_error(digits01.astype(np.float32))
    assert error < untrained


def test_partial_fit_after_fit_continues_training(binary_data):
    stack = small_stack().fit(binary_data)
    weights = stack.layers_[0].weights.copy()
    stack.partial_fit(binary_data)
    assert not np.array_equal(weights, stack.layers_[0].weights)
    with pytest.raises(ValueError, match="X has 5 features"):
        stack.partial_fit(binary_data[:, :5])


def test_persistent_chains_survive_pickling(binary_data):
    stack = small_stack(persistent=True).fit(binary_data)
    chains = stack._trainers[0].gradient.chains
    assert chains.shape == (10, 6)
    clone = pickle.loads(pickle.dumps(stack))
    np.testing.assert_array_equal(clone._trainers[0].gradient.chains, chains)
    stack.partial_fit(binary_data)
    clone.partial_fit(binary_data)
    np.testing.assert_array_equal(stack.layers_[0].weights, clone.layers_[0].weights)


# ------------------------------------------------------- interruption, divergence


def test_keyboard_interrupt_keeps_a_usable_model(binary_data, monkeypatch):
    original = RBMTrainer.run_epoch
    calls = []

    def interrupted_run_epoch(self, X, rng, *args, **kwargs):
        calls.append(self.name)
        if self.name.startswith("layer 2") and self.epochs_done == 1:
            raise KeyboardInterrupt
        return original(self, X, rng, *args, **kwargs)

    monkeypatch.setattr(RBMTrainer, "run_epoch", interrupted_run_epoch)
    stack = small_stack(hidden_layer_sizes=(6, 5, 4))
    with pytest.warns(UserWarning) as record:
        stack.fit(binary_data)
    messages = [str(w.message) for w in record]
    assert any(
        "interrupted by the user during epoch 2 of layer 2/3" in m for m in messages
    )
    assert any("Stopped after 2 of 3 layers" in m for m in messages)
    assert len(stack.layers_) == 2
    assert len(stack.layers_[1].history) == 1
    assert stack.transform(binary_data).shape == (60, 5)
    assert np.isfinite(stack.transform(binary_data)).all()


def test_divergence_warns_and_keeps_finite_parameters(binary_data):
    stack = small_stack(learning_rate=1e38, n_epochs=5)
    with pytest.warns(ConvergenceWarning, match="diverged"):
        stack.fit(binary_data.astype(np.float32))
    for layer in stack.layers_:
        assert all(np.isfinite(p).all() for p in layer.parameters)
    assert np.isfinite(stack.transform(binary_data)).all()


# ------------------------------------------------------------------ bad input


def test_not_fitted_errors(binary_data):
    stack = small_stack()
    for method in (stack.transform, stack.score_samples, stack.inverse_transform):
        with pytest.raises(NotFittedError):
            method(binary_data)
    with pytest.raises(NotFittedError):
        stack.sample(2)


@pytest.mark.parametrize("value", [np.inf, -np.inf])
@pytest.mark.parametrize("method", ["fit", "transform", "score_samples", "partial_fit"])
def test_infinite_input_is_rejected(binary_data, value, method):
    # NaN is a missing entry (accepted); an infinity is an error.
    stack = small_stack().fit(binary_data)
    X = binary_data.copy()
    X[2, 3] = value
    with pytest.raises(ValueError, match="Input X contains infinity"):
        getattr(stack, method)(X)


def test_wrong_number_of_features_at_transform(binary_data):
    stack = small_stack().fit(binary_data)
    with pytest.raises(ValueError, match="X has 11 features, but BernoulliRBMStack is"):
        stack.transform(binary_data[:, :11])


def test_empty_input_is_rejected():
    with pytest.raises(ValueError, match="0 sample"):
        small_stack().fit(np.empty((0, 4)))
    with pytest.raises(ValueError, match="0 feature"):
        small_stack().fit(np.empty((5, 0)))


def test_single_sample_trains(binary_data):
    stack = small_stack().fit(binary_data[:1])
    assert stack.transform(binary_data[:1]).shape == (1, 4)
    assert stack._trainers[0].settings.batch_size == 1


def test_one_dimensional_input_is_rejected():
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        small_stack().fit(np.zeros(5))


@pytest.mark.parametrize(
    "X, error, message",
    [
        (np.array([["a", "b"], ["c", "d"]]), ValueError, "could not convert|dtype"),
        (np.array([[1 + 1j, 0], [0, 1]]), ValueError, "Complex data not supported"),
        (np.array([[object(), 1]], dtype=object), TypeError, "float"),
    ],
)
def test_non_numeric_input_is_rejected(X, error, message):
    with pytest.raises(error, match=message):
        small_stack().fit(X)


def test_out_of_range_values_warn_at_fit_only(binary_data):
    with pytest.warns(DataRangeWarning, match=r"values in \[0, 255\].*MinMaxScaler"):
        small_stack().fit(binary_data * 255)
    with pytest.warns(DataRangeWarning, match=r"values in \[-1, 1\]"):
        small_stack().partial_fit(binary_data * 2 - 1)
    stack = small_stack()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stack.fit(binary_data)
        # Held-out data slightly outside the training range is fine.
        stack.transform(binary_data * 1.1)


def test_sparse_out_of_range_values_warn(binary_data):
    with pytest.warns(DataRangeWarning, match=r"values in \[0, 3\]"):
        small_stack().fit(sp.csr_matrix(binary_data * 3))


def test_sparse_formats_give_the_dense_model(binary_data):
    dense = small_stack().fit(binary_data)
    for convert in (sp.csr_matrix, sp.csr_array, sp.csc_matrix):
        stack = small_stack().fit(convert(binary_data))
        for a, b in zip(stack.layers_, dense.layers_, strict=True):
            np.testing.assert_allclose(a.weights, b.weights, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(
            stack.transform(convert(binary_data)), dense.transform(binary_data)
        )
        np.testing.assert_allclose(
            stack.score_samples(convert(binary_data)), dense.score_samples(binary_data)
        )


# ------------------------------------------------------------ sample weights

INTEGER_WEIGHTS = np.tile([2.0, 0.0, 1.0, 3.0, 1.0, 0.0], 10)


def parameters(stack):
    return [p for layer in stack.layers_ for p in layer.parameters]


@pytest.mark.parametrize("stack_class", [BernoulliRBMStack, GaussianRBMStack])
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_zero_weights_leave_rows_out(binary_data, stack_class, method):
    kept = INTEGER_WEIGHTS > 0
    params = dict(n_epochs=3, batch_size=10, sparsity_cost=0.1, random_state=0)
    if stack_class is GaussianRBMStack:
        # On the raw 0/1 data the weighted and plain means are exactly equal.
        params.update(learn_variance=True, standardize=False)
    weighted = stack_class((6, 4), **params)
    plain = clone(weighted)
    getattr(weighted, method)(binary_data, sample_weight=kept.astype(float))
    getattr(plain, method)(binary_data[kept])
    for a, b in zip(parameters(weighted), parameters(plain), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("container", [np.asarray, sp.csr_matrix])
def test_initial_layer_uses_weighted_mean_and_spread(binary_data, container):
    # No epochs: the first layer's visible biases (and standard deviations)
    # are set from the weighted statistics, as from the repeated rows.
    repeated = np.repeat(binary_data, INTEGER_WEIGHTS.astype(int), axis=0)
    for stack_class, extra in [
        (BernoulliRBMStack, {}),
        (GaussianRBMStack, {"learn_variance": True}),
    ]:
        weighted = stack_class((4,), n_epochs=0, random_state=0, **extra)
        plain = clone(weighted)
        weighted.fit(container(binary_data), sample_weight=INTEGER_WEIGHTS)
        plain.fit(container(repeated))
        for a, b in zip(parameters(weighted), parameters(plain), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_constant_weights_train_as_no_weights(binary_data):
    weighted = small_stack(persistent=True).fit(
        binary_data, sample_weight=np.full(60, 2.5)
    )
    plain = small_stack(persistent=True).fit(binary_data)
    for a, b in zip(parameters(weighted), parameters(plain), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_heavy_rows_are_modelled_better():
    # Two groups of patterns: the group that carries the weight is the one
    # the stack reconstructs well.
    rng = np.random.default_rng(0)
    patterns = (rng.random((2, 16)) < 0.5).astype(float)
    group = np.arange(200) % 2
    X = np.abs(patterns[group] - (rng.random((200, 16)) < 0.05))
    errors = []
    for heavy in (0, 1):
        weights = np.where(group == heavy, 1.0, 0.01)
        stack = small_stack(hidden_layer_sizes=(2,), n_epochs=10).fit(
            X, sample_weight=weights
        )
        layer = stack.layers_[0]
        errors.append([layer.reconstruction_error(X[group == g]) for g in (0, 1)])
    assert errors[0][0] < errors[0][1]
    assert errors[1][1] < errors[1][0]


@pytest.mark.parametrize(
    "sample_weight, message",
    [
        (-np.ones(60), "Negative values in data passed to `sample_weight`"),
        (np.ones(59), r"sample_weight.shape == \(59,\), expected \(60,\)"),
        (np.zeros(60), "at least one non-zero"),
        (np.full(60, np.nan), "NaN"),
    ],
)
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_bad_sample_weight(binary_data, sample_weight, message, method):
    with pytest.raises(ValueError, match=message):
        getattr(small_stack(), method)(binary_data, sample_weight=sample_weight)


# ------------------------------------------------------------- missing values


def _with_nan(X, fraction=0.15, seed=1):
    X = X.copy()
    X[np.random.default_rng(seed).random(X.shape) < fraction] = np.nan
    return X


@pytest.mark.parametrize(
    "make",
    [
        lambda: small_stack(),
        lambda: GaussianRBMStack((6, 4), n_epochs=3, batch_size=10, random_state=0),
        lambda: GaussianRBMStack(
            (5,), learn_variance=True, n_epochs=3, batch_size=10, random_state=0
        ),
    ],
    ids=["bernoulli", "gaussian", "gaussian-learn-variance"],
)
def test_missing_values_in_every_method(binary_data, make):
    X = _with_nan(binary_data)
    stack = make().fit(X)
    assert stack.__sklearn_tags__().input_tags.allow_nan
    stack.partial_fit(X)
    assert all(np.isfinite(layer.weights).all() for layer in stack.layers_)
    H = stack.transform(X)
    assert np.isfinite(H).all()
    assert np.isfinite(stack.score_samples(X)).all()
    assert np.isfinite(stack.inverse_transform(H)).all()
    assert np.isfinite(stack.sample(3, n_steps=2, start=X[:3], random_state=0)).all()
    # inverse_transform reads hidden activities, which are never missing.
    with pytest.raises(ValueError, match="NaN"):
        stack.inverse_transform(np.full_like(H[:2], np.nan))


def test_a_missing_unit_is_left_out_of_the_first_layer(binary_data):
    stack = small_stack(hidden_layer_sizes=(5,)).fit(_with_nan(binary_data))
    layer = stack.layers_[0]
    row = binary_data[:1].copy()
    row[0, [2, 7]] = np.nan
    observed = ~np.isnan(row[0])
    by_hand = 1 / (
        1 + np.exp(-(row[0, observed] @ layer.weights[observed] + layer.hidden_bias))
    )
    np.testing.assert_allclose(stack.transform(row)[0], by_hand, rtol=1e-12)
    # The free energy of the observed units only: -b.v - sum softplus(c + vW).
    expected = (
        -row[0, observed] @ layer.visible_bias[observed]
        - np.logaddexp(
            0, row[0, observed] @ layer.weights[observed] + layer.hidden_bias
        ).sum()
    )
    np.testing.assert_allclose(stack.score_samples(row), -expected, rtol=1e-12)


def test_gaussian_stack_standardises_with_the_observed_values():
    rng = np.random.default_rng(0)
    X = _with_nan(rng.normal(5.0, 3.0, size=(200, 4)))
    stack = GaussianRBMStack((3,), n_epochs=2, random_state=0).fit(X)
    np.testing.assert_allclose(stack.input_mean_, np.nanmean(X, axis=0))
    np.testing.assert_allclose(stack.input_scale_, np.nanstd(X, axis=0))


def test_nan_in_sparse_input_and_in_the_autoencoder_is_refused(binary_data):
    from skdbn import DBNAutoencoder

    X = sp.csr_matrix(_with_nan(binary_data))
    with pytest.raises(ValueError, match="missing values \\(NaN\\) in dense input"):
        small_stack().fit(X)
    stack = small_stack().fit(binary_data)
    with pytest.raises(ValueError, match="dense input only"):
        stack.transform(X)
    # DBNAutoencoder reconstructs its input: it refuses NaN, with scikit-learn's
    # message (RBMImputer fills the holes first).
    with pytest.raises(ValueError, match="Input X contains NaN"):
        DBNAutoencoder((4, 2), n_epochs=1, max_iter=2).fit(_with_nan(binary_data))
