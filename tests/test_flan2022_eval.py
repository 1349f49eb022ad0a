"""Flan 2022's held-out benchmarks (MMLU, BBH, TyDiQA, MGSM) with fixed exemplars.

Each benchmark reads small files the test writes in the published layouts (MMLU's CSV
release, BBH's repository, an MGSM JSON-lines copy, TFDS mock data for TyDiQA). Expected
prompts are written out by hand from the papers' formats.
"""

import csv
import json
import os

import jax
import pytest
import seqio
import tensorflow_datasets as tfds

from flanjax.data import catalog, mixtures, render, sources  # noqa: F401
from flanjax.data import tasks as tasks_lib
from flanjax.data.catalog import flan2022_eval as fe
from flanjax.data import metrics
from flanjax.evaluation import heldout
from flanjax.model import T5Config, init_params

LENGTHS = {"inputs": 2048, "targets": 64}

from _bbh import BBH_PROMPT  # noqa: E402

MMLU_COT = {
    "anatomy": (
        "The following are multiple choice questions (with answers) about anatomy.\n\n"
        + "\n\n".join(
            f"Q: Cot q{i}?\n(A) w (B) x (C) y (D) z\nA: Let's think step by step. Because {i}. "
            f"The answer is ({'ABCD'[i % 4]})."
            for i in range(5)
        )
    )
}


@pytest.fixture(autouse=True)
def _fresh_exemplars():
    # Each test points the env variables at its own files.
    render.clear_exemplar_caches()
    yield
    render.clear_exemplar_caches()


def _first(name, split="test"):
    ds = seqio.get_mixture_or_task(name).get_dataset(
        sequence_length=LENGTHS, split=split, shuffle=False
    )
    return list(ds.as_numpy_iterator())


def _s(x):
    return x.decode() if isinstance(x, bytes) else x


@pytest.fixture
def bbh_dir(tmp_path, monkeypatch):
    (tmp_path / "bbh").mkdir()
    (tmp_path / "cot-prompts").mkdir()
    (tmp_path / "cot-prompts" / "navigate.txt").write_text(BBH_PROMPT)
    examples = [
        {"input": "Take 4 steps.\nOptions:\n- Yes\n- No", "target": "No"},
        {"input": "Stay put.\nOptions:\n- Yes\n- No", "target": "Yes"},
    ]
    (tmp_path / "bbh" / "navigate.json").write_text(json.dumps({"canary": "c", "examples": examples}))
    monkeypatch.setenv(fe.BBH_DIR_ENV, str(tmp_path))
    return tmp_path


@pytest.fixture
def mmlu_dir(tmp_path, monkeypatch):
    for split in ("dev", "test"):
        (tmp_path / split).mkdir()
    with open(tmp_path / "dev" / "anatomy_dev.csv", "w", newline="") as f:
        w = csv.writer(f)
        for i in range(5):
            w.writerow([f'Dev q{i}, "quoted"?', "a1", "b1", "c1", "d1", "ABCD"[i % 4]])
    with open(tmp_path / "test" / "anatomy_test.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Which bone, of these?", "Femur", "Ulna", "Tibia", "Skull", "B"])
        w.writerow(["Second?", "p", "q", "r", "s", "D"])
    prompts = tmp_path / "mmlu-cot.json"
    prompts.write_text(json.dumps(MMLU_COT))
    monkeypatch.setenv(fe.MMLU_DIR_ENV, str(tmp_path))
    monkeypatch.setenv(fe.MMLU_COT_PROMPTS_ENV, str(prompts))
    return tmp_path


def test_inventory():
    entries = catalog.entries_in(fe.COLLECTION)
    by_cluster = {}
    for e in entries:
        by_cluster.setdefault(e.cluster, []).append(e)
    assert {c: len(v) for c, v in by_cluster.items()} == {
        "mmlu": 57, "mmlu_cot": 57, "bbh": 27, "bbh_cot": 27, "tydiqa": 8, "tydiqa_en": 1,
        "mgsm": 11,
    }
    shots = {c: {e.num_shots for e in v} for c, v in by_cluster.items()}
    assert shots == {"mmlu": {5}, "mmlu_cot": {5}, "bbh": {3}, "bbh_cot": {3}, "tydiqa": {1},
                     "tydiqa_en": {1}, "mgsm": {8}}
    # Held-out benchmarks are never trained on: eval tasks only.
    names = seqio.TaskRegistry.names()
    assert "mmlu_anatomy_fs:direct" in names and "bbh_cot_navigate_fs:cot" in names
    assert not any(n.startswith(("mmlu_anatomy_zs", "mgsm_de_fs")) and ":" not in n for n in names)
    assert all(tasks_lib.train_formats(e) == [] for e in entries)
    tasks = heldout.resolve_tasks("bbh_cot", fmt="fs")
    assert len(tasks) == 27 and all(t.name.endswith("_fs:cot") for t in tasks)


