"""Flan 2022 few-shot training with v2's FEWSHOT_PATTERNS (`flanjax.data.templates.fewshot`,
`flanjax.data.flan2022_fewshot`) and v2 templates for entries without options: a fake
google-research/FLAN tree whose `flan/v2/templates.py` has the shape of the real file."""

from __future__ import annotations

import dataclasses
import os
import textwrap

import pytest

from flanjax.data import flan2022_fewshot as v2fs
from flanjax.data import locations, mixtures, render, tasks
from flanjax.data.catalog.flan2021 import common
from flanjax.data.catalog import registry
from flanjax.data.templates import fewshot, sources

# Shaped like flan/v2/templates.py: PATTERNS, the FewShotPattern dataclass, FEWSHOT_PATTERNS of
# FewShotPattern(...) calls with keyword literals (implicit concatenation, in_template_mix),
# v2's aliases, and the NO_OPTIONS loop that reads the dict without changing it.
V2_FILE = textwrap.dedent('''\
    import copy
    import dataclasses

    PATTERNS = {
        "rte": [("{premise} ZS {hypothesis}\\n{options_}", "{answer}")],
        "xsum": [("V2 summarize: {text}", "{summary}")],
    }

    @dataclasses.dataclass
    class FewShotPattern:
      inputs: str
      targets: str

    FEWSHOT_PATTERNS = {
        "rte": [
            FewShotPattern(
                inputs="Context: {premise}\\n{hypothesis}\\n{options_}",
                targets="{answer}",
                inputs_prefix="Problem: ",
                targets_prefix="A: ",
                x_y_delimiter="\\n",
                example_separator="\\n\\n",
                in_template_mix=False),
            FewShotPattern(
                inputs="{premise}\\n" "{hypothesis}",
                targets="{answer}",
                inputs_prefix="Q: ",
                targets_prefix="A: "),
        ],
        "xsum": [
            FewShotPattern(inputs="Sum: {text}", targets="{summary}", x_y_delimiter="\\n",
                           example_separator="\\n\\n"),
        ],
    }
    FEWSHOT_PATTERNS["rte_alias"] = FEWSHOT_PATTERNS["rte"]
    FEWSHOT_PATTERNS_NO_OPTIONS = copy.deepcopy(FEWSHOT_PATTERNS)
    ''')

V1_FILE = 'PATTERNS = {"rte": [("{premise} V1 {hypothesis}\\n{options_}", "{answer}")], ' \
          '"xsum": [("V1 {text}", "{summary}")]}\n'


# flan/v2/flan_templates_branched.py: the original FLAN templates, which v2's
# PATTERNS_NO_OPTIONS takes where it has the key.
BRANCHED_FILE = 'PATTERNS = {"rte": [("{premise} BR {hypothesis}\\n{options_}", "{answer}")]}\n'


def _tree(tmp_path, v2: str = V2_FILE, branched: str = BRANCHED_FILE) -> str:
    root = tmp_path / "FLAN"
    (root / "flan" / "v2").mkdir(parents=True)
    (root / "flan" / "templates.py").write_text(V1_FILE)
    (root / "flan" / "v2" / "templates.py").write_text(v2)
    (root / "flan" / "v2" / "flan_templates_branched.py").write_text(branched)
    return str(root)


pytestmark = pytest.mark.usefixtures("keep_prompt_record")  # conftest: fake sources leave no record


@pytest.fixture(autouse=True)
def _keep_catalog():
    # Entries these tests add (common.add registers) leave the process-wide catalog as it was.
    saved, listed = dict(registry._ENTRIES), list(common.ENTRIES)  # pylint: disable=protected-access
    yield
    registry._ENTRIES.clear()  # pylint: disable=protected-access
    registry._ENTRIES.update(saved)  # pylint: disable=protected-access
    common.ENTRIES[:] = listed


@pytest.fixture
def flan_dir(tmp_path):
    root = _tree(tmp_path)
    locations.configure({"FLAN_SOURCE_DIR": root})
    yield root
    locations.configure({"FLAN_SOURCE_DIR": None})


def _v2_path(root: str) -> str:
    return os.path.join(root, "flan", "v2", "templates.py")


