"""Resuming a run that ended badly: corrupt checkpoints, leftover temp folders, replayed metrics.

- A step folder that cannot be restored (a truncated or missing array file, a missing
  `_METADATA`) is reported with its step and the first line of what is wrong. With
  `fall_back=True` (gin `RESUME_FROM_LAST_GOOD=True`) the newest readable step is used and
  the unreadable ones are moved to `MODEL_DIR/corrupt_checkpoints/` (kept for inspection,
  out of orbax's way so the run can save those steps again). The default refuses: a read
  error may be transient (an object store hiccup), and silently rolling back would throw
  away training the user may still be able to recover.
- `*.orbax-checkpoint-tmp*` folders (an async save killed mid-write) are removed, each with
  a log line.
- `train_metrics.jsonl`: steps after the restored checkpoint are trained again; the metrics
  logger cuts their old lines first (`MetricsLogger(resume_step=...)`), so each step is
  logged once.
"""

from __future__ import annotations

import os
import shutil
from typing import Any, Callable, Mapping, Sequence

from flanjax import checkpoints as ckpt_lib

TEMP_MARKER = ".orbax-checkpoint-tmp"
CORRUPT_SUBDIR = "corrupt_checkpoints"
RESUME_FLAG = "--gin.RESUME_FROM_LAST_GOOD=True"


class CorruptCheckpointError(ValueError):
    """The checkpoint to resume from (or evaluate) cannot be read (one line)."""


def clean_temp_checkpoints(ckpt_dir: str, log: Callable[[str], None]) -> list[str]:
    """Removes the temp folders of saves that never finished; returns what was removed."""
    if not os.path.isdir(ckpt_dir):
        return []
    removed = []
    for name in sorted(os.listdir(ckpt_dir)):
        if TEMP_MARKER in name:
            path = os.path.join(ckpt_dir, name)
            shutil.rmtree(path, ignore_errors=True)
            removed.append(name)
            log(f"[train] removed {path}: an unfinished checkpoint save (killed mid-write)")
    return removed


# One reading of orbax/TensorStore errors for train, eval, infer and convert.
problem_of = ckpt_lib.problem_of


def restore_newest_readable(
    steps: Sequence[int],
    restore: Callable[[int], Any],
    ckpt_dir: str,
    *,
    fall_back: bool,
    log: Callable[[str], None],
    agree: Callable[[bool], Sequence[bool]] = lambda ok: [ok],
    is_chief: bool = True,
    barrier: Callable[[], None] = lambda: None,
) -> tuple[Any, int]:
    """Restores the newest of `steps`; on a failure, refuses or falls back (see module doc).

    `restore(step)` reads one step. Returns (state, step). Raises CorruptCheckpointError.

    Multi-host: every process calls this with the same `steps` and reads its own shards,
    so one process may fail where another succeeds. `agree(ok)` gathers every process's
    outcome (all processes call it once per step tried, in the same order); a step counts
    as readable only if it is readable everywhere, so all processes settle on the same
    step. Only `is_chief` (process 0) moves unreadable steps to corrupt_checkpoints/; the
    others wait at `barrier()` until the moves are done.
    """
    ordered = sorted(steps, reverse=True)
    bad: list[tuple[int, str]] = []
    for i, step in enumerate(ordered):
        error = None
        try:
            state = restore(step)
        except Exception as e:  # pylint: disable=broad-except  # orbax raises many kinds
            error, state = e, None
        outcomes = list(agree(error is None))
        if all(outcomes):
            break
        if error is not None:
            why = problem_of(error)
        else:
            why = f"unreadable on process {outcomes.index(False)}"
        bad.append((step, why))
        older = ordered[i + 1 :]
        if not fall_back:
            hint = (f"rerun with {RESUME_FLAG} to resume from the newest readable older step "
                    f"(of {older[:5]}); unreadable steps are moved to {CORRUPT_SUBDIR}/"
                    if older else f"no older step to fall back to: move {ckpt_dir}/{step} away to start over")
            raise CorruptCheckpointError(
                f"checkpoint step {step} in {ckpt_dir} is unreadable ({why}); {hint}."
            ) from None
    else:
        details = "; ".join(f"step {s}: {why}" for s, why in bad)
        raise CorruptCheckpointError(
            f"no readable checkpoint in {ckpt_dir} ({details}); move the folder away to start over."
        )
    if bad:
        moved_to = os.path.join(os.path.dirname(ckpt_dir), CORRUPT_SUBDIR)
        if is_chief:
            os.makedirs(moved_to, exist_ok=True)
            for s, why in bad:
                dest = os.path.join(moved_to, str(s))
                if os.path.exists(dest):
                    shutil.rmtree(dest)
                shutil.move(os.path.join(ckpt_dir, str(s)), dest)
                log(f"[train] checkpoint step {s} is unreadable ({why}); moved to {dest}")
        barrier()  # nobody lists or saves steps before the moves are done
        log(f"[train] resuming from step {step}, the newest readable checkpoint")
    return state, step


