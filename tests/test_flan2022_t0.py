"""Flan 2022's T0-SF as google-research/FLAN `flan/v2/` composes it (`catalog/flan2022_t0.py`,
`templates/t0_sf.py`): each promptsource prompt rendered, turned into v2's example
(`preprocessors.py` `t0`) and formatted with v2's patterns of its `constants_t0.py` task type.

Fake FLAN and promptsource trees in the shapes of the real files (own wording); the expected
text is written out by hand."""

from __future__ import annotations

import collections
import dataclasses
import os
import textwrap

import pytest

from flanjax.data import locations, render, tasks, templates
from flanjax.data.catalog import flan2022_t0, registry, t0, t0_plus
from flanjax.data.templates import OptionsStyle, sources
from tests.test_prompt_sources import _template_yaml, _yaml

# flan/v2/templates.py: PATTERNS with the T0 task types (v2's alias of t0_multiple_choice),
# the PATTERNS_NO_OPTIONS loop, FEWSHOT_PATTERNS of each type (t0_multiple_choice its own).
V2_FILE = textwrap.dedent('''\
    import copy
    import dataclasses

    from flan.v2 import flan_templates_branched as flan_templates

    PATTERNS = {
        # Not in FLAN Templates (flan_templates):
        "t0_question_answer": [
            ("Answer this. {question}\\n", "{answer}"),
        ],
        # Not in FLAN Templates (flan_templates):
        "t0_multiple_choice_separated_options": [
            ("{question}\\n\\n{options_}\\nSEP:", "{answer}"),
        ],
    }

    PATTERNS["t0_multiple_choice"] = PATTERNS["t0_question_answer"]

    PATTERNS_NO_OPTIONS = copy.deepcopy(PATTERNS)
    PATTERNS_NO_OPTIONS.update(flan_templates.PATTERNS)
    for t_name, templates in PATTERNS_NO_OPTIONS.items():
      for ti, (in_template, out_template) in enumerate(templates):
        PATTERNS_NO_OPTIONS[t_name][ti] = (in_template.replace(
            "\\n\\n{options_}", "").replace("\\n{options_}", "").replace(
                "{options_}", "").replace("\\n\\n{options_str}", ""), out_template)


    @dataclasses.dataclass
    class FewShotPattern:
      inputs: str
      targets: str


    FEWSHOT_PATTERNS = {
        "t0_question_answer": [
            FewShotPattern(
                inputs="{question}",
                targets="{answer}",
                inputs_prefix="Q: ",
                targets_prefix="A: ",
                x_y_delimiter="\\n",
                example_separator="\\n\\n",
                in_template_mix=False),
        ],
        "t0_multiple_choice": [
            FewShotPattern(
                inputs="MC {question}",
                targets="{answer}",
                x_y_delimiter="\\n",
                example_separator="\\n--\\n",
                in_template_mix=False),
        ],
        "t0_multiple_choice_separated_options": [
            FewShotPattern(
                inputs="{question} | {options_}",
                targets="{answer}",
                inputs_prefix="Problem: ",
                targets_prefix="Ans: ",
                x_y_delimiter="\\n",
                example_separator="\\n\\n\\n",
                in_template_mix=False),
        ],
    }
    ''')
BRANCHED_FILE = 'PATTERNS = {"rte": [("{premise}\\n{options_}", "{answer}")]}\n'

# promptsource templates/race/high/templates.yaml: one prompt of each v2 task type, and one
# that v2 has `in_flan`.
CHOICE = '{{ answer_choices[{"A": 0, "B": 1}[answer]] }}'
OPTIONS = '{{ options | join("|||") }}'
PROMPTS = {
    "Select the best answer": (
        "Read the article.\nArticle: {{article}}\nQuestion: {{question}}\n|||\n" + CHOICE, OPTIONS),
    "Write a question": ("Write a question about: {{article}} |||\n{{question}}", None),
    "No option": ("{{article}}\n{{question}} ||| " + CHOICE, OPTIONS),
    "Old one": ("Old: {{article}} ||| {{question}}", None),
}
TYPES = {
    "Select the best answer": "t0_multiple_choice",
    "Write a question": "t0_question_answer",
    "No option": "t0_multiple_choice_separated_options",
    "Old one": "t0_question_answer",
}
KEYS = {  # t0_task_adaptation: + t-zero's task name, by hand
    "Select the best answer": "t0_task_adaptation:race_high_Select_the_best_answer",
    "Write a question": "t0_task_adaptation:race_high_Write_a_question",
    "No option": "t0_task_adaptation:race_high_No_option",
    "Old one": "t0_task_adaptation:race_high_Old_one",
}


