"""Flan 2022's zero-shot templates from the user's google-research/FLAN checkout
(`flanjax.data.templates.flan_v2`): v2's PATTERNS_NO_OPTIONS for zs_noopt, and v2's CoT and
Dialog templates (zero-shot, few-shot, input inversion). Fake `flan/v2/templates.py` and
`flan/v2/flan_templates_branched.py` in the shape of the real files; expected text by hand."""

from __future__ import annotations

import os
import textwrap

import pytest

from flanjax.data import locations, render, tasks
from flanjax.data.catalog import registry
from flanjax.data.catalog.flan2021 import common
from flanjax.data.templates import flan_v2, sources

# Shaped like flan/v2/templates.py: the import of the branched templates, PATTERNS with v2's
# aliases, the PATTERNS_NO_OPTIONS loop, the FewShotPattern dataclass and FEWSHOT_PATTERNS.
V2_FILE = textwrap.dedent('''\
    import copy
    
    from flan.v2 import flan_templates_branched as flan_templates

    PATTERNS = {
        "rte": [
            ("{premise}\\n\\nQuestion with options: V2 \\"{hypothesis}\\"?\\n\\n{options_}",
             "{answer}"),
        ],
        "record": [("{passage}\\n\\n{options_str}\\n\\nQ: {query}", "{answer}")],
        # Not in FLAN Templates (flan_templates):
        "cot_gsm8k": [
            ("{question} Let's think first. Chain of thought:",
             "{chain_of_thought}\\nTherefore, the answer is {answer}."),
        ],
        "predict_next_turn_dialog": [
            ("What is the next dialog turn? {dialog_}", "{answer}"),
        ],
        "cot_stream_general_input_inversion": [
            ("Given the following reasoning and answer, what was the question? "
             "{chain_of_thought}\\n The answer: {answer}", "The question {question}"),
        ],
        "predict_next_turn_dialog_input_inversion": [
            ("{answer}\\nThe preceding conversation:", "{dialog_}"),
        ],
    }

    PATTERNS["wiki_dialog"] = PATTERNS["predict_next_turn_dialog"]
    PATTERNS["task_master"] = PATTERNS["predict_next_turn_dialog"]
    PATTERNS["qrecc"] = PATTERNS["predict_next_turn_dialog"]
    PATTERNS["wiki_dialog_input_inversion"] = PATTERNS[
        "predict_next_turn_dialog_input_inversion"]
    PATTERNS["task_master_input_inversion"] = PATTERNS[
        "predict_next_turn_dialog_input_inversion"]
    PATTERNS["qrecc_input_inversion"] = PATTERNS[
        "predict_next_turn_dialog_input_inversion"]
    PATTERNS["cot_input_inversion_gsm8k"] = PATTERNS[
        "cot_stream_general_input_inversion"]

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
        "rte": [FewShotPattern(inputs="{premise}\\n{hypothesis}\\n{options_}",
                               targets="{answer}")],
        "cot_gsm8k": [
            FewShotPattern(
                inputs="{question}",
                targets="{chain_of_thought} The answer is {answer}.",
                x_y_delimiter="\\n",
                example_separator="\\n\\n",
                inputs_prefix="Q: ",
                targets_prefix="A: ",
                in_template_mix=False),
        ],
        "cot_input_inversion_gsm8k": [
            FewShotPattern(
                inputs="Answer: {answer}\\nReasoning: {chain_of_thought}",
                targets="{question}",
                targets_prefix="Question: ",
                x_y_delimiter="\\n",
                example_separator="\\n\\n",
                in_template_mix=False),
        ],
        "predict_next_turn_dialog": [
            FewShotPattern(inputs="{dialog_} ", targets="{answer}", in_template_mix=False),
        ],
        "predict_next_turn_dialog_input_inversion": [
            FewShotPattern(inputs="{answer}", targets="{dialog_}", in_template_mix=False),
        ],
    }
    FEWSHOT_PATTERNS["wiki_dialog"] = FEWSHOT_PATTERNS["predict_next_turn_dialog"]
    FEWSHOT_PATTERNS["task_master"] = FEWSHOT_PATTERNS["predict_next_turn_dialog"]
    FEWSHOT_PATTERNS["qrecc"] = FEWSHOT_PATTERNS["predict_next_turn_dialog"]
    FEWSHOT_PATTERNS["wiki_dialog_input_inversion"] = FEWSHOT_PATTERNS[
        "predict_next_turn_dialog_input_inversion"]
    FEWSHOT_PATTERNS["task_master_input_inversion"] = FEWSHOT_PATTERNS[
        "predict_next_turn_dialog_input_inversion"]
    FEWSHOT_PATTERNS["qrecc_input_inversion"] = FEWSHOT_PATTERNS[
        "predict_next_turn_dialog_input_inversion"]
    ''')

