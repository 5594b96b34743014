"""citytrade's code uses libraries through their public APIs only, and its modules import one another without cycles."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from conftest import REPO

OWN = {"citytrade", "flows"}
SOURCES = sorted(path for folder in OWN for path in (REPO / folder).rglob("*.py"))


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")


def third_party(name: str) -> bool:
    top = name.split(".")[0]
    return bool(top) and top not in OWN and top not in sys.stdlib_module_names


def patches_and_private_imports(source: str, filename: str) -> list[str]:
    """Assignments to an attribute of an imported third-party module or class (`mod.x = ...`, `Cls.meth = ...`,
    setattr on them), and imports of names starting with `_` from a third-party package."""
    tree = ast.parse(source, filename)
    imported: set[str] = set()  # local names bound to third-party modules or their members
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if third_party(alias.name):
                    imported.add((alias.asname or alias.name).split(".")[0])
                    if any(part.startswith("_") and not part.startswith("__") for part in alias.name.split(".")):
                        found.append(f"{filename}:{node.lineno} imports private {alias.name}")
        elif isinstance(node, ast.ImportFrom) and not node.level and third_party(node.module or ""):
            for alias in node.names:
                imported.add(alias.asname or alias.name)
                private_module = any(part.startswith("_") and not part.startswith("__") for part in node.module.split("."))
                if (alias.name.startswith("_") and not alias.name.startswith("__")) or private_module:
                    found.append(f"{filename}:{node.lineno} imports private {alias.name} from {node.module}")

    def root(node: ast.AST) -> str | None:
        while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
            node = node.func if isinstance(node, ast.Call) else node.value
        return node.id if isinstance(node, ast.Name) else None

    # local names for third-party objects: `X = mod.Class`, `A, B = mod.A, mod.B`, a function a third-party decorator
    # made (a Prefect flow), so that `X.attr = ...` counts too
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
            pairs = zip(target.elts, value.elts) if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) else [(target, value)]
            for name, bound in pairs:
                if isinstance(name, ast.Name) and root(bound) in imported:
                    imported.add(name.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(root(d) in imported for d in node.decorator_list):
            imported.add(node.name)

    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = node.targets
        for target in targets:
            for element in target.elts if isinstance(target, ast.Tuple) else [target]:
                if isinstance(element, ast.Attribute) and root(element) in imported:
                    found.append(f"{filename}:{node.lineno} assigns {ast.unparse(element)}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in {"setattr", "delattr"} and node.args:
            if root(node.args[0]) in imported:
                found.append(f"{filename}:{node.lineno} {node.func.id}({ast.unparse(node.args[0])}, ...)")
    return sorted(found, key=lambda line: int(line.split(":")[1].split()[0]))


def test_no_third_party_attribute_is_assigned_and_no_private_name_imported():
    found = [line for path in SOURCES for line in patches_and_private_imports(path.read_text(encoding="utf-8"), str(path.relative_to(REPO)))]
    assert found == []


def test_the_check_finds_what_it_forbids():
    source = (
        "import dbt.tracking\n"
        "from dbt_common.events import base_types\n"
        "from great_expectations.execution_engine import pandas_execution_engine as engine\n"
        "from prefect._internal import thing\n"
        "from agate import _private\n"
        "import duckdb\n"
        "from prefect import flow\n"
        "from dbt_common.events.base_types import BaseEvent\n"
        "dbt.tracking.active_user = None\n"
        "base_types.BaseEvent.__init__ = lambda self: None\n"
        "engine.HASH_THRESHOLD = 0\n"
        "setattr(duckdb, 'x', 1)\n"
        "Base, Other = BaseEvent, base_types.EventLevel\n"
        "Base.pb_msg = property(lambda self: None)\n"
        "@flow(name='x')\n"
        "def pipeline(): pass\n"
        "pipeline.serialize_parameters = dict\n"
        "local = object()\n"
        "local.attribute = 1\n"
    )
    found = patches_and_private_imports(source, "example.py")
    assert found == [
        "example.py:4 imports private thing from prefect._internal",
        "example.py:5 imports private _private from agate",
        "example.py:9 assigns dbt.tracking.active_user",
        "example.py:10 assigns base_types.BaseEvent.__init__",
        "example.py:11 assigns engine.HASH_THRESHOLD",
        "example.py:12 setattr(duckdb, ...)",
        "example.py:14 assigns Base.pb_msg",
        "example.py:17 assigns pipeline.serialize_parameters",
    ]


def import_graph() -> dict[str, set[str]]:
    """citytrade module -> the citytrade modules it imports (anywhere in it, a function's body too)."""
    modules = {module_name(path): path for path in SOURCES if module_name(path).startswith("citytrade")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
            else:
                continue
            graph[name] |= {target for target in targets if target in modules and target != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_citytrade_modules_import_each_other_without_cycles():
    graph = import_graph()
    assert len(graph) > 20 and "citytrade.pipeline" in graph
    assert cycles(graph) == []


def test_the_cycle_check_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
