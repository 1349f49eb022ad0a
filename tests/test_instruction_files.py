"""Instruction files as tasks (INSTRUCTION_FILES): reading, filters, bad rows, training."""

import json
import os
import subprocess
import sys

import pytest

from _train_helpers import HANG_GUARD_S, REPO
from flanjax.data import instruction_files as files_lib
from flanjax.data import mixtures
from flanjax.data import tasks as tasks_lib


def _write_jsonl(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return str(path)


def _bad(fs, match):
    with pytest.raises(files_lib.BadRowError, match=match):
        list(files_lib.rows(fs, "train"))


def test_setting_forms_and_unknown_key():
    (only,) = files_lib.parse_setting("/data/x/*.jsonl")
    assert only.name == "instructions" and only.splits == {"train": "/data/x/*.jsonl"}
    sets = files_lib.parse_setting(str({"a": {"train": "t.parquet", "validation": "v.parquet",
                                              "inputs": "prompt", "cluster": "qa"}, "b": "b.tsv"}))
    assert [(s.name, s.cluster, s.inputs, s.targets) for s in sets] == [
        ("a", "qa", "prompt", "targets"), ("b", "b", "inputs", "targets")]
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['input'\].*'inputs'"):
        files_lib.parse_setting('{"a": {"train": "x.jsonl", "input": "q"}}')
    with pytest.raises(ValueError, match="names no 'train'"):
        files_lib.parse_setting('{"a": {"validation": "x.jsonl"}}')


def test_jsonl_tsv_parquet_with_field_names_and_filters(tmp_path):
    rows = [{"q": "Q1", "a": "A1", "task_name": "cot_gsm8k", "template_type": "zs_opt"},
            {"q": "Q2", "a": "A2", "task_name": "cot_esnli", "template_type": "fs_opt"},
            {"q": "Q3", "a": "A3", "task_name": "cot_gsm8k", "template_type": "fs_noopt"}]
    jsonl = _write_jsonl(tmp_path / "r.jsonl", rows)
    fs = files_lib.file_set("s", {"train": jsonl, "inputs": "q", "targets": "a"})
    assert list(files_lib.rows(fs, "train")) == [
        {"inputs": "Q1", "targets": "A1"}, {"inputs": "Q2", "targets": "A2"},
        {"inputs": "Q3", "targets": "A3"}]
    fs = files_lib.file_set("s", {"train": jsonl, "inputs": "q", "targets": "a",
                                  "task_names": ["cot_gsm8k"], "template_types": ["fs_.*"]})
    assert list(files_lib.rows(fs, "train")) == [{"inputs": "Q3", "targets": "A3"}]
    # TSV: a header row, or `columns` for headerless files (FLAN's cot_data TSVs).
    (tmp_path / "h.tsv").write_text("inputs\ttargets\nQ1\tA1\nQ2\tA2\n")
    (tmp_path / "n.tsv").write_text("Q1\tA1\tR1\n")
    assert list(files_lib.rows(files_lib.file_set("h", str(tmp_path / "h.tsv")), "train")) == [
        {"inputs": "Q1", "targets": "A1"}, {"inputs": "Q2", "targets": "A2"}]
    headerless = files_lib.file_set("n", {"train": str(tmp_path / "n.tsv"),
                                          "columns": ["inputs", "targets", "rationale"]})
    assert list(files_lib.rows(headerless, "train")) == [{"inputs": "Q1", "targets": "A1"}]
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), str(tmp_path / "r.parquet"))
    fs = files_lib.file_set("p", {"train": str(tmp_path / "r.parquet"), "inputs": "q",
                                  "targets": "a", "task_names": ["cot_esnli"]})
    assert list(files_lib.rows(fs, "train")) == [{"inputs": "Q2", "targets": "A2"}]


def test_bad_rows_name_file_line_and_field(tmp_path):
    good = {"inputs": "x", "targets": "y"}
    path = _write_jsonl(tmp_path / "m.jsonl", [good, "", {"inputs": "x"}])
    _bad(files_lib.file_set("s", path), rf"{path} line 3: field 'targets' is missing")
    path = _write_jsonl(tmp_path / "t.jsonl", [good, {"inputs": "x", "targets": 3}])
    _bad(files_lib.file_set("s", path), rf"{path} line 2: field 'targets' is int, not text")
    path = _write_jsonl(tmp_path / "j.jsonl", [good, '{"inputs": "x", '])
    _bad(files_lib.file_set("s", path), rf"{path} line 2: not JSON")
    path = _write_jsonl(tmp_path / "n.jsonl", [{"inputs": "x", "targets": "y", "task_name": 5}])
    _bad(files_lib.file_set("s", path), rf"{path} line 1: field 'task_name' is int, not text")
    path = _write_jsonl(tmp_path / "e.jsonl", [{"prompt": "  ", "targets": "y"}])
    _bad(files_lib.file_set("s", {"train": path, "inputs": "prompt"}),
         rf"{path} line 1: field 'prompt' is empty")
    with pytest.raises(FileNotFoundError, match="no file matches"):
        list(files_lib.rows(files_lib.file_set("s", str(tmp_path / "none*.jsonl")), "train"))


