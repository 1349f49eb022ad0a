"""The `demo` collection: the bundled offline datasets (`flanjax.data.bundled`).

Ten generated TFDS datasets in five clusters (two each), so that the `demo` mixture and
every `demo_minus_{cluster}` run with no network:

    nli                    demo_entailment, demo_numeric_nli
    sentiment              demo_reviews, demo_restaurant
    arithmetic             demo_addition, demo_comparison
    text_transform         demo_reverse_words, demo_sort_words
    reading_comprehension  demo_facts_qa, demo_facts_yesno

The templates are our own wording in FLAN's conventions (Wei et al. 2021,
`flan/templates.py`): several phrasings per dataset, the answer options appended as
`{options_}` for classification, the bare answer as target. Classification entries are
evaluated by rank classification over their options; the others by generation and exact
match.

Importing this module registers the entries and reads nothing: the data are built into
`flanjax.data.bundled.default_data_dir()` (env FLANJAX_DEMO_DATA_DIR, else
~/.cache/flanjax/tfds) by `flanjax.data.bundled.ensure_prepared()`, or by TFDS itself the
first time seqio loads a split. `entries(data_dir)` makes the same entries over another
directory (tests use a temporary one).
"""

from __future__ import annotations

import functools
from typing import Callable, Optional

from flanjax.data import sources
from flanjax.data import templates as templates_lib
from flanjax.data.bundled import builders as bundled
from flanjax.data.bundled import generators
from flanjax.data.catalog.entry import CatalogEntry, Example, Fields
from flanjax.data.catalog.registry import register_entry

COLLECTION = "demo"
CLUSTERS = ("nli", "sentiment", "arithmetic", "text_transform", "reading_comprehension")
SPLITS = {"train": "train", "validation": "validation", "test": "test"}

# FLAN's three-way NLI options (e.g. its RTE/ANLI/MNLI templates), in MNLI label order.
NLI_OPTIONS = ["yes", "it is not possible to tell", "no"]
_NLI_ANSWER = dict(zip(generators.NLI_LABELS, NLI_OPTIONS))


# --------------------------------------------------------------------------------------
# Preprocessors: raw TFDS example (ClassLabel -> int) -> template fields.
# --------------------------------------------------------------------------------------


def _nli(label_names: tuple[str, ...], to_option: Callable[[str], str]):
    def preprocess(raw: Example) -> Fields:
        return {
            "premise": raw["premise"],
            "hypothesis": raw["hypothesis"],
            "options": list(NLI_OPTIONS),
            "answer": to_option(label_names[raw["label"]]),
        }

    return preprocess


def _review(raw: Example) -> Fields:
    options = list(generators.SENTIMENT_LABELS)
    return {"text": raw["text"], "options": options, "answer": options[raw["label"]]}


def _addition(raw: Example) -> Fields:
    return {"a": str(raw["a"]), "b": str(raw["b"]), "answer": str(raw["sum"])}


def _comparison(raw: Example) -> Fields:
    first, second = str(raw["first"]), str(raw["second"])
    options = [first, second]
    return {"first": first, "second": second, "options": options,
            "answer": options[raw["label"]]}


def _reverse(raw: Example) -> Fields:
    return {"sentence": raw["sentence"], "answer": raw["reversed"]}


def _sort(raw: Example) -> Fields:
    return {"words": raw["words"], "answer": raw["sorted"]}


def _facts_qa(raw: Example) -> Fields:
    return {"context": raw["context"], "question": raw["question"], "answer": raw["answer"]}


def _facts_yesno(raw: Example) -> Fields:
    options = list(generators.NO_YES)
    return {"context": raw["context"], "question": raw["question"], "options": options,
            "answer": options[raw["label"]]}


# --------------------------------------------------------------------------------------
# Templates: our own wording, FLAN conventions.
# --------------------------------------------------------------------------------------

