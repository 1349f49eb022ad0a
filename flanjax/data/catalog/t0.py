"""T0 (Sanh et al. 2021, "Multitask Prompted Training Enables Zero-Shot Task Generalization"):
the P3 training datasets by cluster and the 11 held-out evaluation datasets (Figure 2).

Datasets are read with Hugging Face `datasets` (`sources.HfSource`, the `[hf]` extra) under
the names and configs promptsource used (its T0 list, `seqio_tasks/experiment_D4.csv`).
Templates are promptsource `templates.yaml` files in `t0_templates/`, written for flanjax in
promptsource's conventions (Jinja, "|||" between prompt and target, `answer_choices`).

`preprocess` hands the templates the HF row unchanged (they read HF column names), except:
- rank-classification entries add `options` (the row's answer options: label names for
  classification, the candidate answers for multiple choice) and `answer` (the gold option,
  "" when the row is unlabelled). Where the HF schema already has an `answer` column it is
  kept as is: the gold option for cos_e / dream / wiki_hop, but "1"/"2" for winogrande and
  the candidate sentence for wiki_qa.
- multi_news: the "|||||" article separator becomes a blank line.
- every row first goes through t-zero's row transform, promptsource's `removeHyphen`
  ("-" in a column name becomes "_"; t-zero `t0/seqio_tasks/utils.py` `apply_template`).
- trec: the row carries both HF schemas, so promptsource 0.1.0's templates (t-zero's pin;
  `label_coarse` / `label_fine`, HF's old `label-coarse` / `label-fine` after `removeHyphen`)
  and its current ones (`coarse_label` / `fine_label`) both render: each pair holds the
  label's index in its own schema's label order (`_trec`).
- story_cloze: the official CSV columns become the HF `story_cloze` column names.
Unlabelled rows (label -1, test splits) render with an empty target and are skipped by the
template layer.

Choices that follow what T0 actually trained on rather than the figure's names:
CommonsenseQA is `cos_e/v1.11` and HotpotQA is the closed-book `kilt_tasks/hotpotqa`, as in
promptsource's T0 list. ANLI is one paper dataset in three entries, one per round.

Importing this module registers the entries; it reads the (local) template files, no data.
"""

from __future__ import annotations

import functools
import hashlib
import os
from typing import Any, Callable, Mapping, Optional, Sequence

from flanjax.data import sources
from flanjax.data.templates.promptsource import PromptsourceTemplate, load_promptsource_yaml
from flanjax.data.catalog.entry import CatalogEntry, Example, Fields
from flanjax.data.catalog import flan2022_t0, t0_facts
from flanjax.data.catalog.registry import register_entry
from flanjax.data.templates import sources as prompt_sources
from flanjax.data import locations

COLLECTION = "t0"
TEMPLATES_DIR = os.path.join(os.path.dirname(__file__), "t0_templates")

# T0, Section 5 ("Training"), following Raffel et al. (2020): mixing is proportional to
# dataset size, but a dataset with over 500,000 examples counts as 500,000 / num_templates
# examples (t-zero `seqio_tasks/tasks.py`: MAX_EXAMPLES_PER_DATASET; see `t0_facts`).
T0_MAX_EXAMPLES = t0_facts.MAX_EXAMPLES_PER_DATASET

# Figure 2: the training clusters ...
CLUSTERS_TRAIN = (
    "multiple_choice_qa",
    "extractive_qa",
    "closed_book_qa",
    "sentiment",
    "topic_classification",
    "struct_to_text",
    "summarization",
    "paraphrase",
)
# ... and the held-out ones (11 datasets: ANLI, CB, RTE; WSC, Winogrande; COPA, HellaSwag,
# StoryCloze; WiC). T0 reports the median accuracy over each dataset's templates.
CLUSTERS_HELDOUT = ("nli", "coreference", "sentence_completion", "word_sense")

# The official Story Cloze 2016 release (a form on cs.rochester.edu, no direct download).
STORY_CLOZE_DIR = locations.get("STORY_CLOZE_DIR")
STORY_CLOZE_FILES = {
    "validation": "cloze_test_val__spring2016 - cloze_test_ALL_val.csv",
    "test": "cloze_test_test__spring2016 - cloze_test_ALL_test.csv",
}

TRAIN_VAL_TEST = {"train": "train", "validation": "validation", "test": "test"}
TRAIN_VAL = {"train": "train", "validation": "validation"}
TRAIN_TEST = {"train": "train", "test": "test"}


