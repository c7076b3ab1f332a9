"""One RBM: its parameters and its maths.

Nothing here knows about estimators, epochs or learning rates. ``RBMLayer``
holds the parameters of one fitted RBM and computes conditional means, free
energies and reconstructions; ``initial_layer`` makes a fresh one. The
gradient estimates (``ContrastiveDivergence``, ``SparsityPenalty``) live in
``_contrastive_divergence.py``.

Conventions: ``weights`` has shape ``(n_visible, n_hidden)``; the energy of a
joint state is ``E(v, h) = -v @ W @ h - b @ v - c @ h`` for Bernoulli units,
with ``b = visible_bias`` and ``c = hidden_bias``.
"""

import numpy as np
import scipy.sparse as sp

from ._mixed_units import MIXED, fill_missing, has_missing, mixed_units, observed_mask
from ._units import get_unit_type, sample_from_field

#: Smallest standard deviation a learned Gaussian visible unit may take. The
#: data are standardised, so this is a hundredth of a feature's spread; it
#: keeps the energy finite when a feature is (nearly) constant.
MIN_VISIBLE_STD = 0.01
LOG_MIN_VISIBLE_STD = float(np.log(MIN_VISIBLE_STD))


def _dense(X):
    return X.toarray() if sp.issparse(X) else X


