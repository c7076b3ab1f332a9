"""Throughput of one fine-tuning epoch: skdbn's network against MLPClassifier.

One epoch of minibatch SGD (forward, back-propagation, Nesterov-momentum
update, L2 penalty ``alpha=1e-4``; skdbn's ``train_step``, as
``DBNClassifier`` runs it) through a 784-500-500-2000-10 logistic
network with a softmax output, the classic DBN fine-tuning shape of Hinton &
Salakhutdinov (2006), on MNIST-shaped random data. Both sides shuffle the
data each epoch and use the same hyper-parameters as ``MLPClassifier``'s
``solver="sgd"``; skdbn's timing includes building the network and the
optimiser, as ``MLPClassifier.fit`` includes its initialisation and input
validation. Repeats are interleaved and medians reported, in samples per
second.

Run::

    python benchmarks/bench_finetune_throughput.py
    python benchmarks/bench_finetune_throughput.py --n-samples 10000 --repeats 5
    python benchmarks/bench_finetune_throughput.py --profile   # one minibatch, by piece
    python benchmarks/bench_finetune_throughput.py --profile --batch-sizes 200

On a machine shared with other work, pass ``--threads 1``: multi-threaded
BLAS on busy cores measures the scheduler more than the code.
"""

import argparse
import platform
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from skdbn._network import FeedForwardNetwork
from skdbn._optimizers import SGDOptimizer

LAYER_SIZES = (784, 500, 500, 2000, 10)
ALPHA = 1e-4
LEARNING_RATE = 1e-3
MOMENTUM = 0.9


def make_data(n_samples, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n_samples, LAYER_SIZES[0]))
    y = rng.integers(LAYER_SIZES[-1], size=n_samples)
    return X, y


def skdbn_epoch(X, y, batch_size, seed=0):
    """One epoch of skdbn fine-tuning; returns the mean minibatch loss."""
    rng = np.random.default_rng(seed)
    net = FeedForwardNetwork.initialize(LAYER_SIZES, rng=rng, dtype=X.dtype)
    optimizer = SGDOptimizer(LEARNING_RATE, momentum=MOMENTUM, nesterov=True)
    Y = np.eye(LAYER_SIZES[-1], dtype=X.dtype)[y]
    X_batch = np.empty((batch_size, X.shape[1]), dtype=X.dtype)
    Y_batch = np.empty((batch_size, Y.shape[1]), dtype=X.dtype)
    order = rng.permutation(X.shape[0])
    total = 0.0
    for start in range(0, X.shape[0], batch_size):
        rows = order[start : start + batch_size]
        xb, yb = X_batch[: len(rows)], Y_batch[: len(rows)]
        np.take(X, rows, axis=0, out=xb)
        np.take(Y, rows, axis=0, out=yb)
        # What DBNClassifier's fine-tuning loop does for each minibatch.
        total += net.train_step(xb, yb, optimizer, alpha=ALPHA) * len(rows)
    return total / X.shape[0], net.dtype


