"""Registers every task and mixture on import, as `t5.data.mixtures` does.

Mixtures (the papers' numbers are cited where they are defined below):
  flan2021   FLAN 2021 zero-shot templates, examples-proportional, rate maximum 3,000
  t0         T0's training datasets (t-zero `datasets.csv` stage BASE), t-zero's rates
  t0_plus    T0+: adds the GPT-3 evaluation datasets flanjax has (stage GPT_EVAL)
  t0_plus_plus  T0++: adds the SuperGLUE datasets flanjax has (stage SGLUE)
  niv2       Super-NaturalInstructions (zs + fs), from FLANJAX_SNI_DIR
  cot        Flan 2022 chain-of-thought (zs + fs)
  dialog     Flan 2022 dialog (zs + fs, input inversion at 0.3)
  flan2022   Longpre et al. 2023: flan2021/t0/niv2/cot/dialog submixtures, 0.4/0.32/0.2/0.05/0.03
  demo       the bundled offline data
  instruction_files   the file sets of the INSTRUCTION_FILES setting (`flanjax.data.instruction_files`)
  {mixture}_minus_{cluster}   leave-one-cluster-out, for every cluster of the mixture

Nothing here reads data: rates are functions evaluated when a mixture is first used.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
from typing import Callable, Iterable, Optional, Sequence

import seqio

from flanjax.data import catalog as catalog_lib
from flanjax.data import instruction_files
from flanjax.data import locations
from flanjax.data import sni
from flanjax.data import sni_eval
from flanjax.data import tasks as tasks_lib
from flanjax.data.catalog import flan2021 as flan2021_catalog
from flanjax.data.catalog import t0 as t0_catalog
from flanjax.data.catalog import flan2022_facts, flan2022_t0, t0_facts
from flanjax.data.catalog.entry import CatalogEntry

# FLAN 2021 (Wei et al. 2021, Section 2.3 and `flan/mixtures.py`): examples-proportional
# mixing with a mixing-rate maximum of 3,000 (and at most 30k train examples a dataset,
# applied as a split slice in `flanjax.data.tasks`).
FLAN2021_RATE_MAXIMUM = 3_000
# T0 (Sanh et al. 2021, Section 5 "Training"; t-zero `t0/seqio_tasks/tasks.py`): each
# (dataset, prompt) task has the rate `train_size` of t-zero's `datasets.csv`, or
# 500,000 // num_prompts above 500,000 (`t0_facts.prompt_cap`). Our T0 training task draws
# one of the dataset's K prompts per example, standing for t-zero's K prompted tasks, so its
# rate is their sum, K * cap: a constant from the fact table, nothing is counted.
T0_MAX_EXAMPLES = t0_facts.MAX_EXAMPLES_PER_DATASET
# Flan 2022 (Longpre et al. 2023; `flan/v2/mixtures.py`): per-task example caps of each
# submixture, and the submixture weights of `flan2022_submix` (`flan/v2/run_example.py`).
FLAN2022_CAPS = {"flan2021": 30_000, "t0": 20_000, "niv2": 5_000, "cot": 100_000, "dialog": 200_000}
FLAN2022_WEIGHTS = {"flan2021": 0.4, "t0": 0.32, "niv2": 0.2, "cot": 0.05, "dialog": 0.03}
# Flan 2022 mixes input-inverted CoT and dialog ("CoT-II", "Dialog-II") at 0.3 of their
# base submixture in every zs / fs variant (flan/v2/mixtures.py DEFAULT_MIXTURE_RATES).
INVERSION_RATE = flan2022_facts.INVERSION_RATE
# The demo: examples-proportional with FLAN's maximum.
DEMO_RATE_MAXIMUM = 3_000

_COUNT_CACHE: dict[str, int] = {}
# The task (or sub-mixture) names of each base mixture, to skip identical minus variants.
_BASE_TASKS: dict[str, tuple[str, ...]] = {}
_BASE_CLUSTERS: dict[str, frozenset[str]] = {}


def num_train_examples(task: seqio.Task, split: str = "train") -> int:
    """Training examples of `task`: from the source's metadata, else by counting once."""
    if task.name in _COUNT_CACHE:
        return _COUNT_CACHE[task.name]
    n = None
    try:
        n = task.num_input_examples(split)
    except Exception:  # pylint: disable=broad-except
        n = None
    if not n:
        # Sources without metadata (JSONL, SNI directories): count the rows once.
        ds = task.source.get_dataset(split, shuffle=False)
        n = int(ds.reduce(0, lambda c, _: c + 1).numpy())
    if n == 0:
        raise ValueError(
            f"Task {task.name!r}: split {split!r} has no examples; is the dataset prepared "
            "(TFDS data_dir / FLANJAX_TFDS_DATA_DIR) and the split name right?"
        )
    _COUNT_CACHE[task.name] = n
    return n


