"""What the estimators that pre-train a stack and fine-tune a network share.

``DBNClassifier``, ``DBNRegressor`` and ``DBNAutoencoder`` pre-train an RBM
stack built from the same parameters, then fine-tune a network the same
way: shuffled minibatches, one optimiser step each, then per epoch the loss
curve, early stopping on a held-out score or on the training loss, a
restore and a ``ConvergenceWarning`` if the weights run away, a usable
model after Ctrl-C, progress lines and a ``ConvergenceWarning`` at
``max_iter``. ``FineTuningMixin`` is that machinery; each estimator
supplies only its network, its minibatch step and its validation score.
"""

import time
from numbers import Integral, Real

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import gen_even_slices
from sklearn.utils._param_validation import Interval, Options, StrOptions

from ._lbfgs import PackedObjective, minimize_lbfgs
from ._optimizers import AdamOptimizer, SGDOptimizer
from ._progress import EpochClock, epoch_line, minibatches
from ._speed import resolve_batch_size
from ._stack import BernoulliRBMStack, GaussianRBMStack
from ._warnings import warn

#: The stack that pre-trains the network, by ``visible_units``.
STACK_CLASSES = {"bernoulli": BernoulliRBMStack, "gaussian": GaussianRBMStack}

#: Parameters passed unchanged to the RBM stack that pre-trains the network.
PRETRAINING_PARAMETERS = (
    "hidden_layer_sizes",
    "hidden_units",
    "learning_rate",
    "n_epochs",
    "batch_size",
    "cd_steps",
    "persistent",
    "momentum",
    "initial_momentum",
    "momentum_ramp_epochs",
    "learning_rate_schedule",
    "weight_decay",
    "sparsity_target",
    "sparsity_cost",
    "random_state",
    "verbose",
)


#: Constraints of the fine-tuning parameters that the estimators share with
#: scikit-learn's MLP, with the values MLP accepts.
FINE_TUNING_CONSTRAINTS = {
    "solver": [StrOptions({"adam", "sgd", "lbfgs"})],
    "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
    "fine_tuning_schedule": [StrOptions({"constant", "invscaling", "adaptive"})],
    "power_t": [Interval(Real, 0, None, closed="left")],
    "alpha": [Interval(Real, 0, None, closed="left")],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "max_fun": [Interval(Integral, 1, None, closed="left")],
    "shuffle": ["boolean"],
    "tol": [Interval(Real, 0, None, closed="left")],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "n_iter_no_change": [
        Interval(Integral, 1, None, closed="left"),
        Options(Real, {np.inf}),
    ],
    "warm_start": ["boolean"],
}

#: The smallest step the "adaptive" schedule divides further, as in MLP.
MIN_ADAPTIVE_LEARNING_RATE = 1e-6


