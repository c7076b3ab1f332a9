"""Paired comparison of candidate defaults for ``DBNClassifier()``.

A default change must be judged on the same folds as the default it
replaces: on tables of a few hundred rows, one seed's half-point gain is
within the spread of the folds. This script runs ``DBNClassifier()`` at its
defaults (``base``) and with candidate parameters on the same folds (same
CV shuffle, holes and model seed), over several seeds, together with the
references of the two benchmarks that quote the defaults:

- ``--suite mixed``: the tables of ``bench_tabular_mixed.py
  --classification`` (KEEL tables with categories, complete; numeric tables
  with entries removed at random), against its MLP pipeline;
- ``--suite defaults``: the raw numeric tables of ``bench_defaults.py
  --sections classification``, against ``MLPClassifier()`` and
  ``LogisticRegression()``; ``--no-pretrain`` adds each model with
  ``pretrain=False``.

Seed ``s`` is the CV shuffle, the model seed and (mixed suite) the holes,
exactly as in the two benchmarks, so seed 0 reproduces their first seed.
Each fold's accuracy is cached in a JSON file (``--cache``), so candidates
can be added without rerunning the others. It prints, per table, the mean
accuracy of each model and the paired difference ``candidate - base``
(mean over all folds and seeds, and the mean of each seed), then a summary:
mean difference over the tables with its standard deviation, wins against
the references. Numbers in ``benchmarks/README.md``::

    python benchmarks/bench_paired_defaults.py --suite mixed --seeds 0,1 \\
        --candidates "dropout=0.2"
    python benchmarks/bench_paired_defaults.py --suite defaults --seeds 0 \\
        --tables iris,heart --candidates "dropout=0.2" --no-pretrain
"""

import argparse
import json
import warnings
from pathlib import Path

import numpy as np

# Candidates are given as "k=v,k=v" strings, e.g. "dropout=0.2,alpha=1e-3".


def parse(candidate):
    params = {}
    for item in filter(None, candidate.split(",")):
        key, value = item.split("=")
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    return params


def mixed_settings(tables, fractions):
    from bench_tabular_mixed import CATEGORICAL_TABLES

    for name in tables:
        for fraction in (0.0,) if name in CATEGORICAL_TABLES else fractions:
            yield name, fraction


def mixed_folds(name, fraction, seed):
    """``(X_train, y_train, X_test, y_test, references)`` of each fold."""
    from bench_tabular_mixed import classifiers, load_labelled, remove
    from sklearn.model_selection import StratifiedKFold

    X, y = load_labelled(name)
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    for fold, (train, test) in enumerate(folds.split(X, y)):
        rng = np.random.default_rng(1000 * seed + fold)
        X_fold = remove(X, fraction, rng)[0] if fraction else X
        references = {"MLP pipeline": classifiers(seed, X, {})["MLP pipeline"]}
        yield (X_fold.iloc[train], y[train], X_fold.iloc[test], y[test], references)


def defaults_folds(name, fraction, seed):
    from bench_defaults import load_classification
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.neural_network import MLPClassifier

    X, y = load_classification(name)
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    for train, test in folds.split(X, y):
        references = {
            "MLPClassifier()": lambda: MLPClassifier(random_state=seed),
            "LogisticRegression()": LogisticRegression,
        }
        yield X[train], y[train], X[test], y[test], references


