"""Which read-out of a GaussianRBMStack feeds LogisticRegression best.

One default one-layer ``GaussianRBMStack`` per fold (``readout`` does not
change training), then ``LogisticRegression(max_iter=5000)`` on each
read-out of the same fitted stack, against LR on the standardised input
and on ``Nystroem(100)``; 5-fold stratified CV on the sets of
``bench_defaults.py``, one or more shuffling seeds (``--seeds``) for
repeated CV on the small sets. Read-outs, with ``x`` the hidden fields and
``s`` the stack's ``visible_std``:

- ``probability``: ``sigmoid(x)`` (``readout="probability"``);
- ``softplus``: ``log(1 + e^x)``;
- ``softplus*s``: ``s * log(1 + e^x)`` (``readout="softplus"``, the default);
- ``field``: ``x`` itself (a linear map of the input);
- ``probability+input``: ``[sigmoid(x), input]``.

    python benchmarks/bench_readouts.py --datasets vowel,heart --seeds 0
    python benchmarks/bench_readouts.py --datasets iris,heart --seeds 1,2,3,4
"""

import argparse
import warnings

import numpy as np
from bench_defaults import CLASSIFICATION_SETS, SEED, load_classification
from sklearn.kernel_approximation import Nystroem
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

from skdbn import GaussianRBMStack


def readouts(stack, X):
    """Every read-out of a fitted one-layer stack for standardised ``X``."""
    layer = stack.layers_[0]
    V = stack._prediction_input(X)
    field = layer.hidden_field(V)
    probability = layer.hidden_mean(V)
    softplus = np.logaddexp(0, field)
    return {
        "probability": probability,
        "softplus": softplus,
        "softplus*s": stack.visible_std * softplus,
        "field": field,
        "probability+input": np.hstack([probability, X]),
    }


def accuracy(F_train, y_train, F_test, y_test):
    model = LogisticRegression(max_iter=5000).fit(F_train, y_train)
    return model.score(F_test, y_test)


def evaluate(name, seeds):
    X, y = load_classification(name)
    X = np.asarray(X, dtype=float)
    scores = {}
    for seed in seeds:
        folds = StratifiedKFold(5, shuffle=True, random_state=seed).split(X, y)
        for train, test in folds:
            scaler = StandardScaler().fit(X[train])
            X_train, X_test = scaler.transform(X[train]), scaler.transform(X[test])
            y_train, y_test = y[train], y[test]
            cells = {"LR": (X_train, X_test)}
            kernel = Nystroem(n_components=100, random_state=SEED).fit(X_train)
            cells["Nystroem(100)"] = (
                kernel.transform(X_train),
                kernel.transform(X_test),
            )
            stack = GaussianRBMStack(random_state=SEED).fit(X_train)
            train_features = readouts(stack, X_train)
            test_features = readouts(stack, X_test)
            for key in train_features:
                cells[key] = (train_features[key], test_features[key])
            for key, (F_train, F_test) in cells.items():
                score = accuracy(F_train, y_train, F_test, y_test)
                scores.setdefault(key, []).append(score)
    return {key: float(np.mean(values)) for key, values in scores.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets",
        default=",".join(CLASSIFICATION_SETS),
        help="comma-separated names",
    )
    parser.add_argument(
        "--seeds", default="0", help="comma-separated CV shuffling seeds"
    )
    args = parser.parse_args()
    seeds = [int(seed) for seed in args.seeds.split(",")]
    rows = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence and data-range notes
        for name in args.datasets.split(","):
            rows[name] = evaluate(name, seeds)
            cells = ", ".join(f"{k} {v:.3f}" for k, v in rows[name].items())
            print(f"{name}: {cells}", flush=True)
    columns = list(next(iter(rows.values())))
    print()
    print("| data set | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for name, row in rows.items():
        print(f"| {name} | " + " | ".join(f"{row[c]:.3f}" for c in columns) + " |")
    means = {c: np.mean([row[c] for row in rows.values()]) for c in columns}
    print("| mean | " + " | ".join(f"{means[c]:.3f}" for c in columns) + " |")


if __name__ == "__main__":
    main()
