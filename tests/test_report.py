"""Reports: results.json/md, TensorBoard scalars and the two plots."""

import glob
import json
import os

import tensorflow as tf

from flanjax.evaluation import heldout, report


def _results(offset):
    rows = [
        {"task": f"{d}_zs:{t}", "dataset": d, "cluster": c, "format": "zs", "template": str(t),
         "metric": "accuracy", "score": s + offset, "num_examples": 10, "num_ranked": 10,
         "num_generated": 0, "values": {"accuracy": s + offset}}
        for d, c, scores in (("demo_entailment", "nli", (40.0, 50.0)), ("demo_reviews", "sentiment", (70.0, 90.0)))
        for t, s in enumerate(scores)
    ]
    return {"tasks": rows, **heldout.aggregate(rows)}


def test_write_report(tmp_path):
    out = str(tmp_path / "report")
    runs = {"init": _results(0.0), "tuned": _results(5.0)}
    files = report.write_report(out, runs, title="probe", extra={"note": "x"})
    with open(files["json"]) as f:
        data = json.load(f)
    assert data["note"] == "x"
    # The prompts used are recorded (flanjax's own here: no source file, so no hashes).
    assert data["prompt_sources"]["flan2021"] == {"prompts": "flanjax", "files": {}}
    assert data["runs"]["tuned"]["clusters"]["nli"]["mean"] == 50.0
    assert data["runs"]["init"]["datasets"]["demo_reviews"]["median"] == 80.0
    md = open(files["md"]).read()
    assert "| nli | 45.0 | 50.0 |" in md
    assert "| **overall** | 62.5 | 67.5 |" in md
    assert "45.0 [40.0-50.0] / 45.0" in md  # mean [min-max] / median of the templates
    with open(files["plot"], "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    events = glob.glob(os.path.join(out, "tensorboard", "tuned", "events.out.tfevents.*"))
    assert events
    tags = {}
    for event in tf.compat.v1.train.summary_iterator(events[0]):
        for value in event.summary.value:
            tags[value.tag] = float(tf.make_ndarray(value.tensor))
            assert value.metadata.plugin_data.plugin_name == "scalars"
    assert tags["eval/cluster/nli"] == 50.0
    assert tags["eval/overall"] == 67.5
    assert tags["eval/task/demo_entailment_zs/1"] == 55.0


def test_clusters_vs_training_plot(tmp_path):
    points = [
        {"heldout": "nli", "num_training_clusters": n, "score": s}
        for n, s in ((0, 33.0), (2, 38.0), (4, 45.0))
    ] + [{"heldout": "sentiment", "num_training_clusters": n, "score": s} for n, s in ((0, 50.0), (4, 60.0))]
    path = report.plot_clusters_vs_num_training(points, str(tmp_path / "line.png"))
    assert os.path.getsize(path) > 1000
    with open(path, "rb") as f:
        assert f.read(4) == b"\x89PNG"


def test_sweep_table_and_tick_labels(tmp_path):
    points = [
        {"heldout": h, "num_training_clusters": k, "score": s, "training_clusters": c}
        for h, k, s, c in (("nli", 0, 30.0, []), ("cbqa", 0, 10.0, []),
                           ("nli", 1, 40.0, ["sentiment"]), ("cbqa", 1, 20.0, ["sentiment"]))
    ]
    table = report.sweep_table(points).splitlines()
    assert table[0] == "| training clusters | trained on | nli (held out) | cbqa (held out) | average |"
    assert table[2] == "| 0 | none (initial checkpoint) | 30.0 | 10.0 | 20.0 |"
    assert table[3] == "| 1 | sentiment | 40.0 | 20.0 | 30.0 |"
    path = report.plot_clusters_vs_num_training(points, str(tmp_path / "sweep.png"),
                                                tick_labels={0: "init", 1: "+sentiment"})
    assert os.path.getsize(path) > 1000


def test_sni_table_rouge_and_exact_match(tmp_path):
    def task(dataset, rouge_l, em, metric="rouge"):
        return {"task": f"{dataset}_zs:0", "dataset": dataset, "cluster": "sni", "format": "zs",
                "template": "0", "metric": metric, "score": rouge_l,
                "values": {"rougeL": rouge_l, "exact_match": em, "accuracy": em}}

    run_a = {"tasks": [task("task1", 40.0, 10.0), task("task2", 60.0, 30.0),
                       task("other", 99.0, 99.0, metric="accuracy")]}
    run_b = {"tasks": [task("task1", 50.0, 20.0)]}
    table = report.sni_table({"a": run_a, "b": run_b})
    lines = table.splitlines()
    assert lines[0] == "| task | format | a ROUGE-L | a EM | b ROUGE-L | b EM |"
    assert lines[2] == "| task1 | zs | 40.0 | 10.0 | 50.0 | 20.0 |"
    assert lines[3] == "| task2 | zs | 60.0 | 30.0 | - | - |"
    # Means over the tasks each run has: a (40+60)/2, (10+30)/2; b its one task.
    assert lines[4] == "| **mean** |  | 50.0 | 20.0 | 50.0 | 20.0 |"
    assert "other" not in table
    assert report.sni_table({"a": {"tasks": [task("x", 1.0, 1.0, metric="accuracy")]}}) == ""
