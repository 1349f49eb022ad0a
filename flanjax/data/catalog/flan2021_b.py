"""FLAN 2021 catalog, part B (Wei et al. 2021, Figure 3): translation, reading comprehension,
reading comprehension with commonsense, coreference, misc and summarization.

One `CatalogEntry` per dataset at FLAN's code granularity (`flan/tasks.py`, whose task names
these entries keep); `paper_dataset` groups them as Figure 3 counts them (SQuAD v1 and v2
are one paper dataset). Sources are TensorFlow Datasets builders as shipped with
tensorflow-datasets 4.9.10; where that version differs from the one FLAN pinned, a comment
says so. Splits map canonical names to whole TFDS splits: the 30k-example cap of FLAN is
applied by the task layer, not here. Builders that only have a train split are cut into
disjoint train / validation / test slices, at FLAN's offsets where FLAN had them.

Field names follow FLAN's preprocessors (`flan/tasks.py`), so the patterns in
`flan2021_b_patterns` read like FLAN's. Importing this module reads no data.
"""

from __future__ import annotations

import re
from typing import Callable, Optional, Sequence

from flanjax.data import templates
from flanjax.data.catalog.entry import CatalogEntry, Example, Fields, tfds_entry
from flanjax.data.catalog.flan2021_b_patterns import PATTERNS
from flanjax.data.catalog import flan2021
from flanjax.data.catalog.registry import register_entry

COLLECTION = "flan2021"
_TEMPLATES = templates.from_flan_patterns(PATTERNS)

# FLAN's standard splits (`SPLITS_DICT` in flan/tasks.py) without the 30k / 200 caps.
_STANDARD = {"train": "train", "validation": "validation", "test": "test"}
_TRAIN_VALIDATION = {"train": "train", "validation": "validation"}
# Labelled evaluation data lives in TFDS's "test" split for these builders.
_TEST_AS_VALIDATION = {"train": "train", "validation": "test"}
# Train-only builders, cut as FLAN did (PARACRAWL_SPLITS_DICT; opinion_abstracts).
_PARACRAWL = {
    "train": "train[:-1200]", "validation": "train[-1200:-1000]", "test": "train[-1000:]"
}
_OPINION_ABSTRACTS = {
    "train": "train[:-600]", "validation": "train[-600:-500]", "test": "train[-500:]"
}
# fix_punct: FLAN carved it out of para_crawl/enda next to true_case and word_segment; the
# tail of the split is held out for validation / test.
_FIX_PUNCT = {
    "train": "train[:-3200]", "validation": "train[-3200:-3000]", "test": "train[-3000:]"
}

ENTRIES: list[CatalogEntry] = []


# ----------------------------------------------------------------------------- helpers
def _text(value) -> str:
    return "" if value is None else str(value).strip()


def _choose(options: Sequence[str], label) -> Optional[Fields]:
    """`options` plus the gold option; None for unlabelled rows (label -1 or out of range)."""
    label = int(label)
    if not 0 <= label < len(options):
        return None
    return {"options": list(options), "answer": options[label]}


def _numbered(items: Sequence[str], limit: Optional[int] = None) -> str:
    """FLAN's `enumerate_items`: "1. a\\n2. b"."""
    items = [_text(i) for i in items][:limit]
    return "\n".join(f"{i}. {item}" for i, item in enumerate(items, 1))


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))


def _add(
    name: str,
    cluster: str,
    paper_dataset: str,
    tfds_name: str,
    splits: dict[str, str],
    preprocess: Callable[[Example], Optional[Fields]],
    fields: Sequence[str],
    metric: str,
    description: str,
) -> CatalogEntry:
    entry = tfds_entry(
        name=name, collection=COLLECTION, cluster=cluster, paper_dataset=paper_dataset,
        tfds_name=tfds_name, splits=splits, preprocess=preprocess, fields=fields,
        templates=_TEMPLATES[name], metric=metric, description=description,
        max_train_examples=flan2021.MAX_TRAIN_EXAMPLES,
    )
    ENTRIES.append(register_entry(entry))
    return entry


# ------------------------------------------------------------------------- translation
_TRANSLATION_FIELDS = ("lang1", "lang2", "sent1", "sent2")


