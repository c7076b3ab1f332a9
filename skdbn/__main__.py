"""Command line: ``python -m skdbn demo`` (and ``bench`` in a source checkout).

``demo`` compares RBM features with raw pixels on scikit-learn's digits and
writes figures (see ``skdbn._demo``). ``bench`` exists only where the
source tree's ``benchmarks/bench_rbm_throughput.py`` does, and runs it.
"""

import argparse
import runpy
import sys
from pathlib import Path

#: The throughput benchmark of a source checkout (benchmarks are not installed).
BENCH_SCRIPT = (
    Path(__file__).resolve().parent.parent / "benchmarks" / "bench_rbm_throughput.py"
)


def build_parser():
    from ._demo import DEFAULT_OUTPUT_DIR

    parser = argparse.ArgumentParser(
        prog="python -m skdbn",
        description="Deep Belief Networks and RBMs for scikit-learn.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    demo = commands.add_parser(
        "demo",
        help="compare RBM features with raw pixels on the digits and plot them",
        description=(
            "Fit Pipeline(BernoulliRBMStack, LogisticRegression) on scikit-learn's "
            "digits, print its test accuracy beside logistic regression on raw "
            "pixels and scikit-learn's BernoulliRBM pipeline, and write figures "
            "when matplotlib is installed. About a minute or less."
        ),
    )
    demo.add_argument(
        "--output-dir",
        default=DEFAULT_OUTPUT_DIR,
        help="folder for the figures (default: %(default)s)",
    )
    demo.add_argument(
        "--quick",
        action="store_true",
        help="tiny models, for smoke tests: seconds, meaningless numbers",
    )
    if BENCH_SCRIPT.is_file():
        commands.add_parser(
            "bench",
            help=f"run {BENCH_SCRIPT.parent.name}/{BENCH_SCRIPT.name}",
            description=f"Run {BENCH_SCRIPT}; every argument is passed to it.",
            add_help=False,  # so that --help reaches the benchmark's own parser
        )
    return parser


def main(argv=None):
    """Parse ``argv`` (default: ``sys.argv[1:]``) and run the command."""
    parser = build_parser()
    # The benchmark's own options pass through unparsed.
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "bench":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "demo":
        from ._demo import run_demo

        run_demo(args.output_dir, quick=args.quick)
    elif args.command == "bench":
        saved = sys.argv
        sys.argv = [str(BENCH_SCRIPT), *extra]
        try:
            runpy.run_path(str(BENCH_SCRIPT), run_name="__main__")
        finally:
            sys.argv = saved
    return 0


if __name__ == "__main__":
    sys.exit(main())
