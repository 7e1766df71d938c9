"""The in-process API: load, plan and run a pipeline on an existing SparkSession.

Example::

    from localdlt.runner import run_update
    result = run_update(["pipelines/orders"], "/tmp/run", spark=spark,
                        configuration={"orders.source": "files"})
    assert result.ok, result.failed_flows()
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from localdlt import storage, trigger_interval
from localdlt.dbutils import DBUtils
from localdlt.event_hooks import attach_event_hooks
from localdlt.eventlog import EventLog
from localdlt.maintenance import maintain
from localdlt.executor import Executor, Listener
from localdlt.graph import Planner, PipelineGraph
from localdlt.loader import load_pipeline, pipeline_files
from localdlt.registry import Registry
from localdlt.results import UpdateResult
from localdlt.spark_proxy import SparkProxy

log = logging.getLogger(__name__)

MV_REFRESH_KEY = "localdlt.materialized_view_refresh_seconds"
MAX_CONCURRENT_FLOWS_KEY = "localdlt.max_concurrent_flows"
# "false" turns off the maintenance a completed update runs on its way out (Databricks runs its
# pipeline maintenance on its own; locally the end of an update is the moment nothing writes).
AUTO_MAINTENANCE_KEY = "localdlt.maintenance.auto"


@dataclass(frozen=True)
class LoadedPipeline:
    """A pipeline's definitions and its planned graph."""

    registry: Registry
    graph: PipelineGraph
    files: list[Path]


def _sys_paths(paths: Sequence[Path], root_path: Path | None) -> list[Path]:
    roots = [root_path] if root_path is not None else []
    for path in paths:
        roots.append(path if path.is_dir() else path.parent)
    return roots


def load_and_plan(
    paths: Iterable[str | Path],
    *,
    spark: SparkSession,
    configuration: Mapping[str, str] | None = None,
    root_path: Path | None = None,
    cloud_files_opener: Callable[..., DataFrame] | None = None,
) -> LoadedPipeline:
    """Load the pipeline files and plan the graph (no writes to any storage)."""
    path_list = [Path(p) for p in paths]
    files = pipeline_files(path_list)
    globals_ = {"spark": SparkProxy(spark, configuration or {}), "dbutils": DBUtils()}
    registry = load_pipeline(files, globals_, extra_sys_path=_sys_paths(path_list, root_path))
    graph = Planner(spark, registry, cloud_files_opener=cloud_files_opener).plan()
    return LoadedPipeline(registry, graph, files)


def validate(
    paths: Iterable[str | Path],
    *,
    spark: SparkSession,
    configuration: Mapping[str, str] | None = None,
    root_path: Path | None = None,
) -> PipelineGraph:
    """Resolve every dataset and analyse every query (schemas, graph); write nothing.
    Raises a :class:`~localdlt.errors.PipelineDefinitionError` subclass on the first problem."""
    return load_and_plan(paths, spark=spark, configuration=configuration, root_path=root_path).graph


def run_update(
    paths: Iterable[str | Path],
    storage_dir: str | Path,
    *,
    spark: SparkSession,
    configuration: Mapping[str, str] | None = None,
    full_refresh: bool | Sequence[str] = False,
    refresh: Sequence[str] | None = None,
    continuous: bool = False,
    duration: float | None = None,
    root_path: Path | None = None,
    pipeline_name: str | None = None,
    listener: Listener | None = None,
    stop_event: threading.Event | None = None,
    cloud_files_opener: Callable[..., Any] | None = None,
) -> UpdateResult:
    """Run one update of the pipeline in ``paths`` with its storage at ``storage_dir``.

    :param full_refresh: ``True`` resets every table and checkpoint, a list of dataset names
        resets those; sinks are never cleared.
    :param refresh: update only these datasets (the others are EXCLUDED).
    :param continuous: run every streaming flow at once until ``duration`` seconds have passed
        or ``stop_event`` is set.
    :return: the update's status and per-flow results; flow failures do not raise.
    :raises PipelineDefinitionError: when the pipeline cannot be loaded or planned.
    :raises ConcurrentUpdateError: when another update holds the storage.
    """
    configuration = dict(configuration or {})
    paths = list(paths)
    layout = storage.Layout(Path(storage_dir).resolve())
    if trigger_interval.KEY in configuration:  # a bad value fails before anything runs
        trigger_interval.seconds(configuration[trigger_interval.KEY], where="the pipeline configuration")
    with storage.update_lock(layout):
        loaded = load_and_plan(paths, spark=spark, configuration=configuration, root_path=root_path,
                               cloud_files_opener=cloud_files_opener)
        events = EventLog(
            spark, layout.events, pipeline_id=storage.pipeline_id(layout),
            pipeline_name=pipeline_name or configuration.get("pipelines.name") or _default_name(paths),
            update_id=str(uuid.uuid4()),
        )
        executor = Executor(
            spark, loaded.graph, layout, events, full_refresh=full_refresh, refresh=refresh,
            continuous=continuous, duration=duration,
            trigger_interval=configuration.get(trigger_interval.KEY),
            mv_interval=float(configuration.get(MV_REFRESH_KEY, "60")),
            max_concurrent_flows=int(configuration[MAX_CONCURRENT_FLOWS_KEY])
            if MAX_CONCURRENT_FLOWS_KEY in configuration else None,
            listener=listener, stop_event=stop_event, cloud_files_opener=cloud_files_opener,
        )
        executor.context.configuration = configuration  # runtime settings flows read (localdlt.mv.costModel)
        hooks = attach_event_hooks(events, loaded.registry.hooks)
        try:
            result = executor.run(configuration, [str(f) for f in loaded.files])
        finally:
            if hooks is not None:
                hooks.close()  # deliver the queued events, then write the hooks' own events
                events.flush()
        auto_maintenance = configuration.get(AUTO_MAINTENANCE_KEY, "true").lower() != "false"
        if result.status == "COMPLETED" and auto_maintenance:
            _maintain_due_tables(spark, layout)
    log.info("update %s %s", result.update_id, result.status)
    return result


def _maintain_due_tables(spark: SparkSession, layout: storage.Layout) -> None:
    """Maintenance on Databricks' schedule (OPTIMIZE then VACUUM of each table changed and not
    maintained for 24 hours; :mod:`localdlt.maintenance`), still under the update's lock so no
    other update writes meanwhile. Cheap when nothing is due (one log listing per table). A failure
    is logged and leaves the update COMPLETED, as a failed maintenance task does on Databricks; the
    next update (or ``localdlt maintain``) tries again."""
    try:
        outcome = maintain(spark, layout.root, hold_lock=False)
    except Exception as error:  # noqa: BLE001 - maintenance must never turn a good update into a failure
        log.warning(
            "table maintenance failed (%s: %s); the next update tries again", type(error).__name__, error
        )
        return
    if outcome.maintained():
        log.info("maintenance: %s optimized and vacuumed", ", ".join(outcome.maintained()))


def _default_name(paths: Iterable[str | Path]) -> str:
    first = next(iter(Path(p) for p in paths), Path("pipeline"))
    return (first if first.is_dir() else first.parent).resolve().name
