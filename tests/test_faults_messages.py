"""What a newcomer reads: errors that name the file, no repeated or false lines (issue 23).

In-process and small: each case builds the bad file it needs in tmp_path and checks the
one line a command prints (flanjax/cli/runner.py: `error: ...`, exit 2) or the figures it
logs, against text written here by hand.
"""

from __future__ import annotations

import json
import logging

import gin
import pytest


@pytest.fixture(autouse=True)
def _clean_gin():
    gin.clear_config()
    yield
    gin.clear_config()


# -- noise and false figures (item 12) ------------------------------------------------------


def test_no_cache_line_is_not_repeated_for_every_pipeline(caplog):
    """USE_CACHED_TASKS=False: the trainer's first line says "input: no task from a cache"
    once; building the train and validation pipelines must not say it again each time."""
    from flanjax.data import cache, mixtures  # noqa: F401  (registers the demo tasks)

    with caplog.at_level(logging.INFO):
        for split in ("train", "validation", "train"):
            plan = cache.check_cached("demo", split, use_cached=False)
    assert plan.log_line().startswith("input: no task from a cache; 10 rendered live")
    assert not [r for r in caplog.records if "no task from a cache" in r.getMessage()]
    assert cache.last_plan("demo", "train") == plan  # what the trainer's line shows


def test_mfu_is_never_above_100_percent_and_says_na(tmp_path, monkeypatch, capsys):
    """CPU: the peak measured at start-up under load (here 1 GFLOP/s) is beaten by a later
    step (2 GFLOP/s a device): measured again (4 GFLOP/s) the step is 50%; a step faster
    than every measurement (8 GFLOP/s) has no honest MFU: null / "n/a", not 800%. The
    compiling first step has no timing: null / "n/a", not NaN (which is not JSON)."""
    from flanjax.train import metrics

    measurements = iter([1e9, 4e9, 4e9])
    calls = []

    def fake_measure(size=1024, repeats=3, *, again=False):
        calls.append(again)
        value = next(measurements)
        metrics._CPU_PEAK = max(metrics._CPU_PEAK or 0.0, value) if again else value
        return metrics._CPU_PEAK

    monkeypatch.setattr(metrics, "_CPU_PEAK", None)
    monkeypatch.setattr(metrics, "measured_cpu_peak", fake_measure)
    logger = metrics.MetricsLogger(str(tmp_path), flops_per_step=2e9, tokens_per_step=100, num_devices=1)
    assert logger.peak == 1e9 and calls == [False]  # measured once at start-up
    base = {"loss": 1.0, "num_tokens": 50.0}
    first = logger.log_train(1, base, float("nan"), 4.0)
    slow = logger.log_train(2, base, 2.0, 4.0)  # 1 GFLOP/s: 100% of the start-up figure
    beaten = logger.log_train(3, base, 1.0, 4.0)  # 2 GFLOP/s > 1: measured again, 4 -> 50%
    too_fast = logger.log_train(4, base, 0.25, 4.0)  # 8 GFLOP/s > 4 (and > 4 again): n/a
    out = capsys.readouterr().out.splitlines()
    assert first["mfu"] is None and first["tokens_per_second"] is None
    assert "n/a tok/s" in out[0] and "mfu n/a" in out[0] and "nan" not in out[0], out[0]
    assert slow["mfu"] == pytest.approx(1.0) and slow["tokens_per_second"] == pytest.approx(50.0)
    assert beaten["mfu"] == pytest.approx(0.5) and "mfu 50.0%" in out[2]
    assert too_fast["mfu"] is None and "mfu n/a" in out[3]
    assert calls == [False, True, True]
    logger.close()
    lines = (tmp_path / "train_metrics.jsonl").read_text().splitlines()
    records = [json.loads(l, parse_constant=lambda c: pytest.fail(f"{c} in train_metrics.jsonl"))
               for l in lines]
    assert [r["mfu"] for r in records] == [None, pytest.approx(1.0), pytest.approx(0.5), None]
    assert all(r["mfu"] is None or r["mfu"] <= 1.0 for r in records)
    assert all(set(r) == set(records[0]) for r in records)  # every line has the same keys


def test_infer_labels_its_lines_infer(tmp_path, monkeypatch, capsys):
    """`python -m flanjax.infer` on a run that recorded its vocabulary says so as [infer]."""
    import shutil

    from flanjax.cli import evaluate
    from flanjax.data import locations, vocab

    shutil.copy(vocab.BUNDLED_SPM_PATH, tmp_path / "spiece.model")
    monkeypatch.delenv("FLANJAX_VOCAB", raising=False)
    configured = []
    monkeypatch.setattr(locations, "configure", configured.append)
    evaluate._use_recorded_vocabulary(str(tmp_path), {}, label="infer")
    evaluate._use_recorded_vocabulary(str(tmp_path), {}, label="evaluate")
    out = capsys.readouterr().out.splitlines()
    assert out == [f"[infer] vocabulary recorded with the checkpoint: {tmp_path}/spiece.model",
                   f"[eval] vocabulary recorded with the checkpoint: {tmp_path}/spiece.model"]
    assert configured == [{"VOCAB": f"{tmp_path}/spiece.model"}] * 2


