"""Minibatch sizes, epochs and BLAS thread counts chosen for the shapes of a fit.

``batch_size="auto"`` resolves here, separately for pre-training and for
fine-tuning; so does ``n_epochs="auto"`` (pre-training), from the number of
minibatches an epoch has, and the number of BLAS threads a fit runs with:
small matrix products finish faster on one thread than on several, and on a
busy machine extra threads wait for cores (see ``benchmarks/README.md``,
"Speed on small problems" and "DBNClassifier() on raw tables", for the
measurements behind these rules).
"""

import contextlib
import functools

import numpy as np
from sklearn.utils.validation import _num_features, _num_samples

#: ``batch_size="auto"`` in fine-tuning: ``min(200, n_samples)``, as MLP.
FINE_TUNING_BATCH_SIZE = 200

#: ``batch_size="auto"`` in pre-training: at most 100 rows. CD-1 on
#: the digits reconstructs held-out images better with 100 rows than with
#: 200, and the fine-tuned classifier is at least as accurate, for 10-60%
#: more time per pre-training epoch on small tables
#: (benchmarks/bench_small_problems.py --quality).
PRETRAINING_BATCH_SIZE = 100

#: ... but small enough for this many minibatches an epoch, down to
#: ``MIN_PRETRAINING_BATCH_SIZE`` rows: ``min(100, max(10, ceil(n / 10)))``.
#: A table of a few hundred rows made 2-4 updates an epoch of 100 rows and
#: needed 125-250 epochs for its 500 updates; in minibatches of a tenth of
#: the table it makes them in 50 epochs, in less time, and pre-trains better
#: (sonar, 208 rows: 0.803 -> 0.818 fine-tuned accuracy; the same or within
#: two test rows on the other tables of 150-990 rows; benchmarks/README.md,
#: "Fit time at the defaults").
MIN_PRETRAINING_BATCHES = 10

#: The smallest minibatch ``"auto"`` picks in pre-training.
MIN_PRETRAINING_BATCH_SIZE = 10

#: ``n_epochs="auto"``: at least this many epochs of pre-training ...
MIN_PRETRAINING_EPOCHS = 10

#: ... and at least this many minibatch updates. A fixed number of epochs
#: gives a table of 200 rows two or three updates an epoch: its RBM's
#: weights hardly leave their initial scale (0.01), its features are nearly
#: constant, and fine-tuning starts from weights smaller than a random
#: initialisation's. 500 updates is 10 epochs of 5,000 rows at the default
#: minibatch (benchmarks/README.md, "DBNClassifier() on raw tables").
MIN_PRETRAINING_UPDATES = 500

#: ... but at most this many epochs (unless ``MIN_PRETRAINING_EPOCHS`` is
#: more). With the pre-training minibatch of ``resolve_batch_size`` an epoch
#: has at least 10 minibatches, 500 updates take at most 50 epochs, and the
#: cap binds only on tables of fewer than 100 rows (minibatches of 10 rows):
#: 40 rows would need 125 epochs. Pre-training then costs at most about a
#: third of fine-tuning's ``max_iter=200`` epochs; at minibatches of 100, a
#: table of 150-300 rows pre-trained 167-250 epochs, and ``DBNClassifier()``
#: took 3-5 times ``MLPClassifier()``'s fit time (benchmarks/README.md,
#: "Fit time at the defaults").
MAX_AUTO_PRETRAINING_EPOCHS = 70

#: Multiply-adds (rows x inputs x outputs) of the largest matrix product of
#: a minibatch step that earn a BLAS thread: a fit runs on
#: ``largest // THREAD_GRAIN`` threads (at least one), never more than the
#: caller allows.
THREAD_GRAIN = 2**25

#: Whether fits choose their BLAS thread count (switched off by benchmarks
#: that compare against the caller's own setting).
AUTO_THREADS = True

_CONTROLLER = None