def _translation(code: str, language: str) -> Callable[[Example], Optional[Fields]]:
    """English is always lang1 / sent1, as in FLAN's `_process_wmt16_translate_*`."""

    def preprocess(ex: Example) -> Optional[Fields]:
        english, other = _text(ex["en"]), _text(ex[code])
        if not english or not other:
            return None
        return {"lang1": "English", "lang2": language, "sent1": english, "sent2": other}

    preprocess.__name__ = f"translation_{code}_en"
    return preprocess


_add("para_crawl_enes", "translation", "ParaCrawl EN/ES", "para_crawl/enes:1.2.0", _PARACRAWL,
     _translation("es", "Spanish"), _TRANSLATION_FIELDS, "bleu",
     "ParaCrawl English-Spanish web-crawled parallel sentences.")
_add("wmt14_enfr", "translation", "WMT-14 EN/FR", "wmt14_translate/fr-en:1.0.0", _STANDARD,
     _translation("fr", "French"), _TRANSLATION_FIELDS, "bleu",
     "WMT 2014 English-French news translation.")
for _code, _language in (("de", "German"), ("tr", "Turkish"), ("cs", "Czech"),
                         ("fi", "Finnish"), ("ro", "Romanian"), ("ru", "Russian")):
    _add(f"wmt16_translate_{_code}en", "translation", f"WMT-16 EN/{_code.upper()}",
         f"wmt16_translate/{_code}-en:1.0.0", _STANDARD, _translation(_code, _language),
         _TRANSLATION_FIELDS, "bleu", f"WMT 2016 English-{_language} news translation.")


# --------------------------------------------------------------- reading comprehension
def _bool_q(ex: Example) -> Optional[Fields]:
    out = _choose(["no", "yes"], int(bool(ex["answer"])))
    return out and {**out, "title": _text(ex["title"]), "text": _text(ex["passage"]),
                    "question": _text(ex["question"])}


def _drop(ex: Example) -> Optional[Fields]:
    answer = _text(ex["answer"])
    if not answer:
        return None
    answers = _unique([answer] + [_text(a) for a in ex.get("validated_answers") or []])
    return {"context": _text(ex["passage"]), "question": _text(ex["question"]),
            "answer": answer, "answers": answers}


def _multirc(ex: Example) -> Optional[Fields]:
    out = _choose(["no", "yes"], ex["label"])
    return out and {**out, "paragraph": _text(ex["paragraph"]), "question": _text(ex["question"]),
                    "response": _text(ex["answer"])}


def _openbookqa(ex: Example) -> Optional[Fields]:
    q = ex["question"]
    options = [_text(q[f"choice_{c}"]) for c in "ABCD"]
    out = _choose(options, ex["answerKey"])
    return out and {**out, "question": _text(q["stem"]), "fact": _text(ex["fact1"])}


def _squad(unanswerable: bool) -> Callable[[Example], Optional[Fields]]:
    """FLAN's `_process_squad_v1/_v2`: first answer trains, all answers evaluate."""

    def preprocess(ex: Example) -> Optional[Fields]:
        if unanswerable and ex.get("is_impossible"):
            answers = ["unanswerable"]  # FLAN's _UNANSWERABLE_RESPONSE
        else:
            answers = _unique([_text(a) for a in (ex["answers"] or {}).get("text", [])])
        if not answers:
            return None
        return {"title": _text(ex["title"]).replace("_", " "), "context": _text(ex["context"]),
                "question": _text(ex["question"]), "answer": answers[0], "answers": answers}

    preprocess.__name__ = "squad_v2" if unanswerable else "squad_v1"
    return preprocess


_SQUAD_FIELDS = ("title", "context", "question", "answer", "answers")
_add("bool_q", "reading_comprehension", "BoolQ", "bool_q:1.0.0", _TRAIN_VALIDATION, _bool_q,
     ("title", "text", "question", "options", "answer"), "accuracy",
     "Naturally occurring yes/no questions about Wikipedia passages.")
_add("drop", "reading_comprehension", "DROP", "drop:2.0.0", {"train": "train", "validation": "dev"},
     _drop, ("context", "question", "answer", "answers"), "squad",
     "Questions needing discrete reasoning (counting, sorting, arithmetic) over paragraphs.")
_add("multirc", "reading_comprehension", "MultiRC", "super_glue/multirc:1.0.2", _TRAIN_VALIDATION,
     _multirc, ("paragraph", "question", "response", "options", "answer"), "accuracy",
     "Multi-sentence reading comprehension: is a candidate answer correct?")