@functools.lru_cache(maxsize=None)
def load_templates(stem: str) -> tuple[PromptsourceTemplate, ...]:
    """The templates of `t0_templates/{stem}.yaml`."""
    return tuple(load_promptsource_yaml(os.path.join(TEMPLATES_DIR, f"{stem}.yaml")))


# Each entry's prompt count before t-zero's blacklist (t-zero divides its cap by it).
NUM_SOURCE_PROMPTS: dict[str, int] = {}


@functools.lru_cache(maxsize=None)
def _source_templates(path: str) -> tuple[PromptsourceTemplate, ...]:
    return tuple(load_promptsource_yaml(path))


def _prompts(name: str, stem: str) -> t0_facts.Prompts:
    """The entry's prompts: promptsource's, from PROMPTSOURCE_TEMPLATES_DIR, with t-zero's
    training and evaluation choices (`t0_facts.select`); else flanjax's own."""
    dataset, subset = t0_facts.PROMPTSOURCE_DATASETS[name]
    path = prompt_sources.promptsource_file(dataset, subset)
    if path is None:
        prompt_sources.record(COLLECTION, prompt_sources.OWN)
        own = load_templates(stem)
        return t0_facts.Prompts(own, None, len(own))
    prompt_sources.record(COLLECTION, prompt_sources.PROMPTSOURCE, path)
    try:
        return t0_facts.select(name, _source_templates(path), path)
    except prompt_sources.PromptSourceError as e:
        # One malformed file fails the runs that use this entry (naming file, line and
        # column), not every command: registered with flanjax's own prompts as stand-ins
        # that nothing renders (`prompt_sources.check_not_broken`).
        prompt_sources.mark_broken(name, e)
        own = load_templates(stem)
        return t0_facts.Prompts(own, None, len(own))


# ------------------------------------------------------------------------ preprocessors


def _with_options(row: Example, options: Sequence[str], gold: Optional[str]) -> Fields:
    out = dict(row)
    out["options"] = [str(o) for o in options]
    out.setdefault("answer", gold if gold is not None else "")
    return out


def _at(options: Sequence[str], index: Any) -> Optional[str]:
    if index is None or isinstance(index, bool) or index == "":
        return None
    i = int(index)
    return options[i] if 0 <= i < len(options) else None


def _labels(
    names: Sequence[str], key: str = "label", offset: int = 0
) -> Callable[[Example], Fields]:
    """Classification: `options` are the label names, `answer` is `names[row[key] - offset]`."""

    def preprocess(row: Example) -> Fields:
        value = row.get(key)
        gold = None if value in (None, "", -1) else _at(names, int(value) - offset)
        return _with_options(row, names, gold)

    return preprocess


def _choices(
    options_of: Callable[[Example], Sequence[str]], gold_of: Callable[[Example, Sequence[str]], Any]
) -> Callable[[Example], Fields]:
    """Multiple choice: `options_of(row)`; `gold_of(row, options)` an int index or the answer
    string (None or "" when unlabelled)."""

    def preprocess(row: Example) -> Fields:
        options = list(options_of(row))
        gold = gold_of(row, options)
        if gold is not None and not isinstance(gold, str):
            gold = _at(options, gold)
        return _with_options(row, options, gold or None)

    return preprocess


def _by_key(row: Example, options: Sequence[str]) -> Optional[int]:
    """quartz / qasc: `choices = {text, label}`, gold letter in `answerKey`."""
    labels = list(row["choices"]["label"])
    return labels.index(row["answerKey"]) if row.get("answerKey") in labels else None


def _sciq(row: Example) -> Fields:
    # SciQ lists the correct answer apart from three distractors; a fixed per-question order
    # (by hash) keeps the gold answer from always sitting in the same place.
    answers = [row["distractor1"], row["distractor2"], row["distractor3"], row["correct_answer"]]
    key = lambda a: hashlib.sha256(f"{row['question']}\x00{a}".encode("utf-8")).hexdigest()
    return _with_options(row, sorted(answers, key=key), row["correct_answer"])


def _hotpotqa(row: Example) -> Fields:
    out = dict(row)
    answers = [o.get("answer", "") for o in row.get("output") or []]
    out["answer"] = answers[0] if answers else ""
    return out


def _multi_news(row: Example) -> Fields:
    out = dict(row)
    out["document"] = "\n\n".join(p.strip() for p in row["document"].split("|||||") if p.strip())
    return out


