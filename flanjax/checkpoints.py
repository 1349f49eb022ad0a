"""Every checkpoint layout flanjax reads or writes, in one place.

Training runs (MODEL_DIR):
    MODEL_DIR/checkpoints/{step}/...      orbax `CheckpointManager` step folders (TrainState)
    MODEL_DIR/flanjax_config.json         the model config, so eval/infer can rebuild it
    MODEL_DIR/flanjax_initial_step.json   {"step", "initial_checkpoint"}: the step the run
                                          started at (`flanjax.train.initial`)
orbax writes each step into a temporary folder and renames it when complete, so a run
killed mid-save (kill -9, preemption) leaves the previous checkpoint intact; leftover
temporary folders are removed when the next run opens the manager.

Converted checkpoints (`python -m flanjax.convert --from_hf`):
    DIR/flanjax_config.json + DIR/checkpoint/ (orbax, `{"params": ...}`)
    DIR/flanjax_step.json {"step": N}: the step the weights reached, when known
    DIR/optimizer/ (orbax, optional): the `AdafactorState` fields as a dict, when the source
    had one (`--from_t5x`); `flanjax.train.initial` restores it when it is the run's optimizer's

Hugging Face directories (`save_pretrained`, safetensors) are read through
`flanjax.convert.hf`.

Reading for fine-tuning: `load_initial_params` (parameters only, from a converted directory
or the latest step of an earlier run; `flanjax.train.initial` adds the step and an earlier
run's optimizer state). Reading for evaluation and inference: `load_model`
(any of the three; the config is read first and the parameters are restored straight into
their shardings on a mesh when one is given).
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from typing import Any, Optional

import jax
import numpy as np
import orbax.checkpoint as ocp

from flanjax.checkpoint_saver import (  # noqa: F401  # saving a run; re-exported here
    CHECKPOINTS_SUBDIR, EXIT_SAVE_FAILED, Checkpointer, CheckpointSaveError, problem_of, surplus_steps)
from flanjax.convert.hf import check_params_match, load_hf_t5
from flanjax.model import T5Config, abstract_params

# ---------------------------------------------------------------- converted checkpoints
CONFIG_FILE = "flanjax_config.json"
PARAMS_DIR = "checkpoint"
STEP_FILE = "flanjax_step.json"
OPT_DIR = "optimizer"


def save_flanjax_checkpoint(config: T5Config, params: Any, out_dir: str, *, step: int | None = None,
                            opt_state: Any = None) -> str:
    """Writes `out_dir/flanjax_config.json` and `out_dir/checkpoint` ({"params": ...}),
    `out_dir/flanjax_step.json` when the step the weights were trained to is known, and
    `out_dir/optimizer` when `opt_state` (an `AdafactorState`) is given."""
    out_dir = os.path.abspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, CONFIG_FILE), "w") as f:
        f.write(config.to_json())
    step_file = os.path.join(out_dir, STEP_FILE)
    if step is not None:
        with open(step_file, "w") as f:
            json.dump({"step": int(step)}, f)
    elif os.path.exists(step_file):  # an earlier conversion's step is not this one's
        os.remove(step_file)
    tree = {"params": jax.tree_util.tree_map(np.asarray, params)}
    if os.path.isdir(os.path.join(out_dir, OPT_DIR)):  # an earlier conversion's state is not this one's
        shutil.rmtree(os.path.join(out_dir, OPT_DIR))
    with ocp.StandardCheckpointer() as checkpointer:
        checkpointer.save(os.path.join(out_dir, PARAMS_DIR), tree, force=True)
        if opt_state is not None:
            checkpointer.save(os.path.join(out_dir, OPT_DIR), jax.tree_util.tree_map(np.asarray, opt_state._asdict()))
        checkpointer.wait_until_finished()
    return out_dir


def converted_step(path: str) -> int | None:
    """The step a converted checkpoint records (`flanjax_step.json`), or None."""
    step_file = os.path.join(os.path.abspath(path), STEP_FILE)
    return int(json.load(open(step_file))["step"]) if os.path.exists(step_file) else None


def load_flanjax_checkpoint(path: str) -> tuple[T5Config, Any]:
    """Reads what `save_flanjax_checkpoint` wrote: (config, params as host arrays)."""
    path = os.path.abspath(path)
    config_file = os.path.join(path, CONFIG_FILE)
    if not os.path.exists(config_file):
        raise FileNotFoundError(f"No {CONFIG_FILE} in {path}: not a flanjax checkpoint")
    config = _read_config(config_file)
    target = {"params": abstract_params(config)}
    with ocp.StandardCheckpointer() as checkpointer:
        restored = checkpointer.restore(os.path.join(path, PARAMS_DIR), target)
    params = jax.tree_util.tree_map(np.asarray, restored["params"])
    check_params_match(config, params)
    return config, params


# ------------------------------------------------------------------------ training runs
_SHAPE_FIELDS = (
    "vocab_size", "d_model", "d_kv", "d_ff", "num_heads", "num_encoder_layers",
    "num_decoder_layers", "relative_attention_num_buckets", "feed_forward_proj",
    "tie_word_embeddings", "scan_layers",
)


# --------------------------------------------------- the best step, and steps by name
# `KEEP_BEST` keeps the step whose periodic held-out score was highest (the first on ties)
# beside the newest `keep_checkpoints`; MODEL_DIR/best_checkpoint.json names it, and
# `resolve_step(model_dir, "best")` reads it (flanjax.eval CHECKPOINT_STEP='best',
# `convert --to_hf`).
BEST_FILE = "best_checkpoint.json"


def saved_steps(model_dir: str) -> list[int]:
    """Finished orbax steps of a run (temporary folders of unfinished saves are skipped)."""
    directory = os.path.join(os.path.abspath(model_dir), CHECKPOINTS_SUBDIR)
    if not os.path.isdir(directory):
        return []
    return sorted(int(n) for n in os.listdir(directory)
                  if n.isdigit() and os.path.isdir(os.path.join(directory, n)))


def read_best(model_dir: str) -> Optional[dict]:
    """{"step", "metric", "value"} of MODEL_DIR/best_checkpoint.json, or None."""
    path = os.path.join(os.path.abspath(model_dir), BEST_FILE)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def resolve_step(model_dir: str, step: int | str | None = "latest") -> int:
    """A run's checkpoint step: 'latest' (or None), 'best', or a number (or digits) it holds."""
    steps = saved_steps(model_dir)
    where = os.path.join(os.path.abspath(model_dir), CHECKPOINTS_SUBDIR)
    if not steps:
        raise CheckpointNotFoundError(f"{where} holds no finished checkpoint yet.")
    if step is None or step == "latest":
        return steps[-1]
    if step == "best":
        best = read_best(model_dir)
        if best is None:
            raise CheckpointNotFoundError(
                f"{model_dir} has no best checkpoint ({BEST_FILE}): train with "
                "--gin.KEEP_BEST=<cluster> and EVAL_PERIOD > 0, or give a step number"
            )
        step = best["step"]
    elif isinstance(step, str):
        if not step.isdigit():
            raise CheckpointNotFoundError(f"step {step!r} is neither 'best', 'latest' nor a number.")
        step = int(step)
    if int(step) not in steps:
        raise CheckpointNotFoundError(f"No step {step} in {where}; steps: {steps}.")
    return int(step)


