"""Flan 2022's zero-shot templates from the user's google-research/FLAN checkout
(`flanjax.data.templates.flan_v2`): v2's PATTERNS_NO_OPTIONS for zs_noopt, and v2's CoT and
Dialog templates (zero-shot, few-shot, input inversion). Fake `flan/v2/templates.py` and
`flan/v2/flan_templates_branched.py` in the shape of the real files; expected text by hand."""

from __future__ import annotations

import dataclasses
import os
import textwrap

import pytest

from flanjax.data import locations, render, tasks
from flanjax.data.catalog import cot, dialog, registry, t0_facts
from flanjax.data.catalog.flan2021 import common
from flanjax.data.templates import flan_v2, sources

# Shaped like flan/v2/templates.py: the import of the branched templates, PATTERNS with v2's
# aliases, the PATTERNS_NO_OPTIONS loop, the FewShotPattern dataclass and FEWSHOT_PATTERNS.
V2_FILE = textwrap.dedent('''\
    import copy
    import dataclasses

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

    # ----------------------- DIALOG FORMAT -----------------------
    DIALOG_START_STRING_CANDIDATES = [
        "",
        "DIALOG:",
        "CONVERSATION:"
        "Conversation:",
    ]

    DIALOG_ITEM_NAME_CANDIDATES = [
        ["\\n - " for _ in range(1000)],
        ["\\nPerson A: " if x % 2 == 0 else "\\nPerson B: " for x in range(1000)],
        [
            "\\nAnonymous 1) " if x % 2 == 0 else "\\nAnonymous 2) "
            for x in range(1000)
        ],
    ]

    DIALOG_ITEM_END_STR_CANDIDATES = [
        ["" for _ in range(1000)],
        [";" for _ in range(1000)],
    ]
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


# ------------------------------------------------------------------- 2. CoT from v2
ROW = {"question": "How many?\\nCount them. ", "answer": "7", "rationale": " 3 + 4\\n= 7"}


def test_cot_entry_reads_v2_fields_and_templates(flan_dir, tmp_path):
    entry = cot.tsv_entry("gsm8k", data_dir=str(tmp_path))
    assert entry.fields == ("question", "answer", "chain_of_thought")
    # v2 simple_cot_tsv: backslash-n unescaped in question and rationale; nothing stripped.
    assert entry.fields_of(ROW) == {"question": "How many?\nCount them. ", "answer": "7",
                                    "chain_of_thought": " 3 + 4\n= 7"}
    assert tasks.train_formats(entry) == ["zs", "fs", "zs_noopt", "fs_noopt", "zs_varopt",
                                          "fs_varopt", "cot", "inv", "fs_inv"]
    out = _render(entry, "zs_varopt", ROW)
    assert out["inputs"] == "How many?\nCount them.  Let's think first. Chain of thought:"
    # The target is v2's (the rationale written once, by the template).
    assert out["targets"] == " 3 + 4\n= 7\nTherefore, the answer is 7."
    inv = _render(entry, "inv", ROW)
    assert inv["inputs"] == ("Given the following reasoning and answer, what was the question? "
                             " 3 + 4\n= 7\n The answer: 7")
    assert inv["targets"] == "The question How many?\nCount them. "
    record = sources.prompt_sources()["cot"]
    # (the catalog, imported without FLAN_SOURCE_DIR, recorded the own prompts before)
    assert sources.FLAN in record["prompts"].split("+") and _v2(flan_dir) in record["files"]


def test_cot_few_shot_and_inverted_few_shot_use_v2_fewshot_patterns(flan_dir, tmp_path):
    entry = cot.tsv_entry("gsm8k", data_dir=str(tmp_path))
    shot = {"question": "Q0", "answer": "1", "chain_of_thought": "R0"}  # the pool holds fields
    # x-shot (no pattern in the template mix): exemplar, separator, query; target stripped.
    out = _render(entry, "fs_varopt", ROW, pool=[shot])
    assert out["inputs"] == "Q: Q0\nA: R0 The answer is 1.\n\nQ: How many?\nCount them. \nA:"
    assert out["targets"] == "3 + 4\n= 7 The answer is 7."
    inv = _render(entry, "fs_inv", ROW, pool=[shot])
    assert inv["inputs"] == ("Answer: 1\nReasoning: R0\nQuestion: Q0\n\n"
                             "Answer: 7\nReasoning:  3 + 4\n= 7\nQuestion:")
    assert inv["targets"] == "How many?\nCount them."


def test_v2_cot_template_needing_a_field_the_entry_lacks_fails_registration(tmp_path):
    body = V2_FILE.replace("Chain of thought:\",", "Hint: {hint}\",")
    locations.configure({"FLAN_SOURCE_DIR": _tree(tmp_path, body)})
    try:
        entry = cot.tsv_entry("gsm8k", data_dir=str(tmp_path))
        with pytest.raises(KeyError) as e:
            registry.register_entry(dataclasses.replace(entry, name="cot_gsm8k_hint"))
    finally:
        locations.configure({"FLAN_SOURCE_DIR": None})
    text = str(e.value)
    assert "'cot_gsm8k_hint'" in text and "'cot_gsm8k:0'" in text and "'hint'" in text
    assert _v2(str(tmp_path / "FLAN")) in text


def test_missing_inversion_key_fails_naming_file_and_entry(tmp_path):
    body = V2_FILE.replace('PATTERNS["cot_input_inversion_gsm8k"] = PATTERNS[\n'
                           '    "cot_stream_general_input_inversion"]\n', "")
    locations.configure({"FLAN_SOURCE_DIR": _tree(tmp_path, body)})
    try:
        with pytest.raises(sources.PromptSourceError) as e:
            cot.tsv_entry("gsm8k", data_dir=str(tmp_path))
    finally:
        locations.configure({"FLAN_SOURCE_DIR": None})
    assert "PATTERNS['cot_input_inversion_gsm8k']" in str(e.value)
    assert "'cot_gsm8k'" in str(e.value) and _v2(str(tmp_path / "FLAN")) in str(e.value)


# ---------------------------------------------------------------- 2. Dialog from v2
QRECC = {"context": ["c0", "c1"], "question": "q", "answer": "a"}


def _qrecc_entry(tmp_path):
    return next(e for e in dialog.entries(data_dir=str(tmp_path)) if e.name == "dialog_qrecc")


# v2's QReCC rows: turn_id > 6 (filter_qrecc); the turn to predict is an answer inside
# `context` (odd positions: c1 or c3), never the row's own question / answer.
QRECC_V2 = {"turn_id": 7, "conversation_id": "x", "context": ["c0", "c1", "c2", "c3"],
            "question": "q", "answer": "a"}


def _draws(entry, fmt, raw, seed=0, turns=2):
    """The renderer's draws, each stable_int(seed, task, what, example) modulo: the turn among
    `turns` choices, then format_dialog_non_deterministic's among the fake file's 3 starts,
    3 item-name lists and 2 ending lists."""
    key = render.example_key(entry.fields_of(raw))
    return tuple(render.stable_int(seed, f"{entry.name}_{fmt}", what, key) % n for what, n in
                 (("turn", turns), ("dialog_start", 3), ("dialog_item_names", 3),
                  ("dialog_item_ends", 2)))


def test_dialog_entry_gives_v2_dialog_field_and_templates(flan_dir, tmp_path):
    entry = _qrecc_entry(tmp_path)
    fields = entry.fields_of(QRECC_V2)
    # The preprocess's turn: the CRC32 pick among [1, 3] (here 3); v2 format_dialog:
    # "DIALOG:\n" + turns joined by "\n- " + "\n- ".
    assert fields["turn_choices"] == [1, 3] and fields["dialog"] == ["c0", "c1", "c2"]
    assert fields["dialog_"] == "DIALOG:\nc0\n- c1\n- c2\n- " and fields["answer"] == "c3"
    # zs_varopt (v2's zs_opt: the _non_deter_opt_zero_shot task): turn 3 (1), start
    # "DIALOG:" (1), names "\nPerson A: " / "\nPerson B: " alternating (1), no ending (0).
    assert _draws(entry, "zs_varopt", QRECC_V2) == (1, 1, 1, 0)
    out = _render(entry, "zs_varopt", QRECC_V2)
    assert out["inputs"] == ("What is the next dialog turn? DIALOG:\nPerson A: c0\nPerson B: c1"
                             "\nPerson A: c2\nPerson B: ")
    assert out["targets"] == "c3"
    # inv (Dialog-II's zs_opt, also non-deterministic): turn 3, "CONVERSATION:" "Conversation:"
    # (2; the missing comma of v2's list joins them), Person A / B (1), endings ";" (1).
    assert _draws(entry, "inv", QRECC_V2) == (1, 2, 1, 1)
    inv = _render(entry, "inv", QRECC_V2)
    assert inv["inputs"] == "c3\nThe preceding conversation:"
    assert inv["targets"] == ("CONVERSATION:Conversation:\nPerson A: c0;\nPerson B: c1;"
                              "\nPerson A: c2;\nPerson B: ")
    # Few-shot (v2's FS_OPT tasks) keeps the deterministic format_dialog; the exemplar keeps
    # its preprocess's turn (one choice here).
    shot = entry.fields_of({"turn_id": 9, "context": ["x", "y"], "question": "-", "answer": "-"})
    fs = _render(entry, "fs_varopt", QRECC_V2, pool=[shot])
    turn = _draws(entry, "fs_varopt", QRECC_V2)[0]
    query = ["DIALOG:\nc0\n- ", "DIALOG:\nc0\n- c1\n- c2\n- "][turn]
    # exemplar "{dialog_} " + "\n\n" + "y" + "\n\n\n", then the query and its delimiter.
    assert fs["inputs"] == "DIALOG:\nx\n-  \n\ny\n\n\n" + query + " \n\n"
    # flanjax's own formats (zs, eval) never read dialog_: no format draw there.
    assert not tasks.format_view(entry, "zs")[1].nondeterministic
    assert not tasks.format_view(entry, "fs_inv")[1].nondeterministic
    record = sources.prompt_sources()["dialog"]
    assert sources.FLAN in record["prompts"].split("+") and _v2(flan_dir) in record["files"]


def test_non_deterministic_dialog_is_the_same_on_a_rerun_and_draws_every_candidate(flan_dir,
                                                                                  tmp_path):
    entry = _qrecc_entry(tmp_path)
    starts = ["", "DIALOG:", "CONVERSATION:Conversation:"]
    names = [("\n - ", "\n - "), ("\nPerson A: ", "\nPerson B: "),
             ("\nAnonymous 1) ", "\nAnonymous 2) ")]
    ends = ["", ";"]
    seen = set()
    for seed in range(200):
        t, s, n, e = _draws(entry, "zs_varopt", QRECC_V2, seed)
        a, b = names[n]
        want = starts[s] + a + "c0" + ends[e] + b
        if t == 1:  # the turn c3: three turns before it
            want += "c1" + ends[e] + a + "c2" + ends[e] + b
        view, spec = tasks.format_view(entry, "zs_varopt")
        first = render.Renderer(view, spec, task_name="dialog_qrecc_zs_varopt")(QRECC_V2, seed=seed)
        again = render.Renderer(view, spec, task_name="dialog_qrecc_zs_varopt")(QRECC_V2, seed=seed)
        assert first["inputs"] == again["inputs"] == "What is the next dialog turn? " + want
        assert first["targets"] == ["c1", "c3"][t]
        seen.add((s, n, e))
    assert len(seen) == 18  # every (start, names, endings) of 3 x 3 x 2


def _dialog_entry(tmp_path, name):
    return next(e for e in dialog.entries(data_dir=str(tmp_path)) if e.name == f"dialog_{name}")


def _targets(entry, raw, seeds, fmt="zs_varopt"):
    view, spec = tasks.format_view(entry, fmt)
    renderer = render.Renderer(view, spec, task_name=f"{entry.name}_{fmt}")
    return [renderer(raw, seed=seed)["targets"] for seed in seeds]


def test_v2_dialog_turn_is_drawn_per_seed_among_v2_turns(flan_dir, tmp_path):
    # wiki_dialog: utterances[1:] = 7 turns; idx = uniform[0, min(7 / 2, 20)) * 2 + 1: 1, 3, 5.
    wiki = _dialog_entry(tmp_path, "wiki_dialog")
    raw = {"utterances": ["open", "q1", "a1", "q2", "a2", "q3", "a3", "q4"]}
    assert wiki.fields_of(raw)["turn_choices"] == [1, 3, 5]
    got = _targets(wiki, raw, range(60))
    assert got == [["a1", "a2", "a3"][_draws(wiki, "zs_varopt", raw, s, turns=3)[0]]
                   for s in range(60)]
    assert set(got) == {"a1", "a2", "a3"} and got == _targets(wiki, raw, range(60))  # rerun
    # task_master: idx = uniform[1, min(25, 20)): turns 1..19 of 25.
    tm = _dialog_entry(tmp_path, "task_master")
    raw = {"text": [f"t{i}" for i in range(25)]}
    assert set(_targets(tm, raw, range(400))) == {f"t{i}" for i in range(1, 20)}
    # qrecc: rows with turn_id > 6 only; an answer of the first 20 inside `context` (44 turns:
    # positions 1, 3, ..., 39), never the row's own answer.
    qrecc = _qrecc_entry(tmp_path)
    ctx = [f"c{i}" for i in range(44)]
    assert qrecc.fields_of(dict(QRECC_V2, turn_id=6)) is None
    got = set(_targets(qrecc, dict(QRECC_V2, context=ctx), range(400)))
    assert got == {f"c{i}" for i in range(1, 40, 2)}
    # Eval tasks (one fixed template each) keep the preprocess's turn whatever the seed, so
    # every template scores the same examples.
    view, spec = wiki, tasks.TRAIN_FORMATS["zs"]
    evals = {render.Renderer(view, spec, task_name="e", template_index=0)(raw_w, seed=s)["targets"]
             for s in range(20) for raw_w in [{"utterances": ["o", "q1", "a1", "q2", "a2"]}]}
    assert len(evals) == 1


def test_dialog_candidates_read_as_data_and_checked(tmp_path):
    body = V2_FILE.replace('["\\n - " for _ in range(1000)]', '[repr("x")]')
    locations.configure({"FLAN_SOURCE_DIR": _tree(tmp_path, body)})
    try:
        with pytest.raises(sources.PromptSourceError) as e:
            _qrecc_entry(tmp_path)
    finally:
        locations.configure({"FLAN_SOURCE_DIR": None})
    assert "repr(" in str(e.value) and "is not a literal expression" in str(e.value)
    assert _v2(str(tmp_path / "FLAN")) in str(e.value)


def test_without_flan_source_cot_and_dialog_keep_their_own_templates(tmp_path):
    entry = cot.tsv_entry("gsm8k", data_dir=str(tmp_path))
    assert entry.fields == cot.FIELDS and entry.flan2022_templates == ()
    assert tasks.train_formats(entry) == ["zs", "fs", "cot", "inv"]
    qrecc = _qrecc_entry(tmp_path)
    assert qrecc.fields == dialog.FIELDS and "dialog_" not in qrecc.fields_of(QRECC)
    assert tasks.train_formats(qrecc) == ["zs", "fs", "inv"]
    # no per-example draw of v2's dialog format: the own wording, as before
    assert qrecc.flan2022_nondeter is None
    assert not any(tasks.format_view(qrecc, f)[1].nondeterministic for f in ("zs", "fs", "inv"))
    inv = _render(qrecc, "inv", QRECC)  # own pattern 3, inverted (formats.invert)
    assert inv["targets"] == ("Person A: c0\nPerson B: c1\nPerson A: q\n\n"
                              "Continue this dialog with one reply from Person B.")


# ------------------------------------------ 3. T0-SF: v2's task type of a (dataset, prompt)
CONSTANTS_T0 = textwrap.dedent('''\
    """T0 constants."""

    T0_TASK_PREFIX = 't0_task_adaptation:'
    T0_TRAIN_TASK_METADATA = {
        't0_task_adaptation:race_high_Read_the_article_and_answer_the_question_no_option_': {
            'in_flan': False,
            'seq_len': {
                'max': 12,
                'mean': 3
            },
            'task_type': 't0_multiple_choice_separated_options'
        },
        't0_task_adaptation:cos_e_v1.11_i_think': {
            'in_flan': False,
            'seq_len': {
                'max': 7,
                'mean': 1.5
            },
            'task_type': 't0_question_answer'
        },
    }
    ''')


def test_t0_task_type_maps_promptsource_names_to_v2_keys(flan_dir):
    with open(os.path.join(flan_dir, "flan", "v2", "constants_t0.py"), "w") as f:
        f.write(CONSTANTS_T0)
    # t-zero's task name: dataset, subset and prompt name, runs of other characters -> "_".
    key = t0_facts.flan_v2_task_key("race", "high",
                                    "Read the article and answer the question (no option)")
    assert key == "t0_task_adaptation:race_high_Read_the_article_and_answer_the_question_no_option_"
    assert flan_v2.t0_task_type("t0_race_high", key) == "t0_multiple_choice_separated_options"
    assert flan_v2.t0_task_type(
        "t0_commonsense_qa", t0_facts.flan_v2_task_key("cos_e", "v1.11", "i_think")
    ) == "t0_question_answer"
    with pytest.raises(sources.PromptSourceError) as e:
        flan_v2.t0_task_type("t0_race_high", t0_facts.flan_v2_task_key("race", "high", "new one"))
    assert "T0_TRAIN_TASK_METADATA['t0_task_adaptation:race_high_new_one']" in str(e.value)
    assert "'t0_race_high'" in str(e.value) and _v2(flan_dir, "constants_t0.py") in str(e.value)


def test_t0_task_type_is_empty_without_flan_source():
    assert flan_v2.t0_task_type("t0_race_high", "t0_task_adaptation:x") == ""
