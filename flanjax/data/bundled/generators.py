"""Example generators for the bundled offline datasets: every example is made here, from code.

No third-party text: the words below are plain English vocabulary (objects, colours, places,
first names, cities, jobs) and every sentence is assembled by a small grammar whose label is
correct by construction. Each dataset is a `DatasetSpec`: a schema (field -> type), a
function drawing one example from a `random.Random`, and a fixed seed, so that
`generate_splits(spec)` always returns the same unique examples in the same order.

The TFDS builders (`flanjax.data.bundled.builders`) wrap these specs; the SentencePiece
trainer (`flanjax.data.bundled.train_spm`) reads them directly.
"""

from __future__ import annotations

import dataclasses
import functools
import random
import zlib
from typing import Any, Callable, Mapping, Union

# Split sizes: small enough to build all datasets in seconds, large enough to train a tiny
# model on the demo mixture.
SPLIT_SIZES = {"train": 2000, "validation": 200, "test": 200}

# A schema value is `str` (text), `int` (int32) or a tuple of class names (ClassLabel).
FieldType = Union[type, tuple[str, ...]]
Example = dict[str, Any]

# Shared vocabulary.
OBJECTS = ("ball", "cup", "book", "lamp", "chair", "box", "hat", "kite", "bottle", "clock",
           "vase", "pen", "bag", "key", "plate", "drum")
COLOURS = ("red", "blue", "green", "yellow", "black", "white", "brown", "orange", "purple",
           "grey")
SIZES = ("big", "small")
MATERIALS = ("wooden", "metal", "plastic", "glass")
PLACES = ("kitchen", "garden", "garage", "attic", "hallway", "bedroom", "cellar", "office",
          "library", "porch")
NAMES = ("Maria", "Omar", "Ana", "Kenji", "Lena", "Ravi", "Sofia", "Tom", "Amara", "Ivan",
         "Nina", "Diego", "Yuki", "Leo", "Zara", "Hugo")
CITIES = ("Lisbon", "Cairo", "Oslo", "Lima", "Kyoto", "Nairobi", "Dublin", "Quito", "Hanoi",
          "Perth", "Porto", "Seoul")
JOBS = ("baker", "pilot", "nurse", "teacher", "farmer", "painter", "doctor", "chef", "tailor",
        "plumber", "singer", "engineer")
FRUITS = {"apple": "apples", "pear": "pears", "orange": "oranges", "banana": "bananas",
          "plum": "plums", "lemon": "lemons", "peach": "peaches", "cherry": "cherries",
          "mango": "mangoes"}

NLI_LABELS = ("entailment", "neutral", "contradiction")  # the MNLI order
YES_NO_MAYBE = ("yes", "it is not possible to tell", "no")
SENTIMENT_LABELS = ("negative", "positive")  # the IMDB / SST-2 order
NO_YES = ("no", "yes")  # the BoolQ order


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """One generated dataset: its TFDS name, schema and example function."""

    name: str
    description: str
    schema: Mapping[str, FieldType]
    make: Callable[[random.Random], Example]
    supervised_keys: tuple[str, str] | None = None

    @property
    def seed(self) -> int:
        # A stable seed per dataset (Python's `hash` of a str changes between processes).
        return zlib.crc32(self.name.encode("utf-8"))


def article(word: str) -> str:
    return "an" if word[0].lower() in "aeiou" else "a"


def _plural(n: int, fruit: str) -> str:
    return f"{n} {fruit if n == 1 else FRUITS[fruit]}"


# --------------------------------------------------------------------------------------
# NLI: attribute entailment over a small scene grammar.
# --------------------------------------------------------------------------------------

_ATTRIBUTES = {"size": SIZES, "colour": COLOURS, "material": MATERIALS, "place": PLACES}


def _describe(obj: str, attrs: Mapping[str, str], rng: random.Random) -> str:
    """One sentence introducing `obj` with its adjectives (size, colour, material order)."""
    adjs = " ".join(attrs[a] for a in ("size", "colour", "material") if a in attrs)
    np_ = f"{adjs} {obj}" if adjs else obj
    if "place" in attrs:
        form = rng.randrange(3)
        if form == 0:
            return f"The {np_} is in the {attrs['place']}."
        if form == 1:
            return f"There is {article(np_)} {np_} in the {attrs['place']}."
        return f"{article(np_).capitalize()} {np_} sits in the {attrs['place']}."
    if not adjs:
        return f"Someone left {article(obj)} {obj} here."
    lead = "There is" if rng.random() < 0.5 else "I saw"
    return f"{lead} {article(np_)} {np_}."


