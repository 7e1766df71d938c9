"""Probing which SQL constructs Apache Spark's own ``spark-pipelines`` accepts, on one Spark Connect
server. Running ``spark-pipelines`` itself goes through ``orders_lakehouse.devstack.spark_pipelines``
(Delta jars, static options, free port: see that module's docstring).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def probe_sql(
    root: Path, files: dict[str, str], queries: dict[str, str] | None = None, timeout: float = 900
) -> dict[str, str]:
    """Register each SQL text of ``files`` in a dataflow graph of its own and dry-run it, all on one
    Spark Connect server (one JVM instead of one ``spark-pipelines dry-run`` per file).

    These are the calls ``spark-pipelines dry-run`` makes (``create_dataflow_graph``,
    ``register_sql``, ``start_run(dry=True)``). Returns ``{name: "COMPLETED" | error text}``.
    A dry run that fails to resolve a flow says only "Failed to resolve flows in the pipeline." (the
    flow's error is neither in the events nor in the log): for a name in ``queries``, the error of
    analysing that query on the same server is appended, as "; query: <error>".
    """
    root.mkdir(parents=True, exist_ok=True)
    request, log = root / "probe.json", root / "probe.log"
    request.write_text(
        json.dumps(
            {"storage": (root / "storage").resolve().as_uri(), "files": files, "queries": queries or {}}
        )
    )
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "SPARK_TESTING": "1"}
    with log.open("w") as stderr:  # the Connect server's log too
        process = subprocess.run(
            [sys.executable, __file__, str(request)],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            timeout=timeout,
            check=False,
        )
    if process.returncode != 0:
        raise RuntimeError(f"the spark-pipelines probe failed (exit {process.returncode}); see {log}")
    return json.loads(process.stdout.strip().splitlines()[-1])


def _first_paragraph(error: Exception) -> str:
    return str(error).split("\n\n")[0].split("\n== SQL ==")[0].strip()


def _probe_main(request_path: str) -> int:
    """Child process of :func:`probe_sql` (a Spark Connect client, so not the test's classic JVM)."""
    from pyspark.sql import SparkSession
    from pyspark.pipelines.spark_connect_graph_element_registry import SparkConnectGraphElementRegistry
    from pyspark.pipelines.spark_connect_pipeline import create_dataflow_graph, start_run

    request = json.loads(Path(request_path).read_text())
    spark = (
        SparkSession.builder.remote("local[1]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.connect.serverStacktrace.enabled", "false")
        .getOrCreate()
    )
    results: dict[str, str] = {}
    for name, sql_text in request["files"].items():
        graph = create_dataflow_graph(spark, default_catalog=None, default_database=None, sql_conf={})
        try:
            SparkConnectGraphElementRegistry(spark, graph).register_sql(sql_text, Path(f"{name}.sql"))
            for _ in start_run(spark, graph, None, False, None, dry=True, storage=request["storage"]):
                pass
            results[name] = "COMPLETED"
        except Exception as error:  # noqa: BLE001 - the error text is the result
            results[name] = _first_paragraph(error)
            if name in request["queries"]:
                try:
                    spark.sql(request["queries"][name]).schema  # noqa: B018 - analysis only
                    results[name] += "; query: analysed"
                except Exception as query_error:  # noqa: BLE001
                    results[name] += f"; query: {_first_paragraph(query_error)}"
    spark.stop()
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(_probe_main(sys.argv[1]))
