"""The floor plan of ``src/msreboot`` is enforced: imports only point down, never into another
package's private modules, and never in a circle.

The floors are those of the design (an import only ever points to a lower floor; packages on one
floor may import the ones listed before them on that floor):

1. ``exceptions``, ``data``
2. ``stats``
3. ``protocols``, ``endpoints``, ``datasets``
4. ``evidence``, ``simulate``
5. ``trials``, ``calibration``
6. ``analysis``
7. ``report``, ``app``
8. ``cli``
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "msreboot"

#: Every top-level unit of ``msreboot`` in import order: a unit may import only those before it.
ORDER = (
    "_version",
    "_compiled",
    "exceptions",
    "data",
    "stats",
    "protocols",
    "endpoints",
    "datasets",
    "evidence",
    "simulate",
    "trials",
    "calibration",
    "analysis",
    "report",
    "app",
    "cli",
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _type_checking_nodes(tree: ast.Module) -> set[ast.AST]:
    """The statements under ``if TYPE_CHECKING:`` (they never run, so they make no circle)."""
    inside: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                inside.update(ast.walk(child))
    return inside


def _imports(name: str, path: Path, *, runtime_only: bool = False) -> Iterator[tuple[int, str]]:
    """Every ``msreboot`` module imported by a module, anywhere in it (lazy imports included;
    with ``runtime_only``, without those under ``if TYPE_CHECKING:``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_nodes(tree) if runtime_only else set()
    for node in ast.walk(tree):
        if node in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "msreboot":
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.split(".")[0] != "msreboot":
                continue
            yield node.lineno, target
            for alias in node.names:  # `from msreboot.x import _module` imports a module too
                candidate = f"{target}.{alias.name}"
                if candidate in MODULES:
                    yield node.lineno, candidate


MODULES = _modules()


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _is_private_of(module: str, owner: str) -> bool:
    """Whether ``module`` is a private part of a package other than ``owner``'s."""
    parts = module.split(".")[1:]
    for depth, part in enumerate(parts):
        if part.startswith("_") and part != "__init__":
            package = ".".join(["msreboot", *parts[:depth]])
            return not (owner == package or owner.startswith(package + "."))
    return False


def _edges(*, runtime_only: bool = False) -> list[tuple[str, int, str]]:
    return [
        (name, line, target)
        for name, path in MODULES.items()
        for line, target in _imports(name, path, runtime_only=runtime_only)
    ]


def test_every_unit_has_a_floor() -> None:
    units = {_unit(name) for name in MODULES} - {""}
    assert units <= set(ORDER), f"units without a floor in ORDER: {sorted(units - set(ORDER))}"


def test_no_import_of_another_packages_private_module() -> None:
    bad = [
        f"{name}:{line} imports {target}"
        for name, line, target in _edges()
        if _unit(name) != _unit(target)
        and _is_private_of(target, name)
        and _unit(target) not in ("_version", "_compiled")
    ]
    assert not bad, "\n".join(bad)


def test_imports_only_point_down() -> None:
    bad = []
    for name, line, target in _edges():
        source, dest = _unit(name), _unit(target)
        if source == dest or dest == "" or (source == "" and dest == "_version"):
            continue
        if source == "" or ORDER.index(dest) > ORDER.index(source):
            bad.append(f"{name}:{line} ({source}) imports {target} ({dest}), a higher floor")
    assert not bad, "\n".join(bad)


def test_no_import_circle() -> None:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, _line, target in _edges(runtime_only=True):
        if target in MODULES and target != name:
            # a package's __init__ re-exports its modules: an edge into a package
            # is an edge into the package, not a circle through its members
            graph[name].add(target)
    for name in MODULES:  # importing a module runs its packages' __init__ first
        graph[name].discard(name.rpartition(".")[0])
    cycles = _cycles(graph)
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each as a path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


@pytest.mark.parametrize(
    ("module", "target", "private"),
    [
        ("msreboot.report._report", "msreboot.data._files", True),
        ("msreboot.data._store", "msreboot.data._files", False),
        ("msreboot.report._report", "msreboot.data", False),
        ("msreboot.calibration._run", "msreboot.calibration._smc", False),
    ],
)
def test_private_rule(module: str, target: str, private: bool) -> None:
    assert _is_private_of(target, module) is private


#: Front ends render results: from these packages they import result types and constants only.
RENDERERS = ("report", "app")
COMPUTING = ("stats", "endpoints", "evidence", "simulate", "trials", "calibration", "analysis")


def test_front_ends_import_no_computing_function() -> None:
    bad = []
    for name, path in MODULES.items():
        if _unit(name) not in RENDERERS:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if _unit(node.module) not in COMPUTING:
                    continue
                for alias in node.names:
                    if alias.name[:1].islower():
                        bad.append(f"{name}:{node.lineno} imports {node.module}.{alias.name}")
    assert not bad, "\n".join(bad)
