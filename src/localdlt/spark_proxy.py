"""The ``spark`` global that pipeline files see: the real session, except that

- ``spark.conf.get`` sees the pipeline configuration first;
- ``spark.read.table`` / ``spark.readStream.table`` (with or without ``LIVE.``) of a pipeline
  dataset go through the active read resolver (graph edge + the right DataFrame);
- ``format("cloudFiles")`` becomes the Auto Loader emulation; ``format("kafka")`` gets the
  Databricks-only ``kafkashaded.`` JAAS class rewritten.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from localdlt import sql_reads
from localdlt.reads import active_resolver, strip_live
from localdlt.sources.kafka import rewrite_kafka_options

log = logging.getLogger(__name__)


class ConfProxy:
    """``spark.conf`` with the pipeline configuration layered over the session's."""

    def __init__(self, spark: SparkSession, configuration: Mapping[str, str]) -> None:
        self._spark = spark
        self._configuration = dict(configuration)

    _MISSING = object()

    def get(self, key: str, default: Any = _MISSING) -> Any:
        """The pipeline configuration's value, else the session's, else ``default``."""
        if key in self._configuration:
            return self._configuration[key]
        if default is ConfProxy._MISSING:
            return self._spark.conf.get(key)
        return self._spark.conf.get(key, default)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._spark.conf, name)


class ReaderProxy:
    """Records format/options/schema, then builds the real reader only when asked to load."""

    def __init__(self, spark: SparkSession, streaming: bool) -> None:
        self._spark = spark
        self._streaming = streaming
        self._format: str | None = None
        self._options: dict[str, str] = {}
        self._schema: Any = None

    def format(self, source: str) -> ReaderProxy:  # noqa: A003 - Spark's name
        self._format = source
        return self

    def option(self, key: str, value: Any) -> ReaderProxy:
        # Spark passes booleans on as "true"/"false".
        self._options[key] = str(value).lower() if isinstance(value, bool) else str(value)
        return self

    def options(self, **options: Any) -> ReaderProxy:
        for key, value in options.items():
            self.option(key, value)
        return self

    def schema(self, schema: Any) -> ReaderProxy:
        self._schema = schema
        return self

    def _real(self, options: dict[str, str] | None = None) -> Any:
        reader = self._spark.readStream if self._streaming else self._spark.read
        if self._format is not None:
            reader = reader.format(self._format)
        if self._schema is not None:
            reader = reader.schema(self._schema)
        return reader.options(**(options if options is not None else self._options))

    def load(
        self, path: str | None = None, format: str | None = None, schema: Any = None,  # noqa: A002
        **options: Any,
    ) -> DataFrame:
        if format is not None:
            self.format(format)
        if schema is not None:
            self.schema(schema)
        self.options(**options)
        source = (self._format or "").lower()
        if source == "cloudfiles":
            resolver = active_resolver()
            if resolver is None or not self._streaming:
                raise ValueError(
                    "format('cloudFiles') is only available in streaming query functions of a pipeline"
                )
            where = path or self._options.get("path", "")
            return resolver.cloud_files(where, dict(self._options), self._schema)
        opts = rewrite_kafka_options(self._options) if source == "kafka" else self._options
        real = self._real(opts)
        return real.load(path) if path is not None else real.load()

    def table(self, tableName: str) -> DataFrame:  # noqa: N803 - Spark's name
        resolver = active_resolver()
        name = strip_live(tableName)
        if resolver is not None:
            explicit = name != tableName  # LIVE.x names a pipeline dataset, whatever the catalog has
            result = resolver.read_dataset(
                name, streaming=self._streaming, explicit=explicit, options=dict(self._options)
            )
            if result is not None:
                return result
        return self._real().table(name)

    def __getattr__(self, name: str) -> Any:
        # json(), csv(), parquet(), text(), ...: the real reader with what was recorded so far.
        return getattr(self._real(), name)


class SparkProxy:
    """The ``spark`` global of pipeline files (see the module docstring)."""

    def __init__(self, spark: SparkSession, configuration: Mapping[str, str]) -> None:
        self._spark = spark
        self._conf = ConfProxy(spark, configuration)

    @property
    def conf(self) -> ConfProxy:
        return self._conf

    @property
    def read(self) -> ReaderProxy:
        return ReaderProxy(self._spark, streaming=False)

    @property
    def readStream(self) -> ReaderProxy:  # noqa: N802 - Spark's name
        return ReaderProxy(self._spark, streaming=True)

    def table(self, tableName: str) -> DataFrame:  # noqa: N803
        return self.read.table(tableName)

    def sql(self, sqlQuery: str, args: Any = None, **kwargs: Any) -> DataFrame:  # noqa: N803 - Spark's name
        """``spark.sql``; inside a query function the pipeline datasets named in the text are read
        through the resolver (graph edges, ``STREAM(t)`` a streaming read; see
        :mod:`localdlt.sql_reads`)."""
        resolver = active_resolver()
        if resolver is None:
            return self._spark.sql(sqlQuery, args, **kwargs)
        return sql_reads.sql(self._spark, resolver, sqlQuery, args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._spark, name)
