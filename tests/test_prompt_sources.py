"""Original prompts read from the user's copy of their source (`flanjax.data.templates.sources`):
fake google-research/FLAN and promptsource trees in the shapes of the real files."""

from __future__ import annotations

import hashlib
import json
import os
import textwrap

import pytest

from flanjax.data import locations
from flanjax.data.catalog import flan2021, t0_facts
from flanjax.data.catalog.entry import tfds_entry
from flanjax.data.catalog.flan2021 import common
from flanjax.data.catalog.registry import register_entry
from flanjax.data.templates import load_promptsource_yaml
from flanjax.data.templates import sources

# A `flan/templates.py` shaped like FLAN's: a header, one literal PATTERNS dict, v2-style
# aliases, and unrelated code that reads PATTERNS without changing it.
FLAN_FILE = textwrap.dedent('''\
    """Templates for FLAN."""

    # pylint: disable=line-too-long
    import copy

    PATTERNS = {
        "rte": [
            ("{premise}\\n\\nSRC can we conclude \\"{hypothesis}\\"?\\n\\n{options_}", "{answer}"),
            ("SRC " "joined {premise}", "{answer}"),
        ],
        "stsb": [
            ("{sentence1} / {sentence2}\\n{options_}", "{answer_str}"),
        ],
    }
    PATTERNS["rte_alias"] = PATTERNS["rte"]
    PATTERNS_NO_OPTIONS = copy.deepcopy(PATTERNS)
    ''')


def _flan_tree(tmp_path, text: str = FLAN_FILE) -> str:
    root = tmp_path / "FLAN"
    (root / "flan").mkdir(parents=True)
    (root / "flan" / "templates.py").write_text(text)
    return str(root)


pytestmark = pytest.mark.usefixtures("keep_prompt_record")  # conftest: fake sources leave no record


@pytest.fixture
def flan_dir(tmp_path):
    root = _flan_tree(tmp_path)
    locations.configure({"FLAN_SOURCE_DIR": root})
    yield root
    locations.configure({"FLAN_SOURCE_DIR": None})


def test_read_patterns_reads_literals_and_aliases(tmp_path):
    path = os.path.join(_flan_tree(tmp_path), "flan", "templates.py")
    patterns = sources.read_patterns(path)
    assert sorted(patterns) == ["rte", "rte_alias", "stsb"]
    assert patterns["rte"][1] == ("SRC joined {premise}", "{answer}")  # implicit concatenation
    assert patterns["rte_alias"] == patterns["rte"]


@pytest.mark.parametrize(
    "body, message",
    [
        ('PATTERNS = {"rte": [(f"{x}", "{answer}")]}\n', "JoinedStr"),
        ('PATTERNS = {"rte": [("a" + "b", "{answer}")]}\n', "BinOp"),
        ('PATTERNS = {"rte": [("a", "b")]}\nPATTERNS.update(OTHER)\n', "PATTERNS.update"),
        ('PATTERNS = {"rte": [("a", "b")]}\nPATTERNS["x"] = make()\n', "Call"),
        ('PATTERNS = {"rte": [("{a.__class__}", "b")]}\n', "plain field names"),
        ('PATTERNS = {"rte": [("a", "b", "c")]}\n', "pair of strings"),
        ("OTHER = {}\n", "no top-level `PATTERNS"),
    ],
)
def test_read_patterns_fails_on_non_literal_source_naming_file(tmp_path, body, message):
    path = os.path.join(_flan_tree(tmp_path, body), "flan", "templates.py")
    with pytest.raises(sources.PromptSourceError) as e:
        sources.read_patterns(path)
    assert path in str(e.value) and message in str(e.value)


def test_missing_flan_file_fails_naming_file_and_setting(tmp_path):
    locations.configure({"FLAN_SOURCE_DIR": str(tmp_path)})
    try:
        with pytest.raises(sources.PromptSourceError) as e:
            sources.flan_patterns(sources.FLAN_V1_TEMPLATES, "flan2021")
    finally:
        locations.configure({"FLAN_SOURCE_DIR": None})
    assert os.path.join(str(tmp_path), "flan", "templates.py") in str(e.value)
    assert "FLANJAX_FLAN_SOURCE_DIR" in str(e.value)


def test_flan2021_entry_takes_flan_source_patterns_and_records_hash(flan_dir):
    own = {"rte": [("OWN {premise}", "{answer}")]}
    templates = common.templates_for("rte", "rte", own, "rte")
    path = os.path.join(flan_dir, "flan", "templates.py")
    assert [t.name for t in templates] == ["rte:0", "rte:1"]
    assert templates[0].origin == path
    got = templates[0].render({"premise": "P.", "hypothesis": "H", "options": ["yes", "no"],
                               "answer": "yes"})
    assert got.inputs == 'P.\n\nSRC can we conclude "H"?\n\nOPTIONS:\n- yes\n- no'
    assert got.targets == "yes"
    record = sources.prompt_sources()["flan2021"]
    assert record["prompts"] == "flanjax+google-research/FLAN"  # own entries, then this one
    common.templates_for("rte", "rte", own, "rte")
    assert sources.prompt_sources()["flan2021"]["prompts"] == "flanjax+google-research/FLAN"
    digest = hashlib.sha256(FLAN_FILE.encode("utf-8")).hexdigest()
    assert record["files"][path] == digest
    # A key the file lacks fails naming the file and the entry; no fallback to `own`.
    with pytest.raises(sources.PromptSourceError, match="no PATTERNS\\['cb'\\].*'cb'"):
        common.templates_for("cb", "cb", {"cb": own["rte"]}, "cb")