class BestCheckpoint:
    """The best step so far by a held-out score `metric` (higher is better for all of them).

    The trainer calls `record` only after that step's checkpoint finished saving, so the
    file never names a missing step; it is written atomically, on process 0.
    """

    def __init__(self, model_dir: str, metric: str, step: int | None = None, value: float | None = None):
        self.model_dir, self.metric, self.step, self.value = os.path.abspath(model_dir), metric, step, value

    @classmethod
    def load(cls, model_dir: str, metric: str, *, up_to_step: int | None = None) -> "BestCheckpoint":
        """The recorded best of a resumed run, if it was kept by the same metric."""
        best = read_best(model_dir)
        if best and best.get("metric") == metric and (up_to_step is None or best["step"] <= up_to_step):
            return cls(model_dir, metric, int(best["step"]), float(best["value"]))
        return cls(model_dir, metric)

    def improves(self, value: float) -> bool:
        return self.value is None or value > self.value

    def record(self, step: int, value: float, *, write: bool = True) -> None:
        self.step, self.value = int(step), float(value)
        if write:
            os.makedirs(self.model_dir, exist_ok=True)
            path = os.path.join(self.model_dir, BEST_FILE)
            with open(path + ".tmp", "w") as f:
                json.dump({"step": self.step, "metric": self.metric, "value": self.value}, f)
            os.replace(path + ".tmp", path)

    def protected(self) -> set[int]:
        return set() if self.step is None else {self.step}


