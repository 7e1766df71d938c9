"""Plan a pipeline: call every query function once in a planning context, record the datasets
it reads (graph edges), check what it returns, decide table kinds, and order the flows with
:mod:`graphlib`. Writes nothing (the Auto Loader emulation may keep inference state in its
state folder).
"""

from __future__ import annotations

import dataclasses
import graphlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructField, StructType

from localdlt import guard, storage
from localdlt.cdc.schema import target_schema as cdc_target_schema
from localdlt.definitions import Dataset, DatasetKind, Flow
from localdlt.errors import (
    CircularDependencyError,
    InvalidArgumentError,
    InvalidFlowQueryError,
    LocalDltError,
    PipelineDefinitionError,
    QueryFunctionError,
    QueryFunctionReturnError,
    UnknownDatasetError,
    line_in,
)
from localdlt.stream_conf import stream_conf
from localdlt.reads import resolving, strip_live
from localdlt.registry import Registry
from localdlt.sources.cloud_files import read_cloud_files
from localdlt.trigger_interval import dataset_interval, seconds

log = logging.getLogger(__name__)

StateDirFor = Callable[[str, int], Path]


@dataclass(frozen=True)
class PlannedFlow:
    """A flow with what planning learned: its inputs, whether its query streams, and the Spark
    conf its stream starts with (:mod:`localdlt.stream_conf`)."""

    flow: Flow
    inputs: tuple[str, ...]
    streaming: bool
    schema: StructType | None
    stream_conf: dict[str, str] = field(default_factory=dict, hash=False)

    @property
    def name(self) -> str:
        return self.flow.name

    @property
    def flow_type(self) -> str:
        """Databricks' flow type: APPEND, COMPLETE (materialized view) or CHANGE (CDC)."""
        if self.flow.cdc is not None or self.flow.snapshot_cdc is not None:
            return "CHANGE"
        return "APPEND" if self.streaming or self.flow.once else "COMPLETE"


@dataclass
class PipelineGraph:
    """Datasets (kinds resolved), planned flows, dataset schemas and the execution order."""

    datasets: dict[str, Dataset]
    flows: dict[str, PlannedFlow]
    schemas: dict[str, StructType]
    dataset_order: list[str]
    flow_order: list[str] = field(default_factory=list)

    def flows_into(self, dataset: str) -> list[PlannedFlow]:
        return [self.flows[name] for name in self.flow_order if self.flows[name].flow.target == dataset]

    def dataset_inputs(self, dataset: str) -> set[str]:
        """Datasets read by the flows into ``dataset``."""
        return {name for flow in self.flows.values() if flow.flow.target == dataset for name in flow.inputs}

    def downstream(self, dataset: str) -> set[str]:
        """Every dataset that reads ``dataset``, directly or not."""
        found: set[str] = set()
        frontier = [dataset]
        while frontier:
            current = frontier.pop()
            for name in self.datasets:
                if name not in found and current in self.dataset_inputs(name):
                    found.add(name)
                    frontier.append(name)
        return found

    def edges(self) -> list[tuple[str, str]]:
        """``(input, output)`` dataset pairs, sorted."""
        return sorted({(source, flow.flow.target) for flow in self.flows.values() for source in flow.inputs})


class _PlanningResolver:
    """Resolver installed while one flow's query function is planned."""

    def __init__(self, planner: Planner, flow: Flow) -> None:
        self._planner = planner
        self._flow = flow
        self.inputs: list[str] = []
        self._cloud_files = 0

    def read_dataset(
        self, name: str, *, streaming: bool, explicit: bool, options: dict[str, str] | None = None
    ) -> DataFrame | None:
        return self._planner._read_for(self._flow, self, name, streaming=streaming, explicit=explicit)

    def cloud_files(self, path: str, options: dict[str, str], schema: Any) -> DataFrame:
        index = self._cloud_files
        self._cloud_files += 1
        return self._planner.open_cloud_files(self._flow.name, index, path, options, schema)


