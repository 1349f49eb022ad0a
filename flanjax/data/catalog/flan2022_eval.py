"""Flan 2022's held-out benchmarks, evaluated with the exemplars their papers used.

Chung et al. 2022 ("Scaling Instruction-Finetuned Language Models", Sec. 2.3 and Table 5)
report Flan-T5 / Flan-PaLM on four held-out suites, never trained on:

  cluster    benchmark                       shots  scored by
  mmlu       MMLU, 57 subjects (Hendrycks     5      rank classification over A/B/C/D
             et al. 2021), direct                    (Hendrycks et al. compare the four
                                                      answer letters' likelihoods)
  mmlu_cot   MMLU with chain-of-thought       5      generation; the answer after "the
                                                      answer is", accuracy
  bbh        BIG-Bench Hard, 27 tasks         3      generation, exact string match (the
             (Suzgun et al. 2022), direct            answer-only prompt of Suzgun et al.)
  bbh_cot    BBH with chain-of-thought        3      generation; answer after "the answer is"
  tydiqa     TyDiQA GoldP (Clark et al.       1      generation, SQuAD-normalised exact match
             2020), 8 languages                      (Flan-PaLM averages the 8 non-English;
                                                      English is cluster `tydiqa_en`)
  mgsm       MGSM (Shi et al. 2022),          8      chain-of-thought generation; the last
             11 languages                            number of the answer (`numeric_match`)

Task names: `{benchmark}_{subject}_fs:{direct|cot}` (e.g. `mmlu_anatomy_fs:direct`,
`bbh_cot_navigate_fs:cot`, `tydiqa_sw_fs:direct`, `mgsm_de_fs:cot`); the `_zs:` variants lay
the query out the same way with no exemplars. Evaluate a suite with
`EVAL_ON=mmlu,mmlu_cot,bbh,bbh_cot,tydiqa,mgsm EVAL_FORMAT=fs` (flanjax/configs/runs/
eval_flan2022.gin); these entries register no training tasks.

Where the data and exemplars come from (nothing is downloaded by flanjax; each source is
opened only when its tasks run, and a missing one fails naming the variable to set):

  MMLU      env FLANJAX_MMLU_DIR: the original release (`data.tar` of
            hendrycks/test), `{dev,val,test}/{subject}_{split}.csv`; test is evaluated and
            the 5 dev rows of the subject are the exemplars, as Hendrycks et al. and Flan.
            Unset: Hugging Face `cais/mmlu` (same splits) through `datasets`.
  MMLU-CoT  env FLANJAX_MMLU_COT_PROMPTS: the Flan 2022 authors' `mmlu-cot.json`
            ({subject: prompt text}, 5 worked "Q: ... A: Let's think step by step. ..."
            exemplars per subject after a one-line header).
  BBH       env FLANJAX_BBH_DIR: a copy of the BIG-Bench-Hard repository (Suzgun et al.):
            `bbh/{task}.json` ({"examples": [{"input", "target"}]}) and
            `cot-prompts/{task}.txt` (task description, then 3 "Q: ... A: Let's think step
            by step. ... So the answer is X." exemplars). Direct prompting uses the same
            three exemplars with the answer alone, as the paper's answer-only prompts.
  TyDiQA    TFDS `tydi_qa/goldp` (splits validation-{lang}); the exemplar is the first
            train example of the language, or the row of that language in the JSON-lines
            file env FLANJAX_TYDIQA_EXEMPLARS ({language, title, context, question,
            answer}) when set.
  MGSM      Hugging Face `juletxara/mgsm` (config = language; test = 250 problems, train =
            the 8 native chain-of-thought exemplars of Shi et al.), or env FLANJAX_MGSM_DIR
            with `{lang}/train.jsonl` and `{lang}/test.jsonl` of the same rows (e.g.
            written by `datasets`' `to_json`).

Prompt wording is ours where the papers' exact strings are not what is being reproduced
(TyDiQA's Q/A layout); MMLU's "The following are multiple choice questions (with answers)
about {subject}." header and "Answer:" layout are Hendrycks et al.'s format, a fact about
the benchmark.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import io
import json
import os
import re
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

import tensorflow as tf

from flanjax.data import sources
from flanjax.data import templates as templates_lib
from flanjax.data.catalog.entry import CatalogEntry, Example, Fields, FixedShots, PromptLayout
from flanjax.data.catalog import mgsm_release
from flanjax.data.catalog.registry import register_entry
from flanjax.data.formats import ZERO_SHOT_COT_TRIGGER, extract_cot_answer
from flanjax.data import locations

COLLECTION = "flan2022_eval"

MMLU_DIR_ENV = "FLANJAX_MMLU_DIR"
MMLU_COT_PROMPTS_ENV = "FLANJAX_MMLU_COT_PROMPTS"
BBH_DIR_ENV = "FLANJAX_BBH_DIR"
TYDIQA_EXEMPLARS_ENV = "FLANJAX_TYDIQA_EXEMPLARS"
MGSM_DIR_ENV = "FLANJAX_MGSM_DIR"

# The 57 subjects of MMLU (Hendrycks et al. 2021), as the release names its files.
MMLU_SUBJECTS = (
    "abstract_algebra", "anatomy", "astronomy", "business_ethics", "clinical_knowledge",
    "college_biology", "college_chemistry", "college_computer_science",
    "college_mathematics", "college_medicine", "college_physics", "computer_security",
    "conceptual_physics", "econometrics", "electrical_engineering",
    "elementary_mathematics", "formal_logic", "global_facts", "high_school_biology",
    "high_school_chemistry", "high_school_computer_science",
    "high_school_european_history", "high_school_geography",
    "high_school_government_and_politics", "high_school_macroeconomics",
    "high_school_mathematics", "high_school_microeconomics", "high_school_physics",
    "high_school_psychology", "high_school_statistics", "high_school_us_history",
    "high_school_world_history", "human_aging", "human_sexuality", "international_law",
    "jurisprudence", "logical_fallacies", "machine_learning", "management", "marketing",
    "medical_genetics", "miscellaneous", "moral_disputes", "moral_scenarios", "nutrition",
    "philosophy", "prehistory", "professional_accounting", "professional_law",
    "professional_medicine", "professional_psychology", "public_relations",
    "security_studies", "sociology", "us_foreign_policy", "virology", "world_religions",
)

# The 27 tasks of BIG-Bench Hard (Suzgun et al. 2022), as the repository names its files.
BBH_TASKS = (
    "boolean_expressions", "causal_judgement", "date_understanding", "disambiguation_qa",
    "dyck_languages", "formal_fallacies", "geometric_shapes", "hyperbaton",
    "logical_deduction_five_objects", "logical_deduction_seven_objects",
    "logical_deduction_three_objects", "movie_recommendation", "multistep_arithmetic_two",
    "navigate", "object_counting", "penguins_in_a_table", "reasoning_about_colored_objects",
    "ruin_names", "salient_translation_error_detection", "snarks", "sports_understanding",
    "temporal_sequences", "tracking_shuffled_objects_five_objects",
    "tracking_shuffled_objects_seven_objects", "tracking_shuffled_objects_three_objects",
    "web_of_lies", "word_sorting",
)

# TyDiQA GoldP languages (TFDS `tydi_qa` split suffixes and the language names that prefix
# example ids). Flan-PaLM reports the mean over the eight non-English languages.
TYDIQA_LANGUAGES = {
    "ar": "arabic", "bn": "bengali", "fi": "finnish", "id": "indonesian", "ko": "korean",
    "ru": "russian", "sw": "swahili", "te": "telugu",
}
TYDIQA_ENGLISH = {"en": "english"}
TYDIQA_TFDS = "tydi_qa/goldp:3.0.0"

# MGSM's 11 languages (Shi et al. 2022).
MGSM_LANGUAGES = ("bn", "de", "en", "es", "fr", "ja", "ru", "sw", "te", "th", "zh")
MGSM_HF_PATH = "juletxara/mgsm"

LETTERS = ("A", "B", "C", "D")

# Layouts. Direct MMLU is Hendrycks et al.'s: header, then "question\nA. ..\nAnswer: X".
_MMLU_LAYOUT = PromptLayout(x_y_delimiter="\nAnswer: ", separator="\n\n")
# Chain-of-thought prompts (BBH, MMLU-CoT) are "Q: ...\nA: Let's think step by step. ...".
_COT_LAYOUT = PromptLayout(
    inputs_prefix="Q: ", x_y_delimiter="\n", targets_prefix=f"A: {ZERO_SHOT_COT_TRIGGER} ",
    separator="\n\n",
)
_QA_LAYOUT = PromptLayout(inputs_prefix="Q: ", x_y_delimiter="\n", targets_prefix="A: ",
                          separator="\n\n")
_TYDIQA_LAYOUT = PromptLayout(x_y_delimiter="\n", targets_prefix="A: ", separator="\n\n")


class BenchmarkDataError(FileNotFoundError):
    """A benchmark's data or exemplar file is missing or malformed."""


