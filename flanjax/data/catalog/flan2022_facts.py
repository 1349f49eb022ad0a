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
# v2 drops wsc273 ("it doesn't contain training data"; `flan/v2/utils.py`
# `reset_split_maxes_on_flan_v0_configs`), so it is not among them.
FLAN_EXTRA_DATASETS = ("true_case", "word_segment", "lambada", "unified_qa_science_inst")

# The TFDS training split v2 reads for each Flan-submixture dataset: `flan/v2/task_configs.py`
# FLAN_V0_TASK_CONFIGS = `flan/v2/utils.py` `reset_split_maxes_on_flan_v0_configs` of
# `task_configs_v1.py` TASK_CONFIGS. The 30k slice ("train[:30000]") goes; where v1 holds out
# the end of the train split for validation ("validation": "train[-N:]") the train split
# becomes "train[:-N]", else the whole split; true_case, fix_punct, word_segment,
# para_crawl_enes and opinion_abstracts_* keep v1's slices; lambada and
# unified_qa_science_inst are v2's own configs on "train". 30k stays a mixing-rate cap only
# (`mixtures.FLAN2022_CAPS`). Used by the Flan 2022 formats only (`tasks.flan2022_split_view`);
# FLAN 2021's tasks keep their own split and 30k slice.
FLAN_V2_TRAIN_SPLITS = {
    **dict.fromkeys(("anli_r1", "anli_r2", "anli_r3", "snli", "paws_wiki", "openbookqa",
                     "wmt14_enfr", "wmt16_translate_deen", "wmt16_translate_tren",
                     "wmt16_translate_csen", "wmt16_translate_fien", "wmt16_translate_roen",
                     "wmt16_translate_ruen", "aeslc", "cnn_dailymail", "gigaword", "multi_news",
                     "newsroom", "samsum", "xsum", "wiki_lingua_english_en", "lambada",
                     "unified_qa_science_inst"), "train"),
    **dict.fromkeys(("mnli_matched", "mnli_mismatched", "qnli", "rte", "hellaswag",
                     "imdb_reviews", "sentiment140", "sst2", "yelp_polarity_reviews",
                     "glue_mrpc", "glue_qqp", "arc_challenge", "arc_easy", "natural_questions",
                     "trivia_qa", "common_gen", "dart", "e2e_nlg", "web_nlg_en", "bool_q", "drop",
                     "multirc", "squad_v1", "squad_v2", "cosmos_qa", "record",
                     "definite_pronoun_resolution", "quac", "wic", "trec", "cola", "math_dataset",
                     "ag_news_subset"), "train[:-200]"),
    **dict.fromkeys(("cb", "copa", "wsc"), "train[:-50]"),
    **dict.fromkeys(("piqa", "stsb", "coqa"), "train[:-100]"),
    "wnli": "train[:-30]",
    "story_cloze": "validation[:-200]",
    "winogrande": "train_xl[:-200]",
    "para_crawl_enes": "train[:30000]",
    "fix_punct": "train[30200:60200]",
    "true_case": "train[:30000]",
    "word_segment": "train[60400:90400]",
    **dict.fromkeys(("opinion_abstracts_rotten_tomatoes", "opinion_abstracts_idebate"),
                    "train[:-600]"),
}

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
