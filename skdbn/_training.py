"""The minibatch loop that trains one RBM.

``RBMTrainer`` owns everything that lives across minibatches: the gradient
estimator and its buffers, the momentum velocities, the sparsity penalty's
running estimate, the epoch counter and the monitoring. It is the hot path:
after construction, a minibatch update allocates nothing for dense input.
"""

import time

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import gen_even_slices

from ._contrastive_divergence import ContrastiveDivergence, SparsityPenalty
from ._mixed_units import has_missing
from ._progress import EpochClock, epoch_line, minibatches
from ._units import feature_mean_and_variance
from ._warnings import warn

#: Training has diverged when the reconstruction error grows this many times
#: above the untrained layer's (learning lowers it; runaway weights explode it).
EXPLOSION_FACTOR = 100.0

#: A layer is saturated when every hidden unit's field exceeds this in
#: absolute value on every monitored sample: binary units are then on or off
#: with probability within exp(-40) = 4e-18 of 1, whatever the input, and
#: their gradients vanish; rectified ones are off or far beyond the data's
#: scale. Healthy layers keep fields below about 10 on some samples (the
#: test suite's, on data in range); runaway hidden biases or weights put
#: them in the hundreds or more.
SATURATION_FIELD = 40.0

#: Rows of the training data scored at the end of each epoch for monitoring.
MONITOR_ROWS = 1000


class TrainingSettings:
    """The hyper-parameters of one RBM's training, resolved for one layer."""

    def __init__(
        self,
        *,
        learning_rate,
        n_epochs,
        batch_size,
        cd_steps,
        persistent,
        momentum,
        initial_momentum,
        momentum_ramp_epochs,
        weight_decay,
        learning_rate_schedule="constant",
        sparsity_target,
        sparsity_cost,
    ):
        self.learning_rate = learning_rate
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.cd_steps = cd_steps
        self.persistent = persistent
        self.momentum = momentum
        self.initial_momentum = initial_momentum
        self.momentum_ramp_epochs = momentum_ramp_epochs
        self.learning_rate_schedule = learning_rate_schedule
        self.weight_decay = weight_decay
        self.sparsity_target = sparsity_target
        self.sparsity_cost = sparsity_cost

    def learning_rate_at(self, epoch, n_epochs):
        """Step for the 0-based ``epoch`` of a fit of ``n_epochs`` epochs.

        ``"linear"`` decays it from ``learning_rate`` by ``learning_rate /
        n_epochs`` per epoch, so that the last epoch's step is the smallest
        non-zero one.
        """
        if self.learning_rate_schedule == "linear" and n_epochs > 0:
            return self.learning_rate * (1.0 - epoch / n_epochs)
        return self.learning_rate

    def momentum_at(self, epoch):
        """Momentum for the 0-based ``epoch``: a linear ramp, then constant."""
        if epoch >= self.momentum_ramp_epochs:
            return self.momentum
        fraction = epoch / self.momentum_ramp_epochs
        return self.initial_momentum + fraction * (
            self.momentum - self.initial_momentum
        )


class TrainingDiverged(Exception):
    """Raised inside the loop when the parameters stop being finite."""