def remove_hyphen(row: Example) -> Fields:
    """promptsource's `removeHyphen` (`promptsource/utils.py`), which t-zero applies to every
    row before rendering (`t0/seqio_tasks/utils.py` `apply_template`): "-" in a column name
    becomes "_"."""
    return {str(k).replace("-", "_"): v for k, v in row.items()}


def _after_remove_hyphen(preprocess: Callable[[Example], Optional[Fields]]
                         ) -> Callable[[Example], Optional[Fields]]:
    """`preprocess` of the row after `remove_hyphen`, as t-zero renders every row (wrapped:
    `inspect.getsource`, which cache fingerprints read, still sees `preprocess`)."""

    @functools.wraps(preprocess)
    def wrapped(row: Example) -> Optional[Fields]:
        return preprocess(remove_hyphen(row))

    return wrapped


TREC_NAMES = ("Abbreviation", "Entity", "Description", "Person", "Location", "Number")
TREC_COLUMNS = ("text", "coarse_label", "fine_label", "label_coarse", "label_fine")


def _trec(row: Example) -> Fields:
    """Both HF schemas' label columns (`t0_facts.TREC_*`), each index in its own schema's
    label order, so t-zero's 0.1.0 templates and promptsource's current ones read one row."""
    f = t0_facts
    if "label_coarse" in row:  # HF's old schema, after `remove_hyphen`
        coarse, fine = _at(f.TREC_OLD_COARSE, row["label_coarse"]), _at(f.TREC_OLD_FINE, row.get("label_fine"))
    else:
        coarse, fine = _at(f.TREC_COARSE, row.get("coarse_label")), _at(f.TREC_FINE, row.get("fine_label"))
        fine = fine.split(":", 1)[1] if fine else None
    index = lambda names, label: names.index(label) if label in names else -1
    out = dict(row, coarse_label=index(f.TREC_COARSE, coarse), label_coarse=index(f.TREC_OLD_COARSE, coarse),
               fine_label=index(f.TREC_FINE, f"{coarse}:{fine}"), label_fine=index(f.TREC_OLD_FINE, fine))
    return _labels(TREC_NAMES, key="coarse_label")(out)


# Official Story Cloze CSV column -> HF `story_cloze` column.
_STORY_CLOZE_COLUMNS = {
    "InputStoryid": "story_id",
    "InputSentence1": "input_sentence_1",
    "InputSentence2": "input_sentence_2",
    "InputSentence3": "input_sentence_3",
    "InputSentence4": "input_sentence_4",
    "RandomFifthSentenceQuiz1": "sentence_quiz1",
    "RandomFifthSentenceQuiz2": "sentence_quiz2",
    "AnswerRightEnding": "answer_right_ending",
}


def _story_cloze(row: Example) -> Fields:
    row = {_STORY_CLOZE_COLUMNS.get(k, k): v for k, v in row.items()}
    row["answer_right_ending"] = int(row["answer_right_ending"])
    options = [row["sentence_quiz1"], row["sentence_quiz2"]]
    return _with_options(row, options, _at(options, row["answer_right_ending"] - 1))


def _passthrough(row: Example) -> Fields:
    return dict(row)


# ------------------------------------------------------------------------ entries

RANK = ("options", "answer")
NLI3 = ("premise", "hypothesis", "label")


def _entry(
    name: str,
    cluster: str,
    source: sources.Source,
    columns: Sequence[str],
    preprocess: Callable[[Example], Optional[Fields]],
    *,
    rank: bool,
    metric: str = "accuracy",
    templates: Optional[str] = None,
    paper: str = "",
    train_split: str = "train",
    eval_split: str = "validation",
) -> CatalogEntry:
    prompts = _prompts(name, templates or name)
    NUM_SOURCE_PROMPTS[name] = prompts.num_source_prompts
    return CatalogEntry(
        name=name,
        collection=COLLECTION,
        cluster=cluster,
        source=source,
        preprocess=_after_remove_hyphen(preprocess),
        fields=tuple(columns) + (RANK if rank else ()),
        templates=prompts.templates,
        eval_templates=prompts.eval_templates,
        metric="accuracy" if rank else metric,  # type: ignore[arg-type]
        eval_mode="rank" if rank else "generate",
        paper_dataset=paper or name[len("t0_") :],
        train_split=train_split,
        eval_split=eval_split,
        has_options=rank,
        description=f"T0 {cluster}: {source.describe()}",
        # Flan 2022's T0-SF: the prompts wrapped in v2's task-type patterns (both sources set).
        **flan2022_t0.entry_fields(name, prompts.templates),
    )