def _constants(keys=KEYS) -> str:
    """flan/v2/constants_t0.py: T0_TRAIN_TASK_METADATA as the real file writes it."""
    rows = "".join(
        f"    '{key}': {{\n        'in_flan': {name == 'Old one'},\n"
        "        'seq_len': {\n            'max': 12,\n            'mean': 3.5\n        },\n"
        f"        'task_type': '{TYPES[name]}'\n    }},\n"
        for name, key in keys.items())
    return ("T0_TASK_PREFIX = 't0_task_adaptation:'\n"
            f"T0_TRAIN_TASK_METADATA = {{\n{rows}}}\n")


def _trees(tmp_path, v2=V2_FILE, constants=None, prompts=PROMPTS) -> tuple[str, str]:
    flan = tmp_path / "FLAN" / "flan"
    (flan / "v2").mkdir(parents=True)
    (flan / "templates.py").write_text('PATTERNS = {"rte": [("{premise}", "{answer}")]}\n')
    (flan / "v2" / "templates.py").write_text(v2)
    (flan / "v2" / "flan_templates_branched.py").write_text(BRANCHED_FILE)
    (flan / "v2" / "constants_t0.py").write_text(constants or _constants())
    race = tmp_path / "templates" / "race" / "high"
    race.mkdir(parents=True)
    body = [_template_yaml(n, jinja, choices) for n, (jinja, choices) in prompts.items()]
    (race / "templates.yaml").write_text(_yaml("race", "high", body))
    return str(tmp_path / "FLAN"), str(tmp_path / "templates")


pytestmark = pytest.mark.usefixtures("keep_prompt_record")  # conftest: fake sources leave no record


@pytest.fixture(autouse=True)
def _keep_catalog():
    counts = dict(t0.NUM_SOURCE_PROMPTS)
    entries = dict(registry._ENTRIES)  # pylint: disable=protected-access
    yield
    t0.NUM_SOURCE_PROMPTS.clear()
    t0.NUM_SOURCE_PROMPTS.update(counts)
    registry._ENTRIES.clear()  # pylint: disable=protected-access
    registry._ENTRIES.update(entries)  # pylint: disable=protected-access


def _race_high(tmp_path, **trees):
    """`t0_race_high` as `catalog/t0_plus.py` builds it, with both sources set."""
    flan, ps = _trees(tmp_path, **trees)
    locations.configure({"FLAN_SOURCE_DIR": flan, "PROMPTSOURCE_TEMPLATES_DIR": ps})
    try:
        return t0.make_entry("t0_race_high", "multiple_choice_qa", t0.hf_source("race", "high"),
                             t0_plus._RACE, t0.passthrough, rank=False,  # pylint: disable=protected-access
                             metric="exact_match", paper="race")
    finally:
        locations.configure({"FLAN_SOURCE_DIR": None, "PROMPTSOURCE_TEMPLATES_DIR": None})


# The query and the exemplar (HF race rows); newlines inside the article, the question and
# an option, which v2 turns into spaces (question) or removes (answer, options).
ROW = {"example_id": "q", "article": "Tom went\nhome.", "question": "Where\ndid he go?",
       "options": ["big\nhouse", "school"], "answer": "A"}
SHOT = {"example_id": "s", "article": "Ann ran.", "question": "Who?", "options": ["Ann", "Bob"],
        "answer": "A"}

# Zero-shot, by hand. MC: v2's PATTERNS["t0_multiple_choice"] is t0_question_answer's.
ZERO_SHOT = {
    "t0_multiple_choice": (
        "Answer this. Read the article. Article: Tom went home. Question: Where did he go?\n",
        "bighouse"),
    "t0_question_answer": ("Answer this. Write a question about: Tom went home.\n",
                           "Wheredid he go?"),
}
# Few-shot (x-shot): the exemplar through the query's prompt, in the query's pattern.
FEW_SHOT = {
    "t0_multiple_choice": (
        "MC Read the article. Article: Ann ran. Question: Who?\nAnn\n--\n"
        "MC Read the article. Article: Tom went home. Question: Where did he go?\n",
        # x-shot's target is v2's "{targets}{example_separator}", stripped (strip_targets)
        "bighouse\n--"),
    "t0_question_answer": (
        "Q: Write a question about: Ann ran.\nA: Who?\n\n"
        "Q: Write a question about: Tom went home.\nA:", "Wheredid he go?"),
    "t0_multiple_choice_separated_options": (
        "Problem: Ann ran. Who? | OPTIONS:\n- Ann\n- Bob\nAns: Ann\n\n\n"
        "Problem: Tom went home. Where did he go? | OPTIONS:\n- bighouse\n- school\nAns:",
        "bighouse"),
}
FEW_SHOT_NOOPT = dict(FEW_SHOT, t0_multiple_choice_separated_options=(
    "Problem: Ann ran. Who?\nAns: Ann\n\n\nProblem: Tom went home. Where did he go?\nAns:",
    "bighouse"))


