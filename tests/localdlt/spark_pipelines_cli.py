"""The one way tests launch Apache Spark's own ``spark-pipelines`` CLI: on Delta, on a free port.

Three things about ``spark-pipelines`` 4.1.1, found by running it (see docs/localdlt-sql.md):

- Its Spark Connect server is started in-process by PySpark (``--remote local``). Its Python client
  then connects to ``sc://localhost``, i.e. port 15002, whatever ``spark.connect.grpc.binding.port``
  says; only with ``SPARK_TESTING`` set does PySpark bind an ephemeral port (``0``) and ask the JVM
  for the port it got (``SparkConnectService.localPort``, SPARK-42272). Without it, two runs at once
  (pytest-xdist, or another process on the machine) clash on 15002.
- ``--conf`` options reach that server only by luck: PySpark's ``_start_connect_server`` reads the
  ``PYSPARK_REMOTE_INIT_CONF_<i>`` groups that spark-submit writes (ten options each) by assigning
  each group over the previous one, so only the last group survives (measured: the Delta
  extension, the warehouse and ``spark.sql.shuffle.partitions`` given with ``--conf`` were unset).
  What does reach it: the spec's ``configuration`` (builder options; runtime SQL options only,
  as the graph re-applies them to each flow) and ``spark.*`` Java system properties of the driver
  JVM (``--driver-java-options -D…``, read by ``SparkConf(loadDefaults=True)``): the static ones
  (Delta extension and catalog, warehouse, UI) go there.
- The Delta jars must be on the JVM's own class path (``SPARK_DIST_CLASSPATH``): the Connect
  server's session class loader does not see ``spark.jars``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from localdlt.session import SessionSettings, session_conf

BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class SparkPipelinesProject:
    """A project folder for ``spark-pipelines``: its spec and where its managed tables land."""

    root: Path
    spec: Path
    warehouse: Path
    transformations: Path


def write_project(
    root: Path, files: dict[str, str], configuration: dict[str, str] | None = None, name: str = "diff"
) -> SparkPipelinesProject:
    """Write ``files`` under ``root/transformations`` and a spec that runs them on Delta.

    ``configuration`` is the pipeline's own configuration (what localdlt gets as ``configuration``);
    the session options for Delta, a warehouse under ``root`` and small shuffles are added to it.
    """
    transformations = root / "transformations"
    transformations.mkdir(parents=True)
    for filename, source in files.items():
        (transformations / filename).write_text(source)
    warehouse = root / "warehouse"
    conf = session_conf(SessionSettings(testing=True))
    spec = {
        "name": name,
        "storage": (root / "storage").resolve().as_uri(),
        "libraries": [{"glob": {"include": "transformations/**"}}],
        # Runtime SQL options only: the graph applies these to every flow's analysis, and a static
        # one there fails the run with CANNOT_MODIFY_STATIC_CONFIG (static ones: ``java_options``).
        "configuration": {
            # Tables without a format (every SQL table) are Delta, as localdlt writes them.
            "spark.sql.sources.default": "delta",
            "spark.sql.shuffle.partitions": "2",
            "spark.sql.session.timeZone": conf["spark.sql.session.timeZone"],
            **(configuration or {}),
        },
    }
    spec_path = root / "spark-pipeline.yml"
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return SparkPipelinesProject(root, spec_path, warehouse, transformations)


def java_options(project: SparkPipelinesProject) -> str:
    """The static session options of a run, as ``-D`` system properties of the driver JVM."""
    conf = session_conf(SessionSettings(testing=True))
    static = {
        "spark.sql.extensions": conf["spark.sql.extensions"],
        "spark.sql.catalog.spark_catalog": conf["spark.sql.catalog.spark_catalog"],
        "spark.sql.warehouse.dir": str(project.warehouse),
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
    }
    return " ".join(f"-D{key}={value}" for key, value in static.items())


def run_spark_pipelines(
    project: SparkPipelinesProject, command: str = "run", timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """Run ``spark-pipelines <command> --spec …`` (``run`` or ``dry-run``) and return the process.

    A missing ``spark-pipelines`` (pyspark not installed in this interpreter) or missing Delta jars
    (``make setup``) raise; the caller asserts on ``returncode`` and the output.
    """
    executable = BIN / "spark-pipelines"
    if not executable.exists():
        raise FileNotFoundError(f"{executable} not found: install pyspark into {BIN.parent} (make setup)")
    jars = session_conf(SessionSettings())["spark.jars"].replace(",", os.pathsep)
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_DIST_CLASSPATH": jars,
        # Ephemeral Connect port, found by the client through the JVM (see the module docstring).
        "SPARK_TESTING": "1",
    }
    return subprocess.run(
        [
            str(executable),
            "--driver-memory",
            "1g",
            "--driver-java-options",
            java_options(project),
            command,
            "--spec",
            str(project.spec),
        ],
        cwd=project.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def failure_text(process: subprocess.CompletedProcess[str], limit: int = 4000) -> str:
    """The tail of a run's output, for an assertion message."""
    return (
        f"exit {process.returncode}\n--- stdout\n{process.stdout[-limit:]}\n"
        f"--- stderr\n{process.stderr[-limit:]}"
    )


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
