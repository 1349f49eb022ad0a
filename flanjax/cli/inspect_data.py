"""Prints the tasks, rates, example counts and a few rendered examples of a task or mixture.

  python -m flanjax.data.inspect demo
  python -m flanjax.data.inspect flan2021_minus_nli --num_examples 0
  python -m flanjax.data.inspect anli_r1_zs:3 --split validation
  python -m flanjax.data.inspect --list
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from typing import Optional, Sequence

def _lengths(text: str) -> dict[str, int]:
    out = {}
    for part in text.split(","):
        key, _, value = part.partition("=")
        if not value:
            raise SystemExit(f"--lengths expects inputs=N,targets=M; got {text!r}")
        out[key.strip()] = int(value)
    return out


def mixture_table(mixture) -> list[tuple[str, float, Optional[int]]]:
    """(task, normalised rate, train examples) for every task of a seqio mixture."""
    from flanjax.data import mixtures  # pylint: disable=g-import-not-at-top

    rows = []
    total = sum(mixture.get_rate(t) for t in mixture.tasks)
    for task in mixture.tasks:
        try:
            n = mixtures.num_train_examples(task)
        except Exception:  # pylint: disable=broad-except
            n = None
        rows.append((task.name, mixture.get_rate(task) / total, n))
    return rows


def show_examples(name: str, *, split: str, num_examples: int, seed: int, lengths) -> None:
    import seqio  # pylint: disable=g-import-not-at-top

    from flanjax.data import mixtures  # pylint: disable=g-import-not-at-top

    provider = mixtures.get_mixture_or_task(name)
    kwargs = {}
    if isinstance(provider, seqio.Mixture):
        # Mixtures keep only the output features unless asked for the raw text too.
        kwargs = dict(copy_pretokenized=True, passthrough_features=["template_id"])
    ds = provider.get_dataset(
        sequence_length=lengths, split=split, shuffle=True, seed=seed, num_epochs=1, **kwargs
    )
    for i, ex in enumerate(ds.take(num_examples).as_numpy_iterator()):
        print(f"--- example {i}" + (f" (template {ex['template_id'].decode()})" if "template_id" in ex else ""))
        print("INPUTS:\n" + textwrap.indent(ex["inputs_pretokenized"].decode(), "  "))
        print("TARGETS:\n" + textwrap.indent(ex["targets_pretokenized"].decode(), "  "))
        if "answer_options" in ex and len(ex["answer_options"]):
            print("ANSWER OPTIONS: " + " | ".join(o.decode() for o in ex["answer_options"]))
        print(f"TOKENS: inputs {len(ex['inputs'])}, targets {len(ex['targets'])}")


def report_counts() -> None:
    from flanjax.data import render, tasks  # pylint: disable=g-import-not-at-top

    for (task, reason), n in sorted(render.skipped_counts().items()):
        print(f"skipped {n} example(s) of {task}: {reason}")
    for (task, feature), n in sorted(tasks.overflow_counts().items()):
        print(f"{n} example(s) of {task} longer than the {feature} length: trimmed")
    for task, n in sorted(render.trimmed_counts().items()):
        print(f"{n} few-shot exemplar(s) of {task} left out to fit the inputs length")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", nargs="?", help="task or mixture name")
    parser.add_argument("--list", action="store_true", help="list every mixture (and task count)")
    parser.add_argument("--split", default="train")
    parser.add_argument("--num_examples", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lengths", default="inputs=512,targets=128", help="inputs=N,targets=M")
    args = parser.parse_args(argv)

    import seqio  # pylint: disable=g-import-not-at-top

    from flanjax.data import mixtures  # pylint: disable=g-import-not-at-top

    if args.list or not args.name:
        names = sorted(seqio.MixtureRegistry.names())
        print(f"{len(names)} mixtures, {len(seqio.TaskRegistry.names())} tasks")
        for n in names:
            print("  " + n)
        return 0
    try:
        provider = mixtures.get_mixture_or_task(args.name)
    except ValueError as e:
        print(e, file=sys.stderr)
        return 2
    if isinstance(provider, seqio.Mixture):
        rows = mixture_table(provider)
        print(f"mixture {provider.name}: {len(rows)} tasks")
        print(f"{'task':<48} {'rate':>8} {'examples':>10}")
        for task, rate, n in rows:
            print(f"{task:<48} {rate:>8.4f} {n if n is not None else '?':>10}")
    else:
        try:
            n = provider.num_input_examples(args.split)
        except Exception:  # pylint: disable=broad-except
            n = None
        print(f"task {provider.name}: source {type(provider.source).__name__}, {args.split} examples: {n if n else '?'}")
    if args.num_examples:
        show_examples(args.name, split=args.split, num_examples=args.num_examples, seed=args.seed,
                      lengths=_lengths(args.lengths))
        report_counts()
    return 0
