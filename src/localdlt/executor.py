"""Run one update of a planned pipeline on Structured Streaming + Delta.

Triggered: every flow in dependency order with ``availableNow``, then stop. Continuous: every
streaming flow at once with processing-time triggers until the duration is over or the caller
stops it; materialized views are recomputed between. Writes are exactly-once: ``foreachBatch``
appends with Delta ``txnAppId``/``txnVersion`` (a fresh app id whenever a checkpoint is
created), so a batch replayed after a crash is skipped by Delta.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from pathlib import Path
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.errors import StreamingQueryException

from localdlt import deltalog, storage, tables
from localdlt.definitions import Dataset, DatasetKind, Expectation
from localdlt.errors import LocalDltError, PipelineDefinitionError, UnknownDatasetError
from localdlt.eventlog import EventLog, Origin
from localdlt.expectations import BatchQuality, apply_as_filter, check_batch, has_fail_rules, observe, observed_quality
from localdlt.graph import PipelineGraph, PlannedFlow, open_cloud_files
from localdlt.reads import resolving
from localdlt.results import FlowResult, FlowStatus, UpdateResult
from localdlt.spark_proxy import rewrite_kafka_options

log = logging.getLogger(__name__)

Listener = Callable[[FlowResult], None]
DEFAULT_TRIGGER_INTERVAL = "1 second"
EVENT_FLUSH_SECONDS = 5.0


class _ExecutionResolver:
    """Reads inside a query function at run time: Delta reads of stored datasets, views inlined."""

    def __init__(self, executor: Executor, flow: str) -> None:
        self._executor = executor
        self._flow = flow
        self._cloud_files = 0

    def read_dataset(
        self, name: str, *, streaming: bool, explicit: bool, options: dict[str, str] | None = None
    ) -> DataFrame | None:
        graph = self._executor.graph
        dataset = graph.datasets.get(name)
        if dataset is None:
            if not explicit:
                return None
            raise UnknownDatasetError.for_name(name, graph.datasets, reader=self._flow, location=None)
        spark = self._executor.spark
        if dataset.kind is DatasetKind.VIEW:
            view_flow = graph.flows_into(name)[0].flow
            assert view_flow.query_function is not None
            return apply_as_filter(view_flow.query_function(), dataset.expectations, flow=name)
        reader = spark.readStream if streaming else spark.read
        return reader.format("delta").options(**(options or {})).load(str(self._executor.layout.table(name)))

    def cloud_files(self, path: str, options: dict[str, str], schema: Any) -> DataFrame:
        index = self._cloud_files
        self._cloud_files += 1
        return open_cloud_files(
            self._executor.spark, path, options, schema, self._executor.layout.source_state(self._flow, index),
            on_changed_file=self._executor.changed_file_reporter(self._flow),
            opener=self._executor.cloud_files_opener,
        )


class Executor:
    """One update (see the module docstring)."""

    def __init__(
        self,
        spark: SparkSession,
        graph: PipelineGraph,
        layout: storage.Layout,
        events: EventLog,
        *,
        full_refresh: bool | Sequence[str] = False,
        refresh: Sequence[str] | None = None,
        continuous: bool = False,
        duration: float | None = None,
        trigger_interval: str = DEFAULT_TRIGGER_INTERVAL,
        mv_interval: float = 60.0,
        listener: Listener | None = None,
        stop_event: threading.Event | None = None,
        cloud_files_opener: Callable[..., DataFrame] | None = None,
    ) -> None:
        self.spark = spark
        self.graph = graph
        self.layout = layout
        self.events = events
        self.continuous = continuous
        self.duration = duration
        self.trigger_interval = trigger_interval
        self.mv_interval = mv_interval
        self.listener = listener
        self.stop_event = stop_event or threading.Event()
        self.cloud_files_opener = cloud_files_opener
        self.full_refresh = self._selection(full_refresh, "full_refresh")
        self.refresh = self._selection(refresh, "refresh") if refresh else None
        self.results = {
            name: FlowResult(name, planned.flow.target)
            for name, planned in graph.flows.items()
            if graph.datasets[planned.flow.target].kind is not DatasetKind.VIEW
        }
        self._failed_datasets: set[str] = set()
        # The original Python exception of a failed foreachBatch (py4j only passes on its text).
        self._batch_errors: dict[str, BaseException] = {}
        self._last_flush = time.monotonic()

    # -- selection ----------------------------------------------------------------------------
    def _selection(self, value: bool | Sequence[str] | None, argument: str) -> set[str]:
        if value is True:
            return {name for name, ds in self.graph.datasets.items() if ds.kind is not DatasetKind.VIEW}
        if not value:
            return set()
        names = set(value)  # type: ignore[arg-type]
        for name in names:
            if name not in self.graph.datasets:
                raise UnknownDatasetError.for_name(name, self.graph.datasets, reader=None, location=None)
        return names

    def _selected(self, target: str) -> bool:
        if self.refresh is None:
            return True
        return target in self.refresh or target in self.full_refresh

    # -- the update -----------------------------------------------------------------------------
    def run(self, configuration: Mapping[str, str], libraries: Sequence[str]) -> UpdateResult:
        """Run the update; flow errors are recorded, never raised."""
        self.events.emit(
            "create_update",
            f"Update {self.events.update_id[:6]} started by USER_ACTION.",
            {"create_update": {
                "cause": "USER_ACTION",
                "config": {"configuration": dict(configuration), "libraries": list(libraries),
                           "storage": str(self.layout.root), "continuous": self.continuous, "development": True},
                "full_refresh": bool(self.full_refresh) and self.full_refresh == self._selection(True, ""),
                "full_refresh_selection": sorted(self.full_refresh),
                "refresh_selection": sorted(self.refresh or ()),
            }},
        )
        self._progress("INITIALIZING")
        if self.full_refresh:
            self._progress("RESETTING")
            self._reset()
        self._progress("SETTING_UP_TABLES")
        self._set_up_tables()
        self._progress("RUNNING")
        try:
            if self.continuous:
                self._run_continuous()
            else:
                self._run_triggered()
        finally:
            failed = any(r.status == FlowStatus.FAILED for r in self.results.values())
            state = "FAILED" if failed else "COMPLETED"
            self._progress(state, level="ERROR" if failed else "INFO")
            self.events.flush()
        return UpdateResult(self.events.update_id, state, self.results)

    def _progress(self, state: str, *, level: str = "INFO") -> None:
        self.events.emit("update_progress", f"Update {self.events.update_id[:6]} is {state}.",
                         {"update_progress": {"state": state}}, level=level)

    def _reset(self) -> None:
        for name in sorted(self.full_refresh):
            dataset = self.graph.datasets[name]
            if dataset.table_properties.get("pipelines.reset.allowed", "true").lower() == "false":
                log.info("not resetting %s: pipelines.reset.allowed is false", name)
                continue
            if dataset.stored:
                storage.remove(self.layout.table(name))
            for planned in self.graph.flows_into(name):
                storage.remove(self.layout.checkpoint(planned.name))
                storage.remove(self.layout.cdc_state(planned.name))
            log.info("full refresh: reset %s", name)

    def _set_up_tables(self) -> None:
        for name in self.graph.dataset_order:
            dataset = self.graph.datasets[name]
            if not dataset.stored:
                continue
            path = self.layout.table(name)
            tables.create_if_missing(self.spark, dataset, path, self.graph.schemas.get(name))
            tables.register(self.spark, name, path)
        for name in self.graph.flow_order:
            planned = self.graph.flows[name]
            schema = planned.schema
            self.events.emit(
                "flow_definition", f"Flow '{name}' is defined as {planned.flow_type}.",
                {"flow_definition": {
                    "output_dataset": planned.flow.target,
                    "input_datasets": list(planned.inputs),
                    "flow_type": planned.flow_type,
                    "schema": [{"name": f.name, "data_type": f.dataType.simpleString()} for f in schema.fields]
                    if schema is not None else [],
                    "once": planned.flow.once,
                }},
                origin=Origin(flow_name=name, dataset_name=planned.flow.target),
            )

    # -- scheduling -------------------------------------------------------------------------------
    def _runnable(self) -> list[PlannedFlow]:
        return [self.graph.flows[name] for name in self.graph.flow_order if name in self.results]

    def _bad_input(self, planned: PlannedFlow) -> bool:
        def bad(name: str, seen: frozenset[str]) -> bool:
            if name in self._failed_datasets:
                return True
            dataset = self.graph.datasets[name]
            if dataset.kind is DatasetKind.VIEW and name not in seen:
                return any(bad(i, seen | {name}) for p in self.graph.flows_into(name) for i in p.inputs)
            return False

        return any(bad(name, frozenset()) for name in planned.inputs)

    def _run_triggered(self) -> None:
        for planned in self._runnable():
            result = self.results[planned.name]
            if not self._selected(planned.flow.target):
                self._set_status(planned, FlowStatus.EXCLUDED)
                continue
            if self._bad_input(planned):
                self._failed_datasets.add(planned.flow.target)
                self._set_status(planned, FlowStatus.SKIPPED, message=f"Flow '{planned.name}' SKIPPED due to upstream failure(s).")
                continue
            self._set_status(planned, FlowStatus.STARTING)
            try:
                self._run_flow(planned, trigger={"availableNow": True})
                self._set_status(planned, FlowStatus.COMPLETED)
            except Exception as exc:  # noqa: BLE001 - one flow's failure must not stop the others
                self._fail(planned, result, exc)
            self._maybe_flush()

    def _run_continuous(self) -> None:
        queries: dict[str, Any] = {}
        batch_flows: list[PlannedFlow] = []
        for planned in self._runnable():
            if not self._selected(planned.flow.target):
                self._set_status(planned, FlowStatus.EXCLUDED)
            elif planned.streaming and not planned.flow.once:
                self._set_status(planned, FlowStatus.STARTING)
                try:
                    queries[planned.name] = self._start_stream(planned, {"processingTime": self.trigger_interval})
                    self._set_status(planned, FlowStatus.RUNNING)
                except Exception as exc:  # noqa: BLE001
                    self._fail(planned, self.results[planned.name], exc)
            else:
                batch_flows.append(planned)
        deadline = time.monotonic() + self.duration if self.duration is not None else None
        once_flows = [p for p in batch_flows if p.flow.once]
        views = [p for p in batch_flows if not p.flow.once]
        self._run_batch_flows(once_flows)
        # Materialized views are recomputed every mv_interval seconds, and once more at the end.
        next_refresh = time.monotonic() + self.mv_interval
        try:
            while not self.stop_event.is_set() and (deadline is None or time.monotonic() < deadline):
                if time.monotonic() >= next_refresh:
                    self._run_batch_flows(views)
                    next_refresh = time.monotonic() + self.mv_interval
                for name, query in list(queries.items()):
                    if not query.isActive:
                        planned = self.graph.flows[name]
                        self._fail(planned, self.results[name], query.exception() or RuntimeError("stream stopped"))
                        queries.pop(name)
                if any(r.status == FlowStatus.FAILED for r in self.results.values()):
                    break
                self._maybe_flush()
                self.stop_event.wait(0.5)
        finally:
            for name, query in queries.items():
                with contextlib.suppress(Exception):
                    query.stop()
                if self.results[name].status == FlowStatus.RUNNING:
                    self._set_status(self.graph.flows[name], FlowStatus.COMPLETED)
            if not any(r.status == FlowStatus.FAILED for r in self.results.values()):
                self._run_batch_flows(views)
            self.events.flush()

    def _maybe_flush(self) -> None:
        # Each flush is a Delta commit: write events every few seconds, not one commit per event.
        if time.monotonic() - self._last_flush >= EVENT_FLUSH_SECONDS:
            self.events.flush()
            self._last_flush = time.monotonic()

    def _run_batch_flows(self, flows: list[PlannedFlow]) -> None:
        for planned in flows:
            result = self.results[planned.name]
            if result.status in (FlowStatus.FAILED, FlowStatus.SKIPPED):
                continue
            try:
                self._run_flow(planned, trigger={"availableNow": True})
                self._set_status(planned, FlowStatus.COMPLETED)
            except Exception as exc:  # noqa: BLE001
                self._fail(planned, result, exc)

    # -- status and events ------------------------------------------------------------------------
    def _set_status(self, planned: PlannedFlow, status: str, *, message: str | None = None) -> None:
        result = self.results[planned.name]
        result.status = status
        text = message or (f"Flow '{planned.name}' has {status}." if status in ("COMPLETED", "FAILED")
                           else f"Flow '{planned.name}' is {status}.")
        self.events.emit("flow_progress", text, {"flow_progress": {"status": status}},
                         origin=Origin(flow_name=planned.name, dataset_name=planned.flow.target),
                         level="ERROR" if status == FlowStatus.FAILED else "INFO")
        if self.listener is not None:
            self.listener(result)

    def _fail(self, planned: PlannedFlow, result: FlowResult, exc: BaseException) -> None:
        error = _root_error(exc)
        result.error = error.detail if isinstance(error, LocalDltError) else f"{type(error).__name__}: {error}"
        result.error_class = error.error_class if isinstance(error, LocalDltError) else type(error).__name__
        self._failed_datasets.add(planned.flow.target)
        log.error("flow %s failed: %s", planned.name, result.error)
        result.status = FlowStatus.FAILED
        self.events.emit(
            "flow_progress", f"Flow '{planned.name}' has FAILED.", {"flow_progress": {"status": "FAILED"}},
            origin=Origin(flow_name=planned.name, dataset_name=planned.flow.target), level="ERROR",
            error={"exceptions": [{"class_name": result.error_class, "message": result.error}], "fatal": True},
        )
        if self.listener is not None:
            self.listener(result)

    def changed_file_reporter(self, flow: str) -> Callable[[str], None]:
        """The ``on_changed_file`` callback of a flow's Auto Loader: a WARN event and a log line."""
        target = self.graph.flows[flow].flow.target if flow in self.graph.flows else None

        def report(path: str) -> None:
            message = (f"Flow '{flow}': file '{path}' was already ingested and has changed; "
                       "its new content is not read again (as with Auto Loader's allowOverwrites=false)")
            log.warning(message)
            self.events.emit("flow_progress", message, {"flow_progress": {"status": "RUNNING",
                                                                          "changed_file": path}},
                             origin=Origin(flow_name=flow, dataset_name=target), level="WARN")

        return report

    # -- running one flow ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def _flow_conf(self, planned: PlannedFlow) -> Iterator[None]:
        conf = {**self.graph.datasets[planned.flow.target].spark_conf, **planned.flow.spark_conf}
        saved = {key: self.spark.conf.get(key, None) for key in conf}
        for key, value in conf.items():
            self.spark.conf.set(key, str(value))
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    self.spark.conf.unset(key)
                else:
                    self.spark.conf.set(key, value)

    def _query(self, planned: PlannedFlow) -> DataFrame:
        assert planned.flow.query_function is not None
        with resolving(_ExecutionResolver(self, planned.name)):
            return planned.flow.query_function()

    def _expectations(self, planned: PlannedFlow) -> list[Expectation]:
        return [*self.graph.datasets[planned.flow.target].expectations, *planned.flow.expectations]

    def _run_flow(self, planned: PlannedFlow, trigger: dict[str, Any]) -> None:
        target = self.graph.datasets[planned.flow.target]
        if planned.flow.snapshot_cdc is not None:
            from localdlt.cdc_runner import run_snapshot_flow

            self._set_status(planned, FlowStatus.RUNNING)
            with self._flow_conf(planned):
                run_snapshot_flow(self, planned)
            return
        if planned.flow.cdc is not None and planned.flow.once:
            from localdlt.cdc_runner import run_cdc_once

            self._set_status(planned, FlowStatus.RUNNING)
            with self._flow_conf(planned):
                run_cdc_once(self, planned)
            return
        if planned.flow.once:
            self._run_once(planned)
            return
        if target.kind is DatasetKind.MATERIALIZED_VIEW:
            self._run_materialized_view(planned)
            return
        query = self._start_stream(planned, trigger)
        self._set_status(planned, FlowStatus.RUNNING)
        try:
            query.awaitTermination()
        except StreamingQueryException as exc:
            raise self._batch_errors.pop(planned.name, exc) from None
        error = self._batch_errors.pop(planned.name, None)
        if error is not None:
            raise error

    def _start_stream(self, planned: PlannedFlow, trigger: dict[str, Any]) -> Any:
        target = self.graph.datasets[planned.flow.target]
        checkpoint = self.layout.checkpoint(planned.name)
        with self._flow_conf(planned):
            if planned.flow.cdc is not None:
                from localdlt.cdc_runner import cdc_source_stream, cdc_batch_function

                df = cdc_source_stream(self, planned)
                batch_fn = cdc_batch_function(self, planned, storage.app_id(checkpoint))
            else:
                df = self._query(planned)
                if target.kind is DatasetKind.SINK and target.sink_format == "kafka":
                    return self._start_kafka_sink(planned, df, trigger)
                batch_fn = self._append_batch_function(planned, storage.app_id(checkpoint))
            writer = df.writeStream.option("checkpointLocation", str(checkpoint)).trigger(**trigger)
            return writer.foreachBatch(self._guarded_batch(planned, batch_fn)).start()

    def _guarded_batch(self, planned: PlannedFlow, batch_fn: Callable[[DataFrame, int], None]) -> Callable[[DataFrame, int], None]:
        """Keep the original Python exception of a batch (py4j only passes on its text)."""

        def run(batch_df: DataFrame, batch_id: int) -> None:
            try:
                batch_fn(batch_df, batch_id)
            except BaseException as exc:
                self._batch_errors[planned.name] = exc
                raise

        return run

    def _append_batch_function(self, planned: PlannedFlow, app_id: str) -> Callable[[DataFrame, int], None]:
        target = self.graph.datasets[planned.flow.target]
        checkpoint = self.layout.checkpoint(planned.name)
        expectations = self._expectations(planned) if target.kind is not DatasetKind.SINK else []

        def process(batch_df: DataFrame, batch_id: int) -> None:
            if batch_id <= storage.last_batch(checkpoint):
                log.info("flow %s: batch %d already written, skipped on replay", planned.name, batch_id)
                return
            quality = self._write(planned, target, batch_df, expectations,
                                  lambda w: self._append(w, target, app_id, batch_id),
                                  table_path=self._delta_path(target), app_id=app_id, txn_version=batch_id)
            storage.mark_batch(checkpoint, batch_id)
            if quality is None:
                log.info("flow %s: batch %d was already in the table (replay)", planned.name, batch_id)
                return
            self._report_batch(planned, quality, batch_id)

        return process

    def _delta_path(self, target: Dataset) -> Path | None:
        """Where the target's Delta log is (None for a sink given by table name)."""
        if target.kind is DatasetKind.SINK:
            return Path(target.sink_options["path"]) if "path" in target.sink_options else None
        return self.layout.table(target.name)

    def _append(self, writer: Any, target: Dataset, app_id: str, version: int) -> None:
        writer = writer.format("delta").mode("append").option("txnAppId", app_id).option("txnVersion", version)
        if target.kind is DatasetKind.SINK:
            if "tableName" in target.sink_options:
                writer.saveAsTable(target.sink_options["tableName"])
            else:
                writer.save(target.sink_options["path"])
            return
        writer.option("mergeSchema", "true").save(str(self.layout.table(target.name)))

    def _write(
        self,
        planned: PlannedFlow,
        target: Dataset,
        df: DataFrame,
        expectations: Sequence[Expectation],
        save: Callable[[Any], None],
        *,
        table_path: Path | None,
        app_id: str | None = None,
        txn_version: int | None = None,
    ) -> BatchQuality | None:
        """Write ``df`` with its expectations applied; return the batch's numbers, or None when
        Delta skipped the write (a replayed transaction).

        Metrics cost no extra pass: warn/drop counts are an Observation on the write itself and
        the row count comes from the Delta commit. Only fail rules need a check before the write
        (nothing of a violating batch may be written), done as one aggregate over the persisted
        batch that also yields every other metric.
        """

        def writer_of(frame: DataFrame) -> Any:
            writer = frame.write
            if target.partition_cols and target.kind is not DatasetKind.SINK:
                writer = writer.partitionBy(*target.partition_cols)
            return writer

        if has_fail_rules(expectations):
            df = df.persist()
            try:
                out, quality = check_batch(df, expectations, flow=planned.name, dataset=target.name)
                save(writer_of(out))
                return quality
            finally:
                df.unpersist()
        observation = None
        if expectations or table_path is None:
            df, observation = observe(df, expectations)
        before = deltalog.latest_version(table_path) if table_path is not None else -1
        save(writer_of(df))
        commit = None
        if table_path is not None:
            commit = deltalog.find_commit(table_path, before, app_id=app_id, txn_version=txn_version)
            if commit is None:
                return None  # Delta had this transaction already: nothing was executed or written
        if observation is not None:
            return observed_quality(observation.get, expectations, dataset=target.name)
        rows = deltalog.output_rows(commit or {})
        return BatchQuality(rows, rows, 0, ())

    def _report_batch(self, planned: PlannedFlow, quality: BatchQuality, batch_id: int | None) -> None:
        self.results[planned.name].add(quality)
        details: dict[str, Any] = {"status": "RUNNING", "metrics": {"num_output_rows": quality.output_rows}}
        if quality.expectations or quality.dropped_records:
            details["data_quality"] = {
                "dropped_records": quality.dropped_records,
                "expectations": [
                    {"name": m.name, "dataset": m.dataset, "passed_records": m.passed_records,
                     "failed_records": m.failed_records} for m in quality.expectations
                ],
            }
        self.events.emit("flow_progress", f"Flow '{planned.name}' is RUNNING.", {"flow_progress": details},
                         origin=Origin(flow_name=planned.name, dataset_name=planned.flow.target, batch_id=batch_id),
                         level="METRICS")
        if self.listener is not None:
            self.listener(self.results[planned.name])

    def _run_materialized_view(self, planned: PlannedFlow) -> None:
        target = self.graph.datasets[planned.flow.target]
        self._set_status(planned, FlowStatus.RUNNING)
        with self._flow_conf(planned):
            df = self._query(planned)

            def overwrite(writer: Any) -> None:
                writer.format("delta").mode("overwrite").option("overwriteSchema", "true").save(
                    str(self.layout.table(target.name)))

            quality = self._write(planned, target, df, self._expectations(planned), overwrite,
                                  table_path=self.layout.table(target.name))
        tables.register(self.spark, target.name, self.layout.table(target.name))
        if quality is not None:
            self._report_batch(planned, quality, None)

    def _run_once(self, planned: PlannedFlow) -> None:
        checkpoint = self.layout.checkpoint(planned.name)
        if (checkpoint / storage.ONCE_DONE_FILE).exists():
            log.info("once flow %s already ran (full refresh runs it again)", planned.name)
            return
        target = self.graph.datasets[planned.flow.target]
        app_id = storage.app_id(checkpoint, streaming=False)
        self._set_status(planned, FlowStatus.RUNNING)
        with self._flow_conf(planned):
            df = self._query(planned)
            if df.isStreaming:
                raise PipelineDefinitionError(
                    f"once flow '{planned.name}' must return a batch DataFrame",
                    params={"flow": planned.name}, location=planned.flow.location,
                )
            quality = self._write(planned, target, df, self._expectations(planned),
                                  lambda w: self._append(w, target, app_id, 0),
                                  table_path=self._delta_path(target), app_id=app_id, txn_version=0)
        (checkpoint / storage.ONCE_DONE_FILE).write_text(app_id)
        if quality is not None:
            self._report_batch(planned, quality, 0)

    def _start_kafka_sink(self, planned: PlannedFlow, df: DataFrame, trigger: dict[str, Any]) -> Any:
        target = self.graph.datasets[planned.flow.target]
        options = rewrite_kafka_options(dict(target.sink_options))

        def on_progress(rows: int) -> None:
            self._report_batch(planned, BatchQuality(rows, rows, 0, ()), None)

        query = (df.writeStream.format("kafka").options(**options)
                 .option("checkpointLocation", str(self.layout.checkpoint(planned.name))).trigger(**trigger).start())
        return _KafkaSinkQuery(query, on_progress)


