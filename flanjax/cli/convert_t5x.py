"""`python -m flanjax.convert --from_t5x` / `--to_t5x` (the flags live in `flanjax.cli.convert`).

Both carry the Adafactor state over (`flanjax.train.t5x_state` says how each parameter's
statistics map); where they cannot be converted the command says which parameter and why,
and writes the parameters with no optimizer state (`--from_t5x`) or T5X's initial, zero
statistics (`--to_t5x`).
"""

from __future__ import annotations

import os
import warnings
from typing import Any


def _say(notes: list[str], what: str) -> None:
    for note in notes:
        print(f"{what}: {note}")


def from_t5x(source: str, out: str, *, step: int | None, scan_layers: bool) -> None:
    """A T5X checkpoint -> a converted flanjax checkpoint recording T5X's step, with its
    Adafactor state in flanjax's layout (DIR/optimizer) when it converts."""
    from flanjax.checkpoints import save_flanjax_checkpoint  # pylint: disable=g-import-not-at-top
    from flanjax.convert.t5x import load_t5x, read_t5x_adafactor_state  # pylint: disable=g-import-not-at-top
    from flanjax.train import t5x_state  # pylint: disable=g-import-not-at-top

    config, params, t5x_step = load_t5x(source, step=step, scan_layers=scan_layers)
    opt_state = None
    try:
        state = read_t5x_adafactor_state(source, step=step)
        if not state.slots:
            raise t5x_state.OptimizerStateMismatch("the checkpoint holds no Adafactor statistics")
        opt_state, notes = t5x_state.from_t5x(state, config)
        _say(notes, "optimizer state")
    except t5x_state.OptimizerStateMismatch as e:
        print(f"optimizer state not imported: {e}; fine-tuning from {out} starts Adafactor from zero")
    save_flanjax_checkpoint(config, params, out, step=t5x_step, opt_state=opt_state)
    print(f"imported T5X step {t5x_step}: {config.num_encoder_layers}+{config.num_decoder_layers} layers, "
          f"d_model {config.d_model}, vocab {config.vocab_size}, {config.feed_forward_proj}"
          f"{', with its Adafactor state' if opt_state is not None else ''}")


def _saved_opt_state(path: str, step: int | None) -> tuple[Any, str]:
    """The Adafactor state saved with a run's step or in a converted directory (host arrays,
    as a dict of AdafactorState fields), or (None, why not)."""
    import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top

    from flanjax import checkpoints  # pylint: disable=g-import-not-at-top

    if os.path.isdir(os.path.join(path, checkpoints.CHECKPOINTS_SUBDIR)):
        where = os.path.join(path, checkpoints.CHECKPOINTS_SUBDIR, str(checkpoints.resolve_step(path, step)), "default")
        with ocp.PyTreeCheckpointer() as reader, warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sharding info not provided")  # host arrays wanted
            state = reader.restore(where).get("opt_state")
    elif os.path.isdir(os.path.join(path, checkpoints.OPT_DIR)):
        where = os.path.join(path, checkpoints.OPT_DIR)
        with ocp.PyTreeCheckpointer() as reader:
            state = reader.restore(where)
    else:
        return None, f"{path} holds no optimizer state"
    if not isinstance(state, dict) or not {"v_row", "v_col", "v", "m"} <= set(state):
        return None, f"{where} holds another optimizer's state than T5X's Adafactor"
    return state, ""


def to_t5x(source: str, out: str, *, step: int | None) -> None:
    """A converted checkpoint, training run or Hugging Face directory -> out/checkpoint_{step},
    with the run's (or the converted directory's) Adafactor state in T5X's layout."""
    from flanjax import checkpoints  # pylint: disable=g-import-not-at-top
    from flanjax.convert.t5x import model_gin, save_t5x  # pylint: disable=g-import-not-at-top
    from flanjax.train import t5x_state  # pylint: disable=g-import-not-at-top

    path = os.path.abspath(os.path.expanduser(source))
    config, params = checkpoints.load_model(path, step=step)
    if os.path.isdir(os.path.join(path, checkpoints.CHECKPOINTS_SUBDIR)):
        number = checkpoints.resolve_step(path, step)  # the run's step, as T5X counts it
    else:
        number = checkpoints.converted_step(path) or 0
    folder = os.path.join(out, f"checkpoint_{number}")
    if os.path.exists(folder):
        raise ValueError(f"{folder} exists already; T5X never overwrites a step: choose a new --out")
    param_states = None
    opt_state, why = _saved_opt_state(path, step)
    if opt_state is not None:
        try:
            param_states, notes = t5x_state.to_t5x(opt_state, config)
            _say(notes, "optimizer state")
        except t5x_state.OptimizerStateMismatch as e:
            why = str(e)
    if param_states is None:
        print(f"optimizer state not exported: {why}; T5X's Adafactor statistics are written as zeros")
    written = save_t5x(config, params, out, step=number, param_states=param_states)
    with open(os.path.join(out, "model.gin"), "w") as f:
        f.write(model_gin(config))
    print(f"exported {path} as T5X step {number}{' with its Adafactor state' if param_states else ''}: "
          f"{written} (restore with --gin.INITIAL_CHECKPOINT_PATH={written} and {os.path.join(out, 'model.gin')})")