def _hf(
    path: str, name: Optional[str] = None, splits: Mapping[str, str] = TRAIN_VAL_TEST
) -> sources.HfSource:
    return sources.HfSource(path=path, name=name, splits=dict(splits))


def _heldout() -> list[CatalogEntry]:
    out = []
    for r in ("r1", "r2", "r3"):
        splits = {"train": f"train_{r}", "validation": f"dev_{r}", "test": f"test_{r}"}
        out.append(
            _entry(f"t0_anli_{r}", "nli", _hf("anli", None, splits), ("uid", "reason") + NLI3,
                   _labels(("entailment", "neutral", "contradiction")), rank=True,
                   templates="t0_anli", paper="anli")
        )
    story_cloze = sources.HfSource(
        path="csv",
        splits={"validation": "validation", "test": "test"},
        data_files={k: os.path.join(STORY_CLOZE_DIR, f) for k, f in STORY_CLOZE_FILES.items()},
    )
    out += [
        _entry("t0_super_glue_cb", "nli", _hf("super_glue", "cb"), NLI3 + ("idx",),
               _labels(("entailment", "contradiction", "neutral")), rank=True),
        _entry("t0_super_glue_rte", "nli", _hf("super_glue", "rte"), NLI3 + ("idx",),
               _labels(("entailment", "not_entailment")), rank=True),
        _entry("t0_super_glue_wsc_fixed", "coreference", _hf("super_glue", "wsc.fixed"),
               ("text", "span1_index", "span2_index", "span1_text", "span2_text", "idx", "label"),
               _labels(("False", "True")), rank=True),
        _entry("t0_winogrande_xl", "coreference", _hf("winogrande", "winogrande_xl"),
               ("sentence", "option1", "option2", "answer"),
               _choices(lambda r: [r["option1"], r["option2"]],
                        lambda r, o: {"1": 0, "2": 1}.get(r["answer"])), rank=True),
        _entry("t0_super_glue_copa", "sentence_completion", _hf("super_glue", "copa"),
               ("premise", "choice1", "choice2", "question", "idx", "label"),
               _choices(lambda r: [r["choice1"], r["choice2"]], lambda r, o: r["label"]),
               rank=True),
        _entry("t0_hellaswag", "sentence_completion", _hf("hellaswag"),
               ("ind", "activity_label", "ctx_a", "ctx_b", "ctx", "endings", "source_id", "split",
                "split_type", "label"),
               _choices(lambda r: r["endings"],
                        lambda r, o: int(r["label"]) if r["label"] != "" else None), rank=True),
        # The 2016 release has no training split; its labelled test split stands in where a
        # train split is asked for (few-shot exemplars). T0 evaluated on validation.
        _entry("t0_story_cloze_2016", "sentence_completion", story_cloze,
               ("story_id", "input_sentence_1", "input_sentence_2", "input_sentence_3",
                "input_sentence_4", "sentence_quiz1", "sentence_quiz2", "answer_right_ending"),
               _story_cloze, rank=True, train_split="test"),
        _entry("t0_super_glue_wic", "word_sense", _hf("super_glue", "wic"),
               ("word", "sentence1", "sentence2", "start1", "start2", "end1", "end2", "idx",
                "label"),
               _labels(("False", "True")), rank=True),
    ]
    return out


