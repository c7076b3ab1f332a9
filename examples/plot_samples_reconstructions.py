"""
=====================================================
Reconstructing and sampling digits with an RBM stack
=====================================================

A :class:`~skdbn.BernoulliRBMStack` is a generative model as well as a
feature extractor. ``transform`` maps data up the stack and
``inverse_transform`` maps the top layer's activities back down, so the
round trip shows what the stack kept of an image. ``sample`` runs Gibbs
sampling in the top RBM and passes the result down, so it shows what the
stack thinks a digit looks like.

The script runs in about 15 seconds. Set the environment variable
``SKDBN_EXAMPLES_FULL=1`` to train for 100 epochs per layer instead of 30.
"""

# %%
# A two-layer stack
# -----------------
# A fifth of the digits is kept aside: reconstructions of images the stack
# never saw show what it generalises, not what it memorised.
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

from skdbn import BernoulliRBMStack
from skdbn.datasets import load_digits_01
from skdbn.plotting import plot_images

FULL = os.environ.get("SKDBN_EXAMPLES_FULL", "0") == "1"
N_EPOCHS = 100 if FULL else 30

digits = load_digits_01()
X_train, X_test = train_test_split(
    digits.data, test_size=0.2, stratify=digits.target, random_state=0
)
stack = BernoulliRBMStack(
    hidden_layer_sizes=(256, 64),
    learning_rate=0.1,
    n_epochs=N_EPOCHS,
    batch_size=20,
    random_state=0,
).fit(X_train)

# %%
# Reconstructions
# ---------------
# Ten held-out digits, their reconstruction through the first RBM alone
# (64 pixels -> 256 units -> 64 pixels), and through both layers, where
# everything has to pass through 64 units. ``RBMLayer.reconstruct`` is the
# first layer's mean-field up-down pass. One layer keeps the position and
# rough shape of the strokes, blurred. Through two layers more is lost: the
# error printed below grows, and several digits come back as a generic
# loop-shaped "average" digit. Both layers were trained to model their
# input, not to reconstruct it, so this measures what the code keeps, not
# what the stack is best at.
originals = X_test[:10]
one_layer = stack.layers_[0].reconstruct(originals)
two_layers = stack.inverse_transform(stack.transform(originals))
for name, images in [("one layer", one_layer), ("two layers", two_layers)]:
    error = np.mean(np.sum((images - originals) ** 2, axis=1))
    print(f"squared reconstruction error per digit, {name}: {error:.2f}")

plot_images(
    np.vstack([originals, one_layer, two_layers]),
    digits.image_shape,
    n_cols=10,
    row_labels=["test digit", "one layer", "two layers"],
    title="Held-out digits, up the stack and down again",
)
plt.show()

# %%
# Samples, and how long the chains run
# ------------------------------------
# Each sample is one Gibbs chain in the top RBM, started from its visible
# biases; after ``n_steps`` steps its visible probabilities are passed down
# through the first layer. After one step the chains are still close to
# where they started and give blurred averages of all digits; after a
# thousand steps most have settled on something digit-like (fives, sixes,
# nines, a two), some still blurred. Chains move slowly between digits, so
# the classes are far from equally represented: this is a small, briefly
# trained model, and sampling well from an RBM is hard.
rows, labels = [], []
for n_steps in (1, 20, 1000):
    rows.append(stack.sample(10, n_steps=n_steps, random_state=0))
    labels.append(f"{n_steps} step" + ("s" if n_steps > 1 else ""))
plot_images(
    np.vstack(rows),
    digits.image_shape,
    n_cols=10,
    row_labels=labels,
    title="Samples from the stack",
)
plt.show()
