"""FLAN 2021 catalog, part A: the NLI, commonsense, sentiment, paraphrase, closed-book QA and
struct-to-text clusters of Wei et al. (2021), Figure 3, on TensorFlow Datasets.

One `CatalogEntry` per dataset at FLAN's code granularity (`flan/tasks.py`: ANLI R1-R3 and
MNLI matched / mismatched are separate tasks, counted as one paper dataset each through
`paper_dataset`). Builders and versions are the ones FLAN used and that exist in
tensorflow-datasets 4.9.10; no dataset needed a substitute. Two small choices differ
from FLAN and are noted where they are made: `trivia_qa/rc.nocontext` instead of
`trivia_qa/rc` (same examples, without the evidence documents a closed-book task never
reads) and sentiment140's neutral tweets are skipped rather than called negative.

Splits: canonical "train" is the full TFDS training split (FLAN's 30k-example cap is
applied by the task layer, not here); "validation" is the official split FLAN reported
results on (its `test` key); "test" appears where a labelled test split exists. Examples
without a gold label (label -1, unlabelled test splits) are skipped.

Importing this module registers the entries; it reads no data.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Mapping, Optional, Sequence

from flanjax.data import templates
from flanjax.data.catalog import flan2021_a_patterns as patterns
from flanjax.data.catalog.entry import CatalogEntry, Example, Fields, tfds_entry
from flanjax.data.catalog import flan2021
from flanjax.data.catalog.registry import register_entry

COLLECTION = "flan2021"
_TEMPLATES = templates.from_flan_patterns(patterns.PATTERNS)

# Answer options per label id, as in FLAN's `_process_*` functions (flan/tasks.py).
ANLI_OPTIONS = ("Yes", "It's impossible to say", "No")  # entailment, neutral, contradiction
CB_OPTIONS = ("Yes", "No", "It's impossible to say")  # entailment, contradiction, neutral
MNLI_OPTIONS = ("yes", "it is not possible to tell", "no")  # also SNLI
YES_NO = ("yes", "no")  # RTE, QNLI: label 0 is entailment
NO_YES = ("no", "yes")  # WNLI (1 is entailment), MRPC / QQP / PAWS (1 is paraphrase)
SENTIMENT_OPTIONS = ("negative", "positive")
STSB_OPTIONS = ("0", "1", "2", "3", "4", "5")

# Relations for turned-around templates ("write a hypothesis that {relation} the text").
_ENT, _NEU, _CON = "follows from", "is neither implied nor contradicted by", "contradicts"
_NOT_ENT = "does not follow from"
_SAME, _DIFFERENT = "the same thing as", "something different from"


# ------------------------------------------------------------------ helpers


def _pick(options: Sequence[str], label: Any) -> Optional[str]:
    """`options[label]`, or None for a missing label (-1) or one out of range."""
    if label is None or isinstance(label, bool):
        return None
    i = int(label)
    return options[i] if 0 <= i < len(options) else None


def _labeled(
    text_fields: Mapping[str, str],
    options: Sequence[str],
    per_label: Optional[Mapping[str, Sequence[str]]] = None,
    clean: Callable[[str], str] = lambda s: s,
) -> Callable[[Example], Optional[Fields]]:
    """Preprocess for `(texts..., label)` classification examples.

    Args:
      text_fields: output field name -> raw feature name.
      options: the answer options, indexed by the raw `label`.
      per_label: extra fields whose value depends on the label (turned-around templates).
      clean: applied to every text field.
    """

    def preprocess(raw: Example) -> Optional[Fields]:
        answer = _pick(options, raw.get("label"))
        if answer is None:
            return None
        out: Fields = {k: clean(raw[v]) for k, v in text_fields.items()}
        out["options"] = list(options)
        out["answer"] = answer
        for name, values in (per_label or {}).items():
            out[name] = values[int(raw["label"])]
        return out

    return preprocess


def _fields(text_fields: Mapping[str, str], *extra: str) -> tuple[str, ...]:
    return tuple(text_fields) + ("options", "answer") + extra


def _references(raw: Example) -> tuple[str, list[str]]:
    """GEM's (target, all references): FLAN scores against references + target."""
    refs = [r for r in raw.get("references", []) if r]
    target = raw.get("target") or (refs[0] if refs else "")
    answers = refs + ([target] if target and target not in refs else [])
    return target, answers


