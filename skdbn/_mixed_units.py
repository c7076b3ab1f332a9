"""Visible units of mixed types, one block per kind, and missing values.

A table's columns are modelled by units of different types in one RBM:
Gaussian units (unit variance) for standardised numbers, Bernoulli units for
binary columns and one softmax group per categorical column, of which
exactly one unit is on (the column's one-hot code). :class:`MixedUnits` is a
composite unit type that owns the column slices of each kind and offers the
interface of the unit classes of ``_units.py`` (means, samples, free-energy
terms, initial biases), so that the RBM maths of ``_rbm.py`` stays the same.

The units are laid out in blocks: ``n_gaussian`` Gaussian units first, then
``n_bernoulli`` Bernoulli units, then the softmax groups one after the other.
The layout is stored as one integer array, ``[n_gaussian, n_bernoulli,
size_1, size_2, ...]`` (``RBMLayer.visible_layout``).

Missing values are NaN in the visible states. A missing unit is left out of
the energy: it sends nothing to the hidden units, adds no term to the free
energy and no statistic to the gradient, so that each row is modelled by
the RBM restricted to its observed units, with weights shared by all rows
(as the RBMs for collaborative filtering of Salakhutdinov, Mnih & Hinton
2007 treat unrated items). :func:`observed_mask` and :func:`fill_missing`
are the two helpers the maths uses.
"""

from functools import lru_cache

import numpy as np
import scipy.sparse as sp

from ._units import BernoulliUnits

#: Name of the composite unit type (``RBMLayer.visible_units``).
MIXED = "mixed"


def has_missing(X):
    """Whether dense float ``X`` may hold a NaN (sparse input never does here).

    Tested on the sum, one pass without a temporary: a NaN anywhere makes
    it NaN. Infinities of both signs would too (a false alarm, which only
    costs the masked path); validated input has none.
    """
    if sp.issparse(X):
        return False
    X = np.asarray(X)
    if X.dtype.kind != "f":
        return False
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isnan(X.sum()))


def observed_mask(X):
    """``1.0`` where ``X`` is observed, ``0.0`` where it is NaN, in ``X``'s dtype."""
    return (~np.isnan(X)).astype(X.dtype)


def fill_missing(X):
    """``X`` with its NaNs replaced by 0 (a copy; ``X`` itself when none).

    Zero is what leaves a unit out of the hidden field ``v @ W`` and out of
    the linear energy terms; the Gaussian units' quadratic term is masked
    separately (see ``visible_energy``).
    """
    if not has_missing(X):
        return X
    return np.where(np.isnan(X), 0, X).astype(X.dtype, copy=False)


def check_layout(layout, n_visible=None):
    """The layout as a tuple of ints, or a ValueError naming the problem."""
    layout = np.asarray(layout)
    if (
        layout.ndim != 1
        or layout.size < 2
        or layout.dtype.kind not in "iu"
        or (layout[:2] < 0).any()
        or (layout[2:] < 1).any()
    ):
        raise ValueError(
            "A mixed visible layout is [n_gaussian, n_bernoulli, size_1, ...] "
            f"with counts >= 0 and group sizes >= 1; got {layout!r}."
        )
    if n_visible is not None and int(layout.sum()) != n_visible:
        raise ValueError(
            f"The mixed visible layout {layout.tolist()} has {int(layout.sum())} "
            f"units, but the layer has {n_visible} visible units."
        )
    return tuple(int(n) for n in layout)


@lru_cache(maxsize=64)
def mixed_units(layout):
    """The (cached) :class:`MixedUnits` of a layout given as a tuple of ints."""
    return MixedUnits(layout)


