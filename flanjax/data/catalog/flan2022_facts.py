"""Flan 2022's composition (Longpre et al. 2023; Chung et al. 2022) as google-research/FLAN
`flan/v2/` builds it, as data. Each fact names the file and symbol it comes from.
"""

from __future__ import annotations

from typing import Optional

# The T0 submixture is "T0-SF": t-zero's training tasks whose `in_flan` is False
# (`flan/v2/constants_t0.py` T0_TRAIN_TASK_METADATA; `flan/v2/mixtures.py`
# DEFAULT_MIXTURE_TASK_FILTERS["T0"] drops `in_flan` tasks and `_score_eval` tasks). As
# (HF_name, subset) of t-zero's `datasets.csv`. It adds race/high, race/middle and
# web_questions (T0+ datasets) and drops the 15 T0 datasets that FLAN 2021 also has.
T0_SF_DATASETS: frozenset[tuple[str, Optional[str]]] = frozenset({
    ("adversarial_qa", "dbert"), ("adversarial_qa", "dbidaf"), ("adversarial_qa", "droberta"),
    ("amazon_polarity", None), ("app_reviews", None), ("cos_e", "v1.11"), ("dbpedia_14", None),
    ("dream", None), ("duorc", "ParaphraseRC"), ("duorc", "SelfRC"),
    ("kilt_tasks", "hotpotqa"), ("qasc", None), ("quail", None), ("quarel", None),
    ("quartz", None), ("quoref", None), ("race", "high"), ("race", "middle"), ("ropes", None),
    ("sciq", None), ("social_i_qa", None), ("web_questions", None), ("wiki_bio", None),
    ("wiki_hop", "original"), ("wiki_qa", None), ("wiqa", None),
})

# NIv2 without the tasks made from MMLU (`flan/v2/task_configs.py` NIV2_MMLU_TASK_KEYS, used
# by `filter_mmlu_fn`): task numbers 685-737 and 664-667.
NIV2_MMLU_TASK_NUMBERS: frozenset[int] = frozenset(range(685, 738)) | {664, 665, 666, 667}

# Few-shot exemplars are kept while the whole input stays within this many tokens
# (`flan/v2/constants.py` FEW_SHOT_MAX_LEN).
FEW_SHOT_MAX_LEN = 1920
# Exemplars of the "five_shot" few-shot tasks (`flan/v2/tasks.py` ShotConfig.FIVE), used by
# fs_varopt / fs_noopt without FLAN_SOURCE_DIR. With it, those follow v2's FEWSHOT_PATTERNS:
# "template_mix_five_shot" and the "x_shot" tasks (25 candidates pruned by template and to
# FEW_SHOT_MAX_LEN), `flanjax.data.flan2022_fewshot`.
FEW_SHOT_NUM_SHOTS = 5

# Input inversion (`flan/v2/mixtures.py` DEFAULT_MIXTURE_RATES): CoT-II and Dialog-II at 0.3
# of their base submixture inside every zs / fs variant (`cot_zsopt` = CoT 1 + CoT-II 0.3).
INVERSION_RATE = 0.3

# Datasets of the Flan submixture beyond FLAN 2021's 62 (`flan/v2/task_configs_v1.py`,
# `flan/v2/task_configs.py` FLAN_V0_TASK_CONFIGS): `flanjax.data.catalog.flan2022_flan`.
FLAN_EXTRA_DATASETS = ("true_case", "word_segment", "wsc273", "lambada", "unified_qa_science_inst")

# Dialog in the v2 scripts (`flan/v2/mixtures.py` DEFAULT_MIXTURE_TASK_FILTERS["Dialog"];
# `flan/v2/task_configs.py` DIALOG_TASK_CONFIGS): wiki_dialog and qrecc. Task Master was
# trained on for Flan-T5 but left out of the scripts "due to legal constraints"
# (`flan/v2/README.md`, NB #2): opt-in only.
DIALOG_DATASETS = ("wiki_dialog", "qrecc")
DIALOG_OPT_IN = ("task_master",)


def is_mmlu_task(task_name: str) -> bool:
    """Whether an SNI task ("task701_mmlu_..." ) is one of NIV2_MMLU_TASK_NUMBERS."""
    head = task_name.split("_", 1)[0]
    return head.startswith("task") and head[4:].isdigit() and int(head[4:]) in NIV2_MMLU_TASK_NUMBERS