_add("openbookqa", "reading_comprehension", "OBQA", "openbookqa:0.1.0", _STANDARD, _openbookqa,
     ("question", "fact", "options", "answer"), "accuracy",
     "Elementary science questions with the supporting core fact given.")
_add("squad_v1", "reading_comprehension", "SQuAD", "squad/v1.1:3.0.0", _TRAIN_VALIDATION,
     _squad(False), _SQUAD_FIELDS, "squad", "Extractive QA over Wikipedia paragraphs (v1.1).")
_add("squad_v2", "reading_comprehension", "SQuAD", "squad/v2.0:3.0.0", _TRAIN_VALIDATION,
     _squad(True), _SQUAD_FIELDS, "squad",
     "Extractive QA with unanswerable questions (v2.0); target 'unanswerable' for those.")


# ------------------------------------------------ reading comprehension with commonsense
def _cosmos_qa(ex: Example) -> Optional[Fields]:
    out = _choose([_text(ex[f"answer{i}"]) for i in range(4)], ex["label"])
    return out and {**out, "context": _text(ex["context"]), "question": _text(ex["question"])}


def _record(ex: Example) -> Optional[Fields]:
    """FLAN's `_process_record`: the query is cut at @placeholder; every entity, followed by
    the rest of the query, is an option; the passage loses its @highlight lines."""
    query_left, _, query_right = _text(ex["query"]).partition("@placeholder")
    answers = _unique([_text(a) + query_right for a in ex.get("answers") or []])
    if not answers:
        return None  # the test split is unlabelled
    options = _unique([_text(e) + query_right for e in ex.get("entities") or []])
    if answers[0] not in options:  # never in real data; keeps "answer is an option" true
        options.append(answers[0])
    passage = _text(ex["passage"]).split("\n@highlight")[0].strip()
    return {"passage": passage, "query": query_left.strip(), "options": options,
            "answer": answers[0], "answers": answers}


_add("cosmos_qa", "reading_comprehension_with_commonsense", "CosmosQA", "cosmos_qa:1.0.0",
     _TRAIN_VALIDATION, _cosmos_qa, ("context", "question", "options", "answer"), "accuracy",
     "Reading comprehension needing commonsense inference about everyday narratives.")
_add("record", "reading_comprehension_with_commonsense", "ReCoRD", "super_glue/record:1.0.2",
     _TRAIN_VALIDATION, _record, ("passage", "query", "options", "answer", "answers"), "accuracy",
     "Cloze-style news QA: which entity fills the placeholder of the query.")


# ------------------------------------------------------------------------- coreference
def _definite_pronoun_resolution(ex: Example) -> Optional[Fields]:
    out = _choose([_text(c) for c in ex["candidates"]], ex["label"])
    return out and {**out, "sentence": _text(ex["sentence"]), "pronoun": _text(ex["pronoun"])}


def _winogrande(ex: Example) -> Optional[Fields]:
    """FLAN's `_process_winogrande`: the text before "_" is the context; each option is a
    candidate followed by the text after "_"."""
    before, _, after = _text(ex["sentence"]).partition("_")
    options = [_text(ex["option1"]) + after, _text(ex["option2"]) + after]
    out = _choose(options, ex["label"])
    return out and {**out, "context": before.rstrip()}


def _wsc(ex: Example) -> Optional[Fields]:
    out = _choose(["no", "yes"], ex["label"])
    return out and {**out, "context": _text(ex["text"]), "text1": _text(ex["span1_text"]),
                    "text2": _text(ex["span2_text"])}


_add("definite_pronoun_resolution", "coreference", "DPR", "definite_pronoun_resolution:1.1.0",
     _TEST_AS_VALIDATION, _definite_pronoun_resolution,
     ("sentence", "pronoun", "options", "answer"), "accuracy",
     "Definite pronoun resolution: which candidate does the pronoun refer to.")
# FLAN pinned winogrande:1.1.0; TFDS 4.9.10 ships 1.2.0. `train_xl` is the largest training
# size (FLAN's choice); the builder has no per-size configs, the sizes are splits.
_add("winogrande", "coreference", "Winogrande", "winogrande:1.2.0",
     {"train": "train_xl", "validation": "validation"}, _winogrande,
     ("context", "options", "answer"), "accuracy",
     "Adversarial Winograd-style fill-in-the-blank pronoun resolution.")