def _env_path(setting: str, what: str) -> str:
    path = locations.get(setting)
    if not path:
        raise BenchmarkDataError(
            f"{what} needs {locations.describe(setting)}: point it at the files described in "
            "flanjax/data/catalog/flan2022_eval.py (flanjax downloads nothing)."
        )
    return path


def _check_exists(path: str, what: str) -> None:
    if not tf.io.gfile.exists(path):
        raise BenchmarkDataError(f"{what}: {path} does not exist.")


def _read_text(path: str, what: str) -> str:
    _check_exists(path, what)
    with tf.io.gfile.GFile(path) as f:
        return f.read()


def _subject_words(name: str) -> str:
    return name.replace("_", " ")


# -- prompt files ----------------------------------------------------------------------

_CANARY = re.compile(r"^(-{3,}|.*canary.*|BENCHMARK DATA SHOULD NEVER.*)$", re.IGNORECASE)
_Q_START = re.compile(r"(?:^|\n\s*\n)Q:[ \t]*")
_A_START = re.compile(r"\nA:[ \t]*")


def parse_qa_prompt(text: str, origin: str) -> tuple[str, list[tuple[str, str]]]:
    """A published few-shot prompt -> (header, [(question, answer), ...]).

    The prompt is an optional header (a task description) then blocks "Q: question\\nA:
    answer" separated by blank lines, as the BBH `cot-prompts/*.txt` files and Flan's
    `mmlu-cot.json` values are. Canary lines at the top are dropped.
    """
    lines = text.replace("\r\n", "\n").split("\n")
    while lines and (not lines[0].strip() or _CANARY.match(lines[0].strip())):
        lines.pop(0)
    text = "\n".join(lines).strip()
    starts = list(_Q_START.finditer(text))
    if not starts:
        raise BenchmarkDataError(f"{origin}: no 'Q: ... A: ...' exemplar found in the prompt.")
    header = text[: starts[0].start()].strip()
    shots = []
    for i, m in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
        block = text[m.end() : end]
        a = _A_START.search(block)
        if a is None:
            raise BenchmarkDataError(
                f"{origin}: exemplar {i + 1} has a 'Q:' but no '\\nA:' line: {block[:120]!r}"
            )
        shots.append((block[: a.start()].strip(), block[a.end() :].strip()))
    return header, shots