def resolve_batch_size(batch_size, n_samples, phase):
    """The minibatch size of ``phase`` ("pre-training" or "fine-tuning").

    ``"auto"`` is ``min(FINE_TUNING_BATCH_SIZE, n_samples)`` in fine-tuning
    and, in pre-training, ``PRETRAINING_BATCH_SIZE`` rows or fewer, so that
    an epoch has at least ``MIN_PRETRAINING_BATCHES`` minibatches, but not
    fewer than ``MIN_PRETRAINING_BATCH_SIZE`` rows (nor more than
    ``n_samples``); an integer is used as given, capped at ``n_samples``.

    Examples
    --------
    >>> from skdbn._speed import resolve_batch_size
    >>> resolve_batch_size("auto", 60000, "pre-training")
    100
    >>> resolve_batch_size("auto", 208, "pre-training")
    21
    >>> resolve_batch_size("auto", 208, "fine-tuning")
    200
    """
    if isinstance(batch_size, str) and batch_size == "auto":
        if phase == "pre-training":
            batch_size = min(
                PRETRAINING_BATCH_SIZE,
                max(
                    MIN_PRETRAINING_BATCH_SIZE, -(-n_samples // MIN_PRETRAINING_BATCHES)
                ),
            )
        else:
            batch_size = FINE_TUNING_BATCH_SIZE
    return max(1, min(int(batch_size), n_samples))


def resolve_pretraining_epochs(n_epochs, n_samples, batch_size):
    """Epochs of pre-training for ``n_epochs`` (an integer, or ``"auto"``).

    ``"auto"`` is the number of epochs that makes ``MIN_PRETRAINING_UPDATES``
    minibatch updates of ``batch_size`` rows (the resolved size) out of
    ``n_samples`` rows, at most ``MAX_AUTO_PRETRAINING_EPOCHS`` and at least
    ``MIN_PRETRAINING_EPOCHS``.

    Examples
    --------
    >>> from skdbn._speed import resolve_pretraining_epochs
    >>> resolve_pretraining_epochs("auto", 60000, 100)
    10
    >>> resolve_pretraining_epochs("auto", 1000, 100)  # 10 minibatches an epoch
    50
    >>> resolve_pretraining_epochs("auto", 216, 22)  # 10 minibatches an epoch
    50
    >>> resolve_pretraining_epochs("auto", 216, 100)  # 3: 167 epochs, capped
    70
    >>> resolve_pretraining_epochs(5, 216, 100)
    5
    """
    if not (isinstance(n_epochs, str) and n_epochs == "auto"):
        return int(n_epochs)
    batches = -(-max(1, n_samples) // max(1, batch_size))
    epochs = min(-(-MIN_PRETRAINING_UPDATES // batches), MAX_AUTO_PRETRAINING_EPOCHS)
    return max(MIN_PRETRAINING_EPOCHS, epochs)


def blas_thread_count(shape, hidden_layer_sizes, batch_size, n_outputs=0):
    """BLAS threads for a fit on data of ``shape``, or None for the caller's.

    The largest matrix product of a minibatch step multiplies ``batch_size``
    rows by the widest pair of adjacent layers (input, hidden layers and
    ``n_outputs`` output units). It gets one thread per ``THREAD_GRAIN``
    multiply-adds, at least one: on smaller shares of work, the threads'
    start-up and synchronisation cost more than they save, and on a busy
    machine a descheduled thread stalls the others. None (keep the caller's
    setting) when that is as many threads as the caller's BLAS already uses.
    """
    widths = [int(shape[1]), *(int(s) for s in hidden_layer_sizes)]
    if n_outputs:
        widths.append(int(n_outputs))
    largest = max(a * b for a, b in zip(widths[:-1], widths[1:], strict=True))
    wanted = max(1, int(batch_size) * largest // THREAD_GRAIN)
    if wanted >= _caller_blas_threads():
        return None
    return wanted


def _caller_blas_threads():
    """The most threads any BLAS library loaded in the process may use now."""
    counts = [
        info["num_threads"]
        for info in blas_controller().info()
        if info["user_api"] == "blas"
    ]
    return max(counts, default=1)


def blas_controller():
    """The threadpoolctl controller, built at the first use (it does not pickle)."""
    global _CONTROLLER
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


def blas_threads(n_threads):
    """A context holding BLAS to ``n_threads`` (no change when None).

    The caller's thread counts are restored on exit. The controller
    (threadpoolctl) is built once, at the first limited fit.
    """
    if n_threads is None or not AUTO_THREADS:
        return contextlib.nullcontext()
    return blas_controller().limit(limits=n_threads, user_api="blas")


def fit_thread_count(estimator, X, phases):
    """BLAS threads for ``estimator`` fitting ``X`` (None: the caller's).

    The minibatch is the largest of the ``phases`` ("pre-training",
    "fine-tuning") at the estimator's ``batch_size``, or all of ``X`` for
    ``solver="lbfgs"``. None when the shapes cannot be read (the fit's own
    validation then says what is wrong with them).
    """
    try:
        n_samples, n_features = _num_samples(X), _num_features(X)
        sizes = [int(s) for s in np.atleast_1d(estimator.hidden_layer_sizes)]
        batch_size = max(
            resolve_batch_size(estimator.batch_size, n_samples, phase)
            for phase in phases
        )
    except (TypeError, ValueError):
        return None
    if getattr(estimator, "solver", None) == "lbfgs":
        batch_size = n_samples
    if n_samples < 1 or not sizes:
        return None
    return blas_thread_count((n_samples, n_features), sizes, batch_size)


def limit_blas_threads(*phases):
    """Decorate ``method(self, X, ...)`` to run with ``fit_thread_count``'s threads.

    The BLAS libraries are held to the count that the shapes of ``X`` and
    the estimator's layers call for, and the caller's settings are restored
    afterwards, however the method ends.
    """

    def decorate(method):
        @functools.wraps(method)
        def with_threads(self, X, *args, **kwargs):
            with blas_threads(fit_thread_count(self, X, phases)):
                return method(self, X, *args, **kwargs)

        return with_threads

    return decorate
