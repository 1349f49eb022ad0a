"""Training metrics: TensorBoard events, `MODEL_DIR/train_metrics.jsonl`, a progress line, MFU.

`train_metrics.jsonl`: one JSON object per logged step (step, loss, cross_entropy, z_loss,
token_accuracy, learning_rate, grad_norm, num_tokens, num_examples, steps_per_second,
tokens_per_second, target_tokens_per_second, examples_per_second, mfu), means over the
steps since the previous line. `eval_metrics.jsonl`: validation (`eval/...`) and held-out
(`heldout/...`) records. TensorBoard gets both under `MODEL_DIR/tensorboard`.

MFU (model FLOPs utilisation) = model FLOPs per step / (step time x peak FLOP/s x devices).
Model FLOPs come from `flanjax.model.flops_per_token` (forward + backward, matmuls only)
times the tokens the step processes (batch x (input length + target length), padding
included: the matmuls run over it). Peaks are dense bf16 per chip from the vendors' sheets;
CPU has no sheet, so its float32 matmul rate is measured (or pass `peak_flops`): once at
start-up, and again whenever a step would beat it (the machine was busier while it was
measured); a step that still beats the new measurement has no honest MFU, and its `mfu`
is null ("n/a" on the console), never above 100%. The first logged step of a run (the
compiling one, kept out of the timing) has no throughput: null and "n/a", not NaN.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, Mapping

import jax
import numpy as np

# Dense bf16 peak FLOP/s per device, keyed by a lower-case substring of `device_kind`.
PEAK_FLOPS: dict[str, float] = {
    "tpu v4": 275e12,
    "tpu v5 lite": 197e12,  # v5e
    "tpu v5e": 197e12,
    "tpu v5p": 459e12,
    "tpu v5": 459e12,  # "TPU v5" is v5p
    "tpu v6 lite": 918e12,  # v6e (Trillium)
    "h100": 989e12,  # SXM, dense
    "h200": 989e12,
    "a100": 312e12,
}

_CPU_PEAK: float | None = None


def measured_cpu_peak(size: int = 1024, repeats: int = 3, *, again: bool = False) -> float:
    """float32 matmul FLOP/s of this host (the best of a few runs), cached; `again`: measure
    once more and keep the higher figure."""
    global _CPU_PEAK
    if _CPU_PEAK is None or again:
        previous = _CPU_PEAK or 0.0
        a = np.ones((size, size), np.float32)
        f = jax.jit(lambda x: x @ x, backend="cpu")
        jax.block_until_ready(f(a))
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            jax.block_until_ready(f(a))
            best = min(best, time.perf_counter() - start)
        _CPU_PEAK = max(previous, 2.0 * size**3 / best)
    return _CPU_PEAK


def peak_flops_per_device(device_kind: str | None = None) -> float | None:
    kind = (device_kind or jax.devices()[0].device_kind).lower()
    for key in sorted(PEAK_FLOPS, key=len, reverse=True):
        if key in kind:
            return PEAK_FLOPS[key]
    if jax.devices()[0].platform == "cpu":
        return measured_cpu_peak()
    return None


class ScalarWriter:
    """TensorBoard scalars with TensorFlow alone.

    clu's writers (and `tf.summary.scalar`) import the `tensorboard` package, which is not
    a dependency; `tf.summary.write` with the scalars plugin's metadata writes the same
    event records that TensorBoard reads.
    """

    def __init__(self, logdir: str) -> None:
        import tensorflow as tf
        from tensorflow.core.framework import summary_pb2

        self._tf = tf
        self._writer = tf.summary.create_file_writer(logdir)
        self._metadata = summary_pb2.SummaryMetadata()
        self._metadata.plugin_data.plugin_name = "scalars"

    def write_scalars(self, step: int, scalars: Mapping[str, float]) -> None:
        tf = self._tf
        with self._writer.as_default():
            for tag, value in scalars.items():
                tf.summary.write(tag, tf.constant(float(value), tf.float32), step=step, metadata=self._metadata)

    def scalar(self, tag: str, value: float, step: int) -> None:
        self.write_scalars(int(step), {tag: value})

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.flush()
        self._writer.close()


def cut_after(path: str, step: int) -> None:
    """Drops a jsonl file's records past `step` (and a torn last line).

    A run resumed from step S repeats the steps after S; their earlier records (logged
    before the stop, after the checkpoint) go, so every curve has each step once.
    """
    if not os.path.exists(path):
        return
    kept = []
    with open(path) as f:
        for line in f:
            try:
                if int(json.loads(line)["step"]) <= step:
                    kept.append(line if line.endswith("\n") else line + "\n")
            except (ValueError, KeyError, TypeError):
                continue
    with open(path + ".tmp", "w") as f:
        f.writelines(kept)
    os.replace(path + ".tmp", path)


class MetricsLogger:
    """Writes on process 0 only: jsonl files, TensorBoard events and stdout."""

    def __init__(
        self,
        model_dir: str,
        *,
        flops_per_step: float,
        tokens_per_step: int,
        num_devices: int,
        peak_flops: float | None = None,
        total_steps: int | None = None,
        resume_step: int | None = None,
        progress: Any = None,
    ) -> None:
        """`resume_step`: a resumed run's restored step (records past it are cut from the
        jsonl files, so the replayed steps appear once). `progress`: a
        `flanjax.train.progress.Progress`, whose elapsed/ETA ends each line."""
        self.is_writer = jax.process_index() == 0
        self.flops_per_step = flops_per_step
        self.tokens_per_step = tokens_per_step
        self.num_devices = num_devices
        self.total_steps = total_steps
        self.progress = progress
        self.peak = peak_flops if peak_flops is not None else peak_flops_per_device()
        # A measured peak (CPU), not a sheet's: measured again when a step beats it.
        self._measured_peak = peak_flops is None and self.peak is not None and jax.devices()[0].platform == "cpu"
        self._writer = None
        self._jsonl = None
        self._eval_jsonl = None
        if self.is_writer:
            os.makedirs(model_dir, exist_ok=True)
            if resume_step is not None:
                for name in ("train_metrics.jsonl", "eval_metrics.jsonl"):
                    cut_after(os.path.join(model_dir, name), resume_step)
            self._writer = ScalarWriter(os.path.join(model_dir, "tensorboard"))
            self._jsonl = open(os.path.join(model_dir, "train_metrics.jsonl"), "a")
            # Validation and held-out records go to their own file, so that every line of
            # train_metrics.jsonl has the same keys.
            self._eval_jsonl = open(os.path.join(model_dir, "eval_metrics.jsonl"), "a")

    def log_train(self, step: int, metrics: Mapping[str, Any], seconds_per_step: float, examples: float) -> dict:
        """`metrics`: host floats averaged over the logging window; returns the record."""
        record: dict[str, Any] = {"step": int(step)}
        record.update({k: float(v) for k, v in metrics.items()})
        timed = bool(np.isfinite(seconds_per_step)) and seconds_per_step > 0  # not the compiling step
        rate = (lambda n: n / seconds_per_step) if timed else (lambda n: None)
        record["steps_per_second"] = rate(1.0)
        record["tokens_per_second"] = rate(self.tokens_per_step)
        record["target_tokens_per_second"] = rate(float(metrics.get("num_tokens", 0.0)))
        record["examples_per_second"] = rate(examples)
        if self.peak:
            record["mfu"] = self._mfu(seconds_per_step) if timed else None
        self._write(step, record, prefix="train")
        if self.is_writer:
            total = f"/{self.total_steps}" if self.total_steps else ""
            shown = (lambda v, f: "n/a" if v is None else format(v, f))
            print(
                f"step {step}{total} loss {record['loss']:.4f} acc {record.get('token_accuracy', 0):.3f} "
                f"lr {record.get('learning_rate', 0):.2e} |g| {record.get('grad_norm', 0):.3f} "
                f"{shown(record['tokens_per_second'], '.0f')} tok/s {shown(record['examples_per_second'], '.1f')} ex/s"
                + (f" mfu {shown(record['mfu'], '.1%')}" if "mfu" in record else "")
                + (f" | {self.progress.describe(step)}" if self.progress is not None else ""),
                flush=True,
            )
        return record

    def _mfu(self, seconds_per_step: float) -> float | None:
        """Model FLOPs / (time x peak x devices), at most 1; None when no peak figure holds."""
        achieved = self.flops_per_step / (seconds_per_step * self.num_devices)  # FLOP/s a device
        if achieved > self.peak and self._measured_peak:  # measured under more load than now
            self.peak = max(self.peak, measured_cpu_peak(again=True))
        return achieved / self.peak if achieved <= self.peak else None

    def log_eval(self, step: int, metrics: Mapping[str, Any], prefix: str = "eval") -> dict:
        record = {"step": int(step), **{f"{prefix}/{k}": float(v) for k, v in metrics.items()}}
        self._write(step, record, prefix=None, jsonl=self._eval_jsonl)
        if self.is_writer:
            # The console gets the overall and per-cluster scores; per-dataset ones go to the
            # files and TensorBoard only.
            shown = " ".join(f"{k} {v:.4f}" for k, v in record.items() if k != "step" and "/dataset/" not in k)
            print(f"step {step} {shown}", flush=True)
        return record

    def _write(self, step: int, record: Mapping[str, Any], prefix: str | None, jsonl: Any = None) -> None:
        if not self.is_writer:
            return
        scalars = {(f"{prefix}/{k}" if prefix else k): v for k, v in record.items()
                   if k != "step" and v is not None}
        self._writer.write_scalars(int(step), scalars)
        jsonl = jsonl or self._jsonl
        jsonl.write(json.dumps(dict(record)) + "\n")
        jsonl.flush()

    def log_text(self, message: str) -> None:
        if self.is_writer:
            print(message, flush=True)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.flush()
            self._writer.close()
        for f in (self._jsonl, self._eval_jsonl):
            if f is not None:
                f.close()
