"""Loading a model to evaluate, whichever way it was written.

  - a training run's MODEL_DIR (orbax steps written by `flanjax.train`), latest or `step`;
  - a converted checkpoint (`python -m flanjax.convert --from_hf ... --out DIR`);
  - a Hugging Face `save_pretrained` directory (config.json + safetensors).
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Optional

from flanjax.model import T5Config


class CheckpointNotFoundError(FileNotFoundError):
    pass


def _is_hf_dir(path: str) -> bool:
    return os.path.exists(os.path.join(path, "config.json")) and any(
        f.endswith(".safetensors") for f in os.listdir(path)
    )


def load_model(
    path: str, *, step: Optional[int] = None, **config_overrides: Any
) -> tuple[T5Config, Any]:
    """(config, params) from a MODEL_DIR, a converted checkpoint or a Hugging Face dir.

    `config_overrides` replace config fields (e.g. `dtype="float32"` for CPU evaluation).
    """
    from flanjax.convert import checkpoint as convert_ckpt  # pylint: disable=g-import-not-at-top

    path = os.path.abspath(os.path.expanduser(path))
    if not os.path.isdir(path):
        raise CheckpointNotFoundError(f"Checkpoint directory {path!r} does not exist.")
    if os.path.exists(os.path.join(path, convert_ckpt.CONFIG_FILE)) and os.path.isdir(
        os.path.join(path, convert_ckpt.PARAMS_DIR)
    ):
        config, params = convert_ckpt.load_flanjax_checkpoint(path)
        return config.replace(**config_overrides), params
    if _is_hf_dir(path):
        from flanjax.convert import load_hf_t5  # pylint: disable=g-import-not-at-top

        return load_hf_t5(path, **config_overrides)
    loaded = _load_training_run(path, step)  # None if `path` is not a MODEL_DIR
    if loaded is not None:
        config, params = loaded
        return config.replace(**config_overrides), params
    raise CheckpointNotFoundError(
        f"{path!r} is neither a training run's MODEL_DIR (with orbax step folders), a converted "
        "flanjax checkpoint (flanjax_config.json + checkpoint/) nor a Hugging Face directory "
        "(config.json + *.safetensors)."
    )


def _load_training_run(path: str, step: Optional[int]) -> Optional[tuple[T5Config, Any]]:
    """The parameters of a `flanjax.train` MODEL_DIR: checkpoints/{step}/ + flanjax_config.json."""
    import json  # pylint: disable=g-import-not-at-top

    import jax  # pylint: disable=g-import-not-at-top
    import numpy as np  # pylint: disable=g-import-not-at-top
    import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top

    from flanjax.convert.hf import check_params_match  # pylint: disable=g-import-not-at-top
    from flanjax.train import checkpoints as train_ckpt  # pylint: disable=g-import-not-at-top

    run_dir = os.path.join(path, train_ckpt.CHECKPOINTS_SUBDIR)
    config_file = os.path.join(path, train_ckpt.CONFIG_FILE)
    if not (os.path.isdir(run_dir) and os.path.exists(config_file)):
        return None
    with open(config_file) as f:
        config = T5Config.from_dict(json.load(f))
    manager = ocp.CheckpointManager(run_dir)
    try:
        steps = list(manager.all_steps())
        if not steps:
            raise CheckpointNotFoundError(f"{run_dir} holds no finished checkpoint yet.")
        if step is None:
            step = manager.latest_step()
        elif step not in steps:
            raise CheckpointNotFoundError(f"No step {step} in {run_dir}; steps: {sorted(steps)}.")
        # The saved TrainState, read without a target (host arrays); only params are kept.
        # (orbax warns that no sharding was given: none is wanted, the arrays go to host.)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sharding info not provided")
            state = ocp.PyTreeCheckpointer().restore(os.path.join(run_dir, str(step), "default"))
    finally:
        manager.close()
    params = jax.tree_util.tree_map(np.asarray, state["params"])
    check_params_match(config, params)
    return config, params