def _attribute_hypothesis(obj: str, attr: str, value: str, negated: bool) -> str:
    neg = " not" if negated else ""
    if attr == "place":
        return f"The {obj} is{neg} in the {value}."
    return f"The {obj} is{neg} {value}."


def make_entailment(rng: random.Random) -> Example:
    """A premise about 1-2 objects; a hypothesis about one attribute of one object.

    Semantics: each object has one value per attribute. A hypothesis about a mentioned
    attribute is entailed or contradicted (negation flips it); about an attribute or object
    the premise does not mention, it is neutral.
    """
    objs = rng.sample(OBJECTS, rng.choice((1, 2)))
    scene = {}
    for obj in objs:
        attrs = {}
        for attr, values in _ATTRIBUTES.items():
            if rng.random() < 0.55:
                attrs[attr] = rng.choice(values)
        scene[obj] = attrs
    premise = " ".join(_describe(obj, scene[obj], rng) for obj in objs)
    label = rng.choice(NLI_LABELS)
    negated = rng.random() < 0.3
    mentioned = [(o, a) for o in objs for a in scene[o]]
    if label == "neutral" or not mentioned:
        label = "neutral"
        unmentioned = [(o, a) for o in objs for a in _ATTRIBUTES if a not in scene[o]]
        if unmentioned and rng.random() < 0.75:
            obj, attr = rng.choice(unmentioned)
        else:
            obj = rng.choice([o for o in OBJECTS if o not in scene])
            attr = rng.choice(sorted(_ATTRIBUTES))
        value = rng.choice(_ATTRIBUTES[attr])
    else:
        obj, attr = rng.choice(mentioned)
        true_value = scene[obj][attr]
        other = rng.choice([v for v in _ATTRIBUTES[attr] if v != true_value])
        # entailment: "is <true>" or "is not <other>"; contradiction: the reverse.
        if label == "entailment":
            value = other if negated else true_value
        else:
            value = true_value if negated else other
    hypothesis = _attribute_hypothesis(obj, attr, value, negated)
    return {"premise": premise, "hypothesis": hypothesis, "label": label}


_COMPARISONS = ("more than", "fewer than", "exactly", "at least", "at most")


def _holds(count: int, comparison: str, k: int) -> bool:
    return {
        "more than": count > k,
        "fewer than": count < k,
        "exactly": count == k,
        "at least": count >= k,
        "at most": count <= k,
    }[comparison]


def make_numeric_nli(rng: random.Random) -> Example:
    """"Omar has 7 apples and 2 pears." / "Omar has more than 5 apples." -> yes / no / ..."""
    person = rng.choice(NAMES)
    fruits = rng.sample(sorted(FRUITS), rng.choice((1, 2)))
    counts = {f: rng.randint(1, 12) for f in fruits}
    premise = f"{person} has " + " and ".join(_plural(counts[f], f) for f in fruits) + "."
    if rng.random() < 0.3:
        premise = f"In the basket, {person} keeps " + " and ".join(
            _plural(counts[f], f) for f in fruits) + "."
    kind = rng.random()
    if kind < 0.2:
        # Unknown: the hypothesis is about someone else. (A fruit the premise does not
        # count would be ambiguous: a closed-world reader takes its count to be 0.)
        comparison, k = rng.choice(_COMPARISONS), rng.randint(1, 12)
        who = rng.choice([n for n in NAMES if n != person])
        hypothesis = f"{who} has {comparison} {_plural(k, rng.choice(fruits))}."
        label = "it is not possible to tell"
    elif kind < 0.35 and len(fruits) == 2:
        a, b = fruits
        if rng.random() < 0.5:
            a, b = b, a
        hypothesis = f"{person} has more {FRUITS[a]} than {FRUITS[b]}."
        label = "yes" if counts[a] > counts[b] else "no"
    else:
        fruit = rng.choice(fruits)
        comparison = rng.choice(_COMPARISONS)
        k = max(1, counts[fruit] + rng.randint(-3, 3))
        hypothesis = f"{person} has {comparison} {_plural(k, fruit)}."
        label = "yes" if _holds(counts[fruit], comparison, k) else "no"
    return {"premise": premise, "hypothesis": hypothesis, "label": label}


