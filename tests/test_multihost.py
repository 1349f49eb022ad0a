"""Two local JAX processes (gloo CPU collectives) train together and match one process."""

import json
import os

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest

from _train_helpers import REPO, finish, free_port, restore_params, spawn, subprocess_env

WORKER = os.path.join(REPO, "tests", "_multihost_worker.py")


def _run(model_dir, nproc, rules):
    port = free_port()
    env = subprocess_env(DEVICES_PER_PROCESS=str(4 // nproc))
    return finish([spawn(WORKER, [i, nproc, port, model_dir, rules], env) for i in range(nproc)], timeout=400)


def _losses(model_dir):
    lines = open(os.path.join(model_dir, "train_metrics.jsonl")).read().splitlines()
    return [json.loads(l)["loss"] for l in lines]


def _params(model_dir, step=3):
    return restore_params(model_dir, step)


# data_parallel passes too; the 2-D case (a (2, 2) mesh whose rows are the two processes)
# covers it and keeps the test short.
@pytest.mark.parametrize("rules", ["fsdp_tp"])
def test_two_processes_agree_with_one(tmp_path, rules):
    one, two = str(tmp_path / "one"), str(tmp_path / "two")
    _run(one, 1, rules)  # 1 process x 4 devices
    outs = _run(two, 2, rules)  # 2 processes x 2 devices
    assert "2 process(es)" in outs[0]
    np.testing.assert_allclose(_losses(two), _losses(one), rtol=1e-5)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), _params(two), _params(one))
