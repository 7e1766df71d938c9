"""Databricks-only sources emulated on open-source Spark.

* :func:`localdlt.sources.cloud_files.read_cloud_files` — Auto Loader (``format("cloudFiles")``)
  over the open-source file source: ``cloudFiles.format``, a given or inferred schema, schema
  hints, ``_rescued_data``, ``maxFilesPerTrigger``, ``includeExistingFiles`` and a warning (not
  silence) when an already-ingested file changes.
* :func:`localdlt.sources.kafka.rewrite_kafka_options` — Databricks' shaded Kafka JAAS class
  (``kafkashaded.org.apache.kafka...``) becomes the unshaded class open-source Spark ships.

See ``docs/localdlt-sources.md`` for every option and every known difference from Databricks.
"""

from localdlt.sources.cloud_files import check_changed_files, read_cloud_files
from localdlt.sources.errors import CloudFilesError, CloudFilesOptionError, CloudFilesSchemaError
from localdlt.sources.kafka import rewrite_kafka_options

__all__ = [
    "CloudFilesError",
    "CloudFilesOptionError",
    "CloudFilesSchemaError",
    "check_changed_files",
    "read_cloud_files",
    "rewrite_kafka_options",
]