def test_parse_qa_prompt():
    header, shots = fe.parse_qa_prompt(BBH_PROMPT, "navigate.txt")
    assert header == "Decide whether the walk returns to the start."
    assert len(shots) == 3
    assert shots[1] == (
        "Take 2 steps.\nOptions:\n- Yes\n- No",
        "Let's think step by step.\nWe end 2 steps away. So the answer is No.",
    )
    with pytest.raises(fe.BenchmarkDataError, match="no 'Q: ... A: ...'"):
        fe.parse_qa_prompt("just text", "bad.txt")
    with pytest.raises(fe.BenchmarkDataError, match="exemplar 1 has a 'Q:' but no"):
        fe.parse_qa_prompt("Q: a question without answer", "bad.txt")


def test_bbh_cot_and_direct_prompts(bbh_dir):
    q = "Q: Take 4 steps.\nOptions:\n- Yes\n- No\nA:"
    cot = _first("bbh_cot_navigate_fs:cot")
    assert _s(cot[0]["inputs_pretokenized"]) == (
        "Decide whether the walk returns to the start.\n\n"
        "Q: Take 1 step. Take 1 step back.\nOptions:\n- Yes\n- No\n"
        "A: Let's think step by step. One step forward, one back. So the answer is Yes.\n\n"
        "Q: Take 2 steps.\nOptions:\n- Yes\n- No\n"
        "A: Let's think step by step. We end 2 steps away. So the answer is No.\n\n"
        "Q: Turn around. Take 3 steps.\nOptions:\n- Yes\n- No\n"
        "A: Let's think step by step. We end 3 steps away. So the answer is No.\n\n"
        + q + " Let's think step by step."
    )
    assert _s(cot[0]["targets_pretokenized"]) == "No" and len(cot) == 2
    direct = _first("bbh_navigate_fs:direct")
    assert _s(direct[0]["inputs_pretokenized"]) == (
        "Decide whether the walk returns to the start.\n\n"
        "Q: Take 1 step. Take 1 step back.\nOptions:\n- Yes\n- No\nA: Yes\n\n"
        "Q: Take 2 steps.\nOptions:\n- Yes\n- No\nA: No\n\n"
        "Q: Turn around. Take 3 steps.\nOptions:\n- Yes\n- No\nA: No\n\n" + q
    )
    zero = _first("bbh_navigate_zs:direct")
    assert _s(zero[1]["inputs_pretokenized"]) == "Q: Stay put.\nOptions:\n- Yes\n- No\nA:"


def test_mmlu_direct_prompt_and_options(mmlu_dir):
    rows = _first("mmlu_anatomy_fs:direct")
    shots = "".join(
        f'Dev q{i}, "quoted"?\nA. a1\nB. b1\nC. c1\nD. d1\nAnswer: {"ABCD"[i % 4]}\n\n'
        for i in range(5)
    )
    assert _s(rows[0]["inputs_pretokenized"]) == (
        "The following are multiple choice questions (with answers) about anatomy.\n\n"
        + shots + "Which bone, of these?\nA. Femur\nB. Ulna\nC. Tibia\nD. Skull\nAnswer:"
    )
    assert [_s(o) for o in rows[0]["answer_options"]] == ["A", "B", "C", "D"]
    assert _s(rows[0]["targets_pretokenized"]) == "B" and _s(rows[1]["targets_pretokenized"]) == "D"


def test_mmlu_cot_prompt(mmlu_dir):
    rows = _first("mmlu_cot_anatomy_fs:cot")
    text = _s(rows[0]["inputs_pretokenized"])
    assert text.startswith(
        "The following are multiple choice questions (with answers) about anatomy.\n\n"
        "Q: Cot q0?\n(A) w (B) x (C) y (D) z\nA: Let's think step by step. Because 0. The answer is (A).\n\n"
    )
    assert text.endswith(
        "Q: Which bone, of these?\n(A) Femur (B) Ulna (C) Tibia (D) Skull\nA: Let's think step by step."
    )
    assert text.count("Q: ") == 6
    assert _s(rows[0]["targets_pretokenized"]) == "(B)"
    assert sorted(_s(r) for r in rows[0]["references"]) == ["(B)", "B"]