def _strip_trigger(answer: str) -> str:
    """The worked answer without the leading "Let's think step by step." (the layout's)."""
    if answer.startswith(ZERO_SHOT_COT_TRIGGER):
        return answer[len(ZERO_SHOT_COT_TRIGGER) :].strip()
    return answer


def _cot_shots(header: str, shots: Sequence[tuple[str, str]], origin: str, *, cot: bool) -> FixedShots:
    """Verbatim exemplars: with their reasoning (CoT) or the final answer alone (direct)."""
    out = []
    for question, answer in shots:
        if cot:
            out.append(templates_lib.Rendered(question, _strip_trigger(answer)))
        else:
            out.append(templates_lib.Rendered(question, extract_cot_answer(answer)))
    return FixedShots(tuple(out), header=header, origin=origin)


# -- MMLU ------------------------------------------------------------------------------

MMLU_FIELDS = ("subject", "question", "a", "b", "c", "d", "options", "answer", "answers")


def _mmlu_csv_rows(data_dir: str, subject: str, split: str) -> Iterable[Mapping[str, Any]]:
    """Rows of the original release: header-less CSV `question,A,B,C,D,answer-letter`."""
    path = _mmlu_csv_path(data_dir, subject, split)
    text = _read_text(path, f"MMLU {subject} ({split})")
    for i, row in enumerate(csv.reader(io.StringIO(text))):
        if not row:
            continue
        if len(row) != 6:
            raise BenchmarkDataError(f"{path}, row {i + 1}: expected 6 columns, got {len(row)}.")
        yield {"question": row[0], "choices": row[1:5], "answer": row[5], "subject": subject}


