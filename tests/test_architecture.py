"""The one-way data flow, checked: no import cycle between ecsdeploy's packages, and
the pure stages import no adapter."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ecsdeploy"


def _unit(module: str) -> str:
    """`ecsdeploy.plan.model` -> `plan`; a top-level module is its own unit."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every ecsdeploy module `path` imports, at the top or inside functions."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("ecsdeploy")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("ecsdeploy"):
                found.add(target)
    return found


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        source = _unit(_module_name(path))
        for target in _imports(path):
            unit = _unit(target)
            if unit != source and unit != "ecsdeploy":
                graph.setdefault(source, set()).add(unit)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt in path:
                cycle = [*path[path.index(nxt) :], nxt]
                if sorted(cycle[:-1]) not in [sorted(c[:-1]) for c in cycles]:
                    cycles.append(cycle)
            else:
                visit(nxt, [*path, nxt])

    for start in sorted(graph):
        visit(start, [start])
    return cycles


# The CLI dispatches to everything, the sandbox and the demo sit beside the flow.
OUTSIDE_THE_FLOW = {"cli", "sandbox", "demo", "__main__"}


def test_no_import_cycle_between_packages() -> None:
    graph = {k: v - OUTSIDE_THE_FLOW for k, v in _graph().items() if k not in OUTSIDE_THE_FLOW}
    assert _cycles(graph) == []


def test_the_cycle_check_can_fail() -> None:
    assert _cycles({"plan": {"verify"}, "verify": {"plan"}}) == [["plan", "verify", "plan"]]


def test_the_planner_and_the_diff_import_no_adapter() -> None:
    for name in (
        "planner.py",
        "diff.py",
        "normalize.py",
        "model.py",
        "serialize.py",
        "scaling.py",
    ):
        imported = _imports(PACKAGE / "plan" / name)
        adapters = sorted(
            m
            for m in imported
            if m.startswith("ecsdeploy.adapters") and m != "ecsdeploy.adapters.ecs"
        )
        assert adapters == [], (name, adapters)