# ------------------------------------------------------------------------------ reading
def test_read_fewshot_patterns_reads_calls_defaults_and_aliases(tmp_path):
    patterns = fewshot.read_fewshot_patterns(_v2_path(_tree(tmp_path)))
    assert sorted(patterns) == ["rte", "rte_alias", "xsum"]
    first, second = patterns["rte"]
    assert (first.inputs_prefix, first.targets_prefix, first.x_y_delimiter,
            first.example_separator, first.in_template_mix) == ("Problem: ", "A: ", "\n", "\n\n", False)
    # v2's FewShotPattern defaults; implicit concatenation read as one string.
    assert second.inputs == "{premise}\n{hypothesis}"
    assert (second.x_y_delimiter, second.example_separator, second.in_template_mix) == (
        "\n\n", "\n\n\n", True)
    assert second.combined_inputs == "Q: {premise}\n{hypothesis}\n\nA: "
    assert patterns["rte_alias"] == patterns["rte"]
    # FEWSHOT_PATTERNS_NO_OPTIONS: "\n{options_}" removed from the inputs.
    assert first.no_options().inputs == "Context: {premise}\n{hypothesis}"


@pytest.mark.parametrize("body, message", [
    ('FEWSHOT_PATTERNS = {"rte": [make()]}\n', "expected FewShotPattern(...)"),
    ('FEWSHOT_PATTERNS = {"rte": [FewShotPattern(inputs=x, targets="t")]}\n', "not a literal str"),
    ('FEWSHOT_PATTERNS = {"rte": [FewShotPattern(inputs="i", targets="t", extra="e")]}\n',
     "unknown argument 'extra'"),
    ('FEWSHOT_PATTERNS = {"rte": [FewShotPattern(inputs="i")]}\n', "needs inputs= and targets="),
    ('FEWSHOT_PATTERNS = {"rte": [FewShotPattern(inputs="{0}", targets="t")]}\n', "Positional"),
    ('FEWSHOT_PATTERNS = {}\nFEWSHOT_PATTERNS["a"] = FEWSHOT_PATTERNS["b"]\n', "unknown"),
    ("PATTERNS = {}\n", "no top-level `FEWSHOT_PATTERNS"),
])
def test_read_fewshot_patterns_fails_naming_file(tmp_path, body, message):
    path = _v2_path(_tree(tmp_path, body))
    with pytest.raises(sources.PromptSourceError) as e:
        fewshot.read_fewshot_patterns(path)
    assert path in str(e.value) and message in str(e.value)


# ---------------------------------------------------------------------------- rendering
def _p(**kw) -> fewshot.FewShotPattern:
    return fewshot.FewShotPattern(name=f"t:fs{kw.pop('i', 0)}", **kw)


def _fill(pattern, values):
    return pattern.template().render(dict(values))


def _render(patterns, variant, fields, pool, max_len=None, length_fn=len, task="t_fs"):
    return v2fs.render(patterns, variant=variant, fields=fields, key=str(sorted(fields.items())),
                       pool=pool, key_of=lambda f: str(sorted(f.items())), fill=_fill, seed=0,
                       task=task, max_input_length=max_len, length_fn=length_fn)


def test_x_shot_composes_v2_exemplars_and_strips_the_target():
    pattern = _p(inputs="In {x}", targets="{y} ", inputs_prefix="Q: ", targets_prefix="A: ",
                 x_y_delimiter="\n", example_separator="\n\n")
    query = {"x": "q", "y": "Y"}
    out, why = _render([pattern], "x_shot", query, [{"x": "a", "y": "B"}, query])
    assert why == ""
    # exemplar: prefix + inputs + delimiter + target prefix + target + separator; the query's
    # trailing space after "A:" removed; its target stripped.
    assert out["inputs"] == "Q: In a\nA: B \n\nQ: In q\nA:"
    assert out["targets"] == "Y"
    assert out["num_exemplars"] == 1


def test_compose_removes_spaces_at_the_very_end_only():
    # v2 remove_trailing_spaces_escape_newlines: tf.strings.regex_replace(r" *$") (RE2).
    assert v2fs.compose([], "Q: x \n") == "Q: x \n"
    assert v2fs.compose([v2fs.Piece("a ", "b ", "\n")], "Q: x  ") == "a b \nQ: x"


def test_x_shot_keeps_only_exemplars_in_the_query_pattern():
    patterns = [_p(i=i, inputs=f"P{i} {{x}}", targets="{y}") for i in range(2)]
    pool = [{"x": str(i), "y": "z"} for i in range(40)]
    seen = set()
    for q in range(20):
        out, _ = _render(patterns, "x_shot", {"x": f"q{q}", "y": "z"}, pool)
        head = out["inputs"][:2]
        assert out["inputs"].count("P0 ") + out["inputs"].count("P1 ") == out["num_exemplars"] + 1
        assert out["inputs"].count(head) == out["num_exemplars"] + 1  # one pattern throughout
        assert 0 < out["num_exemplars"] < v2fs.XSHOT_CANDIDATES
        seen.add(head)
    assert seen == {"P0", "P1"}


