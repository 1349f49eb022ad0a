"""T0's facts (Sanh et al. 2021), from bigscience-workshop/t-zero, as data; no data is read.

- `DATASETS`: t-zero `t0/datasets.csv` (commit 7a699e3), columns `do_train` (the training
  stage: "BASE" = T0, "GPT_EVAL" added for T0+, "SGLUE" added for T0++), `do_eval`
  ("BASE": the held-out evaluation) and `train_size` (the training examples t-zero's
  mixing rates count). Only the rows T0 trains or evaluates on are kept (not bias/fairness).
- `MAX_EXAMPLES_PER_DATASET`, `TASK_BLACKLIST` and the cap rule: t-zero
  `t0/seqio_tasks/tasks.py` (module constants and the loop that fills `mixture_cap`).
- `EVAL_TEMPLATES`: the prompts t-zero evaluates each held-out dataset with, by name, in
  its order (`evaluation/template_list.py`, `template_list`).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Optional, Sequence

# (HF_name, subset) -> (do_train, do_eval, train_size); t-zero `t0/datasets.csv`.
DATASETS: dict[tuple[str, Optional[str]], tuple[str, str, Optional[int]]] = {
    ('super_glue', 'wsc.fixed'): ('SGLUE', 'BASE', 554),
    ('winogrande', 'winogrande_xl'): ('', 'BASE', 40398),
    ('super_glue', 'cb'): ('', 'BASE', 250),
    ('super_glue', 'rte'): ('', 'BASE', 2490),
    ('anli', None): ('', 'BASE', 162865),
    ('glue', 'mrpc'): ('BASE', '', 3668),
    ('glue', 'qqp'): ('BASE', '', 363846),
    ('paws', 'labeled_final'): ('BASE', '', 49401),
    ('ai2_arc', 'ARC-Challenge'): ('GPT_EVAL', '', 1119),
    ('ai2_arc', 'ARC-Easy'): ('GPT_EVAL', '', 2251),
    ('kilt_tasks', 'hotpotqa'): ('BASE', '', 88869),
    ('trivia_qa', 'unfiltered'): ('GPT_EVAL', '', 87622),
    ('web_questions', None): ('GPT_EVAL', '', 3778),
    ('wiki_qa', None): ('BASE', '', 20360),
    ('adversarial_qa', 'dbidaf'): ('BASE', '', 10000),
    ('adversarial_qa', 'dbert'): ('BASE', '', 10000),
    ('adversarial_qa', 'droberta'): ('BASE', '', 10000),
    ('duorc', 'SelfRC'): ('BASE', '', 60721),
    ('duorc', 'ParaphraseRC'): ('BASE', '', 69524),
    ('ropes', None): ('BASE', '', 10924),
    ('squad_v2', None): ('GPT_EVAL', '', 130319),
    ('super_glue', 'record'): ('SGLUE', '', 100730),
    ('quoref', None): ('BASE', '', 19399),
    ('cos_e', 'v1.11'): ('BASE', '', 9741),
    ('cosmos_qa', None): ('BASE', '', 25262),
    ('dream', None): ('BASE', '', 6116),
    ('openbookqa', 'main'): ('GPT_EVAL', '', 4957),
    ('qasc', None): ('BASE', '', 8134),
    ('quail', None): ('BASE', '', 10246),
    ('quarel', None): ('BASE', '', 1941),
    ('quartz', None): ('BASE', '', 2696),
    ('race', 'high'): ('GPT_EVAL', '', 62445),
    ('race', 'middle'): ('GPT_EVAL', '', 25421),
    ('sciq', None): ('BASE', '', 11679),
    ('social_i_qa', None): ('BASE', '', 33410),
    ('super_glue', 'boolq'): ('SGLUE', '', 9427),
    ('super_glue', 'copa'): ('SGLUE', 'BASE', 400),
    ('super_glue', 'multirc'): ('SGLUE', '', 27243),
    ('wiki_hop', 'original'): ('BASE', '', 43738),
    ('wiqa', None): ('BASE', '', 29808),
    ('piqa', None): ('GPT_EVAL', '', 16113),
    ('amazon_polarity', None): ('BASE', '', 3600000),
    ('app_reviews', None): ('BASE', '', 288065),
    ('imdb', None): ('BASE', '', 25000),
    ('rotten_tomatoes', None): ('BASE', '', 8530),
    ('yelp_review_full', None): ('BASE', '', 650000),
    ('story_cloze', '2016'): ('', 'BASE', None),
    ('hellaswag', None): ('GPT_EVAL', 'BASE', 39905),
    ('common_gen', None): ('BASE', '', 67389),
    ('wiki_bio', None): ('BASE', '', 582659),
    ('cnn_dailymail', '3.0.0'): ('BASE', '', 287113),
    ('gigaword', None): ('BASE', '', 3803957),
    ('multi_news', None): ('BASE', '', 44972),
    ('samsum', None): ('BASE', '', 14732),
    ('xsum', None): ('BASE', '', 204045),
    ('ag_news', None): ('BASE', '', 120000),
    ('dbpedia_14', None): ('BASE', '', 560000),
    ('trec', None): ('BASE', '', 5452),
    ('super_glue', 'wic'): ('SGLUE', 'BASE', 5428),
}

# The training stages of each mixture (t-zero `tasks.py`: `t0_train`, `t0+_train`,
# `t0++_train` add `t0_train_mixture["BASE"]`, then "GPT_EVAL", then "SGLUE").
MIXTURE_STAGES: dict[str, tuple[str, ...]] = {
    "t0": ("BASE",),
    "t0_plus": ("BASE", "GPT_EVAL"),
    "t0_plus_plus": ("BASE", "GPT_EVAL", "SGLUE"),
}

# t-zero `tasks.py` MAX_EXAMPLES_PER_DATASET.
MAX_EXAMPLES_PER_DATASET = 500_000

# t-zero `tasks.py` TASK_BLACKLIST: prompted tasks (by t-zero task name) left out of every
# training mixture ("Tasks which often tokenize to > 1024 tokens", "broken cached files").
TASK_BLACKLIST: frozenset[str] = frozenset({
    'hotpot_qa_distractor_Generate_Explanations',
    'hotpot_qa_fullwiki_Generate_Explanations',
    'hotpot_qa_distractor_Generate_Answer_and_Explanations',
    'hotpot_qa_fullwiki_Generate_Answer_and_Explanations',
    'hotpot_qa_fullwiki_Generate_Answer',
    'hotpot_qa_distractor_Generate_Answer',
    'hotpot_qa_distractor_Generate_Title_2',
    'hotpot_qa_fullwiki_Generate_Title_2',
    'hotpot_qa_fullwiki_Generate_Title_1',
    'hotpot_qa_distractor_Generate_Title_1',
    'hotpot_qa_distractor_Generate_Question',
    'hotpot_qa_fullwiki_Generate_Question',
    'tab_fact_tab_fact_tab_fact_3',
    'tab_fact_tab_fact_tab_fact_2',
    'tab_fact_tab_fact_tab_fact_1',
    'tab_fact_tab_fact_tab_fact_7',
    'tab_fact_tab_fact_tab_fact_4',
    'tab_fact_tab_fact_tab_fact_5',
    'tab_fact_tab_fact_tab_fact_6',
    'wiki_hop_masked_Choose_Best_Object_Candidate',
    'wiki_hop_masked_Indirect_Question_about_Birthplace_Citizenship_Place_of_Death',
    'narrativeqa_Template_05',
    'ecthr_cases_alleged_violation_prediction_silver_rationales',
    'gigaword_summarize_',
})

# t-zero `evaluation/template_list.py` `template_list`: the prompts of each held-out dataset.
EVAL_TEMPLATES: dict[tuple[str, Optional[str]], tuple[str, ...]] = {
    ('super_glue', 'rte'): (
        'MNLI crowdsource',
        'guaranteed true',
        'can we infer',
        'GPT-3 style',
        'does this imply',
        'should assume',
        'does it follow that',
        'based on the previous passage',
        'justified in saying',
        'must be true',
    ),
    ('super_glue', 'cb'): (
        'can we infer',
        'based on the previous passage',
        'claim true/false/inconclusive',
        'does it follow that',
        'justified in saying',
        'always/sometimes/never',
        'GPT-3 style',
        'consider always/sometimes/never',
        'guaranteed true',
        'must be true',
        'guaranteed/possible/impossible',
        'does this imply',
        'MNLI crowdsource',
        'should assume',
        'take the following as truth',
    ),
    ('anli', None): (
        'MNLI crowdsource',
        'should assume',
        'does it follow that',
        'GPT-3 style',
        'based on the previous passage',
        'justified in saying',
        'take the following as truth',
        'must be true',
        'can we infer',
        'guaranteed/possible/impossible',
        'always/sometimes/never',
        'does this imply',
        'consider always/sometimes/never',
        'claim true/false/inconclusive',
        'guaranteed true',
    ),
    ('super_glue', 'wsc.fixed'): (
        'does the pronoun refer to',
        'by p they mean',
        'in other words',
        'I think they mean',
        'does p stand for',
        'GPT-3 Style',
        'replaced with',
        'p is/are r',
        'the pronoun refers to',
        'Who or what is/are',
    ),
    ('winogrande', 'winogrande_xl'): (
        'does underscore refer to',
        'stand for',
        'underscore refer to',
        'fill in the blank',
        'Replace',
    ),
    ('story_cloze', '2016'): (
        'Answer Given options',
        'Choose Story Ending',
        'Movie What Happens Next',
        'Story Continuation and Options',
        'Novel Correct Ending',
    ),
    ('super_glue', 'wic'): (
        'question-context-meaning-with-label',
        'question-context-meaning',
        'grammar_homework',
        'affirmation_true_or_false',
        'GPT-3-prompt',
        'same_sense',
        'question-context',
        'GPT-3-prompt-with-label',
        'polysemous',
        'similar-sense',
    ),
    ('hellaswag', None): (
        'Predict ending with hint',
        'Randomized prompts template',
        'complete_first_then',
        'if_begins_how_continues',
    ),
    ('super_glue', 'copa'): (
        'exercise',
        '…What could happen next, C1 or C2?',
        'i_am_hesitating',
        'plausible_alternatives',
        'C1 or C2? premise, so/because…',
        '…As a result, C1 or C2?',
        'best_option',
        '…which may be caused by',
        'more likely',
        'cause_effect',
        '…why? C1 or C2',
        'choose',
    ),
}


def task_name(dataset: str, subset: Optional[str], template: str) -> str:
    """t-zero's name of a prompted task (`seqio_tasks/utils.py` `get_task_name`)."""
    text = dataset + (f"_{subset}_" if subset is not None else "_") + template
    return re.sub(r"[^\w\d\._]+", "_", text)


