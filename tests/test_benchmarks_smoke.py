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