def test_mix_five_shot_uses_mix_patterns_one_separator_and_the_2nd_input_pattern():
    patterns = [
        _p(i=0, inputs="NOTMIX {x}", targets="{y}", in_template_mix=False),
        _p(i=1, inputs="M {x}", targets="{y}", x_y_delimiter=" => ",
           input_pattern="{{inputs}}{final_suffix}", final_suffix=" END"),
    ]
    pool = [{"x": str(i), "y": f"y{i}"} for i in range(10)]
    outs = [_render(patterns, "mix", {"x": f"q{q}", "y": "z"}, pool)[0] for q in range(3)]
    seps = set()
    for out in outs:
        assert "NOTMIX" not in out["inputs"] and out["num_exemplars"] == v2fs.MIX_NUM_SHOTS
        assert out["inputs"].endswith(" => END")  # "M q => " stripped, then final_suffix
        shots = out["inputs"][: -len(" END")].split("M ")[1:-1]
        seps |= {shot.split(" => ", 1)[1][2:] for shot in shots}  # after "yN"
    assert len(seps) == 1 and seps <= set(v2fs.MIX_SEPARATORS)  # one separator per task


def test_prune_by_length_keeps_exemplars_within_max_minus_query_tokens():
    pieces = [v2fs.Piece("aaaa", "bb", "SEP"), v2fs.Piece("cc", "d"), v2fs.Piece("e", "f")]
    # budget 12 - len("qqq") = 9: running sums 6, 9, 11 -> the first two; separators not counted.
    assert v2fs.prune_by_length(pieces, "qqq", 12, len) == pieces[:2]
    assert v2fs.prune_by_length(pieces, "qqq", 9, len) == pieces[:1]  # 6 <= 6
    assert v2fs.prune_by_length(pieces, "qqq", 8, len) == []  # 6 > 5
    assert v2fs.prune_by_length(pieces, "qqq", None, len) == pieces


def test_example_without_an_exemplar_that_fits_is_dropped():
    pattern = _p(inputs="{x}", targets="{y}")
    out, why = _render([pattern], "x_shot", {"x": "q", "y": "Y"}, [{"x": "long" * 10, "y": "B"}],
                       max_len=12)
    assert out is None and "filter_zero_shot_in_few_shot" in why


# ------------------------------------------------------------------ entries and formats
def _rte(flan_dir, name="rte_v2fs", fields=("premise", "hypothesis", "options", "answer")):
    return common.add(name, "nli", "RTE", "super_glue/rte:1.0.2", {"train": "train"},
                      lambda r: dict(r), fields,
                      own_patterns={"rte": [("own {premise}", "{answer}")]}, pattern_key="rte")


def test_fs_formats_render_v2_fewshot_patterns_through_the_renderer(flan_dir):
    entry = _rte(flan_dir)
    assert [p.name for p in entry.flan2022_fewshot] == ["rte:fs0", "rte:fs1"]
    entry = dataclasses.replace(entry, templates=entry.flan2022_templates)
    pool = [{"premise": f"p{i}", "hypothesis": f"h{i}", "options": ["yes", "no"], "answer": "no"}
            for i in range(60)]
    query = {"premise": "P", "hypothesis": "H", "options": ["yes", "no"], "answer": "yes"}
    for fmt in ("fs_varopt", "fs_noopt"):
        renderer = render.Renderer(entry, tasks.TRAIN_FORMATS[fmt], task_name=f"rte_{fmt}",
                                   exemplar_pool=lambda: pool)
        outs = [renderer(dict(query, premise=f"P{i}"), seed=0, max_input_length=1920)
                for i in range(8)]
        outs = [o for o in outs if o is not None]
        assert outs and all(o["targets"] == "yes" for o in outs)
        text = "".join(o["inputs"] for o in outs)
        if fmt == "fs_noopt":  # FEWSHOT_PATTERNS_NO_OPTIONS, x-shot only
            assert "OPTIONS" not in text and "Context: P" in text
        else:  # v2's few-shot options: FLAN's deterministic "OPTIONS:\n- ..."
            assert "OPTIONS:\n- yes\n- no" in text
            assert all(o["template_id"] in ("fs0", "fs1") for o in outs)


def test_fs_renderer_drops_and_counts_examples_with_no_exemplar(flan_dir):
    entry = _rte(flan_dir, name="rte_v2fs_drop")
    entry = dataclasses.replace(entry, templates=entry.flan2022_templates)
    pool = [{"premise": "p" * 50, "hypothesis": "h", "options": ["yes"], "answer": "yes"}]
    renderer = render.Renderer(entry, tasks.TRAIN_FORMATS["fs_noopt"], task_name="rte_drop_fs",
                               exemplar_pool=lambda: pool)
    before = render.skipped_counts()
    raw = {"premise": "P", "hypothesis": "H", "options": ["yes"], "answer": "yes"}
    assert renderer(raw, seed=0, max_input_length=20) is None
    after = render.skipped_counts()
    assert sum(after.values()) == sum(before.values()) + 1