def _mmlu_rows(subject: str, split: str) -> Iterable[Mapping[str, Any]]:
    # Decided when the data is read, so the variable can be set after import.
    data_dir = locations.get("MMLU_DIR")
    if data_dir:
        return _mmlu_csv_rows(data_dir, subject, split)
    return sources.HfSource("cais/mmlu", subject, dict(_MMLU_SPLITS))._rows(split)


_MMLU_SPLITS = {"test": "test", "validation": "validation", "dev": "dev"}


def _mmlu_csv_path(data_dir: str, subject: str, split: str) -> str:
    folder = {"test": "test", "validation": "val", "dev": "dev"}[split]
    return os.path.join(data_dir, folder, f"{subject}_{folder}.csv")


def _mmlu_check(subject: str, split: str) -> None:
    data_dir = locations.get("MMLU_DIR")
    if data_dir:
        _check_exists(_mmlu_csv_path(data_dir, subject, split), f"MMLU {subject} ({split})")


def mmlu_source(subject: str) -> sources.Source:
    """The original CSV release under FLANJAX_MMLU_DIR, else `cais/mmlu` on the HF hub."""
    return sources.FunctionSource(
        rows=functools.partial(_mmlu_rows, subject), splits=dict(_MMLU_SPLITS),
        name=f"mmlu:{subject}", check=functools.partial(_mmlu_check, subject),
    )


def preprocess_mmlu(raw: Example) -> Optional[Fields]:
    """An MMLU row (CSV: answer letter; `cais/mmlu`: answer index) -> fields."""
    choices = [str(c).strip() for c in raw.get("choices") or ()]
    answer = raw.get("answer")
    if len(choices) != 4 or answer is None or str(answer).strip() == "":
        return None
    letter = LETTERS[int(answer)] if str(answer).strip().isdigit() else str(answer).strip().upper()
    if letter not in LETTERS:
        return None
    return {
        "subject": _subject_words(str(raw.get("subject") or "")),
        "question": str(raw["question"]).strip(),
        "a": choices[0], "b": choices[1], "c": choices[2], "d": choices[3],
        "options": list(LETTERS),
        "answer": letter,
        # A chain-of-thought answer is written "(B)"; the bare letter counts as well.
        "answers": [letter, f"({letter})"],
    }


def _mmlu_dev_shots(subject: str) -> FixedShots:
    rows = []
    for raw in _mmlu_rows(subject, "dev"):  # plain Python: errors are not wrapped by tf.data
        fields = preprocess_mmlu(sources.decode_example(raw))
        if fields is not None:
            rows.append(fields)
    data_dir = locations.get("MMLU_DIR")
    origin = os.path.join(data_dir, "dev", f"{subject}_dev.csv") if data_dir else f"cais/mmlu {subject} dev"
    return FixedShots(tuple(rows), origin=origin)


def _mmlu_cot_shots(subject: str) -> FixedShots:
    path = _env_path("MMLU_COT_PROMPTS", "MMLU chain-of-thought")
    prompts = json.loads(_read_text(path, "MMLU chain-of-thought prompts"))
    if subject not in prompts:
        raise BenchmarkDataError(f"{path} has no prompt for MMLU subject {subject!r}.")
    header, shots = parse_qa_prompt(prompts[subject], f"{path}[{subject}]")
    return _cot_shots(header, shots, f"{path}[{subject}]", cot=True)