# Figure 3 names WSC273, but FLAN's `wsc` task trains on super_glue/wsc (tasks.py); the TFDS
# `wsc273` builder has only a test split (the 273 evaluation problems), so nothing to train
# on. We follow FLAN's code: span-pair coreference questions from SuperGLUE's WSC.
_add("wsc", "coreference", "WSC273", "super_glue/wsc:1.0.2", _TRAIN_VALIDATION, _wsc,
     ("context", "text1", "text2", "options", "answer"), "accuracy",
     "Winograd schema: does the pronoun span refer to the noun span (SuperGLUE WSC).")


# -------------------------------------------------------------------------------- misc
def _quac(ex: Example) -> Optional[Fields]:
    """One QuAC turn per TFDS example (the builder keeps no dialogue history); FLAN's
    `_process_quac` answers from the background and section text."""
    answer = _text((ex.get("orig_answer") or {}).get("text"))
    if not answer:
        return None
    answers = _unique([answer] + [_text(a) for a in (ex.get("answers") or {}).get("text", [])])
    return {"title": _text(ex["title"]), "background": _text(ex["background"]),
            "context": _text(ex["context"]), "question": _text(ex["question"]),
            "answer": answer, "answers": answers}


def _coqa(ex: Example) -> Optional[Fields]:
    """A whole CoQA conversation, flattened two ways: FLAN's numbered list of all questions ->
    numbered list of all answers, and (story + earlier turns) -> answer of the last turn."""
    questions = [_text(q) for q in ex.get("questions") or []]
    answers = [_text(a) for a in (ex.get("answers") or {}).get("input_text", [])]
    n = min(len(questions), len(answers))
    if n == 0:
        return None
    questions, answers = questions[:n], answers[:n]
    history = "\n".join(f"Q: {q}\nA: {a}" for q, a in zip(questions[:-1], answers[:-1]))
    return {"text": _text(ex["story"]), "numbered_questions": _numbered(questions),
            "numbered_answers": _numbered(answers), "history": history,
            "question": questions[-1], "answer": answers[-1], "answers": [answers[-1]]}


def _wic(ex: Example) -> Optional[Fields]:
    out = _choose(["different meanings", "the same meaning"], ex["label"])
    return out and {**out, "sentence1": _text(ex["sentence1"]), "sentence2": _text(ex["sentence2"]),
                    "word": _text(ex["word"])}


# The order of TFDS's coarse ClassLabel: DESC, ENTY, ABBR, HUM, NUM, LOC.
_TREC_OPTIONS = ["description", "entity", "abbreviation", "human", "numeric", "location"]


def _trec(ex: Example) -> Optional[Fields]:
    out = _choose(_TREC_OPTIONS, ex["label-coarse"])
    return out and {**out, "text": _text(ex["text"])}


def _cola(ex: Example) -> Optional[Fields]:
    out = _choose(["unacceptable", "acceptable"], ex["label"])
    return out and {**out, "sentence": _text(ex["sentence"])}


def _math_dataset(ex: Example) -> Optional[Fields]:
    question, answer = _text(ex["question"]), _text(ex["answer"])
    return {"question": question, "answer": answer} if question and answer else None


_PUNCTUATION = re.compile(r"[^\w\s]")  # FLAN's regex in `_process_fix_punct`


def _fix_punct(ex: Example) -> Optional[Fields]:
    """Input: the English side of ParaCrawl EN/DA with all punctuation removed; target: the
    original. Sentences without punctuation are skipped, as FLAN's `_filter_fix_punct` does."""
    text = _text(ex["en"])
    no_punct = _PUNCTUATION.sub("", text)
    if not text or no_punct == text:
        return None
    return {"no_punct": no_punct, "answer": text}


_add("quac", "misc", "QuAC", "quac:1.0.0", _TRAIN_VALIDATION, _quac,
     ("title", "background", "context", "question", "answer", "answers"), "squad",
     "Question answering in context: information-seeking dialogue over Wikipedia sections.")
# TFDS's coqa "test" split is CoQA's (labelled) development set.
_add("coqa", "misc", "CoQA", "coqa:1.0.0", _TEST_AS_VALIDATION, _coqa,
     ("text", "numbered_questions", "numbered_answers", "history", "question", "answer", "answers"),
     "squad", "Conversational question answering over short stories.")
