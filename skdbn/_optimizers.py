"""Stochastic optimisers that update a network's parameters in place.

``SGDOptimizer`` (momentum, optionally Nesterov's) and ``AdamOptimizer``
follow scikit-learn's ``_stochastic_optimizers.py``: ``update(params,
grads)`` changes the parameter arrays in place, so that one optimiser serves
``FeedForwardNetwork``, ``AutoencoderNetwork`` and anything else that hands
it a list of arrays.

The optimisers keep their state in arrays of the parameters' dtype and make
their elementwise passes chunk by cache-sized chunk, which halves the memory
traffic of an update. Given an L2 penalty (``weight_decay``), an update adds
its gradient and measures the weights' norm while each chunk is in cache.
"""

from collections import namedtuple

import numpy as np
from scipy.linalg.blas import get_blas_funcs

from ._speed import blas_controller

#: Bytes of each array in one chunk of an elementwise update. An update makes
#: several passes over each parameter; done chunk by chunk, the few arrays
#: involved stay in cache between passes instead of streaming from memory on
#: every pass, which makes the update about twice as fast.
CHUNK_BYTES = 2**17


def _single_threaded_blas():
    """A context that holds every BLAS library to one thread.

    The level-1 calls of an update are memory-bound: one thread streams them
    as fast as several, without the threads' start-up cost and without
    fighting the thread pool of numpy's own BLAS. Entering it costs about
    ten microseconds. The controller is the one the fits' thread rule uses
    (``_speed``), never stored on an optimiser (it does not pickle).
    """
    return blas_controller().limit(limits=1, user_api="blas")


