"""FLAN 2021 summarization cluster (Wei et al. 2021, Figure 3): preprocessors, catalog entries and
flanjax's own instruction patterns (aeslc, cnn_dailymail, gigaword, multi_news, newsroom, samsum, xsum, ag_news_subset, opinion_abstracts_rotten_tomatoes, opinion_abstracts_idebate, wiki_lingua_english_en).

The patterns are flanjax's own wording, shaped like FLAN's `flan/templates.py` (see
`flanjax.data.catalog.flan2021`); `TURNED_AROUND` lists the turned-around ones.
Importing this module registers the entries; it reads no data.
"""

from __future__ import annotations

import functools
import re
from typing import Optional

from flanjax.data.catalog.entry import Example, Fields
from flanjax.data.catalog.flan2021 import common
from flanjax.data.catalog.flan2021.common import (
    TRAIN_TEST,
    TRAIN_VAL_TEST,
    choose,
    clean_text,
    numbered,
)

# pylint: disable=line-too-long
PATTERNS = {
    # ---------------------------------------------------------------------- summarization
    "aeslc": [
        ("Suggest a subject line for this email.\n\n{body}", "{subject}"),
        ("{body}\n\nWhat would be a good subject for the email above?", "{subject}"),
        ("Email:\n{body}\n\nSubject:", "{subject}"),
        ("Write a short subject line that sums up this message:\n\n{body}", "{subject}"),
        ("Here is the body of an email: {body}\n\nGive it a subject line.", "{subject}"),
        ("{body}\n\nSummarize this email in a few words, as a subject line.", "{subject}"),
        ("Read the email and propose its subject.\n\n{body}", "{subject}"),
        ("What is this email about? Answer with a subject line.\n\n{body}", "{subject}"),
        ("Compose an email whose subject is \"{subject}\".", "{body}"),
        ("Subject: {subject}\n\nWrite the body of this email.", "{body}"),
    ],
    "cnn_dailymail": [
        ("Summarize the key points of this news article.\n\n{text}", "{highlights}"),
        ("{text}\n\nList the highlights of the article above.", "{highlights}"),
        ("Article: {text}\n\nHighlights:", "{highlights}"),
        ("Write bullet-point highlights for the following story.\n\n{text}", "{highlights}"),
        ("{text}\n\nWhat are the main takeaways of this story?", "{highlights}"),
        ("Read this news story and give a short summary of its most important facts.\n\n{text}", "{highlights}"),
        ("{text}\n\nBriefly, what happened?", "{highlights}"),
        ("Give a few sentences that capture the essence of this article:\n\n{text}", "{highlights}"),
        ("Write a news article that covers these points:\n\n{highlights}", "{text}"),
        ("{highlights}\n\nExpand these highlights into a full news story.", "{text}"),
    ],
    "gigaword": [
        ("Write a headline for this sentence: {text}", "{summary}"),
        ("{text}\n\nCondense the sentence above into a headline.", "{summary}"),
        ("Sentence: {text}\nHeadline:", "{summary}"),
        ("Shorten this news lead to a few words: {text}", "{summary}"),
        ("What is a short title for the following?\n\n{text}", "{summary}"),
        ("{text}\n\nSummarize this in one short phrase.", "{summary}"),
        ("Here is the first sentence of a news story: {text}\n\nWhat would its headline be?", "{summary}"),
        ("Compress the following text into a headline-style summary.\n{text}", "{summary}"),
        ("Headline: {summary}\n\nWrite the opening sentence of a news story with this headline.", "{text}"),
        ("Write a sentence that expands on this headline: \"{summary}\"", "{text}"),
    ],
    "multi_news": [
        ("Summarize the following news reports in one paragraph.\n\n{text}", "{summary}"),
        ("{text}\n\nWrite a summary that combines the reports above.", "{summary}"),
        ("Several articles cover the same event:\n\n{text}\n\nWhat is a summary of them?", "{summary}"),
        ("News sources:\n{text}\n\nSummary:", "{summary}"),
        ("Read these articles and write a short overview of the story.\n\n{text}", "{summary}"),
        ("{text}\n\nCondense the coverage above into a few sentences.", "{summary}"),
        ("Give a brief news summary based on these sources:\n\n{text}", "{summary}"),
        ("{text}\n\nWhat is the gist of these articles?", "{summary}"),
        ("Write news articles that this summary could be based on:\n\n{summary}", "{text}"),
        ("{summary}\n\nTurn this summary into full news coverage.", "{text}"),
    ],
    "newsroom": [
        ("{title}\n\n{text}\n\nSummarize this article in a sentence or two.", "{summary}"),
        ("Give a short summary of this story.\n\n{title}\n{text}", "{summary}"),
        ("Headline: {title}\n\nArticle: {text}\n\nSummary:", "{summary}"),
        ("{title}\n\n{text}\n\nWhat is this story about, briefly?", "{summary}"),
        ("Read the news article and write a brief summary.\n\n{title}\n\n{text}", "{summary}"),
        ("{title}\n{text}\n\nWhat are the key facts of this article?", "{summary}"),
        ("Write a one-sentence teaser for the following article.\n\n{title}\n\n{text}", "{summary}"),
        ("Write a news article with the headline \"{title}\".", "{text}"),
        ("{text}\n\nGive this article a headline.", "{title}"),
        ("What would be a good title for this news story?\n\n{text}", "{title}"),
    ],
    "samsum": [
        ("Summarize this conversation.\n\n{dialogue}", "{summary}"),
        ("{dialogue}\n\nWhat happened in the chat above? Answer briefly.", "{summary}"),
        ("Conversation:\n{dialogue}\n\nSummary:", "{summary}"),
        ("Read the messages and write a one- or two-sentence summary.\n\n{dialogue}", "{summary}"),
        ("{dialogue}\n\nWhat did they agree on or talk about?", "{summary}"),
        ("Here is a chat log:\n{dialogue}\n\nGive a short third-person summary.", "{summary}"),
        ("{dialogue}\n\nSum up the dialogue in a few words.", "{summary}"),
        ("Briefly describe what this exchange is about.\n\n{dialogue}", "{summary}"),
        ("Write a chat conversation that fits this summary:\n{summary}", "{dialogue}"),
        ("{summary}\n\nWrite the messages that this summary describes.", "{dialogue}"),
    ],
    "xsum": [
        ("Summarize this article in a single sentence.\n\n{text}", "{summary}"),
        ("{text}\n\nWhat is the one-line summary of this article?", "{summary}"),
        ("Article: {text}\n\nOne-sentence summary:", "{summary}"),
        ("Read the following news story and say in one sentence what it is about.\n\n{text}", "{summary}"),
        ("{text}\n\nGive the gist of the story above.", "{summary}"),
        ("Write a short introductory sentence that summarizes this BBC article:\n\n{text}", "{summary}"),
        ("{text}\n\nIn one sentence, what happened?", "{summary}"),
        ("Condense this article into its key message:\n{text}", "{summary}"),
        ("Write a news article that this sentence could summarize:\n\n{summary}", "{text}"),
        ("{summary}\n\nWrite the full story behind this one-line summary.", "{text}"),
    ],
    "ag_news_subset": [
        ("{title}\n\n{text}\n\nWhich section of a newspaper does this story belong to?\n\n{options_}", "{answer}"),
        ("{title}\n\n{text}\n\nWhat is the topic of this article?\n\n{options_}", "{answer}"),
        ("{text}\n\nClassify the news story above.\n\n{options_}", "{answer}"),
        ("Article: {text}\n\nCategory:\n\n{options_}", "{answer}"),
        ("Pick the subject area of this news item.\n\n{text}\n\n{options_}", "{answer}"),
        ("{text}\n\nWhat kind of news is this?\n\n{options_}", "{answer}"),
        ("Headline: {title}\nStory: {text}\n\nWhich category fits best?\n\n{options_}", "{answer}"),
        ("Which of these topics does the following text cover?\n\n{text}\n\n{options_}", "{answer}"),
        ("{text}\n\nWrite a headline for this news story.", "{title}"),
        ("Give the following article a title.\n\n{text}", "{title}"),
    ],
    "opinion_abstracts_rotten_tomatoes": [
        ("{numbered_reviews}\n\nSum up these critics' reviews in one sentence.", "{critic_consensus}"),
        ("Here are reviews of the film {movie}:\n{numbered_reviews}\n\nWhat is the critics' consensus?", "{critic_consensus}"),
        ("Reviews:\n{numbered_reviews}\n\nOverall verdict:", "{critic_consensus}"),
        ("Read these movie reviews and write a short consensus statement.\n\n{numbered_reviews}", "{critic_consensus}"),
        ("{numbered_reviews}\n\nWhat do the critics agree on about this movie?", "{critic_consensus}"),
        ("Summarize the critical reception of {movie} from these reviews:\n\n{numbered_reviews}", "{critic_consensus}"),
        ("In one sentence, what did critics think of {movie}?", "{critic_consensus}"),
        ("Write a numbered list of short critic reviews of {movie}.", "{numbered_reviews}"),
        ("The critics' consensus on a movie was: \"{critic_consensus}\". Write reviews that could have led to it.", "{numbered_reviews}"),
        ("Which movie is this review about?\n\n{first_review}", "{movie}"),
    ],
    "opinion_abstracts_idebate": [
        ("{argument_sentences}\n\nWhat claim do these sentences argue for?", "{claim}"),
        ("Evidence:\n{argument_sentences}\n\nClaim:", "{claim}"),
        ("Debate: {debate_name}\n\nArgument:\n{argument_sentences}\n\nState the claim in one sentence.", "{claim}"),
        ("Summarize the point these sentences make.\n\n{argument_sentences}", "{claim}"),
        ("{debate_name}\n\nState one position someone could take in this debate.", "{claim}"),
        ("Here is an argument from the debate \"{debate_name}\":\n{argument_sentences}\n\nWhat is its main claim?", "{claim}"),
        ("{argument_sentences}\n\nWhat debate is this argument part of?", "{debate_name}"),
        ("Read the sentences below and write the conclusion they support.\n\n{argument_sentences}", "{claim}"),
        ("Claim: {claim}\n\nWrite numbered sentences of evidence supporting this claim.", "{argument_sentences}"),
        ("{claim}\n\nArgue for this claim in a numbered list of points.", "{argument_sentences}"),
    ],
    "wiki_lingua_english_en": [
        ("Summarize these how-to instructions in a few sentences.\n\n{source}", "{target}"),
        ("{source}\n\nWhat are the steps above, in brief?", "{target}"),
        ("Instructions: {source}\n\nSummary:", "{target}"),
        ("Write a short summary of this guide.\n\n{source}", "{target}"),
        ("{source}\n\nCondense the text above into its main steps.", "{target}"),
        ("Read this wikiHow-style text and say briefly what it tells you to do.\n\n{source}", "{target}"),
        ("{source}\n\nTL;DR:", "{target}"),
        ("Give a brief overview of the following instructions:\n{source}", "{target}"),
        ("Write detailed how-to instructions based on this summary:\n\n{target}", "{source}"),
        ("{target}\n\nExpand this summary into a full step-by-step guide.", "{source}"),
    ],
}