# Prefix of v2's T0 task names (`flan/v2/constants_t0.py` T0_TASK_PREFIX).
FLAN_V2_TASK_PREFIX = "t0_task_adaptation:"


def flan_v2_task_key(dataset: str, subset: Optional[str], template: str) -> str:
    """v2's name of a prompted T0 task, the key of `constants_t0.T0_TRAIN_TASK_METADATA`
    (e.g. 't0_task_adaptation:race_high_Read_the_article_and_answer_the_question_no_option_')."""
    return FLAN_V2_TASK_PREFIX + task_name(dataset, subset, template)


def train_size(dataset: str, subset: Optional[str]) -> int:
    """`train_size` of t-zero's `datasets.csv` (0 where the CSV leaves it empty)."""
    key = (dataset, subset)
    if key not in DATASETS:
        raise KeyError(f"{dataset}/{subset} is not in t-zero's datasets.csv table (t0_facts.DATASETS).")
    return DATASETS[key][2] or 0


def prompt_cap(size: int, num_prompts: int) -> int:
    """Each prompted task's mixing rate: its dataset's `train_size`, or
    MAX_EXAMPLES_PER_DATASET // num_prompts for a dataset above MAX_EXAMPLES_PER_DATASET
    (t-zero `tasks.py`, `mixture_cap[task_name] = cap`)."""
    if num_prompts <= 0:
        raise ValueError("prompt_cap needs at least one prompt.")
    return MAX_EXAMPLES_PER_DATASET // num_prompts if size > MAX_EXAMPLES_PER_DATASET else size