def test_task_yields_the_file_text_verbatim_and_minus_leaves_a_cluster_out(tmp_path):
    texts = [("Translate {braces} and OPTIONS:\n- a", " keep  spaces "), ("Q?", "A.")]
    path = _write_jsonl(tmp_path / "v.jsonl", [{"inputs": a, "targets": b} for a, b in texts])
    setting = json.dumps({"verbatim_a": {"train": path, "validation": path, "cluster": "ca"},
                          "verbatim_b": {"train": path, "cluster": "cb", "rate": 2.0}})
    for entry in files_lib.register_entries(setting):
        tasks_lib.register_entry_tasks(entry)
    ds = mixtures.get_mixture_or_task("verbatim_a_zs").get_dataset(
        sequence_length={"inputs": 64, "targets": 16}, split="train", shuffle=False)
    got = [(e["inputs_pretokenized"].decode(), e["targets_pretokenized"].decode())
           for e in ds.as_numpy_iterator()]
    assert got == texts
    assert "verbatim_a_zs:0" in __import__("seqio").TaskRegistry.names()  # a validation split
    assert "verbatim_b_zs:0" not in __import__("seqio").TaskRegistry.names()  # none
    assert tasks_lib.cluster_of_task("verbatim_b_zs") == "cb"
    rows_rate = object()
    keep = mixtures._keep_for("cb")  # pylint: disable=protected-access
    # Sets other tests of this process registered are left aside.
    def ours(pairs):
        return [p for p in pairs if p[0].startswith("verbatim_")]

    assert ours(files_lib.mixture_tasks(keep, rows_rate)) == [("verbatim_a_zs", rows_rate)]
    assert ours(files_lib.mixture_tasks(lambda c: True, rows_rate)) == [
        ("verbatim_a_zs", rows_rate), ("verbatim_b_zs", 2.0)]


def _train(tmp_path, setting, mixture, steps=2):
    env = dict(os.environ)
    env.pop("XLA_FLAGS", None)
    return subprocess.run(
        [sys.executable, "-m", "flanjax.train", "--gin_file=runs/demo.gin",
         f"--gin.MODEL_DIR={tmp_path / 'run'}", f"--gin.TRAIN_STEPS={steps}", "--gin.BATCH_SIZE=4",
         "--gin.TASK_FEATURE_LENGTHS={'inputs': 32, 'targets': 8}", "--gin.EVAL_PERIOD=0",
         f"--gin.MIXTURE_OR_TASK_NAME={mixture}", f"--gin.INSTRUCTION_FILES={setting}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=HANG_GUARD_S)


def test_train_on_files_through_the_entry_point(tmp_path):
    a = _write_jsonl(tmp_path / "a.jsonl", [{"inputs": f"add {i} 1", "targets": str(i + 1)}
                                            for i in range(20)])
    b = _write_jsonl(tmp_path / "b.jsonl", [{"inputs": f"say {i}", "targets": str(i)}
                                            for i in range(20)])
    setting = str({"adds": {"train": a, "cluster": "math"}, "says": {"train": b, "cluster": "echo"}})
    proc = _train(tmp_path, setting, "instruction_files_minus_echo")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "step 2/2 loss" in proc.stdout and "instruction_files_minus_echo" in proc.stdout
    assert (tmp_path / "run" / "train_metrics.jsonl").exists()


def test_bad_row_read_while_training_is_one_line_exit_2(tmp_path):
    # Row 150 lies past the rows checked before training: it fails inside tf.data.
    rows = [{"inputs": f"add {i} 1", "targets": str(i + 1)} for i in range(200)]
    rows[149] = {"inputs": "add", "answer": "2"}
    path = _write_jsonl(tmp_path / "late.jsonl", rows)
    proc = _train(tmp_path, path, "instructions_zs", steps=60)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    err = [l for l in proc.stderr.splitlines() if l.startswith("error:")]
    assert err == [f"error: {path} line 150: field 'targets' is missing (the row has "
                   "['answer', 'inputs']); name the field with the set's 'targets' key"], proc.stderr[-2000:]