def write_model_config(model_dir: str, config: T5Config) -> None:
    if jax.process_index() == 0:
        os.makedirs(model_dir, exist_ok=True)
        with open(os.path.join(model_dir, CONFIG_FILE), "w") as f:
            f.write(config.to_json())


def _check_config(path: str, config: T5Config) -> Optional[bool]:
    """Refuses a checkpoint of another shape; returns its `scan_layers` (None: not recorded).

    The layer layout alone (`scan_layers`) may differ: `load_initial_params` restacks."""
    saved = read_config_dict(os.path.join(path, CONFIG_FILE))
    wrong = {k: (saved.get(k), getattr(config, k)) for k in _SHAPE_FIELDS
             if k != "scan_layers" and k in saved and saved[k] != getattr(config, k)}
    if wrong:
        details = ", ".join(f"{k}: checkpoint {a!r} vs model {b!r}" for k, (a, b) in wrong.items())
        raise ValueError(f"INITIAL_CHECKPOINT_PATH {path} does not match the model config ({details})")
    return saved.get("scan_layers")


def _other_layout(abstract: Any, config: T5Config) -> Any:
    """`abstract` (the run's parameters, maybe sharded) in the other layer layout: stacked
    for nn.scan if the run's are per layer, per layer if the run's are stacked. The layer
    axis (axis 0 of a stacked leaf) is never sharded (`partitioning`: `layers` replicated),
    so each leaf keeps its counterpart's sharding of the other axes."""
    from jax.sharding import NamedSharding, PartitionSpec

    def spec(s: Any, ndim: int) -> tuple:
        return tuple(s.spec) + (None,) * (ndim - len(tuple(s.spec)))

    def one_layer(a: Any) -> Any:
        s = a.sharding
        if isinstance(s, NamedSharding):
            s = NamedSharding(s.mesh, PartitionSpec(*spec(s, a.ndim)[1:]))
        return jax.ShapeDtypeStruct(a.shape[1:], a.dtype, sharding=s)

    def stacked(n: int, *layers: Any) -> Any:
        a = layers[0]
        s = a.sharding
        if isinstance(s, NamedSharding):
            s = NamedSharding(s.mesh, PartitionSpec(None, *spec(s, a.ndim)))
        return jax.ShapeDtypeStruct((n, *a.shape), a.dtype, sharding=s)

    out = dict(abstract)
    for stack, n in (("encoder", config.num_encoder_layers), ("decoder", config.num_decoder_layers)):
        sub = dict(out[stack])
        if config.scan_layers:
            layer = jax.tree.map(one_layer, sub.pop("layers"))
            sub.update({f"layers_{i}": layer for i in range(n)})
        else:
            layers = [sub.pop(f"layers_{i}") for i in range(n)]
            sub["layers"] = jax.tree.map(lambda *ls, n=n: stacked(n, *ls), *layers)
        out[stack] = sub
    return out