def stage(dataset: str, subset: Optional[str]) -> str:
    """The training stage ("BASE", "GPT_EVAL", "SGLUE"), "" if t-zero never trains on it."""
    return DATASETS[(dataset, subset)][0] if (dataset, subset) in DATASETS else ""


# flanjax's T0 entry -> its (HF_name, subset) in t-zero's table and promptsource's
# `templates/{HF_name}/[{subset}/]templates.yaml`.
PROMPTSOURCE_DATASETS: dict[str, tuple[str, Optional[str]]] = {
    "t0_anli_r1": ("anli", None), "t0_anli_r2": ("anli", None), "t0_anli_r3": ("anli", None),
    "t0_super_glue_cb": ("super_glue", "cb"), "t0_super_glue_rte": ("super_glue", "rte"),
    "t0_super_glue_wsc_fixed": ("super_glue", "wsc.fixed"),
    "t0_winogrande_xl": ("winogrande", "winogrande_xl"),
    "t0_super_glue_copa": ("super_glue", "copa"), "t0_hellaswag": ("hellaswag", None),
    "t0_story_cloze_2016": ("story_cloze", "2016"), "t0_super_glue_wic": ("super_glue", "wic"),
    "t0_commonsense_qa": ("cos_e", "v1.11"), "t0_dream": ("dream", None),
    "t0_quail": ("quail", None), "t0_quartz": ("quartz", None),
    "t0_social_i_qa": ("social_i_qa", None), "t0_wiqa": ("wiqa", None),
    "t0_cosmos_qa": ("cosmos_qa", None), "t0_qasc": ("qasc", None),
    "t0_quarel": ("quarel", None), "t0_sciq": ("sciq", None),
    "t0_wiki_hop_original": ("wiki_hop", "original"),
    "t0_adversarial_qa_dbidaf": ("adversarial_qa", "dbidaf"),
    "t0_adversarial_qa_dbert": ("adversarial_qa", "dbert"),
    "t0_adversarial_qa_droberta": ("adversarial_qa", "droberta"),
    "t0_quoref": ("quoref", None), "t0_duorc_paraphrase_rc": ("duorc", "ParaphraseRC"),
    "t0_duorc_self_rc": ("duorc", "SelfRC"), "t0_ropes": ("ropes", None),
    "t0_hotpot_qa": ("kilt_tasks", "hotpotqa"), "t0_common_gen": ("common_gen", None),
    "t0_wiki_bio": ("wiki_bio", None), "t0_cnn_dailymail": ("cnn_dailymail", "3.0.0"),
    "t0_gigaword": ("gigaword", None), "t0_multi_news": ("multi_news", None),
    "t0_samsum": ("samsum", None), "t0_xsum": ("xsum", None), "t0_wiki_qa": ("wiki_qa", None),
    "t0_amazon_polarity": ("amazon_polarity", None), "t0_app_reviews": ("app_reviews", None),
    "t0_imdb": ("imdb", None), "t0_rotten_tomatoes": ("rotten_tomatoes", None),
    "t0_yelp_review_full": ("yelp_review_full", None), "t0_ag_news": ("ag_news", None),
    "t0_dbpedia_14": ("dbpedia_14", None), "t0_trec": ("trec", None),
    "t0_glue_mrpc": ("glue", "mrpc"), "t0_glue_qqp": ("glue", "qqp"),
    "t0_paws_labeled_final": ("paws", "labeled_final"),
    # T0+ / T0++ / T0-SF additions (`flanjax.data.catalog.t0_plus`).
    "t0_ai2_arc_challenge": ("ai2_arc", "ARC-Challenge"), "t0_ai2_arc_easy": ("ai2_arc", "ARC-Easy"),
    "t0_trivia_qa_unfiltered": ("trivia_qa", "unfiltered"), "t0_web_questions": ("web_questions", None),
    "t0_squad_v2": ("squad_v2", None), "t0_openbookqa_main": ("openbookqa", "main"),
    "t0_race_high": ("race", "high"), "t0_race_middle": ("race", "middle"), "t0_piqa": ("piqa", None),
    "t0_super_glue_record": ("super_glue", "record"), "t0_super_glue_boolq": ("super_glue", "boolq"),
    "t0_super_glue_multirc": ("super_glue", "multirc"),
}