_add("wic", "misc", "WIC", "super_glue/wic:1.0.2", _TRAIN_VALIDATION, _wic,
     ("sentence1", "sentence2", "word", "options", "answer"), "accuracy",
     "Words in context: is a word used with the same sense in two sentences?")
_add("trec", "misc", "TREC", "trec:1.0.0", _TEST_AS_VALIDATION, _trec,
     ("text", "options", "answer"), "accuracy", "Question classification by coarse answer type.")
_add("cola", "misc", "CoLA", "glue/cola:2.0.0", _TRAIN_VALIDATION, _cola,
     ("sentence", "options", "answer"), "accuracy", "Linguistic acceptability judgements.")
_add("math_dataset", "misc", "Math", "math_dataset/algebra__linear_1d:1.0.0", _TEST_AS_VALIDATION,
     _math_dataset, ("question", "answer"), "exact_match",
     "DeepMind mathematics: solve linear equations in one variable (FLAN's config).")
# FLAN scored fix_punct with edit distance, which flanjax's metric set does not have; exact
# match is the strict version of the same comparison.
_add("fix_punct", "misc", "Fix Punctuation (NLG)", "para_crawl/enda:1.2.0", _FIX_PUNCT,
     _fix_punct, ("no_punct", "answer"), "exact_match",
     "Restore the punctuation of an English sentence (ParaCrawl EN/DA English side).")


# ----------------------------------------------------------------------- summarization
def _aeslc(ex: Example) -> Optional[Fields]:
    body = _text(ex["email_body"]).replace("\n", " ")
    subject = _text(ex["subject_line"]).replace("\n", "")
    return {"body": body, "subject": subject} if body and subject else None


_CNN_DATELINES = ("2012 . ", "2013 . ", "2014 . ", ") -- ")


def _cnn_dailymail(ex: Example) -> Optional[Fields]:
    """Drops the byline / dateline header ("By . X . PUBLISHED: ... 2013 . ", "(CNN) -- "),
    the same separators FLAN's `_process_cnn_dailymail` splits on, if one opens the article."""
    article = _text(ex["article"])
    for sep in _CNN_DATELINES:
        i = article.find(sep)
        if 0 <= i < 400:
            article = article[i + len(sep):]
    highlights = _text(ex["highlights"])
    return {"text": article, "highlights": highlights} if article and highlights else None


def _gigaword(ex: Example) -> Optional[Fields]:
    """FLAN's `_filter_gigaword` drops pairs with "UNK" tokens or "#" (masked digits)."""
    text, summary = _text(ex["document"]), _text(ex["summary"])
    if not text or not summary or any(bad in text + summary for bad in ("UNK", "#")):
        return None
    return {"text": text, "summary": summary}


def _document_summary(ex: Example) -> Optional[Fields]:
    text, summary = _text(ex["document"]), _text(ex["summary"])
    return {"text": text, "summary": summary} if text and summary else None


def _multi_news(ex: Example) -> Optional[Fields]:
    out = _document_summary(ex)
    if out:  # source articles are joined by "|||||"; show them as paragraphs
        out["text"] = "\n\n".join(p.strip() for p in out["text"].split("|||||") if p.strip())
        out["summary"] = out["summary"].lstrip("– ").strip()
    return out


def _newsroom(ex: Example) -> Optional[Fields]:
    text, summary = _text(ex["text"]), _text(ex["summary"])
    if not text or not summary:
        return None
    return {"title": _text(ex["title"]), "text": text, "summary": summary}


def _samsum(ex: Example) -> Optional[Fields]:
    dialogue = _text(ex["dialogue"]).replace("\r\n", "\n")
    dialogue = re.sub(r"<[^>]*>", " ", dialogue)  # FLAN drops "<file_photo>"-style tags
    summary = _text(ex["summary"])
    return {"dialogue": dialogue, "summary": summary} if dialogue and summary else None


def _ag_news_subset(ex: Example) -> Optional[Fields]:
    out = _choose(["World", "Sports", "Business", "Science/Tech"], ex["label"])
    return out and {**out, "title": _text(ex["title"]), "text": _text(ex["description"])}


