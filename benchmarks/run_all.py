"""Runs every benchmark, one fresh process each, and prints the summary table.

    python -m benchmarks.run_all [--quick] [--only train_step,decode] [--out DIR]

Each benchmark's final JSON line is saved as DIR/<name>.json (default outputs/benchmarks,
ignored by git) and the summary as DIR/summary.json. The input-pipeline benchmark compares
against the train step's tokens/s from this same run. Ends with one line of JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from benchmarks import common

BENCHMARKS = ("train_step", "decode", "score", "data")
# (headline figure, its unit, target ratio) per benchmark.
HEADLINES = {
    "train_step": ("{flanjax_tokens_per_s} vs {transformers_tokens_per_s}", "tokens/s", 1.25),
    "decode": ("{flanjax_greedy_tokens_per_s} vs {transformers_greedy_tokens_per_s}", "new tokens/s (greedy)", 2.0),
    "score": ("{flanjax_examples_per_s} vs {transformers_examples_per_s}", "examples/s", 3.0),
    "data": ("{slot_tokens_per_s} vs {train_tokens_per_s}", "token slots/s (pipeline vs train step)", 10.0),
}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--tiny", action="store_true")
    p.add_argument("--only", default=",".join(BENCHMARKS))
    p.add_argument("--out", default=os.path.join("outputs", "benchmarks"))
    args = p.parse_args(argv)
    names = [n for n in args.only.split(",") if n]
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        p.error(f"unknown benchmarks {unknown}; known: {BENCHMARKS}")
    os.makedirs(args.out, exist_ok=True)
    flags = (["--quick"] if args.quick else []) + (["--tiny"] if args.tiny else [])
    results: dict[str, dict] = {}
    for name in names:
        json_out = os.path.join(args.out, f"{name}.json")
        cmd = [sys.executable, "-m", f"benchmarks.{name}", *flags, "--json_out", json_out]
        train_json = os.path.join(args.out, "train_step.json")
        if name == "data" and ("train_step" in results or os.path.exists(train_json)):
            # This run's train step, else the last one saved in the same folder.
            cmd += ["--train_json", train_json]
        print(f"\n$ {' '.join(cmd[1:])}", flush=True)
        start = time.perf_counter()
        proc = subprocess.run(cmd, check=False)
        if proc.returncode != 0:
            results[name] = {"error": f"exit status {proc.returncode}"}
            continue
        with open(json_out) as f:
            results[name] = json.loads(f.read().splitlines()[-1])
        results[name]["wall_s"] = round(time.perf_counter() - start, 1)

    rows = []
    for name, r in results.items():
        if "error" in r:
            rows.append([name, r["error"], "", "", "", ""])
            continue
        figure, unit, target = HEADLINES[name]
        reached = "yes" if r["ratio"] is not None and r["ratio"] >= target else "no"
        rows.append([name, figure.format(**r), unit, r["ratio"], f">= {target}", reached])
    common.print_table("summary (flanjax vs baseline)", rows, ["benchmark", "figures", "unit", "ratio", "target", "reached"])
    summary = {
        "benchmark": "run_all",
        "machine": common.machine_line(),
        "ratio": {n: r.get("ratio") for n, r in results.items()},
        "results": results,
    }
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2, sort_keys=True)
    print(json.dumps({"benchmark": "run_all", "ratio": summary["ratio"]}, sort_keys=True), flush=True)
    failed = [n for n, r in results.items() if "error" in r]
    if failed:
        sys.exit(f"benchmarks failed: {failed}")
    return summary


if __name__ == "__main__":
    main()