def test_chain_of_thought_answers_are_extracted_and_scored():
    # Evaluation reads the answer after "the answer is"; "(B)" and "B" both count for MMLU.
    entry = catalog.get_entry("mmlu_cot_anatomy")
    assert entry.extracts_cot_answer and not catalog.get_entry("mmlu_anatomy").extracts_cot_answer
    example = {"references": [b"B", b"(B)"], "targets_pretokenized": b"(B)"}
    refs = metrics.gold_answers(example["targets_pretokenized"], example, chain_of_thought=True)
    preds = ["Bones are long. So the answer is (B).", "the answer is B", "The answer is (C).", ""]
    answers = [heldout.generation.postprocess(p, chain_of_thought=True) for p in preds]
    assert answers == ["(B)", "B", "(C)", ""]
    assert metrics.accuracy([refs] * 4, answers)["accuracy"] == 50.0


def test_fixed_exemplars_missing_or_short(mmlu_dir, monkeypatch, tmp_path):
    # Fewer dev rows than the paper's k: the error names the file and both counts.
    with open(mmlu_dir / "dev" / "anatomy_dev.csv", "w", newline="") as f:
        csv.writer(f).writerows([["q", "a", "b", "c", "d", "A"]] * 2)
    with pytest.raises(ValueError, match=r"5-shot but .*anatomy_dev.csv has only 2 exemplars"):
        _first("mmlu_anatomy_fs:direct")
    monkeypatch.delenv(fe.MMLU_COT_PROMPTS_ENV)
    with pytest.raises(fe.BenchmarkDataError, match=fe.MMLU_COT_PROMPTS_ENV):
        _first("mmlu_cot_anatomy_fs:cot")
    monkeypatch.setenv(fe.BBH_DIR_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(fe.BenchmarkDataError, match="navigate.json does not exist"):
        _first("bbh_navigate_zs:direct")


def test_exemplars_dropped_to_fit_are_counted(bbh_dir):
    before = render.trimmed_counts().get("bbh_cot_navigate_fs:cot", 0)
    ds = seqio.get_mixture_or_task("bbh_cot_navigate_fs:cot").get_dataset(
        sequence_length={"inputs": 64, "targets": 16}, split="test", shuffle=False
    )
    rows = list(ds.as_numpy_iterator())
    assert render.trimmed_counts()["bbh_cot_navigate_fs:cot"] - before == 2 * 3
    # The header and the query stay; no exemplar fits in 64 tokens.
    assert _s(rows[0]["inputs_pretokenized"]).startswith("Decide whether the walk returns")
    assert "Take 1 step" not in _s(rows[0]["inputs_pretokenized"])


def test_tydiqa_one_shot_from_exemplar_file(tmp_path, monkeypatch):
    shot = {"language": "swahili", "title": "T", "context": "Ctx one.", "question": "Q one?",
            "answer": "one"}
    path = tmp_path / "tydiqa_exemplars.jsonl"
    path.write_text(json.dumps({"language": "arabic", "context": "x", "question": "y", "answer": "z"})
                    + "\n" + json.dumps(shot) + "\n")
    monkeypatch.setenv(fe.TYDIQA_EXEMPLARS_ENV, str(path))
    with tfds.testing.mock_data(num_examples=4):
        raw = [sources.to_python(ex) for ex in tfds.as_numpy(tfds.load(fe.TYDIQA_TFDS, split="validation-sw"))]
        rows = _first("tydiqa_sw_fs:direct", split="validation")
    raw = [r for r in raw if any(a.strip() for a in r["answers"]["text"])]
    assert rows and len(rows) == len(raw)
    r, ex = raw[0], rows[0]
    assert _s(ex["inputs_pretokenized"]) == (
        f"Ctx one.\n\nQ: Q one?\nA: one\n\n{r['context'].strip()}\n\nQ: {r['question'].strip()}\nA:"
    )
    answers = [a.strip() for a in r["answers"]["text"] if a.strip()]
    assert [_s(x) for x in ex["references"]] == list(dict.fromkeys(answers))
    monkeypatch.setenv(fe.TYDIQA_EXEMPLARS_ENV, str(tmp_path / "none.jsonl"))
    with pytest.raises(fe.BenchmarkDataError, match="none.jsonl does not exist"):
        catalog.get_entry("tydiqa_sw").fixed_shots()


def test_tydiqa_exemplar_from_train_split_of_the_language():
    rows = [
        {"id": "arabic-1", "title": "", "context": "c-ar", "question": "q-ar", "answers": {"text": ["a"]}},
        {"id": "swahili-7", "title": "", "context": "c-sw", "question": "q-sw", "answers": {"text": ["s"]}},
    ]
    source = sources.FunctionSource(rows=lambda split: rows, splits={"train": "train"})
    fixed = fe._tydiqa_shots("sw", "swahili", source)  # pylint: disable=protected-access
    assert [s["context"] for s in fixed.shots] == ["c-sw"]
    with pytest.raises(fe.BenchmarkDataError, match="no telugu example"):
        fe._tydiqa_shots("te", "telugu", source)  # pylint: disable=protected-access


def test_mgsm_native_exemplars_set_the_layout(tmp_path, monkeypatch):
    lang_dir = tmp_path / "de"
    lang_dir.mkdir()
    train = [
        {"question": f"Frage: Aufgabe {i}?", "answer": f"Schritt-für-Schritt-Antwort: Rechne {i}. Die Antwort lautet {i}.",
         "answer_number": i, "equation_solution": ""}
        for i in range(8)
    ]
    test = [{"question": "Wie viele sind 2 und 3?", "answer": None, "answer_number": 5,
             "equation_solution": ""}]
    (lang_dir / "train.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in train))
    (lang_dir / "test.jsonl").write_text(json.dumps(test[0]))
    monkeypatch.setenv(fe.MGSM_DIR_ENV, str(tmp_path))
    rows = _first("mgsm_de_fs:cot")
    expected = "".join(
        f"Frage: Aufgabe {i}?\nSchritt-für-Schritt-Antwort: Rechne {i}. Die Antwort lautet {i}.\n\n"
        for i in range(8)
    )
    assert _s(rows[0]["inputs_pretokenized"]) == (
        expected + "Frage: Wie viele sind 2 und 3?\nSchritt-für-Schritt-Antwort:"
    )
    assert _s(rows[0]["targets_pretokenized"]) == "5"
    # Scored on the last number of the prediction, whatever the language of the phrase.
    answers = [heldout.generation.postprocess(p, chain_of_thought=True)
               for p in ["2 + 3 = 5. Die Antwort lautet 5.", "Es sind 1,005.", "keine Ahnung"]]
    assert metrics.numeric_match([["5"], ["1005"], ["3"]], answers)["numeric_match"] == pytest.approx(200 / 3)


def test_evaluate_benchmarks_end_to_end(bbh_dir, mmlu_dir):
    from flanjax.data.bundled import ensure_prepared

    ensure_prepared()
    config = T5Config.tiny(vocab_size=896, dtype="float32")
    params = jax.device_get(init_params(config, jax.random.key(0)))
    settings = heldout.EvalSettings(lengths=(("inputs", 1024), ("targets", 8)), batch_size=4)
    tasks = heldout.resolve_tasks("mmlu_anatomy,bbh_cot_navigate", fmt="fs")
    results = heldout.evaluate(config, params, tasks, settings, log=False)
    by_task = {r["task"]: r for r in results["tasks"]}
    mmlu, bbh = by_task["mmlu_anatomy_fs:direct"], by_task["bbh_cot_navigate_fs:cot"]
    assert (mmlu["num_ranked"], mmlu["num_generated"]) == (2, 0)  # rank over A-D
    assert (bbh["num_ranked"], bbh["num_generated"]) == (0, 2)
    assert len(mmlu["samples"]) == 2 and all(s["prediction"] in ("A", "B", "C", "D") for s in mmlu["samples"])
    assert set(results["clusters"]) == {"mmlu", "bbh_cot"}
    assert mmlu["exemplars_dropped"] == 0 and bbh["exemplars_dropped"] == 0
    # Too short an input: the report says how many exemplars were left out (2 examples x 3).
    short = heldout.EvalSettings(lengths=(("inputs", 64), ("targets", 8)), batch_size=4)
    result = heldout.evaluate_task(config, params, heldout.resolve_tasks("bbh_cot_navigate", fmt="fs")[0], short)
    assert result.exemplars_dropped == 6


def test_eval_gin_config_names_every_suite():
    import gin

    from flanjax.cli import gin_setup as gin_utils

    gin.clear_config()
    try:
        gin_utils.parse_gin(["runs/eval_flan2022.gin"], ["CHECKPOINT_PATH='/c'", "OUTPUT_DIR='/o'"])
        eval_on = gin.query_parameter("%EVAL_ON")
        assert gin.query_parameter("%EVAL_FORMAT") == "fs"
        collection = gin.query_parameter("%EVAL_COLLECTION")
    finally:
        gin.clear_config()
    tasks = heldout.resolve_tasks(eval_on, fmt="fs", collection=collection)
    counts = {}
    for t in tasks:
        counts[t.entry.cluster] = counts.get(t.entry.cluster, 0) + 1
    assert counts == {"mmlu": 57, "mmlu_cot": 57, "bbh": 27, "bbh_cot": 27, "tydiqa": 8, "mgsm": 11}


def test_hub_sources_when_no_local_copy(monkeypatch):
    # Without FLANJAX_MMLU_DIR / FLANJAX_MGSM_DIR the rows come from `datasets.load_dataset`
    # (the hub or its cache); here it is replaced by a recorder returning hub-shaped rows.
    import datasets

    monkeypatch.delenv(fe.MMLU_DIR_ENV, raising=False)
    monkeypatch.delenv(fe.MGSM_DIR_ENV, raising=False)
    calls = []

    def fake_load(path, name=None, split=None, **kwargs):
        calls.append((path, name, split))
        if path == "cais/mmlu":  # answer is the index of the right choice
            return [{"question": "Q?", "subject": name, "choices": ["w", "x", "y", "z"], "answer": 2}]
        return [{"question": "Question: 1+1?", "answer": "Step-by-Step Answer: 1+1=2. The answer is 2.",
                 "answer_number": 2, "equation_solution": "1+1=2"}] * 8

    monkeypatch.setattr(datasets, "load_dataset", fake_load)
    fixed = catalog.get_entry("mmlu_virology").fixed_shots()
    assert calls == [("cais/mmlu", "virology", "dev")]
    assert fixed.shots[0]["answer"] == "C" and fixed.shots[0]["subject"] == "virology"
    fixed = catalog.get_entry("mgsm_en").fixed_shots()
    assert calls[-1] == (fe.MGSM_HF_PATH, "en", "train") and len(fixed.shots) == 8
    assert fixed.shots[0].inputs == "1+1?" and fixed.shots[0].targets == "1+1=2. The answer is 2."
    assert (fixed.layout.inputs_prefix, fixed.layout.targets_prefix) == ("Question: ", "Step-by-Step Answer: ")


_EXEMPLARS_PY = '''"""Prompts for mgsm."""
# pylint: disable=line-too-long

EXEMPLAR_NUMBER_ANSWERS = [0, 1, 2, 3, 4, 5, 6, 7]

MGSM_EXEMPLARS = {
    "de": {
%s
    },
}
'''


def test_mgsm_release_layout_reads_tsv_and_exemplars_py(tmp_path, monkeypatch):
    # google-research/url-nlp mgsm/ as released: mgsm_{lang}.tsv and exemplars.py (read with
    # ast; implicit string concatenation as in the real file).
    release = tmp_path / "mgsm"
    release.mkdir()
    shots = "\n".join(
        f'        "{i + 1}": {{"q": "Frage: "\n              "Aufgabe {i}?", '
        f'"a": "Schritt-für-Schritt-Antwort: Rechne {i}. Die Antwort lautet {i}."}},'
        for i in range(8))
    (release / "exemplars.py").write_text(_EXEMPLARS_PY % shots)
    (release / "mgsm_de.tsv").write_text("Wie viele sind 2 und 3?\t5\n")
    monkeypatch.setenv(fe.MGSM_DIR_ENV, str(tmp_path))
    rows = _first("mgsm_de_fs:cot")
    expected = "".join(
        f"Frage: Aufgabe {i}?\nSchritt-für-Schritt-Antwort: Rechne {i}. Die Antwort lautet {i}.\n\n"
        for i in range(8)
    )
    assert _s(rows[0]["inputs_pretokenized"]) == (
        expected + "Frage: Wie viele sind 2 und 3?\nSchritt-für-Schritt-Antwort:"
    )
    assert _s(rows[0]["targets_pretokenized"]) == "5"
    assert catalog.get_entry("mgsm_de").fixed_shots().origin == str(release / "exemplars.py")
    # A malformed line fails naming the file and line.
    (release / "mgsm_de.tsv").write_text("only one column\n")
    from flanjax.data.catalog import mgsm_release

    with pytest.raises(ValueError, match=r"mgsm_de.tsv:1: expected 2 tab-separated"):
        list(mgsm_release.test_rows(str(release), "de"))
