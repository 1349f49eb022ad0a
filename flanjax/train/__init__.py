"""The T5X-style trainer: mesh and rules, Adafactor, the compiled step, checkpoints, metrics.

    partitioning    (data, model) mesh; logical-axis rule presets; derived shardings
    optimizers      Adafactor with T5X's defaults; constant / rsqrt schedules
    input_pipeline  host-local seqio shards -> global batches; (seed, step)-exact resume
    trainer         TrainState, loss, `train_step` compiled once with explicit shardings
    checkpoints     orbax CheckpointManager; initial params from `flanjax.convert`; SIGTERM
    metrics         TensorBoard events, train_metrics.jsonl, progress line, MFU
    loop            the gin-configurable `train` behind `python -m flanjax.train`

Submodules are imported on use so that `import flanjax.train` stays light.
"""