def _relayout(params: Any, config: T5Config, abstract: Any) -> Any:
    """Saved parameters in the other layer layout -> the run's, straight into its shardings."""
    import jax.numpy as jnp

    from flanjax.convert.hf import stack_layers, unstack_layers

    def fn(tree: Any) -> Any:
        if config.scan_layers:
            return stack_layers(tree, config, xp=jnp)
        return unstack_layers(tree, config, xp=jnp)

    shardings = jax.tree.map(lambda a: a.sharding, abstract)
    if any(s is None for s in jax.tree.leaves(shardings, is_leaf=lambda x: x is None)):
        return jax.tree.map(np.asarray, fn(params))
    return jax.jit(fn, out_shardings=shardings)(params)


def load_initial_params(path: str, config: T5Config, abstract_params: Any, abstract_state: Any = None) -> Any:
    """Parameters only, restored straight into their shardings (`abstract_params` carries them).

    `path`: a `flanjax.convert` directory, or the MODEL_DIR of a flanjax run (`abstract_state`
    is not needed any more; accepted for callers that pass it). A converted
    directory in the other layer layout (`--scan_layers` or not) is restacked on the way in:
    a recipe that scans its layers starts from either conversion.
    """
    path = os.path.abspath(path)
    saved_scan = None
    if os.path.exists(os.path.join(path, CONFIG_FILE)):
        saved_scan = _check_config(path, config)
    relayout = saved_scan is not None and bool(saved_scan) != bool(config.scan_layers)
    converted = os.path.join(path, PARAMS_DIR)
    if os.path.isdir(converted):
        target = _other_layout(abstract_params, config) if relayout else abstract_params
        with ocp.StandardCheckpointer() as checkpointer:
            restored = checkpointer.restore(converted, {"params": target})
        if relayout:
            return _relayout(restored["params"], config, abstract_params)
        return restored["params"]
    run_dir = os.path.join(path, CHECKPOINTS_SUBDIR)
    if relayout and os.path.isdir(run_dir):
        raise ValueError(
            f"INITIAL_CHECKPOINT_PATH {path} is a run with scan_layers={bool(saved_scan)} and this "
            f"model has scan_layers={bool(config.scan_layers)}: set "
            f"make_config.scan_layers = {bool(saved_scan)}, or export its parameters first "
            "(python -m flanjax.convert --to_hf RUN --out HF, then --from_hf HF --out DIR: a converted "
            "directory starts either layout)"
        )
    if saved_steps(path):  # the latest step's parameters (any optimizer's state beside them)
        return restore_run_params(os.path.join(run_dir, str(saved_steps(path)[-1]), "default"), abstract_params)
    raise FileNotFoundError(
        f"INITIAL_CHECKPOINT_PATH {path}: neither a `python -m flanjax.convert --from_hf` "
        f"output ({CONFIG_FILE} + checkpoint/) nor a flanjax MODEL_DIR with checkpoints"
    )


def restore_run_params(step_dir: str, abstract_params: Any) -> Any:
    """Only `params` of a run's saved TrainState (orbax partial restore), into the shapes,
    dtypes and shardings of `abstract_params`: the optimizer state may be any optimizer's."""
    target = {"params": abstract_params}
    args = ocp.args.PyTreeRestore(
        item=target, restore_args=ocp.checkpoint_utils.construct_restore_args(target), partial_restore=True,
    )
    with ocp.PyTreeCheckpointer() as reader:
        return reader.restore(step_dir, args=args)["params"]


# ------------------------------------------------------- loading for evaluation / infer
class CheckpointNotFoundError(FileNotFoundError):
    pass


class CheckpointUnreadableError(ValueError):
    """A saved step cannot be read (truncated, emptied): its step, the reason, and the
    newest readable step to use instead (one line)."""


def _unreadable_step(run_dir: str, step: int, error: BaseException, read: Any) -> CheckpointUnreadableError:
    """The error for an unreadable `step`, naming the newest older step that `read` can read
    (tried newest first: on this error path one more read is worth a useful message)."""
    steps = saved_steps(os.path.dirname(run_dir))
    readable = None
    for other in sorted((s for s in steps if s != step), reverse=True):
        try:
            read(other)
        except Exception:  # pylint: disable=broad-except  # unreadable too: try an older one
            continue
        readable = other
        break
    if readable is None:
        hint = f"no other saved step is readable (saved steps: {steps})"
    else:
        hint = (f"the newest readable step is {readable} (saved steps: {steps}): choose it with "
                f"CHECKPOINT_STEP={readable} (eval, infer) or --step {readable} (convert --to_hf)")
    return CheckpointUnreadableError(
        f"checkpoint step {step} in {run_dir} is unreadable ({problem_of(error)}); {hint}"
    )