class FineTuningMixin:
    """Fine-tuning epochs over the fitted state of a scikit-learn estimator.

    The estimator has the parameters of ``FINE_TUNING_CONSTRAINTS`` and
    ``batch_size``, ``momentum`` and ``verbose``, the fitted attributes
    ``n_iter_``, ``t_``, ``loss_curve_``, ``validation_scores_``,
    ``best_validation_score_``, ``best_loss_`` and ``_no_improvement_count``
    (set up before the first call), a ``numpy.random.Generator`` ``_rng``
    and the optimiser ``_optimizer`` (``_make_optimizer``).

    The parameters mean what they mean in scikit-learn's MLP: ``n_iter_``
    counts the epochs of the last call only; an epoch improves on the best
    loss (or validation score) only by at least ``tol``; training stops (or
    the "adaptive" schedule divides the step by 5) once more than
    ``n_iter_no_change`` epochs in a row have not improved; the schedules
    apply to ``solver="sgd"`` only; and ``solver="lbfgs"`` minimises the
    full training loss without minibatches or early stopping.
    """

    def _early_stopping_used(self):
        """Whether a validation set is held out: not for L-BFGS, as in MLP."""
        return self.early_stopping and self.solver != "lbfgs"

    def _reset_fine_tuning(self, rng):
        """Reset the fitted state before a fresh (not warm-started) fit.

        Also draws the seeds of pre-training (``_pretrain_seed``) and of the
        initialisation, minibatch order and noise (``_rng``).
        """
        early_stopping = self._early_stopping_used()
        self.loss_curve_ = []
        self.validation_scores_ = [] if early_stopping else None
        self.best_loss_ = None if early_stopping else np.inf
        self.best_validation_score_ = -np.inf if early_stopping else None
        self.n_iter_ = 0
        self.t_ = 0
        self._no_improvement_count = 0
        seeds = rng.randint(np.iinfo(np.int32).max, size=2)
        self._pretrain_seed = int(seeds[0])
        self._rng = np.random.default_rng(seeds[1])

    def _validation_size(self, n_samples):
        """Rows held out for early stopping, or an error naming the problem."""
        n_val = int(np.ceil(self.validation_fraction * n_samples))
        if n_val < 2 or n_samples - n_val < 1:
            raise ValueError(
                f"early_stopping with validation_fraction={self.validation_fraction}"
                f" needs more than {n_samples} samples: the validation set would "
                f"have {n_val} (at least 2 are needed)."
            )
        return n_val

    def _make_stack(self, **overrides):
        """The unfitted stack that pre-trains (or would pre-train) the network."""
        stack_class = STACK_CLASSES[self.visible_units_]
        params = {name: getattr(self, name) for name in PRETRAINING_PARAMETERS}
        params["random_state"] = self._pretrain_seed
        if stack_class is GaussianRBMStack:
            params["learn_variance"] = self.learn_variance
            # The estimator scales its input itself (visible_units="auto"),
            # and its network reads the input the stack was trained on:
            # unit-variance visible units on that input.
            params["standardize"] = False
            params["visible_std"] = 1.0
            # The network's sigmoid layers carry probabilities: so does
            # stack_.transform, the network's up pass before fine-tuning.
            params["readout"] = "probability"
        stack = stack_class(**{**params, **overrides})
        stack._validate_params()
        return stack

    def _interrupted_outside_epochs(self):
        """Warn about a Ctrl-C outside the minibatch steps, once the network exists.

        (In the monitoring or between phases: the weights are those of the
        last step taken, the model is usable.)
        """
        warn(
            "Fit interrupted by the user; keeping the weights reached so far.",
            UserWarning,
        )

    def _stop_after_interrupted_pretraining(self):
        """Warn that a Ctrl-C in pre-training ended the fit before fine-tuning."""
        n_layers = (
            len(self.hidden_layer_sizes) if np.ndim(self.hidden_layer_sizes) else 1
        )
        n_kept = len(self.stack_.layers_)
        untrained = (
            f"layers {n_kept + 1} to {n_layers}"
            if n_kept + 1 < n_layers
            else f"layer {n_layers}"
        )
        above = f", {untrained} start untrained" if n_kept < n_layers else ""
        warn(
            "Pre-training interrupted by the user: the fit stopped before "
            f"fine-tuning. The network's hidden layers 1 to {n_kept} start from "
            f"the pre-trained stack_{above}, and it is not fine-tuned "
            "(n_iter_ is 0). Fit again with warm_start=True to fine-tune it, or "
            "with warm_start=False to start over.",
            UserWarning,
        )

    def _make_optimizer(self):
        """The fine-tuning optimiser that ``solver`` names (None for L-BFGS).

        Made afresh by every ``fit``, warm-started or not (as MLP does): a
        fit starts at ``learning_rate_init`` with the current ``solver``.
        """
        if self.solver == "lbfgs":
            return None
        if self.solver == "adam":
            return AdamOptimizer(learning_rate=self.learning_rate_init)
        return SGDOptimizer(
            learning_rate=self.learning_rate_init, momentum=self.momentum
        )

    def _check_solver(self):
        """``partial_fit`` exists only for the stochastic solvers, as in MLP."""
        if self.solver == "lbfgs":
            raise AttributeError(
                "partial_fit is only available for the stochastic solvers 'adam' "
                "and 'sgd'; lbfgs is not stochastic."
            )
        return True

    def _schedule_epoch_ends(self):
        """The "invscaling" step after an epoch: ``init / (t_ + 1) ** power_t``."""
        if self.solver == "sgd" and self.fine_tuning_schedule == "invscaling":
            self._optimizer.learning_rate = (
                self.learning_rate_init / (self.t_ + 1) ** self.power_t
            )

    def _schedule_lowers_step(self):
        """With "adaptive", divide the step by 5; False when it is too small."""
        if (
            self.solver != "sgd"
            or self.fine_tuning_schedule != "adaptive"
            or self._optimizer.learning_rate <= MIN_ADAPTIVE_LEARNING_RATE
        ):
            return False
        self._optimizer.learning_rate /= 5.0
        if self.verbose:
            print(
                f"[fine-tuning] no improvement of more than tol={self.tol} in "
                f"{self.n_iter_no_change} epochs; learning rate lowered to "
                f"{self._optimizer.learning_rate:.3g}.",
                flush=True,
            )
        return True

    def _run_lbfgs(self, n_samples, params, loss_and_gradients):
        """Fine-tune by L-BFGS-B on the full training set, as MLP's lbfgs.

        ``loss_and_gradients() -> (loss, grads)`` at the current ``params``.
        ``n_iter_`` counts the L-BFGS iterations and ``loss_curve_`` gets the
        loss after each; there are no minibatches and no early stopping.
        """
        self.n_iter_ = 0
        objective = PackedObjective(params, loss_and_gradients)
        losses, n_evaluations = minimize_lbfgs(
            objective,
            max_iter=self.max_iter,
            max_fun=self.max_fun,
            tol=self.tol,
            verbose=self.verbose,
        )
        self.n_iter_ = len(losses)
        self.t_ += n_samples * (n_evaluations or 0)
        self.loss_curve_.extend(losses)
        if losses and self.best_loss_ is not None:
            self.best_loss_ = min(self.best_loss_, *losses)

    def _run_fine_tuning(
        self,
        n_samples,
        params,
        step,
        *,
        epochs,
        incremental=False,
        validation_score=None,
        warming_up=None,
        extra_quantities=None,
        sample_weight=None,
    ):
        """Run up to ``epochs`` epochs of minibatch steps.

        Parameters
        ----------
        n_samples : int
            Number of training rows.
        params : list of ndarray
            The arrays the steps update in place (snapshotted to undo a
            diverging epoch, and to keep the best epoch's weights).
        step : callable
            ``step(rows) -> (loss, extras)``: one optimiser step on the
            training rows ``rows``; ``loss`` is their mean loss and
            ``extras`` a dict of other mean quantities to average over the
            epoch (may be empty).
        epochs : int
            Epochs to run at most.
        incremental : bool, default=False
            ``partial_fit``: no early stopping, no ``max_iter`` warning.
        validation_score : callable, default=None
            ``validation_score() -> float`` (higher is better) for early
            stopping; None stops on the training loss.
        warming_up : callable, default=None
            ``warming_up() -> bool``: while True, the loss is not comparable
            from epoch to epoch (a KL weight is rising) and no epoch counts
            as one without improvement.
        extra_quantities : callable, default=None
            ``extra_quantities(means) -> list of (name, value, format)`` to
            print after the loss, given the epoch's means of ``extras``.
        sample_weight : ndarray of shape (n_samples,), default=None
            Weight of each training row: the epoch's loss (and the means of
            ``extras``) is then the mean of the minibatches' losses weighted
            by their rows' total weight, as with repeated rows.

        Returns
        -------
        means : list of dict
            The epoch means of ``extras``, one dict per epoch run.
        """
        batch_size = resolve_batch_size(self.batch_size, n_samples, "fine-tuning")
        n_batches = -(-n_samples // batch_size)
        clock = EpochClock(None if incremental else epochs)
        total_weight = (
            n_samples
            if sample_weight is None
            else float(sample_weight.sum(dtype=np.float64))
        )
        best_params, stopped, history = None, False, []
        self.n_iter_ = 0  # the epochs of this call, as in MLP
        for epochs_run in range(1, epochs + 1):
            start = time.perf_counter()
            snapshot = [p.copy() for p in params]
            if self.shuffle:
                order = self._rng.permutation(n_samples)
            else:
                order = np.arange(n_samples)
            total_loss, totals = 0.0, {}
            try:
                # A diverging fit makes infs and NaNs: checked after the epoch.
                with np.errstate(over="ignore", invalid="ignore"):
                    slices = gen_even_slices(n_samples, n_batches)
                    for batch in minibatches(
                        slices, n_batches, "fine-tuning", self.verbose
                    ):
                        rows = order[batch]
                        loss, extras = step(rows)
                        weight = (
                            len(rows)
                            if sample_weight is None
                            else float(sample_weight[rows].sum(dtype=np.float64))
                        )
                        total_loss += loss * weight
                        for name, value in extras.items():
                            totals[name] = totals.get(name, 0.0) + value * weight
            except KeyboardInterrupt:
                warn(
                    f"Fine-tuning interrupted by the user during epoch "
                    f"{self.n_iter_ + 1}; keeping the weights reached so far.",
                    UserWarning,
                )
                stopped = True
                break
            if not (
                np.isfinite(total_loss) and all(np.isfinite(p).all() for p in params)
            ):
                for param, saved in zip(params, snapshot, strict=True):
                    param[...] = saved
                warn(
                    f"Fine-tuning diverged in epoch {self.n_iter_ + 1} (the loss or "
                    "the weights became inf or NaN); the weights were restored to "
                    "the end of the previous epoch and fine-tuning stopped. Lower "
                    "learning_rate_init, or scale the input.",
                    ConvergenceWarning,
                )
                stopped = True
                break
            self.n_iter_ += 1
            self.t_ += n_samples
            self._schedule_epoch_ends()
            self.loss_curve_.append(float(total_loss / total_weight))
            means = {name: total / total_weight for name, total in totals.items()}
            history.append(means)
            improved, improved_weights = self._record_improvement(
                validation_score, warming_up
            )
            if improved_weights:
                best_params = [p.copy() for p in params]
            self._no_improvement_count = (
                0 if improved else self._no_improvement_count + 1
            )
            if self.verbose:
                seconds = time.perf_counter() - start
                clock.add(seconds)
                quantities = [("loss", self.loss_curve_[-1], ".5f")]
                if extra_quantities is not None:
                    quantities += extra_quantities(means)
                if self.early_stopping and self.validation_scores_:
                    quantities.append(
                        ("validation score", self.validation_scores_[-1], ".5f")
                    )
                eta = clock.eta(epochs_run)
                print(
                    epoch_line(
                        "fine-tuning",
                        self.n_iter_,
                        clock.n_epochs,
                        quantities,
                        seconds,
                        eta,
                    ),
                    flush=True,
                )
            if self._no_improvement_count > self.n_iter_no_change:
                if self._schedule_lowers_step():
                    self._no_improvement_count = 0
                    continue
                if incremental:
                    continue
                stopped = True
                if self.verbose:
                    print(
                        f"[fine-tuning] no improvement of more than tol={self.tol} "
                        f"in {self._no_improvement_count} epochs; stopping.",
                        flush=True,
                    )
                break
        if not incremental and not stopped:
            warn(
                f"Fine-tuning stopped at max_iter={self.max_iter} epochs without "
                "converging; raise max_iter for a better fit.",
                ConvergenceWarning,
            )
        if best_params is not None:
            for param, best in zip(params, best_params, strict=True):
                param[...] = best
        return history

    def _record_improvement(self, validation_score, warming_up):
        """Update the best score or loss; ``(improved, keep these weights)``."""
        if validation_score is not None:
            score = validation_score()
            if self.validation_scores_ is None:  # early_stopping turned on
                self.validation_scores_, self.best_validation_score_ = [], -np.inf
            self.validation_scores_.append(score)
            improved = score >= self.best_validation_score_ + self.tol
            best = score > self.best_validation_score_
            if best:
                self.best_validation_score_ = score
            return improved, best
        if warming_up is not None and warming_up():
            # The loss changes with the KL weight: nothing to compare yet.
            self.best_loss_ = self.loss_curve_[-1]
            return True, False
        best = np.inf if self.best_loss_ is None else self.best_loss_
        self.best_loss_ = min(best, self.loss_curve_[-1])
        return self.loss_curve_[-1] <= best - self.tol, False