# Indices into PATTERNS[key] of the turned-around patterns (at most three per key).
TURNED_AROUND = {
    'aeslc': (8, 9),
    'cnn_dailymail': (8, 9),
    'gigaword': (8, 9),
    'multi_news': (8, 9),
    'newsroom': (7, 8, 9),
    'samsum': (8, 9),
    'xsum': (8, 9),
    'ag_news_subset': (8, 9),
    'opinion_abstracts_rotten_tomatoes': (7, 8, 9),
    'opinion_abstracts_idebate': (6, 8, 9),
    'wiki_lingua_english_en': (8, 9),
}

_add = functools.partial(common.add, own_patterns=PATTERNS)


_OPINION_ABSTRACTS = {
    "train": "train[:-600]", "validation": "train[-600:-500]", "test": "train[-500:]"
}


def _aeslc(ex: Example) -> Optional[Fields]:
    body = clean_text(ex["email_body"]).replace("\n", " ")
    subject = clean_text(ex["subject_line"]).replace("\n", "")
    return {"body": body, "subject": subject} if body and subject else None

_CNN_DATELINES = ("2012 . ", "2013 . ", "2014 . ", ") -- ")


def _cnn_dailymail(ex: Example) -> Optional[Fields]:
    """Drops the byline / dateline header ("By . X . PUBLISHED: ... 2013 . ", "(CNN) -- "),
    the same separators FLAN's `_process_cnn_dailymail` splits on, if one opens the article."""
    article = clean_text(ex["article"])
    for sep in _CNN_DATELINES:
        i = article.find(sep)
        if 0 <= i < 400:
            article = article[i + len(sep):]
    highlights = clean_text(ex["highlights"])
    return {"text": article, "highlights": highlights} if article and highlights else None


