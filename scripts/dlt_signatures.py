"""Write the public signatures of Databricks' ``databricks-dlt`` package (its stub of the ``dlt``
module) to a JSON file that the parity test compares localdlt's ``dlt`` module with.

The package is downloaded from the package registry with pip (``--no-deps``: it depends on
databricks-connect, which must never share an environment with pyspark) and read with ``ast``
from the wheel, never imported. The file records the package version, the wheel's name and
sha256, and for every public function its parameters in order: name, kind, default (Python
source of the literal, or absent).

Run (regenerates the pinned file; review the diff, then commit it)::

    .venv/bin/python scripts/dlt_signatures.py --version 0.3.0 \
        --out tests/localdlt/data/databricks_dlt_signatures.json
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

PACKAGE = "databricks-dlt"
_KINDS = {"posonlyargs": "POSITIONAL_ONLY", "args": "POSITIONAL_OR_KEYWORD", "kwonlyargs": "KEYWORD_ONLY"}


def download_wheel(version: str, into: Path) -> Path:
    """``pip download`` the wheel of ``databricks-dlt==version`` (no dependencies) into ``into``."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary",
            ":all:",
            "--dest",
            str(into),
            f"{PACKAGE}=={version}",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    wheels = sorted(into.glob("databricks_dlt-*.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"expected one databricks_dlt wheel in {into}, found {[w.name for w in wheels]}")
    return wheels[0]


def _parameters(node: ast.FunctionDef) -> list[dict[str, Any]]:
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    defaults: dict[str, ast.expr] = dict(
        zip([a.arg for a in positional][len(positional) - len(args.defaults) :], args.defaults)
    )
    defaults.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None})
    params: list[dict[str, Any]] = []
    for group in ("posonlyargs", "args"):
        for arg in getattr(args, group):
            params.append(_param(arg.arg, _KINDS[group], defaults))
    if args.vararg is not None:
        params.append({"name": args.vararg.arg, "kind": "VAR_POSITIONAL"})
    for arg in args.kwonlyargs:
        params.append(_param(arg.arg, "KEYWORD_ONLY", defaults))
    if args.kwarg is not None:
        params.append({"name": args.kwarg.arg, "kind": "VAR_KEYWORD"})
    return params


def _param(name: str, kind: str, defaults: dict[str, ast.expr]) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "kind": kind}
    if name in defaults:
        entry["default"] = ast.unparse(defaults[name])
    return entry


def _functions(tree: ast.Module) -> dict[str, dict[str, Any]]:
    return {
        node.name: {"parameters": _parameters(node)}
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")
    }


def _aliases(tree: ast.Module) -> dict[str, dict[str, Any]]:
    """``name = other`` and ``name = deprecation_warn(replacement_func=other, ...)`` at module level."""
    found: dict[str, dict[str, Any]] = {}
    for node in tree.body:
        if not (
            isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
        ):
            continue
        name, value = node.targets[0].id, node.value
        if isinstance(value, ast.Name):
            found[name] = {"alias_of": value.id, "deprecated": False}
        elif (
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Name)
            and value.func.id == "deprecation_warn"
        ):
            keywords = {k.arg: k.value for k in value.keywords}
            target = keywords.get("replacement_func")
            if isinstance(target, ast.Name):
                found[name] = {"alias_of": target.id, "deprecated": True}
    return found


def _all(tree: ast.Module) -> list[str] | None:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return [ast.literal_eval(element) for element in node.value.elts]  # type: ignore[attr-defined]
    return None


def signatures_of(wheel: Path, version: str) -> dict[str, Any]:
    """The JSON document for ``wheel``."""
    with zipfile.ZipFile(wheel) as archive:
        api = ast.parse(archive.read("dlt/api.py").decode("utf-8"))
        init = ast.parse(archive.read("dlt/__init__.py").decode("utf-8"))
    return {
        "package": PACKAGE,
        "version": version,
        "source": f"{wheel.name} from PyPI (pip download --no-deps), read with ast",
        "sha256": hashlib.sha256(wheel.read_bytes()).hexdigest(),
        "generated_by": "scripts/dlt_signatures.py",
        "all": _all(init),
        "functions": _functions(api),
        "aliases": _aliases(init),
    }


def main(argv: list[str] | None = None) -> int:
    """Download, read, write; prints the output path."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--version", default="0.3.0", help="databricks-dlt version (default 0.3.0, the newest)"
    )
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dlt-signatures-") as tmp:
        document = signatures_of(download_wheel(args.version, Path(tmp)), args.version)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
