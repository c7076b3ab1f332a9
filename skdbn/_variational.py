"""The variational code of ``DBNAutoencoder``: its prior, likelihood bound and samples.

With ``variational=True`` the code layer outputs a Gaussian posterior per row.
This mixin owns what follows from the prior over that code: the KL weight of
the warm-up, the optional RBM prior fitted to the codes (``_prior.py``), the
evidence lower bound (``score_samples``) and generation (``sample``). The
estimator (``_autoencoder.py``) owns the training loop.
"""

from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._available_if import available_if
from sklearn.utils.validation import check_is_fitted

from ._autoencoder_network import (
    _HALF_LOG_2PI,
    KL_TERMS,
    OUTPUTS,
)
from ._prior import (
    LAPLACE_SCALE,
    draw_codes,
    expected_log_prior_bound,
    fit_prior,
    log_prior,
    prior_log_partition,
    sample_prior,
)
from ._scaling import (
    log_scale_correction,
    unscale_output,
)


def _is_variational(estimator):
    return estimator.variational


class VariationalCodeMixin:
    """Prior, ELBO and sampling of a variational ``DBNAutoencoder``."""

    def _kl_weight_at(self, epoch):
        """The KL weight of fine-tuning epoch ``epoch`` (0-based), warm-up included."""
        if self.kl_warmup_epochs and epoch < self.kl_warmup_epochs:
            return self.kl_weight * (epoch + 1) / self.kl_warmup_epochs
        return self.kl_weight

    def _fit_prior(self, X):
        """Train the RBM prior on codes drawn from the posteriors of ``X``."""
        self.prior_ = self.prior_log_partition_ = None
        if self.prior != "rbm":
            return
        mean, log_var = self._network.encode(X, return_log_var=True)
        codes = draw_codes(mean, log_var, self._rng)
        seed = int(self._rng.integers(np.iinfo(np.int32).max))
        rng = np.random.default_rng(seed)
        self.prior_ = fit_prior(
            codes, self.prior_n_components, self.prior_n_epochs, rng, self.verbose
        )
        self.prior_log_partition_ = prior_log_partition(self.prior_, codes, seed)

    def _code_prior(self):
        """The prior the network was trained with: "gaussian" or "laplace"."""
        return getattr(self, "_training_prior", "gaussian")

    def _code_prior_scale(self):
        """The Laplace prior's scale the network was trained with, or None."""
        if self._code_prior() != "laplace":
            return None
        return getattr(self, "_laplace_scale", LAPLACE_SCALE)

    def _rbm_prior(self):
        """The fitted RBM prior, or None for the standard normal one."""
        return getattr(self, "prior_", None)

    def _elbo(self, X, n_draws=0, rng=None, rbm_prior=False):
        """The ELBO of each row; ``rbm_prior``: with the RBM prior, if fitted."""
        network = self._network
        mean, log_var = network.encode(X, return_log_var=True)
        prior = self._rbm_prior() if rbm_prior else None
        if prior is None:
            kl = KL_TERMS[self._code_prior()][0](
                mean, log_var, *filter(None, [self._code_prior_scale()])
            )
        else:
            # -KL(q || p) = E_q[log p(z)] + H(q), the entropy in closed form.
            entropy = 0.5 * (log_var.astype(np.float64) + 1.0 + 2 * _HALF_LOG_2PI)
            kl = -entropy.sum(axis=1)
            if n_draws == 0:
                kl -= expected_log_prior_bound(
                    prior, self.prior_log_partition_, mean, log_var
                )
        # The log-Jacobian of the input scaling makes it a density of the input.
        constant = OUTPUTS[self.visible_units_][2] * X.shape[1]
        constant += log_scale_correction(self)
        if n_draws == 0:
            log_lik = -network.reconstruction_loss(network.decode_logits(mean), X)
        else:
            std = np.exp(0.5 * log_var)
            log_lik = np.zeros(X.shape[0], dtype=np.float64)
            for _ in range(n_draws):
                noise = rng.standard_normal(mean.shape, dtype=mean.dtype)
                code = mean + std * noise
                logits = network.decode_logits(code)
                log_lik -= network.reconstruction_loss(logits, X)
                if prior is not None:
                    log_lik += log_prior(prior, self.prior_log_partition_, code)
            log_lik /= n_draws
        return log_lik - constant - kl

    @available_if(_is_variational)
    def score_samples(self, X, n_draws=0, random_state=None):
        """Evidence lower bound (ELBO) of each sample, in nats.

        ``E_q[log p(x | z)] - KL(q(z | x) || N(0, I))``, with ``q`` the
        encoder's posterior and ``p(x | z)`` the decoder's Bernoulli (cross-
        entropy) or unit-variance Gaussian likelihood; a lower bound of
        ``log p(x)`` up to the caveat of the Notes for grey levels. By
        default the expectation is approximated by the likelihood of the
        posterior mean, which is deterministic (the same sample always gets
        the same score); ``n_draws`` codes drawn from ``q`` give the
        unbiased Monte-Carlo estimate instead.

        With ``prior="rbm"`` the prior is the fitted RBM ``prior_``, ``log
        p(z) = -F(z) - prior_log_partition_``, and the bound is
        ``E_q[log p(x | z)] + E_q[log p(z)] + H(q)``, with the entropy ``H``
        of the posterior in closed form. By default ``E_q[log p(z)]`` is
        replaced by a lower bound, exact but for the softplus terms of
        ``-F``, taken at the posterior mean (Jensen's inequality: they are
        convex in ``z``); ``n_draws`` estimates it on the same draws as the
        likelihood. When the autoencoder scales
        its input (``visible_units="auto"``), ``sum(log(input_scale_))`` is
        subtracted, so that it bounds the log-density of the unscaled input.

        Only for ``variational=True``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to score.
        n_draws : int, default=0
            Codes drawn per sample for the Monte-Carlo estimate; 0 uses the
            posterior mean.
        random_state : int, RandomState instance or None, default=None
            Seed of the draws.

        Returns
        -------
        elbo : ndarray of shape (n_samples,)
            The ELBO of each sample; higher is better.
        """
        X = self._check_input(X)
        if not isinstance(n_draws, Integral) or n_draws < 0:
            raise ValueError(f"n_draws must be an integer >= 0, got {n_draws!r}.")
        rng = None
        if n_draws:
            seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
            rng = np.random.default_rng(seed)
        return self._elbo(X, int(n_draws), rng, rbm_prior=True)

    @available_if(_is_variational)
    def sample(self, n_samples=1, random_state=None, *, n_steps=1000):
        """Generate data: codes drawn from the prior, then decoded.

        The prior is ``N(0, I)``, or with ``prior="rbm"`` the fitted RBM
        ``prior_``: with up to 20 hidden units its samples are exact (a
        hidden state drawn from its marginal, all ``2**n`` states
        enumerated, then a code from ``p(z | h)``); larger RBMs run one
        Gibbs chain of ``n_steps`` steps per sample.

        Only for ``variational=True``.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        random_state : int, RandomState instance or None, default=None
            Seed of the codes.
        n_steps : int, default=1000
            Gibbs steps of each chain, for an RBM prior with more than 20
            hidden units (ignored otherwise).

        Returns
        -------
        X : ndarray of shape (n_samples, n_features_in_)
            The decoder's means ``E[x | z]`` (probabilities for Bernoulli
            visible units), in the input's units.
        """
        check_is_fitted(self, "_network")
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be an integer >= 1, got {n_samples!r}.")
        seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
        rng = np.random.default_rng(seed)
        network = self._network
        prior = self._rbm_prior()
        shape = (n_samples, network.n_components)
        if prior is None and self._code_prior() == "laplace":
            codes = rng.laplace(0.0, self._code_prior_scale(), shape)
        elif prior is None:
            codes = rng.standard_normal(shape)
        else:
            if not isinstance(n_steps, Integral) or n_steps < 0:
                raise ValueError(f"n_steps must be an integer >= 0, got {n_steps!r}.")
            codes = sample_prior(prior, n_samples, rng, int(n_steps))
        return unscale_output(self, network.decode(codes.astype(network.dtype)))
