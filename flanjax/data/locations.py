"""Where the data lives: every data location and data setting, in one table.

Each setting is a gin macro of the same name (`--gin.SNI_DIR="'/data/ni/tasks'"`), bound by
the command line (`flanjax.cli`), with an environment variable as its default
(`FLANJAX_SNI_DIR`). Library code asks `get("SNI_DIR")` when it needs the value: the value
set by `configure` (the gin macro), else the environment variable, else the table's default.
Settings read while tasks are registered (vocabularies, the demo data directory, the prompt
sources) take effect for everything `import flanjax.data.mixtures` registers after they are
set. README's "Data locations" section lists this table (a test keeps the two in step).
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from typing import Mapping, Optional


@dataclasses.dataclass(frozen=True)
class Setting:
    name: str  # the gin macro
    env: str  # the environment variable that is its default
    help: str
    default: Optional[str] = None


SETTINGS: tuple[Setting, ...] = (
    Setting("TFDS_DATA_DIR", "FLANJAX_TFDS_DATA_DIR", "TFDS data_dir of prepared datasets (local or gs://)"),
    Setting("TFDS_DOWNLOAD", "FLANJAX_TFDS_DOWNLOAD", "1: let TFDS download and prepare missing datasets", "0"),
    Setting("VOCAB", "FLANJAX_VOCAB", "vocabulary of non-demo tasks: t5, bundled or a .model path", "t5"),
    Setting("DEMO_VOCAB", "FLANJAX_DEMO_VOCAB", "vocabulary of the demo tasks (default: the bundled one)", "bundled"),
    Setting("DEMO_DATA_DIR", "FLANJAX_DEMO_DATA_DIR", "where the bundled demo datasets are built", "~/.cache/flanjax/tfds"),
    Setting("FLAN_SOURCE_DIR", "FLANJAX_FLAN_SOURCE_DIR", "a checkout of google-research/FLAN (original prompts)"),
    Setting("PROMPTSOURCE_TEMPLATES_DIR", "FLANJAX_PROMPTSOURCE_TEMPLATES_DIR", "promptsource's promptsource/templates directory"),
    Setting("SNI_DIR", "FLANJAX_SNI_DIR", "Super-NaturalInstructions task JSON files (natural-instructions/tasks), or the checkout itself (tasks/ + splits/)"),
    Setting("SNI_SPLIT", "FLANJAX_SNI_SPLIT", "an SNI split file (splits/default/train_tasks.txt)"),
    Setting("SNI_MAX_PER_TASK", "FLANJAX_SNI_MAX_PER_TASK", "instances read per SNI task (Flan 2022's cap)", "5000"),
    Setting("COT_DATA_DIR", "FLANJAX_COT_DATA_DIR", "Flan 2022 CoT TSVs (flan/v2/cot_data)"),
    Setting("FLAN2022_TASK_MASTER", "FLANJAX_FLAN2022_TASK_MASTER", "1: Task Master in Flan 2022's Dialog (Flan-T5 trained on it; flan/v2 leaves it out)", "0"),
    Setting("DIALOG_DATA_DIR", "FLANJAX_DIALOG_DATA_DIR", "dialog JSONL files (Taskmaster)"),
    Setting("STORY_CLOZE_DIR", "FLANJAX_STORY_CLOZE_DIR", "Story Cloze 2016 CSVs (manual download)", "data/story_cloze"),
    Setting("MMLU_DIR", "FLANJAX_MMLU_DIR", "MMLU's CSV release (dev/ and test/); else cais/mmlu"),
    Setting("MMLU_COT_PROMPTS", "FLANJAX_MMLU_COT_PROMPTS", "Flan 2022's mmlu-cot.json"),
    Setting("BBH_DIR", "FLANJAX_BBH_DIR", "a BIG-Bench-Hard checkout (bbh/, cot-prompts/)"),
    Setting("MGSM_DIR", "FLANJAX_MGSM_DIR", "MGSM files (url-nlp's mgsm/ as released, or {lang}/{split}.jsonl); else juletxara/mgsm"),
    Setting("TYDIQA_EXEMPLARS", "FLANJAX_TYDIQA_EXEMPLARS", "JSON-lines TyDiQA 1-shot exemplars"),
    Setting("RENDER_SEED", "FLANJAX_RENDER_SEED", "seed of each task's template and exemplar draws (fixed at registration; a cache records it)", "0"),
    Setting("RENDER_PROCESSES", "FLANJAX_RENDER_PROCESSES", "processes that render uncached examples (1: in the tf.data thread)", "1"),
    Setting("INSTRUCTION_FILES", "FLANJAX_INSTRUCTION_FILES", "instruction files as tasks: a glob, or {set: {'train': glob, 'inputs': field, ...}} (flanjax.data.instruction_files)"),
    Setting("CACHE_DIRS", "FLANJAX_CACHE_DIRS", "comma-separated seqio offline cache directories (python -m flanjax.data.cache)"),
)
BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}

_OVERRIDES: dict[str, str] = {}


def _setting(name: str) -> Setting:
    if name not in BY_NAME:
        close = difflib.get_close_matches(name, BY_NAME, n=3)
        raise KeyError(f"Unknown data setting {name!r}; closest: {close or sorted(BY_NAME)}.")
    return BY_NAME[name]


def get(name: str) -> Optional[str]:
    """The setting's value: configured (gin), else its environment variable, else default."""
    setting = _setting(name)
    if name in _OVERRIDES:
        return _OVERRIDES[name]
    return os.environ.get(setting.env) or setting.default


def describe(name: str) -> str:
    """How to set it, for error messages: "SNI_DIR (gin macro; env FLANJAX_SNI_DIR)"."""
    setting = _setting(name)
    return f"{name} (gin --gin.{name}=...; env {setting.env})"


def configure(values: Mapping[str, Optional[str]]) -> None:
    """Sets settings by name (None clears one back to its environment default)."""
    for name, value in values.items():
        _setting(name)
        if value is None:
            _OVERRIDES.pop(name, None)
        else:
            _OVERRIDES[name] = str(value)