# --------------------------------------------------------------------------------------
# Sentiment: reviews whose aspect judgements and verdict agree with the label.
# --------------------------------------------------------------------------------------

_PRODUCTS = ("blender", "backpack", "desk lamp", "kettle", "keyboard", "tent", "umbrella",
             "toaster", "water bottle", "phone case", "camera", "mattress")
_PRODUCT_ASPECTS = ("design", "price", "quality", "battery", "handle", "packaging",
                    "delivery", "manual", "colour", "size")
_PRODUCT_POS = ("great", "excellent", "solid", "lovely", "reliable", "impressive", "sturdy",
                "fantastic", "perfect")
_PRODUCT_NEG = ("poor", "flimsy", "awful", "disappointing", "terrible", "useless", "weak",
                "annoying", "bad")
_PRODUCT_OPEN = ("I bought this {p} last month.", "I got this {p} as a gift.",
                 "I have used this {p} for {n} weeks now.", "This is my second {p}.",
                 "Ordered the {p} for our trip.")
_PRODUCT_CLOSE = {
    "positive": ("I would buy it again.", "Highly recommended.", "Five stars from me.",
                 "Very happy with it.", "Worth every penny."),
    "negative": ("I returned it after a week.", "Save your money.", "One star.",
                 "I regret buying it.", "Not worth the price."),
}

_RESTAURANT_ASPECTS = {
    "food": (("delicious", "fresh", "tasty"), ("bland", "cold", "greasy")),
    "service": (("quick", "attentive", "friendly"), ("slow", "careless", "rude")),
    "staff": (("friendly", "helpful", "warm"), ("rude", "unhelpful", "grumpy")),
    "soup": (("rich", "hot", "tasty"), ("salty", "watery", "cold")),
    "dessert": (("delicious", "light", "sweet"), ("stale", "dry", "soggy")),
    "room": (("cozy", "bright", "quiet"), ("noisy", "cramped", "dirty")),
    "portions": (("generous", "large", "filling"), ("tiny", "stingy", "small")),
    "prices": (("fair", "low", "reasonable"), ("steep", "high", "unfair")),
}
_RESTAURANT_NAMES = ("the Golden Spoon", "the Olive Tree", "Blue Harbour", "the Red Lantern",
                     "Casa Verde", "the Corner Table", "Green Fig", "the Old Mill")
_RESTAURANT_OPEN = ("We had dinner at {r} on {d}.", "I went to {r} for lunch.",
                    "Our family tried {r} last {d}.", "Stopped by {r} after work.")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_RESTAURANT_CLOSE = {
    "positive": ("We will be back.", "A real gem.", "Can't wait to return.",
                 "Best meal this year."),
    "negative": ("We will not be back.", "Avoid this place.", "What a letdown.",
                 "Never again."),
}


def _judgements(rng: random.Random, label: str) -> list[bool]:
    """Polarities of 2-3 clauses whose majority is the label's (a minority clause is ok)."""
    pos = label == "positive"
    n = rng.choice((2, 3))
    out = [pos] * n
    if n == 3 and rng.random() < 0.4:
        out[rng.randrange(3)] = not pos
    return out


def make_product_review(rng: random.Random) -> Example:
    label = rng.choice(SENTIMENT_LABELS)
    product = rng.choice(_PRODUCTS)
    sentences = [rng.choice(_PRODUCT_OPEN).format(p=product, n=rng.randint(2, 9))]
    for aspect, polarity in zip(rng.sample(_PRODUCT_ASPECTS, 3), _judgements(rng, label)):
        if rng.random() < 0.25:  # "is not <adjective of the other polarity>"
            adj = rng.choice(_PRODUCT_NEG if polarity else _PRODUCT_POS)
            sentences.append(f"The {aspect} is not {adj}.")
        else:
            adj = rng.choice(_PRODUCT_POS if polarity else _PRODUCT_NEG)
            sentences.append(f"The {aspect} is {adj}.")
    sentences.append(rng.choice(_PRODUCT_CLOSE[label]))
    return {"text": " ".join(sentences), "label": label}


