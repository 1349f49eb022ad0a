"""FLANJAX_FLAN_SOURCE_DIR / FLANJAX_PROMPTSOURCE_TEMPLATES_DIR set before
`import flanjax.data.mixtures` take effect for everything it registers (one child process
over complete fake FLAN and promptsource trees built from flanjax's own prompts)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from flanjax.data import catalog
from flanjax.data.catalog import cot, flan2021, flan2022_facts, flan2022_flan, t0, t0_facts, t0_plus
from tests._train_helpers import HANG_GUARD_S, subprocess_env
from tests.test_prompt_sources import _template_yaml, _yaml

_TRANSLATION_KEYS = {"para_crawl_enes": "para_crawl"}


def _flan_key(entry) -> str:
    if entry.name.startswith("wmt16_translate_"):
        return "wmt16_translate"
    return _TRANSLATION_KEYS.get(entry.name, entry.templates[0].name.split(":")[0])


def _write_flan_tree(root: str) -> None:
    patterns = {}
    for e in flan2021.ENTRIES:
        patterns[_flan_key(e)] = [("SRC|" + t.input_pattern, t.target_pattern) for t in e.templates]
    os.makedirs(os.path.join(root, "flan", "v2"))
    with open(os.path.join(root, "flan", "templates.py"), "w") as f:
        f.write(f"PATTERNS = {patterns!r}\n")
    # flan/v2/templates.py: other wording, and v2's alias statements.
    v2 = {k: [("V2|" + i, t) for i, t in v] for k, v in patterns.items() if k != "rte"}
    v2.update({k: [("V2|" + i, t) for i, t in v] for k, v in flan2022_flan.PATTERNS.items()})
    # CoT and Dialog keys of v2 (task_configs.py COT_TASK_CONFIGS / DIALOG_TASK_CONFIGS and
    # their input inversions), reading v2's fields.
    for name, kind, _ in cot.DATASETS:
        v2[f"{kind}_{name}"] = [("V2|{question} CoT:", "{chain_of_thought} So {answer}.")]
        v2[f"{kind}_input_inversion_{name}"] = [("V2|{answer} {chain_of_thought}", "{question}")]
    for name in ("wiki_dialog", "qrecc", "task_master"):
        v2[name] = [("V2|{dialog_}", "{answer}")]
        v2[f"{name}_input_inversion"] = [("V2|{answer}", "{dialog_}")]
    # T0-SF's task types (t0_multiple_choice: an alias in PATTERNS, its own FEWSHOT_PATTERNS).
    v2["t0_question_answer"] = [("V2|{question}\nA:", "{answer}")]
    v2["t0_multiple_choice_separated_options"] = [("V2|{question}\n{options_}", "{answer}")]
    fewshot_only = {"t0_multiple_choice": [("MC|{question}", "{answer}")]}
    # and FEWSHOT_PATTERNS as v2 writes it: FewShotPattern(...) calls, then aliases.
    fewshot = ", ".join(
        f"{k!r}: [" + ", ".join(f"FewShotPattern(inputs={'FS|' + i!r}, targets={t!r}, "
                                f"x_y_delimiter='\\n')" for i, t in v) + "]"
        for k, v in {**v2, **fewshot_only}.items())
    with open(os.path.join(root, "flan", "v2", "templates.py"), "w") as f:
        f.write(f"import copy\nPATTERNS = {v2!r}\nPATTERNS['rte'] = PATTERNS['cb']\n"
                "PATTERNS['t0_multiple_choice'] = PATTERNS['t0_question_answer']\n"
                f"FEWSHOT_PATTERNS = {{{fewshot}}}\n"
                "FEWSHOT_PATTERNS['rte'] = FEWSHOT_PATTERNS['cb']\n"
                # the dialog candidates of format_dialog_non_deterministic, as v2 writes them
                "DIALOG_START_STRING_CANDIDATES = ['', 'DIALOG:']\n"
                "DIALOG_ITEM_NAME_CANDIDATES = [['\\n - ' for _ in range(1000)],\n"
                "    ['\\nP1: ' if x % 2 == 0 else '\\nP2: ' for x in range(1000)]]\n"
                "DIALOG_ITEM_END_STR_CANDIDATES = [['' for _ in range(1000)]]\n")
    # flan/v2/flan_templates_branched.py: the original FLAN templates (PATTERNS_NO_OPTIONS).
    branched = dict(patterns, rte=[("BR|{premise}\n{options_}", "{answer}")])
    with open(os.path.join(root, "flan", "v2", "flan_templates_branched.py"), "w") as f:
        f.write(f"PATTERNS = {branched!r}\n")
    # flan/v2/constants_t0.py: every T0-SF prompt's task type (multiple choice where the
    # prompt has answer choices; race/high's last prompt with separated options).
    metadata = {}
    for e in catalog.entries_in("t0"):
        dataset, subset = t0_facts.PROMPTSOURCE_DATASETS[e.name]
        if (dataset, subset) in flan2022_facts.T0_SF_DATASETS:
            for i, (name, template) in enumerate(_prompts(e)):
                kind = "t0_multiple_choice" if template.answer_choices else "t0_question_answer"
                if e.name == "t0_race_high" and i == len(_prompts(e)) - 1:
                    kind = "t0_multiple_choice_separated_options"
                metadata[t0_facts.flan_v2_task_key(dataset, subset, name)] = {
                    "in_flan": False, "seq_len": {"max": 9, "mean": 2.5}, "task_type": kind}
    with open(os.path.join(root, "flan", "v2", "constants_t0.py"), "w") as f:
        f.write(f"T0_TASK_PREFIX = 't0_task_adaptation:'\nT0_TRAIN_TASK_METADATA = {metadata!r}\n")


def _prompts(entry) -> list:
    """(name, own template) of each prompt the fake promptsource file of `entry` holds."""
    own = entry.templates
    dataset, subset = t0_facts.PROMPTSOURCE_DATASETS[entry.name]
    names = t0_facts.EVAL_TEMPLATES.get((dataset, subset), [t.name for t in own])
    return [(n, own[i % len(own)]) for i, n in enumerate(names)]


def _write_promptsource_tree(root: str) -> None:
    for e in catalog.entries_in("t0"):
        dataset, subset = t0_facts.PROMPTSOURCE_DATASETS[e.name]
        folder = os.path.join(root, dataset, *([subset] if subset else []))
        os.makedirs(folder, exist_ok=True)
        body = [_template_yaml(n, t.jinja, t.answer_choices) for n, t in _prompts(e)]
        if dataset == "gigaword":  # t-zero's blacklisted `gigaword_summarize_`
            body.append(_template_yaml("summarize!", e.templates[0].jinja))
        with open(os.path.join(folder, "templates.yaml"), "w") as f:
            f.write(_yaml(dataset, subset, body))


_CHILD = """
import json
import seqio
import flanjax.data.mixtures
from flanjax.data import catalog, tasks
from flanjax.data.catalog import flan2022_t0
from flanjax.data.templates import sources
mix = seqio.get_mixture_or_task("t0")
rates = {t.name: mix.get_rate(t) for t in mix.tasks}
print(json.dumps({
    "anli_r1": catalog.get_entry("anli_r1").templates[0].input_pattern,
    "anli_r1_v2": catalog.get_entry("anli_r1").flan2022_templates[0].input_pattern,
    "rte_v2_fields": sorted(catalog.get_entry("rte").flan2022_templates[0].fields()),
    "anli_r1_fs": catalog.get_entry("anli_r1").flan2022_fewshot[0].combined_inputs,
    "rte_noopt": catalog.get_entry("rte").flan2022_noopt_templates[0].input_pattern,
    "cot_gsm8k_v2": catalog.get_entry("cot_gsm8k").flan2022_templates[0].input_pattern,
    "cot_fsopt": sorted(seqio.get_mixture_or_task("cot_fsopt").rate_per_task_name),
    "cot_ii_fs": sorted(seqio.get_mixture_or_task("cot_ii_fs").rate_per_task_name),
    "dialog_zsopt": sorted(seqio.get_mixture_or_task("dialog_zsopt").rate_per_task_name),
    "dialog_nondeter": [tasks.renderer_of_task(f"dialog_{n}_{f}").spec.nondeterministic
                        for n in ("wiki_dialog", "qrecc") for f in ("zs_varopt", "inv", "fs_varopt")],
    "xsum_formats": tasks.train_formats(catalog.get_entry("xsum")),
    "flan_fsnoopt": sorted(t.name for t in seqio.get_mixture_or_task("flan_fsnoopt").tasks),
    "gigaword_rate": rates["t0_gigaword_zs"],
    "gigaword_templates": [t.name for t in catalog.get_entry("t0_gigaword").templates],
    "rte_eval": tasks.eval_task_names(catalog.get_entry("t0_super_glue_rte")),
    "race_types": flan2022_t0.task_types(catalog.get_entry("t0_race_high")),
    "race_v2": [t.name for t in catalog.get_entry("t0_race_high").flan2022_templates],
    "t0_zsopt": sorted(seqio.get_mixture_or_task("t0_zsopt").rate_per_task_name),
    "race_scale": seqio.get_mixture_or_task("t0_zsopt").rate_per_task_name[
        "t0_race_high_zs_varopt"].keywords["scale"],
    "t0_fsnoopt": sorted(seqio.get_mixture_or_task("t0_fsnoopt").rate_per_task_name),
    "sources": sources.prompt_sources(),
}))
"""


def test_source_dirs_set_before_import_take_effect(tmp_path):
    flan_root, ps_root = str(tmp_path / "FLAN"), str(tmp_path / "templates")
    _write_flan_tree(flan_root)
    _write_promptsource_tree(ps_root)
    env = subprocess_env()
    env.update(FLANJAX_FLAN_SOURCE_DIR=flan_root, FLANJAX_PROMPTSOURCE_TEMPLATES_DIR=ps_root)
    out = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True,
                         text=True, timeout=HANG_GUARD_S, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    own_anli = next(e for e in flan2021.ENTRIES if e.name == "anli_r1").templates[0]
    assert got["anli_r1"] == "SRC|" + own_anli.input_pattern
    assert got["anli_r1_v2"] == "V2|SRC|" + own_anli.input_pattern  # flan/v2/templates.py
    # v2's alias PATTERNS['rte'] = PATTERNS['cb']: cb's fields, which rte's entry also has.
    own_cb = next(e for e in flan2021.ENTRIES if e.name == "cb").templates[0]
    assert got["rte_v2_fields"] == sorted(own_cb.fields())
    # v2's FEWSHOT_PATTERNS: exemplar inputs + x_y_delimiter (flanjax.data.templates.fewshot).
    assert got["anli_r1_fs"] == "FS|V2|SRC|" + own_anli.input_pattern + "\n"
    # An entry without options trains Flan 2022 on v2's templates (its own formats).
    assert "zs_varopt" in got["xsum_formats"] and "fs_noopt" in got["xsum_formats"]
    assert "xsum_fs_noopt" in got["flan_fsnoopt"] and "true_case_fs_noopt" in got["flan_fsnoopt"]
    own_giga = [t.name for t in next(e for e in t0.ENTRIES if e.name == "t0_gigaword").templates]
    assert got["gigaword_templates"] == own_giga  # "summarize!" left out of training
    # 3 kept prompts of 4 in the file; 3,803,957 > 500k: 3 * (500_000 // 4).
    assert len(own_giga) == 3 and got["gigaword_rate"] == 3 * 125_000
    assert len(got["rte_eval"]) == 10  # t-zero's template_list for super_glue/rte
    assert got["sources"]["flan2021"]["prompts"] == "google-research/FLAN"
    assert list(got["sources"]["flan2021"]["files"]) == [
        os.path.join(flan_root, "flan", "templates.py")]
    assert sorted(got["sources"]["flan2022"]["files"]) == [
        os.path.join(flan_root, "flan", "v2", n) for n in ("flan_templates_branched.py", "templates.py")]
    # zs_noopt: v2's PATTERNS_NO_OPTIONS (the branched file's rte, "\n{options_}" cut).
    assert got["rte_noopt"] == "BR|{premise}"
    # CoT and Dialog from v2; CoT-II few-shot in the few-shot variant.
    assert got["cot_gsm8k_v2"] == "V2|{question} CoT:"
    assert got["cot_fsopt"] == ["cot_fsopt_base", "cot_ii_fs"]
    assert "cot_gsm8k_fs_inv" in got["cot_ii_fs"] and "cot_gsm8k_fs_varopt" not in got["cot_ii_fs"]
    assert got["dialog_zsopt"] == ["dialog_ii", "dialog_zsopt_base"]
    # v2's zs_opt Dialog / Dialog-II tasks write the dialog with format_dialog_non_deterministic
    # (candidates from the file); few-shot keeps format_dialog.
    assert got["dialog_nondeter"] == [True, True, False] * 2
    assert got["sources"]["cot"]["prompts"] == got["sources"]["dialog"]["prompts"] == "google-research/FLAN"
    # T0-SF: promptsource prompts wrapped in v2's patterns of their constants_t0 task type.
    assert got["sources"]["t0"]["prompts"] == "promptsource+google-research/FLAN"
    v2_files = [os.path.join(flan_root, "flan", "v2", n)
                for n in ("constants_t0.py", "flan_templates_branched.py", "templates.py")]
    assert sorted(f for f in got["sources"]["t0"]["files"] if not f.endswith(".yaml")) == v2_files
    assert len(got["sources"]["t0"]["files"]) == len(v2_files) + len({
        t0_facts.PROMPTSOURCE_DATASETS[e.name] for e in catalog.entries_in("t0")})
    race = [n for n, _ in _prompts(next(e for e in t0_plus.ENTRIES if e.name == "t0_race_high"))]
    assert list(got["race_types"]) == race
    assert got["race_types"][race[-1]] == "t0_multiple_choice_separated_options"
    assert got["race_v2"][-1] == f"t0_multiple_choice_separated_options:0|{race[-1]}"
    assert got["race_scale"] == len(race)  # v2 caps each prompt's task on its own
    # generation entries of T0-SF (adversarial_qa) train Flan 2022's formats too; T0 datasets
    # in FLAN (imdb) are not in T0-SF.
    assert {"t0_race_high_zs_varopt", "t0_adversarial_qa_dbert_zs_varopt"} <= set(got["t0_zsopt"])
    assert "t0_adversarial_qa_dbert_fs_noopt" in got["t0_fsnoopt"]
    assert not any(t.startswith("t0_imdb") for t in got["t0_zsopt"])
