"""
=====================================================
What a stack of RBMs learns from handwritten digits
=====================================================

Fit a two-layer :class:`~skdbn.BernoulliRBMStack` on scikit-learn's 8x8
digits and look inside it: the first layer's filters, reconstructions of
held-out digits, digits sampled from the model, and the learning curves of
both layers.

Bernoulli visible units model values in ``[0, 1]``, read as the probability
that a pixel is on, so the grey levels 0 to 16 are divided by 16.
"""

# %%
# Data and model
# --------------
# We keep a fifth of the images aside to look at reconstructions of digits
# the stack never saw. ``validation_fraction`` holds out part of the
# training data as well, so that the learning curves can compare training
# and held-out data.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

from skdbn import BernoulliRBMStack
from skdbn.datasets import load_digits_01
from skdbn.plotting import plot_filters, plot_images, plot_learning_curves

digits = load_digits_01()
X_train, X_test = train_test_split(
    digits.data, test_size=0.2, stratify=digits.target, random_state=0
)

stack = BernoulliRBMStack(
    hidden_layer_sizes=(256, 64),
    learning_rate=0.1,
    n_epochs=30,
    batch_size=20,
    validation_fraction=0.1,
    random_state=0,
)
stack.fit(X_train)
for index, layer in enumerate(stack.layers_, start=1):
    last = layer.history[-1]
    print(
        f"layer {index} ({layer.n_visible} -> {layer.n_hidden}): "
        f"reconstruction error {last['reconstruction_error']:.3f} (training), "
        f"{last['validation_reconstruction_error']:.3f} (held out)"
    )

# %%
# Filters
# -------
# Each tile shows the weights from the 64 pixels to one hidden unit of the
# first layer: white pixels excite the unit, black ones inhibit it. Many
# units respond to strokes at particular places, or to parts of digits.
plot_filters(stack, digits.image_shape, n_filters=100)
plt.show()

# %%
# Reconstructions
# ---------------
# ``transform`` maps test digits up to the top layer's 64 hidden
# probabilities and ``inverse_transform`` maps them back down. What
# survives the round trip through 64 units is what the stack kept.
originals = X_test[:10]
reconstructions = stack.inverse_transform(stack.transform(originals))
plot_images(
    np.vstack([originals, reconstructions]),
    digits.image_shape,
    n_cols=10,
    row_labels=["test digit", "reconstructed"],
    title="Held-out digits, up the stack and down again",
)
plt.show()

# %%
# Samples
# -------
# ``sample`` runs Gibbs sampling in the top RBM, then passes its visible
# probabilities down through the first layer. Chains of a few hundred
# steps already give digit-like images; they tend to stay near a few modes.
samples = stack.sample(30, n_steps=500, random_state=0)
plot_images(samples, digits.image_shape, n_cols=10, title="Samples from the stack")
plt.show()

# %%
# Learning curves
# ---------------
# One column per layer. The top row is the squared reconstruction error per
# sample on training and held-out data; the bottom row is the free-energy
# gap (held-out minus training mean free energy), which grows when an RBM
# starts to fit its training data better than new data.
plot_learning_curves(stack)
plt.show()