def make_restaurant_review(rng: random.Random) -> Example:
    label = rng.choice(SENTIMENT_LABELS)
    place = rng.choice(_RESTAURANT_NAMES)
    opener = rng.choice(_RESTAURANT_OPEN).format(r=place, d=rng.choice(_DAYS))
    sentences = [opener[0].upper() + opener[1:]]
    aspects = rng.sample(sorted(_RESTAURANT_ASPECTS), 3)
    for aspect, polarity in zip(aspects, _judgements(rng, label)):
        good, bad = _RESTAURANT_ASPECTS[aspect]
        verb = "were" if aspect in ("portions", "prices") else "was"
        if rng.random() < 0.25:
            sentences.append(f"The {aspect} {verb} not {rng.choice(bad if polarity else good)}.")
        else:
            sentences.append(f"The {aspect} {verb} {rng.choice(good if polarity else bad)}.")
    if rng.random() < 0.7:
        sentences.append(rng.choice(_RESTAURANT_CLOSE[label]))
    return {"text": " ".join(sentences), "label": label}


# --------------------------------------------------------------------------------------
# Arithmetic.
# --------------------------------------------------------------------------------------


def _number(rng: random.Random) -> int:
    digits = rng.choice((1, 2, 2, 3))
    return rng.randint(0 if digits == 1 else 10 ** (digits - 1), 10**digits - 1)


def make_addition(rng: random.Random) -> Example:
    a, b = _number(rng), _number(rng)
    return {"a": a, "b": b, "sum": a + b}


def make_comparison(rng: random.Random) -> Example:
    first = _number(rng)
    second = first
    while second == first:
        second = _number(rng) if rng.random() < 0.7 else max(0, first + rng.randint(-9, 9))
    return {"first": first, "second": second,
            "label": "first" if first > second else "second"}


# --------------------------------------------------------------------------------------
# Text transformation.
# --------------------------------------------------------------------------------------

_WORDS = tuple(sorted(set(OBJECTS + COLOURS + PLACES + JOBS + tuple(FRUITS))))


def make_reverse_words(rng: random.Random) -> Example:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(3, 8))]
    return {"sentence": " ".join(words), "reversed": " ".join(reversed(words))}


def make_sort_words(rng: random.Random) -> Example:
    words = rng.sample(_WORDS, rng.randint(3, 7))
    return {"words": " ".join(words), "sorted": " ".join(sorted(words))}


# --------------------------------------------------------------------------------------
# Reading comprehension over a generated world of people.
# --------------------------------------------------------------------------------------


def _world(rng: random.Random) -> tuple[str, list[tuple[str, str, str]]]:
    """3-5 people with distinct names, cities and jobs, and a paragraph stating the facts."""
    n = rng.randint(3, 5)
    people = list(zip(rng.sample(NAMES, n), rng.sample(CITIES, n), rng.sample(JOBS, n)))
    sentences = []
    for name, city, job in people:
        if rng.random() < 0.5:
            sentences.append(f"{name} lives in {city} and works as {article(job)} {job}.")
        else:
            sentences.append(f"{name} is {article(job)} {job} who lives in {city}.")
    return " ".join(sentences), people


def make_facts_qa(rng: random.Random) -> Example:
    context, people = _world(rng)
    name, city, job = rng.choice(people)
    kind = rng.randrange(4)
    if kind == 0:
        question, answer = f"Where does {name} live?", city
    elif kind == 1:
        question, answer = f"What is {name}'s job?", job
    elif kind == 2:
        question, answer = f"Who works as {article(job)} {job}?", name
    else:
        question, answer = f"Who lives in {city}?", name
    return {"context": context, "question": question, "answer": answer}