PATTERNS: dict[str, list[tuple[str, str]]] = {
    "demo_entailment": [
        ("Premise: {premise}\nHypothesis: {hypothesis}\nDoes the premise entail the "
         "hypothesis?\n\n{options_}", "{answer}"),
        ("{premise}\n\nBased on that, is it true that \"{hypothesis}\"?\n\n{options_}",
         "{answer}"),
        ("Read this: {premise}\nCan we conclude the following? {hypothesis}\n{options_}",
         "{answer}"),
        ("If \"{premise}\", does it follow that \"{hypothesis}\"?\n\n{options_}", "{answer}"),
        ("{premise} Question: {hypothesis} Yes, no, or can't tell?\n{options_}", "{answer}"),
    ],
    "demo_numeric_nli": [
        ("{premise}\nGiven this, is the following true? {hypothesis}\n\n{options_}",
         "{answer}"),
        ("Statement one: {premise}\nStatement two: {hypothesis}\nDoes statement one imply "
         "statement two?\n{options_}", "{answer}"),
        ("Count carefully. {premise} Does that mean \"{hypothesis}\"?\n\n{options_}",
         "{answer}"),
        ("Fact: {premise}\nClaim: {hypothesis}\nIs the claim supported by the fact?\n"
         "{options_}", "{answer}"),
    ],
    "demo_reviews": [
        ("{text}\nIs this product review positive or negative?\n\n{options_}", "{answer}"),
        ("Here is a customer review: {text}\nHow does the customer feel about the "
         "product?\n{options_}", "{answer}"),
        ("Review: {text}\n\nWhat is the sentiment of this review?\n{options_}", "{answer}"),
        ("Decide whether the buyer liked the product. {text}\n\n{options_}", "{answer}"),
        ("{text}\n\nDid the reviewer like it?\n{options_}", "{answer}"),
    ],
    "demo_restaurant": [
        ("{text}\nWas this diner happy with the restaurant?\n\n{options_}", "{answer}"),
        ("Restaurant review: {text}\nIs the review positive or negative?\n{options_}",
         "{answer}"),
        ("What tone does this review of a restaurant have?\n\n{text}\n\n{options_}",
         "{answer}"),
        ("{text} How would you describe the sentiment of this review?\n{options_}",
         "{answer}"),
    ],
    "demo_addition": [
        ("What is {a} + {b}?", "{answer}"),
        ("Add {a} and {b}.", "{answer}"),
        ("Compute the sum of {a} and {b}.", "{answer}"),
        ("{a} plus {b} equals what?", "{answer}"),
        ("Solve: {a} + {b} =", "{answer}"),
    ],
    "demo_comparison": [
        ("Which number is larger, {first} or {second}?\n\n{options_}", "{answer}"),
        ("Pick the bigger number.\n{options_}", "{answer}"),
        ("Compare {first} and {second}. Which one is greater?\n{options_}", "{answer}"),
        ("Of the numbers {first} and {second}, which is the maximum?\n\n{options_}",
         "{answer}"),
    ],
    "demo_reverse_words": [
        ("Reverse the order of the words: {sentence}", "{answer}"),
        ("Write these words backwards, last word first: {sentence}", "{answer}"),
        ("{sentence}\n\nRewrite the words above in reverse order.", "{answer}"),
        ("Input: {sentence}\nOutput the same words from the end to the start.", "{answer}"),
    ],
    "demo_sort_words": [
        ("Sort these words alphabetically: {words}", "{answer}"),
        ("Put the following words in alphabetical order: {words}", "{answer}"),
        ("{words}\n\nList the words above from A to Z.", "{answer}"),
        ("Arrange in dictionary order: {words}", "{answer}"),
    ],
    "demo_facts_qa": [
        ("{context}\n\nAnswer this question: {question}", "{answer}"),
        ("Read the text and answer the question.\n\n{context}\n\nQ: {question}", "{answer}"),
        ("{context}\nBased on the passage, answer: {question}", "{answer}"),
        ("Question: {question}\nContext: {context}\nAnswer:", "{answer}"),
        ("Use the paragraph to answer. {context} {question}", "{answer}"),
    ],
    "demo_facts_yesno": [
        ("{context}\n\n{question}\n{options_}", "{answer}"),
        ("Read the passage and answer yes or no.\n\n{context}\n\nQ: {question}\n\n{options_}",
         "{answer}"),
        ("Passage: {context}\nQuestion: {question}\nAnswer with yes or no.\n{options_}",
         "{answer}"),
        ("{context} Based on the text above, answer: {question}\n\n{options_}",
         "{answer}"),
    ],
}
TEMPLATES = templates_lib.from_flan_patterns(PATTERNS)

