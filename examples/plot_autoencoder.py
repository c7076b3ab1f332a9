"""
===========================================
Deep autoencoders against PCA on the digits
===========================================

A :class:`~skdbn.DBNAutoencoder` pre-trains a stack of RBMs, unrolls it into
an encoder and a decoder, and fine-tunes both by back-propagation (Hinton &
Salakhutdinov 2006). Here it compresses scikit-learn's 8x8 digits, first to
10 numbers per image, compared with PCA keeping as many components, then to
2 numbers, which can be drawn as a map of the data; the variational form
(``variational=True``) gives a third map.

The script runs in well under a minute on two cores. Set the environment
variable ``SKDBN_EXAMPLES_FULL=1`` for longer pre-training and fine-tuning.
"""

# %%
# Ten numbers per digit
# ---------------------
# A fifth of the digits is kept aside to measure what the models
# generalise. The encoder is 64 -> 128 -> 10; its code layer has linear
# units (the default ``hidden_units="auto"``), and the decoder mirrors it.
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skdbn import DBNAutoencoder
from skdbn.datasets import load_digits_01
from skdbn.plotting import plot_images

FULL = os.environ.get("SKDBN_EXAMPLES_FULL", "0") == "1"
N_EPOCHS = 30 if FULL else 10
MAX_ITER = 150 if FULL else 40
# Short runs stop at max_iter before the loss has settled: expected here.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

digits = load_digits_01()
X_train, X_test, y_train, y_test = train_test_split(
    digits.data, digits.target, test_size=0.2, stratify=digits.target, random_state=0
)
autoencoder = DBNAutoencoder(
    hidden_layer_sizes=(128, 10),
    n_epochs=N_EPOCHS,
    batch_size=20,
    learning_rate_init=0.01,
    max_iter=MAX_ITER,
    random_state=0,
).fit(X_train)
pca = PCA(n_components=10).fit(X_train)

# %%
# Reconstructions
# ---------------
# Ten held-out digits, their reconstruction by the autoencoder and by PCA.
# The squared error per digit (summed over the 64 pixels) is printed for the
# whole held-out set. PCA's reconstructions are linear combinations of ten
# fixed images: blurred, with grey ghosts of other digits; the autoencoder's
# are sharper and mostly the right digit.
reconstructions = {
    "autoencoder": autoencoder.inverse_transform(autoencoder.transform(X_test)),
    "PCA": pca.inverse_transform(pca.transform(X_test)),
}
for name, images in reconstructions.items():
    error = np.mean(np.sum((images - X_test) ** 2, axis=1))
    print(f"held-out squared error per digit, {name} (10 numbers): {error:.2f}")

plot_images(
    np.vstack(
        [X_test[:10], reconstructions["autoencoder"][:10], reconstructions["PCA"][:10]]
    ),
    digits.image_shape,
    n_cols=10,
    row_labels=["test digit", "autoencoder", "PCA"],
    title="Held-out digits compressed to 10 numbers, and back",
)
plt.show()

# %%
# Two numbers per digit: a map of the data
# ----------------------------------------
# With a code of two units the codes can be drawn directly. PCA's two
# components separate a few classes (zeros, fours, sixes) and pile the
# others on top of one another in the middle; the deep autoencoder
# (64 -> 128 -> 32 -> 2) gives most classes a region of their own, as in
# figure 3 of the 2006 paper. The variational autoencoder's posterior means
# make a similar map, with tighter clusters: the KL term keeps the codes on
# the scale of the standard normal prior, which is what lets ``sample``
# decode codes drawn from that prior.
deep = DBNAutoencoder(
    hidden_layer_sizes=(128, 32, 2),
    n_epochs=N_EPOCHS,
    batch_size=20,
    learning_rate_init=0.005,
    max_iter=MAX_ITER,
    random_state=0,
).fit(X_train)
variational = DBNAutoencoder(
    hidden_layer_sizes=(128, 32, 2),
    variational=True,
    n_epochs=N_EPOCHS,
    batch_size=20,
    learning_rate_init=0.005,
    max_iter=MAX_ITER,
    random_state=0,
).fit(X_train)
maps = {
    "PCA(2)": PCA(n_components=2).fit(X_train).transform(X_test),
    "deep autoencoder": deep.transform(X_test),
    "variational autoencoder\n(posterior means)": variational.transform(X_test),
}
fig, axes = plt.subplots(1, 3, figsize=(13, 4.5))
for ax, (name, codes) in zip(axes, maps.items(), strict=True):
    points = ax.scatter(codes[:, 0], codes[:, 1], c=y_test, cmap="tab10", s=10)
    ax.set_title(name)
    ax.set_xticks([])
    ax.set_yticks([])
fig.colorbar(points, ax=axes, ticks=range(10), label="digit")
plt.show()

# %%
# Samples from the variational autoencoder
# ----------------------------------------
# Codes drawn from the prior ``N(0, I)`` and decoded. With two numbers per
# digit the samples are blurred, but most are recognisable digits.
plot_images(
    variational.sample(20, random_state=0),
    digits.image_shape,
    n_cols=10,
    title="Samples from the variational autoencoder",
)
plt.show()
