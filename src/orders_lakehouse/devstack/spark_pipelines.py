"""The one way this repository launches Apache Spark's own ``spark-pipelines`` CLI: on Delta, on a
free port. The differential tests and the catch-up benchmark both run it through here.

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

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from localdlt.session import SessionSettings, session_conf

BIN = Path(sys.executable).parent

# Runtime SQL options of localdlt's session that the spec's ``configuration`` carries over, so that
# both runners plan with the same partitions, time zone and Delta log settings.
_RUNTIME_OPTIONS = (
    "spark.sql.shuffle.partitions",
    "spark.sql.session.timeZone",
    "spark.databricks.delta.snapshotPartitions",
    "spark.sql.constraintPropagation.enabled",
)


@dataclass(frozen=True)
class SparkPipelinesProject:
    """A project folder for ``spark-pipelines``: its spec and where its managed tables land."""

    root: Path
    spec: Path
    warehouse: Path
    transformations: Path
    settings: SessionSettings = field(default_factory=lambda: SessionSettings(testing=True))


def write_project(
    root: Path,
    files: dict[str, str],
    configuration: dict[str, str] | None = None,
    name: str = "diff",
    settings: SessionSettings | None = None,
) -> SparkPipelinesProject:
    """Write ``files`` under ``root/transformations`` and a spec that runs them on Delta.

    ``configuration`` is the pipeline's own configuration (what localdlt gets as ``configuration``);
    the runtime options of a localdlt session built from ``settings`` (default: a testing session,
    two shuffle partitions) are added to it, and every table without a format is Delta.
    """
    settings = settings or SessionSettings(testing=True, shuffle_partitions=2)
    transformations = root / "transformations"
    transformations.mkdir(parents=True)
    for filename, source in files.items():
        (transformations / filename).write_text(source)
    conf = session_conf(settings)
    spec = {
        "name": name,
        "storage": (root / "storage").resolve().as_uri(),
        "libraries": [{"glob": {"include": "transformations/**"}}],
        # Runtime SQL options only: the graph applies these to every flow's analysis, and a static
        # one there fails the run with CANNOT_MODIFY_STATIC_CONFIG (static ones: ``java_options``).
        "configuration": {
            # Tables without a format (every SQL table) are Delta, as localdlt writes them.
            "spark.sql.sources.default": "delta",
            **{key: conf[key] for key in _RUNTIME_OPTIONS},
            **(configuration or {}),
        },
    }
    spec_path = root / "spark-pipeline.yml"
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return SparkPipelinesProject(root, spec_path, root / "warehouse", transformations, settings)


def java_options(project: SparkPipelinesProject) -> str:
    """The static session options of a run, as ``-D`` system properties of the driver JVM."""
    conf = session_conf(project.settings)
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
    (``make setup``) raise; the caller looks at ``returncode`` and the output. The driver gets the
    memory a localdlt session of the same settings gets.
    """
    executable = BIN / "spark-pipelines"
    if not executable.exists():
        raise FileNotFoundError(f"{executable} not found: install pyspark into {BIN.parent} (make setup)")
    conf = session_conf(project.settings)
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_DIST_CLASSPATH": conf["spark.jars"].replace(",", os.pathsep),
        # Ephemeral Connect port, found by the client through the JVM (see the module docstring).
        "SPARK_TESTING": "1",
    }
    return subprocess.run(
        [
            str(executable),
            "--driver-memory",
            "1g" if project.settings.testing else conf["spark.driver.memory"],
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
    """The tail of a run's output, for an assertion or error message."""
    return (
        f"exit {process.returncode}\n--- stdout\n{process.stdout[-limit:]}\n"
        f"--- stderr\n{process.stderr[-limit:]}"
    )
