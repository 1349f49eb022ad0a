"""Loading a model to evaluate, whichever way it was written.

  - a training run's MODEL_DIR (orbax steps written by `flanjax.train`), latest or `step`;
  - a converted checkpoint (`python -m flanjax.convert --from_hf ... --out DIR`);
  - a Hugging Face `save_pretrained` directory (config.json + safetensors).

With `mesh=` (a `batching.EvalMesh`) the parameters come back as global `jax.Array`s with
the mesh's partitioned shardings (`EvalMesh.param_shardings`). The two orbax formats are
restored straight into those shardings, as T5X does and as the trainer does for
fine-tuning (`flanjax.train.checkpoints.load_initial_params`): the config is read first,
the target is a tree of `jax.ShapeDtypeStruct(shape, dtype, sharding=...)`, and each
process reads only the shards its devices hold, so the parameters never exist in full on
a host (what makes XXL evaluation fit). Of a training run's TrainState only the `params`
subtree is read (orbax partial restore): the optimizer state is never touched, whatever
optimizer wrote it. A Hugging Face directory has no sharded format (safetensors tensors
in HF layout, which need transposing/reshaping into flanjax's parameter tree), so it is
read to host as without a mesh and then placed with `EvalMesh.place_params`.

Before a sharded restore the checkpoint's own metadata is checked against its config, so a
checkpoint of another shape is one `CheckpointMismatchError` line naming the parameter and
both shapes (the message of `flanjax.convert.hf.check_params_match`), not an orbax error.
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Optional

from flanjax.model import T5Config


class CheckpointNotFoundError(FileNotFoundError):
    pass


class CheckpointMismatchError(ValueError):
    """The checkpoint's parameters do not have the shapes its config gives them."""


def _is_hf_dir(path: str) -> bool:
    return os.path.exists(os.path.join(path, "config.json")) and any(
        f.endswith(".safetensors") for f in os.listdir(path)
    )


def load_model(
    path: str, *, step: Optional[int] = None, mesh: Optional[Any] = None, **config_overrides: Any
) -> tuple[T5Config, Any]:
    """(config, params) from a MODEL_DIR, a converted checkpoint or a Hugging Face dir.

    `config_overrides` replace config fields (e.g. `dtype="float32"` for CPU evaluation:
    `dtype` is the activation dtype; the parameters keep the dtype they were stored with,
    with or without a mesh).

    `mesh`: a `flanjax.evaluation.batching.EvalMesh`; the parameters are then returned
    sharded on it (`mesh.param_shardings(config)`), restored shard by shard for the orbax
    formats (see the module docstring). None: host numpy arrays, as before.
    """
    from flanjax.convert import checkpoint as convert_ckpt  # pylint: disable=g-import-not-at-top

    path = os.path.abspath(os.path.expanduser(path))
    if not os.path.isdir(path):
        raise CheckpointNotFoundError(f"Checkpoint directory {path!r} does not exist.")
    if os.path.exists(os.path.join(path, convert_ckpt.CONFIG_FILE)) and os.path.isdir(
        os.path.join(path, convert_ckpt.PARAMS_DIR)
    ):
        if mesh is None:
            try:
                config, params = convert_ckpt.load_flanjax_checkpoint(path)
            except ValueError as e:  # check_params_match: names the parameter and shapes
                raise CheckpointMismatchError(f"{e} (checkpoint {path})") from None
        else:
            config, params = _load_converted_sharded(path, mesh)
        return config.replace(**config_overrides), params
    if _is_hf_dir(path):
        from flanjax.convert import load_hf_t5  # pylint: disable=g-import-not-at-top

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


def _read_config(config_file: str) -> T5Config:
    import json  # pylint: disable=g-import-not-at-top

    with open(config_file) as f:
        return T5Config.from_dict(json.load(f))