class CheckpointMismatchError(ValueError):
    """The checkpoint's parameters do not have the shapes its config gives them."""


def _is_hf_dir(path: str) -> bool:
    return os.path.exists(os.path.join(path, "config.json")) and any(
        f.endswith(".safetensors") for f in os.listdir(path)
    )


def load_model(
    path: str, *, step: int | str | None = None, mesh: Optional[Any] = None, **config_overrides: Any
) -> tuple[T5Config, Any]:
    """(config, params) from a MODEL_DIR, a converted checkpoint or a Hugging Face dir.

    `config_overrides` replace config fields (e.g. `dtype="float32"` for CPU evaluation:
    `dtype` is the activation dtype; the parameters keep the dtype they were stored with,
    with or without a mesh).

    `mesh`: a `flanjax.evaluation.batching.EvalMesh`; the parameters are then returned
    sharded on it (`mesh.param_shardings(config)`), restored shard by shard for the orbax
    formats (see the module docstring). None: host numpy arrays, as before.
    """
    path = os.path.abspath(os.path.expanduser(path))
    if not os.path.isdir(path):
        raise CheckpointNotFoundError(f"Checkpoint directory {path!r} does not exist.")
    if os.path.exists(os.path.join(path, CONFIG_FILE)) and os.path.isdir(
        os.path.join(path, PARAMS_DIR)
    ):
        if mesh is None:
            try:
                config, params = load_flanjax_checkpoint(path)
            except ValueError as e:  # check_params_match: names the parameter and shapes
                raise CheckpointMismatchError(f"{e} (checkpoint {path})") from None
        else:
            config, params = _load_converted_sharded(path, mesh)
        return config.replace(**config_overrides), params
    if _is_hf_dir(path):
        config, params = load_hf_t5(path, **config_overrides)
        if mesh is not None:  # no sharded format to read from: host arrays, then placed
            params = mesh.place_params(config, params)
        return config, params
    loaded = _load_training_run(path, step, mesh)  # None if `path` is not a MODEL_DIR
    if loaded is not None:
        config, params = loaded
        return config.replace(**config_overrides), params
    raise CheckpointNotFoundError(
        f"{path!r} is neither a training run's MODEL_DIR (with orbax step folders), a converted "
        "flanjax checkpoint (flanjax_config.json + checkpoint/) nor a Hugging Face directory "
        "(config.json + *.safetensors)."
    )


def read_config_dict(config_file: str) -> dict:
    """A checkpoint's flanjax_config.json as a dict; a damaged one named with the fix."""
    try:
        with open(config_file, encoding="utf-8") as f:
            values = json.load(f)
        if not isinstance(values, dict):
            raise ValueError(f"a JSON {type(values).__name__}, not an object")
        return values
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as e:
        raise ValueError(
            f"{config_file} is not a readable model config ({e}); it is written by flanjax.train "
            "and flanjax.convert: copy it from an intact copy of this checkpoint, or convert again"
        ) from None


def _read_config(config_file: str) -> T5Config:
    values = read_config_dict(config_file)
    try:
        return T5Config.from_dict(values)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{config_file}: {e}") from None