def make_facts_yesno(rng: random.Random) -> Example:
    context, people = _world(rng)
    name, city, job = rng.choice(people)
    label = rng.choice(NO_YES)
    others = [p for p in people if p[0] != name]
    if rng.random() < 0.5:
        asked = city if label == "yes" else rng.choice(others)[1]
        question = f"Does {name} live in {asked}?"
    else:
        asked = job if label == "yes" else rng.choice(others)[2]
        question = f"Does {name} work as {article(asked)} {asked}?"
    return {"context": context, "question": question, "label": label}


# --------------------------------------------------------------------------------------
# The inventory.
# --------------------------------------------------------------------------------------

SPECS: tuple[DatasetSpec, ...] = (
    DatasetSpec(
        "flanjax_demo_entailment",
        "Generated NLI: a premise describing objects (size, colour, material, place) and a "
        "hypothesis about one attribute; entailment/neutral/contradiction by construction.",
        {"premise": str, "hypothesis": str, "label": NLI_LABELS},
        make_entailment, ("premise", "label")),
    DatasetSpec(
        "flanjax_demo_numeric_nli",
        "Generated NLI over quantities: 'Omar has 7 apples.' / 'Omar has more than 5 apples.' "
        "-> yes / it is not possible to tell / no.",
        {"premise": str, "hypothesis": str, "label": YES_NO_MAYBE},
        make_numeric_nli, ("premise", "label")),
    DatasetSpec(
        "flanjax_demo_reviews",
        "Generated product reviews; the label agrees with the majority of aspect judgements "
        "and with the closing verdict.",
        {"text": str, "label": SENTIMENT_LABELS}, make_product_review, ("text", "label")),
    DatasetSpec(
        "flanjax_demo_restaurant",
        "Generated restaurant reviews; the label agrees with the majority of aspect "
        "judgements (and the closing remark when there is one).",
        {"text": str, "label": SENTIMENT_LABELS}, make_restaurant_review, ("text", "label")),
    DatasetSpec(
        "flanjax_demo_addition",
        "Addition of two numbers with 1-3 digits.",
        {"a": int, "b": int, "sum": int}, make_addition),
    DatasetSpec(
        "flanjax_demo_comparison",
        "Which of two different numbers (0-999) is larger.",
        {"first": int, "second": int, "label": ("first", "second")}, make_comparison),
    DatasetSpec(
        "flanjax_demo_reverse_words",
        "Reverse the order of 3-8 words.",
        {"sentence": str, "reversed": str}, make_reverse_words, ("sentence", "reversed")),
    DatasetSpec(
        "flanjax_demo_sort_words",
        "Sort 3-7 distinct words alphabetically.",
        {"words": str, "sorted": str}, make_sort_words, ("words", "sorted")),
    DatasetSpec(
        "flanjax_demo_facts_qa",
        "Extractive questions about a generated paragraph of people, cities and jobs.",
        {"context": str, "question": str, "answer": str}, make_facts_qa),
    DatasetSpec(
        "flanjax_demo_facts_yesno",
        "Yes/no questions about a generated paragraph of people, cities and jobs.",
        {"context": str, "question": str, "label": NO_YES}, make_facts_yesno),
)
SPECS_BY_NAME = {spec.name: spec for spec in SPECS}


@functools.lru_cache(maxsize=None)
def _splits(name: str) -> dict[str, tuple[Example, ...]]:
    spec = SPECS_BY_NAME[name]
    rng = random.Random(spec.seed)
    total = sum(SPLIT_SIZES.values())
    seen, examples = set(), []
    attempts = 0
    while len(examples) < total:
        attempts += 1
        if attempts > 50 * total:
            raise RuntimeError(f"{name}: cannot draw {total} unique examples.")
        ex = spec.make(rng)
        key = tuple(sorted((k, str(v)) for k, v in ex.items()))
        if key not in seen:  # unique across splits: no test example is also a train one
            seen.add(key)
            examples.append(ex)
    out, start = {}, 0
    for split, size in SPLIT_SIZES.items():
        out[split] = tuple(examples[start : start + size])
        start += size
    return out


def generate_splits(name: str) -> dict[str, list[Example]]:
    """All splits of a dataset: `{"train": [...], "validation": [...], "test": [...]}`."""
    return {split: [dict(ex) for ex in exs] for split, exs in _splits(name).items()}