def _multiple_choice_qa() -> list[CatalogEntry]:
    c = "multiple_choice_qa"
    return [
        _entry("t0_commonsense_qa", c, _hf("cos_e", "v1.11", TRAIN_VAL),
               ("id", "question", "choices", "answer", "abstractive_explanation",
                "extractive_explanation"),
               _choices(lambda r: r["choices"], lambda r, o: r["answer"]), rank=True),
        _entry("t0_dream", c, _hf("dream"),
               ("id", "dialogue_id", "dialogue", "question", "choice", "answer"),
               _choices(lambda r: r["choice"], lambda r, o: r["answer"]), rank=True),
        _entry("t0_quail", c, _hf("quail", None, {**TRAIN_VAL, "challenge": "challenge"}),
               ("id", "context_id", "question_id", "domain", "metadata", "context", "question",
                "question_type", "answers", "correct_answer_id"),
               _choices(lambda r: r["answers"], lambda r, o: r["correct_answer_id"]), rank=True),
        _entry("t0_quartz", c, _hf("quartz"),
               ("id", "question", "choices", "answerKey", "para", "para_id", "para_anno",
                "question_anno"),
               _choices(lambda r: r["choices"]["text"], _by_key), rank=True),
        _entry("t0_social_i_qa", c, _hf("social_i_qa", None, TRAIN_VAL),
               ("context", "question", "answerA", "answerB", "answerC", "label"),
               _choices(lambda r: [r["answerA"], r["answerB"], r["answerC"]],
                        lambda r, o: int(r["label"]) - 1 if r["label"] else None), rank=True),
        _entry("t0_wiqa", c, _hf("wiqa"),
               ("question_stem", "question_para_step", "answer_label", "answer_label_as_choice",
                "choices", "metadata_question_id", "metadata_graph_id", "metadata_para_id",
                "metadata_question_type", "metadata_path_len"),
               _choices(lambda r: ["more", "less", "no effect"],
                        lambda r, o: r["answer_label"].replace("_", " ")), rank=True),
        _entry("t0_cosmos_qa", c, _hf("cosmos_qa"),
               ("id", "context", "question", "answer0", "answer1", "answer2", "answer3", "label"),
               _choices(lambda r: [r[f"answer{i}"] for i in range(4)], lambda r, o: r["label"]),
               rank=True),
        _entry("t0_qasc", c, _hf("qasc"),
               ("id", "question", "choices", "answerKey", "fact1", "fact2", "combinedfact",
                "formatted_question"),
               _choices(lambda r: r["choices"]["text"], _by_key), rank=True),
        _entry("t0_quarel", c, _hf("quarel"),
               ("id", "answer_index", "logical_forms", "logical_form_pretty", "world_literals",
                "question"),
               _choices(lambda r: [r["world_literals"]["world1"][0],
                                   r["world_literals"]["world2"][0]],
                        lambda r, o: r["answer_index"]), rank=True),
        _entry("t0_sciq", c, _hf("sciq"),
               ("question", "distractor3", "distractor1", "distractor2", "correct_answer",
                "support"),
               _sciq, rank=True),
        _entry("t0_wiki_hop_original", c, _hf("wiki_hop", "original", TRAIN_VAL),
               ("id", "question", "answer", "candidates", "supports", "annotations"),
               _choices(lambda r: r["candidates"], lambda r, o: r["answer"]), rank=True),
    ]


def _generate_entries() -> list[CatalogEntry]:
    squad = ("id", "title", "context", "question", "answers")
    duorc = ("plot_id", "plot", "title", "question_id", "question", "answers", "no_answer")
    out = [
        _entry(f"t0_adversarial_qa_{s}", "extractive_qa", _hf("adversarial_qa", s),
               squad + ("metadata",), _passthrough, rank=False, metric="squad",
               paper="adversarial_qa")
        for s in ("dbidaf", "dbert", "droberta")
    ]
    out += [
        _entry("t0_quoref", "extractive_qa", _hf("quoref", None, TRAIN_VAL), squad + ("url",),
               _passthrough, rank=False, metric="squad"),
        _entry("t0_duorc_paraphrase_rc", "extractive_qa", _hf("duorc", "ParaphraseRC"), duorc,
               _passthrough, rank=False, metric="squad", paper="duorc"),
        _entry("t0_duorc_self_rc", "extractive_qa", _hf("duorc", "SelfRC"), duorc,
               _passthrough, rank=False, metric="squad", paper="duorc"),
        _entry("t0_ropes", "extractive_qa", _hf("ropes"),
               ("id", "background", "situation", "question", "answers"),
               _passthrough, rank=False, metric="squad"),
        # The test split of KILT has no answers.
        _entry("t0_hotpot_qa", "closed_book_qa", _hf("kilt_tasks", "hotpotqa", TRAIN_VAL),
               ("id", "input", "meta", "output", "answer"), _hotpotqa, rank=False, metric="squad"),
        _entry("t0_common_gen", "struct_to_text", _hf("common_gen"),
               ("concept_set_idx", "concepts", "target"), _passthrough, rank=False, metric="rouge"),
        _entry("t0_wiki_bio", "struct_to_text",
               _hf("wiki_bio", None, {"train": "train", "validation": "val", "test": "test"}),
               ("input_text", "target_text"), _passthrough, rank=False, metric="rouge"),
        _entry("t0_cnn_dailymail", "summarization", _hf("cnn_dailymail", "3.0.0"),
               ("article", "highlights", "id"), _passthrough, rank=False, metric="rouge"),
        _entry("t0_gigaword", "summarization", _hf("gigaword"), ("document", "summary"),
               _passthrough, rank=False, metric="rouge"),
        _entry("t0_multi_news", "summarization", _hf("multi_news"), ("document", "summary"),
               _multi_news, rank=False, metric="rouge"),
        _entry("t0_samsum", "summarization", _hf("samsum"), ("id", "dialogue", "summary"),
               _passthrough, rank=False, metric="rouge"),
        _entry("t0_xsum", "summarization", _hf("xsum"), ("document", "summary", "id"),
               _passthrough, rank=False, metric="rouge"),
    ]
    return out


