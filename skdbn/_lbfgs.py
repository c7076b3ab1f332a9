"""Full-batch fine-tuning by L-BFGS-B, as scikit-learn's MLP ``solver="lbfgs"``.

The stochastic optimisers (``_optimizers.py``) update the parameter arrays in
place, one minibatch at a time. L-BFGS-B instead minimises the loss of the
whole training set as a function of one flat float64 vector, through
``scipy.optimize.minimize``. ``PackedObjective`` is that function: it writes
the vector into the parameter arrays (in their own dtype, so float32 stays
float32), calls the network's loss and gradients, and packs the gradients
into one vector. ``minimize_lbfgs`` runs the optimiser and leaves the
parameters at its result.
"""

import numpy as np
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning

from ._warnings import warn


class PackedObjective:
    """The loss of a network as a function of one flat vector of parameters.

    Parameters
    ----------
    params : list of ndarray
        The arrays the objective reads the vector into (in place).
    loss_and_gradients : callable
        ``loss_and_gradients() -> (loss, grads)``: the loss at the current
        values of ``params`` and its gradient for each of them, in order.

    Examples
    --------
    >>> import numpy as np
    >>> from skdbn._lbfgs import PackedObjective
    >>> w = np.zeros(2)
    >>> objective = PackedObjective([w], lambda: (float(w @ w), [2 * w]))
    >>> objective(np.array([1.0, 2.0]))
    (5.0, array([2., 4.]))
    """

    def __init__(self, params, loss_and_gradients):
        self.params = list(params)
        self.loss_and_gradients = loss_and_gradients
        sizes = [p.size for p in self.params]
        self._bounds = np.cumsum([0, *sizes])
        self._gradient = np.empty(self._bounds[-1], dtype=np.float64)

    def pack(self):
        """The current parameters as one float64 vector (a new array)."""
        return np.concatenate([p.ravel() for p in self.params]).astype(np.float64)

    def unpack(self, x):
        """Write the vector ``x`` into the parameter arrays, in place."""
        for param, start, stop in zip(
            self.params, self._bounds[:-1], self._bounds[1:], strict=True
        ):
            param[...] = x[start:stop].reshape(param.shape)

    def __call__(self, x):
        """``(loss, gradient)`` at ``x``; the parameters are left at ``x``."""
        self.unpack(x)
        loss, grads = self.loss_and_gradients()
        for grad, start, stop in zip(
            grads, self._bounds[:-1], self._bounds[1:], strict=True
        ):
            self._gradient[start:stop] = grad.ravel()
        self.last_evaluation = (x.copy(), float(loss))
        return float(loss), self._gradient.copy()

    def loss_at(self, x):
        """The loss at ``x``, from the last evaluation when it was there."""
        last = getattr(self, "last_evaluation", None)
        if last is not None and np.array_equal(last[0], x):
            return last[1]
        return self(x)[0]


def minimize_lbfgs(objective, *, max_iter, max_fun, tol, verbose=0):
    """Minimise ``objective`` by L-BFGS-B from the current parameters.

    Leaves the parameters at the optimiser's result. Ctrl-C stops with a
    warning and the parameters of the last completed iteration; a loss or
    parameters that become inf or NaN restore them too, with a
    ``ConvergenceWarning``, as does stopping at ``max_iter`` or ``max_fun``.

    Parameters
    ----------
    objective : PackedObjective
        The loss and gradient of the parameters.
    max_iter : int
        Maximum number of L-BFGS iterations.
    max_fun : int
        Maximum number of evaluations of the loss.
    tol : float
        Stop when the largest component of the projected gradient falls
        below it (scipy's ``gtol``, as scikit-learn's MLP).
    verbose : int, default=0
        Print the loss after each iteration.

    Returns
    -------
    losses : list of float
        The loss after each completed iteration.
    n_evaluations : int
        Number of evaluations of the loss.
    """
    x0 = objective.pack()
    last = {"x": x0, "losses": []}

    def record(intermediate_result):
        # scipy >= 1.11 passes an OptimizeResult, older versions the vector.
        x = getattr(intermediate_result, "x", intermediate_result)
        last["x"] = x.copy()
        last["losses"].append(objective.loss_at(x))
        if verbose:
            n = len(last["losses"])
            print(
                f"[fine-tuning] L-BFGS iteration {n:>3}/{max_iter} "
                f"loss {last['losses'][-1]:.5f}",
                flush=True,
            )

    try:
        with np.errstate(over="ignore", invalid="ignore"):
            result = scipy.optimize.minimize(
                objective,
                x0,
                method="L-BFGS-B",
                jac=True,
                callback=record,
                options={"maxiter": max_iter, "maxfun": max_fun, "gtol": tol},
            )
    except KeyboardInterrupt:
        objective.unpack(last["x"])
        warn(
            f"Fine-tuning interrupted by the user during L-BFGS iteration "
            f"{len(last['losses']) + 1}; keeping the weights reached so far.",
            UserWarning,
        )
        return last["losses"], None
    if not (np.isfinite(result.fun) and np.isfinite(result.x).all()):
        objective.unpack(last["x"])
        warn(
            "Fine-tuning by L-BFGS diverged (the loss or the weights became inf "
            "or NaN); the weights were restored to the last finite iteration. "
            "Scale the input, or raise alpha.",
            ConvergenceWarning,
        )
        return last["losses"], int(result.nfev)
    objective.unpack(result.x)
    if result.status != 0:
        warn(
            f"Fine-tuning by L-BFGS stopped after {result.nit} iterations "
            f"without converging ({result.message}); raise max_iter or max_fun, "
            "or scale the input.",
            ConvergenceWarning,
        )
    return last["losses"], int(result.nfev)
