"""orbax checkpoints of the train state: periodic, asynchronous, atomic, resumable.

Layout of MODEL_DIR:
    MODEL_DIR/checkpoints/{step}/...      orbax `CheckpointManager` step folders (TrainState)
    MODEL_DIR/flanjax_config.json         the model config, so eval/infer can rebuild it
orbax writes each step into a temporary folder and renames it when complete, so a run
killed mid-save (kill -9, preemption) leaves the previous checkpoint intact; leftover
temporary folders are removed when the next run opens the manager.

Fine-tuning starts from parameters only (`load_initial_params`): either a directory written
by `python -m flanjax.convert --from_hf` (`flanjax_config.json` + `checkpoint/` holding
`{"params": ...}`) or the MODEL_DIR of an earlier flanjax run (its latest step).
"""

from __future__ import annotations

import json
import os
import signal
import threading
from typing import Any

import jax
import orbax.checkpoint as ocp

from flanjax.convert import checkpoint as convert_checkpoint
from flanjax.model import T5Config

CHECKPOINTS_SUBDIR = "checkpoints"
# A run's MODEL_DIR names its config file like a converted checkpoint does.
CONFIG_FILE = convert_checkpoint.CONFIG_FILE
_SHAPE_FIELDS = (
    "vocab_size", "d_model", "d_kv", "d_ff", "num_heads", "num_encoder_layers",
    "num_decoder_layers", "relative_attention_num_buckets", "feed_forward_proj",
    "tie_word_embeddings", "scan_layers",
)


class Checkpointer:
    """Saves every `period` steps (and when forced), keeps the newest `max_to_keep`."""

    def __init__(self, model_dir: str, *, period: int, max_to_keep: int | None = 3, async_save: bool = True):
        self.directory = os.path.join(os.path.abspath(model_dir), CHECKPOINTS_SUBDIR)
        options = ocp.CheckpointManagerOptions(
            max_to_keep=max_to_keep,
            save_interval_steps=max(int(period), 1),
            enable_async_checkpointing=async_save,
            cleanup_tmp_directories=True,
            create=True,
        )
        self.manager = ocp.CheckpointManager(self.directory, options=options)

    def latest_step(self) -> int | None:
        return self.manager.latest_step()

    def all_steps(self) -> list[int]:
        return list(self.manager.all_steps())

    def save(self, step: int, state: Any, *, force: bool = False) -> bool:
        """Starts saving `state` at `step` if the period says so (or `force`)."""
        return self.manager.save(step, args=ocp.args.StandardSave(state), force=force)

    def restore(self, abstract_state: Any, step: int | None = None) -> Any:
        """Restores into the shapes, dtypes and shardings of `abstract_state`."""
        step = self.manager.latest_step() if step is None else step
        if step is None:
            raise FileNotFoundError(f"no checkpoint in {self.directory}")
        return self.manager.restore(step, args=ocp.args.StandardRestore(abstract_state))

    def wait(self) -> None:
        self.manager.wait_until_finished()

    def close(self) -> None:
        self.manager.wait_until_finished()
        self.manager.close()


def write_model_config(model_dir: str, config: T5Config) -> None:
    if jax.process_index() == 0:
        os.makedirs(model_dir, exist_ok=True)
        with open(os.path.join(model_dir, CONFIG_FILE), "w") as f:
            f.write(config.to_json())


def _check_config(path: str, config: T5Config) -> None:
    with open(os.path.join(path, CONFIG_FILE)) as f:
        saved = json.load(f)
    wrong = {k: (saved.get(k), getattr(config, k)) for k in _SHAPE_FIELDS if k in saved and saved[k] != getattr(config, k)}
    if wrong:
        details = ", ".join(f"{k}: checkpoint {a!r} vs model {b!r}" for k, (a, b) in wrong.items())
        raise ValueError(f"INITIAL_CHECKPOINT_PATH {path} does not match the model config ({details})")


def load_initial_params(path: str, config: T5Config, abstract_params: Any, abstract_state: Any = None) -> Any:
    """Parameters only, restored straight into their shardings (`abstract_params` carries them).

    `path`: a `flanjax.convert` directory, or the MODEL_DIR of a flanjax run (then
    `abstract_state`, the run's TrainState shape, is needed to read it).
    """
    path = os.path.abspath(path)
    if os.path.exists(os.path.join(path, CONFIG_FILE)):
        _check_config(path, config)
    converted = os.path.join(path, convert_checkpoint.PARAMS_DIR)
    if os.path.isdir(converted):
        with ocp.StandardCheckpointer() as checkpointer:
            restored = checkpointer.restore(converted, {"params": abstract_params})
        return restored["params"]
    run_dir = os.path.join(path, CHECKPOINTS_SUBDIR)
    if os.path.isdir(run_dir) and abstract_state is not None:
        manager = ocp.CheckpointManager(run_dir)
        step = manager.latest_step()
        if step is not None:
            state = manager.restore(step, args=ocp.args.StandardRestore(abstract_state))
            manager.close()
            return state.params
    raise FileNotFoundError(
        f"INITIAL_CHECKPOINT_PATH {path}: neither a `python -m flanjax.convert --from_hf` "
        f"output ({CONFIG_FILE} + checkpoint/) nor a flanjax MODEL_DIR with checkpoints"
    )


class PreemptionWatcher:
    """Turns SIGTERM (TPU preemption, `kill`) into "save now and stop" at a step boundary.

    One process: a signal handler sets a flag. Several processes: every host must stop at
    the same step (orbax saves are collective), so the decision comes from JAX's
    preemption sync point (`multihost_utils.reached_preemption_sync_point`), which the
    distributed runtime triggers on a preemption notice, and the flag is ignored.
    """

    def __init__(self) -> None:
        self._flag = threading.Event()
        self._previous = None
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGTERM, self._handle)

    def _handle(self, signum, frame) -> None:  # pylint: disable=unused-argument
        self._flag.set()

    def should_stop(self, step: int) -> bool:
        if jax.process_count() > 1:
            try:
                from jax.experimental import multihost_utils

                return bool(multihost_utils.reached_preemption_sync_point(step))
            except Exception:  # pylint: disable=broad-except
                return False
        return self._flag.is_set()

    def restore_handler(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)
