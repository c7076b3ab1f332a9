"""
=====================================================================
Filling in the holes of a table with numbers and categories
=====================================================================

:class:`~skdbn.RBMImputer` trains an RBM whose visible units are typed per
column (Gaussian units for numbers, a softmax group per categorical column)
on the observed entries of a table, leaving the missing ones out of the
energy, then fills each hole with the model's conditional expectation given
the row's observed entries. The table goes in as a pandas DataFrame, with
no encoder or scaler in front.

Here a made-up table of 600 rows: two numeric columns driven by a hidden
"segment", a categorical column that names the segment and one that does
not depend on it. A fifth of the entries are removed at random; the
imputer's error on them is compared with the column mean and most frequent
category (what :class:`~sklearn.impute.SimpleImputer` does).
"""

# %%
# A table with holes
# ------------------
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from skdbn import RBMImputer

rng = np.random.default_rng(0)
n = 600
segment = rng.integers(0, 3, n)
X = pd.DataFrame(
    {
        "income": np.array([20.0, 45.0, 80.0])[segment] + 5 * rng.standard_normal(n),
        "age": np.array([25.0, 40.0, 60.0])[segment] + 4 * rng.standard_normal(n),
        "segment": np.array(["student", "family", "retired"])[segment],
        "colour": rng.choice(["red", "blue"], n),
    }
)
holes = rng.random(X.shape) < 0.2
X_missing = X.mask(holes)
X_missing.head()

# %%
# Fill them in
# ------------
imputer = RBMImputer(n_components=16, random_state=0)
filled = imputer.fit_transform(X_missing)


def errors(filled):
    """RMSE (in standard deviations) per numeric column, error rate per category."""
    out = {}
    for j, column in enumerate(X.columns):
        rows = holes[:, j]
        truth, guess = X[column].to_numpy()[rows], filled[rows, j]
        if column in ("income", "age"):
            diff = (guess.astype(float) - truth) / X[column].std()
            out[column] = float(np.sqrt(np.mean(diff**2)))
        else:
            out[column] = float(np.mean(guess != truth))
    return out


baseline = X_missing.copy().astype(object)
for column in X.columns:
    values = X_missing[column]
    if column in ("income", "age"):
        baseline[column] = values.fillna(values.mean())
    else:
        baseline[column] = values.fillna(values.mode().iloc[0])

results = pd.DataFrame(
    {"RBMImputer": errors(filled), "mean / most frequent": errors(baseline.to_numpy())}
)
print(results.round(3))

# %%
# The columns the segment explains are filled from the other columns of the
# row: the RBM has learned that incomes, ages and segment names go together.
# The colour, independent of everything, cannot be predicted by anyone.
results.plot.bar(rot=0, ylabel="RMSE (numbers) / error rate (categories)")
plt.title("Errors on the removed entries (lower is better)")
plt.tight_layout()
plt.show()