def mmlu_entry(subject: str, *, cot: bool) -> CatalogEntry:
    name = f"mmlu_cot_{subject}" if cot else f"mmlu_{subject}"
    header = f"The following are multiple choice questions (with answers) about {_subject_words(subject)}."
    if cot:
        # Flan's CoT prompts list the options on one line: "(A) x (B) y (C) z (D) w".
        pattern = ("{question}\n(A) {a} (B) {b} (C) {c} (D) {d}", "({answer})")
        layout = dataclasses.replace(_COT_LAYOUT, header=header)
    else:
        pattern = ("{question}\nA. {a}\nB. {b}\nC. {c}\nD. {d}", "{answer}")
        layout = dataclasses.replace(_MMLU_LAYOUT, header=header)
    template = templates_lib.FlanTemplate(f"{name}:{'cot' if cot else 'direct'}", *pattern)
    return CatalogEntry(
        name=name,
        collection=COLLECTION,
        cluster="mmlu_cot" if cot else "mmlu",
        source=mmlu_source(subject),
        preprocess=preprocess_mmlu,
        fields=MMLU_FIELDS,
        templates=(template,),
        metric="accuracy",
        eval_mode="generate" if cot else "rank",
        paper_dataset="MMLU",
        cot_answers=cot,
        train_split="dev",
        eval_split="test",
        has_options=not cot,
        fixed_shots=functools.partial(_mmlu_cot_shots if cot else _mmlu_dev_shots, subject),
        num_shots=5,
        layout=layout,
        eval_only=True,
        description=(
            f"MMLU {_subject_words(subject)} (Hendrycks et al. 2021), 5-shot "
            + ("chain-of-thought with Flan's mmlu-cot.json prompt" if cot else
               "direct, exemplars = the subject's dev split, rank classification over A-D")
        ),
    )




# -- BIG-Bench Hard --------------------------------------------------------------------

BBH_FIELDS = ("input", "answer")


def _bbh_path(task: str) -> str:
    return os.path.join(_env_path("BBH_DIR", f"BBH {task}"), "bbh", f"{task}.json")


def _bbh_check(task: str, split: str) -> None:
    del split
    _check_exists(_bbh_path(task), f"BBH {task}")


def _bbh_rows(task: str, split: str) -> Iterable[Mapping[str, Any]]:
    del split  # BBH has one split: every example is evaluated.
    path = _bbh_path(task)
    data = json.loads(_read_text(path, f"BBH {task}"))
    examples = data.get("examples") if isinstance(data, Mapping) else None
    if not examples:
        raise BenchmarkDataError(f"{path}: expected {{'examples': [{{'input', 'target'}}, ...]}}.")
    yield from examples


def preprocess_bbh(raw: Example) -> Optional[Fields]:
    question, answer = str(raw.get("input") or "").strip(), str(raw.get("target") or "").strip()
    if not question or not answer:
        return None
    return {"input": question, "answer": answer}


def _bbh_shots(task: str, *, cot: bool) -> FixedShots:
    path = os.path.join(_env_path("BBH_DIR", f"BBH {task}"), "cot-prompts", f"{task}.txt")
    header, shots = parse_qa_prompt(_read_text(path, f"BBH {task} prompt"), path)
    return _cot_shots(header, shots, path, cot=cot)


def bbh_entry(task: str, *, cot: bool) -> CatalogEntry:
    name = f"bbh_cot_{task}" if cot else f"bbh_{task}"
    return CatalogEntry(
        name=name,
        collection=COLLECTION,
        cluster="bbh_cot" if cot else "bbh",
        source=sources.FunctionSource(
            rows=functools.partial(_bbh_rows, task), splits={"test": "test"}, name=f"bbh:{task}",
            check=functools.partial(_bbh_check, task),
        ),
        preprocess=preprocess_bbh,
        fields=BBH_FIELDS,
        templates=(templates_lib.FlanTemplate(f"{name}:{'cot' if cot else 'direct'}", "{input}", "{answer}"),),
        # Suzgun et al. 2022 score the generated answer by exact string match.
        metric="accuracy",
        eval_mode="generate",
        paper_dataset="BBH",
        train_split="cot-prompts",  # the exemplars' file, not a data split
        eval_split="test",
        fixed_shots=functools.partial(_bbh_shots, task, cot=cot),
        num_shots=3,
        layout=_COT_LAYOUT if cot else _QA_LAYOUT,
        eval_only=True,
        cot_answers=cot,
        description=(
            f"BIG-Bench Hard {task} (Suzgun et al. 2022), 3-shot "
            + ("chain-of-thought" if cot else "answer-only") + " with the paper's exemplars"
        ),
    )


# -- TyDiQA GoldP ----------------------------------------------------------------------

TYDIQA_FIELDS = ("title", "context", "question", "answer", "answers")