def _renderer(entry, fmt, **kwargs):
    view, spec = tasks.format_view(entry, fmt)
    return render.Renderer(view, spec, task_name=f"{entry.name}_{fmt}",
                           exemplar_pool=(lambda: [SHOT]) if spec.kind == "fs" else None, **kwargs)


def _type_of(out) -> str:
    """The task type of the prompt a rendered example used (its template id ends with the
    prompt's: "select_the_best_answer", "write_a_question", "no_option")."""
    ids = {"select_the_best_answer": "Select the best answer",
           "write_a_question": "Write a question", "no_option": "No option"}
    return next(TYPES[n] for i, n in ids.items() if out["template_id"].endswith(i))


# ------------------------------------------------------------------------------ tests
def test_each_prompt_gets_its_v2_task_type_and_in_flan_prompts_are_dropped(tmp_path):
    entry = _race_high(tmp_path)
    assert [t.name for t in entry.templates] == list(PROMPTS)  # T0 itself trains every prompt
    assert flan2022_t0.task_types(entry) == {n: TYPES[n] for n in PROMPTS if n != "Old one"}
    assert [t.name for t in entry.flan2022_templates] == [
        "t0_multiple_choice:0|Select the best answer", "t0_question_answer:0|Write a question",
        "t0_multiple_choice_separated_options:0|No option"]
    registry.register_entry(dataclasses.replace(entry, name="t0_race_high_sf_test"))
    assert set(tasks.train_formats(entry)) >= {"zs_varopt", "zs_noopt", "fs_varopt", "fs_noopt"}
    record = sources.prompt_sources()["t0"]
    assert {"promptsource", "google-research/FLAN"} <= set(record["prompts"].split("+"))
    flan = str(tmp_path / "FLAN" / "flan" / "v2")
    assert {os.path.join(flan, "templates.py"), os.path.join(flan, "constants_t0.py")} <= set(
        record["files"])


def test_zero_shot_renders_v2_example_in_each_type_pattern(tmp_path):
    entry = _race_high(tmp_path)
    for i, template in enumerate(entry.flan2022_templates):
        out = _renderer(entry, "zs_varopt", template_index=i)(ROW)
        if template.task_type in ZERO_SHOT:
            assert (out["inputs"], out["targets"]) == ZERO_SHOT[template.task_type]
        else:  # the separated-options type: v2's options in a varied style (config_non_deter_opt)
            style = templates.sample_options_style(0, render.example_key(ROW))
            assert out["inputs"] == ("Tom went home. Where did he go?\n\n"
                                     + style.format(["bighouse", "school"]) + "\nSEP:")
            assert out["targets"] == "bighouse"
    sep = entry.flan2022_templates[2]
    assert sep.render(ROW).inputs == ("Tom went home. Where did he go?\n\nOPTIONS:\n- bighouse\n"
                                      "- school\nSEP:")
    style = OptionsStyle(header="Choices:", marker="({A}) ", separator=" ")
    assert sep.render(ROW, options_style=style).inputs == (
        "Tom went home. Where did he go?\n\nChoices: (A) bighouse (B) school\nSEP:")


def test_zs_noopt_renders_v2_no_options_patterns_unstripped(tmp_path):
    entry = _race_high(tmp_path)
    got = {t.task_type: _renderer(entry, "zs_noopt", template_index=i)(ROW)
           for i, t in enumerate(entry.flan2022_noopt_templates)}
    assert got["t0_multiple_choice_separated_options"]["inputs"] == (
        "Tom went home. Where did he go?\nSEP:")
    for task_type, (inputs, targets) in ZERO_SHOT.items():
        assert (got[task_type]["inputs"], got[task_type]["targets"]) == (inputs, targets)


@pytest.mark.parametrize("fmt, expected", [("fs_varopt", FEW_SHOT), ("fs_noopt", FEW_SHOT_NOOPT)])
def test_few_shot_renders_exemplars_through_the_query_prompt(tmp_path, fmt, expected):
    entry = _race_high(tmp_path)
    renderer = _renderer(entry, fmt)
    seen = set()
    for seed in range(24):  # the prompt is drawn per example: every type shows up
        out = renderer(ROW, seed=seed, max_input_length=1920)
        task_type = _type_of(out)
        assert (out["inputs"], out["targets"]) == expected[task_type], task_type
        seen.add(task_type)
    assert seen == set(expected)