def capped_rate(task: seqio.Task, *, maximum: float, scale: float = 1.0) -> float:
    return scale * min(float(num_train_examples(task)), float(maximum))


def t0_rate(entry: CatalogEntry) -> float:
    """The T0 mixing rate of `entry`'s training task (`t0_facts.dataset_rate`)."""
    return t0_facts.dataset_rate(
        entry.name, len(entry.templates), t0_catalog.NUM_SOURCE_PROMPTS[entry.name]
    )


# ---------------------------------------------------------------------------------------
# Mixture definitions as functions of which entries they may use.

Keep = Callable[[str], bool]  # cluster -> whether the mixture keeps it
TaskRates = list[tuple[str, object]]


def _entries(collection: str, keep: Keep, clusters: Optional[Iterable[str]] = None):
    return [e for e in catalog_lib.entries_in(collection, clusters) if keep(e.cluster)]


def _fmt(entry: CatalogEntry, base: str, options: str) -> str:
    """Flan 2022 format names: `{base}_{varopt|noopt}` where the entry has options or v2's
    templates (`tasks.train_formats`)."""
    flan2022 = entry.has_options or bool(entry.flan2022_templates or entry.flan2022_train_split)
    if flan2022 and options == "opt":
        return f"{base}_varopt"
    if flan2022 and options == "noopt":
        return f"{base}_noopt"
    return base


def flan2021_tasks(keep: Keep) -> TaskRates:
    rate = functools.partial(capped_rate, maximum=FLAN2021_RATE_MAXIMUM)
    return [(f"{e.name}_zs", rate) for e in _entries("flan2021", keep)]


def t0_tasks(keep: Keep, fmt: str = "zs", mixture: str = "t0") -> TaskRates:
    """T0's training tasks: the datasets of `mixture`'s stages in t-zero's `datasets.csv`
    (`t0_facts.MIXTURE_STAGES`: T0, T0+ adds GPT_EVAL, T0++ adds SGLUE), at t-zero's rates."""
    stages = t0_facts.MIXTURE_STAGES[mixture]
    out = []
    for e in _entries("t0", keep):
        if t0_facts.stage(*t0_facts.PROMPTSOURCE_DATASETS[e.name]) in stages:
            out.append((f"{e.name}_{fmt}", t0_rate(e)))
    return out


def demo_tasks(keep: Keep) -> TaskRates:
    rate = functools.partial(capped_rate, maximum=DEMO_RATE_MAXIMUM)
    return [(f"{e.name}_zs", rate) for e in _entries("demo", keep)]


def _capped(collection: str, keep: Keep, formats: Sequence[tuple[str, str]], cap: int,
            clusters=None, extra: Sequence[tuple[str, float]] = (),
            select: Optional[Callable[[CatalogEntry], bool]] = None) -> TaskRates:
    """Tasks of `collection` in each (base format, options mode), capped at `cap`; `select`
    keeps only some entries (Flan 2022's T0-SF)."""
    entries = [e for e in _entries(collection, keep, clusters) if select is None or select(e)]
    out = []
    for base, options in formats:
        for e in entries:
            # A wrapped T0-SF entry stands for v2's tasks of its prompts, each capped alone.
            k = flan2022_t0.num_prompt_tasks(e)
            rate = functools.partial(capped_rate, maximum=cap, **({"scale": float(k)} if k > 1 else {}))
            out.append((f"{e.name}_{_fmt(e, base, options)}", rate))
    for fmt, scale in extra:
        for e in entries:
            if fmt in ("inv", "fs_inv") and not e.inversion:
                continue
            # "fs_inv": v2's inverted few-shot where the entry has it (FLAN_SOURCE_DIR), else "inv".
            name = "inv" if fmt == "fs_inv" and "fs_inv" not in tasks_lib.train_formats(e) else fmt
            out.append((f"{e.name}_{name}", functools.partial(capped_rate, maximum=cap, scale=scale)))
    return out