def test_missing_fewshot_key_fails_naming_file_and_entry(tmp_path):
    body = V2_FILE.replace('"rte": [\n        FewShotPattern', '"rte_other": [\n        FewShotPattern')
    body = body.replace('FEWSHOT_PATTERNS["rte_alias"] = FEWSHOT_PATTERNS["rte"]\n', "")
    locations.configure({"FLAN_SOURCE_DIR": _tree(tmp_path, body)})
    try:
        with pytest.raises(sources.PromptSourceError) as e:
            _rte(None, name="rte_nokey")
    finally:
        locations.configure({"FLAN_SOURCE_DIR": None})
    assert "FEWSHOT_PATTERNS['rte']" in str(e.value) and "'rte_nokey'" in str(e.value)
    assert _v2_path(str(tmp_path / "FLAN")) in str(e.value)


def test_fewshot_pattern_needing_a_missing_field_fails_registration(tmp_path):
    # Only v2's few-shot pattern reads `title`; an entry without it must not register.
    body = V2_FILE.replace('inputs="Sum: {text}"', 'inputs="Sum: {title} {text}"')
    locations.configure({"FLAN_SOURCE_DIR": _tree(tmp_path, body)})
    try:
        with pytest.raises(KeyError) as e:
            _xsum("xsum_notitle")
    finally:
        locations.configure({"FLAN_SOURCE_DIR": None})
    text = str(e.value)
    assert "'xsum_notitle'" in text and "'xsum:fs0'" in text and "'title'" in text
    assert _v2_path(str(tmp_path / "FLAN")) in text


# ------------------------------------------------------- v2 templates without options
def _xsum(name: str):
    return common.add(name, "summarization", "XSum", "xsum:1.1.0", {"train": "train"},
                      lambda r: dict(r), ("text", "summary"), "rouge",
                      own_patterns={"xsum": [("own {text}", "{summary}")]}, pattern_key="xsum")


def test_entry_without_options_trains_flan2022_on_v2_templates(flan_dir):
    entry = _xsum("xsum_v2fs")
    assert not entry.has_options and entry.flan2022_templates[0].input_pattern == "V2 summarize: {text}"
    assert tasks.train_formats(entry)[:6] == ["zs", "fs", "zs_noopt", "fs_noopt", "zs_varopt",
                                              "fs_varopt"]
    # The Flan submixture takes the v2 tasks; FLAN 2021's mixture keeps `{name}_zs` (v1).
    assert mixtures._fmt(entry, "zs", "opt") == "zs_varopt"  # pylint: disable=protected-access
    assert mixtures._fmt(entry, "fs", "noopt") == "fs_noopt"  # pylint: disable=protected-access
    zs = render.Renderer(dataclasses.replace(entry, templates=entry.flan2022_templates),
                         tasks.TRAIN_FORMATS["zs_varopt"], task_name="xsum_v2fs_zs_varopt")
    assert zs({"text": "T", "summary": "S"})["inputs"] == "V2 summarize: T"
    fs = render.Renderer(dataclasses.replace(entry, templates=entry.flan2022_templates),
                         tasks.TRAIN_FORMATS["fs_noopt"], task_name="xsum_v2fs_fs_noopt",
                         exemplar_pool=lambda: [{"text": "a", "summary": "b"}])
    out = fs({"text": "T", "summary": "S"})
    # xsum's one FewShotPattern: "Sum: {text}" + "\n" + "{summary}" + "\n\n", then the query
    # with its delimiter (v2 removes trailing spaces only, not newlines).
    assert out["inputs"] == "Sum: a\nb\n\nSum: T\n" and out["targets"] == "S"


def test_without_flan_source_an_entry_without_options_keeps_its_formats():
    entry = _xsum("xsum_own_fs")
    assert entry.flan2022_templates == () and tasks.train_formats(entry) == ["zs", "fs"]
    assert mixtures._fmt(entry, "zs", "opt") == "zs"  # pylint: disable=protected-access


def test_v2_template_reading_options_the_entry_lacks_fails_naming_entry_and_field(tmp_path):
    body = V2_FILE.replace('"V2 summarize: {text}"', '"V2 {text}\\n{options_}"')
    locations.configure({"FLAN_SOURCE_DIR": _tree(tmp_path, body)})
    try:
        with pytest.raises(KeyError) as e:
            _xsum("xsum_v2_options")
    finally:
        locations.configure({"FLAN_SOURCE_DIR": None})
    text = str(e.value)
    assert "'xsum_v2_options'" in text and "'options'" in text and "xsum:0" in text
    assert _v2_path(str(tmp_path / "FLAN")) in text
