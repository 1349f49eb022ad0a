"""Tests for the bundled offline data: builders, labels, determinism, demo catalog, SPM model."""

import contextlib
import io
import json
import os
import re
import subprocess
import sys

import pytest
import sentencepiece as spm
import tensorflow_datasets as tfds

from flanjax.data import bundled
from flanjax.data import sources
from flanjax.data.bundled import generators
from flanjax.data.bundled import train_spm
from flanjax.data.catalog import demo
from flanjax.data.catalog import registry

SIZES = {"train": 2000, "validation": 200, "test": 200}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return bundled.prepare(str(tmp_path_factory.mktemp("tfds")))


def _read(name, data_dir, split):
    builder = tfds.builder(bundled.tfds_name(name), data_dir=data_dir)
    return [sources.to_python(ex) for ex in tfds.as_numpy(builder.as_dataset(split=split))]


# ---------------------------------------------------------------------------------------
# Builders.


def test_at_least_eight_builders_in_four_clusters():
    assert len(bundled.BUILDER_NAMES) >= 8
    clusters = {e.cluster for e in demo.ENTRIES}
    assert len(clusters) >= 4
    for cluster in clusters:
        assert sum(e.cluster == cluster for e in demo.ENTRIES) >= 2


def test_every_builder_builds_with_split_counts(data_dir):
    for name in bundled.BUILDER_NAMES:
        builder = tfds.builder(bundled.tfds_name(name), data_dir=data_dir)
        assert str(builder.info.version) == "1.0.0"
        assert builder.info.description
        assert {s: builder.info.splits[s].num_examples for s in SIZES} == SIZES, name
    assert len(_read("flanjax_demo_addition", data_dir, "test")) == 200


def test_prepare_is_idempotent(data_dir):
    info = os.path.join(data_dir, "flanjax_demo_addition", "1.0.0", "dataset_info.json")
    before = os.path.getmtime(info)
    assert bundled.is_prepared(data_dir)
    assert bundled.ensure_prepared(data_dir) == data_dir
    assert bundled.prepare(data_dir) == data_dir
    assert os.path.getmtime(info) == before


def test_prepare_rejects_unknown_name(tmp_path):
    with pytest.raises(KeyError, match="flanjax_demo_nope"):
        bundled.prepare(str(tmp_path), names=["flanjax_demo_nope"])


def test_default_data_dir_from_env(monkeypatch, tmp_path):
    monkeypatch.setenv("FLANJAX_DEMO_DATA_DIR", str(tmp_path / "x"))
    assert bundled.default_data_dir() == str(tmp_path / "x")
    monkeypatch.delenv("FLANJAX_DEMO_DATA_DIR")
    assert bundled.default_data_dir().endswith(os.path.join(".cache", "flanjax", "tfds"))


def test_built_data_equals_generated(data_dir):
    for name in ("flanjax_demo_entailment", "flanjax_demo_comparison"):
        schema = generators.SPECS_BY_NAME[name].schema
        expected = [
            {k: (schema[k].index(v) if isinstance(schema[k], tuple) else v) for k, v in ex.items()}
            for ex in generators.generate_splits(name)["validation"]
        ]
        key = lambda ex: json.dumps(ex, sort_keys=True)  # noqa: E731
        assert sorted(map(key, _read(name, data_dir, "validation"))) == sorted(map(key, expected))


_DIGEST_CODE = """
import hashlib, json
from flanjax.data.bundled import generators
h = hashlib.sha256()
for spec in generators.SPECS:
    h.update(json.dumps(generators.generate_splits(spec.name), sort_keys=True).encode())
print(h.hexdigest())
"""


def _digest() -> str:
    scope = {}
    with contextlib.redirect_stdout(io.StringIO()) as out:
        exec(_DIGEST_CODE, scope)  # pylint: disable=exec-used
    return out.getvalue().strip()