class Planner:
    """Builds a :class:`PipelineGraph` from a :class:`Registry` (see the module docstring)."""

    def __init__(
        self,
        spark: SparkSession,
        registry: Registry,
        *,
        state_dir_for: StateDirFor | None = None,
        cloud_files_opener: Callable[..., DataFrame] | None = None,
    ) -> None:
        self._spark = spark
        self._registry = registry
        self._state_dir_for = state_dir_for or _temporary_state_dirs()
        self._cloud_files_opener = cloud_files_opener
        self._planned: dict[str, PlannedFlow] = {}
        self._kinds: dict[str, DatasetKind] = {}
        self._schemas: dict[str, StructType] = {}
        self._view_frames: dict[str, DataFrame] = {}
        self._in_progress: list[str] = []
        self._empty_dir = storage.scratch_dir("schema")  # removed when the process ends

    # -- public ---------------------------------------------------------------------------
    def plan(self) -> PipelineGraph:
        """Plan every dataset and flow; raise the first definition error found."""
        self._check_targets()
        with guard.installed():
            for name in self._registry.datasets:
                self._plan_dataset(name, reader=None)
            for flow in self._registry.flows.values():
                self._plan_flow(flow)
        datasets = {
            name: dataclasses.replace(ds, kind=self._kinds.get(name, ds.kind))
            for name, ds in self._registry.datasets.items()
        }
        dependencies = {name: set() for name in datasets}
        for planned in self._planned.values():
            dependencies.setdefault(planned.flow.target, set()).update(planned.inputs)
        sorter = graphlib.TopologicalSorter(dependencies)
        try:
            order = list(sorter.static_order())
        except graphlib.CycleError as exc:  # pragma: no cover - planning finds cycles first
            raise CircularDependencyError(list(exc.args[1])) from exc
        flow_order = [f.name for ds in order for f in self._registry.flows.values() if f.target == ds]
        return PipelineGraph(datasets, dict(self._planned), dict(self._schemas), order, flow_order)

    def open_cloud_files(
        self, flow: str, index: int, path: str, options: dict[str, str], schema: Any
    ) -> DataFrame:
        """Open the Auto Loader emulation (actions allowed: it may sample files)."""
        with guard.checking(None):
            return open_cloud_files(self._spark, path, options, schema, self._state_dir_for(flow, index),
                                    on_changed_file=None, opener=self._cloud_files_opener)

    # -- planning -------------------------------------------------------------------------
    def _check_targets(self) -> None:
        for flow in self._registry.flows.values():
            if flow.target not in self._registry.datasets:
                raise UnknownDatasetError.for_name(flow.target, self._registry.datasets, reader=flow.name,
                                                   location=flow.location)
        for name, dataset in self._registry.datasets.items():
            if dataset.kind is not DatasetKind.SINK and not self._registry.flows_into(name):
                raise PipelineDefinitionError(
                    f"dataset '{name}' has no flow writing into it", params={"dataset": name},
                    location=dataset.location,
                )

    def _plan_dataset(self, name: str, *, reader: Flow | None) -> None:
        if name in self._kinds:
            return
        if name in self._in_progress:
            cycle = self._in_progress[self._in_progress.index(name) :] + [name]
            location = reader.location if reader is not None else None
            raise CircularDependencyError(cycle, location=location)
        dataset = self._registry.datasets[name]
        if dataset.kind is DatasetKind.SINK:
            self._kinds[name] = DatasetKind.SINK
            return
        self._in_progress.append(name)
        try:
            planned = [self._plan_flow(flow) for flow in self._registry.flows_into(name)]
        finally:
            self._in_progress.pop()
        self._kinds[name] = self._resolve_kind(dataset, planned)
        self._schemas[name] = _merged_schema([p.schema for p in planned if p.schema is not None])

    def _resolve_kind(self, dataset: Dataset, planned: list[PlannedFlow]) -> DatasetKind:
        first = planned[0]
        if dataset.kind is DatasetKind.TABLE:
            return DatasetKind.STREAMING_TABLE if first.streaming else DatasetKind.MATERIALIZED_VIEW
        if dataset.kind is DatasetKind.MATERIALIZED_VIEW and first.streaming:
            raise InvalidFlowQueryError(
                f"materialized view '{dataset.name}' must be defined by a batch query, "
                "got a streaming DataFrame",
                params={"dataset": dataset.name, "subclass": "STREAMING_RELATION_FOR_MATERIALIZED_VIEW"},
                location=dataset.location,
            )
        if dataset.kind is DatasetKind.STREAMING_TABLE:
            for flow in planned:
                if not (flow.streaming or flow.flow.once or flow.flow_type == "CHANGE"):
                    raise InvalidFlowQueryError(
                        f"flow '{flow.name}' into streaming table '{dataset.name}' returns a batch "
                        "DataFrame; use spark.readStream / dlt.read_stream, or append_flow(once=True) "
                        "for a one-time backfill",
                        params={"flow": flow.name, "subclass": "BATCH_RELATION_FOR_STREAMING_TABLE"},
                        location=flow.flow.location,
                    )
        return dataset.kind

    def _plan_flow(self, flow: Flow) -> PlannedFlow:
        if flow.name in self._planned:
            return self._planned[flow.name]
        dataset = self._registry.datasets.get(flow.target)
        interval = dataset_interval(dataset.spark_conf if dataset else {}, flow.spark_conf)
        if interval is not None:  # a bad value is a definition error, found by validate too
            seconds(interval, where=f"flow '{flow.name}'", location=flow.location)
        if flow.cdc is not None or flow.snapshot_cdc is not None:
            planned = self._plan_cdc_flow(flow)
        else:
            planned = self._plan_query_flow(flow)
        self._planned[flow.name] = planned
        return planned

    def _plan_query_flow(self, flow: Flow) -> PlannedFlow:
        resolver = _PlanningResolver(self, flow)
        assert flow.query_function is not None
        with resolving(resolver), guard.checking(flow.name):
            try:
                result = flow.query_function()
            except LocalDltError:
                raise
            except Exception as exc:  # noqa: BLE001 - the user's code failed: say which flow, where
                raise _query_function_error(flow, exc) from exc
        if not isinstance(result, DataFrame):
            raise QueryFunctionReturnError(
                f"query function of flow '{flow.name}' must return a DataFrame, got {type(result).__name__}",
                params={"flow": flow.name, "type": type(result).__name__}, location=flow.location,
            )
        target = self._registry.datasets[flow.target]
        if target.kind is DatasetKind.SINK and not result.isStreaming:
            raise InvalidFlowQueryError(
                f"flow '{flow.name}' into sink '{target.name}' must return a streaming DataFrame",
                params={"flow": flow.name, "subclass": "BATCH_RELATION_FOR_SINK"}, location=flow.location,
            )
        if target.kind is DatasetKind.VIEW:
            self._view_frames[target.name] = result
        return PlannedFlow(flow, tuple(dict.fromkeys(resolver.inputs)), result.isStreaming, result.schema,
                           stream_conf(result) if result.isStreaming else {})

    def _plan_cdc_flow(self, flow: Flow) -> PlannedFlow:
        spec = flow.cdc if flow.cdc is not None else flow.snapshot_cdc
        source = flow.cdc_source
        inputs: tuple[str, ...] = ()
        source_schema: StructType | None = None
        if source is not None:
            source = strip_live(source)
            if source not in self._registry.datasets:
                raise UnknownDatasetError.for_name(source, self._registry.datasets, reader=flow.name,
                                                   location=flow.location)
            self._plan_dataset(source, reader=flow)
            source_schema = self._schemas.get(source) or self._view_frames[source].schema
            inputs = (source,)
        try:
            target_schema = (cdc_target_schema(self._spark, spec, source_schema)
                             if source_schema is not None else None)
        except (ValueError, TypeError) as exc:  # the CDC engine's argument errors name the argument
            raise InvalidArgumentError(
                f"CDC flow '{flow.name}': {exc}",
                params={"flow": flow.name, "argument": getattr(exc, "argument", None)},
                location=flow.location,
            ) from exc
        return PlannedFlow(flow, inputs, streaming=flow.cdc is not None, schema=target_schema)

    def _read_for(
        self, flow: Flow, resolver: _PlanningResolver, name: str, *, streaming: bool, explicit: bool
    ) -> DataFrame | None:
        dataset = self._registry.datasets.get(name)
        if dataset is None:
            if not explicit and _catalog_has(self._spark, name):
                return None
            raise UnknownDatasetError.for_name(name, self._registry.datasets, reader=flow.name,
                                               location=flow.location)
        if dataset.kind is DatasetKind.SINK:
            raise PipelineDefinitionError(
                f"flow '{flow.name}' reads sink '{name}'; sinks can only be written",
                params={"flow": flow.name, "dataset": name}, location=flow.location,
            )
        self._plan_dataset(name, reader=flow)
        resolver.inputs.append(name)
        if self._kinds[name] is DatasetKind.VIEW:
            return self._view_frames[name]
        return self._schema_only(self._schemas[name], streaming=streaming)

    def _schema_only(self, schema: StructType, *, streaming: bool) -> DataFrame:
        """A DataFrame with ``schema`` and no data, streaming or not: what reading a table that
        may not exist yet looks like to the planner."""
        if streaming:
            return self._spark.readStream.schema(schema).format("parquet").load(str(self._empty_dir))
        return self._spark.createDataFrame([], schema)


