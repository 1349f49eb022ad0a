"""Two local JAX processes (gloo CPU collectives) train together and match one process."""

import json
import os
import socket
import subprocess
import sys

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest

from _train_helpers import REPO, restore_params

WORKER = os.path.join(REPO, "tests", "_multihost_worker.py")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(devices_per_process):
    env = dict(os.environ, DEVICES_PER_PROCESS=str(devices_per_process))
    env["PYTHONPATH"] = os.pathsep.join([REPO, os.path.join(REPO, "tests"), env.get("PYTHONPATH", "")])
    return env


def _run(model_dir, nproc, rules):
    port = _free_port()
    procs = [
        subprocess.Popen([sys.executable, WORKER, str(i), str(nproc), str(port), model_dir, rules],
                         cwd=REPO, env=_env(4 // nproc), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for i in range(nproc)
    ]
    outs = []
    for p in procs:
        try:
            out, _ = p.communicate(timeout=400)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise
        outs.append(out)
    for p, out in zip(procs, outs):
        assert p.returncode == 0, out[-4000:]
    return outs


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
