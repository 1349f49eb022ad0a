"""`python -m flanjax.data.export`: counts by the rates, rows as the renderer writes them,
byte-identical re-export, files that Hugging Face `datasets` and tf.data read."""

import collections
import glob
import json
import os
import sys

import pytest
import seqio
import tensorflow as tf

pytest.importorskip("apache_beam")

from _train_helpers import HANG_GUARD_S  # noqa: E402
from flanjax.cli import runner  # noqa: E402
from flanjax.data import export_files  # noqa: E402
from flanjax.data import instruction_files, mixtures, sources  # noqa: E402
from flanjax.data import render as render_lib  # noqa: E402
from flanjax.data import tasks as tasks_lib  # noqa: E402

MIX = "export_test_mix"
# Rates 3 : 1 : 2.5 over three demo tasks.
RATES = {"demo_addition_zs": 3.0, "demo_reviews_zs": 1.0, "demo_sort_words_zs": 2.5}


@pytest.fixture(scope="module", autouse=True)
def _mixture():
    from flanjax.data.bundled import ensure_prepared

    ensure_prepared()
    if MIX in seqio.MixtureRegistry.names():
        seqio.MixtureRegistry.remove(MIX)
    seqio.MixtureRegistry.add(MIX, list(RATES.items()))
    yield
    seqio.MixtureRegistry.remove(MIX)


def _export(out, **kw):
    config = export_files.ExportConfig(name=kw.pop("name", MIX), out_dir=str(out), **kw)
    return export_files.run_pipeline(config)


def _jsonl_rows(out):
    rows = []
    for path in sorted(glob.glob(os.path.join(out, "*.jsonl"))):
        with open(path, encoding="utf-8") as f:
            rows += [json.loads(line) for line in f]
    return rows


def test_allocate_by_largest_remainder_hand_computed():
    # 10 x (3, 1, 2.5) / 6.5 = 4.615, 1.538, 3.846: floors 4 + 1 + 3 = 8, the two largest
    # remainders (.846 sort_words, .615 addition) get one more each.
    assert export_files.allocate(RATES, 10) == {
        "demo_addition_zs": 5, "demo_reviews_zs": 1, "demo_sort_words_zs": 4}
    # 13 x rate / 6.5 is whole: 6, 2, 5.
    assert export_files.allocate(RATES, 13) == {
        "demo_addition_zs": 6, "demo_reviews_zs": 2, "demo_sort_words_zs": 5}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "a"
    manifest = _export(out, num_examples=10, num_shards=3, seed=7)
    return out, manifest


def test_counts_follow_the_rates_and_the_manifest_says_so(exported):
    out, manifest = exported
    assert manifest == json.loads((out / "manifest.json").read_text())
    counts = {t: info["count"] for t, info in manifest["tasks"].items()}
    assert counts == {"demo_addition_zs": 5, "demo_reviews_zs": 1, "demo_sort_words_zs": 4}
    assert manifest["total"] == 10 and manifest["seed"] == 7 and manifest["mixture"] == MIX
    assert {t: i["rate"] for t, i in manifest["tasks"].items()} == RATES
    assert manifest["tasks"]["demo_addition_zs"]["share"] == pytest.approx(3 / 6.5)
    # Round robin from a per-task offset: 10 rows over 3 shards fill each of them.
    assert manifest["files"] == [f"train-0000{i}-of-00003.jsonl" for i in range(3)]
    assert sorted(os.listdir(out)) == sorted(manifest["files"] + ["manifest.json"])
    assert manifest["flanjax_version"] == __import__("flanjax").__version__
    assert manifest["prompt_sources"]["collections"] == {"demo": {"prompts": "flanjax", "files": {}}}
    assert set(manifest["prompt_sources"]["task_templates_sha256"]) == set(RATES)
    rows = _jsonl_rows(out)
    by_name = collections.Counter(r["task_name"] for r in rows)
    assert by_name == {"demo_addition": 5, "demo_reviews": 1, "demo_sort_words": 4}


def test_rows_are_the_renderers_text(exported):
    out, _ = exported
    rows = _jsonl_rows(out)
    for task in RATES:
        renderer = tasks_lib.renderer_of_task(task)
        entry = renderer.entry
        # Every training example of the task as the renderer writes it, with its template.
        rendered = {}
        ds = entry.source.to_seqio().get_dataset("train", shuffle=False)
        for raw in ds.as_numpy_iterator():
            r = renderer(sources.decode_example(raw), seed=0)
            if r is not None:
                rendered[(r["inputs"], r["targets"])] = r["template_id"]
        ids = [render_lib.template_id(t, i) for i, t in enumerate(entry.templates)]
        mine = [r for r in rows if r["task_name"] == entry.name]
        assert mine
        for row in mine:
            assert list(row) == list(export_files.FIELDS)
            assert (row["inputs"], row["targets"]) in rendered, row
            assert ids[row["template_idx"]] == rendered[(row["inputs"], row["targets"])]
            assert row["task_source"] == "demo" and row["template_type"] == "zs_opt"


