"""A converted model on disk: `flanjax_config.json` plus an orbax checkpoint of {params}."""

from __future__ import annotations

import json
import os
from typing import Any

import jax
import numpy as np

from flanjax.model.config import T5Config

CONFIG_FILE = "flanjax_config.json"
PARAMS_DIR = "checkpoint"


def save_flanjax_checkpoint(config: T5Config, params: Any, out_dir: str) -> str:
    """Writes `out_dir/flanjax_config.json` and `out_dir/checkpoint` ({"params": ...})."""
    import orbax.checkpoint as ocp

    out_dir = os.path.abspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, CONFIG_FILE), "w") as f:
        f.write(config.to_json())
    tree = {"params": jax.tree_util.tree_map(np.asarray, params)}
    with ocp.StandardCheckpointer() as checkpointer:
        checkpointer.save(os.path.join(out_dir, PARAMS_DIR), tree, force=True)
        checkpointer.wait_until_finished()
    return out_dir


def load_flanjax_checkpoint(path: str) -> tuple[T5Config, Any]:
    """Reads what `save_flanjax_checkpoint` wrote: (config, params as host arrays)."""
    import orbax.checkpoint as ocp

    from flanjax.convert.hf import check_params_match
    from flanjax.model.network import abstract_params

    path = os.path.abspath(path)
    config_file = os.path.join(path, CONFIG_FILE)
    if not os.path.exists(config_file):
        raise FileNotFoundError(f"No {CONFIG_FILE} in {path}: not a flanjax checkpoint")
    with open(config_file) as f:
        config = T5Config.from_dict(json.load(f))
    target = {"params": abstract_params(config)}
    with ocp.StandardCheckpointer() as checkpointer:
        restored = checkpointer.restore(os.path.join(path, PARAMS_DIR), target)
    params = jax.tree_util.tree_map(np.asarray, restored["params"])
    check_params_match(config, params)
    return config, params
