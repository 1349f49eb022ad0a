"""Held-out cluster scores while training: the evaluator the train command hands the loop.

T5X runs inference evaluation every `eval_period` steps into the run's TensorBoard; FLAN
(Wei et al. 2021) and Flan 2022 (Longpre et al. 2023) read held-out scores across
checkpoints. Training never imports evaluation (the layout's import rule), so the train
command builds a `PeriodicEvaluator` from the settings `flanjax.eval` takes (EVAL_ON,
EVAL_COLLECTION, EVAL_FORMAT, EVAL_MODE, MAX_EVAL_EXAMPLES, EVAL_EXAMPLES_PER_CLUSTER) and
passes it to `flanjax.train.loop.train` as a plain callback:

  - construction resolves the tasks and reads every task's budgeted examples once, so an
    unknown cluster or missing data fails before the model is built, naming the cluster
    and the fix (not at the first eval step hours later);
  - `prepare(config, mesh, rules, ...)` checks the vocabulary, takes the training mesh and
    returns what one evaluation costs (forward FLOPs) and the curve so far (resumed run);
  - `evaluator(step, params)` scores every task with the in-memory parameters, sharded on
    the training mesh, through `evaluate_budgeted` (the function `flanjax.eval` runs), and
    returns the flat scalars the loop logs under `heldout/` (TensorBoard and
    eval_metrics.jsonl); process 0 redraws MODEL_DIR/heldout_curve.png.

Budget. EVAL_EXAMPLES_PER_CLUSTER examples per cluster are split evenly over its tasks
(datasets x templates): each task scores its first `budget // tasks` eval examples (at
least 1), never more than MAX_EVAL_EXAMPLES. `flanjax.eval` with the same two settings
scores the same examples, so the in-training numbers at step N are `flanjax.eval`'s on
the checkpoint of step N.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Mapping, Optional, Sequence

from flanjax.evaluation import batching, curves, heldout, ranking
from flanjax.model import T5Config
from flanjax.model.config import forward_flops_per_example

PREFIX = "heldout"  # the loop logs the scalars as heldout/{key}


class PeriodicEvalDataError(FileNotFoundError):
    """A held-out task's eval data cannot be read (found at start, before training)."""


# -- the budget and the shared scoring ---------------------------------------------------