class RBMTrainer:
    """Trains one ``RBMLayer`` by minibatch stochastic gradient ascent.

    Parameters
    ----------
    layer : RBMLayer
        The RBM to train, updated in place.
    settings : TrainingSettings
        Its hyper-parameters.
    name : str
        How progress messages and warnings name this layer.
    verbose : int
        Print one line per epoch when positive.
    """

    def __init__(self, layer, settings, name="layer", verbose=0):
        self.layer = layer
        self.settings = settings
        self.name = name
        self.verbose = verbose
        self.gradient = ContrastiveDivergence(
            layer, settings.batch_size, settings.cd_steps, settings.persistent
        )
        self.velocities = [np.zeros_like(p) for p in layer.parameters]
        self.sparsity = (
            SparsityPenalty(settings.sparsity_target, settings.sparsity_cost)
            if settings.sparsity_cost > 0
            else None
        )
        self.epochs_done = 0
        self.diverged = False
        #: The step of the epoch being run (see ``TrainingSettings``).
        self.learning_rate = settings.learning_rate

    def update(self, batch_rows, rng, momentum, row_weights=None):
        """One gradient step on the minibatch loaded in the estimator.

        ``velocity = momentum * velocity + gradient - lr * weight_decay * W``
        (the decay on the weights only), then ``parameter += velocity``;
        learned standard deviations are then kept above their floor. The
        gradient is the (``row_weights``-weighted) mean over the minibatch.
        """
        settings = self.settings
        lr = self.learning_rate
        decay = lr * settings.weight_decay
        buffers = self.gradient.gradients
        mass = (
            batch_rows
            if row_weights is None
            else float(row_weights.sum(dtype=np.float64))
        )
        grads = self.gradient.estimate(
            batch_rows,
            rng,
            scale=lr / mass,
            sparsity=self.sparsity,
            row_weights=row_weights,
        )
        parameters = self.layer.parameters
        for i, (param, grad) in enumerate(zip(parameters, grads, strict=True)):
            velocity = self.velocities[i]
            if momentum == 0:
                # The new velocity is the gradient itself: adopt its buffer
                # and hand the old velocity's to the estimator, instead of
                # two passes over the array (``*= 0``, ``+= grad``).
                self.velocities[i], buffers[i] = grad, velocity
                velocity = grad
            else:
                velocity *= momentum
                velocity += grad
            if i == 0 and decay > 0:
                # buffers[0] is free scratch space until the next estimate.
                penalty = np.multiply(param, decay, out=buffers[0])
                velocity -= penalty
            param += velocity
        if len(parameters) > 3:
            self.layer.enforce_constraints()

    def run_epoch(self, X, rng, shuffle=True, learning_rate=None, sample_weight=None):
        """One pass over ``X`` (dense or CSR) in minibatches.

        ``learning_rate`` defaults to the settings' constant step.
        ``sample_weight`` (positive, one per row, or None) weighs each row's
        statistics in its minibatch's gradient.
        """
        self.learning_rate = (
            self.settings.learning_rate if learning_rate is None else learning_rate
        )
        n_samples = X.shape[0]
        order = rng.permutation(n_samples) if shuffle else np.arange(n_samples)
        n_batches = -(-n_samples // self.settings.batch_size)
        momentum = self.settings.momentum_at(self.epochs_done)
        self.gradient.missing = has_missing(X)
        load_batch, update = self.gradient.load_batch, self.update
        load_weights = self.gradient.load_weights
        # exp may overflow in the sigmoid (correctly giving 0); a diverging
        # fit makes NaNs, which fit() detects and reports after the epoch.
        with np.errstate(over="ignore", invalid="ignore"):
            slices = gen_even_slices(n_samples, n_batches)
            for batch in minibatches(slices, n_batches, self.name, self.verbose):
                rows = order[batch]
                load_batch(X, rows)
                if sample_weight is None:
                    update(len(rows), rng, momentum)
                else:
                    update(len(rows), rng, momentum, load_weights(sample_weight, rows))
        self.epochs_done += 1
        return momentum

    def fit(self, X, rng, X_val=None, n_epochs=None, sample_weight=None):
        """Train for ``n_epochs`` epochs, monitoring after each one.

        ``sample_weight`` is passed to each epoch (see :meth:`run_epoch`).

        Stops early, with a ``ConvergenceWarning``, if training diverges or
        saturates the layer (see :meth:`check_health`; the parameters are
        restored to the end of the last healthy epoch), and on
        ``KeyboardInterrupt``, wherever it lands, with a ``UserWarning``
        (the parameters reached so far are kept, unless they are no longer
        finite). Returns ``False`` when interrupted by the user, ``True``
        otherwise.
        """
        n_epochs = self.settings.n_epochs if n_epochs is None else n_epochs
        snapshot, number = None, self.epochs_done + 1
        try:
            self._clock = EpochClock(self.epochs_done + n_epochs)
            monitor = monitoring_rows(X, rng)
            initial_error = self._runaway_baseline(monitor)
            for epoch in range(n_epochs):
                number = self.epochs_done + 1
                start = time.perf_counter()
                snapshot = [p.copy() for p in self.layer.parameters]
                step = self.settings.learning_rate_at(epoch, n_epochs)
                momentum = self.run_epoch(
                    X, rng, learning_rate=step, sample_weight=sample_weight
                )
                if not self.check_health(snapshot):
                    break
                entry, field = self.record(
                    monitor, X_val, momentum, time.perf_counter() - start
                )
                if not self.check_health(
                    snapshot,
                    entry["reconstruction_error"],
                    initial_error,
                    monitor,
                    field=field,
                ):
                    self.layer.history.pop()
                    break
        except KeyboardInterrupt:
            self._interrupted(snapshot, number)
            return False
        return True

    def partial_epoch(self, X, rng, sample_weight=None):
        """One epoch over ``X`` for ``partial_fit``, then the health checks.

        ``sample_weight`` is passed to the epoch (see :meth:`run_epoch`).

        The checks of :meth:`check_health` run on the first ``MONITOR_ROWS``
        rows of ``X`` (so that no random number is drawn); the reconstruction
        error must not grow ``EXPLOSION_FACTOR`` times in one call. Returns
        whether the epoch was healthy (if not, it was undone).
        """
        monitor = X[:MONITOR_ROWS]
        before = self._runaway_baseline(monitor)  # None for bounded units
        snapshot = [p.copy() for p in self.layer.parameters]
        self.run_epoch(X, rng, sample_weight=sample_weight)
        if not self.check_health(snapshot, stops=False):
            return False
        error = None
        if before is not None:
            with np.errstate(over="ignore", invalid="ignore"):
                error = self.layer.reconstruction_error(monitor)
        return self.check_health(snapshot, error, before, monitor, stops=False)

    def _interrupted(self, snapshot, number):
        """Warn that the user interrupted epoch ``number``; keep finite parameters."""
        restored = snapshot is not None and not self.layer.is_finite()
        if restored:
            self._restore(snapshot)
        kept = (
            "restoring the end of the previous epoch (the parameters were no "
            "longer finite)"
            if restored
            else "keeping the parameters reached so far"
        )
        warn(
            f"Training interrupted by the user during epoch {number} of "
            f"{self.name}; {kept}.",
            UserWarning,
        )

    def _runaway_baseline(self, X):
        """The reconstruction error that, 100 times over, means divergence.

        The larger of the untrained layer's error and the error of always
        predicting the data's mean. None for bounded (binary) visible units,
        whose reconstruction error cannot run away.
        """
        if self.layer.visible_type.bounded or X.shape[0] == 0:
            return None
        X = X.toarray() if sp.issparse(X) else X
        with np.errstate(over="ignore", invalid="ignore"):
            if has_missing(X):  # the spread of the observed values
                X = np.ma.masked_invalid(X)
            spread = float(np.sum(X.var(axis=0)))
            return max(self.layer.reconstruction_error(X), spread)

    def check_health(
        self,
        snapshot,
        error=None,
        initial_error=None,
        X_monitor=None,
        stops=True,
        field=None,
    ):
        """Whether training is still healthy; if not, restore ``snapshot`` and warn.

        Training has diverged when a parameter is no longer finite, or, given
        this epoch's reconstruction ``error`` on the monitored rows, when it
        is not finite or more than ``EXPLOSION_FACTOR`` times
        ``initial_error`` (see ``_runaway_baseline``): real-valued units can
        run away to huge but finite values. Given the monitored rows
        ``X_monitor`` (when they are not all alike), the layer is saturated
        when every hidden unit's field exceeds ``SATURATION_FIELD`` in
        absolute value on every row: bounded units cannot run away, but
        their biases and weights can grow until the layer's output no longer
        depends on its input. Each check looks at the magnitudes of what the
        layer computes, so ``snapshot``, kept only after a healthy epoch, is
        the last healthy state. ``stops``: the warning says that training of
        the layer stopped (``fit``), not only that the epoch was undone.
        ``field``: the hidden field of ``X_monitor`` when already computed.
        """
        with np.errstate(over="ignore"):
            finite = self.layer.is_finite()
        if finite and error is not None:
            finite = np.isfinite(error) and not (
                initial_error is not None
                and np.isfinite(initial_error)
                and error > EXPLOSION_FACTOR * max(initial_error, 1e-12)
            )
        saturated = (
            finite and X_monitor is not None and self._saturated(X_monitor, field)
        )
        if finite and not saturated:
            return True
        self._restore(snapshot)
        self.diverged = True
        previous = self.epochs_done - 1
        restored = (
            f"the parameters were restored to the end of epoch {previous}"
            if previous > 0
            else "the parameters were restored to their initial values"
        )
        if saturated:
            what = (
                f"saturated every hidden unit in epoch {self.epochs_done} (on "
                "every monitored sample, every unit's input exceeded "
                f"{SATURATION_FIELD:g} in absolute value: each unit is stuck on "
                "or off, whatever the input)"
            )
        else:
            what = (
                f"diverged in epoch {self.epochs_done} (the parameters or the "
                "reconstruction error ran away to inf, NaN or 100 times the "
                "untrained layer's error)"
            )
        stopped = " and training of this layer stopped" if stops else ""
        warn(
            f"Training of {self.name} {what}; {restored}{stopped}. Lower "
            "learning_rate, or scale the input.",
            ConvergenceWarning,
        )
        return False

    def _saturated(self, X, field=None):
        """Whether every hidden field exceeds ``SATURATION_FIELD`` on every row.

        The first 64 rows settle it for a healthy layer (one field below the
        limit suffices), so the check costs a small fraction of an epoch.
        Rows that are all alike are never called saturated. ``field``: the
        hidden field of ``X`` when already computed (the monitoring's).
        """
        with np.errstate(over="ignore", invalid="ignore"):
            start = 0
            for stop in (min(64, X.shape[0]), X.shape[0]):
                if stop == start:
                    continue
                if field is None:
                    part = self.layer.hidden_field(X[start:stop])
                    part = np.abs(part, out=part)
                else:
                    part = np.abs(field[start:stop])
                if not np.min(part) > SATURATION_FIELD:
                    return False
                start = stop
            if start == 0:
                return False
            # All rows alike: a constant output is the right model.
            return bool((feature_mean_and_variance(X)[1] > 0).any())

    def _restore(self, snapshot):
        """Put ``snapshot`` back into the parameters; forget the momentum."""
        for param, saved in zip(self.layer.parameters, snapshot, strict=True):
            param[...] = saved
        for velocity in self.velocities:
            velocity.fill(0)

    def record(self, X_monitor, X_val, momentum, seconds):
        """Append this epoch's monitoring record to the layer's history.

        Returns the record and the hidden field of ``X_monitor`` (None when
        it has no rows), which the saturation check reuses.
        """
        layer = self.layer
        with np.errstate(over="ignore", invalid="ignore"):
            if X_monitor.shape[0] > 0:
                error, free_energy, field = layer.monitoring_statistics(X_monitor)
            else:
                error, free_energy, field = np.nan, np.empty(0), None
            entry = {
                "epoch": self.epochs_done,
                "reconstruction_error": error,
                "free_energy": float(np.mean(free_energy)),
                "momentum": momentum,
                "seconds": seconds,
            }
            if X_val is not None and X_val.shape[0] > 0:
                val_error, val_free_energy, _ = layer.monitoring_statistics(X_val)
                entry["validation_reconstruction_error"] = val_error
                entry["validation_free_energy"] = float(np.mean(val_free_energy))
                # Hinton (2010, section 6): a growing gap means overfitting.
                entry["free_energy_gap"] = (
                    entry["validation_free_energy"] - entry["free_energy"]
                )
        layer.history.append(entry)
        if self.verbose:
            clock = self._clock
            clock.add(seconds)
            line = format_record(
                self.name, entry, clock.n_epochs, clock.eta(self.epochs_done)
            )
            print(line, flush=True)
        return entry, field


def monitoring_rows(X, rng):
    """A fixed random subset of at most ``MONITOR_ROWS`` rows of ``X``."""
    if X.shape[0] <= MONITOR_ROWS:
        return X
    rows = np.sort(rng.choice(X.shape[0], MONITOR_ROWS, replace=False))
    return X[rows]


def format_record(name, entry, n_epochs, eta=None):
    """One line of progress for ``verbose`` output (see ``skdbn._progress``)."""
    quantities = [
        ("reconstruction error", entry["reconstruction_error"], ".4f"),
        ("free energy", entry["free_energy"], ".3f"),
    ]
    if "free_energy_gap" in entry:
        quantities.append(("free energy gap", entry["free_energy_gap"], "+.3f"))
    return epoch_line(name, entry["epoch"], n_epochs, quantities, entry["seconds"], eta)


def as_training_matrix(X):
    """CSR for sparse input (fast row slicing), the array itself otherwise."""
    return X.tocsr() if sp.issparse(X) and X.format != "csr" else X
