"""Tests of ``python -m skdbn`` and its demo (quick mode: tiny models)."""

import io
import sys

import pytest

from skdbn import __main__ as cli
from skdbn import _demo

try:
    import matplotlib  # noqa: F401
except ImportError:
    HAVE_MATPLOTLIB = False
else:
    HAVE_MATPLOTLIB = True
FIGURES = ["filters.png", "reconstructions.png", "samples.png", "learning_curves.png"]


def test_demo_quick_prints_the_comparison_and_writes_figures(tmp_path, capsys):
    out_dir = tmp_path / "figures"
    assert cli.main(["demo", "--quick", "--output-dir", str(out_dir)]) == 0
    text = capsys.readouterr().out
    assert "scikit-learn's digits, 1797 images" in text
    assert "1437 training, 360 test images" in text
    for model in _demo.MODELS:
        assert model.name in text
    assert "What the BernoulliRBMStack learned (layers 64 -> 32)" in text
    assert "--quick" in text and "Verdict: none" in text
    if HAVE_MATPLOTLIB:
        assert f"Figures: written to {out_dir}" in text
        for name in FIGURES:
            assert (out_dir / name).stat().st_size > 0
    else:
        assert 'pip install "skdbn[plot]"' in text


def test_demo_without_matplotlib_skips_figures(tmp_path, monkeypatch):
    for name in list(sys.modules):
        if name == "matplotlib" or name.startswith("matplotlib."):
            monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    stack_only = [m for m in _demo.MODELS if m.build is _demo._rbm_stack]
    monkeypatch.setattr(_demo, "MODELS", stack_only)
    buffer = io.StringIO()
    results = _demo.run_demo(tmp_path / "figures", quick=True, out=buffer)
    text = buffer.getvalue()
    assert len(results) == 1
    assert "Figures: skipped, matplotlib is not installed" in text
    assert 'pip install "skdbn[plot]"' in text
    assert not (tmp_path / "figures").exists()


def test_a_model_is_one_entry(tmp_path, monkeypatch):
    from sklearn.dummy import DummyClassifier

    extra = _demo.DemoModel("majority class", lambda budget: DummyClassifier())
    monkeypatch.setattr(_demo, "MODELS", [_demo.MODELS[0], extra])
    buffer = io.StringIO()
    results = _demo.run_demo(tmp_path, quick=True, out=buffer)
    assert [r.model.name for r in results] == [_demo.MODELS[0].name, "majority class"]
    assert "majority class" in buffer.getvalue()
    # No stack among the models: no stack summary and no figures.
    assert "What the BernoulliRBMStack learned" not in buffer.getvalue()


def _result(name, accuracy, build=None):
    model = _demo.DemoModel(name, build or (lambda budget: None))
    return _demo.Result(model, None, accuracy, 1.0)


def test_verdict_says_plainly_when_raw_pixels_win():
    raw = _result("raw", 0.9583, _demo._raw_pixels)
    lines = _demo._verdict([raw, _result("ours", 0.9528)], 360, quick=False)
    text = "\n".join(lines)
    assert "best test accuracy 0.9583, raw" in text
    assert "ours: 2 more errors than raw pixels" in text
    assert "No RBM pipeline beats logistic regression on the raw pixels" in text


def test_verdict_when_features_win():
    raw = _result("raw", 0.95, _demo._raw_pixels)
    lines = _demo._verdict([raw, _result("ours", 0.9611)], 360, quick=False)
    text = "\n".join(lines)
    assert "ours: 4 fewer errors than raw pixels" in text
    assert "No RBM pipeline beats" not in text


def test_bench_runs_the_benchmark_script_when_present(tmp_path, monkeypatch, capsys):
    script = tmp_path / "bench_rbm_throughput.py"
    script.write_text("import sys\nprint('bench args', sys.argv[1:])\n")
    monkeypatch.setattr(cli, "BENCH_SCRIPT", script)
    cli.main(["bench", "--help", "--n-samples", "10"])  # --help is the script's
    assert "bench args ['--help', '--n-samples', '10']" in capsys.readouterr().out


def test_no_bench_command_without_the_script(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "BENCH_SCRIPT", tmp_path / "missing.py")
    with pytest.raises(SystemExit):
        cli.main(["bench"])
    assert "invalid choice: 'bench'" in capsys.readouterr().err


def test_demo_rejects_unknown_options(capsys):
    with pytest.raises(SystemExit):
        cli.main(["demo", "--fast"])
    assert "unrecognized arguments: --fast" in capsys.readouterr().err