# name -> (builder, cluster, preprocess, fields, has_options)
_Preprocess = Callable[[Example], Optional[Fields]]
_DATASETS: dict[str, tuple[str, str, _Preprocess, tuple[str, ...], bool]] = {
    "demo_entailment": (
        "flanjax_demo_entailment", "nli",
        _nli(generators.NLI_LABELS, _NLI_ANSWER.__getitem__),
        ("premise", "hypothesis", "options", "answer"), True),
    "demo_numeric_nli": (
        "flanjax_demo_numeric_nli", "nli", _nli(generators.YES_NO_MAYBE, str),
        ("premise", "hypothesis", "options", "answer"), True),
    "demo_reviews": (
        "flanjax_demo_reviews", "sentiment", _review, ("text", "options", "answer"), True),
    "demo_restaurant": (
        "flanjax_demo_restaurant", "sentiment", _review, ("text", "options", "answer"), True),
    "demo_addition": (
        "flanjax_demo_addition", "arithmetic", _addition, ("a", "b", "answer"), False),
    "demo_comparison": (
        "flanjax_demo_comparison", "arithmetic", _comparison,
        ("first", "second", "options", "answer"), True),
    "demo_reverse_words": (
        "flanjax_demo_reverse_words", "text_transform", _reverse, ("sentence", "answer"), False),
    "demo_sort_words": (
        "flanjax_demo_sort_words", "text_transform", _sort, ("words", "answer"), False),
    "demo_facts_qa": (
        "flanjax_demo_facts_qa", "reading_comprehension", _facts_qa,
        ("context", "question", "answer"), False),
    "demo_facts_yesno": (
        "flanjax_demo_facts_yesno", "reading_comprehension", _facts_yesno,
        ("context", "question", "options", "answer"), True),
}


def entries(data_dir: Optional[str] = None) -> list[CatalogEntry]:
    """The demo entries reading their TFDS data from `data_dir` (default: the demo dir).

    The directory is only a path here; nothing is built or read until seqio asks for data.
    """
    data_dir = data_dir or bundled.default_data_dir()
    out = []
    for name, (builder, cluster, preprocess, fields, has_options) in _DATASETS.items():
        spec = generators.SPECS_BY_NAME[builder]
        out.append(
            CatalogEntry(
                name=name,
                collection=COLLECTION,
                cluster=cluster,
                source=sources.TfdsSource(
                    tfds_name=bundled.tfds_name(builder),
                    splits=dict(SPLITS),
                    data_dir=data_dir,
                    # Generated from code: built offline, in seconds, on first use.
                    prepare=functools.partial(bundled.ensure_prepared, data_dir),
                ),
                preprocess=preprocess,
                fields=fields,
                templates=TEMPLATES[name],
                metric="accuracy" if has_options else "exact_match",
                eval_mode="rank" if has_options else "generate",
                paper_dataset=builder,
                has_options=has_options,
                description=spec.description,
                vocabulary="DEMO_VOCAB",
            )
        )
    return out


ENTRIES: list[CatalogEntry] = entries()
for _entry in ENTRIES:
    register_entry(_entry)
