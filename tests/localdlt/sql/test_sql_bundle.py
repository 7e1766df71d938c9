"""A bundle pipeline resource whose ``libraries`` glob holds Python and SQL files (and a
``notebook`` entry with a .sql path) runs as one graph, configuration from the resource."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from localdlt.bundle import load_pipeline_resource
from localdlt.runner import run_update

RESOURCE = """
resources:
  pipelines:
    mixed:
      name: mixed
      configuration:
        min_id: "2"
      libraries:
        - glob:
            include: ../transformations/**
        - notebook:
            path: ../extra/report.sql
"""

NUMBERS_PY = """
import dlt

@dlt.table
def numbers():
    return spark.range(1, 6).selectExpr("CAST(id AS INT) AS id")
"""

FILTERED_SQL = """
CREATE OR REFRESH MATERIALIZED VIEW kept
AS SELECT id FROM numbers WHERE id >= ${min_id};
"""

REPORT_SQL = "CREATE OR REFRESH MATERIALIZED VIEW report AS SELECT count(*) AS n, sum(id) AS total FROM kept"


def test_bundle_glob_with_python_and_sql_runs_as_one_graph(spark: Any, tmp_path: Path, rows: Any) -> None:
    bundle = tmp_path / "bundle"
    for folder in ("resources", "transformations", "extra"):
        (bundle / folder).mkdir(parents=True)
    (bundle / "databricks.yml").write_text("bundle:\n  name: mixed\ninclude:\n  - resources/*.yml\n")
    (bundle / "resources" / "mixed.pipeline.yml").write_text(RESOURCE)
    (bundle / "transformations" / "numbers.py").write_text(NUMBERS_PY)
    (bundle / "transformations" / "kept.sql").write_text(FILTERED_SQL)
    (bundle / "extra" / "report.sql").write_text(REPORT_SQL)

    resource = load_pipeline_resource(bundle / "resources" / "mixed.pipeline.yml")
    assert sorted(p.name for p in resource.libraries) == ["kept.sql", "numbers.py", "report.sql"]
    storage = tmp_path / "storage"
    result = run_update(
        resource.libraries,
        storage,
        spark=spark,
        configuration=resource.configuration,
        root_path=resource.root_path,
    )

    assert result.status == "COMPLETED", result.failed_flows()
    assert rows(storage / "tables" / "kept", "id") == [(2,), (3,), (4,), (5,)]
    assert rows(storage / "tables" / "report", "n", "total") == [(4, 14)]