def test_zero_shot_draws_the_prompt_uniformly_whatever_its_pattern_count(tmp_path):
    # t0_question_answer (and its alias) with 3 patterns, separated options with 1: one
    # template per (prompt, pattern) drawn flat would give "No option" 1/7 of the examples.
    v2 = V2_FILE.replace('("Answer this. {question}\\n", "{answer}"),',
                         '("Answer this. {question}\\n", "{answer}"),\n'
                         '        ("Two: {question}", "{answer}"),\n'
                         '        ("Three: {question}", "{answer}"),')
    entry = _race_high(tmp_path, v2=v2)
    assert len(entry.flan2022_templates) == 7
    renderer = _renderer(entry, "zs_varopt")
    counts = collections.Counter(_type_of(renderer(dict(ROW, example_id=str(i))))
                                 for i in range(600))
    assert all(150 <= counts[t] <= 250 for t in ZERO_SHOT), counts
    assert 150 <= counts["t0_multiple_choice_separated_options"] <= 250, counts


def test_multiple_choice_target_not_among_choices_is_skipped(tmp_path):
    entry = _race_high(tmp_path)
    mc = entry.flan2022_templates[0]
    assert mc.render(dict(ROW, answer="A", options=["x", "y"])).targets == "x"
    # a choice list the target is not in (v2's tf.where index lookup has nothing to find)
    prompt = dataclasses.replace(mc.prompt, jinja="{{question}} ||| {{article}}")
    assert dataclasses.replace(mc, prompt=prompt).render(ROW) is None


def test_prompt_missing_from_constants_t0_fails_naming_file_key_and_entry(tmp_path):
    keys = {n: k for n, k in KEYS.items() if n != "No option"}
    with pytest.raises(sources.PromptSourceError) as e:
        _race_high(tmp_path, constants=_constants(keys))
    text = str(e.value)
    assert os.path.join(str(tmp_path), "FLAN", "flan", "v2", "constants_t0.py") in text
    assert "T0_TRAIN_TASK_METADATA['t0_task_adaptation:race_high_No_option']" in text
    assert "'t0_race_high'" in text


def test_v2_pattern_reading_a_field_v2_t0_example_lacks_fails(tmp_path):
    v2 = V2_FILE.replace('"Answer this. {question}\\n"', '"Answer this. {question}\\n{options_}"')
    with pytest.raises(sources.PromptSourceError) as e:
        _race_high(tmp_path, v2=v2)
    text = str(e.value)
    assert "'t0_multiple_choice:0'" in text and "options_" in text and "'t0_race_high'" in text
    assert os.path.join(str(tmp_path), "FLAN", "flan", "v2", "templates.py") in text


@pytest.mark.parametrize("unset", ["FLAN_SOURCE_DIR", "PROMPTSOURCE_TEMPLATES_DIR"])
def test_nothing_changes_unless_both_sources_are_set(tmp_path, unset):
    flan, ps = _trees(tmp_path)
    locations.configure({"FLAN_SOURCE_DIR": flan, "PROMPTSOURCE_TEMPLATES_DIR": ps, unset: None})
    try:
        entry = t0.make_entry("t0_race_high", "multiple_choice_qa", t0.hf_source("race", "high"),
                              t0_plus._RACE, t0.passthrough, rank=False)  # pylint: disable=protected-access
    finally:
        locations.configure({"FLAN_SOURCE_DIR": None, "PROMPTSOURCE_TEMPLATES_DIR": None})
    assert entry.flan2022_templates == entry.flan2022_noopt_templates == ()
    assert entry.flan2022_fewshot == ()
    assert tasks.train_formats(entry) == ["zs", "fs"]


def test_t0_submixture_caps_each_prompt_as_v2(tmp_path, monkeypatch):
    # v2 mixes one task per prompt, each at min(20,000, size) (mixtures_utils.register_mixture);
    # the wrapped entry's task stands for its 3 prompts (not the in_flan one).
    from flanjax.data import mixtures  # pylint: disable=g-import-not-at-top

    entry = registry.register_entry(dataclasses.replace(_race_high(tmp_path), name="t0_race_sf"))
    assert flan2022_t0.num_prompt_tasks(entry) == 3
    ((name, rate),) = mixtures._capped(  # pylint: disable=protected-access
        "t0", lambda c: True, [("zs", "opt")], 20_000, select=lambda e: e.name == "t0_race_sf")
    assert name == "t0_race_sf_zs_varopt"
    monkeypatch.setattr(mixtures, "num_train_examples", lambda task, split="train": 62_445)
    assert rate(None) == 3 * 20_000
    monkeypatch.setattr(mixtures, "num_train_examples", lambda task, split="train": 5_000)
    assert rate(None) == 3 * 5_000
