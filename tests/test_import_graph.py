"""No import cycles in stylegen: every import counts, however late or type-only.

The graph is read from the source with `ast`, not from a running interpreter, so it sees
what a run may never reach: imports inside functions, under `if TYPE_CHECKING:`, and the
facade's lazy names (`stylegen._API`, loaded on first use). Its nodes are stylegen's modules
(a package is its `__init__`); `import a.b` and `from a.b import c` are edges to `a.b`, or
to `a.b.c` where that is a module. A package's `__init__` is an edge to the modules it
re-exports from, like any module; the parents of an imported module are not edges (every
module would reach `stylegen/__init__`, and nothing would be learnt).

A cycle is a strongly connected component of two or more modules (or a module importing
itself); the failure names one concrete loop inside each.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "stylegen"

#: Edges left out of the cycle check until their owner cuts them: (importer, imported) -> why.
KNOWN_EDGES: dict[tuple[str, str], str] = {}


def module_files(package: Path = PACKAGE) -> dict[str, Path]:
    """Every module of the package by dotted name (`stylegen.corpus` is corpus/__init__.py)."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = [package.name, *path.relative_to(package).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The dotted name an `ImportFrom` reads from, relative imports resolved."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _facade_names(tree: ast.Module) -> Iterator[str]:
    """The modules named in a module-level `_API = {...}` (the facade's lazy re-exports)."""
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        value = getattr(node, "value", None)
        if isinstance(target, ast.Name) and target.id == "_API" and isinstance(value, ast.Dict):
            for item in value.values:
                if isinstance(item, ast.Constant) and isinstance(item.value, str):
                    yield item.value.partition(":")[0]


def imported(module: str, path: Path, modules: dict[str, Path]) -> Iterator[tuple[str, int]]:
    """(stylegen module, line) for every import in the file, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    is_package = path.name == "__init__.py"

    def resolve(name: str) -> str | None:
        while name and name not in modules:  # `import stylegen.x.attr`-like names: the module part
            name = name.rpartition(".")[0]
        return name or None

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if (found := resolve(alias.name)) is not None:
                    yield found, node.lineno
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, is_package, node)
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                found = sub if sub in modules else resolve(source)
                if found is not None:
                    yield found, node.lineno
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (found := resolve(node.args[0].value)) is not None
        ):
            yield found, node.lineno
    for name in _facade_names(tree):
        if (found := resolve(name)) is not None:
            yield found, 0


def import_graph(package: Path = PACKAGE) -> dict[str, dict[str, int]]:
    """module -> {imported module: first line}, self-imports of a package's own name dropped."""
    modules = module_files(package)
    graph: dict[str, dict[str, int]] = {name: {} for name in modules}
    for name, path in modules.items():
        for target, line in imported(name, path, modules):
            if target != name or path.name != "__init__.py":  # a package naming its own submodules
                graph[name].setdefault(target, line)
    return graph


def strongly_connected(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Tarjan's algorithm, iteratively (no recursion limit): the components, each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                out.append(sorted(component))
    return out


def a_cycle(graph: dict[str, dict[str, int]], component: list[str]) -> list[str]:
    """One loop through the component's first module, by the shortest way back (breadth first)."""
    start, members = component[0], set(component)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node]):
                if child not in members:
                    continue
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    return [start, start]


def cycles(graph: dict[str, dict[str, int]]) -> list[str]:
    """One line per cycle: `a (line 3) -> b (line 9) -> a`."""
    lines = []
    for component in strongly_connected(graph):
        if len(component) == 1 and component[0] not in graph[component[0]]:
            continue
        loop = a_cycle(graph, component)
        steps = [f"{a} (line {graph[a][b]})" for a, b in itertools.pairwise(loop)]
        more = f"   [{len(component)} modules in the knot]" if len(component) > len(loop) - 1 else ""
        lines.append(" -> ".join([*steps, loop[-1]]) + more)
    return lines


def without_known(graph: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    return {a: {b: line for b, line in edges.items() if (a, b) not in KNOWN_EDGES} for a, edges in graph.items()}


def test_no_import_cycles() -> None:
    found = cycles(without_known(import_graph()))
    assert not found, "import cycles in stylegen/:\n" + "\n".join(found)


def test_no_import_cycles_counting_the_known_exceptions() -> None:
    found = cycles(import_graph())
    assert not found, "import cycles in stylegen/:\n" + "\n".join(found)


def test_the_checker_sees_late_type_only_and_facade_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "stylegen"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text('_API = {"thing": "stylegen.sub.b"}\n')
    (pkg / "a.py").write_text("def f():\n    from stylegen.sub import b\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..c import X\n")
    (pkg / "c.py").write_text("import importlib\nimportlib.import_module('stylegen.a')\n")
    (pkg / "d.py").write_text("from stylegen import thing\n")
    graph = import_graph(pkg)
    assert graph["stylegen"] == {"stylegen.sub.b": 0}
    assert graph["stylegen.d"] == {"stylegen": 1}
    found = cycles(graph)
    assert found == ["stylegen.a (line 2) -> stylegen.sub.b (line 3) -> stylegen.c (line 2) -> stylegen.a"]
    (pkg / "c.py").write_text("")
    assert cycles(import_graph(pkg)) == []
