"""Shared by the trainer, checkpoint and multi-host tests (not a test module)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = sys.executable
# A subprocess timeout is a hang guard, never a speed check: a loaded 2-core machine runs a
# test's child several times slower than an idle one, and a slow run is not a failed run.
HANG_GUARD_S = int(os.environ.get("FLANJAX_TEST_HANG_GUARD_S", "1800"))


def tiny_config(**overrides):
    from flanjax.model import T5Config

    values = dict(vocab_size=128, dtype="float32", num_encoder_layers=1, num_decoder_layers=1)
    values.update(overrides)
    return T5Config.tiny(**values)


def random_batch(seed: int, batch: int = 8, in_len: int = 16, tgt_len: int = 8, vocab: int = 128) -> dict:
    """A packed-looking batch: two segments per row, padding at the end of some rows."""
    rs = np.random.RandomState(seed)
    out = {
        "encoder_input_tokens": rs.randint(2, vocab, (batch, in_len)),
        "decoder_target_tokens": rs.randint(2, vocab, (batch, tgt_len)),
    }
    enc_seg = np.where(np.arange(in_len) < in_len // 2, 1, 2)[None].repeat(batch, 0)
    dec_seg = np.where(np.arange(tgt_len) < tgt_len // 2, 1, 2)[None].repeat(batch, 0)
    pad = rs.randint(0, 3, batch)
    for r in range(batch):
        if pad[r]:
            out["encoder_input_tokens"][r, in_len - pad[r]:] = 0
            out["decoder_target_tokens"][r, tgt_len - pad[r]:] = 0
            enc_seg[r, in_len - pad[r]:] = 0
            dec_seg[r, tgt_len - pad[r]:] = 0
    dec_in = np.zeros_like(out["decoder_target_tokens"])
    dec_in[:, 1:] = out["decoder_target_tokens"][:, :-1]
    dec_in[:, tgt_len // 2] = 0  # each segment starts from the decoder start id
    out["decoder_input_tokens"] = dec_in
    out["decoder_loss_weights"] = (out["decoder_target_tokens"] > 0).astype(np.int32)
    out["encoder_segment_ids"] = enc_seg
    out["decoder_segment_ids"] = dec_seg
    out["encoder_positions"] = np.where(np.arange(in_len) < in_len // 2, np.arange(in_len), np.arange(in_len) - in_len // 2)[None].repeat(batch, 0) * (enc_seg > 0)
    out["decoder_positions"] = np.where(np.arange(tgt_len) < tgt_len // 2, np.arange(tgt_len), np.arange(tgt_len) - tgt_len // 2)[None].repeat(batch, 0) * (dec_seg > 0)
    return {k: np.asarray(v, np.int32) for k, v in out.items()}


def process_rows(pid: int, nproc: int, global_batch: int):
    """Process `pid`'s rows of each global `random_batch(step)`, step 0, 1, ... (multi-host workers)."""
    rows = global_batch // nproc
    step = 0
    while True:
        batch = random_batch(step, batch=global_batch)
        yield {k: v[pid * rows:(pid + 1) * rows] for k, v in batch.items()}
        step += 1


def subprocess_env(devices: int | None = None, **extra: str) -> dict:
    """The environment of a test's child interpreter: the repository and tests/ importable;
    with `devices`, JAX on that many simulated CPU devices."""
    env = dict(os.environ, **extra)
    env["PYTHONPATH"] = os.pathsep.join([REPO, os.path.join(REPO, "tests"), env.get("PYTHONPATH", "")])
    if devices is not None:
        env.update(JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="3")
        env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={devices}"
    return env


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on (for a jax.distributed coordinator)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(script: str, args, env: dict) -> subprocess.Popen:
    """`python script *args` from the repository root, stdout and stderr together."""
    return subprocess.Popen([PYTHON, script, *map(str, args)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(procs, timeout: int = HANG_GUARD_S) -> list[str]:
    """Waits for every process (killing all if one overruns); each must exit 0. Outputs."""
    outs = []
    for p in procs:
        try:
            out, _ = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            tails = [f"--- process {i}:\n{(q.communicate()[0] or '')[-3000:]}" for i, q in enumerate(procs)]
            raise AssertionError(f"hang guard: no exit after {timeout} s\n" + "\n".join(tails)) from None
        outs.append(out)
    for p, out in zip(procs, outs):
        assert p.returncode == 0, out[-5000:]
    return outs


def run_python(code: str, *, devices: int = 1, env: dict | None = None, timeout: int = HANG_GUARD_S) -> str:
    """Runs `code` in a fresh interpreter with `devices` simulated CPU devices; returns stdout."""
    full_env = subprocess_env(devices, **(env or {}))
    proc = subprocess.run(
        [PYTHON, "-c", code], capture_output=True, text=True, env=full_env, cwd=REPO, timeout=timeout
    )
    if proc.returncode != 0:
        raise AssertionError(f"subprocess failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr[-4000:]}")
    return proc.stdout


def restore_params(model_dir: str, step: int):
    """A run's params at `step`, onto this process's first device (any saved topology)."""
    import jax
    import orbax.checkpoint as ocp

    path = os.path.join(model_dir, "checkpoints", str(step), "default")
    device = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    with ocp.StandardCheckpointer() as checkpointer:
        meta = checkpointer.metadata(path)
        tree = getattr(meta, "item_metadata", None) or meta
        tree = getattr(tree, "tree", tree)
        target = jax.tree.map(lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype, sharding=device), tree)
        return checkpointer.restore(path, target)["params"]