class _KafkaSinkQuery:
    """A Kafka sink query whose row counts are reported from its progress when it ends."""

    def __init__(self, query: Any, on_progress: Callable[[int], None]) -> None:
        self._query = query
        self._on_progress = on_progress
        self._reported: set[str] = set()

    def _report(self) -> None:
        for progress in self._query.recentProgress:
            batch = f"{_field(progress, 'runId')}:{_field(progress, 'batchId')}"
            rows = _field(progress, "numInputRows") or 0
            if batch not in self._reported and rows:
                self._reported.add(batch)
                self._on_progress(int(rows))

    def awaitTermination(self) -> None:  # noqa: N802 - StreamingQuery's name
        try:
            self._query.awaitTermination()
        finally:
            self._report()

    @property
    def isActive(self) -> bool:  # noqa: N802
        self._report()
        return self._query.isActive

    def exception(self) -> Any:
        return self._query.exception()

    def stop(self) -> None:
        self._query.stop()
        self._report()


def _field(progress: Any, name: str) -> Any:
    return progress.get(name) if isinstance(progress, dict) else getattr(progress, name, None)


def _root_error(exc: BaseException) -> BaseException:
    """The user's error behind py4j/streaming wrappers when it is one of ours."""
    seen = exc
    while seen is not None:
        if isinstance(seen, LocalDltError):
            return seen
        seen = seen.__cause__ or seen.__context__  # type: ignore[assignment]
    return exc