def _query_function_error(flow: Flow, exc: Exception) -> QueryFunctionError:
    """``exc`` raised by ``flow``'s query function, located at the line of the flow's file it came
    through (the definition's line when it never did, as for a SQL file)."""
    location = flow.location
    if location is not None:
        location = dataclasses.replace(location, line=line_in(exc, location.filename) or location.line)
    return QueryFunctionError(
        f"query function of flow '{flow.name}' raised {type(exc).__name__}: {exc}",
        params={"flow": flow.name, "error": type(exc).__name__}, location=location,
    )


def _merged_schema(schemas: list[StructType]) -> StructType:
    """The first schema plus the columns the others add (append flows into one table)."""
    if not schemas:
        return StructType([])
    fields: list[StructField] = list(schemas[0].fields)
    seen = {f.name.lower() for f in fields}
    for schema in schemas[1:]:
        for f in schema.fields:
            if f.name.lower() not in seen:
                fields.append(f)
                seen.add(f.name.lower())
    return StructType(fields)


def _catalog_has(spark: SparkSession, name: str) -> bool:
    try:
        return bool(spark.catalog.tableExists(name))
    except Exception:  # noqa: BLE001 - an unparsable name is simply not in the catalog
        return False


def _temporary_state_dirs() -> StateDirFor:
    root = storage.scratch_dir("validate")  # removed when the process ends
    return lambda flow, index: root / flow / "sources" / str(index)


def open_cloud_files(
    spark: SparkSession,
    path: str,
    options: dict[str, str],
    schema: Any,
    state_dir: Path,
    *,
    on_changed_file: Callable[[str], None] | None,
    opener: Callable[..., DataFrame] | None = None,
) -> DataFrame:
    """Call the Auto Loader emulation (``localdlt.sources.cloud_files``), or ``opener`` when given."""
    opener = opener or read_cloud_files
    return opener(spark, path, options, schema, state_dir=state_dir, on_changed_file=on_changed_file)
