"""The training loop: `train`, which `python -m flanjax.train` calls with gin-bound arguments.

It wires the pieces together: mesh and rules (`partitioning`), host-local seqio input
(`input_pipeline`), Adafactor (`optimizers`), the compiled step (`trainer`), orbax
checkpoints (`checkpoints`) and metrics (`metrics`). Everything here runs on the host; the
only device work is `Trainer.train_step` / `eval_step`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import time
from typing import Any, Callable, Iterable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from flanjax.data import cache as cache_lib
from flanjax.data.templates import sources as prompt_sources
from flanjax.model import T5Config, flops_per_token
from flanjax import checkpoints as ckpt_lib
from flanjax.train import heldout_eval
from flanjax.train import initial as initial_lib
from flanjax.train import input_pipeline
from flanjax.train import metrics as metrics_lib
from flanjax.train import optimizers
from flanjax import partitioning
from flanjax.train import interrupt, recovery
from flanjax.train.progress import Progress
from flanjax.train.trainer import LossConfig, Trainer

# Held-out evaluation comes in as a callback (`heldout_eval.PeriodicEval`): the train
# command builds it from flanjax.evaluation; training never imports evaluation.
PeriodicEval = heldout_eval.PeriodicEval


class NonFiniteLossError(RuntimeError):
    """The loss became NaN/inf; the run stopped without saving the bad state."""


@dataclasses.dataclass
class TrainResult:
    step: int
    status: str  # "done" | "interrupted" (saved on SIGTERM/SIGINT) | "already done"
    last_metrics: dict
    state: Any = None


def _check_vocab(config: T5Config, mixture_or_task_name: str) -> None:
    from flanjax.data import mixtures
    from flanjax.data import vocab as vocab_lib

    task = mixtures.get_mixture_or_task(mixture_or_task_name)
    vocab = task.output_features["targets"].vocabulary
    vocab_lib.load_or_explain(vocab)  # T5's gs:// model unreachable: one line, before tf.data
    needed = vocab_lib.padded_vocab_size(vocab, multiple=1)
    if config.vocab_size < needed:
        raise ValueError(
            f"model vocab_size {config.vocab_size} is smaller than {mixture_or_task_name!r}'s "
            f"vocabulary ({needed} ids); set make_config.vocab_size = "
            f"{vocab_lib.padded_vocab_size(vocab)} (padded to a multiple of 128)"
        )


def _mean_metrics(window: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    host = jax.device_get(list(window))
    keys = host[0].keys()
    out = {k: float(np.mean([m[k] for m in host])) for k in keys}
    # Token counts are per step; report totals as per-step means too (already the mean).
    return out


def train(
    *,
    model_config: T5Config,
    mixture_or_task_name: str,
    task_feature_lengths: Mapping[str, int],
    train_steps: int,
    batch_size: int,
    model_dir: str,
    seed: int = 0,
    initial_checkpoint_path: str | None = None,
    initial_step: int | None = None,
    checkpoint_period: int = 1000,
    keep_checkpoints: int | None = 3,
    async_checkpointing: bool = True,
    log_period: int = 10,
    eval_period: int = 0,
    eval_batches: int = 4,
    eval_split: str = "validation",
    periodic_eval: PeriodicEval | None = None,
    keep_best: str | None = None,
    eval_at_start: bool = True,
    heldout_cluster: str | None = None,
    mesh_shape: Sequence[int] = (-1, 1),
    num_slices: int = 1,  # TPU slices joined over DCN; mesh_shape is one slice's
    logical_rules: str | Sequence[tuple[str, Any]] = "data_parallel",
    num_microbatches: int = 1,
    z_loss: float = 1e-4,
    label_smoothing: float = 0.0,
    loss_normalizing_factor: float | None = None,
    pack: bool = True,
    use_cached: bool = False,
    peak_flops: float | None = None,
    make_schedule: Callable[[], Any] = optimizers.make_schedule,
    make_optimizer: Callable[..., Any] = optimizers.make_optimizer,
    host_batches: Iterable[Mapping[str, np.ndarray]] | None = None,
    eval_host_batches: Sequence[Mapping[str, np.ndarray]] | None = None,
    stop_after_steps: int | None = None,
    resume_from_last_good: bool = False,
    on_validated: Callable[[], None] | None = None,
    startup: interrupt.Startup | None = None,
) -> TrainResult:
    """Trains `model_config` on a seqio mixture for `train_steps` steps; resumes if it can.

    The run resumes from the latest checkpoint in MODEL_DIR when there is one; otherwise it
    starts from INITIAL_CHECKPOINT_PATH's parameters (fine-tuning) or from scratch.
    Fine-tuning continues the step count as T5X's does (`t5x/train.py` starts at the
    restored `train_state.step`): at `initial_step` (INITIAL_STEP) if given, else at the
    step the initial checkpoint records (a converted directory's `flanjax_step.json`, a
    run's latest step), else 0; the schedule and Adafactor's decay follow it, checkpoints
    are numbered by it, and `train_steps` is the absolute step to stop at (T5X's
    TRAIN_STEPS "includes pretrain steps", `t5x/configs/runs/finetune.gin`). The optimizer
    state comes from the initial checkpoint when it holds this optimizer's (a flanjax run);
    otherwise it starts empty, which the log says.
    `host_batches` (tests) replaces the seqio stream by any iterable of this process's
    rows; it must already start at the resumed step. `stop_after_steps` ends the run
    early, as if interrupted (tests of resumption).

    `periodic_eval` (built by the train command from EVAL_ON, see `heldout_eval`) scores
    held-out clusters with the parameters in memory every `eval_period` steps (and at the
    start step unless `eval_at_start=False` or the curve has it); `keep_best` (a key of its
    scores) keeps the best checkpoint by it beside the last `keep_checkpoints`.

    Nothing in MODEL_DIR changes until the data, the model, the resume (same model and
    optimizer state, a readable checkpoint, TRAIN_STEPS not below it) and the initial
    checkpoint are validated; then `on_validated()` runs (the command writes config.gin),
    flanjax_config.json and the vocabulary are written atomically, and training starts.
    `resume_from_last_good`: see `flanjax.train.recovery`. `startup` (the train command's)
    says each start-up phase and stops on SIGINT/SIGTERM until the first step
    (`interrupt.Startup`); without it the phases are said and signals keep their handlers.
    """
    model_dir = os.path.abspath(model_dir)
    say = (lambda m: print(m, flush=True)) if jax.process_index() == 0 else (lambda m: None)
    startup = startup or interrupt.Startup(log=say, handle_signals=False)
    if keep_best and periodic_eval is None:
        raise ValueError(
            f"KEEP_BEST={keep_best!r} needs held-out scores: set EVAL_ON (and EVAL_PERIOD) or "
            "leave KEEP_BEST unset"
        )
    mesh = partitioning.make_mesh(mesh_shape, num_slices=num_slices)
    rules = partitioning.rules_for_mesh(partitioning.get_rules(logical_rules), mesh)
    dp = partitioning.data_parallel_size(mesh, rules)
    host_batch_size = input_pipeline.check_batch_size(
        batch_size, process_count=jax.process_count(), data_parallel_size=dp,
        num_microbatches=num_microbatches,
    )
    input_pipeline.check_host_batch_memory(host_batch_size, task_feature_lengths)  # the figure, not a TF OOM

    # -- input -----------------------------------------------------------------------
    ds = None
    host_batches_given = host_batches is not None
    if host_batches is None:
        def build():
            _check_vocab(model_config, mixture_or_task_name)
            return input_pipeline.make_dataset(mixture_or_task_name, task_feature_lengths, host_batch_size,
                                               split="train", seed=seed, pack=pack, use_cached=use_cached)

        startup.say(f"building the input pipeline of {mixture_or_task_name}")
        ds = startup.wait(build)
        shapes = input_pipeline.batch_shapes(ds, batch_size)
    else:
        host_batches = iter(host_batches)
        first = next(host_batches)
        shapes = {k: jax.ShapeDtypeStruct((batch_size,) + np.shape(v)[1:], np.int32) for k, v in first.items()}
        host_batches = _chain([first], host_batches)

    # -- trainer and state -----------------------------------------------------------
    # The command binds both with gin (`make_schedule.*`, `make_optimizer.*`).
    schedule = make_schedule()
    tx = make_optimizer(schedule)
    loss_config = LossConfig(z_loss, label_smoothing, loss_normalizing_factor)
    trainer = Trainer(model_config, tx, schedule, mesh, rules, shapes, loss_config, num_microbatches)
    ckpt_dir = os.path.join(model_dir, ckpt_lib.CHECKPOINTS_SUBDIR)
    saved_steps = _saved_steps(ckpt_dir)
    latest = None
    data_origin = 0  # the step at which this run read its first batch
    opt_note = None
    if initial_step is not None and not initial_checkpoint_path and not saved_steps:
        raise ValueError(f"INITIAL_STEP={initial_step} continues a checkpoint's step count: set "
                         "INITIAL_CHECKPOINT_PATH, or leave INITIAL_STEP unset to train from scratch at step 0")
    if saved_steps:
        _check_resumable(model_dir, ckpt_dir, saved_steps[-1], model_config, trainer.abstract_state)
        if saved_steps[-1] > train_steps:
            raise ValueError(
                f"TRAIN_STEPS={train_steps} is below the latest checkpoint (step {saved_steps[-1]}) in "
                f"{ckpt_dir}: nothing to train; raise TRAIN_STEPS above {saved_steps[-1]} or choose a new MODEL_DIR"
            )
        if saved_steps[-1] == train_steps:
            say(f"[train] {model_dir} already holds step {train_steps} = TRAIN_STEPS: nothing to do")
            return TrainResult(step=train_steps, status="already done", last_metrics={})
        startup.say(f"restoring the latest checkpoint of {ckpt_dir}")
        state, latest = recovery.restore_newest_readable(
            saved_steps, functools.partial(_restore_step, ckpt_dir, trainer.abstract_state), ckpt_dir,
            fall_back=resume_from_last_good, log=say, agree=_agree_across_processes,
            is_chief=jax.process_index() == 0, barrier=functools.partial(_barrier, "flanjax_corrupt_moved"),
        )
        origin = f"resumed from step {latest} ({ckpt_dir})"
        data_origin = initial_lib.run_start(model_dir)
    elif initial_checkpoint_path:
        abstract = jax.tree.map(
            lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=a.sharding), trainer.abstract_state.params
        )
        startup.say(f"loading the initial checkpoint {initial_checkpoint_path}")
        initial = initial_lib.load(initial_checkpoint_path, model_config, abstract, trainer.abstract_state)
        data_origin = (initial.step or 0) if initial_step is None else initial_step
        if data_origin >= train_steps:
            raise ValueError(
                f"TRAIN_STEPS={train_steps} is not above the initial step {data_origin} "
                f"({'INITIAL_STEP' if initial_step is not None else initial_checkpoint_path}): TRAIN_STEPS "
                "counts from the start of pre-training, as in T5X's finetune.gin; for N fine-tuning "
                f"steps set TRAIN_STEPS={data_origin} + N (or INITIAL_STEP=0 to count from 0)"
            )
        state = trainer.state_from_params(initial.params, data_origin, initial.opt_state)
        origin = f"parameters from {initial_checkpoint_path}, starting at step {data_origin}"
        if initial_step is not None and initial.step is not None and initial.step != initial_step:
            origin += f" (INITIAL_STEP; the checkpoint is at step {initial.step})"
        opt_note = (f"[train] optimizer state restored from {initial_checkpoint_path} (step {initial.step})"
                    if initial.opt_state is not None else
                    f"[train] optimizer state not restored: {initial.why_no_opt_state}; Adafactor starts "
                    f"from zero statistics with its decay at step {data_origin}")
    else:
        startup.say("initialising the model")
        state = startup.wait(trainer.init_state, jax.random.key(seed))
        origin = "random initialisation"
    start_step = int(jax.device_get(state.step))
    dropout_rng = jax.random.fold_in(jax.random.key(seed), 1)

    skip = start_step - data_origin if ds is not None else 0  # resuming re-reads the stream up to here
    if ds is not None:
        host_batches = input_pipeline.train_host_batches(ds, skip)
    batches = input_pipeline.global_batches(host_batches, trainer.batch_shardings, batch_size)
    startup.say("reading the first batch" + (f" after skipping {skip} to resume at step {start_step}" if skip else ""))
    first_batch = startup.wait(next, batches)
    batches = _chain([first_batch], batches)
    startup.say("compiling the train step")
    startup.wait(trainer.compile_train_step, state, first_batch, dropout_rng)

    val_batches: list = []
    if eval_period:
        if eval_host_batches is not None:
            val_host = list(eval_host_batches)
        else:
            val_ds = input_pipeline.make_dataset(
                mixture_or_task_name, task_feature_lengths, host_batch_size, split=eval_split,
                seed=seed, shuffle=False, num_epochs=1, pack=pack, use_cached=use_cached,
            )
            startup.say(f"reading {eval_batches} validation batches")
            val_host = startup.wait(input_pipeline.first_batches, val_ds, eval_batches)
        val_batches = [input_pipeline.to_global(b, trainer.batch_shardings, batch_size) for b in val_host]

    # -- validated: now MODEL_DIR may change --------------------------------------------
    if on_validated is not None:
        on_validated()
    if jax.process_index() == 0:
        recovery.atomic_write_text(os.path.join(model_dir, ckpt_lib.CONFIG_FILE), model_config.to_json())
        if latest is None:
            initial_lib.write_start(model_dir, start_step, initial_checkpoint_path)
        if not host_batches_given:
            _record_vocabulary(mixture_or_task_name, model_dir)
        recovery.clean_temp_checkpoints(ckpt_dir, say)
    if jax.process_index() == 0:  # which prompts (own or the papers' files, with hashes)
        prompt_sources.write_record(os.path.join(model_dir, "prompt_sources.json"))
    checkpointer = ckpt_lib.Checkpointer(
        model_dir, period=checkpoint_period, async_save=async_checkpointing,
        # With KEEP_BEST, rotation is done here (Checkpointer.rotate) so that it spares the best.
        max_to_keep=None if keep_best else keep_checkpoints,
    )

    lengths = {k: v.shape[1] for k, v in shapes.items()}
    in_len, tgt_len = lengths["encoder_input_tokens"], lengths["decoder_target_tokens"]
    tokens_per_step = batch_size * (in_len + tgt_len)
    progress = Progress(start_step, train_steps)
    logger = metrics_lib.MetricsLogger(
        model_dir,
        flops_per_step=flops_per_token(model_config, in_len, tgt_len) * tokens_per_step,
        tokens_per_step=tokens_per_step,
        num_devices=mesh.size,
        peak_flops=peak_flops,
        total_steps=train_steps,
        resume_step=start_step if latest is not None else None,
        progress=progress,
    )
    logger.log_text(
        f"[train] {mixture_or_task_name}: steps {start_step}->{train_steps}, batch {batch_size}, "
        f"lengths {dict(task_feature_lengths)}, mesh {dict(zip(mesh.axis_names, mesh.devices.shape))}, "
        f"rules {logical_rules if isinstance(logical_rules, str) else 'custom'}, "
        f"{jax.process_count()} process(es), {origin}"
        + (f"; {plan.log_line()}" if ds is not None and (plan := cache_lib.last_plan(mixture_or_task_name, "train")) else "")
    )
    if opt_note:
        logger.log_text(opt_note)

    heldout = None
    if periodic_eval is not None:
        best = ckpt_lib.BestCheckpoint.load(model_dir, keep_best, up_to_step=start_step) if keep_best else None
        heldout = heldout_eval.HeldoutSchedule(
            periodic_eval, period=eval_period, logger=logger, flops_per_step=logger.flops_per_step,
            keep_best=keep_best, best=best,
        )
        heldout.start(model_config, mesh, logical_rules, start_step=start_step, params=state.params,
                      at_start=eval_at_start)

    def save(step: int, *, wait: bool = False) -> None:
        check_finite()
        if step not in checkpointer.all_steps():
            checkpointer.save(step, state, force=True)
        if wait:
            checkpointer.wait()
        if keep_best:
            checkpointer.rotate(keep_checkpoints, best.protected())

    startup.close()  # from here on, SIGINT/SIGTERM save at the next step boundary
    watcher = interrupt.StopWatcher(log=say, process_count=jax.process_count())
    window: list = []
    last_record: dict = {}
    last_saved = latest
    bad = jnp.zeros((), bool)
    status = "done"
    step = start_step
    timer = time.perf_counter()
    window_steps = 0
    end_step = train_steps if stop_after_steps is None else min(train_steps, start_step + stop_after_steps)

    def check_finite() -> None:
        if bool(jax.device_get(bad)):
            losses = [float(m["loss"]) for m in jax.device_get(window)]
            where = next((start_step + i for i, x in enumerate(losses) if not np.isfinite(x)), None)
            raise NonFiniteLossError(
                f"non-finite loss (last values {losses[-3:]}) before step {step}"
                + (f" (first seen in the current window near step {where})" if where else "")
                + f"; stopping. The last good checkpoint is step {last_saved} in {checkpointer.directory}"
            )

    try:
        while step < end_step:
            batch = next(batches)
            state, step_metrics = trainer.train_step(state, batch, dropout_rng)
            step += 1
            # Finite loss and gradients mean the new parameters are finite too.
            bad = bad | ~jnp.isfinite(step_metrics["loss"]) | ~jnp.isfinite(step_metrics["grad_norm"])
            window.append(step_metrics)
            window_steps += 1
            checkpointer.check()  # a background save that failed (disk full) stops the run here
            if step == start_step + 1:  # compilation: keep it out of the throughput numbers
                jax.block_until_ready(step_metrics)
                timer, window_steps = time.perf_counter(), 0
                progress.step_done(step)
            if step % log_period == 0 or step == end_step:
                check_finite()
                mean = _mean_metrics(window)
                elapsed = time.perf_counter() - timer
                seconds = elapsed / window_steps if window_steps else float("nan")
                last_record = logger.log_train(step, mean, seconds, mean.get("num_examples", 0.0))
                window, window_steps, timer = [], 0, time.perf_counter()
                if heldout is not None:
                    heldout.estimate(seconds)  # once, from the first timed window
            if eval_period and (step % eval_period == 0 or step == train_steps):
                _validate(trainer, state, val_batches, logger, step)
                if heldout is not None:
                    scores = heldout.evaluate(step, state.params)
                    if heldout.new_best(step, scores):
                        # Saved and finished before the file names it: `best` always exists.
                        save(step, wait=True)
                        last_saved = step
                        heldout.record_best(step, scores, write=jax.process_index() == 0)
                timer = time.perf_counter()
            if watcher.should_stop(step):
                save(step, wait=True)
                last_saved = step
                logger.log_text(
                    f"[train] {watcher.signal_name or 'preemption'}: saved step {step} in {checkpointer.directory}; "
                    f"stopping (exit {interrupt.EXIT_INTERRUPTED}: rerun the same command to resume)"
                )
                status = "interrupted"
                break
            if step % checkpoint_period == 0 or step == train_steps:
                save(step)
                last_saved = step
                logger.log_text(f"[train] checkpoint saved at step {step}"
                                + (" (written in the background)" if async_checkpointing else ""))
        checkpointer.wait()
        if keep_best:
            checkpointer.rotate(keep_checkpoints, best.protected())
        _log_data_counts(logger)
    finally:
        watcher.restore_handlers()
        checkpointer.close()
        logger.close()
        del batches
    return TrainResult(step=step, status=status, last_metrics=last_record, state=state)


def _validate(trainer, state, val_batches, logger, step) -> None:
    """Validation loss and token accuracy of the training mixture's eval split."""
    if val_batches:
        totals: dict[str, float] = {}
        for batch in val_batches:
            for k, v in jax.device_get(trainer.eval_step(state.params, batch)).items():
                totals[k] = totals.get(k, 0.0) + float(v)
        n = max(totals["num_tokens"], 1.0)
        logger.log_eval(
            step,
            {
                "cross_entropy": totals["cross_entropy"] / n,
                "token_accuracy": totals["correct"] / n,
                "num_tokens": totals["num_tokens"],
            },
        )


def _log_data_counts(logger) -> None:
    """Examples truncated to the feature lengths, and examples the renderer skipped."""
    try:
        from flanjax.data import render, tasks
    except ImportError:  # pragma: no cover
        return
    for title, counts in (("over the feature lengths (truncated)", tasks.overflow_counts()),
                          ("skipped by the renderer", render.skipped_counts())):
        if counts:
            shown = ", ".join(f"{'/'.join(map(str, k))}: {v}" for k, v in sorted(counts.items())[:10])
            more = f" (+{len(counts) - 10} more)" if len(counts) > 10 else ""
            logger.log_text(f"[train] examples {title} on this host: {shown}{more}")


def _saved_steps(ckpt_dir: str) -> list[int]:
    """Finished orbax step folders (bare step numbers), oldest first."""
    if not os.path.isdir(ckpt_dir):
        return []
    return sorted(int(n) for n in os.listdir(ckpt_dir) if n.isdigit())


def _agree_across_processes(ok: bool) -> list[bool]:
    """Every process's `ok`, in process order (a collective: all processes call it)."""
    if jax.process_count() == 1:
        return [ok]
    from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top

    flags = multihost_utils.process_allgather(np.asarray([int(ok)], np.int32))
    return [bool(f) for f in np.asarray(flags).reshape(-1)]


def _barrier(name: str) -> None:
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top

        multihost_utils.sync_global_devices(name)


def _restore_step(ckpt_dir: str, abstract_state: Any, step: int) -> Any:
    import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top

    # Each process reads its own shards with no barrier among processes: one that fails
    # (a shard only it reads) must not leave the others waiting inside orbax. The outcomes
    # are then gathered (`_agree_across_processes`), so every process settles on one step.
    me = jax.process_index()
    local = ocp.options.MultiprocessingOptions(
        primary_host=me, active_processes={me}, barrier_sync_key_prefix=f"flanjax_restore_{me}_{step}")
    options = ocp.CheckpointManagerOptions(create=False, cleanup_tmp_directories=False,
                                           multiprocessing_options=local)
    manager = ocp.CheckpointManager(ckpt_dir, options=options)
    try:
        return manager.restore(step, args=ocp.args.StandardRestore(abstract_state))
    finally:
        manager.close()


def _check_resumable(model_dir: str, ckpt_dir: str, step: int, config: T5Config, abstract_state: Any) -> None:
    """Refuses (every differing field listed) to resume checkpoints of another model/optimizer."""
    import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top

    found = []
    config_path = os.path.join(model_dir, ckpt_lib.CONFIG_FILE)
    if os.path.exists(config_path):
        saved_config = ckpt_lib.read_config_dict(config_path)  # a damaged file is named
        current = json.loads(config.to_json())
        found += [f"model {d}" for d in recovery.differences(saved_config, current, recovery.MODEL_STATE_FIELDS)]
    if not found:
        try:
            with ocp.StandardCheckpointer() as reader:
                tree = reader.metadata(os.path.join(ckpt_dir, str(step), "default")).item_metadata
        except Exception:  # pylint: disable=broad-except  # unreadable: the restore reports it
            tree = None
        if tree is not None:
            found += recovery.state_differences(tree, abstract_state)
    if found:
        raise recovery.ResumeMismatchError(
            f"MODEL_DIR {model_dir} holds checkpoints of another configuration: {'; '.join(found)}; "
            "rerun with the original settings, or choose a new MODEL_DIR (INITIAL_CHECKPOINT_PATH "
            "can start it from this run's parameters)"
        )


def _record_vocabulary(mixture_or_task_name: str, model_dir: str) -> None:
    from flanjax.data import mixtures, vocab_files  # pylint: disable=g-import-not-at-top

    task = mixtures.get_mixture_or_task(mixture_or_task_name)
    vocab_files.record_vocabulary(task.output_features["targets"].vocabulary, model_dir)


def _chain(*iterables):
    for it in iterables:
        yield from it
