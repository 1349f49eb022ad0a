"""t-zero's row transform (promptsource's `removeHyphen`, applied to every row in t-zero's
`t0/seqio_tasks/utils.py` `apply_template`) and trec's two HF schemas: promptsource 0.1.0's
templates (t-zero pins 0.1.0; they read `label_coarse` / `label_fine`) and promptsource's
current ones (`coarse_label` / `fine_label`) both register and render the same text, from
rows in either HF schema. The YAML below is the two releases' own
`promptsource/templates/trec/templates.yaml` text for two prompts."""

from __future__ import annotations

import pytest

from flanjax.data import locations
from flanjax.data.catalog import entry as entry_lib
from flanjax.data.catalog import t0

V0_1_0 = """dataset: trec
templates:
  21d04668-c5b3-4418-bbb6-663f1ffdb97c: !Template
    answer_choices: Description ||| Entity ||| Abbreviation ||| Person ||| Quantity
      ||| Location
    id: 21d04668-c5b3-4418-bbb6-663f1ffdb97c
    jinja: "Categories: {{', '.join(answer_choices)}}\\n\\nWhat category best describes:\\
      \\ {{text}} \\nAnswer: ||| {{ answer_choices [label_coarse] }}"
    metadata: !TemplateMetadata
      choices_in_prompt: true
      metrics:
      - Accuracy
      original_task: true
    name: what_category_best_describe
    reference: ''
  2d4e0add-cfca-4f54-80a2-ddd8e91f9fd6: !Template
    answer_choices: city ||| country ||| mountain ||| state ||| other location
    id: 2d4e0add-cfca-4f54-80a2-ddd8e91f9fd6
    jinja: '{% set label_mapping = {21:0, 18:1, 24:2, 11:3, 14:4} %}

      {% if label_coarse == 5 %}

      Is this question asking for {{'', ''.join(answer_choices)}}?

      {{text}}

      |||

      {{ answer_choices [label_mapping[label_fine]] }}

      {% endif %}'
    metadata: !TemplateMetadata
      choices_in_prompt: true
      metrics:
      - Accuracy
      original_task: false
    name: fine_grained_LOC
    reference: Fine grained labels with coarse-label `LOC`, context after question
"""

CURRENT = """dataset: trec
templates:
  21d04668-c5b3-4418-bbb6-663f1ffdb97c: !Template
    answer_choices: Abbreviation ||| Entity ||| Description ||| Person ||| Location
      ||| Quantity
    id: 21d04668-c5b3-4418-bbb6-663f1ffdb97c
    jinja: "Categories: {{', '.join(answer_choices)}}\\n\\nWhat category best describes:\\
      \\ {{text}} \\nAnswer: ||| {{ answer_choices [coarse_label] }}"
    metadata: !TemplateMetadata
      choices_in_prompt: true
      languages:
      - en
      metrics:
      - Accuracy
      original_task: true
    name: what_category_best_describe
    reference: ''
  2d4e0add-cfca-4f54-80a2-ddd8e91f9fd6: !Template
    answer_choices: city ||| country ||| mountain ||| other location ||| state
    id: 2d4e0add-cfca-4f54-80a2-ddd8e91f9fd6
    jinja: '{% if coarse_label == 4 %}

      Is this question asking for {{'', ''.join(answer_choices)}}?

      {{text}}

      |||

      {{ answer_choices [fine_label-32] }}

      {% endif %}'
    metadata: !TemplateMetadata
      choices_in_prompt: true
      languages:
      - en
      metrics:
      - Accuracy
      original_task: false
    name: fine_grained_LOC
    reference: Fine grained labels with coarse-label `LOC`, context after question
"""

TEXT = "What city is the Eiffel Tower in ?"
# The same question (LOC:city) in HF's old schema (DESC, ENTY, ABBR, HUM, NUM, LOC; "city" is
# fine label 21 of 47) and in today's (ABBR, ENTY, DESC, HUM, LOC, NUM; "LOC:city" is 32 of 50).
OLD_ROW = {"label-coarse": 5, "label-fine": 21, "text": TEXT}
NEW_ROW = {"coarse_label": 4, "fine_label": 32, "text": TEXT}
# A DESC:manner question: old coarse 0 / fine 0; new coarse 2 / fine 26.
OLD_DESC = {"label-coarse": 0, "label-fine": 0, "text": "How do you fold a crane ?"}
NEW_DESC = {"coarse_label": 2, "fine_label": 26, "text": "How do you fold a crane ?"}


def _entry(tmp_path, yaml_text):
    (tmp_path / "trec").mkdir()
    (tmp_path / "trec" / "templates.yaml").write_text(yaml_text)
    locations.configure({"PROMPTSOURCE_TEMPLATES_DIR": str(tmp_path)})
    try:
        entry = t0.make_entry("t0_trec", "topic_classification", t0.hf_source("trec"),
                              t0.TREC_COLUMNS, t0._trec, rank=True,  # pylint: disable=protected-access
                              eval_split="test")
    finally:
        locations.configure({"PROMPTSOURCE_TEMPLATES_DIR": None})
    entry_lib.check_templates(entry)  # what registration checks: every field read is given
    return entry


def _render(entry, row):
    fields = entry.fields_of(row)
    by_name = {t.name: t.render(fields) for t in entry.templates}
    return {k: (r.inputs, r.targets) for k, r in by_name.items() if r is not None}


@pytest.mark.parametrize("release", [V0_1_0, CURRENT], ids=["promptsource-0.1.0", "current"])
@pytest.mark.parametrize("row", [OLD_ROW, NEW_ROW], ids=["old-hf-schema", "new-hf-schema"])
def test_both_template_releases_render_rows_of_both_schemas(tmp_path, release, row):
    entry = _entry(tmp_path, release)
    got = _render(entry, row)
    order = ("Description, Entity, Abbreviation, Person, Quantity, Location" if release is V0_1_0
             else "Abbreviation, Entity, Description, Person, Location, Quantity")
    assert got["what_category_best_describe"] == (
        f"Categories: {order}\n\nWhat category best describes: {TEXT} \nAnswer:", "Location")
    choices = ("city, country, mountain, state, other location" if release is V0_1_0
               else "city, country, mountain, other location, state")
    # (YAML folds each blank line of the single-quoted jinja into one newline.)
    assert got["fine_grained_LOC"] == (f"Is this question asking for {choices}?\n{TEXT}", "city")


@pytest.mark.parametrize("row", [OLD_DESC, NEW_DESC], ids=["old-hf-schema", "new-hf-schema"])
def test_labels_map_by_name_between_schemas(tmp_path, row):
    fields = _entry(tmp_path, V0_1_0).fields_of(row)
    assert (fields["label_coarse"], fields["label_fine"]) == (0, 0)      # DESC, manner
    assert (fields["coarse_label"], fields["fine_label"]) == (2, 26)     # DESC, DESC:manner
    assert fields["answer"] == "Description" and "label-coarse" not in fields


def test_remove_hyphen_is_promptsources():
    # promptsource/utils.py removeHyphen: every "-" of a key, values untouched.
    assert t0.remove_hyphen({"label-coarse": 1, "a-b-c": "x-y", "text": "t"}) == {
        "label_coarse": 1, "a_b_c": "x-y", "text": "t"}
