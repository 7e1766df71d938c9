"""What the bundle tests compare: the bundle files, and facts read from the pipeline source with
``ast`` (no Spark, no import of the pipeline): the tables it defines and the configuration keys
its code reads."""

from __future__ import annotations

import ast
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
PIPELINE_DIR = REPO / "pipelines" / "orders"
PACKAGE_ROOT = REPO / "src"
CONF_PREFIX = "orders."  # the pipeline's configuration namespace (BRIEF.md)
# The official bundle JSON schema, vendored at a pinned databricks/cli commit (see schema/README.md).
SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "bundle-config.schema.json"

# dlt / dp calls and decorators that create a stored dataset (views are not stored: excluded).
TABLE_DECORATORS = {"table", "materialized_view"}
TABLE_FUNCTIONS = {"create_streaming_table"}


def bundle_files() -> list[Path]:
    """databricks.yml and every resources/*.yml."""
    return [REPO / "databricks.yml", *sorted((REPO / "resources").glob("*.yml"))]


def load_yaml(path: Path) -> dict[str, Any]:
    """One bundle file."""
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def pipeline_sources() -> list[Path]:
    """The pipeline's Python files."""
    return sorted(p for p in PIPELINE_DIR.rglob("*.py") if "__pycache__" not in p.parts)


@cache
def defined_tables() -> frozenset[str]:
    """Every table / materialized view / streaming table the pipeline defines: ``name=`` (or the
    first positional argument) of ``@dlt.table`` / ``@dp.materialized_view`` / ``create_streaming_table``,
    else the decorated function's name."""
    names: set[str] = set()
    for path in pipeline_sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                for decorator in node.decorator_list:
                    call = decorator if isinstance(decorator, ast.Call) else None
                    target = call.func if call else decorator
                    if isinstance(target, ast.Attribute) and target.attr in TABLE_DECORATORS:
                        names.add(_name_argument(call) or node.name)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr in TABLE_FUNCTIONS:
                    name = _name_argument(node)
                    assert name, f"{path}: {node.func.attr} without a literal name"
                    names.add(name)
    return frozenset(names)


def _name_argument(call: ast.Call | None) -> str | None:
    if call is None:
        return None
    for keyword in call.keywords:
        if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
            return str(keyword.value.value)
    if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return call.args[0].value
    return None


@cache
def configuration_keys_read() -> frozenset[str]:
    """Configuration keys (``orders.*``) the pipeline code reads with ``<...>conf.get(KEY, ...)``,
    in the pipeline files and every ``orders_lakehouse`` module they import (transitively).

    KEY is a string literal, or a loop / comprehension variable over a module-level dict literal
    (``for key, default in DEFAULTS.items()``): then every key of that dict is read. Any other
    key expression fails the analysis, so that it is never silently missed."""
    keys: set[str] = set()
    for path in _reachable_modules():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        dicts = _module_dict_literals(tree)
        loops = _loop_sources(tree)
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get"
            ):
                continue
            if not _ends_with_conf(node.func.value) or not node.args:
                continue
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                keys.add(arg.value)
            elif isinstance(arg, ast.Name) and arg.id in loops and loops[arg.id] in dicts:
                keys.update(dicts[loops[arg.id]])
            else:
                raise AssertionError(
                    f"{path}:{node.lineno}: conf.get with a key the test cannot read: {ast.unparse(arg)}"
                )
    return frozenset(k for k in keys if k.startswith(CONF_PREFIX))


def _ends_with_conf(node: ast.expr) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "conf") or (
        isinstance(node, ast.Name) and node.id == "conf"
    )


def _module_dict_literals(tree: ast.Module) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for node in tree.body:
        target, value = None, None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        if isinstance(target, ast.Name) and isinstance(value, ast.Dict):
            found[target.id] = [
                k.value for k in value.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)
            ]
    return found


def _loop_sources(tree: ast.Module) -> dict[str, str]:
    """Loop variable -> name of the dict it iterates (``D``, ``D.items()``, ``D.keys()``)."""
    found: dict[str, str] = {}
    for loop in (n for n in ast.walk(tree) if isinstance(n, (ast.comprehension, ast.For))):
        iterated = loop.iter
        if (
            isinstance(iterated, ast.Call)
            and isinstance(iterated.func, ast.Attribute)
            and iterated.func.attr in ("items", "keys")
        ):
            iterated = iterated.func.value
        if not isinstance(iterated, ast.Name):
            continue
        target = loop.target
        first = target.elts[0] if isinstance(target, ast.Tuple) and target.elts else target
        if isinstance(first, ast.Name):
            found[first.id] = iterated.id
    return found


def _reachable_modules() -> list[Path]:
    seen: dict[Path, None] = {}
    queue = list(pipeline_sources())
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        seen[path] = None
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            modules: list[str] = []
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("orders_lakehouse")
            ):
                modules = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                modules = [a.name for a in node.names if a.name.startswith("orders_lakehouse")]
            for module in modules:
                file = _module_file(module)
                if file:
                    queue.append(file)
    return list(seen)


def _module_file(module: str) -> Path | None:
    base = PACKAGE_ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


_TABLE_REFERENCE = re.compile(r"\b(?:FROM|JOIN)\s+([`\w.${}]+)", re.IGNORECASE)


def tables_in_sql(sql: str) -> set[str]:
    """Table names after FROM / JOIN (last part of a qualified name, backticks and
    ``${var.catalog}.${var.schema}.`` prefixes removed); sub-queries are skipped."""
    names = set()
    for match in _TABLE_REFERENCE.finditer(sql):
        ref = match.group(1)
        if ref.startswith("("):
            continue
        names.add(ref.replace("`", "").split(".")[-1])
    return {n for n in names if n}


def dashboard(path: Path) -> dict[str, Any]:
    """A ``.lvdash.json``."""
    return json.loads(path.read_text(encoding="utf-8"))


def dataset_sql(dataset: dict[str, Any]) -> str:
    """A dashboard dataset's query (``query`` or ``queryLines``)."""
    return dataset.get("query") or "".join(dataset.get("queryLines") or [])