# ------------------------------------------------------------- preprocessors


def _copa(raw: Example) -> Optional[Fields]:
    options = [raw["choice1"], raw["choice2"]]
    answer = _pick(options, raw.get("label"))
    if answer is None:
        return None
    question = raw["question"]  # "cause" | "effect"
    return {
        "premise": raw["premise"],
        "question": question,
        # The premise is the effect of a cause-answer and the cause of an effect-answer.
        "premise_role": "effect" if question == "cause" else "cause",
        "options": options,
        "answer": answer,
    }


def _strip_hellaswag_markup(text: str) -> str:
    # WikiHow contexts carry "[header]", "[title]", "[step]" markers (FLAN `_process_hellaswag`
    # drops the header marker and turns the others into line breaks).
    text = re.sub(r"\[header\]\s", "", text)
    return re.sub(r"\[[^\]]*\]\s", "\n", text).strip()


def _hellaswag(raw: Example) -> Optional[Fields]:
    options = [re.sub(r"\[[^\]]*\]\s", "", e).strip() for e in raw["endings"]]
    answer = _pick(options, raw.get("label"))  # the test split has label -1
    if answer is None:
        return None
    return {
        "context": _strip_hellaswag_markup(raw["context"]),
        "activity_label": raw["activity_label"],
        "options": options,
        "answer": answer,
    }


def _piqa(raw: Example) -> Optional[Fields]:
    options = [raw["sol1"], raw["sol2"]]
    answer = _pick(options, raw.get("label"))
    if answer is None:
        return None
    return {"goal": raw["goal"], "options": options, "answer": answer}


def _story_cloze(raw: Example) -> Optional[Fields]:
    options = list(raw["endings"])
    label = raw.get("label")  # AnswerRightEnding: 1 or 2; -1 when missing
    answer = _pick(options, int(label) - 1) if label is not None and int(label) > 0 else None
    if answer is None:
        return None
    return {"context": raw["context"], "options": options, "answer": answer}


def _sentiment140(raw: Example) -> Optional[Fields]:
    # Polarity 0 = negative, 4 = positive, 2 = neutral (test split only). FLAN folds
    # neutral into negative; a two-way task reads better without them, so they are skipped.
    polarity = int(raw["polarity"])
    label = {0: 0, 1: 0, 3: 1, 4: 1}.get(polarity)
    if label is None:
        return None
    return {
        "text": raw["text"],
        "options": list(SENTIMENT_OPTIONS),
        "answer": SENTIMENT_OPTIONS[label],
    }


def _stsb(raw: Example) -> Optional[Fields]:
    score = float(raw["label"])
    if score < 0:  # the test split has no scores
        return None
    # FLAN formats the score with precision 0 (rounding); clip to the 0-5 scale.
    answer = str(min(5, max(0, int(round(score)))))
    return {
        "sentence1": raw["sentence1"],
        "sentence2": raw["sentence2"],
        "options": list(STSB_OPTIONS),
        "answer": answer,
        "score": score,  # the unrounded gold, for Pearson correlation
    }


def _arc(raw: Example) -> Optional[Fields]:
    # FLAN keeps only 4-option questions; rank classification handles 3 or 5 as well, so
    # every question with a valid answer key is kept.
    options = list(raw["choices"]["text"])
    answer = _pick(options, raw.get("answerKey"))
    if answer is None:
        return None
    return {"question": raw["question"], "options": options, "answer": answer}


def _natural_questions(raw: Example) -> Optional[Fields]:
    answers = [a for a in raw["answer"] if a]
    if not answers:
        return None
    question = raw["question"].strip()
    # NQ-open questions are lower-cased search queries without "?"; FLAN appends one.
    if not question.endswith("?"):
        question += "?"
    return {"question": question, "answer": answers[0], "answers": answers}


def _trivia_qa(raw: Example) -> Optional[Fields]:
    answer = raw["answer"]
    value = answer.get("normalized_value", "")
    if not value:  # unlabelled test split
        return None
    aliases = [a for a in answer.get("normalized_aliases", []) if a]
    return {
        "question": raw["question"],
        "answer": value,
        "answers": aliases or [value],
    }