# -- messages that name the file (item 9) ------------------------------------------------------


def _command(capsys, module, argv):
    """Runs a command in-process as `python -m` does; (exit status, its one stderr line)."""
    from flanjax.cli import runner

    code = runner.call(module, argv)
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return code, err


def _infer_argv(checkpoint, inputs, out):
    return ["--gin_file=runs/infer.gin", f"--gin.CHECKPOINT_PATH='{checkpoint}'",
            f"--gin.INFER_INPUTS='{inputs}'", f"--gin.OUTPUT_FILE='{out}'"]


def test_a_corrupt_model_config_is_named(tmp_path, capsys, monkeypatch):
    """flanjax_config.json cut short: the file is named (not "Expecting value: line 2")."""
    ckpt = tmp_path / "converted"
    (ckpt / "checkpoint").mkdir(parents=True)
    (ckpt / "flanjax_config.json").write_text('{"vocab_size": 128,\n')
    (tmp_path / "in.txt").write_text("hello\n")
    code, err = _command(capsys, "flanjax.cli.infer", _infer_argv(ckpt, tmp_path / "in.txt", tmp_path / "o.jsonl"))
    assert code == 2
    assert err.startswith(f"error: {ckpt}/flanjax_config.json is not a readable model config"), err
    assert "copy it from an intact copy" in err


def test_a_corrupt_recorded_spiece_model_is_named(tmp_path, capsys, monkeypatch):
    """A run's spiece.model truncated: named at start-up, not a protobuf DecodeError traceback
    at the first encode."""
    from flanjax.data import vocab

    monkeypatch.delenv("FLANJAX_VOCAB", raising=False)
    run = tmp_path / "run"
    run.mkdir()
    with open(vocab.BUNDLED_SPM_PATH, "rb") as f:
        (run / "spiece.model").write_bytes(f.read()[:100])
    (tmp_path / "in.txt").write_text("hello\n")
    code, err = _command(capsys, "flanjax.cli.infer", _infer_argv(run, tmp_path / "in.txt", tmp_path / "o.jsonl"))
    assert code == 2
    assert err.startswith(f"error: {run}/spiece.model is not a readable SentencePiece model (100 bytes"), err
    # The same check guards a VOCAB path given by name.
    with pytest.raises(ValueError, match="is not a readable SentencePiece model"):
        vocab.get_vocabulary(str(run / "spiece.model"))


@pytest.mark.parametrize("name, content, expected", [
    ("latin1.txt", "first line\ncaf\u00e9 au lait\n".encode("latin-1"),
     ":2: not UTF-8 (byte 0xe9 at column 4); save the file as UTF-8"),
    ("cut.jsonl", b'{"inputs": "a"}\n\n{"inputs": "b"}\n{"inputs": "c',
     ":4: not a JSON object (Unterminated string starting at column 12)"),
    ("keys.jsonl", b'{"inputs": "a"}\n{"input": "b", "id": 3}\n',
     ":2: no \"inputs\" field (keys ['id', 'input']); each line needs {\"inputs\": \"...\"}"),
    ("list.jsonl", b'["a"]\n', ":1: no \"inputs\" field (a JSON list)"),
])
def test_bad_infer_input_files_name_the_file_and_line(tmp_path, name, content, expected):
    """INFER_INPUTS files: the file's own line number (a blank line counted), what is wrong."""
    from flanjax.cli.runner import one_line
    from flanjax.evaluation import predict

    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ValueError) as e:
        predict._read_text_inputs(str(path))
    assert one_line(e.value).startswith(f"INFER_INPUTS {path}{expected}"), one_line(e.value)


# -- python -m flanjax.data.cache (items 2 and 12; issue 21 item 3; issue 24) ----------------


def test_cache_help_without_beam_is_one_line_naming_the_extra(capsys, monkeypatch):
    """No apache-beam installed (the [cache] extra): --help, or any use, is one line."""
    import sys

    monkeypatch.setitem(sys.modules, "apache_beam", None)  # `import apache_beam` fails
    for argv in (["--help"], ["--mixture=demo", "--output_cache_dir=/tmp/x"]):
        code, err = _command(capsys, "flanjax.data.cache", argv)
        assert code == 2 and err == ("error: python -m flanjax.data.cache needs Apache Beam, which is "
                                     "not installed: pip install 'flanjax[cache]' (or pip install -e "
                                     "'.[cache]' in a checkout)"), err


