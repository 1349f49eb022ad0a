"""Smoke tests of `benchmarks/`: each script runs at a toy size and ends with JSON.

Not timed: nothing here asserts a speed. Each script's `main(argv)` runs in-process with
`--tiny` (a toy model and shapes) and one repeat; the last line of its output must be one
JSON object with a `ratio`.
"""

import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

TINY = ["--tiny", "--repeats", "1", "--warmup", "0"]


def _last_json(capsys) -> dict:
    lines = [l for l in capsys.readouterr().out.splitlines() if l.strip()]
    result = json.loads(lines[-1])
    assert isinstance(result, dict)
    return result


def test_train_step_tiny(capsys, tmp_path):
    from benchmarks import train_step

    train_step.main(TINY + ["--json_out", str(tmp_path / "t.json")])
    result = _last_json(capsys)
    assert result["benchmark"] == "train_step"
    assert result["ratio"] > 0
    assert result["flanjax_tokens_per_s"] > 0 and result["transformers_tokens_per_s"] > 0
    assert 0 < result["peak_gflops"]
    assert json.loads((tmp_path / "t.json").read_text()) == result


def test_decode_tiny(capsys):
    from benchmarks import decode

    decode.main(TINY)
    result = _last_json(capsys)
    assert result["ratio"] > 0 and result["beam_ratio"] > 0
    # Same weights, EOS disabled: both sides decode the same greedy tokens.
    assert result["greedy_token_agreement"] > 0.9


def test_score_tiny(capsys):
    from benchmarks import score

    score.main(TINY + ["--flanjax_per_option"])
    result = _last_json(capsys)
    assert result["ratio"] > 0 and result["algorithm_ratio"] > 0
    assert result["same_choice"] == 1.0


def test_data_tiny(capsys):
    from benchmarks import data

    data.main(TINY + ["--batches", "3", "--train_tokens_per_s", "1000"])
    result = _last_json(capsys)
    assert result["ratio"] > 0
    assert result["examples_per_s"] > 0 and 0 < result["packing_density"] <= 1


def test_data_paths_skip_the_cached_paths_naming_why(monkeypatch, tmp_path):
    """Without Beam, or when the cache job fails, the cached paths are skipped and said so."""
    import importlib.util
    import subprocess

    from benchmarks import data_paths
    from flanjax.data import mixtures  # noqa: F401  (registers the demo mixture)

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(data_paths.CacheUnavailable, match=r"pip install 'flanjax\[cache\]'"):
        data_paths.ensure_cache("demo", str(tmp_path / "none"))
    monkeypatch.undo()
    failed = subprocess.CompletedProcess([], 1, stdout=None, stderr="Traceback ...\nModuleNotFoundError: x\n")
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: failed)
    with pytest.raises(data_paths.CacheUnavailable, match="exit 1.*ModuleNotFoundError: x"):
        data_paths.ensure_cache("demo", str(tmp_path / "none"))
    paths = {label: {"examples_per_s": 100.0 * (i + 1), "sequences_per_s": 10.0}
             for i, (label, _, _, cached, _) in enumerate(data_paths.CONFIGS) if not cached}
    out = data_paths.uncached_only(paths, "why")
    assert out["skipped"] == {"cached paths": "why"} and out["cached_over_uncached"] is None
    assert out["uncached_2_over_1_cores"] == 3.0  # uncached_2cores (300) / uncached_1core (100)