def run(args):
    from skdbn import DBNClassifier

    cache_path = Path(args.cache)
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    candidates = {"base": {}}
    for text in filter(None, args.candidates.split(";")):
        candidates[text] = parse(text)
    if args.no_pretrain:
        for label, params in list(candidates.items()):
            candidates[f"{label}|pretrain=False"] = {**params, "pretrain": False}
    if args.suite == "mixed":
        from bench_tabular_mixed import CATEGORICAL_TABLES, NUMERIC_TABLES

        tables = (
            args.tables.split(",")
            if args.tables
            else [
                *CATEGORICAL_TABLES,
                *NUMERIC_TABLES,
            ]
        )
        settings = list(mixed_settings(tables, args.fractions))
        folds_of = mixed_folds
    else:
        from bench_defaults import CLASSIFICATION_SETS

        tables = args.tables.split(",") if args.tables else CLASSIFICATION_SETS
        settings = [(name, 0.0) for name in tables]
        folds_of = defaults_folds
    results = {}
    for name, fraction in settings:
        setting = f"{name} {fraction:.0%}" if args.suite == "mixed" else name
        for seed in args.seeds:
            for fold, (X_tr, y_tr, X_te, y_te, refs) in enumerate(
                folds_of(name, fraction, seed)
            ):
                makers = {
                    label: (lambda p=params, s=seed: DBNClassifier(random_state=s, **p))
                    for label, params in candidates.items()
                }
                makers.update(refs)
                for label, make in makers.items():
                    key = f"{args.suite}|{setting}|{seed}|{fold}|{label}"
                    if key not in cache:
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            model = make().fit(X_tr, y_tr)
                            cache[key] = float(model.score(X_te, y_te))
                        cache_path.write_text(json.dumps(cache, indent=0))
                    results.setdefault(setting, {}).setdefault(label, {})[
                        (seed, fold)
                    ] = cache[key]
        report_setting(setting, results[setting], args.seeds)
    summarise(results, args)


def report_setting(setting, scores, seeds):
    base = scores["base"]
    cells = []
    for label, values in scores.items():
        mean = np.mean(list(values.values()))
        text = f"{label} {mean:.3f}"
        if label != "base" and not label.startswith(("MLP", "Logistic")):
            diff = np.array([values[k] - base[k] for k in base])
            per_seed = [
                np.mean([values[k] - base[k] for k in base if k[0] == s]) for s in seeds
            ]
            text += (
                f" (diff {100 * diff.mean():+.2f} pts; seeds "
                + "/".join(f"{100 * d:+.1f}" for d in per_seed)
                + ")"
            )
        cells.append(text)
    print(f"{setting}: " + "; ".join(cells), flush=True)


def summarise(results, args):
    settings = list(results)
    labels = list(results[settings[0]])
    means = {
        label: np.array([np.mean(list(results[s][label].values())) for s in settings])
        for label in labels
    }
    references = [lab for lab in labels if lab.startswith(("MLP", "Logistic"))]
    print(f"\n{len(settings)} settings, seeds {args.seeds}")
    for label in labels:
        if label in references:
            print(f"- {label}: mean {means[label].mean():.4f}")
            continue
        line = f"- {label}: mean {means[label].mean():.4f}"
        if label != "base":
            diff = means[label] - means["base"]
            line += (
                f"; vs base {100 * diff.mean():+.2f} ± {100 * diff.std():.2f} pts "
                f"(better {np.sum(diff > 1e-9)}, worse {np.sum(diff < -1e-9)})"
            )
        for ref in references:
            ahead = means[label] > means[ref] + 1e-9
            behind = [
                s
                for s, m, r in zip(settings, means[label], means[ref], strict=True)
                if m < r - 1e-9
            ]
            line += (
                f"; ahead of {ref} on {ahead.sum()}/{len(settings)} "
                f"(behind: {', '.join(behind) or 'none'})"
            )
        print(line)
    for label in labels:
        if label.endswith("|pretrain=False"):
            pre = label.removesuffix("|pretrain=False")
            diff = means[pre] - means[label]
            worse = [s for s, d in zip(settings, diff, strict=True) if d < -1e-9]
            print(
                f"- pre-training ({pre}): {100 * diff.mean():+.2f} pts on average, "
                f"worse on {len(worse)} ({', '.join(worse) or 'none'})"
            )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=("mixed", "defaults"), default="mixed")
    parser.add_argument("--tables", default=None)
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--fractions", default="0.1,0.2,0.4")
    parser.add_argument("--candidates", default="", help="'k=v,k=v;k=v'")
    parser.add_argument("--no-pretrain", action="store_true")
    parser.add_argument(
        "--cache",
        default=str(Path(__file__).parent / "results" / "paired_defaults.json"),
    )
    args = parser.parse_args()
    args.seeds = [int(s) for s in args.seeds.split(",")]
    args.fractions = [float(f) for f in args.fractions.split(",")]
    Path(args.cache).parent.mkdir(exist_ok=True)
    run(args)


if __name__ == "__main__":
    main()
