"""What running one flow of an update needs, shared by the flow runners (:mod:`localdlt.flows`)
and the writes (:mod:`localdlt.writes`): the session, the planned graph, the storage layout,
the reporter, and the reads a query function makes at run time (:class:`ExecutionResolver`)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from localdlt import storage
from localdlt.conf_gate import ConfGate
from localdlt.definitions import DatasetKind, Expectation
from localdlt.errors import UnknownDatasetError
from localdlt.expectations import apply_as_filter
from localdlt.graph import PipelineGraph, PlannedFlow, open_cloud_files
from localdlt.reads import resolving
from localdlt.reporting import Reporter


@dataclass
class FlowContext:
    """One update's run-time state the flow runners share.

    ``batch_errors`` keeps the original Python exception of a failed ``foreachBatch`` by flow
    name (py4j only passes on its text).
    """

    spark: SparkSession
    graph: PipelineGraph
    layout: storage.Layout
    reporter: Reporter
    cloud_files_opener: Callable[..., DataFrame] | None = None
    batch_errors: dict[str, BaseException] = field(default_factory=dict)
    conf_gate: ConfGate = field(default_factory=ConfGate)
    # the pipeline configuration, for the runtime settings flows read (localdlt.mv.costModel)
    configuration: Mapping[str, str] = field(default_factory=dict)

    def resolver(self, flow: str) -> ExecutionResolver:
        """The read resolver of flow ``flow`` (see :mod:`localdlt.reads`)."""
        return ExecutionResolver(self, flow)

    def query(self, planned: PlannedFlow) -> DataFrame:
        """Call the flow's query function with run-time reads."""
        assert planned.flow.query_function is not None
        with resolving(self.resolver(planned.name)):
            return planned.flow.query_function()

    def expectations(self, planned: PlannedFlow) -> list[Expectation]:
        """The target's expectations followed by the flow's own."""
        return [*self.graph.datasets[planned.flow.target].expectations, *planned.flow.expectations]

    @contextlib.contextmanager
    def flow_conf(self, planned: PlannedFlow) -> Iterator[None]:
        """Set the flow's stream conf (planned), then the dataset's and the flow's ``spark_conf``, on
        the session while the flow runs."""
        conf = {
            **planned.stream_conf,
            **self.graph.datasets[planned.flow.target].spark_conf,
            **planned.flow.spark_conf,
        }
        with self.conf_gate.hold(exclusive=bool(conf)):  # flows may run concurrently (conf_gate)
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


class ExecutionResolver:
    """Reads inside a query function at run time: Delta reads of stored datasets, views inlined."""

    def __init__(self, context: FlowContext, flow: str) -> None:
        self._context = context
        self._flow = flow
        self._cloud_files = 0

    def read_dataset(
        self, name: str, *, streaming: bool, explicit: bool, options: dict[str, str] | None = None
    ) -> DataFrame | None:
        """A Delta read of stored dataset ``name`` or the inlined query of view ``name``."""
        graph = self._context.graph
        dataset = graph.datasets.get(name)
        if dataset is None:
            if not explicit:
                return None
            raise UnknownDatasetError.for_name(name, graph.datasets, reader=self._flow, location=None)
        spark = self._context.spark
        if dataset.kind is DatasetKind.VIEW:
            view_flow = graph.flows_into(name)[0].flow
            assert view_flow.query_function is not None
            # The view's own reads (Auto Loader, other datasets) resolve here too, also when the
            # reader is the CDC engine calling outside any query function.
            with resolving(self):
                frame = view_flow.query_function()
            return apply_as_filter(frame, dataset.expectations, flow=name)
        reader = spark.readStream if streaming else spark.read
        return reader.format("delta").options(**(options or {})).load(str(self._context.layout.table(name)))

    def cloud_files(self, path: str, options: dict[str, str], schema: Any) -> DataFrame:
        """The flow's next Auto Loader stream (its state folder is numbered per flow)."""
        index = self._cloud_files
        self._cloud_files += 1
        context = self._context
        return open_cloud_files(
            context.spark, path, options, schema, context.layout.source_state(self._flow, index),
            on_changed_file=context.reporter.changed_file_reporter(self._flow),
            opener=context.cloud_files_opener,
        )
