"""
=====================================================
What a stack of RBMs learns from handwritten digits
=====================================================

Fit a one-layer :class:`~skdbn.BernoulliRBMStack` on scikit-learn's 8x8
digits and look at its filters: the weights from the 64 pixels to each
hidden unit, drawn as an image. We fit the same RBM twice, without and with
a sparsity target, and count the hidden units that are almost never on.

Bernoulli visible units model values in ``[0, 1]``, read as the probability
that a pixel is on, so :func:`~skdbn.datasets.load_digits_01` divides the
grey levels 0 to 16 by 16.

The script runs in about 15 seconds. Set the environment variable
``SKDBN_EXAMPLES_FULL=1`` to train for 100 epochs instead of 30.
"""

# %%
# Data and models
# ---------------
import os

import matplotlib.pyplot as plt

from skdbn import BernoulliRBMStack
from skdbn.datasets import load_digits_01
from skdbn.plotting import plot_filters

FULL = os.environ.get("SKDBN_EXAMPLES_FULL", "0") == "1"
N_EPOCHS = 100 if FULL else 30

digits = load_digits_01()
X = digits.data

params = dict(
    hidden_layer_sizes=(100,),
    learning_rate=0.1,
    n_epochs=N_EPOCHS,
    batch_size=20,
    random_state=0,
)
plain = BernoulliRBMStack(**params).fit(X)
sparse = BernoulliRBMStack(**params, sparsity_target=0.05, sparsity_cost=0.5).fit(X)

for name, stack in [("no sparsity target", plain), ("sparsity_target=0.05", sparse)]:
    activation = stack.transform(X).mean(axis=0)  # each unit's mean activation
    print(
        f"{name:>21}: reconstruction error "
        f"{stack.layers_[0].history[-1]['reconstruction_error']:.3f}, "
        f"mean activation {activation.mean():.3f}, "
        f"{(activation < 0.01).sum()} of 100 units on for less than 1% of digits"
    )

# %%
# Filters without a sparsity target
# ---------------------------------
# Each tile shows the weights from the 64 pixels to one hidden unit, on its
# own grey scale centred on zero: white pixels excite the unit, black ones
# inhibit it. With these settings most filters are dark: the units are
# inhibited by most pixels, and (as printed above) about two thirds of them
# are almost never on. Such units cost computation and carry little
# information.
fig = plot_filters(plain, digits.image_shape, n_filters=100)
fig.suptitle("First-layer filters, no sparsity target")
plt.show()

# %%
# Filters with a sparsity target
# ------------------------------
# ``sparsity_target=0.05`` with ``sparsity_cost=0.5`` nudges each unit's
# hidden bias (and weights) so that its mean activation on the data
# approaches 5%, from below as from above. Units that were switched off
# come back: far fewer are almost never on, and the filters show more
# varied light and dark patches, pieces of strokes at particular places.
fig = plot_filters(sparse, digits.image_shape, n_filters=100)
fig.suptitle("First-layer filters, sparsity_target=0.05")
plt.show()