def _common_gen(raw: Example) -> Optional[Fields]:
    target, answers = _references(raw)
    if not target:
        return None
    return {
        "concepts": ", ".join(raw["concepts"]),
        "concepts_newline": "\n".join(raw["concepts"]),
        "target": target,
        "answers": answers,
    }


def _clean_triple(triple: str) -> str:
    # DART cells such as "[TABLECONTEXT]" / "[TITLE]" mean nothing to a reader (FLAN
    # `_process_dart` removes them).
    return " ".join(re.sub(r"\[[^\]]*\]", "", triple).split())


def _dart(raw: Example) -> Optional[Fields]:
    target, answers = _references(raw)
    if not target:
        return None
    triples = [t for t in (_clean_triple(t) for t in raw["tripleset"]) if t]
    return {
        "tripleset": "; ".join(triples),
        "tripleset_newline": "\n".join(triples),
        "target": target,
        "answers": answers,
    }


def _e2e_nlg(raw: Example) -> Optional[Fields]:
    target, answers = _references(raw)
    if not target:
        return None
    # "name[The Eagle], food[French]" -> "name = The Eagle, food = French" (as FLAN).
    mr = raw["meaning_representation"].replace("[", " = ").replace("]", "")
    return {"meaning_representation": mr, "target": target, "answers": answers}


def _web_nlg_en(raw: Example) -> Optional[Fields]:
    target, answers = _references(raw)
    if not target:
        return None
    # "Alan_Bean | occupation | Test_pilot" -> "Alan Bean, occupation, Test pilot" (as FLAN).
    text = "; ".join(raw["input"]).replace("_", " ").replace(" | ", ", ")
    return {"input_string": text, "target": target, "answers": answers}


def _imdb_clean(text: str) -> str:
    return text.replace("<br />", "\n")


def _yelp_clean(text: str) -> str:
    # The Yelp CSV keeps escaped quotes and literal "\n" (FLAN cleans both the same way).
    return text.replace('\\""', '"').replace("\\n", " ")


def _qqp_clean(text: str) -> str:
    return text.replace('""', "'")


# -------------------------------------------------------------------- entries

ENTRIES: list[CatalogEntry] = []


def _add(
    name: str,
    cluster: str,
    paper_dataset: str,
    tfds_name: str,
    splits: Mapping[str, str],
    preprocess: Callable[[Example], Optional[Fields]],
    fields: Sequence[str],
    *,
    pattern_key: Optional[str] = None,
    metric: str = "accuracy",
    description: str = "",
) -> CatalogEntry:
    entry = tfds_entry(
        name=name, collection=COLLECTION, cluster=cluster, paper_dataset=paper_dataset,
        tfds_name=tfds_name, splits=splits, preprocess=preprocess, fields=fields,
        templates=_TEMPLATES[pattern_key or name], metric=metric, description=description,
        max_train_examples=flan2021.MAX_TRAIN_EXAMPLES,
    )
    ENTRIES.append(register_entry(entry))
    return entry


_TRAIN_VAL = {"train": "train", "validation": "validation"}
_TRAIN_VAL_TEST = {"train": "train", "validation": "validation", "test": "test"}
# Builders with only train and test splits: evaluate on test, as FLAN did.
_TRAIN_TEST = {"train": "train", "validation": "test"}

# ----- NLI
_PH = {"premise": "premise", "hypothesis": "hypothesis"}
_NLI3 = {"relation": (_ENT, _NEU, _CON)}  # label order entailment, neutral, contradiction
_CH = {"context": "context", "hypothesis": "hypothesis"}
for _round in ("r1", "r2", "r3"):
    _add(
        f"anli_{_round}", "nli", "ANLI", f"anli/{_round}:0.1.0", _TRAIN_VAL_TEST,
        _labeled(_CH, ANLI_OPTIONS, _NLI3), _fields(_CH, "relation"), pattern_key="anli",
        description=f"Adversarial NLI, round {_round[1]} (Nie et al. 2020).",
    )
