"""Flan 2022 as `flan/v2` composes it (`flanjax.data.catalog.flan2022_facts`): T0-SF,
CoT-II / Dialog-II at 0.3 inside every zs / fs variant, Task Master opt-in, NIv2 without
MMLU tasks, few-shot exemplars pruned to FEW_SHOT_MAX_LEN."""

from __future__ import annotations

import json

import pytest
import seqio

import flanjax.data.mixtures  # noqa: F401  (registers every mixture)
from flanjax.data import locations, mixtures, sni
from flanjax.data.catalog import flan2022_facts


def _names(mixture: str) -> set[str]:
    return {t.name for t in seqio.get_mixture_or_task(mixture).tasks}


def test_t0_submixture_is_t0_sf():
    t0 = _names("t0_zsopt")
    # in_flan False in constants_t0.py: kept; in_flan True (also in FLAN 2021): dropped.
    assert {"t0_commonsense_qa_zs_varopt", "t0_wiki_bio_zs", "t0_amazon_polarity_zs_varopt",
            "t0_race_high_zs", "t0_race_middle_zs", "t0_web_questions_zs"} <= t0
    for dropped in ("t0_imdb", "t0_ag_news", "t0_glue_qqp", "t0_xsum", "t0_cnn_dailymail"):
        assert not any(n.startswith(dropped + "_") for n in t0), dropped
    assert not any("super_glue" in n or "anli" in n or "squad" in n or "arc" in n for n in t0)


def test_inverted_cot_and_dialog_at_0_3_in_each_variant(monkeypatch):
    monkeypatch.setattr(mixtures, "num_train_examples", lambda task, split="train": 1000)
    for collection in ("cot", "dialog"):
        for variant in ("zsopt", "fsopt"):
            mix = seqio.get_mixture_or_task(f"{collection}_{variant}")
            rates = mix.rate_per_task_name if hasattr(mix, "rate_per_task_name") else None
            total_base = sum(mix.get_rate(t) for t in mix.tasks if not t.name.endswith("_inv"))
            total_inv = sum(mix.get_rate(t) for t in mix.tasks if t.name.endswith("_inv"))
            # Equal counts: the base and -II submixtures weigh 1 : 0.3.
            assert total_inv / total_base == pytest.approx(0.3), (collection, variant, rates)
    assert "cot_gsm8k_inv" in _names("cot_ii")


def test_task_master_is_opt_in():
    assert "dialog_task_master_zs" not in _names("dialog_zsopt")
    assert {"dialog_wiki_dialog_zs", "dialog_qrecc_zs"} <= _names("dialog_zsopt")
    assert locations.get("FLAN2022_TASK_MASTER") == "0"


def test_niv2_submixture_leaves_out_mmlu_tasks(tmp_path):
    assert _names("niv2_zsopt") == {"niv2_zs_no_mmlu"}
    assert _names("niv2_fsopt") == {"niv2_fs_no_mmlu"}
    assert flan2022_facts.is_mmlu_task("task685_mmlu_answer_generation_abstract_algebra")
    assert flan2022_facts.is_mmlu_task("task664_mmlu_x")
    assert not flan2022_facts.is_mmlu_task("task738_perspectrum")
    assert not flan2022_facts.is_mmlu_task("task663_x")
    task = {"Definition": ["d"], "Positive Examples": [], "Negative Examples": [],
            "Categories": ["c"], "Instances": [{"id": "1", "input": "q", "output": ["a"]}]}
    for name in ("task001_keep", "task700_mmlu_drop"):
        (tmp_path / f"{name}.json").write_text(json.dumps(task))
    locations.configure({"SNI_DIR": str(tmp_path)})
    try:
        kept = [r["task_name"] for r in sni._rows("train", num_pos=0, exclude_mmlu=True)]
        every = [r["task_name"] for r in sni._rows("train", num_pos=0)]
    finally:
        locations.configure({"SNI_DIR": None})
    assert kept == ["task001_keep"] and every == ["task001_keep", "task700_mmlu_drop"]


class _FakeRenderer:
    """Records the input budget the task layer gives the few-shot renderer."""

    class spec:  # noqa: N801
        kind = "fs"

    class entry:  # noqa: N801  # a catalog entry whose prompt source is intact
        name = "fake"

    task_name = "fake_fs"

    def __init__(self):
        self.budgets = []

    def pool(self):
        return []

    def fixed_shots(self):
        return None

    def __call__(self, example, *, seed, max_input_length):
        self.budgets.append(max_input_length)
        return {"inputs": "i", "targets": "t", "answer_options": [], "template_id": "0",
                "references": []}


@pytest.mark.parametrize("inputs, train, budget", [
    (4096, True, 1920),   # flan/v2/constants.py FEW_SHOT_MAX_LEN
    (512, True, 511),     # the feature length (minus EOS) when it is shorter
    (4096, False, 4095),  # evaluation keeps the feature length
])
def test_few_shot_training_prunes_to_few_shot_max_len(inputs, train, budget):
    import tensorflow as tf

    from flanjax.data import tasks

    renderer = _FakeRenderer()
    fn = tasks.make_render_preprocessor(
        renderer, uses_length=True,
        max_input_tokens=flan2022_facts.FEW_SHOT_MAX_LEN if train else None)
    ds = tf.data.Dataset.from_tensors({"x": tf.constant("a")})
    list(fn(ds, sequence_length={"inputs": inputs}).as_numpy_iterator())
    assert renderer.budgets == [budget]


def test_flan2022_few_shot_formats_use_five_exemplars():
    from flanjax.data import tasks

    assert tasks.TRAIN_FORMATS["fs_varopt"].num_shots == 5  # flan/v2/tasks.py ShotConfig.FIVE
    assert tasks.TRAIN_FORMATS["fs_noopt"].num_shots == 5
    assert tasks.TRAIN_FORMATS["fs"].num_shots == tasks.DEFAULT_NUM_SHOTS
