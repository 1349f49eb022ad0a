"""The package's shape: imports point one way, no import circles, gin only in cli/.

Walks `flanjax/` with `ast` (nothing is imported). The layers, lowest first:
  model, data, hostmem                        (neither imports train nor evaluation)
  partitioning, convert < checkpoints (checkpoint_saver) < train < evaluation < experiments, planner < cli
A module may import its own layer or lower ones. The command shims at the top of the package
(`flanjax/eval.py`, ...) and every `__main__` only reach `flanjax.cli`.
"""

from __future__ import annotations

import ast
import os

import pytest

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "flanjax")

LAYERS = {
    "model": 0, "data": 0, "hostmem": 0,
    "partitioning": 1, "convert": 1,
    "checkpoints": 2, "checkpoint_saver": 2,
    "train": 3,
    "evaluation": 4,
    "experiments": 5, "planner": 5,
    "cli": 6,
    # command shims: `python -m flanjax.eval` etc. call flanjax.cli
    "eval": 7, "infer": 7, "demo": 7, "heldout": 7, "contamination": 7, "plan": 7,
}


def _modules() -> dict[str, str]:
    out = {}
    for root, _, files in os.walk(PACKAGE):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(root, f)
                rel = os.path.relpath(path, os.path.dirname(PACKAGE))[:-3].replace(os.sep, ".")
                out[rel.removesuffix(".__init__")] = path
    return out


MODULES = _modules()


def _is_main_block(node: ast.AST) -> bool:
    return (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Name) and node.test.left.id == "__name__"
            and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in node.test.comparators))


def _imports(name: str, path: str, *, top_level_only: bool) -> set[str]:
    """flanjax modules `name` imports (`from pkg import sub` counts as `pkg.sub`)."""
    tree = ast.parse(open(path).read(), path)
    # A module's `if __name__ == "__main__":` block is its command shim (`python -m ...`): it
    # runs only as a script, so its imports (flanjax.cli's runner) are not the module's.
    script = {id(n) for top in tree.body if _is_main_block(top) for n in ast.walk(top)}
    nodes = tree.body if top_level_only else [n for n in ast.walk(tree) if id(n) not in script]
    is_pkg = path.endswith("__init__.py")
    out = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = name.split(".")
                keep = len(parts) - node.level + (1 if is_pkg else 0)
                base = ".".join(parts[:keep] + ([node.module] if node.module else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        out.update(t for t in targets if t.startswith("flanjax"))
    return {t for t in out if t in MODULES}


def _layer(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1:
        return -1  # flanjax/__init__.py
    if parts[1] == "train" and parts[-1] == "__main__" or parts[1:] in (["data", "inspect"], ["data", "export"]) or (
        parts[1] == "convert" and parts[-1] == "__main__"
    ):
        return LAYERS["eval"]  # command shims
    return LAYERS[parts[1]]


def test_every_module_has_a_layer():
    unknown = sorted(m for m in MODULES if len(m.split(".")) > 1 and m.split(".")[1] not in LAYERS)
    assert not unknown, f"modules outside the layer table: {unknown}"


def test_imports_point_down():
    upward = []
    for name, path in MODULES.items():
        for target in _imports(name, path, top_level_only=False):
            if _layer(target) > _layer(name):
                upward.append(f"{name} -> {target}")
    assert not upward, "upward imports:\n" + "\n".join(sorted(upward))


def test_no_import_cycles_at_module_level():
    graph = {n: _imports(n, p, top_level_only=True) - {n} for n, p in MODULES.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_gin_is_bound_only_in_cli():
    offenders = []
    for name, path in MODULES.items():
        if name.startswith("flanjax.cli") or _layer(name) == LAYERS["eval"] or name == "flanjax.plan":
            continue
        tree = ast.parse(open(path).read(), path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import) and any(a.name == "gin" for a in node.names):
                offenders.append(name)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "gin":
                offenders.append(name)
    assert not offenders, f"library modules importing gin: {sorted(set(offenders))}"


def test_no_module_over_500_lines():
    long = {n: sum(1 for _ in open(p)) for n, p in MODULES.items()}
    # Data tables (own-wording templates) and generated-data specs are long by nature; code
    # modules stay under ~500 lines.
    allowed = {"flanjax.data.catalog.flan2022_eval": 620}
    over = {n: c for n, c in long.items() if c > allowed.get(n, 520)}
    assert not over, f"modules over ~500 lines: {over}"


def test_no_module_shadows_the_standard_library():
    import sys

    names = {n.split(".")[-1] for n in MODULES if not n.endswith("__main__")}
    shims = {"inspect"}  # `python -m flanjax.data.inspect`: a 5-line command shim
    clash = sorted((names - shims) & set(sys.stdlib_module_names))
    assert not clash, f"modules named like standard-library modules: {clash}"


def test_readme_lists_every_data_location():
    from flanjax.data import locations

    readme = open(os.path.join(os.path.dirname(PACKAGE), "README.md")).read()
    block = readme[readme.index("<!-- data-locations:begin -->"):readme.index("<!-- data-locations:end -->")]
    missing = [s.name for s in locations.SETTINGS if f"`{s.name}` | `{s.env}`" not in block]
    assert not missing, f"README's data-locations table lacks {missing}"
