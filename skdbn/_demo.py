"""``python -m skdbn demo``: RBM features for a linear classifier, on digits.

On scikit-learn's bundled 8x8 digits scaled to ``[0, 1]``, the demo fits a
``Pipeline(BernoulliRBMStack, LogisticRegression)`` and compares its test
accuracy with logistic regression on the raw pixels and with scikit-learn's
own ``BernoulliRBM`` pipeline given the same budget (hidden units, epochs,
minibatch size, learning rate). Every model's ``C`` is chosen the same way,
by cross-validation on the training split only; the test split is used once,
to score. It prints what it measured, whoever wins, and writes figures of
the fitted stack when matplotlib is installed.

A ``DBNClassifier`` with the same RBM, fine-tuned by back-propagation, shows
what supervised fine-tuning adds. The models compared are the entries of
``MODELS``: adding one is one more ``DemoModel`` there.
"""

import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import BernoulliRBM
from sklearn.pipeline import Pipeline

from ._classifier import DBNClassifier
from ._stack import BernoulliRBMStack
from .datasets import load_digits_01

DEFAULT_OUTPUT_DIR = "skdbn_demo_figures"


@dataclass(frozen=True)
class Budget:
    """The training budget shared by the models of one demo run."""

    n_hidden: int = 512
    n_epochs: int = 30
    batch_size: int = 20
    learning_rate: float = 0.1
    #: Back-propagation epochs of the DBNClassifier after the same pre-training.
    finetune_epochs: int = 40
    #: Candidate values of LogisticRegression's C, chosen by CV on training data.
    Cs: tuple = (0.1, 1.0, 10.0, 100.0, 1000.0)
    cv: int = 3
    test_size: float = 0.2
    random_state: int = 0
    #: Gibbs steps in the top RBM for the samples figure.
    sample_steps: int = 1000
    n_samples_shown: int = 30


#: The demo's settings, picked among a few by accuracy on a validation split
#: carved out of the training split.
FULL = Budget()
#: A seconds-long run for the tests: the same code, tiny models.
QUICK = Budget(
    n_hidden=32,
    n_epochs=2,
    finetune_epochs=2,
    Cs=(1.0,),
    cv=2,
    sample_steps=10,
    n_samples_shown=10,
)


def _classifier(budget):
    """LogisticRegression whose C is picked by CV on the data it is fitted on."""
    return GridSearchCV(
        LogisticRegression(max_iter=5000), {"C": list(budget.Cs)}, cv=budget.cv
    )


def _raw_pixels(budget):
    return Pipeline([("logistic", _classifier(budget))])


def _sklearn_rbm(budget):
    rbm = BernoulliRBM(
        n_components=budget.n_hidden,
        learning_rate=budget.learning_rate,
        batch_size=budget.batch_size,
        n_iter=budget.n_epochs,
        random_state=budget.random_state,
    )
    return Pipeline([("rbm", rbm), ("logistic", _classifier(budget))])


def _rbm_stack(budget):
    stack = BernoulliRBMStack(
        hidden_layer_sizes=(budget.n_hidden,),
        learning_rate=budget.learning_rate,
        n_epochs=budget.n_epochs,
        batch_size=budget.batch_size,
        random_state=budget.random_state,
    )
    return Pipeline([("stack", stack), ("logistic", _classifier(budget))])


def _dbn_classifier(budget):
    return DBNClassifier(
        hidden_layer_sizes=(budget.n_hidden,),
        learning_rate=budget.learning_rate,
        n_epochs=budget.n_epochs,
        batch_size=budget.batch_size,
        max_iter=budget.finetune_epochs,
        random_state=budget.random_state,
    )


@dataclass(frozen=True)
class DemoModel:
    """One model of the comparison: a label and a builder ``budget -> estimator``."""

    name: str
    build: object
    note: str = ""


MODELS = [
    DemoModel("logistic regression on raw pixels", _raw_pixels),
    DemoModel(
        "sklearn BernoulliRBM + logistic regression",
        _sklearn_rbm,
        "plain CD-1, no momentum or weight decay",
    ),
    DemoModel(
        "skdbn BernoulliRBMStack + logistic regression",
        _rbm_stack,
        "CD-1 with momentum and weight decay",
    ),
    DemoModel(
        "skdbn DBNClassifier (same RBM, fine-tuned)",
        _dbn_classifier,
        "the stack's RBM, then back-propagation with a softmax output",
    ),
]


