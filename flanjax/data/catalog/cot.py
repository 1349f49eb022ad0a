"""Flan 2022 chain-of-thought (CoT) training data: nine datasets with rationales.

Chung et al. 2022 ("Scaling Instruction-Finetuned Language Models", Section 2 and Appendix
F) and Longpre et al. 2023 ("The Flan Collection") train on nine CoT datasets: AQuA,
CREAK, ECQA, e-SNLI, GSM8K, QASC, QED, Sen-Making and StrategyQA. The FLAN repository ships
them as headerless TSV files `flan/v2/cot_data/{name}_train.tsv` with three columns:

    question <TAB> answer <TAB> rationale

Multiple-choice datasets (aqua, creak, ecqa, esnli, qasc, sensemaking) already spell their
options inside the question ("...\\nOptions:\\n- yes\\n- no"), and newlines inside a cell
are written as the two characters backslash + n (FLAN `preprocessors.simple_cot_tsv`
unescapes them; so does `preprocess_tsv` here). FLAN labels aqua and qed "stream" (noisier
stream-of-consciousness rationales) and the others "cot" (`flan/v2/task_configs.py`).

Where the data comes from: copy the FLAN repository's `flan/v2/cot_data/` folder to a
directory or bucket and point env `FLANJAX_COT_DATA_DIR` at it (or call
`entries(data_dir=...)`). The files are only opened when a dataset is asked for.

Targets: the templates here target only `{answer}`; the chain-of-thought target
"{rationale} So the answer is {answer}." is built by `flanjax.data.formats.cot_target` from
the entry's `rationale_field`, so one set of templates serves zero-shot, few-shot and CoT
formats.

With FLAN_SOURCE_DIR (a google-research/FLAN checkout) the entries read v2's fields
(`V2_FIELDS`, as `preprocessors.simple_cot_tsv`) and train Flan 2022 on v2's templates of
`flan/v2/templates.py`: PATTERNS / FEWSHOT_PATTERNS "{cot|stream}_{dataset}" (whose targets
write the rationale themselves) and "{cot|stream}_input_inversion_{dataset}" for `*_inv` and
`*_fs_inv` (`flanjax.data.templates.flan_v2`, `tasks.format_view`). `cot_gsm8k_tfds` keeps
the own templates.

GSM8K is also on TFDS (`gsm8k`, with a test split); `cot_gsm8k_tfds` reads it. It is in
collection `cot_tfds`, not `cot`, so the `cot` mixture counts GSM8K once (from the TSV).
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Optional

from flanjax.data import sources
from flanjax.data import templates as templates_lib
from flanjax.data.catalog.entry import CatalogEntry, Example, Fields
from flanjax.data.catalog.registry import register_entry
from flanjax.data.templates import flan_v2
from flanjax.data import locations

COLLECTION = "cot"
CLUSTER = "cot"
DATA_DIR_ENV = "FLANJAX_COT_DATA_DIR"
# Placeholder: users copy FLAN's `flan/v2/cot_data/` there or set FLANJAX_COT_DATA_DIR.
DEFAULT_DATA_DIR = "gs://YOUR_BUCKET/flan/v2/cot_data"

# Column order of FLAN's cot_data TSV files (`simple_cot_tsv` reads cells 0, 1, 2).
TSV_COLUMNS = ("question", "answer", "rationale")
FIELDS = ("question", "answer", "rationale")

# (dataset, FLAN annotation type, training rows) from `flan/v2/task_configs.py`.
DATASETS = (
    ("aqua", "stream", 2728),
    ("creak", "cot", 6915),
    ("ecqa", "cot", 7112),
    ("esnli", "cot", 36174),
    ("gsm8k", "cot", 7473),
    ("qasc", "cot", 1084),
    ("qed", "stream", 5154),
    ("sensemaking", "cot", 6070),
    ("strategyqa", "cot", 2061),
)

_PAPER_NAMES = {
    "aqua": "AQuA",
    "creak": "CREAK",
    "ecqa": "ECQA",
    "esnli": "e-SNLI",
    "gsm8k": "GSM8K",
    "qasc": "QASC",
    "qed": "QED",
    "sensemaking": "Sen-Making",
    "strategyqa": "StrategyQA",
}

# Our own wording, in FLAN's CoT-template conventions (`flan/v2/templates.py`, "cot_*"):
# the question first or after a short lead-in, sometimes a reasoning cue at the end. The
# target is the bare answer; formats.cot_target prepends the rationale.
PATTERNS: dict[str, list[tuple[str, str]]] = {
    "aqua": [
        ("{question}\nWork it out, then pick an option.", "{answer}"),
        ("Math problem: {question}\nShow your thinking first.", "{answer}"),
        ("Solve the following multiple-choice problem. {question}", "{answer}"),
        ("{question} Jot down some quick thoughts before choosing:", "{answer}"),
        ("Q: {question}\nWhich option is right? Think it through.", "{answer}"),
    ],
    "creak": [
        ("{question}\nExplain your reasoning, then answer.", "{answer}"),
        ("Think about this claim carefully. {question}", "{answer}"),
        ("{question} Reason it out before you reply:", "{answer}"),
        ("Here is a question about a claim: {question}\nYour reasoning:", "{answer}"),
        ("Q: {question}\nLet's check this step by step.", "{answer}"),
    ],
    "ecqa": [
        ("{question}\nPick the best option and explain why.", "{answer}"),
        ("Use common sense to answer. {question}", "{answer}"),
        ("{question} Reason about each option first:", "{answer}"),
        ("Question: {question}\nThink before you choose.", "{answer}"),
        ("Answer this commonsense question with an explanation. {question}", "{answer}"),
    ],
    "esnli": [
        ("{question}\nExplain, then answer.", "{answer}"),
        ("Decide whether the hypothesis follows. {question}", "{answer}"),
        ("{question} Let's reason about the premise first:", "{answer}"),
        ("Natural language inference: {question}\nYour reasoning:", "{answer}"),
        ("Q: {question}\nThink it over step by step.", "{answer}"),
    ],
    "gsm8k": [
        ("{question}\nSolve it step by step.", "{answer}"),
        ("Word problem: {question}\nShow your work.", "{answer}"),
        ("{question} Work through the arithmetic before answering:", "{answer}"),
        ("Answer the math question, explaining each step. {question}", "{answer}"),
        ("Q: {question}\nLet's calculate carefully.", "{answer}"),
    ],
    "qasc": [
        ("{question}\nCombine two facts to find the answer.", "{answer}"),
        ("Science question: {question}\nExplain your choice.", "{answer}"),
        ("{question} Think about what you know first:", "{answer}"),
        ("Pick the correct option, giving your reasons. {question}", "{answer}"),
        ("Q: {question}\nReason step by step.", "{answer}"),
    ],
    "qed": [
        ("{question}\nFind the answer in the passage and explain.", "{answer}"),
        ("Read carefully, then answer. {question}", "{answer}"),
        ("{question} Some quick thoughts first:", "{answer}"),
        ("Answer using the text, and say how you got there. {question}", "{answer}"),
        ("Q: {question}\nLet's think about the passage.", "{answer}"),
    ],
    "sensemaking": [
        ("{question}\nExplain which one is wrong, then answer.", "{answer}"),
        ("Test your common sense. {question}", "{answer}"),
        ("{question} Think about each sentence first:", "{answer}"),
        ("Common sense check: {question}\nYour reasoning:", "{answer}"),
        ("Q: {question}\nReason it out.", "{answer}"),
    ],
    "strategyqa": [
        ("{question}\nThink it through before answering yes or no.", "{answer}"),
        ("Answer with reasoning: {question}", "{answer}"),
        ("{question} Break the question into steps first:", "{answer}"),
        ("Here is a yes/no question that needs several facts. {question}", "{answer}"),
        ("Q: {question}\nLet's reason step by step.", "{answer}"),
    ],
}
PATTERNS["gsm8k_tfds"] = PATTERNS["gsm8k"]


def _unescape(text: str) -> str:
    """FLAN's TSV cells write newlines as backslash + n (`simple_cot_tsv`)."""
    return text.replace("\\n", "\n").strip()