def _add_mixture(name: str, tasks: Sequence, default_rate=None) -> bool:
    """Adds a seqio mixture unless it would be empty; returns whether it was added."""
    tasks = list(tasks)
    if not tasks:
        return False
    if name in seqio.MixtureRegistry.names():
        seqio.MixtureRegistry.remove(name)
    seqio.MixtureRegistry.add(name, tasks, default_rate=default_rate)
    return True


def _excluded(cluster: Optional[str]) -> frozenset[str]:
    if cluster is None:
        return frozenset()
    return frozenset({cluster, *flan2021_catalog.OVERLAPPING_CLUSTERS.get(cluster, ())})


def _keep_for(cluster: Optional[str]) -> Keep:
    dropped = _excluded(cluster)
    return lambda cluster: cluster not in dropped


def _clusters_of(name: str) -> frozenset[str]:
    """The clusters a task or (already registered) mixture draws from."""
    if name in _BASE_CLUSTERS:
        return _BASE_CLUSTERS[name]
    cluster = tasks_lib.cluster_of_task(name)
    if cluster is None:
        raise KeyError(f"{name!r} is not a task registered by flanjax.")
    return frozenset({cluster})


def _register_family(suffix: str, keep: Keep, held_out: Optional[str] = None) -> list[str]:
    """Registers every mixture once, with `suffix` ("" or "_minus_{cluster}").

    A `{mixture}_minus_{cluster}` is registered only where the mixture has that cluster.
    """
    added = []

    def add(name, tasks, default_rate=None):
        """Registers `name + suffix`; returns the name to refer to, or None if empty.

        A leave-one-out variant identical to the base mixture is not registered again:
        the base name is returned (and `{mixture}_minus_{cluster}` exists only for the
        clusters a mixture has).
        """
        tasks = list(tasks)
        if not tasks:
            return None
        key = tuple(sorted(t if isinstance(t, str) else t[0] for t in tasks))
        if suffix and (_BASE_TASKS.get(name) == key or held_out not in _BASE_CLUSTERS.get(name, ())):
            return name
        if not suffix:
            _BASE_TASKS[name] = key
            _BASE_CLUSTERS[name] = frozenset().union(*(_clusters_of(t) for t in key))
        if _add_mixture(name + suffix, tasks, default_rate):
            added.append(name + suffix)
            return name + suffix
        return None

    add("flan2021", flan2021_tasks(keep))
    add("t0", t0_tasks(keep))
    add("t0_plus", t0_tasks(keep, mixture="t0_plus"))
    add("t0_plus_plus", t0_tasks(keep, mixture="t0_plus_plus"))
    add("demo", demo_tasks(keep))
    add(instruction_files.MIXTURE, instruction_files.mixture_tasks(
        keep, functools.partial(capped_rate, maximum=float("inf"))))
    add("niv2", [(n, 1.0) for n in sni.TASK_NAMES] if keep(sni.CLUSTER) else [])
    add("cot", _capped("cot", keep, [("zs", "opt"), ("fs", "opt")], FLAN2022_CAPS["cot"]))
    add(
        "dialog",
        _capped("dialog", keep, [("zs", "opt"), ("fs", "opt")], FLAN2022_CAPS["dialog"],
                extra=[("inv", INVERSION_RATE)]),
    )

    # Flan 2022 (Longpre et al. 2023; flan/v2/mixtures.py, run_example.py):
    # {flan,t0}_{zsopt,zsnoopt,fsopt,fsnoopt}, {niv2,cot,dialog}_{zsopt,fsopt}.
    variants = {"zsopt": ("zs", "opt"), "zsnoopt": ("zs", "noopt"),
                "fsopt": ("fs", "opt"), "fsnoopt": ("fs", "noopt")}
    submixes: dict[str, str] = {}
    for short, collection, select in (
        ("flan", "flan2021", None),
        # T0-SF: only t-zero's tasks that are not in FLAN (flan2022_facts.T0_SF_DATASETS).
        ("t0", "t0", _in_t0_sf),
    ):
        parts = []
        for v in variants:
            tasks = _capped(collection, keep, [variants[v]], FLAN2022_CAPS[collection],
                            select=select)
            if collection == "flan2021":  # and the Flan datasets beyond the 62 (flan2022_flan)
                tasks += _capped("flan2022_flan", keep, [variants[v]], FLAN2022_CAPS[collection])
            part = add(f"{short}_{v}", tasks)
            if part:
                parts.append((part, 1.0))
        sub = add(f"{collection}_submix", parts)
        if sub:
            submixes[collection] = sub
    # NIv2 without the tasks made from MMLU (flan/v2/task_configs.py filter_mmlu_fn).
    niv2_parts = [(n, 1.0) for n in sni.NO_MMLU_TASK_NAMES] if keep(sni.CLUSTER) else []
    niv2_variants = [add(f"niv2_{v}", [part]) for v, part in zip(("zsopt", "fsopt"), niv2_parts)]
    if any(niv2_variants):
        submixes["niv2"] = add("niv2_submix", [(n, 1.0) for n in niv2_variants if n])
    # CoT and Dialog: each of zsopt / fsopt mixes the base tasks (1) with their input-inverted
    # "-II" tasks (0.3), flan/v2/mixtures.py DEFAULT_MIXTURE_RATES.
    for collection in ("cot", "dialog"):
        cap = FLAN2022_CAPS[collection]
        select = _in_flan2022_dialog if collection == "dialog" else None
        # zsopt mixes the zero-shot inverted tasks; fsopt v2's inverted few-shot ones where
        # entries have them (`{collection}_ii_fs`), else the same zero-shot ones.
        ii = {v: _capped(collection, keep, [], cap, extra=[(fmt, 1.0)], select=select)
              for v, fmt in (("zsopt", "inv"), ("fsopt", "fs_inv"))}
        inverted = {"zsopt": add(f"{collection}_ii", ii["zsopt"])}
        inverted["fsopt"] = inverted["zsopt"] if [t for t, _ in ii["fsopt"]] == [
            t for t, _ in ii["zsopt"]] else add(f"{collection}_ii_fs", ii["fsopt"])
        parts = []
        for v in ("zsopt", "fsopt"):
            base = add(f"{collection}_{v}_base",
                       _capped(collection, keep, [variants[v]], cap, select=select))
            if base:
                both = [(base, 1.0)] + ([(inverted[v], INVERSION_RATE)] if inverted[v] else [])
                parts.append((add(f"{collection}_{v}", both), 1.0))
        if parts:
            submixes[collection] = add(f"{collection}_submix", parts)
    add("flan2022", [(name, FLAN2022_WEIGHTS[c]) for c, name in submixes.items()])
    return added