def preprocess_tydiqa(raw: Example) -> Optional[Fields]:
    answers = [str(a).strip() for a in (raw.get("answers") or {}).get("text") or () if str(a).strip()]
    question, context = str(raw.get("question") or "").strip(), str(raw.get("context") or "").strip()
    if not (answers and question and context):
        return None
    return {
        "title": str(raw.get("title") or "").strip(),
        "context": context,
        "question": question,
        "answer": answers[0],
        "answers": answers,
    }


def _tydiqa_shots(lang: str, language: str, source: sources.Source) -> FixedShots:
    path = locations.get("TYDIQA_EXEMPLARS")
    if path:
        for line in _read_text(path, "TyDiQA exemplars").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            if row.get("language") in (lang, language):
                fields = {k: str(row.get(k) or "") for k in ("title", "context", "question", "answer")}
                fields["answers"] = [fields["answer"]]
                return FixedShots((fields,), origin=f"{path} ({language})")
        raise BenchmarkDataError(f"{path} has no TyDiQA exemplar with language {lang!r}.")
    ds = source.to_seqio().get_dataset("train", shuffle=False)
    for raw in ds.as_numpy_iterator():
        row = sources.decode_example(raw)
        if str(row.get("id", "")).startswith(f"{language}-"):
            fields = preprocess_tydiqa(row)
            if fields is not None:
                return FixedShots((fields,), origin=f"{TYDIQA_TFDS} train ({language})")
    raise BenchmarkDataError(
        f"TyDiQA: the {TYDIQA_TFDS} train split has no {language} example; set "
        f"{TYDIQA_EXEMPLARS_ENV} to a JSON-lines exemplar file."
    )


def tydiqa_entry(lang: str, language: str) -> CatalogEntry:
    name = f"tydiqa_{lang}"
    source = sources.TfdsSource(TYDIQA_TFDS, {"train": "train", "validation": f"validation-{lang}"})
    return CatalogEntry(
        name=name,
        collection=COLLECTION,
        cluster="tydiqa" if lang in TYDIQA_LANGUAGES else "tydiqa_en",
        source=source,
        preprocess=preprocess_tydiqa,
        fields=TYDIQA_FIELDS,
        templates=(templates_lib.FlanTemplate(f"{name}:direct", "{context}\n\nQ: {question}", "{answer}"),),
        metric="exact_match",
        eval_mode="generate",
        paper_dataset="TyDiQA",
        train_split="train",
        eval_split="validation",
        fixed_shots=functools.partial(_tydiqa_shots, lang, language, source),
        num_shots=1,
        layout=_TYDIQA_LAYOUT,
        eval_only=True,
        description=f"TyDiQA GoldP {language} (Clark et al. 2020), 1-shot, exact match",
    )


# -- MGSM ------------------------------------------------------------------------------

MGSM_FIELDS = ("question", "answer")
# A native prefix as url-nlp's `mgsm/exemplars.py` writes it, colon and the space after it
# included: "Question: ", French "Question : ", Japanese "問題：" and Chinese "问题：" (full-width
# colon, no space).
_PREFIX = re.compile(r"^[^:：\n]{1,40}[:：][ \t]*")


def _mgsm_local(lang: str, split: str) -> Optional[sources.JsonlSource]:
    data_dir = locations.get("MGSM_DIR")
    if not data_dir:
        return None
    return sources.JsonlSource(files={split: os.path.join(data_dir, lang, f"{split}.jsonl")})


def _mgsm_release() -> Optional[str]:
    data_dir = locations.get("MGSM_DIR")
    return mgsm_release.release_dir(data_dir) if data_dir else None


def _mgsm_check(lang: str, split: str) -> None:
    release = _mgsm_release()
    if release is not None:
        mgsm_release.check(release, lang, split)
        return
    local = _mgsm_local(lang, split)
    if local is not None:
        local.paths(split)


def _mgsm_rows(lang: str, split: str) -> Iterable[Mapping[str, Any]]:
    release = _mgsm_release()
    if release is not None:  # url-nlp's mgsm/ as released: mgsm_{lang}.tsv + exemplars.py
        return mgsm_release.rows(release, lang, split)
    local = _mgsm_local(lang, split)
    if local is not None:
        return local._rows(split)  # pylint: disable=protected-access
    return sources.HfSource(MGSM_HF_PATH, lang, {"train": "train", "test": "test"})._rows(split)