class ResumeMismatchError(ValueError):
    """The run would resume checkpoints of another model or optimizer (one line, every field)."""


# Fields that change the shapes or tree of the saved state: resuming across them is refused.
MODEL_STATE_FIELDS = (
    "vocab_size", "d_model", "d_kv", "d_ff", "num_heads", "num_encoder_layers",
    "num_decoder_layers", "relative_attention_num_buckets", "feed_forward_proj",
    "tie_word_embeddings", "scan_layers", "param_dtype",
)
OPTIMIZER_STATE_FIELDS = ("factored", "min_dim_size_to_factor", "momentum_on", "global_clip_norm_on",
                          "weight_decay_on")


def differences(saved: Mapping[str, Any], current: Mapping[str, Any], fields: Sequence[str]) -> list[str]:
    """"name: A (checkpoint) vs B (this run)" for each of `fields` that differs."""
    out = []
    for k in fields:
        if k in saved and k in current and saved[k] != current[k]:
            out.append(f"{k} {saved[k]!r} (checkpoint) vs {current[k]!r} (this run)")
    return out


def check_resume(model_dir: str, saved_model: Mapping[str, Any] | None, model: Mapping[str, Any],
                 saved_optimizer: Mapping[str, Any] | None, optimizer: Mapping[str, Any]) -> None:
    """Refuses to resume `model_dir` with a model or optimizer whose saved state differs."""
    found = []
    if saved_model is not None:
        found += [f"model {d}" for d in differences(saved_model, model, MODEL_STATE_FIELDS)]
    if saved_optimizer is not None:
        found += [f"optimizer {d}" for d in differences(saved_optimizer, optimizer, OPTIMIZER_STATE_FIELDS)]
    if found:
        raise ResumeMismatchError(
            f"MODEL_DIR {model_dir} holds checkpoints of another configuration: {'; '.join(found)}; "
            "rerun with the original settings, or choose a new MODEL_DIR (INITIAL_CHECKPOINT_PATH can "
            "start it from this run's parameters)."
        )


def _path_name(path: Sequence[Any]) -> str:
    parts = []
    for key in path:
        for attr in ("key", "name", "idx"):
            if hasattr(key, attr):
                parts.append(str(getattr(key, attr)))
                break
        else:
            parts.append(str(key))
    return "/".join(parts)


def _shapes(tree: Any) -> dict[str, tuple]:
    import jax  # pylint: disable=g-import-not-at-top

    leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
    return {_path_name(p): tuple(getattr(leaf, "shape", ())) for p, leaf in leaves}


def state_differences(saved_tree: Any, abstract_state: Any, *, examples: int = 3) -> list[str]:
    """What differs between a checkpoint's array tree (orbax metadata) and this run's state,
    grouped by top-level part (params, opt_state), with the first few paths of each kind."""
    saved, want = _shapes(saved_tree), _shapes(abstract_state)
    out = []
    for part in sorted({k.split("/")[0] for k in saved} | {k.split("/")[0] for k in want}):
        s = {k: v for k, v in saved.items() if k.split("/")[0] == part}
        w = {k: v for k, v in want.items() if k.split("/")[0] == part}
        only_saved, only_run = sorted(set(s) - set(w)), sorted(set(w) - set(s))
        shape = sorted(k for k in set(s) & set(w) if s[k] != w[k])
        for label, keys, show in (
            ("only in the checkpoint", only_saved, lambda k: k),
            ("only in this run", only_run, lambda k: k),
            ("with other shapes", shape, lambda k: f"{k} {s[k]} (checkpoint) vs {w[k]} (this run)"),
        ):
            if keys:
                more = f", +{len(keys) - examples} more" if len(keys) > examples else ""
                out.append(f"{part}: {len(keys)} arrays {label} ({', '.join(show(k) for k in keys[:examples])}{more})")
    return out


def atomic_write_text(path: str, text: str) -> None:
    """Writes `path` through a temporary file and a rename: readers see the old or the new."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