@dataclasses.dataclass(frozen=True)
class Prompts:
    """An entry's templates and what t-zero's rates need to know about them.

    `templates`: the prompts trained on (t-zero's TASK_BLACKLIST removed); `eval_templates`:
    indices of the prompts t-zero evaluates (None: all); `num_source_prompts`: the
    prompts of the dataset before the blacklist (t-zero divides its cap by this count).
    """

    templates: tuple[Any, ...]
    eval_templates: Optional[tuple[int, ...]]
    num_source_prompts: int


def select(entry_name: str, templates: Sequence[Any], origin: str) -> Prompts:
    """t-zero's choice of training and evaluation prompts among promptsource `templates`."""
    dataset, subset = PROMPTSOURCE_DATASETS[entry_name]
    kept = tuple(
        t for t in templates if task_name(dataset, subset, t.name) not in TASK_BLACKLIST
    )
    if not kept:
        raise ValueError(f"{origin}: every prompt of {dataset}/{subset} is on t-zero's TASK_BLACKLIST.")
    eval_names = EVAL_TEMPLATES.get((dataset, subset))
    eval_idx = None
    if eval_names is not None:
        index = {t.name: i for i, t in enumerate(kept)}
        missing = [n for n in eval_names if n not in index]
        if missing:
            raise ValueError(
                f"{origin} lacks the prompts t-zero evaluates {dataset}/{subset} with "
                f"(evaluation/template_list.py): {missing}; is it promptsource's templates?"
            )
        eval_idx = tuple(index[n] for n in eval_names)
    return Prompts(kept, eval_idx, len(templates))


