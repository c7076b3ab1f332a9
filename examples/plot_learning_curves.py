"""
=================================================
Learning curves of pre-training and fine-tuning
=================================================

Every fitted RBM keeps a per-epoch ``history``, and
:class:`~skdbn.DBNClassifier` records its fine-tuning loss in
``loss_curve_`` and, with ``early_stopping=True``, its held-out accuracy in
``validation_scores_``. Plotting them is the first thing to do when a fit
does not do what you expected: they show whether training has converged,
diverged or started to overfit.

The script runs in about half a minute. Set the environment variable
``SKDBN_EXAMPLES_FULL=1`` to train longer.
"""

# %%
# Pre-training: each RBM's history
# --------------------------------
# ``validation_fraction`` holds out part of the training data, which the
# RBMs never train on. Each record of ``layer.history`` then has the
# reconstruction error on the training and held-out data, and the
# free-energy gap: the held-out data's mean free energy minus the training
# data's. An RBM that starts to model its training data better than new
# data shows it as a growing gap (Hinton's practical guide, section 6).
import os
import warnings

import matplotlib.pyplot as plt
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skdbn import BernoulliRBMStack, DBNClassifier
from skdbn.datasets import load_digits_01
from skdbn.plotting import plot_learning_curves

FULL = os.environ.get("SKDBN_EXAMPLES_FULL", "0") == "1"
N_EPOCHS = 60 if FULL else 20

X, y = load_digits_01(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

stack = BernoulliRBMStack(
    hidden_layer_sizes=(128, 64),
    n_epochs=N_EPOCHS,
    batch_size=20,
    validation_fraction=0.2,
    random_state=0,
).fit(X_train)
first = stack.layers_[0].history
print("keys of a history record:", sorted(first[-1]))
print(
    f"layer 1, epoch 1: reconstruction error {first[0]['reconstruction_error']:.3f}"
    f", epoch {first[-1]['epoch']}: {first[-1]['reconstruction_error']:.3f}"
)
plot_learning_curves(stack)
plt.show()

# %%
# The first layer's reconstruction error falls fast over the first ten
# epochs and then levels off; the second layer's stays flat for a few
# epochs before it falls. The error is only a rough guide, since it is not
# what contrastive divergence optimises. The held-out error follows the
# training error closely, and the free-energy gap fluctuates around a few
# tenths below zero without growing: with these sizes and epochs, the RBMs
# are not overfitting.
#
# Fine-tuning: loss and held-out accuracy
# ---------------------------------------
# ``early_stopping=True`` holds out ``validation_fraction`` of the data,
# scores it after every epoch (``validation_scores_``) and stops when the
# score has not improved for more than ``n_iter_no_change`` epochs in a row,
# keeping the best weights. We fine-tune the same network twice: from the RBM
# weights, and from a random initialisation (``pretrain=False``).
params = dict(
    hidden_layer_sizes=(128, 64),
    n_epochs=N_EPOCHS,
    batch_size=20,
    max_iter=200 if FULL else 60,
    early_stopping=True,
    n_iter_no_change=10,
    random_state=0,
)
models = {
    "pre-trained": DBNClassifier(**params),
    "random init": DBNClassifier(**params, pretrain=False),
}
fig, (ax_loss, ax_score) = plt.subplots(1, 2, figsize=(9, 3.5))
for name, model in models.items():
    with warnings.catch_warnings():
        # Without FULL, max_iter may stop fine-tuning before early stopping.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train)
    print(
        f"{name}: {model.n_iter_} epochs, best held-out accuracy "
        f"{model.best_validation_score_:.3f}, "
        f"test accuracy {model.score(X_test, y_test):.3f}"
    )
    epochs = range(1, model.n_iter_ + 1)
    ax_loss.plot(epochs, model.loss_curve_, label=name)
    ax_score.plot(epochs, model.validation_scores_, label=name)
ax_loss.set(xlabel="epoch", ylabel="training loss (log-loss)", yscale="log")
ax_score.set(xlabel="epoch", ylabel="held-out accuracy")
ax_loss.legend()
fig.suptitle("DBNClassifier fine-tuning")
fig.tight_layout()
plt.show()

# %%
# Both start at the same loss (the output layer is random either way), but
# the pre-trained network, whose hidden layers already compute features
# that separate the digits, learns faster: its loss falls more steeply and
# its held-out accuracy passes 0.9 within a few epochs, so early stopping
# ends it sooner. The randomly initialised network catches up given more
# epochs, and the final accuracies printed above are within a point or two
# of each other: on these small images pre-training mostly buys speed. How
# much it buys at the end depends on the data, the network and the budget;
# a grid search (see the other examples) is how to find out.