def _classification_entries() -> list[CatalogEntry]:
    neg_pos = ("negative", "positive")
    no_yes = ("No", "Yes")
    # Test splits stand in for the missing validation splits (T0 only trains on these).
    return [
        _entry("t0_wiki_qa", "closed_book_qa", _hf("wiki_qa"),
               ("question_id", "question", "document_title", "answer", "label"),
               _labels(no_yes), rank=True),
        _entry("t0_amazon_polarity", "sentiment", _hf("amazon_polarity", None, TRAIN_TEST),
               ("label", "title", "content"), _labels(neg_pos), rank=True, eval_split="test"),
        # One split only; T0 trains on all of it.
        _entry("t0_app_reviews", "sentiment", _hf("app_reviews", None, {"train": "train"}),
               ("package_name", "review", "date", "star"),
               _labels(("1", "2", "3", "4", "5"), key="star", offset=1), rank=True,
               eval_split="train"),
        _entry("t0_imdb", "sentiment", _hf("imdb", None, TRAIN_TEST), ("text", "label"),
               _labels(neg_pos), rank=True, eval_split="test"),
        _entry("t0_rotten_tomatoes", "sentiment", _hf("rotten_tomatoes"), ("text", "label"),
               _labels(neg_pos), rank=True),
        _entry("t0_yelp_review_full", "sentiment", _hf("yelp_review_full", None, TRAIN_TEST),
               ("label", "text"),
               _labels(("1 star", "2 stars", "3 stars", "4 stars", "5 stars")), rank=True,
               eval_split="test"),
        _entry("t0_ag_news", "topic_classification", _hf("ag_news", None, TRAIN_TEST),
               ("text", "label"), _labels(("World", "Sports", "Business", "Sci/Tech")),
               rank=True, eval_split="test"),
        _entry("t0_dbpedia_14", "topic_classification", _hf("dbpedia_14", None, TRAIN_TEST),
               ("label", "title", "content"), _labels(DBPEDIA_NAMES), rank=True,
               eval_split="test"),
        _entry("t0_trec", "topic_classification", _hf("trec", None, TRAIN_TEST),
               TREC_COLUMNS, _trec, rank=True, eval_split="test"),
        _entry("t0_glue_mrpc", "paraphrase", _hf("glue", "mrpc"),
               ("sentence1", "sentence2", "label", "idx"),
               _labels(("not_equivalent", "equivalent")), rank=True),
        _entry("t0_glue_qqp", "paraphrase", _hf("glue", "qqp"),
               ("question1", "question2", "label", "idx"),
               _labels(("not_duplicate", "duplicate")), rank=True),
        _entry("t0_paws_labeled_final", "paraphrase", _hf("paws", "labeled_final"),
               ("id", "sentence1", "sentence2", "label"),
               _labels(("not_paraphrase", "paraphrase")), rank=True, paper="paws"),
    ]


DBPEDIA_NAMES = (
    "Company", "EducationalInstitution", "Artist", "Athlete", "OfficeHolder",
    "MeanOfTransportation", "Building", "NaturalPlace", "Village", "Animal", "Plant", "Album",
    "Film", "WrittenWork",
)

HELDOUT_ENTRIES = _heldout()
TRAIN_ENTRIES = _multiple_choice_qa() + _generate_entries() + _classification_entries()
ENTRIES = HELDOUT_ENTRIES + TRAIN_ENTRIES

for _e in ENTRIES:
    register_entry(_e)

# Public names for `t0_plus` (T0+ / T0++ datasets), which builds its entries the same way.
make_entry = _entry
hf_source = _hf
passthrough = _passthrough