def _in_t0_sf(entry: CatalogEntry) -> bool:
    return t0_facts.PROMPTSOURCE_DATASETS[entry.name] in flan2022_facts.T0_SF_DATASETS


def _in_flan2022_dialog(entry: CatalogEntry) -> bool:
    """wiki_dialog and qrecc; Task Master only when FLAN2022_TASK_MASTER=1 (flan2022_facts)."""
    name = entry.name.removeprefix("dialog_")
    if name in flan2022_facts.DIALOG_OPT_IN:
        return locations.get("FLAN2022_TASK_MASTER") == "1"
    return name in flan2022_facts.DIALOG_DATASETS


def all_clusters() -> list[str]:
    seen: dict[str, None] = {}
    for e in catalog_lib.all_entries():
        seen.setdefault(e.cluster, None)
    seen.setdefault(sni.CLUSTER, None)
    return list(seen)


def register_all() -> None:
    instruction_files.register_entries()  # the INSTRUCTION_FILES setting's catalog entries
    tasks_lib.register_all()
    sni.register_tasks()
    sni_eval.register_task()
    _register_family("", lambda e: True)
    for cluster in all_clusters():
        _register_family(f"_minus_{cluster}", _keep_for(cluster), held_out=cluster)


def register_cluster_subset(mixture: str, clusters: Sequence[str]) -> str:
    """Registers `{mixture}_only_{c1}_{c2}...`: the mixture restricted to `clusters`.

    FLAN's number-of-clusters ablation (Wei et al. 2021, Sec. 4.1, Fig. 6) trains on the
    first k clusters of a fixed order. Each kept task keeps the base mixture's rate (the
    same float, or the same rate function, evaluated when the mixture is first used); a
    sub-mixture (Flan 2022's submixes) is restricted the same way, registered as
    `{sub}_only_{...}`, and keeps its weight. Registering again replaces the mixture.
    Returns the name. Raises ValueError for an unknown mixture, a task name, or a cluster
    the mixture does not have (naming the clusters it has).
    """
    clusters = list(dict.fromkeys(c.strip() for c in clusters if c.strip()))
    if not clusters:
        raise ValueError(f"register_cluster_subset({mixture!r}): give at least one cluster")
    base = get_mixture_or_task(mixture)
    if not isinstance(base, seqio.Mixture):
        raise ValueError(f"{mixture!r} is a task, not a mixture: there are no clusters to keep")


    def walk(mix: seqio.Mixture) -> list[str]:
        """The clusters of a mixture, in the order its tasks were added."""
        out: dict[str, None] = {}
        for name in mix.rate_per_task_name:
            if name in seqio.TaskRegistry.names():
                out.setdefault(tasks_lib.cluster_of_task(name), None)
            else:
                out.update(dict.fromkeys(walk(seqio.MixtureRegistry.get(name))))
        return [c for c in out if c is not None]

    known = walk(base)
    unknown = [c for c in clusters if c not in known]
    if unknown:
        raise ValueError(f"Mixture {mixture!r} has no cluster {', '.join(map(repr, unknown))}; "
                         f"its clusters: {known}.")
    wanted = frozenset(clusters)
    suffix = "_only_" + "_".join(clusters)

    def restrict(mix: seqio.Mixture) -> list[tuple[str, object]]:
        kept = []
        for name, rate in mix.rate_per_task_name.items():
            if name in seqio.TaskRegistry.names():
                if tasks_lib.cluster_of_task(name) in wanted:
                    kept.append((name, rate))
            else:
                sub = restrict(seqio.MixtureRegistry.get(name))
                if sub and _add_mixture(name + suffix, sub):
                    kept.append((name + suffix, rate))
        return kept

    name = mixture + suffix
    _add_mixture(name, restrict(base))
    return name