def test_source_template_needing_a_missing_field_fails_registration(flan_dir):
    # FLAN's stsb target reads `answer_str`; an entry whose preprocess lacks it must not
    # register.
    templates = common.templates_for("stsb_test", "stsb", {}, "stsb")
    entry = tfds_entry(
        name="stsb_test_src", collection="flan2021", cluster="paraphrase", paper_dataset="x",
        tfds_name="glue/stsb:2.0.0", splits={"train": "train"}, preprocess=lambda r: r,
        fields=("sentence1", "sentence2", "options", "answer"), templates=templates,
        metric="accuracy",
    )
    with pytest.raises(KeyError) as e:
        register_entry(entry)
    text = str(e.value)
    assert "stsb_test_src" in text and "stsb:0" in text and "answer_str" in text
    assert os.path.join(flan_dir, "flan", "templates.py") in text


def test_real_entries_give_every_field_flan_v1_reads():
    # stsb and record read FLAN's `answer_str` / `options_str` (flan/tasks.py).
    by_name = {e.name: e for e in flan2021.ENTRIES}
    assert "answer_str" in by_name["stsb"].fields
    fields = by_name["record"].preprocess({
        "query": "Q @placeholder end", "answers": ["A"], "entities": ["A", "B"],
        "passage": "text\n@highlight\nx"})
    assert fields["options_str"] == "OPTIONS:\n- A end\n- B end"


# ------------------------------------------------------------------------ promptsource
def _template_yaml(name: str, jinja: str, choices: str | None = None) -> str:
    uid = hashlib.sha256(name.encode()).hexdigest()[:8]
    lines = [f"  {uid}: !Template", f"    id: {uid}", f"    jinja: {json.dumps(jinja)}",
             "    metadata: !TemplateMetadata", "      original_task: true",
             f"    name: {json.dumps(name)}", "    reference: ''"]
    if choices is not None:
        lines.insert(1, f"    answer_choices: {json.dumps(choices)}")
    return "\n".join(lines) + "\n"


def _yaml(dataset: str, subset: str | None, templates: list[str]) -> str:
    head = f"dataset: {dataset}\n" + (f"subset: {subset}\n" if subset else "")
    return head + "templates:\n" + "".join(templates)


def test_promptsource_sandbox_refuses_python_internals(tmp_path):
    path = tmp_path / "templates.yaml"
    path.write_text(_yaml("x", None, [_template_yaml("evil", "{{ text.__class__.__mro__ }} ||| y")]))
    (template,) = load_promptsource_yaml(str(path))
    with pytest.raises(ValueError) as e:
        template.render({"text": "a"})
    assert "'evil'" in str(e.value) and str(path) in str(e.value)


def test_t0_select_drops_blacklist_and_picks_t_zero_eval_prompts(tmp_path):
    names = list(t0_facts.EVAL_TEMPLATES[("super_glue", "rte")])
    body = [_template_yaml(n, "{{premise}} ||| {{ answer_choices[label] }}", "Yes ||| No")
            for n in ["extra prompt"] + names[::-1]]
    path = tmp_path / "templates.yaml"
    path.write_text(_yaml("super_glue", "rte", body))
    templates = load_promptsource_yaml(str(path))
    prompts = t0_facts.select("t0_super_glue_rte", templates, str(path))
    assert len(prompts.templates) == 11 and prompts.num_source_prompts == 11
    # Evaluation: t-zero's list, in its order, as indices into the file's order.
    assert [prompts.templates[i].name for i in prompts.eval_templates] == names
    # gigaword's "summarize!" is t-zero's blacklisted task `gigaword_summarize_`.
    giga = [_template_yaml(n, "{{document}} ||| {{summary}}") for n in ("TLDR", "summarize!")]
    path.write_text(_yaml("gigaword", None, giga))
    prompts = t0_facts.select("t0_gigaword", load_promptsource_yaml(str(path)), str(path))
    assert [t.name for t in prompts.templates] == ["TLDR"]
    assert prompts.num_source_prompts == 2 and prompts.eval_templates is None
    # 3,803,957 examples > 500k: 1 kept prompt * (500_000 // 2 prompts) = 250_000.
    assert t0_facts.dataset_rate("t0_gigaword", 1, 2) == 250_000.0
    # 9,741 <= 500k: 7 prompts * 9,741.
    assert t0_facts.dataset_rate("t0_commonsense_qa", 7, 11) == 68_187.0


def test_t0_select_fails_when_an_eval_prompt_is_missing(tmp_path):
    path = tmp_path / "templates.yaml"
    path.write_text(_yaml("super_glue", "rte", [_template_yaml("only", "a ||| b")]))
    with pytest.raises(ValueError, match="lacks the prompts t-zero evaluates") as e:
        t0_facts.select("t0_super_glue_rte", load_promptsource_yaml(str(path)), str(path))
    assert str(path) in str(e.value) and "MNLI crowdsource" in str(e.value)


def test_missing_promptsource_file_fails_naming_it(tmp_path):
    locations.configure({"PROMPTSOURCE_TEMPLATES_DIR": str(tmp_path)})
    try:
        with pytest.raises(sources.PromptSourceError) as e:
            sources.promptsource_file("super_glue", "rte")
    finally:
        locations.configure({"PROMPTSOURCE_TEMPLATES_DIR": None})
    assert os.path.join(str(tmp_path), "super_glue", "rte", "templates.yaml") in str(e.value)
