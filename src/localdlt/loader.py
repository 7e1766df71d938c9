"""Load pipeline files into a registry, with ``dlt`` / ``pyspark.pipelines`` available only
while they load, and the globals Databricks gives them (``spark``, ``dbutils``).
"""

from __future__ import annotations

import logging
import sys
import types
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from localdlt import api, dp
from localdlt.cdc import api as cdc_api
from localdlt.dbutils import DBUtils
from localdlt.errors import LocalDltError, PipelineLoadError, line_in
from localdlt.definitions import SourceLocation
from localdlt.registry import Registry, registration_context
from localdlt.sql.register import register_sql_file

log = logging.getLogger(__name__)

# Pipeline source files: Python, and Databricks pipeline SQL (one language per file).
SOURCE_SUFFIXES = (".py", ".sql")

DLT_NAMES = (
    "table",
    "view",
    "materialized_view",
    "create_streaming_table",
    "append_flow",
    "read",
    "read_stream",
    "readStream",
    "expect",
    "expect_or_drop",
    "expect_or_fail",
    "expect_all",
    "expect_all_or_drop",
    "expect_all_or_fail",
    "create_sink",
    "foreach_batch_sink",
    "on_event_hook",
    "create_target_table",
    "create_streaming_live_table",
    "create_view",
    "create_table",
)
# Public in Databricks' package but left out of its __all__: attributes only.
DLT_ATTRIBUTES = ("enable_local_execution",)
CDC_NAMES = (
    "apply_changes",
    "create_auto_cdc_flow",
    "apply_changes_from_snapshot",
    "create_auto_cdc_from_snapshot_flow",
)


def build_dlt_module() -> types.ModuleType:
    """A fresh ``dlt`` module object with the local implementations."""
    module = types.ModuleType("dlt", "Local implementation of Databricks' dlt module (localdlt).")
    for name in (*DLT_NAMES, *DLT_ATTRIBUTES):
        setattr(module, name, getattr(api, name))
    for name in CDC_NAMES:
        setattr(module, name, getattr(cdc_api, name))
    module.__all__ = [*DLT_NAMES, *CDC_NAMES]  # type: ignore[attr-defined]
    return module


def build_dp_module() -> types.ModuleType:
    """A fresh ``pyspark.pipelines`` module object backed by the same engine."""
    module = types.ModuleType("pyspark.pipelines", dp.__doc__)
    for name in dp.__all__:
        setattr(module, name, getattr(dp, name))
    module.__all__ = list(dp.__all__)  # type: ignore[attr-defined]
    return module


@contextmanager
def pipeline_modules() -> Iterator[None]:
    """Put ``dlt`` and ``pyspark.pipelines`` in ``sys.modules`` for the block, then restore."""
    import pyspark

    saved = {name: sys.modules.get(name) for name in ("dlt", "pyspark.pipelines")}
    saved_attr = pyspark.__dict__.get("pipelines", None)
    dp_module = build_dp_module()
    sys.modules["dlt"] = build_dlt_module()
    sys.modules["pyspark.pipelines"] = dp_module
    pyspark.pipelines = dp_module  # type: ignore[attr-defined] - `from pyspark import pipelines` reads the attribute
    try:
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
        if saved_attr is None:
            pyspark.__dict__.pop("pipelines", None)
        else:
            pyspark.pipelines = saved_attr  # type: ignore[attr-defined]


def pipeline_files(paths: Iterable[str | Path]) -> list[Path]:
    """The ``.py`` and ``.sql`` files of ``paths`` (files as given, folders recursively, sorted), no
    duplicates."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.suffix in SOURCE_SUFFIXES and p.is_file() and "__pycache__" not in p.parts
            )
        elif path.is_file():
            found = [path]
        else:
            raise PipelineLoadError(
                f"pipeline path '{raw}' does not exist", params={"argument": "paths", "path": str(raw)}
            )
        for file in found:
            if file.resolve() not in {f.resolve() for f in files}:
                files.append(file)
    if not files:
        raise PipelineLoadError(
            "no pipeline .py or .sql files found",
            params={"argument": "paths", "paths": [str(p) for p in paths]},
        )
    return files


def load_pipeline(
    paths: Iterable[str | Path],
    globals_: Mapping[str, Any],
    *,
    extra_sys_path: Iterable[Path] = (),
) -> Registry:
    """Execute every pipeline file with ``globals_`` (``spark``, ``dbutils``, ...) and return the
    registry their decorators filled. Errors name the file and line."""
    files = pipeline_files(paths)
    registry = Registry()
    added = [str(p) for p in extra_sys_path if str(p) not in sys.path]
    sys.path[:0] = added
    try:
        with pipeline_modules(), registration_context(registry), _active_session_is(globals_.get("spark")):
            for file in files:
                if file.suffix.lower() == ".sql":  # Databricks pipeline SQL: localdlt.sql
                    register_sql_file(file, globals_.get("spark"))
                else:
                    _exec_file(file, globals_)
    finally:
        for entry in added:
            if entry in sys.path:
                sys.path.remove(entry)
    log.info(
        "loaded %d pipeline file(s): %d datasets, %d flows",
        len(files),
        len(registry.datasets),
        len(registry.flows),
    )
    return registry


@contextmanager
def _active_session_is(proxy: Any) -> Iterator[None]:
    """While files load, ``SparkSession.active()`` / ``getActiveSession()`` return the ``spark``
    proxy, so files written for open-source pipelines (``spark = SparkSession.active()``) get the
    same dataset resolution as files using Databricks' ``spark`` global."""
    if proxy is None:
        yield
        return
    from pyspark.sql import SparkSession

    saved = {name: SparkSession.__dict__[name] for name in ("active", "getActiveSession")}
    SparkSession.active = classmethod(lambda cls: proxy)  # type: ignore[method-assign,assignment]
    SparkSession.getActiveSession = classmethod(lambda cls: proxy)  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        for name, original in saved.items():
            setattr(SparkSession, name, original)


def _exec_file(file: Path, globals_: Mapping[str, Any]) -> None:
    source = file.read_text(encoding="utf-8")
    namespace: dict[str, Any] = {"__name__": f"localdlt_pipeline.{file.stem}", "__file__": str(file)}
    namespace.setdefault("dbutils", DBUtils())
    namespace.update(globals_)
    try:
        code = compile(source, str(file), "exec")
        exec(code, namespace)  # noqa: S102 - running the user's pipeline file is the point
    except LocalDltError:
        raise
    except Exception as exc:  # noqa: BLE001 - any error of user code becomes a located load error
        raise PipelineLoadError(
            f"{type(exc).__name__}: {exc}",
            params={"file": str(file), "error": type(exc).__name__},
            location=SourceLocation(str(file), line_in(exc, str(file))),
        ) from exc
