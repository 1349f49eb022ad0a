"""`python -m flanjax.plan --compile_all`: every experiment on its slice, a half and a double.

Each row is one `python -m flanjax.plan --compile --no_eval --json` subprocess (a failed or
killed compile costs one row, and memory goes back to the OS between rows). On the half and
double slices the mesh keeps the experiment's model axis and gives the data axis the rest
of the chips (`--data_rest`). The table is Markdown, as docs/tpu.md carries it.
"""

from __future__ import annotations

import glob
import json
import os
import re
import subprocess
import sys
import time
from typing import Iterator, Sequence

from flanjax.planner import topology

GIB = 1024**3
_TOPOLOGY_RE = re.compile(r"^TPU_TOPOLOGY\s*=\s*'([^']+)'", re.MULTILINE)
_INCLUDE_RE = re.compile(r"^include\s+'([^']+)'", re.MULTILINE)


def named_topology(path: str, search: Sequence[str]) -> str | None:
    """The TPU_TOPOLOGY a gin file (or one it includes) sets; the file's own value wins."""
    text = open(path).read()
    found = _TOPOLOGY_RE.findall(text)
    if found:
        return found[-1]
    for include in reversed(_INCLUDE_RE.findall(text)):
        for root in search:
            candidate = os.path.join(root, include)
            if os.path.exists(candidate):
                name = named_topology(candidate, search)
                if name:
                    return name
    return None


def neighbours(name: str) -> list[tuple[str, str]]:
    """(label, slice) for the named slice, one half its size and one double."""
    s = topology.parse_slice(name)
    cores = topology.CHIP_TABLE[s.chip.generation][3]
    out = [("named", name)]
    for label, chips in (("smaller", s.num_chips // 2), ("larger", s.num_chips * 2)):
        if chips >= 1:
            out.append((label, f"{s.chip.generation}-{chips * cores}"))
    return out


def rows(search: Sequence[str]) -> Iterator[tuple[str, str, str]]:
    root = search[-1]
    for path in sorted(glob.glob(os.path.join(root, "experiments", "*.gin"))):
        name = named_topology(path, search)
        experiment = os.path.relpath(path, root)
        if name is None:
            yield experiment, "named", ""
            continue
        for label, slice_name in neighbours(name):
            yield experiment, label, slice_name


def compile_row(experiment: str, label: str, slice_name: str, timeout_s: int = 3600) -> dict:
    cmd = [sys.executable, "-m", "flanjax.plan", "--compile", "--no_eval", "--json",
           f"--gin_file={experiment}", f"--topology={slice_name}"]
    if label != "named":
        cmd.append("--data_rest")
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"compile did not finish in {timeout_s} s"}
    lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
    if lines:
        result = json.loads(lines[-1])
    else:
        err = [l for l in proc.stderr.splitlines() if l.startswith("error:")]
        result = {"error": err[-1] if err else f"exit {proc.returncode}"}
    result["wall_seconds"] = round(time.perf_counter() - start)
    return result


def markdown_row(experiment: str, label: str, slice_name: str, r: dict) -> str:
    def gib(n):
        return "?" if n is None else f"{n / GIB:.1f}"

    if r.get("bytes_per_chip") is None and r.get("error"):
        verdict = "crashed (not checked)" if r.get("compiler_crashed") else "error"
        return f"| {experiment} | {slice_name} ({label}) | {verdict} | | | {r['error'][:160]} |"
    fits = "yes" if r.get("fits") else "**no**"
    mfu = "" if r.get("estimated_mfu") is None else f"{100 * r['estimated_mfu']:.0f}%"
    if mfu and r.get("xla_counts_loops_once"):
        mfu = f"<= {mfu} (model FLOPs; loops)"  # roofline.py: XLA counted each loop body once
    sizes = r.get("mesh") or {}
    mesh = " x ".join(f"{a} {sizes[a]}" for a in ("slice", "data", "model") if a in sizes)
    if (r.get("num_microbatches") or 1) > 1:
        mesh += f", {r['num_microbatches']} microbatches"
    note = (r.get("error") or "").replace("RESOURCE_EXHAUSTED: Ran out of memory on HBM, the total memory required for ", "")[:160] or f"compiled in {r.get('wall_seconds', '?')} s"
    return (f"| {experiment} | {slice_name} ({label}, mesh {mesh}) | {fits} | "
            f"{gib(r.get('bytes_per_chip'))} / {gib(r.get('hbm_bytes_per_chip'))} | {mfu} | "
            f"{note} |")


HEADER = ("| experiment | slice | fits | GiB a chip (XLA) / HBM | est. MFU | note |\n"
          "|---|---|---|---|---|---|")


def main(search: Sequence[str], json_lines: bool = False) -> int:
    """search: gin config roots, the packaged configs last (its experiments/ are listed)."""
    search = list(search)
    print(HEADER, flush=True)
    for experiment, label, slice_name in rows(search):
        if not slice_name:
            print(f"| {experiment} | (no TPU_TOPOLOGY) | | | | |", flush=True)
            continue
        result = compile_row(experiment, label, slice_name)
        print(markdown_row(experiment, label, slice_name, result), flush=True)
        if json_lines:
            print(json.dumps({"experiment": experiment, "slice": slice_name, **result}), flush=True)
    return 0