# With FLAN_SOURCE_DIR, v2's templates (`flan/v2/templates.py` "cot_*" / "stream_*") read the
# fields of v2's `preprocessors.simple_cot_tsv`.
V2_FIELDS = ("question", "answer", "chain_of_thought")


def preprocess_tsv_v2(raw: Example) -> Optional[Fields]:
    """A FLAN cot_data TSV row as v2's `simple_cot_tsv` gives it: question and chain_of_thought
    with backslash + n turned into newlines, the answer as it is; nothing stripped."""
    cells = [raw.get(name) for name in TSV_COLUMNS]
    if any(cell is None for cell in cells):
        return None  # a row without three cells (v2 fails on it)
    question, answer, rationale = (str(c) for c in cells)
    return {"question": question.replace("\\n", "\n"), "answer": answer,
            "chain_of_thought": rationale.replace("\\n", "\n")}


def preprocess_tsv(raw: Example) -> Optional[Fields]:
    """A FLAN cot_data TSV row -> {question, answer, rationale}; None if a cell is empty."""
    fields = {name: _unescape(str(raw.get(name) or "")) for name in TSV_COLUMNS}
    if not all(fields.values()):
        return None
    return fields


# GSM8K's calculator annotations, e.g. "48/2 = <<48/2=24>>24" (Cobbe et al. 2021). FLAN's
# TSV rationales have them removed and lines joined by spaces.
_CALC = re.compile(r"<<[^>]*>>")