_add(
    "cb", "nli", "CB", "super_glue/cb:1.0.2", _TRAIN_VAL,
    _labeled(_PH, CB_OPTIONS, {"relation": (_ENT, _CON, _NEU)}), _fields(_PH, "relation"),
    description="CommitmentBank (SuperGLUE).",
)
for _variant in ("matched", "mismatched"):
    _add(
        f"mnli_{_variant}", "nli", "MNLI", "glue/mnli:2.0.0",
        {"train": "train", "validation": f"validation_{_variant}"},
        _labeled(_PH, MNLI_OPTIONS, _NLI3), _fields(_PH, "relation"), pattern_key="mnli",
        description=f"MultiNLI; evaluated on the {_variant} validation set.",
    )
_QS = {"question": "question", "sentence": "sentence"}
_add(
    "qnli", "nli", "QNLI", "glue/qnli:2.0.0", _TRAIN_VAL,
    _labeled(_QS, YES_NO, {"relation": ("answers", "does not answer")}),
    _fields(_QS, "relation"), description="Question NLI (GLUE).",
)
_add(
    "rte", "nli", "RTE", "super_glue/rte:1.0.2", _TRAIN_VAL,
    _labeled(_PH, YES_NO, {"relation": (_ENT, _NOT_ENT)}), _fields(_PH, "relation"),
    description="Recognizing Textual Entailment (SuperGLUE).",
)
_add(
    "snli", "nli", "SNLI", "snli:1.1.0", _TRAIN_VAL_TEST,
    _labeled(_PH, MNLI_OPTIONS, _NLI3), _fields(_PH, "relation"),
    description="Stanford NLI; pairs without a gold label (-1) are skipped.",
)
_S12 = {"sentence1": "sentence1", "sentence2": "sentence2"}
_add(
    "wnli", "nli", "WNLI", "glue/wnli:2.0.0", _TRAIN_VAL,
    _labeled(_S12, NO_YES, {"relation": (_NOT_ENT, _ENT)}), _fields(_S12, "relation"),
    description="Winograd NLI (GLUE).",
)

# ----- Commonsense
_add(
    "copa", "commonsense", "COPA", "super_glue/copa:1.0.2", _TRAIN_VAL, _copa,
    ("premise", "question", "premise_role", "options", "answer"),
    description="Choice of Plausible Alternatives (SuperGLUE).",
)
_add(
    "hellaswag", "commonsense", "HellaSwag", "hellaswag:1.1.0", _TRAIN_VAL, _hellaswag,
    ("context", "activity_label", "options", "answer"),
    description="HellaSwag sentence completion.",
)
_add(
    "piqa", "commonsense", "PiQA", "piqa:1.0.0", _TRAIN_VAL, _piqa,
    ("goal", "options", "answer"), description="Physical Interaction QA.",
)
_add(
    # Manual download (the ROCStories site); only validation and test exist: train on the
    # 2016 validation set, evaluate on its test set (FLAN: validation[:-200] / test).
    "story_cloze", "commonsense", "StoryCloze", "story_cloze/2016:1.0.0",
    {"train": "validation", "validation": "test"}, _story_cloze,
    ("context", "options", "answer"), description="Story Cloze Test (2016).",
)

# ----- Sentiment
_TEXT = {"text": "text"}
_SENT = {"sentence": "sentence"}
_add(
    "imdb_reviews", "sentiment", "IMDB", "imdb_reviews/plain_text:1.0.0", _TRAIN_TEST,
    _labeled(_TEXT, SENTIMENT_OPTIONS, clean=_imdb_clean), _fields(_TEXT),
    description="IMDB movie reviews, binary sentiment.",
)
_add(
    "sentiment140", "sentiment", "Sent140", "sentiment140:1.0.0", _TRAIN_TEST,
    _sentiment140, _fields(_TEXT), description="Sentiment140 tweets, binary sentiment.",
)
_add(
    "sst2", "sentiment", "SST-2", "glue/sst2:2.0.0", _TRAIN_VAL,
    _labeled(_SENT, SENTIMENT_OPTIONS), _fields(_SENT),
    description="Stanford Sentiment Treebank, binary (GLUE).",
)
_add(
    "yelp_polarity_reviews", "sentiment", "Yelp", "yelp_polarity_reviews:0.2.0", _TRAIN_TEST,
    _labeled(_TEXT, SENTIMENT_OPTIONS, clean=_yelp_clean), _fields(_TEXT),
    description="Yelp reviews, polarity.",
)

