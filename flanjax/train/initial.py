"""What fine-tuning starts from: parameters, the step, and the optimizer state if any.

T5X fine-tunes with the step count continuing from the initial checkpoint
(`t5x/train.py`: `host_step = train_state.step` of the restored state; `TRAIN_STEPS`
"includes pretrain steps", `t5x/configs/runs/finetune.gin`) and with the checkpoint's
optimizer state when it holds one. Here:

- a converted directory (`python -m flanjax.convert`) gives parameters, its optimizer state
  when it has one (`--from_t5x`: DIR/optimizer/) that is this run's optimizer's (same arrays
  and shapes), and, when it records one, its step (`flanjax_step.json`: `--from_hf ... --step N`; 1,000,000 for the T5 1.1
  checkpoints and 1,100,000 for the LM-adapted ones Flan-T5 starts from, t5x
  `docs/models.md`: `t5_1_1_base/checkpoint_1000000`, `t5_1_1_lm100k_base/checkpoint_1100000`);
- a flanjax run's MODEL_DIR gives its latest step's parameters, step, and optimizer state
  when it is this run's optimizer's (same arrays and shapes), else its parameters only.

MODEL_DIR/flanjax_initial_step.json records the step a run started at, so that a resumed
run at step S reads its input stream from batch S - start (the stream of a fine-tuning run
starts at its first batch, whatever the step count).
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Optional

from flanjax import checkpoints as ckpt_lib
from flanjax.model import T5Config
from flanjax.train import recovery

INITIAL_STEP_FILE = "flanjax_initial_step.json"


@dataclasses.dataclass
class InitialState:
    params: Any
    opt_state: Any = None  # None: the optimizer starts fresh
    step: Optional[int] = None  # the step the checkpoint reached; None: not recorded
    why_no_opt_state: str = ""


def load(path: str, config: T5Config, abstract_params: Any, abstract_state: Any) -> InitialState:
    """The initial checkpoint at `path`, restored into the shardings the abstract trees carry."""
    import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top

    path = os.path.abspath(path)
    steps = ckpt_lib.saved_steps(path)
    if os.path.isdir(os.path.join(path, ckpt_lib.PARAMS_DIR)) or not steps:
        params = ckpt_lib.load_initial_params(path, config, abstract_params, abstract_state)
        opt_state, why = _converted_opt_state(path, abstract_state)
        return InitialState(params, opt_state, ckpt_lib.converted_step(path), why)
    step_dir = os.path.join(path, ckpt_lib.CHECKPOINTS_SUBDIR, str(steps[-1]), "default")
    try:
        with ocp.StandardCheckpointer() as reader:
            saved = reader.metadata(step_dir).item_metadata
        mismatch = recovery.state_differences(saved, abstract_state)
    except Exception as e:  # pylint: disable=broad-except  # unreadable metadata: params only
        mismatch = [f"unreadable metadata: {e}"]
    if mismatch:  # the parameters alone (load_initial_params checks the model's shapes)
        params = ckpt_lib.load_initial_params(path, config, abstract_params, abstract_state)
        return InitialState(params, None, steps[-1],
                            f"its optimizer state is another optimizer's ({'; '.join(mismatch)})")
    with ocp.StandardCheckpointer() as reader:
        state = reader.restore(step_dir, abstract_state)
    return InitialState(state.params, state.opt_state, steps[-1])


def _converted_opt_state(path: str, abstract_state: Any) -> tuple[Any, str]:
    """A converted directory's optimizer/ (`convert --from_t5x`), restored into the run's
    shardings when it holds exactly the run's optimizer state; else (None, why not)."""
    import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top

    from flanjax.train.adafactor import AdafactorState  # pylint: disable=g-import-not-at-top

    opt_dir = os.path.join(path, ckpt_lib.OPT_DIR)
    if not os.path.isdir(opt_dir):
        return None, f"{path} is a converted checkpoint without optimizer state (parameters only)"
    want = abstract_state.opt_state
    if not isinstance(want, AdafactorState):
        return None, f"{path}/{ckpt_lib.OPT_DIR} is T5X's Adafactor state and this run's optimizer is another"
    target = want._asdict()
    try:
        with ocp.StandardCheckpointer() as reader:
            saved = reader.metadata(opt_dir).item_metadata
        mismatch = recovery.state_differences({"opt_state": getattr(saved, "tree", saved)}, {"opt_state": target})
    except Exception as e:  # pylint: disable=broad-except  # unreadable metadata: params only
        mismatch = [f"unreadable metadata: {e}"]
    if mismatch:
        return None, (f"{path}/{ckpt_lib.OPT_DIR} is not this run's Adafactor state ({'; '.join(mismatch)}; "
                      "convert with the run's --scan_layers and Adafactor settings)")
    with ocp.StandardCheckpointer() as reader:
        return AdafactorState(**reader.restore(opt_dir, target)), ""


def write_start(model_dir: str, step: int, source: Optional[str]) -> None:
    """MODEL_DIR/flanjax_initial_step.json (atomically), when a run starts."""
    recovery.atomic_write_text(os.path.join(os.path.abspath(model_dir), INITIAL_STEP_FILE),
                               json.dumps({"step": int(step), "initial_checkpoint": source}))


def run_start(model_dir: str) -> int:
    """The step a run started at (0 when not recorded: runs before this file started at 0)."""
    path = os.path.join(os.path.abspath(model_dir), INITIAL_STEP_FILE)
    if not os.path.exists(path):
        return 0
    with open(path) as f:
        return int(json.load(f)["step"])