def preprocess_gsm8k_tfds(raw: Example) -> Optional[Fields]:
    """TFDS `gsm8k` -> {question, answer, rationale}.

    TFDS splits `answer` ("steps\\n#### 72") into `annotation` (the steps) and
    `short_answer` ("72"); the steps lose their calculator annotations and are joined into
    one line, as in FLAN's `gsm8k_train.tsv`.
    """
    steps = _CALC.sub("", str(raw.get("annotation") or ""))
    rationale = " ".join(line.strip() for line in steps.splitlines() if line.strip())
    answer = str(raw.get("short_answer") or "").strip()
    question = str(raw.get("question") or "").strip()
    if not (question and answer and rationale):
        return None
    return {"question": question, "answer": answer, "rationale": rationale}


def default_data_dir() -> str:
    return locations.get("COT_DATA_DIR") or DEFAULT_DATA_DIR


def tsv_entry(dataset: str, data_dir: Optional[str] = None) -> CatalogEntry:
    """The `cot_{dataset}` entry reading `{data_dir}/{dataset}_train.tsv`."""
    kinds = {name: (kind, rows) for name, kind, rows in DATASETS}
    kind, rows = kinds[dataset]
    path = os.path.join(data_dir or default_data_dir(), f"{dataset}_train.tsv")
    entry = CatalogEntry(
        name=f"cot_{dataset}",
        collection=COLLECTION,
        cluster=CLUSTER,
        source=sources.JsonlSource(files={"train": path}, columns=TSV_COLUMNS),
        preprocess=preprocess_tsv,
        fields=FIELDS,
        templates=templates_lib.from_flan_patterns({f"cot_{dataset}": PATTERNS[dataset]})[
            f"cot_{dataset}"
        ],
        metric="exact_match",
        eval_mode="generate",
        paper_dataset=_PAPER_NAMES[dataset],
        rationale_field="rationale",
        # CoT-II: Flan 2022 also trains each CoT dataset input-inverted (`flan/v2/templates.py`
        # cot_input_inversion_* / stream_input_inversion_*; `flan/v2/mixtures.py` "CoT-II").
        inversion=True,
        # FLAN ships training data only; there is no held-out split of these files.
        train_split="train",
        eval_split="train",
        description=(
            f"{_PAPER_NAMES[dataset]} with {kind} rationales, {rows} rows in FLAN's "
            f"flan/v2/cot_data/{dataset}_train.tsv (question, answer, rationale). CoT "
            "targets are built by formats.cot_target from the `rationale` field."
        ),
    )
    return _with_flan_v2(entry, f"{kind}_{dataset}", f"{kind}_input_inversion_{dataset}")


def _with_flan_v2(entry: CatalogEntry, key: str, inversion_key: str) -> CatalogEntry:
    """With FLAN_SOURCE_DIR: v2's fields (`V2_FIELDS`) and v2's templates of `key` (the
    task name in `flan/v2/task_configs.py` COT_TASK_CONFIGS, "{cot|stream}_{dataset}") and of
    `inversion_key` (COT_II_TASK_CONFIGS); the entry's own templates read the same fields."""
    v2 = flan_v2.entry_fields(entry.name, key, COLLECTION)
    if not v2:
        return entry
    v2.update(flan_v2.inversion_fields(entry.name, inversion_key, COLLECTION))
    return dataclasses.replace(entry, preprocess=preprocess_tsv_v2, fields=V2_FIELDS,
                               rationale_field="chain_of_thought", **v2)


def gsm8k_tfds_entry(data_dir: Optional[str] = None) -> CatalogEntry:
    """`cot_gsm8k_tfds`: GSM8K from TFDS, with the test split as `validation`."""
    return CatalogEntry(
        name="cot_gsm8k_tfds",
        collection="cot_tfds",
        cluster=CLUSTER,
        source=sources.TfdsSource(
            "gsm8k:1.0.0", {"train": "train", "validation": "test"}, data_dir=data_dir
        ),
        preprocess=preprocess_gsm8k_tfds,
        fields=FIELDS,
        templates=templates_lib.from_flan_patterns({"cot_gsm8k_tfds": PATTERNS["gsm8k"]})[
            "cot_gsm8k_tfds"
        ],
        metric="exact_match",
        eval_mode="generate",
        paper_dataset="GSM8K",
        rationale_field="rationale",
        description=(
            "GSM8K from TFDS (train / test), rationale = the solution steps without "
            "calculator annotations. Alternative to cot_gsm8k (FLAN's TSV); not in the "
            "`cot` collection so GSM8K is not counted twice. CoT targets are built by "
            "formats.cot_target from the `rationale` field."
        ),
    )


def entries(
    data_dir: Optional[str] = None, tfds_data_dir: Optional[str] = None
) -> list[CatalogEntry]:
    """All CoT entries, the TSV ones reading from `data_dir` (default: env / placeholder)."""
    out = [tsv_entry(name, data_dir) for name, _, _ in DATASETS]
    out.append(gsm8k_tfds_entry(tfds_data_dir))
    return out


ENTRIES = entries()
for _entry in ENTRIES:
    register_entry(_entry)