# ----- Paraphrase
_MEANING = {"meaning": (_DIFFERENT, _SAME)}  # label 1 = paraphrase
_Q12 = {"question1": "question1", "question2": "question2"}
_add(
    "glue_mrpc", "paraphrase", "MRPC", "glue/mrpc:2.0.0", _TRAIN_VAL,
    _labeled(_S12, NO_YES, _MEANING), _fields(_S12, "meaning"),
    description="Microsoft Research Paraphrase Corpus (GLUE).",
)
_add(
    "glue_qqp", "paraphrase", "QQP", "glue/qqp:2.0.0", _TRAIN_VAL,
    _labeled(_Q12, NO_YES, _MEANING, clean=_qqp_clean), _fields(_Q12, "meaning"),
    description="Quora Question Pairs (GLUE).",
)
_add(
    "paws_wiki", "paraphrase", "PAWS", "paws_wiki:1.1.0", _TRAIN_VAL_TEST,
    _labeled(_S12, NO_YES, _MEANING), _fields(_S12, "meaning"),
    description="PAWS-Wiki adversarial paraphrases.",
)
_add(
    # Rank over "0".."5" (the rounded score, as FLAN); Pearson against the float `score`.
    "stsb", "paraphrase", "STS-B", "glue/stsb:2.0.0", _TRAIN_VAL, _stsb,
    _fields(_S12, "score"), metric="pearson",
    description="Semantic Textual Similarity Benchmark (GLUE).",
)

# ----- Closed-book QA
for _level in ("Challenge", "Easy"):
    _add(
        f"arc_{_level.lower()}", "closed_book_qa", "ARC", f"ai2_arc/ARC-{_level}:1.0.0",
        _TRAIN_VAL_TEST, _arc, ("question", "options", "answer"), pattern_key="arc",
        description=f"AI2 Reasoning Challenge, {_level} set.",
    )
_add(
    "natural_questions", "closed_book_qa", "NQ", "natural_questions_open:1.0.0", _TRAIN_VAL,
    _natural_questions, ("question", "answer", "answers"), metric="squad",
    description="Natural Questions, open-domain version (no context).",
)
_add(
    # FLAN reads `trivia_qa/rc`; `rc.nocontext` has the same question-answer pairs without
    # the evidence documents, which a closed-book task never shows the model.
    "trivia_qa", "closed_book_qa", "TQA", "trivia_qa/rc.nocontext:1.1.0", _TRAIN_VAL,
    _trivia_qa, ("question", "answer", "answers"), metric="squad",
    description="TriviaQA without evidence documents.",
)

# ----- Struct to text (GEM versions, as FLAN)
_GEN = ("target", "answers")
_add(
    "common_gen", "struct_to_text", "CommonGen", "gem/common_gen:1.1.0", _TRAIN_VAL,
    _common_gen, ("concepts", "concepts_newline") + _GEN, metric="rouge",
    description="CommonGen: a sentence from a concept set (GEM).",
)
_add(
    "dart", "struct_to_text", "DART", "gem/dart:1.1.0", _TRAIN_VAL, _dart,
    ("tripleset", "tripleset_newline") + _GEN, metric="rouge",
    description="DART: a sentence from RDF triples (GEM).",
)
_add(
    "e2e_nlg", "struct_to_text", "E2ENLG", "gem/e2e_nlg:1.1.0", _TRAIN_VAL, _e2e_nlg,
    ("meaning_representation",) + _GEN, metric="rouge",
    description="E2E NLG (cleaned): restaurant descriptions from attributes (GEM).",
)
_add(
    "web_nlg_en", "struct_to_text", "WEBNLG", "gem/web_nlg_en:1.1.0", _TRAIN_VAL,
    _web_nlg_en, ("input_string",) + _GEN, metric="rouge",
    description="WebNLG (English): text from DBpedia triples (GEM).",
)