class RBMLayer:
    """Parameters and maths of one Restricted Boltzmann Machine.

    Instances are created by the stack estimators and exposed, fitted, in
    their ``layers_`` attribute. The arrays may be read (and, with care,
    modified) by users.

    The energy of a joint state is ``E(v, h) = e_v(v / s) + e_h(h) -
    (v / s) @ W @ h``, where ``e_v`` and ``e_h`` are the unit types' own
    terms with the biases (``-b @ v`` for binary units, ``(v - b)**2 / 2``
    for Gaussian ones, with ``b / s`` for ``b``) and ``s`` the visible
    standard deviations (1 unless ``visible_log_std`` is given).

    Parameters
    ----------
    weights : ndarray of shape (n_visible, n_hidden)
        Symmetric connection weights between visible and hidden units.
    visible_bias : ndarray of shape (n_visible,)
        Biases of the visible units (for Gaussian units: their means when
        the hidden units are off, in the data's units).
    hidden_bias : ndarray of shape (n_hidden,)
        Biases of the hidden units.
    visible_units : {"bernoulli", "gaussian", "relu"}, default="bernoulli"
        Type of the visible units, a key of ``skdbn._units.UNIT_TYPES``.
    hidden_units : {"bernoulli", "gaussian", "relu"}, default="bernoulli"
        Type of the hidden units.
    visible_log_std : ndarray of shape (n_visible,), default=None
        Log standard deviation ``log s`` of each Gaussian visible unit,
        learned with the other parameters; None means unit variance.
    visible_layout : ndarray of int, default=None
        With ``visible_units="mixed"``, the blocks of visible units:
        ``[n_gaussian, n_bernoulli, size_1, size_2, ...]``, Gaussian units
        first, then Bernoulli units, then one softmax group per categorical
        column (see ``TabularRBMStack``). None for the other unit types.

    Attributes
    ----------
    history : list of dict
        One record per training epoch (see ``BernoulliRBMStack``), appended
        to by the trainer.
    n_visible : int
        Number of visible units.
    n_hidden : int
        Number of hidden units.

    See Also
    --------
    BernoulliRBMStack : Trains a stack of these layers; see its ``layers_``.
    GaussianRBMStack : The same, for real-valued data.

    Examples
    --------
    >>> import numpy as np
    >>> from skdbn import RBMLayer
    >>> layer = RBMLayer(np.zeros((3, 2)), np.zeros(3), np.zeros(2))
    >>> layer.hidden_mean(np.ones((1, 3)))
    array([[0.5, 0.5]])
    >>> layer.free_energy(np.ones((1, 3)))  # -2 log 2
    array([-1.38629436])

    Visible states may be NaN: a missing unit is left out of the hidden
    fields, the free energy and the training statistics.

    >>> layer.free_energy(np.array([[1.0, np.nan, 1.0]]))  # -2 log 2 still
    array([-1.38629436])
    """

    #: Layers saved before mixed visible units existed have none.
    visible_layout = None

    def __init__(
        self,
        weights,
        visible_bias,
        hidden_bias,
        visible_units="bernoulli",
        hidden_units="bernoulli",
        visible_log_std=None,
        visible_layout=None,
    ):
        self.weights = weights
        self.visible_bias = visible_bias
        self.hidden_bias = hidden_bias
        self.visible_units = visible_units
        self.hidden_units = hidden_units
        self.visible_log_std = visible_log_std
        if visible_layout is not None:
            self.visible_layout = np.asarray(visible_layout, dtype=np.int64)
        self.history = []

    @property
    def visible_type(self):
        """The unit type of the visible units (a class, or ``MixedUnits``)."""
        if self.visible_units == MIXED:
            return mixed_units(tuple(int(n) for n in self.visible_layout))
        return get_unit_type(self.visible_units)

    @property
    def n_visible(self):
        return self.weights.shape[0]

    @property
    def n_hidden(self):
        return self.weights.shape[1]

    @property
    def parameters(self):
        """The trainable arrays: weights, visible and hidden bias[, log std]."""
        arrays = (self.weights, self.visible_bias, self.hidden_bias)
        if self.visible_log_std is not None:
            arrays += (self.visible_log_std,)
        return arrays

    @property
    def visible_std(self):
        """Standard deviations ``s`` of the visible units, or None (all 1)."""
        if self.visible_log_std is None:
            return None
        return np.exp(self.visible_log_std)

    @property
    def input_weights(self):
        """Weights seen by unscaled visible states: ``W / s`` row by row.

        The hidden field is ``v @ input_weights + c``; a feed-forward network
        built from the layer uses these as its first weights.
        """
        std = self.visible_std
        return self.weights if std is None else self.weights / std[:, np.newaxis]

    def __repr__(self):
        return (
            f"RBMLayer(n_visible={self.n_visible}, n_hidden={self.n_hidden}, "
            f"visible_units={self.visible_units!r}, "
            f"hidden_units={self.hidden_units!r})"
        )

    def _scaled_visible_bias(self):
        std = self.visible_std
        return self.visible_bias if std is None else self.visible_bias / std

    def hidden_field(self, V):
        """Compute the total input ``(V / s) @ W + c`` of each hidden unit.

        Parameters
        ----------
        V : {ndarray, sparse matrix} of shape (n_samples, n_visible)
            Visible states, one row per sample; NaN marks a missing unit,
            which is left out of the sum.

        Returns
        -------
        field : ndarray of shape (n_samples, n_hidden)
            The hidden units' fields.
        """
        field = np.asarray(fill_missing(V) @ self.input_weights)
        field += self.hidden_bias
        return field

    def visible_field(self, H):
        """Compute the total input ``H @ W.T + b / s`` of each visible unit.

        Parameters
        ----------
        H : ndarray of shape (n_samples, n_hidden)
            Hidden states (or activities), one row per sample.

        Returns
        -------
        field : ndarray of shape (n_samples, n_visible)
            The visible units' fields, in units of their standard deviations.
        """
        field = H @ self.weights.T
        field += self._scaled_visible_bias()
        return field

    def hidden_mean(self, V):
        """Compute the expected hidden states ``E[h | v]``.

        Parameters
        ----------
        V : {ndarray, sparse matrix} of shape (n_samples, n_visible)
            Visible states, one row per sample.

        Returns
        -------
        mean : ndarray of shape (n_samples, n_hidden)
            ``E[h | v]`` for each row (probabilities for binary units).
        """
        with np.errstate(over="ignore"):
            field = self.hidden_field(V)
            return get_unit_type(self.hidden_units).mean(field, out=field)

    def visible_mean(self, H):
        """Compute the expected visible states ``E[v | h]``.

        Parameters
        ----------
        H : ndarray of shape (n_samples, n_hidden)
            Hidden states (or activities), one row per sample.

        Returns
        -------
        mean : ndarray of shape (n_samples, n_visible)
            ``E[v | h]`` for each row, in the data's units.
        """
        with np.errstate(over="ignore"):
            field = self.visible_field(H)
            mean = self.visible_type.mean(field, out=field)
        return self._unscale(mean)

    def _unscale(self, V):
        std = self.visible_std
        if std is not None:
            V *= std
        return V

    def reconstruct(self, V):
        """Reconstruct ``V`` by a deterministic up-down pass, ``E[v | E[h | v]]``.

        Parameters
        ----------
        V : {ndarray, sparse matrix} of shape (n_samples, n_visible)
            Visible states, one row per sample.

        Returns
        -------
        reconstruction : ndarray of shape (n_samples, n_visible)
            The mean-field reconstruction of each row.
        """
        return self.visible_mean(self.hidden_mean(V))

    def reconstruction_error(self, V):
        """Compute the mean squared error of the mean-field reconstruction.

        Parameters
        ----------
        V : {ndarray, sparse matrix} of shape (n_samples, n_visible)
            Visible states, one row per sample.

        Returns
        -------
        error : float
            Summed squared error per row, averaged over rows (NaN for no
            rows); missing (NaN) units are left out.
        """
        if V.shape[0] == 0:
            return np.nan
        diff = self.reconstruct(V) - _dense(V)
        if has_missing(diff):
            diff = fill_missing(diff)
        return float(np.einsum("ij,ij->", diff, diff) / V.shape[0])

    def monitoring_statistics(self, V):
        """``reconstruction_error(V)``, ``free_energy(V)`` and the hidden field.

        The training loop's monitoring after each epoch: the same values as
        the two methods (bit for bit), from one hidden field instead of two
        products. The field is returned for the saturation check.

        Parameters
        ----------
        V : {ndarray, sparse matrix} of shape (n_samples, n_visible)
            Visible states, one row per sample (at least one).

        Returns
        -------
        error : float
            As :meth:`reconstruction_error`.
        free_energy : ndarray of shape (n_samples,)
            As :meth:`free_energy`.
        field : ndarray of shape (n_samples, n_hidden)
            As :meth:`hidden_field`.
        """
        hidden = get_unit_type(self.hidden_units)
        field = self.hidden_field(V)
        with np.errstate(over="ignore"):
            mean = hidden.mean(field, out=np.empty_like(field))
        diff = self.visible_mean(mean)
        diff -= _dense(V)
        if has_missing(diff):
            diff = fill_missing(diff)
        error = float(np.einsum("ij,ij->", diff, diff) / V.shape[0])
        return error, self._free_energy_from_field(V, field), field

    def free_energy(self, V):
        """Compute the free energy ``F(v) = -log sum_h exp(-E(v, h))``.

        ``exp(-F(v)) / Z`` is the model's probability (density) of ``v``;
        ``F`` is exact (no sampling) and computed with ``logaddexp`` for
        stability. Missing (NaN) units are left out of the energy: ``F`` is
        then the free energy of the RBM restricted to the observed units.

        Parameters
        ----------
        V : {ndarray, sparse matrix} of shape (n_samples, n_visible)
            Visible states, one row per sample.

        Returns
        -------
        free_energy : ndarray of shape (n_samples,)
            ``F`` of each row.
        """
        return self._free_energy_from_field(V, None)

    def _free_energy_from_field(self, V, field):
        """``free_energy(V)``, given ``hidden_field(V)`` (None: computed here)."""
        visible = self.visible_type
        hidden = get_unit_type(self.hidden_units)
        observed = None
        if has_missing(V):
            observed, V = observed_mask(V), fill_missing(V)
        std = self.visible_std
        scaled = V if std is None else _dense(V) / std
        energy = visible.visible_energy(
            scaled, self._scaled_visible_bias(), observed=observed
        )
        if field is None:
            field = self.hidden_field(V)
        return energy - hidden.log_partition(field, self.hidden_bias)

    def hidden_free_energy(self, H):
        """Compute the free energy of hidden states, ``-log sum_v exp(-E(v, h))``.

        The mirror image of :meth:`free_energy`: the visible units summed (or,
        for real-valued units, integrated) out, so that ``exp(-F(h)) / Z`` is
        the model's probability of the hidden states ``h``. Integrating over
        ``v`` rather than ``v / s`` contributes ``-sum log s``.

        Parameters
        ----------
        H : ndarray of shape (n_samples, n_hidden)
            Hidden states (or activities), one row per sample.

        Returns
        -------
        free_energy : ndarray of shape (n_samples,)
            ``F(h)`` of each row.
        """
        visible = self.visible_type
        hidden = get_unit_type(self.hidden_units)
        energy = hidden.visible_energy(H, self.hidden_bias) - visible.log_partition(
            self.visible_field(H), self._scaled_visible_bias()
        )
        if self.visible_log_std is not None:
            energy -= self.visible_log_std.sum()
        return energy

    def sample_hidden(self, V, rng):
        """Draw hidden states from ``p(h | v)``.

        Parameters
        ----------
        V : {ndarray, sparse matrix} of shape (n_samples, n_visible)
            Visible states, one row per sample.
        rng : numpy.random.Generator
            Source of the random draws.

        Returns
        -------
        H : ndarray of shape (n_samples, n_hidden)
            One draw per row.
        """
        units = get_unit_type(self.hidden_units)
        with np.errstate(over="ignore"):
            return sample_from_field(units, self.hidden_field(V), rng)

    def sample_visible(self, H, rng):
        """Draw visible states from ``p(v | h)``.

        Parameters
        ----------
        H : ndarray of shape (n_samples, n_hidden)
            Hidden states (or activities), one row per sample.
        rng : numpy.random.Generator
            Source of the random draws.

        Returns
        -------
        V : ndarray of shape (n_samples, n_visible)
            One draw per row, in the data's units.
        """
        units = self.visible_type
        with np.errstate(over="ignore"):
            return self._unscale(sample_from_field(units, self.visible_field(H), rng))

    def is_finite(self):
        """Check that every parameter, and every standard deviation, is finite.

        Returns
        -------
        finite : bool
            False once training has run away to inf or NaN.
        """
        finite = all(np.isfinite(p).all() for p in self.parameters)
        return finite and (
            self.visible_log_std is None or np.isfinite(self.visible_std).all()
        )

    def enforce_constraints(self):
        """Raise learned standard deviations that fell below ``MIN_VISIBLE_STD``.

        The trainer calls it after each update; it does nothing for layers
        without learned standard deviations.
        """
        if self.visible_log_std is not None:
            np.maximum(
                self.visible_log_std, LOG_MIN_VISIBLE_STD, out=self.visible_log_std
            )


