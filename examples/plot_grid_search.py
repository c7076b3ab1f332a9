"""
============================================================
Choosing a DBNClassifier's hyper-parameters by grid search
============================================================

:class:`~skdbn.DBNClassifier` is a scikit-learn estimator, so it fits in a
:class:`~sklearn.pipeline.Pipeline` and its parameters can be searched with
:class:`~sklearn.model_selection.GridSearchCV` like any other's, with the
usual ``step__parameter`` names. Here the pipeline scales the raw digits to
``[0, 1]`` (what Bernoulli visible units model) and the search compares
networks with and without RBM pre-training, for two sizes of hidden layer.

The script runs in well under a minute. Set the environment variable
``SKDBN_EXAMPLES_FULL=1`` for a larger grid and longer training. To spread
the fits over a cluster, see the user guide's page on distributed search.
"""

# %%
# The pipeline and the grid
# -------------------------
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler

from skdbn import DBNClassifier

FULL = os.environ.get("SKDBN_EXAMPLES_FULL", "0") == "1"

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

pipeline = Pipeline(
    [
        ("scale", MinMaxScaler(clip=True)),
        (
            "dbn",
            DBNClassifier(
                n_epochs=20 if FULL else 10,
                batch_size=20,
                max_iter=50 if FULL else 20,
                random_state=0,
            ),
        ),
    ]
)
grid = {
    "dbn__hidden_layer_sizes": [(64,), (256,)] + ([(256, 256)] if FULL else []),
    "dbn__pretrain": [True, False],
}
if FULL:
    grid["dbn__learning_rate_init"] = [1e-3, 3e-3]

# %%
# The search
# ----------
# Each candidate is fitted on two thirds of the training split and scored on
# the rest, three times; ``n_jobs=2`` runs two fits at once. Fits are
# seeded, so the search gives the same scores however many jobs run it.
# ``max_iter`` is deliberately short, so fine-tuning stops before it has
# converged and says so with a ``ConvergenceWarning``, silenced here.
search = GridSearchCV(pipeline, grid, cv=3, n_jobs=2)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    search.fit(X_train, y_train)
print("best parameters:", search.best_params_)
print(f"cross-validated accuracy: {search.best_score_:.3f}")
print(f"test accuracy of the refitted best model: {search.score(X_test, y_test):.3f}")

# %%
# The scores of every candidate
# -----------------------------
# Bars show the mean accuracy over the three folds, lines one standard
# deviation. With only a short fine-tuning (``max_iter``), the pre-trained
# networks start from features that already separate the digits, and beat
# the randomly initialised ones of the same size.
results = search.cv_results_
labels = [
    f"{p['dbn__hidden_layer_sizes']}\n"
    + ("pre-trained" if p["dbn__pretrain"] else "random init")
    + (f"\nlr {p['dbn__learning_rate_init']:g}" if FULL else "")
    for p in results["params"]
]
positions = np.arange(len(labels))
fig, ax = plt.subplots(figsize=(1.6 * len(labels) + 1, 3.8))
ax.bar(
    positions,
    results["mean_test_score"],
    yerr=results["std_test_score"],
    color=["C0" if p["dbn__pretrain"] else "C1" for p in results["params"]],
)
ax.set_xticks(positions, labels)
low = float(np.min(results["mean_test_score"] - results["std_test_score"]))
ax.set_ylim(max(0.0, low - 0.05), 1.0)
ax.set_ylabel("cross-validated accuracy")
ax.set_title("DBNClassifier on digits: pre-training and hidden layer size")
fig.tight_layout()
plt.show()