def _load_training_run(
    path: str, step: Optional[int], mesh: Optional[Any] = None
) -> Optional[tuple[T5Config, Any]]:
    """The parameters of a `flanjax.train` MODEL_DIR: checkpoints/{step}/ + flanjax_config.json."""
    import jax  # pylint: disable=g-import-not-at-top
    import numpy as np  # pylint: disable=g-import-not-at-top
    import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top

    from flanjax.convert.hf import check_params_match  # pylint: disable=g-import-not-at-top
    from flanjax.train import checkpoints as train_ckpt  # pylint: disable=g-import-not-at-top

    run_dir = os.path.join(path, train_ckpt.CHECKPOINTS_SUBDIR)
    config_file = os.path.join(path, train_ckpt.CONFIG_FILE)
    if not (os.path.isdir(run_dir) and os.path.exists(config_file)):
        return None
    config = _read_config(config_file)
    manager = ocp.CheckpointManager(run_dir)
    try:
        steps = list(manager.all_steps())
        if not steps:
            raise CheckpointNotFoundError(f"{run_dir} holds no finished checkpoint yet.")
        if step is None:
            step = manager.latest_step()
        elif step not in steps:
            raise CheckpointNotFoundError(f"No step {step} in {run_dir}; steps: {sorted(steps)}.")
        step_dir = os.path.join(run_dir, str(step), "default")
        if mesh is not None:
            return config, _restore_run_params_sharded(step_dir, config, mesh)
        # The saved TrainState, read without a target (host arrays); only params are kept.
        # (orbax warns that no sharding was given: none is wanted, the arrays go to host.)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sharding info not provided")
            state = ocp.PyTreeCheckpointer().restore(step_dir)
    finally:
        manager.close()
    params = jax.tree_util.tree_map(np.asarray, state["params"])
    try:
        check_params_match(config, params)
    except ValueError as e:
        raise CheckpointMismatchError(f"{e} (checkpoint {step_dir})") from None
    return config, params


# -- sharded restore -----------------------------------------------------------------------


def _stored_params(directory: str) -> Any:
    """The `params` subtree of an orbax PyTree checkpoint's metadata (shapes, dtypes)."""
    import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top

    with ocp.PyTreeCheckpointer() as checkpointer:
        meta = checkpointer.metadata(directory)
    tree = getattr(meta, "item_metadata", meta)  # StepMetadata -> TreeMetadata -> dict
    tree = getattr(tree, "tree", tree)
    if not isinstance(tree, dict) or "params" not in tree:
        raise CheckpointMismatchError(f"{directory} holds no `params` tree.")
    return tree["params"]


def _sharded_target(directory: str, config: T5Config, mesh: Any, *, stored_dtypes: bool) -> Any:
    """ShapeDtypeStructs carrying `mesh`'s shardings, after checking the stored shapes.

    stored_dtypes: the dtype each parameter was saved with (a run's TrainState, read today
    without a target); else the config's parameter dtype (a converted checkpoint, read
    today into `abstract_params(config)`).
    """
    import jax  # pylint: disable=g-import-not-at-top

    from flanjax.convert.hf import check_params_match  # pylint: disable=g-import-not-at-top
    from flanjax.model import abstract_params  # pylint: disable=g-import-not-at-top

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
    from flanjax.convert import checkpoint as convert_ckpt  # pylint: disable=g-import-not-at-top
    from flanjax.train import checkpoints as train_ckpt  # pylint: disable=g-import-not-at-top

    config = _read_config(os.path.join(path, convert_ckpt.CONFIG_FILE))
    target = _sharded_target(
        os.path.join(path, convert_ckpt.PARAMS_DIR), config, mesh, stored_dtypes=False
    )
    return config, train_ckpt.load_initial_params(path, config, target)


def _restore_run_params_sharded(step_dir: str, config: T5Config, mesh: Any) -> Any:
    """Only `params` of a saved TrainState, into `mesh`'s shardings (orbax partial restore).

    `train.checkpoints.load_initial_params` restores the whole TrainState (it needs the
    optimizer's abstract state, and takes the latest step); evaluation reads any step and
    never the optimizer state, which it does not know the shape of.
    """
    import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top

    target = {"params": _sharded_target(step_dir, config, mesh, stored_dtypes=True)}
    args = ocp.args.PyTreeRestore(
        item=target,
        restore_args=ocp.checkpoint_utils.construct_restore_args(target),
        partial_restore=True,
    )
    with ocp.PyTreeCheckpointer() as checkpointer:
        return checkpointer.restore(step_dir, args=args)["params"]
