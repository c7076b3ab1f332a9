"""
=========================================================
Generative fine-tuning of a deep belief net with up-down
=========================================================

After greedy pre-training, a deep belief net's directed layers generate with
the same weights the RBMs used for inference. The up-down algorithm of
Hinton, Osindero & Teh (2006) unties them into recognition (bottom-up) and
generative (top-down) weights and fine-tunes both, with the joint top-level
RBM of features and labels: the wake phase teaches the generative weights to
reconstruct each layer from the one above, CD in the top RBM refines the
associative memory, and the sleep phase teaches the recognition weights to
infer the dreamed states. ``DBNClassifier(updown_epochs=...)`` runs it.

This script fits the same net (same seed, so the same pre-training) without
and with up-down on the 8x8 digits, draws ten samples of each class from
each, and compares their generative classification error: the label of least
free energy in the top RBM, given a deterministic up pass
(:meth:`~skdbn.DBNClassifier.predict_generative`).
"""

# %%
# Fit the net twice: pre-trained only, and after up-down
# ------------------------------------------------------
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from skdbn import DBNClassifier
from skdbn.datasets import load_digits_01

X, y = load_digits_01(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
params = dict(
    hidden_layer_sizes=(200,),
    generative_layer_size=300,
    n_epochs=20,
    batch_size=20,
    max_iter=2,  # the feed-forward network is beside the point here
    random_state=0,
)
models = {}
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    for name, epochs in [("pre-trained", 0), ("after up-down", 30)]:
        models[name] = DBNClassifier(updown_epochs=epochs, **params).fit(
            X_train, y_train
        )

for name, model in models.items():
    error = np.mean(model.predict_generative(X_test) != y_test)
    print(f"{name:>14}: generative test error {error:.1%}")

# %%
# Class-conditional samples
# -------------------------
# Each row is a class, each column a Gibbs chain in the top RBM with the
# label clamped, passed down through the generative weights. A logistic
# regression trained on the real digits judges whether each sample shows
# the class it was drawn for.
judge = LogisticRegression(max_iter=3000).fit(X_train, y_train)
n_per_class = 10
labels = np.repeat(np.arange(10), n_per_class)
fig, panels = plt.subplots(1, 2, figsize=(10, 5.4))
for panel, (name, model) in zip(panels, models.items(), strict=True):
    samples, _ = model.sample(len(labels), y=labels, n_steps=200, random_state=0)
    # One 8x8 image per cell of a grid, with a blank pixel between images.
    tiles = np.zeros((10, 9, n_per_class, 9))
    tiles[:, :8, :, :8] = samples.reshape(10, n_per_class, 8, 8).transpose(0, 2, 1, 3)
    panel.imshow(tiles.reshape(90, 9 * n_per_class), cmap="gray_r", vmin=0, vmax=1)
    panel.set_xticks([])
    panel.set_yticks(np.arange(3.5, 90, 9), labels=range(10))
    agreement = np.mean(judge.predict(samples) == labels)
    panel.set_title(f"{name}\n(read as their class: {agreement:.0%})")
fig.suptitle("Ten samples of each class (rows)")
fig.tight_layout()
plt.show()