def test_cache_unknown_mixture_is_one_line_with_close_names(tmp_path):
    """As typed (`python -m`, the module's own __main__): one line naming the closest
    names, exit 2, no start-up noise and nothing built."""
    import subprocess
    import sys

    from _train_helpers import HANG_GUARD_S, REPO

    pytest.importorskip("apache_beam", reason="the [cache] extra (apache-beam) is not installed")
    proc = subprocess.run([sys.executable, "-m", "flanjax.data.cache", "--mixture=demoo",
                           f"--output_cache_dir={tmp_path}"], cwd=REPO, capture_output=True,
                          text=True, timeout=HANG_GUARD_S)
    assert proc.returncode == 2 and proc.stdout == "", proc.stdout + proc.stderr
    assert proc.stderr.startswith("error: Unknown task or mixture 'demoo'. Closest: ['demo',"), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_cache_flags_are_argparse_and_absl_spellings_still_work(capsys):
    """argparse like every command; absl's `--noX`, `--X=false` and `-X=v` work this release,
    each with a one-line notice; seqio's own flags reach the absl FLAGS its job reads."""
    pytest.importorskip("apache_beam", reason="the [cache] extra (apache-beam) is not installed")
    from absl import flags

    from flanjax.data import cache

    args = cache.parse_cache_flags(["-tasks=a_zs,b_zs", "--nooverwrite", "--enable_char_counts=false",
                                    "--min_shards", "3", "--ignore_other_caches=true",
                                    "--pipeline_options=--runner=DirectRunner,--direct_num_workers=2"])
    assert args.tasks == ["a_zs", "b_zs"] and args.overwrite is False and args.ignore_other_caches is True
    assert args.pipeline_options == ["--runner=DirectRunner", "--direct_num_workers=2"]
    assert flags.FLAGS.min_shards == 3 and flags.FLAGS.enable_char_counts is False
    notes = capsys.readouterr().err.strip().splitlines()
    assert notes == [
        "[cache] note: '-tasks=a_zs,b_zs' is absl's spelling, accepted this release; write --tasks=a_zs,b_zs",
        "[cache] note: '--nooverwrite' is absl's spelling, accepted this release; write (nothing: off is the default)",
        "[cache] note: '--enable_char_counts=false' is absl's spelling, accepted this release; write (nothing: off is the default)",
        "[cache] note: '--ignore_other_caches=true' is absl's spelling, accepted this release; write --ignore_other_caches",
    ], notes
    cache.parse_cache_flags(["--min_shards=64"])  # back to seqio's default for other tests


# -- one malformed promptsource file (item 10) -------------------------------------------------


def test_malformed_promptsource_yaml_is_named_with_line_and_column(tmp_path):
    from flanjax.cli.runner import one_line
    from flanjax.data.templates import load_promptsource_yaml

    path = tmp_path / "templates.yaml"
    path.write_text("dataset: gigaword\ntemplates:\n  abc: !Template\n    name: x\n    jinja: [unclosed\n")
    with pytest.raises(ValueError) as e:
        load_promptsource_yaml(str(path))
    line = one_line(e.value)
    # PyYAML: the flow sequence opened at line 5 column 12 is never closed (end of file).
    assert line.startswith(f"{path}:6:1: not valid promptsource YAML: while parsing a flow sequence; "
                           "expected ',' or ']', but got '<stream end>'"), line


def test_one_malformed_promptsource_file_fails_only_the_runs_that_use_it(tmp_path):
    """PROMPTSOURCE_TEMPLATES_DIR with gigaword's templates.yaml broken: the catalog still
    imports, the demo mixture, other T0 datasets and flan2022 (whose T0-SF leaves gigaword
    out: it is a FLAN dataset) resolve; t0, t0_plus and gigaword's tasks refuse, naming the
    file, line and column."""
    import subprocess
    import sys

    from _train_helpers import HANG_GUARD_S, REPO, subprocess_env
    from test_prompt_sources_e2e import _write_promptsource_tree

    root = str(tmp_path / "templates")
    _write_promptsource_tree(root)
    broken = tmp_path / "templates" / "gigaword" / "templates.yaml"
    broken.write_text(broken.read_text().replace("templates:", "templates: [", 1))
    child = (
        "import json\n"
        "from flanjax.data import mixtures\n"
        "out = {}\n"
        "for name in ('demo', 't0_super_glue_rte_zs', 'flan2022', 't0', 't0_plus', 't0_gigaword_zs'):\n"
        "    try:\n"
        "        mixtures.get_mixture_or_task(name); out[name] = 'ok'\n"
        "    except ValueError as e:\n"
        "        out[name] = str(e)\n"
        "print(json.dumps(out))\n")
    env = subprocess_env()
    env.update(FLANJAX_PROMPTSOURCE_TEMPLATES_DIR=root)
    proc = subprocess.run([sys.executable, "-c", child], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=HANG_GUARD_S)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["demo"] == got["t0_super_glue_rte_zs"] == got["flan2022"] == "ok", got
    for name in ("t0", "t0_plus", "t0_gigaword_zs"):
        assert got[name].startswith(f"{name} needs t0_gigaword, whose prompts did not load: {broken}:"), got[name]
        assert "not valid promptsource YAML" in got[name], got[name]