def task_caps(
    tasks: Sequence[heldout.EvalTask],
    examples_per_cluster: Optional[int],
    max_examples: Optional[int],
) -> dict[str, Optional[int]]:
    """{task name: examples it scores (None: all)} under a per-cluster budget.

    Each cluster's budget is split evenly over its tasks (at least 1 each); MAX_EVAL_EXAMPLES
    (per template) caps every task as in `flanjax.eval`.
    """
    if examples_per_cluster is not None and examples_per_cluster < 1:
        raise ValueError(
            f"EVAL_EXAMPLES_PER_CLUSTER must be a positive number of examples, got "
            f"{examples_per_cluster}; set it to None to score every example"
        )
    per_cluster: dict[str, int] = {}
    for task in tasks:
        per_cluster[task.entry.cluster] = per_cluster.get(task.entry.cluster, 0) + 1
    caps: dict[str, Optional[int]] = {}
    for task in tasks:
        cap = max_examples or None
        if examples_per_cluster is not None:
            share = max(1, examples_per_cluster // per_cluster[task.entry.cluster])
            cap = share if cap is None else min(cap, share)
        caps[task.name] = cap
    return caps


def evaluate_budgeted(
    config: T5Config,
    params: Any,
    tasks: Sequence[heldout.EvalTask],
    settings: heldout.EvalSettings,
    *,
    examples_per_cluster: Optional[int] = None,
    mesh: Optional[batching.EvalMesh] = None,
    examples: Optional[Mapping[str, Sequence[dict[str, Any]]]] = None,
    log: bool = False,
) -> dict[str, Any]:
    """`heldout.evaluate` with each task capped by `task_caps`, sharded on `mesh` if given.

    `log`: a progress line as each task finishes (`flanjax.eval`, which can run for hours).

    The one scoring path of `flanjax.eval` and of the in-training evaluation: the
    parameters are placed with their partitioned shardings (a no-op for the trainer's
    parameters) and every task is scored inside the mesh and rules context. `examples`:
    {task name: its capped examples}, read beforehand (None: read here, as flanjax.eval).
    """
    caps = task_caps(tasks, examples_per_cluster, settings.max_examples)
    if mesh is not None:
        params = mesh.place_params(config, params)
    results = []
    with batching.mesh_scope(mesh):
        for i, task in enumerate(tasks, start=1):
            task_settings = dataclasses.replace(settings, max_examples=caps[task.name])
            task_examples = None if examples is None else examples[task.name]
            result = heldout.evaluate_task(config, params, task, task_settings, task_examples)
            if log:
                heldout.log_progress(i, len(tasks), result)
            results.append(result)
    out = {"tasks": [r.to_dict() for r in results], **heldout.aggregate(results)}
    if mesh is not None:
        out["mesh"] = {**mesh.shape, "rules": mesh.rules_name}
    return out


def curve_scalars(results: Mapping[str, Any]) -> dict[str, float]:
    """The numbers of one evaluation, flat: overall, per cluster and per dataset.

    cluster/{c}/mean (FLAN: datasets' template means averaged), cluster/{c}/median (T0:
    template medians averaged), dataset/{d}/{mean, median, min, max, iqr} (the spread over
    templates).
    """
    out = {"overall": float(results["overall"])}
    for name, c in results["clusters"].items():
        out[f"cluster/{name}/mean"] = float(c["mean"])
        out[f"cluster/{name}/median"] = float(c["median"])
    for name, d in results["datasets"].items():
        for stat in ("mean", "median", "min", "max", "iqr"):
            out[f"dataset/{name}/{stat}"] = float(d[stat])
    return out


def metric_key(name: str, clusters: Sequence[str], datasets: Sequence[str]) -> str:
    """KEEP_BEST's name -> a `curve_scalars` key: a cluster ("nli" = its mean, "nli/median"),
    a dataset ("anli_r1", "anli_r1/median"), "overall", or a key itself."""
    stats = ("mean", "median", "min", "max", "iqr")
    valid = ["overall"] + [f"cluster/{c}/{s}" for c in clusters for s in ("mean", "median")]
    valid += [f"dataset/{d}/{s}" for d in datasets for s in stats]
    base, _, stat = name.partition("/")
    candidates = [name]
    if base in clusters:
        candidates.append(f"cluster/{base}/{stat or 'mean'}")
    if base in datasets:
        candidates.append(f"dataset/{base}/{stat or 'mean'}")
    for key in candidates:
        if key in valid:
            return key
    raise ValueError(
        f"KEEP_BEST={name!r} names no held-out score of EVAL_ON; use 'overall', a cluster "
        f"({', '.join(clusters)}) or a dataset ({', '.join(datasets)}), optionally with "
        "/median (or /min, /max, /iqr for a dataset)"
    )


# -- the evaluator -----------------------------------------------------------------------


def make_evaluator(
    *,
    eval_on: Optional[str] = None,
    collection: Optional[str] = None,
    eval_format: str = "zs",
    mode: str = "auto",
    task_feature_lengths: Mapping[str, int] = tuple(heldout.DEFAULT_LENGTHS.items()),
    batch_size: int = 32,
    max_examples: Optional[int] = None,
    examples_per_cluster: Optional[int] = None,
    decode_method: str = "greedy",
    num_beams: int = 4,
    length_normalize: bool = False,
    use_cached: bool = False,
    model_dir: Optional[str] = None,
) -> Optional["PeriodicEvaluator"]:
    """The train command's evaluator from `flanjax.eval`'s settings (gin: runs/train_base.gin
    binds them to EVAL_ON, EVAL_COLLECTION, ...); None when EVAL_ON is unset."""
    if not eval_on:
        return None
    settings = heldout.EvalSettings(
        mode=mode, max_examples=max_examples, lengths=tuple(dict(task_feature_lengths).items()),
        batch_size=batch_size, length_normalize=length_normalize, decode_method=decode_method,
        num_beams=num_beams, use_cached=use_cached,
    )
    return PeriodicEvaluator(eval_on, collection=collection, eval_format=eval_format, settings=settings,
                             examples_per_cluster=examples_per_cluster, model_dir=model_dir)


@dataclasses.dataclass(frozen=True)
class EvalPlan:
    """What `prepare` found: the start line, one evaluation's cost, the curve so far."""

    description: str
    flops: float  # forward matmul FLOPs of one evaluation (padding not counted)
    evaluated_steps: tuple[int, ...]  # steps already on the curve (a resumed run)


class PeriodicEvaluator:
    """Scores held-out clusters with in-memory parameters; see the module docstring."""

    def __init__(
        self,
        eval_on: str,
        *,
        collection: Optional[str] = None,
        eval_format: str = "zs",
        settings: heldout.EvalSettings = heldout.EvalSettings(),
        examples_per_cluster: Optional[int] = None,
        model_dir: Optional[str] = None,
        plot: bool = True,
    ) -> None:
        self.eval_on = eval_on
        self.settings = settings
        self.examples_per_cluster = examples_per_cluster
        self.model_dir = os.path.abspath(model_dir) if model_dir else None
        self.plot = plot and self.model_dir is not None
        self.tasks = heldout.resolve_tasks(eval_on, fmt=eval_format, collection=collection)
        self.caps = task_caps(self.tasks, examples_per_cluster, settings.max_examples)
        self.clusters = list(dict.fromkeys(t.entry.cluster for t in self.tasks))
        self.datasets = list(dict.fromkeys(t.entry.name for t in self.tasks))
        self._examples = {t.name: self._read(t) for t in self.tasks}  # fail fast
        self.config: Optional[T5Config] = None
        self.mesh: Optional[batching.EvalMesh] = None
        self.curve: dict[int, dict[str, float]] = {}

    def _read(self, task: heldout.EvalTask) -> list[dict[str, Any]]:
        """The task's budgeted examples; a data error names the cluster and the fix."""
        try:
            examples = heldout.load_examples(
                task, max_examples=self.caps[task.name], lengths=dict(self.settings.lengths),
                use_cached=self.settings.use_cached,
            )
        except Exception as e:  # pylint: disable=broad-except  (TFDS, seqio, file errors)
            first = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise PeriodicEvalDataError(
                f"held-out cluster {task.entry.cluster!r}: cannot read {task.entry.name} "
                f"({task.name}, split {task.entry.eval_split!r}): {first}. Prepare that data, "
                f"or drop {task.entry.cluster!r} from EVAL_ON (or set EVAL_PERIOD=0)"
            ) from None
        if not examples:
            raise PeriodicEvalDataError(
                f"held-out cluster {task.entry.cluster!r}: {task.name} has no examples in split "
                f"{task.entry.eval_split!r}; prepare its data or drop {task.entry.cluster!r} "
                "from EVAL_ON"
            )
        if self.settings.mode == "rank":
            ranking.check_has_options(examples, task.name)
        return examples

    @property
    def num_examples(self) -> int:
        return sum(len(v) for v in self._examples.values())

    def metric_key(self, name: str) -> str:
        return metric_key(name, self.clusters, self.datasets)

    def prepare(
        self, model_config: T5Config, mesh: Any, rules: Any, *, start_step: int = 0, period: int = 0
    ) -> EvalPlan:
        """Checks the vocabulary, takes the training mesh, reads the curve so far."""
        # float32 activations, as `flanjax.eval` loads every checkpoint: the same numbers.
        self.config = model_config.replace(dtype="float32")
        for task in self.tasks:
            heldout.check_vocabulary(self.config, heldout.vocabulary_of(task), task.name)
        rules_name = rules if isinstance(rules, str) else "custom"
        from flanjax import partitioning  # pylint: disable=g-import-not-at-top

        self.mesh = batching.EvalMesh(mesh, tuple(partitioning.get_rules(rules)), rules_name)
        if self.model_dir:
            records = curves.read_jsonl(os.path.join(self.model_dir, curves.EVAL_FILE))
            self.curve = {
                s: v for s, v in curves.prefixed(records, PREFIX).items() if s <= start_step
            }
        counts = ", ".join(
            f"{c} {sum(len(self._examples[t.name]) for t in self.tasks if t.entry.cluster == c)}"
            for c in self.clusters
        )
        budget = (f"budget {self.examples_per_cluster} per cluster" if self.examples_per_cluster
                  else f"at most {self.settings.max_examples or 'all'} per template")
        every = f" every {period} steps" if period else ""
        description = (
            f"[eval] held-out {', '.join(self.clusters)}{every} on mesh "
            f"{self.mesh.shape}: {len(self.tasks)} tasks, {self.num_examples} examples "
            f"({counts}; {budget})"
        )
        return EvalPlan(description, self.flops(), tuple(sorted(self.curve)))

    def flops(self) -> float:
        """Forward FLOPs of one evaluation: ranked examples encode once and decode every
        option; generated ones decode the targets length (times the beams)."""
        assert self.config is not None, "prepare() first"
        lengths = dict(self.settings.lengths)
        total = 0.0
        for task in self.tasks:
            vocabulary = heldout.vocabulary_of(task)
            for ex in self._examples[task.name]:
                options = ranking.options_of(ex)
                in_len = len(ex["inputs"])
                rank = self.settings.mode == "rank" or (
                    self.settings.mode == "auto" and task.entry.eval_mode == "rank" and options
                )
                if rank:
                    tgt = sum(len(ranking.tokenize_option(vocabulary, o, lengths["targets"])) for o in options)
                else:
                    beams = self.settings.num_beams if self.settings.decode_method == "beam" else 1
                    tgt = lengths["targets"] * beams
                total += forward_flops_per_example(self.config, in_len, max(tgt, 1))
        return total

    def evaluate(self, params: Any) -> dict[str, Any]:
        """Every task's results and the aggregates (as `flanjax.eval`'s results.json)."""
        assert self.config is not None, "prepare() first"
        return evaluate_budgeted(
            self.config, params, self.tasks, self.settings,
            examples_per_cluster=self.examples_per_cluster, mesh=self.mesh, examples=self._examples,
        )

    def __call__(self, step: int, params: Any) -> dict[str, float]:
        """The flat scalars of the parameters at `step`; redraws the curve (process 0)."""
        scalars = curve_scalars(self.evaluate(params))
        self.curve[int(step)] = scalars
        if self.plot:
            import jax  # pylint: disable=g-import-not-at-top

            if jax.process_index() == 0:
                curves.plot_heldout_curve(
                    self.curve, curves.train_losses(self.model_dir),
                    os.path.join(self.model_dir, curves.CURVE_FILE),
                )
        return scalars