def _gigaword(ex: Example) -> Optional[Fields]:
    """FLAN's `_filter_gigaword` drops pairs with "UNK" tokens or "#" (masked digits)."""
    text, summary = clean_text(ex["document"]), clean_text(ex["summary"])
    if not text or not summary or any(bad in text + summary for bad in ("UNK", "#")):
        return None
    return {"text": text, "summary": summary}


def _document_summary(ex: Example) -> Optional[Fields]:
    text, summary = clean_text(ex["document"]), clean_text(ex["summary"])
    return {"text": text, "summary": summary} if text and summary else None


def _multi_news(ex: Example) -> Optional[Fields]:
    out = _document_summary(ex)
    if out:  # source articles are joined by "|||||"; show them as paragraphs
        out["text"] = "\n\n".join(p.strip() for p in out["text"].split("|||||") if p.strip())
        out["summary"] = out["summary"].lstrip("– ").strip()
    return out


def _newsroom(ex: Example) -> Optional[Fields]:
    text, summary = clean_text(ex["text"]), clean_text(ex["summary"])
    if not text or not summary:
        return None
    return {"title": clean_text(ex["title"]), "text": text, "summary": summary}


def _samsum(ex: Example) -> Optional[Fields]:
    dialogue = clean_text(ex["dialogue"]).replace("\r\n", "\n")
    dialogue = re.sub(r"<[^>]*>", " ", dialogue)  # FLAN drops "<file_photo>"-style tags
    summary = clean_text(ex["summary"])
    return {"dialogue": dialogue, "summary": summary} if dialogue and summary else None


