"""Tests for flanjax.data.promptsource: promptsource templates.yaml read unchanged, rendered."""

import pytest

from flanjax.data.templates.promptsource import PromptsourceTemplate
from flanjax.data.templates import Rendered, load_promptsource_yaml

# A file in promptsource's own format (as `yaml.dump` of DatasetTemplates writes it); the
# template wording is ours.
TEMPLATES_YAML = """\
dataset: super_glue
subset: rte
templates:
  0f1e2d3c-0000-4000-8000-000000000001: !Template
    answer_choices: Yes ||| No
    id: 0f1e2d3c-0000-4000-8000-000000000001
    jinja: '{{premise}} Given that, must "{{hypothesis}}" hold? Yes or no? ||| {% if
      label != -1 %}{{ answer_choices[label] }}{% endif %}'
    metadata: !TemplateMetadata
      choices_in_prompt: true
      languages:
      - en
      metrics:
      - Accuracy
      original_task: true
    name: must hold
    reference: written for the flanjax tests
  0f1e2d3c-0000-4000-8000-000000000002: !Template
    answer_choices: '{{choice1}} ||| {{choice2}}'
    id: 0f1e2d3c-0000-4000-8000-000000000002
    jinja: "{% if question == \\"cause\\" %}{{ premise }} What led to this?\\n- {{ answer_choices\\
      \\ | join(\\"\\\\n- \\") }} ||| {{ answer_choices[label] }}{% endif %}"
    metadata: !TemplateMetadata
      choices_in_prompt: true
      languages:
      - en
      metrics:
      - Accuracy
      original_task: true
    name: cause only
    reference: ''
  0f1e2d3c-0000-4000-8000-000000000003: !Template
    answer_choices: null
    id: 0f1e2d3c-0000-4000-8000-000000000003
    jinja: 'Write a statement that "{{premise}}" backs up. ||| {{hypothesis}}'
    metadata: !TemplateMetadata
      choices_in_prompt: false
      languages:
      - en
      metrics:
      - ROUGE
      original_task: false
    name: write hypothesis
    reference: ''
"""


@pytest.fixture
def loaded(tmp_path):
    path = tmp_path / "templates.yaml"
    path.write_text(TEMPLATES_YAML, encoding="utf-8")
    return {t.name: t for t in load_promptsource_yaml(path)}


def test_loads_fields_and_metadata(loaded):
    assert list(loaded) == ["must hold", "cause only", "write hypothesis"]
    t = loaded["must hold"]
    assert t.id == "0f1e2d3c-0000-4000-8000-000000000001"
    assert t.answer_choices == "Yes ||| No"  # not the YAML boolean
    assert t.jinja == (
        '{{premise}} Given that, must "{{hypothesis}}" hold? Yes or no? ||| '
        "{% if label != -1 %}{{ answer_choices[label] }}{% endif %}"
    )
    assert t.reference == "written for the flanjax tests"
    assert dict(t.metadata) == {
        "original_task": True,
        "choices_in_prompt": True,
        "metrics": ["Accuracy"],
        "languages": ["en"],
    }
    assert loaded["write hypothesis"].answer_choices is None
    assert loaded["write hypothesis"].metadata["original_task"] is False


def test_fields(loaded):
    assert loaded["must hold"].fields() == {"premise", "hypothesis", "label"}
    assert loaded["cause only"].fields() == {"question", "premise", "choice1", "choice2", "label"}
    assert loaded["write hypothesis"].fields() == {"premise", "hypothesis"}


def test_render_classification(loaded):
    ex = {"premise": "The shop is closed.", "hypothesis": "The shop is open.", "label": 1}
    assert loaded["must hold"].render(ex) == Rendered(
        inputs='The shop is closed. Given that, must "The shop is open." hold? Yes or no?',
        targets="No",
        answer_options=("Yes", "No"),
    )


def test_unlabelled_example_is_skipped(loaded):
    ex = {"premise": "p", "hypothesis": "h", "label": -1}
    assert loaded["must hold"].render(ex) is None


