"""Progress reports: the same epoch lines everywhere, optional progress bars."""

import pickle
import re
import sys
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skdbn import (
    BernoulliRBMStack,
    DBNAutoencoder,
    DBNClassifier,
    GaussianRBMStack,
)
from skdbn._progress import EpochClock, epoch_line, format_duration

LINE = re.compile(
    r"^\[(?P<phase>[^\]]+)\] epoch +(?P<epoch>\d+)/(?P<total>\d+), .*, "
    r"\d+\.\d\ds, ETA \d+:\d\d:\d\d$"
)


def test_format_duration():
    assert format_duration(0) == "0:00:00"
    assert format_duration(61.4) == "0:01:01"
    assert format_duration(3 * 3600 + 5) == "3:00:05"


def test_epoch_clock_predicts_the_remaining_time():
    clock = EpochClock(10)
    assert clock.eta(0) is None
    clock.add(2.0)
    clock.add(4.0)
    assert clock.eta(2) == pytest.approx(8 * 3.0)
    assert EpochClock(None).eta(3) is None


def test_epoch_line_layout():
    line = epoch_line("layer 1/2", 3, 10, [("loss", 0.5, ".3f")], 1.234, eta=75)
    assert line == "[layer 1/2] epoch   3/10, loss 0.500, 1.23s, ETA 0:01:15"
    assert "ETA" not in epoch_line("fine-tuning", 1, None, [], 0.1)


@pytest.mark.parametrize(
    "estimator",
    [
        BernoulliRBMStack((6, 4), n_epochs=2, verbose=1, random_state=0),
        GaussianRBMStack((6,), n_epochs=2, verbose=1, random_state=0),
        DBNClassifier((6,), n_epochs=2, max_iter=2, verbose=1, random_state=0),
        DBNAutoencoder((6, 3), n_epochs=2, max_iter=2, verbose=1, random_state=0),
    ],
    ids=lambda e: type(e).__name__,
)
def test_every_estimator_reports_epochs_alike(estimator, capsys):
    X = np.random.default_rng(0).random((40, 5))
    y = np.arange(40) % 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(LINE.match(line) for line in lines), lines
    phases = [LINE.match(line)["phase"] for line in lines]
    assert phases[0].startswith("layer 1/")
    # The last epoch of each phase predicts no time left.
    assert lines[-1].endswith("ETA 0:00:00")


def test_progress_bars_with_tqdm_and_pickling(capsys):
    pytest.importorskip("tqdm")
    X = np.random.default_rng(0).random((300, 5))
    stack = BernoulliRBMStack((4,), n_epochs=2, batch_size=10, verbose=2).fit(X)
    err = capsys.readouterr().err
    assert "layer 1/1" in err and "batch" in err
    # Bars live only during an epoch: the fitted model pickles.
    pickle.loads(pickle.dumps(stack)).transform(X)


def test_verbose_two_without_tqdm_prints_lines_only(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    X = np.random.default_rng(0).random((30, 5))
    BernoulliRBMStack((4,), n_epochs=1, verbose=2).fit(X)
    captured = capsys.readouterr()
    assert LINE.match(captured.out.strip()) and captured.err == ""
