"""FLAN 2021 sentiment cluster (Wei et al. 2021, Figure 3): preprocessors, catalog entries and
flanjax's own instruction patterns (imdb_reviews, sentiment140, sst2, yelp_polarity_reviews).

The patterns are flanjax's own wording, shaped like FLAN's `flan/templates.py` (see
`flanjax.data.catalog.flan2021`); `TURNED_AROUND` lists the turned-around ones.
Importing this module registers the entries; it reads no data.
"""

from __future__ import annotations

import functools
from typing import Optional

from flanjax.data.catalog.entry import Example, Fields
from flanjax.data.catalog.flan2021 import common
from flanjax.data.catalog.flan2021.common import (
    TRAIN_TEST,
    TRAIN_VAL,
    label_fields,
    labeled,
)

# pylint: disable=line-too-long
PATTERNS = {
    "imdb_reviews": [
        ("{text}\n\nDid the reviewer like this movie?\n{options_}", "{answer}"),
        ("Movie review: {text}\n\nIs this review positive or negative?\n\n{options_}", "{answer}"),
        ("What sentiment does the following film review express?\n\n{text}\n\n{options_}", "{answer}"),
        ("{text}\n\nHow does the author feel about the film?\n{options_}", "{answer}"),
        ("Classify the sentiment of this IMDb review.\n\n{text}\n\n{options_}", "{answer}"),
        ("Review:\n{text}\n\nOverall, is the opinion favourable or unfavourable?\n{options_}", "{answer}"),
        ("Read the review and tell me its sentiment.\n{text}\n\n{options_}", "{answer}"),
        ("{text}\nWould this reviewer recommend the movie?\n\n{options_}", "{answer}"),
        ("Write a {answer} review of a movie.", "{text}"),
        ("Compose a film review that expresses a {answer} opinion.", "{text}"),
    ],
    "sentiment140": [
        ("Tweet: {text}\n\nIs the mood of this tweet positive or negative?\n{options_}", "{answer}"),
        ("{text}\n\nWhat feeling does this tweet convey?\n\n{options_}", "{answer}"),
        ("How does the person who wrote this tweet feel?\n\n{text}\n\n{options_}", "{answer}"),
        ("Classify the sentiment of the tweet below.\n{text}\n{options_}", "{answer}"),
        ("\"{text}\"\n\nIs this a happy or an unhappy tweet?\n\n{options_}", "{answer}"),
        ("{text}\nSentiment of the tweet above?\n{options_}", "{answer}"),
        ("Read this tweet and decide its polarity: {text}\n\n{options_}", "{answer}"),
        ("Write a tweet with a {answer} tone.", "{text}"),
        ("Post something on Twitter that sounds {answer}.", "{text}"),
        ("Give an example of a {answer} tweet.", "{text}"),
    ],
    "sst2": [
        ("{sentence}\n\nIs this movie review snippet positive or negative?\n{options_}", "{answer}"),
        ("Review excerpt: \"{sentence}\"\n\nWhat is its sentiment?\n\n{options_}", "{answer}"),
        ("What does the critic think, judging by this phrase?\n\n{sentence}\n\n{options_}", "{answer}"),
        ("Sentence from a film review: {sentence}\n\nDoes it praise or criticize the movie?\n{options_}", "{answer}"),
        ("Determine the polarity of the following phrase.\n{sentence}\n\n{options_}", "{answer}"),
        ("{sentence}\n\nDoes this sound like a positive or a negative remark about a film?\n\n{options_}", "{answer}"),
        ("Classify this review fragment as positive or negative: {sentence}\n\n{options_}", "{answer}"),
        ("\"{sentence}\"\nHow would you rate the sentiment of this phrase?\n{options_}", "{answer}"),
        ("Write a {answer} phrase that a film critic might use.", "{sentence}"),
        ("Give me a short snippet from a {answer} movie review.", "{sentence}"),
    ],
    "yelp_polarity_reviews": [
        ("{text}\n\nWas the customer who wrote this review satisfied?\n{options_}", "{answer}"),
        ("Yelp review: {text}\n\nIs the review positive or negative?\n\n{options_}", "{answer}"),
        ("How does this reviewer feel about the business?\n\n{text}\n\n{options_}", "{answer}"),
        ("{text}\n\nWhat is the sentiment of this business review?\n{options_}", "{answer}"),
        ("Read the following review and label its sentiment.\n{text}\n\n{options_}", "{answer}"),
        ("Review:\n{text}\n\nWould you call this a good or a bad review?\n{options_}", "{answer}"),
        ("Decide whether this review is favourable.\n\n{text}\n\n{options_}", "{answer}"),
        ("Write a {answer} review of a local business.", "{text}"),
        ("Compose a {answer} Yelp review for a restaurant or shop.", "{text}"),
        ("What might a {answer} customer review look like?", "{text}"),
    ],
}

# Indices into PATTERNS[key] of the turned-around patterns (at most three per key).
TURNED_AROUND = {
    'imdb_reviews': (8, 9),
    'sentiment140': (7, 8, 9),
    'sst2': (8, 9),
    'yelp_polarity_reviews': (7, 8, 9),
}

_add = functools.partial(common.add, own_patterns=PATTERNS)


SENTIMENT_OPTIONS = ("negative", "positive")


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


def _imdb_clean(text: str) -> str:
    return text.replace("<br />", "\n")


def _yelp_clean(text: str) -> str:
    # The Yelp CSV keeps escaped quotes and literal "\n" (FLAN cleans both the same way).
    return text.replace('\\""', '"').replace("\\n", " ")

_TEXT = {"text": "text"}
_SENT = {"sentence": "sentence"}

_add(
    "imdb_reviews", "sentiment", "IMDB", "imdb_reviews/plain_text:1.0.0", TRAIN_TEST,
    labeled(_TEXT, SENTIMENT_OPTIONS, clean=_imdb_clean), label_fields(_TEXT),
    description="IMDB movie reviews, binary sentiment.",
)

_add(
    "sentiment140", "sentiment", "Sent140", "sentiment140:1.0.0", TRAIN_TEST,
    _sentiment140, label_fields(_TEXT), description="Sentiment140 tweets, binary sentiment.",
)

_add(
    "sst2", "sentiment", "SST-2", "glue/sst2:2.0.0", TRAIN_VAL,
    labeled(_SENT, SENTIMENT_OPTIONS), label_fields(_SENT),
    description="Stanford Sentiment Treebank, binary (GLUE).",
)

_add(
    "yelp_polarity_reviews", "sentiment", "Yelp", "yelp_polarity_reviews:0.2.0", TRAIN_TEST,
    labeled(_TEXT, SENTIMENT_OPTIONS, clean=_yelp_clean), label_fields(_TEXT),
    description="Yelp reviews, polarity.",
)