def _load_training_run(
    path: str, step: int | str | None, mesh: Optional[Any] = None
) -> Optional[tuple[T5Config, Any]]:
    """The parameters of a `flanjax.train` MODEL_DIR: checkpoints/{step}/ + flanjax_config.json.

    `step`: None or 'latest', 'best' (KEEP_BEST's), or a number (`resolve_step`).
    """
    run_dir = os.path.join(path, CHECKPOINTS_SUBDIR)
    config_file = os.path.join(path, CONFIG_FILE)
    if not (os.path.isdir(run_dir) and os.path.exists(config_file)):
        return None
    config = _read_config(config_file)
    step = resolve_step(path, step)

    def read(s: int) -> Any:
        step_dir = os.path.join(run_dir, str(s), "default")
        if mesh is not None:
            return _restore_run_params_sharded(step_dir, config, mesh)
        # The saved TrainState, read without a target (host arrays); only params are kept.
        # (orbax warns that no sharding was given: none is wanted, the arrays go to host.)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sharding info not provided")
            state = ocp.PyTreeCheckpointer().restore(step_dir)
        if not isinstance(state, dict) or "params" not in state:
            raise _NoParamsTree(f"{step_dir} holds no `params` tree.")
        params = jax.tree_util.tree_map(np.asarray, state["params"])
        try:
            check_params_match(config, params)
        except ValueError as e:
            raise CheckpointMismatchError(f"{e} (checkpoint {step_dir})") from None
        return params

    try:
        return config, read(step)
    except CheckpointMismatchError:  # readable, but not this config's shapes
        raise
    except Exception as e:  # pylint: disable=broad-except  # orbax / TensorStore raise many kinds
        raise _unreadable_step(run_dir, step, e, read) from None


class _NoParamsTree(ValueError):
    """A step whose metadata lists no `params` (emptied, or not a flanjax TrainState)."""


# -- sharded restore -----------------------------------------------------------------------


def _stored_params(directory: str) -> Any:
    """The `params` subtree of an orbax PyTree checkpoint's metadata (shapes, dtypes)."""
    with ocp.PyTreeCheckpointer() as checkpointer:
        meta = checkpointer.metadata(directory)
    tree = getattr(meta, "item_metadata", meta)  # StepMetadata -> TreeMetadata -> dict
    tree = getattr(tree, "tree", tree)
    if not isinstance(tree, dict) or "params" not in tree:
        raise _NoParamsTree(f"{directory} holds no `params` tree.")
    return tree["params"]


def _sharded_target(directory: str, config: T5Config, mesh: Any, *, stored_dtypes: bool) -> Any:
    """ShapeDtypeStructs carrying `mesh`'s shardings, after checking the stored shapes.

    stored_dtypes: the dtype each parameter was saved with (a run's TrainState, read today
    without a target); else the config's parameter dtype (a converted checkpoint, read
    today into `abstract_params(config)`).
    """
    stored = _stored_params(directory)
    try:
        check_params_match(config, stored)  # leaves have .shape: the same checks, no data read
    except ValueError as e:
        raise CheckpointMismatchError(f"{e} (checkpoint {directory})") from None
    expected = abstract_params(config)
    shardings = mesh.param_shardings(config)
    # `stored` is a plain nested dict with `expected`'s keys (just checked): look leaves up
    # by path rather than zipping trees that may differ in container types.
    def leaf(key_path, spec, sharding):
        node = stored
        for k in key_path:
            node = node[getattr(k, "key", k)]
        dtype = node.dtype if stored_dtypes else spec.dtype
        return jax.ShapeDtypeStruct(spec.shape, dtype, sharding=sharding)

    return jax.tree_util.tree_map_with_path(leaf, expected, shardings)


def _load_converted_sharded(path: str, mesh: Any) -> tuple[T5Config, Any]:
    """A `flanjax.convert` directory restored into `mesh`'s shardings (the trainer's reader)."""
    config = _read_config(os.path.join(path, CONFIG_FILE))
    target = _sharded_target(os.path.join(path, PARAMS_DIR), config, mesh, stored_dtypes=False)
    return config, load_initial_params(path, config, target)


def _restore_run_params_sharded(step_dir: str, config: T5Config, mesh: Any) -> Any:
    """Only `params` of a saved TrainState (any step; the optimizer state is not read)."""
    return restore_run_params(step_dir, _sharded_target(step_dir, config, mesh, stored_dtypes=True))