def sklearn_epoch(X, y, batch_size, seed=0):
    """One epoch of MLPClassifier; returns its loss and the dtype it computed in."""
    mlp = MLPClassifier(
        hidden_layer_sizes=LAYER_SIZES[1:-1],
        activation="logistic",
        solver="sgd",
        alpha=ALPHA,
        batch_size=batch_size,
        learning_rate_init=LEARNING_RATE,
        momentum=MOMENTUM,
        nesterovs_momentum=True,
        max_iter=1,
        random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(X, y)
    return mlp.loss_, mlp.coefs_[0].dtype


class ProductBuffers:
    """Preallocated operands of the matrix products of one minibatch.

    ``forward()`` and ``backward()`` run exactly the products a training step
    needs (4 forward; 4 weight gradients and 3 deltas backward) and nothing
    else: their time is the floor that no implementation on this BLAS can go
    under, whatever it does around them.
    """

    def __init__(self, batch_size, dtype, seed=0):
        rng = np.random.default_rng(seed)
        sizes = list(zip(LAYER_SIZES[:-1], LAYER_SIZES[1:], strict=True))
        self.W = [rng.random((n_in, n_out)).astype(dtype) for n_in, n_out in sizes]
        self.X = rng.random((batch_size, LAYER_SIZES[0])).astype(dtype)
        self.Z = [np.empty((batch_size, n_out), dtype) for _, n_out in sizes]
        self.D = [np.empty((batch_size, n_in), dtype) for n_in, _ in sizes]
        self.G = [np.empty_like(W) for W in self.W]
        self.inputs = [self.X, *self.Z[:-1]]

    def forward(self):
        for A, W, Z in zip(self.inputs, self.W, self.Z, strict=True):
            np.matmul(A, W, out=Z)

    def backward(self):
        for A, Z, G in zip(self.inputs, self.Z, self.G, strict=True):
            np.matmul(A.T, Z, out=G)
        for Z, W, D in zip(self.Z[1:], self.W[1:], self.D[1:], strict=True):
            np.matmul(Z, W.T, out=D)


def products_epoch(X, y, batch_size, seed=0):
    """Only the matrix products of one epoch, as many minibatches as X makes."""
    buffers = ProductBuffers(batch_size, X.dtype, seed)
    for _ in range(0, X.shape[0], batch_size):
        buffers.forward()
        buffers.backward()
    return None, X.dtype


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def throughput_table(n_samples, batch_sizes, dtypes, repeats):
    X64, y = make_data(n_samples)
    data = {np.dtype(dtype): X64.astype(dtype) for dtype in dtypes}
    configs = [(b, np.dtype(d)) for b in batch_sizes for d in dtypes]
    sides = [("skdbn", skdbn_epoch), ("sklearn", sklearn_epoch)]
    sides.append(("products", products_epoch))
    times = {(c, name): [] for c in configs for name, _ in sides}
    computed_dtype = {}
    # Interleave: every repeat runs every configuration once on each side,
    # rotating which side goes first, so drifts hit all alike.
    for repeat in range(repeats):
        for config in configs:
            batch_size, dtype = config
            shift = repeat % len(sides)
            for name, epoch in sides[shift:] + sides[:shift]:
                seconds, (_, used) = timed(epoch, data[dtype], y, batch_size)
                times[config, name].append(seconds)
                computed_dtype[config, name] = np.dtype(used)

    header = (
        f"{'batch':>5}  {'input':>7}  {'skdbn (dtype)':>22}  "
        f"{'MLPClassifier (dtype)':>26}  {'ratio':>6}  {'products alone':>14}  "
        f"{'ceiling':>7}"
    )
    print(header)
    print("-" * len(header))
    for config in configs:
        batch_size, dtype = config
        rates = {name: n_samples / np.median(times[config, name]) for name, _ in sides}
        ours = f"{rates['skdbn']:10.0f}/s ({computed_dtype[config, 'skdbn']})"
        theirs = f"{rates['sklearn']:10.0f}/s ({computed_dtype[config, 'sklearn']})"
        print(
            f"{batch_size:>5}  {dtype.name:>7}  {ours:>22}  {theirs:>26}  "
            f"{rates['skdbn'] / rates['sklearn']:5.2f}x  "
            f"{rates['products']:12.0f}/s  "
            f"{rates['products'] / rates['sklearn']:6.2f}x"
        )
    print(
        "\nproducts alone: the epoch's matrix products and nothing else, the "
        "floor on this BLAS;\nceiling: the ratio to MLPClassifier that an "
        "implementation spending no time outside them would reach."
    )


def profile_minibatch(batch_size, dtype, repeats=20):
    """Median time of each piece of one minibatch, in milliseconds.

    The GEMM lines are the matrix products a minibatch needs, alone, with
    preallocated outputs: what no implementation on this BLAS can beat. The
    ``loss_and_gradients`` and update lines split ``train_step`` (the last
    line, what the epoch runs) into its two halves.
    """
    rng = np.random.default_rng(0)
    net = FeedForwardNetwork.initialize(LAYER_SIZES, rng=rng, dtype=dtype)
    optimizer = SGDOptimizer(LEARNING_RATE, momentum=MOMENTUM)
    X = rng.random((batch_size, LAYER_SIZES[0])).astype(dtype)
    Y = np.eye(LAYER_SIZES[-1], dtype=dtype)[rng.integers(10, size=batch_size)]
    products = ProductBuffers(batch_size, dtype)
    Z, b = products.Z, net.biases
    n_layers = len(b)
    decay = ALPHA / batch_size
    pieces = {
        "GEMMs, forward (4 matmul out=)": products.forward,
        "GEMMs, backward (7 matmul out=)": products.backward,
        "bias adds, forward": lambda: [Z[i].__iadd__(b[i]) for i in range(n_layers)],
        "logistic, in place (hidden)": lambda: [
            np.reciprocal(np.exp(np.negative(Z[i], out=Z[i]), out=Z[i]) + 1, out=Z[i])
            for i in range(3)
        ],
        "loss_and_gradients, alpha=0": lambda: net.loss_and_gradients(X, Y),
        "loss_and_gradients, alpha=1e-4": lambda: net.loss_and_gradients(
            X, Y, alpha=ALPHA
        ),
        "SGD update (Nesterov)": None,
        "SGD update, L2 folded in": None,
        "train_step, alpha=1e-4": lambda: net.train_step(X, Y, optimizer, alpha=ALPHA),
    }
    _, gw, gb = net.loss_and_gradients(X, Y)
    grads = [g.copy() for g in gw + gb]
    pieces["SGD update (Nesterov)"] = lambda: optimizer.update(net.parameters, grads)
    pieces["SGD update, L2 folded in"] = lambda: optimizer.update(
        net.parameters, grads, weight_decay=decay, n_decayed=n_layers
    )
    print(f"\nOne minibatch of {batch_size} rows, {np.dtype(dtype).name}:")
    with np.errstate(over="ignore"):
        for name, piece in pieces.items():
            piece()
            samples = []
            for _ in range(repeats):
                start = time.perf_counter()
                piece()
                samples.append(time.perf_counter() - start)
            print(f"  {name:<34} {1e3 * np.median(samples):8.3f} ms")


def describe_machine():
    print(f"{platform.processor() or platform.machine()}, numpy {np.__version__}")
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return
    for pool in threadpool_info():
        print(
            f"  {pool['internal_api']} {pool.get('version')}: "
            f"{pool['num_threads']} threads"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=5000)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[100, 200])
    parser.add_argument(
        "--dtypes", nargs="+", default=["float64", "float32"], help="input dtypes"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="limit BLAS threads (needs threadpoolctl); 1 gives steadier numbers "
        "on a machine shared with other work",
    )
    args = parser.parse_args()
    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    describe_machine()
    if args.profile:
        for dtype in args.dtypes:
            profile_minibatch(args.batch_sizes[0], dtype)
        return
    print(
        f"One epoch of {args.n_samples} samples through "
        f"{'-'.join(map(str, LAYER_SIZES))}, median of {args.repeats}, "
        "samples/second (computing dtype):\n"
    )
    throughput_table(args.n_samples, args.batch_sizes, args.dtypes, args.repeats)


if __name__ == "__main__":
    main()