def test_generation_is_deterministic_across_processes():
    # Another interpreter with another str-hash seed draws the very same examples.
    env = dict(os.environ, PYTHONHASHSEED="123")
    out = subprocess.run(
        [sys.executable, "-c", _DIGEST_CODE], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == _digest()


def test_two_builds_give_identical_examples(data_dir, tmp_path):
    names = ["flanjax_demo_facts_qa", "flanjax_demo_reviews"]
    other = bundled.prepare(str(tmp_path), names=names)
    for name in names:
        for split in SIZES:
            assert _read(name, other, split) == _read(name, data_dir, split)


def test_splits_are_disjoint():
    for spec in generators.SPECS:
        splits = generators.generate_splits(spec.name)
        keys = {s: {json.dumps(ex, sort_keys=True) for ex in exs} for s, exs in splits.items()}
        assert all(len(keys[s]) == SIZES[s] for s in SIZES), spec.name
        assert not keys["train"] & keys["test"] and not keys["train"] & keys["validation"]


# ---------------------------------------------------------------------------------------
# Labels are right: independent checkers over every generated example.

_COLOURS, _SIZES = set(generators.COLOURS), set(generators.SIZES)
_MATERIALS = set(generators.MATERIALS)


def _attr_of(word):
    for attr, words in (("colour", _COLOURS), ("size", _SIZES), ("material", _MATERIALS)):
        if word in words:
            return attr
    raise AssertionError(word)


def check_entailment(ex):
    facts = {}  # object -> {attribute: value}
    for sentence in re.findall(r"[^.]+\.", ex["premise"]):
        sentence = sentence.strip()
        m = (
            re.fullmatch(r"The ([a-z ]+) is in the (\w+)\.", sentence)
            or re.fullmatch(r"There is an? ([a-z ]+) in the (\w+)\.", sentence)
            or re.fullmatch(r"An? ([a-z ]+) sits in the (\w+)\.", sentence)
            or re.fullmatch(r"(?:There is|I saw|Someone left) an? ([a-z ]+?)(?: here)?\.()",
                            sentence)
        )
        assert m, sentence
        *adjs, obj = m.group(1).split()
        facts[obj] = {_attr_of(a): a for a in adjs}
        if m.group(2):
            facts[obj]["place"] = m.group(2)
    m = re.fullmatch(r"The (\w+) is( not)? (in the )?(\w+)\.", ex["hypothesis"])
    obj, negated, place, value = m.group(1), bool(m.group(2)), m.group(3), m.group(4)
    attr = "place" if place else _attr_of(value)
    known = facts.get(obj, {}).get(attr)
    if known is None:
        return "neutral"
    return "entailment" if (known == value) != negated else "contradiction"


_SINGULAR = {**{p: f for f, p in generators.FRUITS.items()}, **{f: f for f in generators.FRUITS}}


def check_numeric(ex):
    m = re.fullmatch(r"(?:In the basket, )?(\w+) (?:has|keeps) (.+)\.", ex["premise"])
    person = m.group(1)
    counts = {_SINGULAR[f]: int(n) for n, f in re.findall(r"(\d+) (\w+)", m.group(2))}
    h = ex["hypothesis"]
    if m := re.fullmatch(r"(\w+) has more (\w+) than (\w+)\.", h):
        return "yes" if counts[_SINGULAR[m.group(2)]] > counts[_SINGULAR[m.group(3)]] else "no"
    m = re.fullmatch(r"(\w+) has (more than|fewer than|exactly|at least|at most) (\d+) (\w+)\.", h)
    who, op, k, fruit = m.group(1), m.group(2), int(m.group(3)), _SINGULAR[m.group(4)]
    if who != person or fruit not in counts:
        return "it is not possible to tell"
    n = counts[fruit]
    ok = {"more than": n > k, "fewer than": n < k, "exactly": n == k, "at least": n >= k,
          "at most": n <= k}[op]
    return "yes" if ok else "no"


def check_addition(ex):
    assert ex["sum"] == ex["a"] + ex["b"]


def check_comparison(ex):
    assert ex["label"] == ("first" if ex["first"] > ex["second"] else "second")


def check_reverse(ex):
    assert ex["reversed"].split() == ex["sentence"].split()[::-1]


def check_sort(ex):
    assert ex["sorted"].split() == sorted(ex["words"].split())


def _people(context):
    people = {}
    for name, city, job in re.findall(r"(\w+) lives in (\w+) and works as an? (\w+)\.", context):
        people[name] = (city, job)
    for name, job, city in re.findall(r"(\w+) is an? (\w+) who lives in (\w+)\.", context):
        people[name] = (city, job)
    return people


def check_facts_qa(ex):
    people, q = _people(ex["context"]), ex["question"]
    if m := re.fullmatch(r"Where does (\w+) live\?", q):
        return people[m.group(1)][0]
    if m := re.fullmatch(r"What is (\w+)'s job\?", q):
        return people[m.group(1)][1]
    if m := re.fullmatch(r"Who works as an? (\w+)\?", q):
        (who,) = [n for n, (_, j) in people.items() if j == m.group(1)]
        return who
    m = re.fullmatch(r"Who lives in (\w+)\?", q)
    (who,) = [n for n, (c, _) in people.items() if c == m.group(1)]
    return who


def check_facts_yesno(ex):
    people, q = _people(ex["context"]), ex["question"]
    if m := re.fullmatch(r"Does (\w+) live in (\w+)\?", q):
        return "yes" if people[m.group(1)][0] == m.group(2) else "no"
    m = re.fullmatch(r"Does (\w+) work as an? (\w+)\?", q)
    return "yes" if people[m.group(1)][1] == m.group(2) else "no"


def check_review(ex):
    """Majority of aspect judgements (negation flips) agrees with the label."""
    pos_words = set(generators._PRODUCT_POS) | {
        w for good, _ in generators._RESTAURANT_ASPECTS.values() for w in good}
    neg_words = set(generators._PRODUCT_NEG) | {
        w for _, bad in generators._RESTAURANT_ASPECTS.values() for w in bad}
    score = 0
    for negated, adj in re.findall(r"The \w+ (?:is|was|were)( not)? ([\w-]+)\.", ex["text"]):
        # Some adjectives are good for one aspect and bad for another ("small", "cold"):
        # use the aspect's own lists when there is a choice.
        good = adj in pos_words and adj not in neg_words
        bad = adj in neg_words and adj not in pos_words
        if not (good or bad):
            m = re.search(rf"The (\w+) (?:is|was|were)(?: not)? {adj}\.", ex["text"])
            good = adj in generators._RESTAURANT_ASPECTS[m.group(1)][0]
        score += 1 if good != bool(negated) else -1
    return "positive" if score > 0 else "negative"


CHECKERS = {
    "flanjax_demo_entailment": lambda ex: check_entailment(ex) == ex["label"],
    "flanjax_demo_numeric_nli": lambda ex: check_numeric(ex) == ex["label"],
    "flanjax_demo_reviews": lambda ex: check_review(ex) == ex["label"],
    "flanjax_demo_restaurant": lambda ex: check_review(ex) == ex["label"],
    "flanjax_demo_addition": lambda ex: check_addition(ex) is None,
    "flanjax_demo_comparison": lambda ex: check_comparison(ex) is None,
    "flanjax_demo_reverse_words": lambda ex: check_reverse(ex) is None,
    "flanjax_demo_sort_words": lambda ex: check_sort(ex) is None,
    "flanjax_demo_facts_qa": lambda ex: check_facts_qa(ex) == ex["answer"],
    "flanjax_demo_facts_yesno": lambda ex: check_facts_yesno(ex) == ex["label"],
}


@pytest.mark.parametrize("name", sorted(CHECKERS))
def test_labels_correct_by_construction(name):
    for split, examples in generators.generate_splits(name).items():
        for ex in examples:
            assert CHECKERS[name](ex), (split, ex)


def test_hand_checked_examples():
    assert check_entailment({"premise": "The big red ball is in the kitchen.",
                             "hypothesis": "The ball is not blue."}) == "entailment"
    assert check_entailment({"premise": "There is a metal cup.",
                             "hypothesis": "The cup is in the garden."}) == "neutral"
    assert check_entailment({"premise": "I saw a small box.",
                             "hypothesis": "The box is big."}) == "contradiction"
    assert check_numeric({"premise": "Tom has 7 apples.",
                          "hypothesis": "Tom has more than 5 apples."}) == "yes"
    assert check_numeric({"premise": "Tom has 7 apples and 2 cherries.",
                          "hypothesis": "Tom has more cherries than apples."}) == "no"
    unknown = check_numeric({"premise": "Tom has 7 apples.",
                             "hypothesis": "Ana has at most 3 apples."})
    assert unknown == "it is not possible to tell"
    all_labels = {n: {ex.get("label") for ex in generators.generate_splits(n)["train"]}
                  for n in CHECKERS}
    assert all_labels["flanjax_demo_entailment"] == set(generators.NLI_LABELS)
    assert all_labels["flanjax_demo_numeric_nli"] == set(generators.YES_NO_MAYBE)


# ---------------------------------------------------------------------------------------
# The demo catalog, through seqio's real TFDS path.


def test_demo_entries_registered_without_reading_data(tmp_path):
    names = {e.name for e in registry.entries_in("demo")}
    assert names == {e.name for e in demo.ENTRIES} and len(names) == len(bundled.BUILDER_NAMES)
    assert set(registry.clusters("demo")) == set(demo.CLUSTERS)
    missing = tmp_path / "not_built"
    entries = demo.entries(str(missing))
    assert not missing.exists()
    assert all(e.source.data_dir == str(missing) for e in entries)
    for e in entries:
        assert 4 <= len(e.templates) <= 6
        assert e.eval_mode == ("rank" if e.has_options else "generate")
        assert e.metric == ("accuracy" if e.has_options else "exact_match")
        if e.has_options:
            assert all(t.uses_options for t in e.templates), e.name


@pytest.mark.parametrize("entry_name", [e.name for e in demo.ENTRIES])
def test_every_template_renders_via_seqio(data_dir, entry_name):
    (entry,) = [e for e in demo.entries(data_dir) if e.name == entry_name]
    source = entry.source.to_seqio()
    assert source.num_input_examples("train") == 2000
    ds = source.get_dataset(entry.eval_split, shuffle=False).take(4)
    n = 0
    for raw in ds.as_numpy_iterator():
        fields = entry.fields_of(sources.decode_example(raw))
        for template in entry.templates:
            out = template.render(fields)
            assert out.inputs and out.targets == fields["answer"]
            if entry.has_options:
                assert out.answer_options and out.targets in out.answer_options
                assert "OPTIONS:\n- " in out.inputs
            n += 1
    assert n == 4 * len(entry.templates)


# ---------------------------------------------------------------------------------------
# The SentencePiece model.


def _rendered_validation():
    for entry in demo.ENTRIES:
        builder = entry.source.tfds_name.split(":")[0]
        for ex in generators.generate_splits(builder)["validation"][:50]:
            fields = entry.preprocess(train_spm._raw(builder, ex))
            for template in entry.templates:
                out = template.render(fields)
                yield out.inputs
                yield out.targets


def test_spm_model_ships_small_with_t5_ids():
    path = bundled.SPM_MODEL_PATH
    assert os.path.exists(path) and os.path.exists(path[: -len(".model")] + ".vocab")
    assert os.path.getsize(path) < 1_000_000
    sp = spm.SentencePieceProcessor(model_file=path)
    assert (sp.pad_id(), sp.eos_id(), sp.unk_id(), sp.bos_id()) == (0, 1, 2, -1)
    assert 500 <= sp.get_piece_size() <= 2000


def test_spm_encodes_demo_text_without_unk_and_round_trips():
    sp = spm.SentencePieceProcessor(model_file=bundled.SPM_MODEL_PATH)
    texts = list(_rendered_validation())
    assert len(texts) > 1000
    byte_ids = {i for i in range(sp.get_piece_size()) if sp.is_byte(i)}
    for text in texts:
        ids = sp.encode(text)
        assert sp.unk_id() not in ids, text
        assert not byte_ids & set(ids), text  # every demo character has its own piece
        assert sp.decode(ids) == text
    # Words are whole pieces, not letters: the model learned the templates' vocabulary.
    pieces = sp.encode("Is the premise true?\n\nOPTIONS:\n- yes", out_type=str)
    assert pieces[-5:] == ["OPTIONS", ":", "\n", "-", "▁yes"] and "▁premise" in pieces
    # Unseen characters fall back to bytes, never <unk>.
    assert sp.decode(sp.encode("naïve €")) == "naïve €"