def mgsm_source(lang: str) -> sources.Source:
    """`{lang}/{split}.jsonl` under FLANJAX_MGSM_DIR, else `juletxara/mgsm` on the HF hub."""
    return sources.FunctionSource(
        rows=functools.partial(_mgsm_rows, lang), splits={"train": "train", "test": "test"},
        name=f"mgsm:{lang}", check=functools.partial(_mgsm_check, lang),
    )


def preprocess_mgsm(raw: Example) -> Optional[Fields]:
    question, number = str(raw.get("question") or "").strip(), raw.get("answer_number")
    if not question or number is None or str(number).strip() == "":
        return None
    return {"question": question, "answer": str(number).strip()}


def _split_prefix(text: str, default: str) -> tuple[str, str]:
    """("Frage: ", "...") from "Frage: ...", ("問題：", "...") from "問題：..."; the prefix as
    written; (default, text) when there is no short prefix."""
    m = _PREFIX.match(text)
    return (m.group(0), text[m.end() :].strip()) if m else (default, text.strip())


def _mgsm_shots(lang: str) -> FixedShots:
    """The 8 native exemplars: "Question: ..." / "Step-by-Step Answer: ... The answer is N."

    Their (localized) prefixes become the layout, so the query is asked the same way.
    """
    _mgsm_check(lang, "train")
    shots, q_prefix, a_prefix = [], "Question: ", "Step-by-Step Answer: "
    for row in _mgsm_rows(lang, "train"):  # plain Python: errors are not wrapped by tf.data
        row = sources.to_python(dict(row))
        if not row.get("answer"):
            raise BenchmarkDataError(f"MGSM {lang} exemplar without a worked answer: {row}")
        q_prefix, question = _split_prefix(str(row["question"]), q_prefix)
        a_prefix, answer = _split_prefix(str(row["answer"]), a_prefix)
        shots.append(templates_lib.Rendered(question, answer))
    layout = PromptLayout(inputs_prefix=q_prefix, x_y_delimiter="\n",
                          targets_prefix=a_prefix, separator="\n\n")
    data_dir, release = locations.get("MGSM_DIR"), _mgsm_release()
    origin = (os.path.join(release, mgsm_release.EXEMPLARS_FILE) if release
              else os.path.join(data_dir, lang, "train.jsonl") if data_dir
              else f"{MGSM_HF_PATH} {lang} train")
    return FixedShots(tuple(shots), origin=origin,
                      layout=layout)


def mgsm_entry(lang: str) -> CatalogEntry:
    name = f"mgsm_{lang}"
    return CatalogEntry(
        name=name,
        collection=COLLECTION,
        cluster="mgsm",
        source=mgsm_source(lang),
        preprocess=preprocess_mgsm,
        fields=MGSM_FIELDS,
        templates=(templates_lib.FlanTemplate(f"{name}:cot", "{question}", "{answer}"),),
        metric="numeric_match",
        eval_mode="generate",
        paper_dataset="MGSM",
        train_split="train",
        eval_split="test",
        fixed_shots=functools.partial(_mgsm_shots, lang),
        num_shots=8,
        layout=PromptLayout(inputs_prefix="Question: ", x_y_delimiter="\n",
                            targets_prefix="Step-by-Step Answer: ", separator="\n\n"),
        eval_only=True,
        cot_answers=True,
        description=f"MGSM {lang} (Shi et al. 2022), 8-shot chain-of-thought, native exemplars",
    )


# -- registration ----------------------------------------------------------------------


def entries() -> list[CatalogEntry]:
    out = [mmlu_entry(s, cot=False) for s in MMLU_SUBJECTS]
    out += [mmlu_entry(s, cot=True) for s in MMLU_SUBJECTS]
    out += [bbh_entry(t, cot=False) for t in BBH_TASKS]
    out += [bbh_entry(t, cot=True) for t in BBH_TASKS]
    out += [tydiqa_entry(k, v) for k, v in {**TYDIQA_LANGUAGES, **TYDIQA_ENGLISH}.items()]
    out += [mgsm_entry(lang) for lang in MGSM_LANGUAGES]
    return out


ENTRIES = entries()
for _entry in ENTRIES:
    register_entry(_entry)