def get_mixture_or_task(name: str):
    """`seqio.get_mixture_or_task` with an error that lists the closest names."""
    names = list(seqio.MixtureRegistry.names()) + list(seqio.TaskRegistry.names())
    if name not in names:
        close = difflib.get_close_matches(name, names, n=8, cutoff=0.4)
        raise ValueError(
            f"Unknown task or mixture {name!r}. Closest: {close or sorted(seqio.MixtureRegistry.names())[:12]}."
            " `python -m flanjax.data.inspect --list` lists them all."
        )
    provider = seqio.get_mixture_or_task(name)
    _check_prompts_loaded(provider, name)
    return provider


def _check_prompts_loaded(provider, name: str) -> None:
    """A mixture or task that needs an entry whose prompt source did not load fails here,
    before any work, naming the file, line and column (the other runs are unaffected)."""
    from flanjax.data.templates import sources as prompt_sources  # pylint: disable=g-import-not-at-top

    if not prompt_sources._BROKEN:  # pylint: disable=protected-access
        return
    leaves = provider.tasks if isinstance(provider, seqio.Mixture) else [provider]
    for task in leaves:
        try:
            entry = tasks_lib.renderer_of_task(task.name).entry.name
        except KeyError:  # not a catalog task (SNI)
            continue
        prompt_sources.check_not_broken(entry, used_by=name)


register_all()