def _rotten_tomatoes(ex: Example) -> Optional[Fields]:
    reviews = [_text(r) for r in (ex.get("_critics") or {}).get("value", []) if _text(r)]
    consensus = _text(ex["_critic_consensus"])
    if not reviews or not consensus:
        return None
    movie = _text(ex["_movie_name"]).replace("_", " ").title()
    return {"critic_consensus": consensus, "movie": movie,
            "first_review": reviews[0], "numbered_reviews": _numbered(reviews, limit=10)}


def _idebate(ex: Example) -> Optional[Fields]:
    values = (ex.get("_argument_sentences") or {}).get("value", [])
    sentences = [_text(s) for s in values if _text(s)]
    claim = _text(ex["_claim"])
    if not sentences or not claim:
        return None
    return {"claim": claim, "debate_name": _text(ex["_debate_name"]),
            "argument_sentences": _numbered(sentences, limit=10)}


def _wiki_lingua(ex: Example) -> Optional[Fields]:
    source, target = _text(ex["source"]), _text(ex["target"])
    return {"source": source, "target": target} if source and target else None


_add("aeslc", "summarization", "AESLC", "aeslc:1.0.0", _STANDARD, _aeslc, ("body", "subject"),
     "rouge", "Email subject-line generation from the Enron corpus.")
# FLAN pinned cnn_dailymail:3.1.0; TFDS 4.9.10 ships 3.4.0 (same articles, extra fields).
_add("cnn_dailymail", "summarization", "CNN-DM", "cnn_dailymail:3.4.0", _STANDARD, _cnn_dailymail,
     ("text", "highlights"), "rouge", "News articles and their bullet-point highlights.")
_add("gigaword", "summarization", "Gigaword", "gigaword:1.2.0", _STANDARD, _gigaword,
     ("text", "summary"), "rouge", "Headline generation from the first sentence of news articles.")
# FLAN pinned multi_news:1.0.0; TFDS 4.9.10 ships 2.1.0.
_add("multi_news", "summarization", "MultiNews", "multi_news:2.1.0", _STANDARD, _multi_news,
     ("text", "summary"), "rouge", "Multi-document news summarization.")
_add("newsroom", "summarization", "Newsroom", "newsroom:1.0.0", _STANDARD, _newsroom,
     ("title", "text", "summary"), "rouge",
     "News article summaries from 38 publishers (manual download).")
_add("samsum", "summarization", "SamSum", "samsum:1.0.0", _STANDARD, _samsum,
     ("dialogue", "summary"), "rouge", "Messenger-style dialogue summarization (manual download).")
# FLAN read XSum through `huggingface:xsum`; TFDS's own `xsum` builder (manual download of
# the BBC articles) has the same document / summary fields.
_add("xsum", "summarization", "XSum", "xsum:1.1.0", _STANDARD, _document_summary,
     ("text", "summary"), "rouge", "Extreme (one-sentence) summarization of BBC articles.")
_add("ag_news_subset", "summarization", "AG News", "ag_news_subset:1.0.0", _TEST_AS_VALIDATION,
     _ag_news_subset, ("title", "text", "options", "answer"), "accuracy",
     "News topic classification (FLAN counts it under summarization).")
_add("opinion_abstracts_rotten_tomatoes", "summarization", "Opinion Abs: Movie",
     "opinion_abstracts/rotten_tomatoes:1.0.0", _OPINION_ABSTRACTS, _rotten_tomatoes,
     ("critic_consensus", "movie", "first_review", "numbered_reviews"), "rouge",
     "Rotten Tomatoes critic reviews and the critics' consensus.")
_add("opinion_abstracts_idebate", "summarization", "Opinion Abs: iDebate",
     "opinion_abstracts/idebate:1.0.0", _OPINION_ABSTRACTS, _idebate,
     ("claim", "debate_name", "argument_sentences"), "rouge",
     "idebate.org argument sentences and the claim they support.")
# GEM's WikiLingua English config, as FLAN used (`gem/wiki_lingua_english_en`); TFDS has no
# standalone `wiki_lingua` builder.
_add("wiki_lingua_english_en", "summarization", "Wiki Lingua EN",
     "gem/wiki_lingua_english_en:1.1.0", _STANDARD, _wiki_lingua, ("source", "target"), "rouge",
     "WikiHow how-to articles and their summaries (GEM WikiLingua, English).")