def test_same_seed_same_bytes_other_seed_other_files(exported, tmp_path):
    out, _ = exported
    again = tmp_path / "b"
    _export(again, num_examples=10, num_shards=3, seed=7)
    for name in sorted(os.listdir(out)):
        assert (again / name).read_bytes() == (out / name).read_bytes(), name
    other = tmp_path / "c"
    _export(other, num_examples=10, num_shards=3, seed=8)
    assert any((other / n).read_bytes() != (out / n).read_bytes()
               for n in os.listdir(out) if n != "manifest.json")


def test_parquet_and_jsonl_load_in_hugging_face_datasets(exported, tmp_path):
    datasets = pytest.importorskip("datasets")
    out, manifest = exported
    parquet = tmp_path / "p"
    _export(parquet, num_examples=10, num_shards=3, seed=7, fmt="parquet")
    as_json = datasets.load_dataset(
        "json", data_files=sorted(glob.glob(str(out / "*.jsonl"))), split="train",
        cache_dir=str(tmp_path / "hf"))
    as_parquet = datasets.load_dataset(
        "parquet", data_files=sorted(glob.glob(str(parquet / "*.parquet"))), split="train",
        cache_dir=str(tmp_path / "hf"))
    expected = _jsonl_rows(out)
    assert as_json.column_names == list(export_files.FIELDS)
    assert [dict(r) for r in as_json] == expected
    assert [dict(r) for r in as_parquet] == expected  # same seed: same rows in the same order


def test_tfrecord_rows_read_back_with_tf_data(exported, tmp_path):
    out, _ = exported
    rec = tmp_path / "r"
    _export(rec, num_examples=10, num_shards=3, seed=7, fmt="tfrecord")
    spec = {k: tf.io.FixedLenFeature([], tf.int64 if k == "template_idx" else tf.string)
            for k in export_files.FIELDS}
    rows = []
    for path in sorted(glob.glob(str(rec / "*.tfrecord"))):
        for ex in tf.data.TFRecordDataset(path).map(lambda s: tf.io.parse_single_example(s, spec)):
            rows.append({k: (v.numpy().decode() if v.dtype == tf.string else int(v.numpy()))
                         for k, v in ex.items()})
    assert rows == _jsonl_rows(out)


def test_epochs_write_every_example_that_many_times(tmp_path):
    data = tmp_path / "few.jsonl"
    texts = [(f"question {i}", f"answer {i}") for i in range(7)]
    data.write_text("".join(json.dumps({"inputs": a, "targets": b}) + "\n" for a, b in texts))
    for entry in instruction_files.register_entries(
            json.dumps({"export_few": {"train": str(data), "cluster": "few"}})):
        tasks_lib.register_entry_tasks(entry)
    manifest = _export(tmp_path / "out", name="export_few_zs", epochs=2, num_shards=2)
    rows = _jsonl_rows(tmp_path / "out")
    assert collections.Counter((r["inputs"], r["targets"]) for r in rows) == {t: 2 for t in texts}
    assert manifest["tasks"]["export_few_zs"]["count"] == 14 and manifest["epochs"] == 2
    assert manifest["tasks"]["export_few_zs"]["allocated"] is None
    assert {r["task_source"] for r in rows} == {"instruction_files"}


def test_command_errors_are_one_line(tmp_path, capsys, monkeypatch):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "manifest.json").write_text("{}")
    assert runner.call("flanjax.cli.export_data", [MIX, "--out", str(tmp_path / "taken"),
                                                   "--num_examples", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--overwrite" in err, err
    assert runner.call("flanjax.cli.export_data", ["no_such_mixtur", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no_such_mixtur" in err, err
    monkeypatch.setitem(sys.modules, "apache_beam", None)  # as if Beam were not installed
    assert runner.call("flanjax.cli.export_data", [MIX, "--out", str(tmp_path / "y")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: exporting runs an Apache Beam pipeline: pip install 'flanjax[export]'"


def test_command_in_another_process_writes_the_same_bytes(tmp_path):
    import subprocess

    from _train_helpers import REPO

    _export(tmp_path / "here", name="demo_reviews_zs", num_examples=6, num_shards=2, seed=3)
    proc = subprocess.run(
        [sys.executable, "-m", "flanjax.data.export", "demo_reviews_zs", "--out", str(tmp_path / "there"),
         "--num_examples", "6", "--num_shards", "2", "--seed", "3"],
        cwd=REPO, env=dict(os.environ, PYTHONHASHSEED="random"), capture_output=True, text=True,
        timeout=HANG_GUARD_S)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "6 examples of demo_reviews_zs" in proc.stdout
    names = sorted(os.listdir(tmp_path / "here"))
    assert names == sorted(os.listdir(tmp_path / "there"))
    for name in names:
        assert (tmp_path / "there" / name).read_bytes() == (tmp_path / "here" / name).read_bytes(), name