# flan/v2/flan_templates_branched.py (the original FLAN templates): rte with `{options_}` in
# the middle of the input and at its end.
BRANCHED_FILE = textwrap.dedent('''\
    """Templates of the original FLAN."""

    PATTERNS = {
        "rte": [
            ("{premise}\\n{options_}\\nIs \\"{hypothesis}\\" true? {options_}", "{answer}"),
        ],
    }
    ''')


def _tree(tmp_path, v2: str = V2_FILE) -> str:
    root = tmp_path / "FLAN"
    (root / "flan" / "v2").mkdir(parents=True)
    (root / "flan" / "templates.py").write_text('PATTERNS = {"rte": [("V1 {premise}", "{answer}")]}\n')
    (root / "flan" / "v2" / "templates.py").write_text(v2)
    (root / "flan" / "v2" / "flan_templates_branched.py").write_text(BRANCHED_FILE)
    return str(root)


pytestmark = pytest.mark.usefixtures("keep_prompt_record")  # conftest: fake sources leave no record


@pytest.fixture(autouse=True)
def _keep_catalog():
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


def _v2(root: str, name: str = "templates.py") -> str:
    return os.path.join(root, "flan", "v2", name)


def _render(entry, fmt, raw, pool=()):
    view, spec = tasks.format_view(entry, fmt)
    renderer = render.Renderer(view, spec, task_name=f"{entry.name}_{fmt}",
                               exemplar_pool=(lambda: list(pool)) if spec.kind == "fs" else None)
    return renderer(raw, seed=0, max_input_length=1920 if spec.kind == "fs" else None)


# ---------------------------------------------------------- 1. zs_noopt: PATTERNS_NO_OPTIONS
RTE = {"premise": "P", "hypothesis": "H", "options": ["yes", "no"], "answer": "yes"}


def _rte(name: str):
    return common.add(name, "nli", "RTE", "super_glue/rte:1.0.2", {"train": "train"},
                      lambda r: dict(r), ("premise", "hypothesis", "options", "answer"),
                      own_patterns={"rte": [("{premise}\n{options_}\nIs \"{hypothesis}\" true? "
                                             "{options_}", "{answer}")]},
                      pattern_key="rte")


def test_zs_noopt_renders_v2_no_options_text_with_options_mid_input(flan_dir):
    entry = _rte("rte_noopt_v2")
    # The branched file's rte (v2 PATTERNS_NO_OPTIONS.update), "\n{options_}" then "{options_}"
    # cut: the space before the second is kept.
    (template,) = entry.flan2022_noopt_templates
    assert template.input_pattern == '{premise}\nIs "{hypothesis}" true? '
    assert template.origin == _v2(flan_dir, "flan_templates_branched.py")
    out = _render(entry, "zs_noopt", RTE)
    assert out["inputs"] == 'P\nIs "H" true? ' and out["targets"] == "yes"
    # zs_varopt keeps v2's PATTERNS (with its options), not the branched text.
    varopt = _render(entry, "zs_varopt", RTE)["inputs"]
    assert varopt.startswith('P\n\nQuestion with options: V2 "H"?\n\n')
    assert sources.prompt_sources()["flan2022"]["files"].keys() >= {
        _v2(flan_dir), _v2(flan_dir, "flan_templates_branched.py")}


def test_own_templates_keep_clearing_options_and_stripping_in_zs_noopt():
    entry = _rte("rte_noopt_own")  # no FLAN_SOURCE_DIR: the own pattern, same text as above
    assert entry.flan2022_noopt_templates == ()
    # options cleared ("P\n" + "" + "\nIs ...") and the input stripped: not v2's text.
    assert _render(entry, "zs_noopt", RTE)["inputs"] == 'P\n\nIs "H" true?'


def test_no_options_falls_back_to_v2_patterns_and_cuts_options_str(flan_dir):
    (template,) = flan_v2.no_options_templates_for("record_x", "record", "flan2022")
    assert template.input_pattern == "{passage}\n\nQ: {query}"
    assert template.origin == _v2(flan_dir) and template.options_removed


def test_missing_branched_file_fails_naming_it(tmp_path):
    root = _tree(tmp_path)
    os.remove(_v2(root, "flan_templates_branched.py"))
    locations.configure({"FLAN_SOURCE_DIR": root})
    try:
        with pytest.raises(sources.PromptSourceError, match="flan_templates_branched.py"):
            _rte("rte_no_branched")
    finally:
        locations.configure({"FLAN_SOURCE_DIR": None})