def test_answer_choices_from_example_and_if_guard(loaded):
    cause = {
        "premise": "The road was wet.",
        "choice1": "It had rained.",
        "choice2": "The sun was out.",
        "question": "cause",
        "label": 0,
    }
    assert loaded["cause only"].render(cause) == Rendered(
        inputs="The road was wet. What led to this?\n- It had rained.\n- The sun was out.",
        targets="It had rained.",
        answer_options=("It had rained.", "The sun was out."),
    )
    # The template only covers "cause" questions: other examples render empty -> skipped.
    assert loaded["cause only"].render({**cause, "question": "effect"}) is None


def test_pipes_inside_values_do_not_split(loaded):
    ex = {"premise": "Use a ||| b as a separator.", "hypothesis": "x ||| y", "label": 0}
    assert loaded["write hypothesis"].render(ex) == Rendered(
        inputs='Write a statement that "Use a ||| b as a separator." backs up.',
        targets="x ||| y",
        answer_options=(),
    )
    # A pipe in an answer choice stays protected when the template prints the choice
    # (promptsource would split there and the T0 pipeline would drop the example).
    choices = PromptsourceTemplate("c", "{{q}} ||| {{answer_choices[0]}}", "{{a}} ||| no")
    assert choices.render({"q": "Q", "a": "yes ||| maybe"}) == Rendered(
        "Q", "yes ||| maybe", ("yes ||| maybe", "no")
    )


def test_hyphenated_keys_and_reserved_key():
    t = PromptsourceTemplate("h", "{{ first_name }} ||| ok")
    assert t.render({"first-name": "Ada"}) == Rendered("Ada", "ok")
    with pytest.raises(ValueError, match="answer_choices"):
        t.render({"first_name": "Ada", "answer_choices": "x"})


def test_truncation_like_promptsource():
    t = PromptsourceTemplate("t", "{{ text }} ||| {{ label }}", truncate_chars=10)
    # Jinja's truncate(10): strings up to 10 + 5 (leeway) characters stay; longer ones are
    # cut to 10 - len("...") characters, back to the last whole word, plus "...".
    assert t.render({"text": "one two three four five", "label": "y"}).inputs == "one..."
    assert t.render({"text": "one two three", "label": "y"}).inputs == "one two three"
    assert PromptsourceTemplate("u", "{{ text -}} ||| y", truncate_chars=10).render(
        {"text": "a"}
    ) == Rendered("a", "y")


def test_choice_is_deterministic_per_example():
    t = PromptsourceTemplate(
        "pick", '{{ ["alpha", "beta", "gamma", "delta"] | choice }} {{ x }} ||| y', id="id-1"
    )
    draws = {t.render({"x": str(i)}).inputs.split()[0] for i in range(40)}
    assert draws == {"alpha", "beta", "gamma", "delta"}  # varies across examples
    for i in range(5):
        assert t.render({"x": str(i)}) == t.render({"x": str(i)})  # fixed per example
    as_global = PromptsourceTemplate("g", "{{ choice(['only']) }} ||| y")
    assert as_global.render({}) == Rendered("only", "y")
    assert "choice" not in as_global.fields()


def test_yaml_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.yaml"):
        load_promptsource_yaml(tmp_path / "nowhere.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("dataset: x\ntemplates:\n  a: !Template\n    id: a\n    name: n\n")
    with pytest.raises(ValueError, match="jinja"):
        load_promptsource_yaml(bad)
    unsafe = tmp_path / "unsafe.yaml"
    unsafe.write_text("dataset: x\ntemplates: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(ValueError, match="unsafe.yaml"):
        load_promptsource_yaml(unsafe)
    dup = tmp_path / "dup.yaml"
    dup.write_text(
        "dataset: x\ntemplates:\n"
        "  a: !Template\n    id: a\n    jinja: 'q ||| a'\n    name: same\n"
        "  b: !Template\n    id: b\n    jinja: 'q ||| b'\n    name: same\n"
    )
    with pytest.raises(ValueError, match="same"):
        load_promptsource_yaml(dup)