def _ag_news_subset(ex: Example) -> Optional[Fields]:
    out = choose(["World", "Sports", "Business", "Science/Tech"], ex["label"])
    return out and {**out, "title": clean_text(ex["title"]), "text": clean_text(ex["description"])}


def _rotten_tomatoes(ex: Example) -> Optional[Fields]:
    reviews = [clean_text(r) for r in (ex.get("_critics") or {}).get("value", []) if clean_text(r)]
    consensus = clean_text(ex["_critic_consensus"])
    if not reviews or not consensus:
        return None
    movie = clean_text(ex["_movie_name"]).replace("_", " ").title()
    return {"critic_consensus": consensus, "movie": movie,
            "first_review": reviews[0], "numbered_reviews": numbered(reviews, limit=10)}


def _idebate(ex: Example) -> Optional[Fields]:
    values = (ex.get("_argument_sentences") or {}).get("value", [])
    sentences = [clean_text(s) for s in values if clean_text(s)]
    claim = clean_text(ex["_claim"])
    if not sentences or not claim:
        return None
    return {"claim": claim, "debate_name": clean_text(ex["_debate_name"]),
            "argument_sentences": numbered(sentences, limit=10)}


def _wiki_lingua(ex: Example) -> Optional[Fields]:
    source, target = clean_text(ex["source"]), clean_text(ex["target"])
    return {"source": source, "target": target} if source and target else None

_add("aeslc", "summarization", "AESLC", "aeslc:1.0.0", TRAIN_VAL_TEST, _aeslc, ("body", "subject"),
     "rouge", "Email subject-line generation from the Enron corpus.")

# FLAN pinned cnn_dailymail:3.1.0; TFDS 4.9.10 ships 3.4.0 (same articles, extra fields).
_add("cnn_dailymail", "summarization", "CNN-DM", "cnn_dailymail:3.4.0", TRAIN_VAL_TEST, _cnn_dailymail,
     ("text", "highlights"), "rouge", "News articles and their bullet-point highlights.")

_add("gigaword", "summarization", "Gigaword", "gigaword:1.2.0", TRAIN_VAL_TEST, _gigaword,
     ("text", "summary"), "rouge", "Headline generation from the first sentence of news articles.")

# FLAN pinned multi_news:1.0.0; TFDS 4.9.10 ships 2.1.0.
_add("multi_news", "summarization", "MultiNews", "multi_news:2.1.0", TRAIN_VAL_TEST, _multi_news,
     ("text", "summary"), "rouge", "Multi-document news summarization.")

_add("newsroom", "summarization", "Newsroom", "newsroom:1.0.0", TRAIN_VAL_TEST, _newsroom,
     ("title", "text", "summary"), "rouge",
     "News article summaries from 38 publishers (manual download).")

_add("samsum", "summarization", "SamSum", "samsum:1.0.0", TRAIN_VAL_TEST, _samsum,
     ("dialogue", "summary"), "rouge", "Messenger-style dialogue summarization (manual download).")

# FLAN read XSum through `huggingface:xsum`; TFDS's own `xsum` builder (manual download of
# the BBC articles) has the same document / summary fields.
_add("xsum", "summarization", "XSum", "xsum:1.1.0", TRAIN_VAL_TEST, _document_summary,
     ("text", "summary"), "rouge", "Extreme (one-sentence) summarization of BBC articles.")

_add("ag_news_subset", "summarization", "AG News", "ag_news_subset:1.0.0", TRAIN_TEST,
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
     "gem/wiki_lingua_english_en:1.1.0", TRAIN_VAL_TEST, _wiki_lingua, ("source", "target"), "rouge",
     "WikiHow how-to articles and their summaries (GEM WikiLingua, English).")
