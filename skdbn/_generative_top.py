"""The joint top RBM of a labelled deep belief net: its training and samples.

``DBNClassifier(generative_layer_size=...)`` puts on top of the pre-trained
stack the "associative memory" of Hinton, Osindero & Teh (2006): an RBM over
the top-level features and the labels (a softmax group). This mixin trains
it after pre-training (and hands over to up-down fine-tuning, see
``_updown.py``) and draws class-conditional samples from it by Gibbs
sampling with the label units clamped.
"""

import copy
from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._dbn_input import TABULAR
from ._rbm import RBMLayer, initial_layer
from ._scaling import unscale_output
from ._stack_base import auto_learning_rate
from ._training import RBMTrainer


class GenerativeTopMixin:
    """Training of the joint top RBM and class-conditional ``sample``.

    For ``DBNClassifier``: needs its ``stack_``, ``classes_``,
    ``_label_encoder``, ``_pretrain_seed`` and ``_fit_updown``.
    """

    def _fit_generative_layer(self, X, Y, train=True, sample_weight=None):
        """Train the joint RBM of top-level features and labels, if asked for.

        Not when ``train`` is False (pre-training was interrupted); returns
        False when the user interrupts its own training. ``sample_weight``
        weighs the rows as in pre-training.
        """
        self.generative_layer_ = self.updown_ = None
        if self.generative_layer_size is None or not train:
            return train
        if X.shape[0] == 0:
            raise ValueError(
                "generative_layer_size needs labelled rows in the first fit or "
                "partial_fit chunk: the joint RBM learns features with their "
                "labels, and every row of this one is unlabelled (-1)."
            )
        if self.stack_ is None:
            raise ValueError(
                "generative_layer_size needs pre-training (pretrain=True): the "
                "joint RBM models the pre-trained stack's top-level features."
            )
        features = X  # scaled or coded already: the stack's up pass
        for layer in self.stack_.layers_:
            features = layer.hidden_mean(features)
        data = np.hstack([features, Y]).astype(X.dtype, copy=False)
        top = self.stack_._trainers[-1]
        rng = np.random.default_rng(self._pretrain_seed + 1)
        layer = initial_layer(
            data.shape[1],
            self.generative_layer_size,
            np.average(data, axis=0, weights=sample_weight),
            rng,
            data.dtype,
            ("bernoulli", "bernoulli"),
        )
        settings = copy.copy(top.settings)
        settings.learning_rate = auto_learning_rate(("bernoulli", "bernoulli"))
        if self.learning_rate != "auto" and np.ndim(self.learning_rate) == 0:
            settings.learning_rate = self.learning_rate
        trainer = RBMTrainer(layer, settings, "joint top layer", self.verbose)
        completed = trainer.fit(data, rng, sample_weight=sample_weight)
        self.generative_layer_ = layer
        return completed and self._fit_updown(X, Y, sample_weight)

    def sample(self, n_samples=1, *, y=None, n_steps=1000, random_state=None):
        """Draw class-conditional samples from the generative top layer.

        The deep belief net of Hinton, Osindero & Teh (2006): Gibbs sampling
        in the joint RBM with its label units clamped to the requested
        classes, then a deterministic down pass through the pre-trained
        stack. Needs ``generative_layer_size``. The fine-tuned network plays
        no part: this is the generative model that pre-training learned, or
        after up-down fine-tuning (``updown_epochs``) the one in ``updown_``
        (its top layer, then its generative weights).

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        y : label or array-like of shape (n_samples,), default=None
            Class of each sample (one label for all); by default the classes
            in turn.
        n_steps : int, default=1000
            Gibbs steps in the joint RBM.
        random_state : int, RandomState instance or None, default=None
            Seed of the Gibbs chains.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features_in_)
            Expected visible states of the samples, in the units of the
            training data (the input scaling that ``visible_units="auto"``
            fitted is undone; a table's columns on the tabular path).
        y : ndarray of shape (n_samples,)
            Their classes.
        """
        check_is_fitted(self)
        if getattr(self, "generative_layer_", None) is None:
            raise ValueError(
                "This DBNClassifier has no generative top layer: fit it with "
                "generative_layer_size set (e.g. 2000) to draw samples."
            )
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be an integer >= 1, got {n_samples!r}.")
        if y is None:
            y = self.classes_[np.arange(n_samples) % len(self.classes_)]
        else:
            y = np.broadcast_to(np.asarray(y, dtype=self.classes_.dtype), (n_samples,))
        unknown = np.setdiff1d(y, self.classes_)
        if unknown.size:
            raise ValueError(
                f"y has labels not seen in fit: {unknown!r}; the classifier "
                f"knows {self.classes_!r}."
            )
        updown = getattr(self, "updown_", None)
        joint = self.generative_layer_ if updown is None else updown.top
        n_labels = len(self.classes_)
        n_features = joint.n_visible - n_labels
        seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
        rng = np.random.default_rng(seed)
        labels = np.zeros((n_samples, n_labels), dtype=joint.weights.dtype)
        labels[np.arange(n_samples), self._label_encoder.transform(y)] = 1
        # The features' part of the joint RBM: p(features | h) ignores labels.
        features_only = RBMLayer(
            joint.weights[:n_features],
            joint.visible_bias[:n_features],
            joint.hidden_bias,
        )
        features = features_only.sample_visible(
            np.zeros((n_samples, joint.n_hidden), joint.weights.dtype), rng
        )
        for _ in range(n_steps):
            hidden = joint.sample_hidden(np.hstack([features, labels]), rng)
            features = features_only.sample_visible(hidden, rng)
        X = features_only.visible_mean(
            joint.sample_hidden(np.hstack([features, labels]), rng)
        )
        if updown is not None:
            X = updown.down(X)
        else:
            for layer in reversed(self.stack_.layers_):
                X = layer.visible_mean(X)
        if self.visible_units_ == TABULAR:  # the table's columns
            return self.stack_._visible_output(X), np.asarray(y)
        # Gaussian units model the standardised input: back to its units.
        return unscale_output(self, X), np.asarray(y)