class MixedUnits:
    """Gaussian, Bernoulli and softmax visible units side by side.

    Given its field ``x``, a Gaussian unit is ``N(x, 1)``, a Bernoulli unit
    is on with probability ``sigmoid(x)``, and in a softmax group exactly one
    unit is on, unit ``k`` with probability ``exp(x_k) / sum_j exp(x_j)``.
    Energy terms with bias ``b``: ``(v - b)**2 / 2`` for Gaussian units and
    ``-b v`` for the others.

    Parameters
    ----------
    layout : sequence of int
        ``[n_gaussian, n_bernoulli, size_1, size_2, ...]``: the number of
        units of each block, the softmax groups' sizes last.
    """

    name = MIXED
    #: Reconstructions of the Gaussian units are unbounded.
    bounded = False
    network_activation = "identity"

    def __init__(self, layout):
        self.layout = check_layout(layout)
        n_gaussian, n_bernoulli, *sizes = self.layout
        self.gaussian = slice(0, n_gaussian)
        self.bernoulli = slice(n_gaussian, n_gaussian + n_bernoulli)
        start = n_gaussian + n_bernoulli
        self.softmax = slice(start, start + sum(sizes))
        self.group_sizes = np.asarray(sizes, dtype=np.intp)
        # Offsets of the groups within the softmax block, and each unit's group.
        self.group_starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
        self.group_of = np.repeat(np.arange(len(sizes)), sizes)
        self.n_units = start + sum(sizes)

    # -- means ---------------------------------------------------------------

    def mean(self, field, out):
        """Store ``E[v | field]`` in ``out`` (which may be ``field``).

        Gaussian units take their field, Bernoulli units its sigmoid and
        each softmax group its softmax.
        """
        if out is not field:
            np.copyto(out, field)
        if self.bernoulli.stop > self.bernoulli.start:
            block = out[:, self.bernoulli]
            block[...] = BernoulliUnits.mean(block, out=np.empty_like(block))
        if len(self.group_sizes):
            out[:, self.softmax] = self._softmax(out[:, self.softmax])
        return out

    def _softmax(self, block):
        """Softmax of each group of the softmax block (a new array)."""
        block = np.array(block)
        starts, group_of = self.group_starts, self.group_of
        block -= np.maximum.reduceat(block, starts, axis=1)[:, group_of]
        np.exp(block, out=block)
        block /= np.add.reduceat(block, starts, axis=1)[:, group_of]
        return block

    def mean_from_product(self, product, negated_bias, out, scale=None):
        """Store ``scale * E[v | product + bias]`` in ``out``."""
        np.subtract(product, negated_bias, out=out)
        self.mean(out, out)
        if scale is not None:
            out *= scale
        return out

    # -- sampling ------------------------------------------------------------

    def mean_and_sample(
        self, product, negated_bias, rng, mean_out, sample_out, scratch
    ):
        """Means into ``mean_out`` and draws into ``sample_out``.

        The Gaussian units' draws need their field, which is their mean; the
        other units are drawn from their probabilities. ``scratch`` is not
        used (the draws of each block are allocated).
        """
        self.mean_from_product(product, negated_bias, out=mean_out)
        return self.sample(mean_out, rng, sample_out)

    def sample(self, mean, rng, out):
        """Draw states with means ``mean`` into ``out`` (not ``mean``).

        Gaussian units ``N(mean, 1)``, Bernoulli units on with probability
        ``mean``, and one unit on per softmax group, unit ``k`` with
        probability ``mean[k]``. Draws are float32, as for the other units.
        """
        n_rows = mean.shape[0]
        gaussian, bernoulli, softmax = self.gaussian, self.bernoulli, self.softmax
        n_gaussian = gaussian.stop
        if n_gaussian:
            noise = rng.standard_normal((n_rows, n_gaussian), dtype=np.float32)
            np.add(mean[:, gaussian], noise, out=out[:, gaussian])
        n_bernoulli = bernoulli.stop - bernoulli.start
        if n_bernoulli:
            uniforms = rng.random((n_rows, n_bernoulli), dtype=np.float32)
            np.less(uniforms, mean[:, bernoulli], out=out[:, bernoulli])
        if len(self.group_sizes):
            out[:, softmax] = self._sample_groups(mean[:, softmax], rng)
        return out

    def _sample_groups(self, probabilities, rng):
        """One-hot draws of each softmax group from its probabilities.

        Unit ``k`` of a group is on when ``C_{k-1} <= t < C_k``, where ``C``
        are the cumulative sums within the group and ``t`` is uniform on
        ``[0, C_last)``: exactly one unit per group, whatever the rounding.
        """
        n_rows = probabilities.shape[0]
        starts, group_of = self.group_starts, self.group_of
        cumulative = np.cumsum(probabilities, axis=1, dtype=np.float64)
        # Cumulative sums within each group: subtract the sum before it.
        before = np.concatenate(
            [np.zeros((n_rows, 1)), cumulative[:, starts[1:] - 1]], axis=1
        )
        cumulative -= before[:, group_of]
        previous = np.empty_like(cumulative)
        previous[:, 1:] = cumulative[:, :-1]
        previous[:, starts] = 0.0
        ends = np.append(starts[1:], cumulative.shape[1]) - 1
        uniforms = rng.random((n_rows, len(starts)), dtype=np.float32)
        threshold = (uniforms * cumulative[:, ends])[:, group_of]
        on = (previous <= threshold) & (threshold < cumulative)
        return on.astype(probabilities.dtype)

    # -- free energy -----------------------------------------------------------

    def log_partition(self, field, bias):
        """Sum over units of the log of each unit's sum (integral) of ``exp(-E)``.

        Gaussian units contribute ``(x**2 - b**2) / 2 + log(2 pi) / 2`` (see
        ``GaussianUnits``), Bernoulli units ``log(1 + exp(x))`` and each
        softmax group ``log sum_k exp(x_k)``; one value per row.
        """
        field = np.asarray(field, dtype=np.float64)
        bias = np.asarray(bias, dtype=np.float64)
        g, b, s = self.gaussian, self.bernoulli, self.softmax
        total = 0.5 * (
            np.einsum("ij,ij->i", field[:, g], field[:, g]) - bias[g] @ bias[g]
        )
        total += 0.5 * np.log(2 * np.pi) * g.stop
        total += np.logaddexp(0.0, field[:, b]).sum(axis=1)
        if len(self.group_sizes):
            block = field[:, s]
            largest = np.maximum.reduceat(block, self.group_starts, axis=1)
            shifted = np.exp(block - largest[:, self.group_of])
            sums = np.add.reduceat(shifted, self.group_starts, axis=1)
            total += (np.log(sums) + largest).sum(axis=1)
        return total

    def visible_energy(self, X, bias, observed=None):
        """Energy terms of visible states that do not involve the weights.

        ``sum (x - b)**2 / 2`` over the Gaussian units and ``-b @ x`` over
        the others, one value per row. ``observed`` (1 where a unit is
        observed, 0 where missing) leaves the missing Gaussian units out;
        the others are left out by their state 0.
        """
        X = X.toarray() if sp.issparse(X) else np.asarray(X)
        g = self.gaussian
        diff = X[:, g] - bias[g]
        if observed is not None:
            diff *= observed[:, g]
        energy = 0.5 * np.einsum("ij,ij->i", diff, diff)
        rest = slice(g.stop, self.n_units)
        energy -= X[:, rest] @ bias[rest]
        return energy

    def initial_bias(self, data_mean):
        """Biases that put each unit at the data's marginal.

        The mean for Gaussian units, ``log(p / (1 - p))`` for Bernoulli
        units and ``log p`` within each softmax group (``p`` clipped away
        from 0 and 1).
        """
        mean = np.asarray(data_mean, dtype=np.float64)
        bias = mean.copy()
        bias[self.bernoulli] = BernoulliUnits.initial_bias(mean[self.bernoulli])
        bias[self.softmax] = np.log(np.clip(mean[self.softmax], 1e-3, 1.0))
        return bias

    def check_visible_input(self, X, estimator_name):
        """Nothing to check: the column coding makes the input (see ``_columns``)."""
