"""The source files a pipeline resource's ``libraries`` name (``glob``, ``file``, ``notebook``),
resolved relative to the resource file as the Databricks CLI does."""

from __future__ import annotations

import glob
import logging
from pathlib import Path
from typing import Any

from localdlt.bundle.errors import BundleError
from localdlt.bundle.interpolation import Resolver

log = logging.getLogger(__name__)

SOURCE_SUFFIXES = (".py", ".sql")


def library_files(entries: list[Any], base: Path, resolver: Resolver, resource_file: Path) -> list[Path]:
    """Every source file named by the ``libraries`` entries, in order, without duplicates."""
    found: list[Path] = []
    for index, entry in enumerate(entries):
        where = f"libraries[{index}]"
        if not isinstance(entry, dict) or len(entry) != 1:
            raise BundleError(
                f"{where} of {resource_file}: expected one of glob / file / notebook, got {entry!r}"
            )
        kind, spec = next(iter(entry.items()))
        if kind in ("jar", "maven", "whl"):
            log.warning("%s of %s: %s library ignored by a local run", where, resource_file.name, kind)
            continue
        if kind == "glob":
            pattern = resolver.resolve((spec or {}).get("include"), f"{where}.glob.include")
            matches = glob_sources(base, str(pattern))
            if not matches:
                raise BundleError(
                    f"{where}.glob.include {pattern!r} of {resource_file} matches no "
                    f"{'/'.join(SOURCE_SUFFIXES)} file"
                )
        elif kind in ("file", "notebook"):
            file = local_path(base, resolver.resolve((spec or {}).get("path"), f"{where}.{kind}.path"))
            if not file.is_file():
                raise BundleError(f"{where}.{kind}.path of {resource_file}: no such file {file}")
            matches = [file]
        else:
            raise BundleError(f"{where} of {resource_file}: unknown library kind {kind!r}")
        found.extend(m for m in matches if m not in found)
    return found


def glob_sources(base: Path, pattern: str) -> list[Path]:
    """Source files a ``glob.include`` matches. A trailing ``/**`` means every file below the folder
    (Databricks' folder form); other patterns follow ``glob`` with ``**`` recursive."""
    if pattern.startswith("/"):
        raise BundleError(
            f"glob {pattern!r} is a workspace path: a local run needs a path relative to the resource file"
        )
    full = str(base / pattern)
    if full.endswith("/**"):
        folder = Path(full[:-3])
        candidates = [p for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []
    else:
        candidates = [Path(p) for p in glob.glob(full, recursive=True) if Path(p).is_file()]
    sources = [
        p.resolve() for p in candidates
        if p.suffix in SOURCE_SUFFIXES and "__pycache__" not in p.parts and not p.name.startswith(".")
    ]
    return sorted(set(sources))


def local_path(base: Path, value: Any) -> Path:
    """``value`` relative to ``base``; a workspace path (``/Workspace``, ``/Volumes``, ``dbfs:``)
    is an error."""
    text = str(value)
    if text.startswith("/Workspace") or text.startswith("/Volumes") or text.startswith("dbfs:"):
        raise BundleError(
            f"{text!r} is a workspace path: a local run needs a path relative to the resource file"
        )
    return (base / text).resolve()