def initial_layer(
    n_visible,
    n_hidden,
    visible_mean,
    rng,
    dtype,
    units,
    visible_std=None,
    visible_layout=None,
):
    """A fresh RBM initialised as Hinton's practical guide (2010) recommends.

    Weights are drawn from N(0, 0.01^2); hidden biases start at zero; visible
    biases where the visible unit type puts the data's mean
    (``log(p / (1 - p))`` for binary units), so that the visible units start
    at the data's marginals. Standard deviations are learned when
    ``visible_std`` (the data's, per feature) is given, and start there (or
    at ``MIN_VISIBLE_STD`` if smaller). ``visible_layout``: the blocks of
    mixed visible units (``visible_units="mixed"``).
    """
    visible_units, hidden_units = units
    weights = (0.01 * rng.standard_normal((n_visible, n_hidden))).astype(dtype)
    visible_type = (
        mixed_units(tuple(int(n) for n in visible_layout))
        if visible_units == MIXED
        else get_unit_type(visible_units)
    )
    visible_bias = visible_type.initial_bias(visible_mean).astype(dtype)
    hidden_bias = np.zeros(n_hidden, dtype=dtype)
    log_std = None
    if visible_std is not None:
        std = np.maximum(np.asarray(visible_std, dtype=np.float64), MIN_VISIBLE_STD)
        log_std = np.log(std).astype(dtype)
    return RBMLayer(
        weights,
        visible_bias,
        hidden_bias,
        visible_units,
        hidden_units,
        log_std,
        visible_layout,
    )
