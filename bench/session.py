"""The SparkSession and scratch folder a benchmark runs in."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pyspark.sql import SparkSession

from localdlt.session import SessionSettings, build_session


@contextmanager
def spark_and_folder(settings: SessionSettings, prefix: str) -> Iterator[tuple[SparkSession, Path]]:
    """A SparkSession built from ``settings`` and an empty temporary folder; both are gone after."""
    spark = build_session(settings)
    root = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield spark, root
    finally:
        shutil.rmtree(root, ignore_errors=True)
        spark.stop()