def dataset_rate(entry_name: str, num_prompts: int, num_source_prompts: int) -> float:
    """The mixing rate of one flanjax T0 training task: t-zero's `num_prompts` prompted
    tasks of the dataset, each with rate `prompt_cap(train_size, num_source_prompts)`.

    flanjax trains one task per dataset that draws one of its prompts per example, so the
    dataset's rate is the sum of its prompted tasks' rates. Nothing is read or counted.
    """
    dataset, subset = PROMPTSOURCE_DATASETS[entry_name]
    return float(num_prompts * prompt_cap(train_size(dataset, subset), num_source_prompts))


# HF `trec` as promptsource 0.1.0 read it (datasets' `trec.py` before its rewrite):
# "label-coarse" over these coarse classes and "label-fine" over these 47 fine ones.
TREC_OLD_COARSE = ("DESC", "ENTY", "ABBR", "HUM", "NUM", "LOC")
TREC_OLD_FINE = (
    "manner", "cremat", "animal", "exp", "ind", "gr", "title", "def", "date", "reason", "event",
    "state", "desc", "count", "other", "letter", "religion", "food", "country", "color", "termeq",
    "city", "body", "dismed", "mount", "money", "product", "period", "substance", "sport",
    "plant", "techmeth", "volsize", "instru", "abb", "speed", "word", "lang", "perc", "code",
    "dist", "temp", "symbol", "ord", "veh", "weight", "currency",
)
# HF `trec` today: "coarse_label" over these (TREC_NAMES' order) and "fine_label" over 50
# "COARSE:fine" labels.
TREC_COARSE = ("ABBR", "ENTY", "DESC", "HUM", "LOC", "NUM")
TREC_FINE = (
    "ABBR:abb", "ABBR:exp", "ENTY:animal", "ENTY:body", "ENTY:color", "ENTY:cremat",
    "ENTY:currency", "ENTY:dismed", "ENTY:event", "ENTY:food", "ENTY:instru", "ENTY:lang",
    "ENTY:letter", "ENTY:other", "ENTY:plant", "ENTY:product", "ENTY:religion", "ENTY:sport",
    "ENTY:substance", "ENTY:symbol", "ENTY:techmeth", "ENTY:termeq", "ENTY:veh", "ENTY:word",
    "DESC:def", "DESC:desc", "DESC:manner", "DESC:reason", "HUM:gr", "HUM:ind", "HUM:title",
    "HUM:desc", "LOC:city", "LOC:country", "LOC:mount", "LOC:other", "LOC:state", "NUM:code",
    "NUM:count", "NUM:date", "NUM:dist", "NUM:money", "NUM:ord", "NUM:other", "NUM:period",
    "NUM:perc", "NUM:speed", "NUM:temp", "NUM:volsize", "NUM:weight",
)