def _chunks(arrays, *scratch):
    """Matching flat chunks of same-shape ``arrays``, then a chunk of each scratch.

    ``arrays[0]`` is written in place, and so are the others that are
    C-contiguous; those read only may have any layout. When ``arrays[0]`` is
    not C-contiguous, yields the whole arrays once, with scratch arrays of
    their shape. Each of ``scratch`` is a flat buffer of at least one chunk
    (or of the whole array, in the second case).
    """
    first = arrays[0]
    if not first.flags.c_contiguous or first.size == 0:
        yield (*arrays, *(s[: first.size].reshape(first.shape) for s in scratch))
        return
    step = max(1, CHUNK_BYTES // first.itemsize)
    flats = [a.reshape(-1) for a in arrays]
    for start in range(0, first.size, step):
        stop = min(start + step, first.size)
        yield (
            *(f[start:stop] for f in flats),
            *(s[: stop - start] for s in scratch),
        )


def _chunk_scratch(array, buffer=None):
    """A flat buffer big enough for ``_chunks`` over ``array``; reuses ``buffer``."""
    size = min(array.size, max(1, CHUNK_BYTES // array.itemsize))
    if not array.flags.c_contiguous:
        size = array.size
    if buffer is None or buffer.size < size or buffer.dtype != array.dtype:
        size = max(size, 0 if buffer is None else buffer.size)
        buffer = np.empty(size, dtype=array.dtype)
    return buffer


def _squared_norm(array, blas=None):
    """``sum(array**2)`` as a Python float, without a temporary if contiguous.

    With ``blas`` (from ``_blas_functions``, for a contiguous ``array``), by
    its ``dot``: one BLAS library throughout an update keeps a second one's
    threads from waking up.
    """
    if blas is not None:
        return float(blas.dot(array, array))
    if array.flags.f_contiguous and not array.flags.c_contiguous:
        array = array.T
    if array.flags.c_contiguous:
        array = array.reshape(-1)
        return float(np.dot(array, array))
    return float(np.vdot(array, array))


_BlasFunctions = namedtuple("_BlasFunctions", ["axpy", "scal", "dot"])


def _blas_functions(param, state):
    """BLAS ``axpy``, ``scal``, ``dot`` to update ``param`` and ``state``.

    ``None`` unless both are C-contiguous and of the same float32 or float64
    dtype: scipy's BLAS wrappers work in place only on such arrays (on any
    other they silently work on a copy).
    """
    dtype = param.dtype
    if (
        dtype not in (np.float32, np.float64)
        or state.dtype != dtype
        or not (param.flags.c_contiguous and state.flags.c_contiguous)
    ):
        return None
    return _BlasFunctions(*get_blas_funcs(_BlasFunctions._fields, dtype=dtype))


class _Optimizer:
    """Shared bookkeeping: lazily created state, scratch buffers, chunk plans."""

    def _chunk_plan(self, params, grads, states, n_scratch=1):
        """The chunks of each parameter, built once and reused while it stays.

        Returns one ``(blas, chunks)`` per parameter: ``blas`` from
        ``_blas_functions`` (``None`` where BLAS cannot work in place), and
        the list of ``(param, *state, grad, *scratch)`` chunk views that
        ``_chunks`` yields. Slicing the chunks anew at every update costs
        about a tenth of the update itself, so the views are kept for as long
        as the caller passes the very same arrays (the network's parameters
        and gradient buffers) and the state is the same. ``states`` is a list
        of per-parameter state lists (velocities, moments).
        """
        key = (*params, *grads, *(s for state in states for s in state))
        cached = getattr(self, "_plan", None)
        if (
            cached is not None
            and len(cached[0]) == len(key)
            and all(a is b for a, b in zip(cached[0], key, strict=True))
        ):
            return cached[1]
        # One scratch buffer per slot, sized for the largest parameter first,
        # so that every parameter's chunks share it.
        buffers = getattr(self, "_scratch_buffers", [])
        buffers += [None] * (n_scratch - len(buffers))
        for k in range(n_scratch):
            for param in params:
                buffers[k] = _chunk_scratch(param, buffers[k])
        self._scratch_buffers = buffers
        plan = []
        for param, grad, *state in zip(params, grads, *states, strict=True):
            chunks = list(_chunks((param, *state, grad), *buffers[:n_scratch]))
            plan.append((_blas_functions(param, state[0]), chunks))
        self._plan = (key, plan)
        return plan

    def _check(self, params, grads, state, n_decayed):
        if len(params) != len(grads):
            raise ValueError(
                f"Got {len(params)} parameters but {len(grads)} gradients."
            )
        if not 0 <= n_decayed <= len(params):
            raise ValueError(
                f"n_decayed must lie in [0, {len(params)}]; got {n_decayed}."
            )
        if state is not None and [s.shape for s in state] != [p.shape for p in params]:
            raise ValueError(
                "The parameters' shapes changed since the optimiser's first update; "
                "use a new optimiser."
            )

    def __getstate__(self):
        # Scratch space and views of the caller's arrays: rebuilt on demand.
        state = self.__dict__.copy()
        state.pop("_scratch_buffers", None)
        state.pop("_plan", None)
        return state


class SGDOptimizer(_Optimizer):
    """Stochastic gradient descent with momentum, optionally Nesterov's.

    With velocity ``v``, each update does ``v = momentum * v - lr * grad``,
    then ``param += v`` (classical momentum) or
    ``param += momentum * v - lr * grad`` (Nesterov), as scikit-learn's MLP.

    Parameters
    ----------
    learning_rate : float
        Step size. May be changed between updates (schedules).
    momentum : float, default=0.9
        Momentum in [0, 1].
    nesterov : bool, default=True
        Whether to use Nesterov's momentum.

    Attributes
    ----------
    velocities : list of ndarray or None
        One velocity per parameter, of its dtype; ``None`` before the first
        update.

    Examples
    --------
    >>> import numpy as np
    >>> from skdbn._optimizers import SGDOptimizer
    >>> x = np.array([3.0])
    >>> optimizer = SGDOptimizer(learning_rate=0.1, momentum=0.0)
    >>> optimizer.update([x], [2 * x])  # gradient of x**2; no penalty: 0.0
    0.0
    >>> x
    array([2.4])
    """

    def __init__(self, learning_rate, momentum=0.9, nesterov=True):
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.nesterov = nesterov
        self.velocities = None

    def update(self, params, grads, *, weight_decay=0.0, n_decayed=0):
        """Update each of ``params`` in place from its gradient in ``grads``.

        Parameters
        ----------
        params : list of ndarray
            The parameters, e.g. ``network.parameters``; the same arrays, in
            the same order, at every call.
        grads : list of ndarray
            The gradient of the loss for each parameter. With
            ``weight_decay``, the penalised ones may be overwritten with
            ``grad + weight_decay * param`` (they are scratch space to the
            callers, which recompute them at every step).
        weight_decay : float, default=0.0
            Coefficient of an L2 penalty ``0.5 * weight_decay * ||param||^2``
            on each of the first ``n_decayed`` parameters: ``weight_decay *
            param`` is added to their gradient within the update's own pass
            over them (``alpha / n_samples`` for scikit-learn's ``alpha``).
        n_decayed : int, default=0
            How many of ``params``, from the first, the penalty applies to
            (``network.n_layers``: the weights, not the biases).

        Returns
        -------
        squared_norm : float
            ``sum ||param||^2`` over the penalised parameters, before the
            update (the penalty's loss is ``0.5 * weight_decay`` times it);
            0.0 when ``weight_decay`` is 0.
        """
        self._check(params, grads, self.velocities, n_decayed)
        if self.velocities is None:
            self.velocities = [np.zeros(p.shape, p.dtype) for p in params]
        plan = self._chunk_plan(params, grads, [self.velocities])
        squared_norm = 0.0
        with _single_threaded_blas():
            for i, (blas, chunks) in enumerate(plan):
                decay = weight_decay if i < n_decayed else 0.0
                for param, velocity, grad, scratch in chunks:
                    if decay:
                        # The chunk of param is in cache: its norm costs no pass.
                        squared_norm += _squared_norm(param, blas)
                    if blas is not None:
                        self._blas_step(blas, param, velocity, grad, decay)
                    else:
                        self._numpy_step(param, velocity, grad, scratch, decay)
        return squared_norm

    def _blas_step(self, blas, param, velocity, grad, decay):
        """The update of one chunk by BLAS ``axpy`` (``y += a * x``) and ``scal``.

        Each is one fused pass where numpy needs two (a product into scratch,
        then a sum): Nesterov's update makes four passes over the chunk
        instead of six (five instead of eight with the penalty). ``param`` and
        ``velocity`` must be contiguous, of the dtype of the BLAS functions,
        or they would be copied and not updated.
        """
        axpy, scal = blas.axpy, blas.scal
        lr, momentum = self.learning_rate, self.momentum
        if decay:
            # grad + decay * param, once, for its two uses below; in the
            # gradient's own buffer, which saves a copy pass.
            grad = axpy(param, grad, a=decay)
        scal(momentum, velocity)
        axpy(grad, velocity, a=-lr)
        if self.nesterov:
            axpy(velocity, param, a=momentum)
            axpy(grad, param, a=-lr)
        else:
            axpy(velocity, param, a=1.0)

    def _numpy_step(self, param, velocity, grad, step, decay):
        """The update of one chunk (or whole array, of any layout) by numpy."""
        lr, momentum = self.learning_rate, self.momentum
        if decay:
            np.multiply(param, decay, out=step)
            step += grad
            step *= lr
        else:
            np.multiply(grad, lr, out=step)
        velocity *= momentum
        velocity -= step
        if self.nesterov:
            param -= step
            np.multiply(velocity, momentum, out=step)
            param += step
        else:
            param += velocity


class AdamOptimizer(_Optimizer):
    """Adam (Kingma & Ba, 2015), with scikit-learn's MLP formulation.

    At step ``t``: ``m = beta_1 m + (1 - beta_1) grad``,
    ``v = beta_2 v + (1 - beta_2) grad**2`` and
    ``param -= lr * sqrt(1 - beta_2**t) / (1 - beta_1**t) * m / (sqrt(v) + eps)``.

    Parameters
    ----------
    learning_rate : float, default=1e-3
        Step size. May be changed between updates.
    beta_1, beta_2 : float, default=0.9, 0.999
        Decay rates of the first and second moment estimates, in [0, 1).
    epsilon : float, default=1e-8
        Added to the root of the second moment, for stability.

    Attributes
    ----------
    t : int
        Number of updates done.
    first_moments, second_moments : list of ndarray or None
        ``m`` and ``v`` of each parameter, of its dtype; ``None`` before the
        first update.

    Examples
    --------
    >>> import numpy as np
    >>> from skdbn._optimizers import AdamOptimizer
    >>> x = np.array([3.0])
    >>> optimizer = AdamOptimizer(learning_rate=0.1)
    >>> optimizer.update([x], [2 * x])  # first step: lr * sign(grad)
    0.0
    >>> x
    array([2.9])
    """

    def __init__(self, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.t = 0
        self.first_moments = None
        self.second_moments = None

    def update(self, params, grads, *, weight_decay=0.0, n_decayed=0):
        """Update each of ``params`` in place from its gradient in ``grads``.

        Parameters
        ----------
        params : list of ndarray
            The parameters, e.g. ``network.parameters``; the same arrays, in
            the same order, at every call.
        grads : list of ndarray
            The gradient of the loss for each parameter. With
            ``weight_decay``, the penalised ones may be overwritten with
            ``grad + weight_decay * param`` (they are scratch space to the
            callers, which recompute them at every step).
        weight_decay : float, default=0.0
            Coefficient of an L2 penalty ``0.5 * weight_decay * ||param||^2``
            on each of the first ``n_decayed`` parameters: ``weight_decay *
            param`` is added to their gradient within the update's own pass
            over them (``alpha / n_samples`` for scikit-learn's ``alpha``).
        n_decayed : int, default=0
            How many of ``params``, from the first, the penalty applies to
            (``network.n_layers``: the weights, not the biases).

        Returns
        -------
        squared_norm : float
            ``sum ||param||^2`` over the penalised parameters, before the
            update (the penalty's loss is ``0.5 * weight_decay`` times it);
            0.0 when ``weight_decay`` is 0.
        """
        self._check(params, grads, self.first_moments, n_decayed)
        if self.first_moments is None:
            self.first_moments = [np.zeros(p.shape, p.dtype) for p in params]
            self.second_moments = [np.zeros(p.shape, p.dtype) for p in params]
        self.t += 1
        beta_1, beta_2 = self.beta_1, self.beta_2
        step_size = (
            self.learning_rate * np.sqrt(1.0 - beta_2**self.t) / (1.0 - beta_1**self.t)
        )
        plan = self._chunk_plan(
            params, grads, [self.first_moments, self.second_moments], n_scratch=2
        )
        squared_norm = 0.0
        for i, (_, chunks) in enumerate(plan):
            decay = weight_decay if i < n_decayed else 0.0
            for param, m, v, grad, scratch, decayed in chunks:
                if decay:
                    # grad + decay * param, read twice below: its own buffer.
                    squared_norm += _squared_norm(param)
                    np.multiply(param, decay, out=decayed)
                    decayed += grad
                    grad = decayed
                m *= beta_1
                np.multiply(grad, 1.0 - beta_1, out=scratch)
                m += scratch
                v *= beta_2
                np.square(grad, out=scratch)
                scratch *= 1.0 - beta_2
                v += scratch
                np.sqrt(v, out=scratch)
                scratch += self.epsilon
                np.divide(m, scratch, out=scratch)
                scratch *= step_size
                param -= scratch
        return squared_norm