@dataclass
class Result:
    model: DemoModel
    estimator: object
    accuracy: float
    fit_seconds: float
    C: float = field(default=np.nan)


def _find_stack(estimator):
    """The fitted BernoulliRBMStack inside ``estimator``, or None."""
    if isinstance(estimator, BernoulliRBMStack):
        return estimator
    for _, step in getattr(estimator, "steps", []):
        found = _find_stack(step)
        if found is not None:
            return found
    return None


def _limit_blas_threads():
    """Run BLAS single-threaded: the demo's matrices are too small to gain.

    With minibatches of 10 rows, threaded BLAS spends more time
    synchronising than computing, and on a busy machine it can be many
    times slower. threadpoolctl comes with scikit-learn.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - a dependency of scikit-learn
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def run_demo(output_dir=DEFAULT_OUTPUT_DIR, *, quick=False, out=None):
    """Run the comparison, print it to ``out`` and write the figures.

    Parameters
    ----------
    output_dir : str or path-like, default="skdbn_demo_figures"
        Folder for the figures (created if needed).
    quick : bool, default=False
        Tiny models, for the tests: seconds instead of a minute, and
        accuracies that mean nothing.
    out : file-like, default=None
        Where to print; ``sys.stdout`` when None.

    Returns
    -------
    results : list of Result
        One per entry of ``MODELS``, in order.
    """
    out = sys.stdout if out is None else out
    with _limit_blas_threads():
        return _run(Path(output_dir), QUICK if quick else FULL, quick, out)


def _run(output_dir, budget, quick, out):
    start = time.perf_counter()

    def say(*lines):
        for line in lines:
            print(line, file=out)
        out.flush()

    X, y = load_digits_01(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X,
        y,
        test_size=budget.test_size,
        stratify=y,
        random_state=budget.random_state,
    )
    say(
        "skdbn demo: are RBM features worth it for a linear classifier?"
        + ("  [--quick: tiny models, the numbers mean nothing]" if quick else ""),
        "",
        f"Data: scikit-learn's digits, {X.shape[0]} images of 8x8 pixels, "
        "divided by 16 to lie in [0, 1];",
        f"      stratified {1 - budget.test_size:.0%}/{budget.test_size:.0%} split "
        f"(random_state={budget.random_state}): {len(y_train)} training, "
        f"{len(y_test)} test images.",
        "Classifier: LogisticRegression on the pixels or the RBM features, its C "
        f"chosen by {budget.cv}-fold CV",
        f"      on the training split only, from {list(budget.Cs)}; the "
        "DBNClassifier has its own softmax layer.",
        f"Same RBM budget for all: {budget.n_hidden} binary hidden units, "
        f"{budget.n_epochs} epochs, minibatches of {budget.batch_size}, "
        f"learning rate {budget.learning_rate};",
        f"      the DBNClassifier then fine-tunes for {budget.finetune_epochs} "
        "epochs (Adam). The test split is scored once.",
        "",
    )

    results = []
    for model in MODELS:
        estimator = model.build(budget)
        tic = time.perf_counter()
        with warnings.catch_warnings():
            # The fixed fine-tuning budget is the point, not convergence.
            warnings.simplefilter("ignore", ConvergenceWarning)
            estimator.fit(X_train, y_train)
        seconds = time.perf_counter() - tic
        accuracy = float(estimator.score(X_test, y_test))
        search = estimator[-1] if hasattr(estimator, "steps") else estimator
        C = getattr(search, "best_params_", {}).get("C", np.nan)
        results.append(Result(model, estimator, accuracy, seconds, C))

    width = max(len(r.model.name) for r in results)
    say(f"{'model':<{width}}  test accuracy   errors       C  fit time")
    for r in results:
        n_wrong = int(round((1 - r.accuracy) * len(y_test)))
        say(
            f"{r.model.name:<{width}}  {r.accuracy:13.4f}  {n_wrong:3d}/{len(y_test)}"
            f"  {'-' if np.isnan(r.C) else format(r.C, 'g'):>6}  {r.fit_seconds:7.1f} s"
        )
    say("(fit time includes the search over C.)", "")

    stack_result = next(
        (r for r in results if _find_stack(r.estimator) is not None), None
    )
    if stack_result is not None:
        stack = _find_stack(stack_result.estimator)
        say(*_describe_stack(stack, X_train, X_test), "")
    say(*_verdict(results, len(y_test), quick), "")

    if stack_result is not None:
        say(*_write_figures(stack, X_test, budget, output_dir))
    say(f"Total time: {time.perf_counter() - start:.1f} s.")
    return results


def _describe_stack(stack, X_train, X_test):
    sizes = " -> ".join(
        [str(stack.n_features_in_)] + [str(layer.n_hidden) for layer in stack.layers_]
    )
    lines = [f"What the BernoulliRBMStack learned (layers {sizes}):"]
    data = X_test
    # What predicting every pixel's training mean would score: the scale
    # against which a reconstruction error means something.
    baseline = float(((X_test - X_train.mean(axis=0)) ** 2).sum(axis=1).mean())
    for index, layer in enumerate(stack.layers_, start=1):
        last = layer.history[-1] if layer.history else {}
        test_error = layer.reconstruction_error(data)
        line = (
            f"  layer {index}: {len(layer.history)} epochs, squared reconstruction "
            f"error per image {last.get('reconstruction_error', np.nan):.3f} "
            f"(training), {test_error:.3f} (test)"
        )
        if index == 1:
            line += f";\n           the mean training image scores {baseline:.3f}"
        lines.append(line)
        data = layer.hidden_mean(data)
    H = data
    unit_mean = H.mean(axis=0)
    lines.append(
        f"  features on test images: mean activation {H.mean():.3f}; "
        f"{(H > 0.5).mean():.1%} of them above 0.5 per image;"
    )
    lines.append(
        f"  {(unit_mean < 0.01).mean():.1%} of the units almost never on (<0.01), "
        f"{(unit_mean > 0.99).mean():.1%} almost always on (>0.99)."
    )
    return lines


def _verdict(results, n_test, quick):
    if quick:
        return ["Verdict: none; --quick models are too small to compare."]
    best = max(results, key=lambda r: r.accuracy)
    lines = [f"Verdict: best test accuracy {best.accuracy:.4f}, {best.model.name}."]
    raw = next((r for r in results if r.model.build is _raw_pixels), None)
    if raw is None:
        return lines
    for r in results:
        if r is raw:
            continue
        n = int(round((raw.accuracy - r.accuracy) * n_test))
        if n == 0:
            how = "as many errors as raw pixels"
        else:
            errors = "error" if abs(n) == 1 else "errors"
            how = f"{abs(n)} {'more' if n > 0 else 'fewer'} {errors} than raw pixels"
        lines.append(f"  {r.model.name}: {how}.")
    if all(r.accuracy <= raw.accuracy for r in results):
        lines.append(
            "  No RBM pipeline beats logistic regression on the raw pixels: on these"
            " 8x8 digits,"
        )
        lines.append(
            "  unsupervised RBM features do not earn their place for a linear "
            "classifier."
        )
    noise = np.sqrt(raw.accuracy * (1 - raw.accuracy) * n_test)
    lines.append(
        f"  (A test set of {n_test} images cannot separate models a few errors apart:"
    )
    lines.append(f"  one standard error is about {noise:.0f} errors.)")
    return lines


def _write_figures(stack, X_test, budget, output_dir):
    try:
        from matplotlib.figure import Figure

        from .plotting import (
            plot_filters,
            plot_images,
            plot_learning_curves,
        )
    except ImportError:
        return [
            "Figures: skipped, matplotlib is not installed; "
            'pip install "skdbn[plot]" to get them.'
        ]
    output_dir.mkdir(parents=True, exist_ok=True)
    image_shape = (8, 8)
    originals = X_test[:10]
    reconstructions = stack.inverse_transform(stack.transform(originals))
    samples = stack.sample(
        budget.n_samples_shown,
        n_steps=budget.sample_steps,
        random_state=budget.random_state,
    )
    figures = {
        "filters.png": plot_filters(stack, image_shape, n_filters=100, fig=Figure()),
        "reconstructions.png": plot_images(
            np.vstack([originals, reconstructions]),
            image_shape,
            n_cols=10,
            row_labels=["test image", "reconstructed"],
            title="Test digits and their reconstructions (up and down the stack)",
            fig=Figure(),
        ),
        "samples.png": plot_images(
            samples,
            image_shape,
            n_cols=10,
            title=f"Samples: {budget.sample_steps} Gibbs steps from the stack",
            fig=Figure(),
        ),
        "learning_curves.png": plot_learning_curves(stack, fig=Figure()),
    }
    for name, fig in figures.items():
        fig.savefig(output_dir / name, dpi=100)
    return [
        f"Figures: written to {os.fspath(output_dir)}{os.sep}: "
        + ", ".join(figures)
        + "."
    ]
