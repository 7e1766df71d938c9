"""The ``localdlt`` CLI: every error class and exit code. In-process ``main(argv, spark=...)``
reuses the test session; a few runs of the real console script check argument errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from localdlt import storage as layout_mod
from localdlt.cli import EXIT_CONCURRENT, EXIT_DEFINITION, EXIT_OK, EXIT_UPDATE_FAILED, EXIT_USAGE, main

GOOD = """
import dlt
from pyspark.sql import functions as F

@dlt.table(comment="numbers")
def numbers():
    return spark.createDataFrame([(1,), (2,)], "n INT")

@dlt.view
def doubled():
    return dlt.read("numbers").select((F.col("n") * 2).alias("n"))

@dlt.table
def total():
    return spark.read.table("LIVE.doubled").agg(F.sum("n").alias("total"))
"""

BROKEN = {
    "UNKNOWN_DATASET": "import dlt\n@dlt.table\ndef a():\n    return dlt.read('numbrs')\n"
    "@dlt.table\ndef numbers():\n    return spark.range(1)\n",
    "CIRCULAR_DEPENDENCY": "import dlt\n@dlt.table\ndef a():\n    return dlt.read('b')\n"
    "@dlt.table\ndef b():\n    return dlt.read('a')\n",
    "DUPLICATE_DATASET": "import dlt\n@dlt.table\ndef a():\n    return spark.range(1)\n"
    "@dlt.table(name='a')\ndef b():\n    return spark.range(1)\n",
    "QUERY_FUNCTION_MUST_RETURN_DATAFRAME": "import dlt\n@dlt.table\ndef a():\n    spark.range(1)\n",
    "ACTION_IN_QUERY_FUNCTION": (
        "import dlt\n@dlt.table\ndef a():\n    df = spark.range(3)\n    df.count()\n    return df\n"
    ),
    "PIPELINE_FILE_LOAD_FAILED": "import dlt\nraise RuntimeError('boom')\n",
    "INVALID_ARGUMENT": "import dlt\n@dlt.table(partition_cols='x')\ndef a():\n    return spark.range(1)\n",
    "INVALID_FLOW_QUERY_TYPE": (
        "import dlt\n@dlt.materialized_view\ndef a():\n"
        "    return spark.readStream.format('rate').load()\n"
    ),
    "QUERY_FUNCTION_FAILED": "import dlt\n@dlt.table\ndef a():\n    return spark.range(1).select('nope')\n",
}


def test_a_query_function_that_raises_is_named_with_its_line(spark, write_pipeline, capsys) -> None:
    folder = write_pipeline({"p.py": (
        "import dlt\n"
        "def setting():\n"
        "    return spark.conf.get('orders.landing_path')\n"
        "@dlt.table\n"
        "def a():\n"
        "    path = setting()\n"
        "    return spark.read.text(path)\n"
    )})  # fmt: skip
    assert main(["validate", str(folder)], spark=spark) == EXIT_DEFINITION
    err = capsys.readouterr().err.replace("\n", "")
    assert err.startswith("[QUERY_FUNCTION_FAILED] query function of flow 'a' raised ")
    assert "orders.landing_path" in err
    # The innermost line of the pipeline file the error came through: the helper's, not the caller's.
    assert err.endswith(f"(defined at {folder / 'p.py'}:3)")


@pytest.mark.parametrize("error_class", sorted(BROKEN))
def test_validate_reports_each_definition_error(spark, error_class: str, write_pipeline, capsys) -> None:
    folder = write_pipeline({"p.py": BROKEN[error_class]})
    assert main(["validate", str(folder)], spark=spark) == EXIT_DEFINITION
    err = capsys.readouterr().err
    assert f"[{error_class}]" in err
    assert str(folder / "p.py") in err.replace("\n", "")


def test_unknown_dataset_message_suggests(spark, write_pipeline, capsys) -> None:
    main(["validate", str(write_pipeline({"p.py": BROKEN["UNKNOWN_DATASET"]}))], spark=spark)
    assert "did you mean one of these: 'numbers'?" in capsys.readouterr().err.replace("\n", "")


def test_validate_graph_run_and_events(spark, tmp_path: Path, write_pipeline, capsys) -> None:
    folder = write_pipeline({"p.py": GOOD})
    assert main(["validate", str(folder)], spark=spark) == EXIT_OK
    out = capsys.readouterr().out
    assert "numbers: materialized_view (n int)" in out and "total: materialized_view (total bigint)" in out
    assert "pipeline is valid: 3 datasets, 3 flows" in out

    assert main(["graph", str(folder)], spark=spark) == EXIT_OK
    assert capsys.readouterr().out == (
        "flowchart LR\n"
        '  n_numbers[["numbers<br/>materialized_view"]]\n'
        '  n_doubled("doubled<br/>view")\n'
        '  n_total[["total<br/>materialized_view"]]\n'
        "  n_doubled --> n_total\n"
        "  n_numbers --> n_doubled\n"
    )
    assert main(["graph", str(folder), "--format", "dot"], spark=spark) == EXIT_OK
    assert '"numbers" -> "doubled";' in capsys.readouterr().out

    storage = tmp_path / "storage"
    assert main(["run", str(folder), "--storage", str(storage), "--quiet"], spark=spark) == EXIT_OK
    assert spark.read.format("delta").load(str(storage / "tables" / "total")).first()["total"] == 6
    assert main(["events", "--storage", str(storage), "--limit", "3"], spark=spark) == EXIT_OK
    assert "COMPLETED" in capsys.readouterr().out


def test_run_exit_codes_for_failed_update_and_locked_storage(
    spark, tmp_path: Path, write_pipeline, capsys
) -> None:
    failing = write_pipeline(
        {
            "p.py": (
                "import dlt\n@dlt.table\n@dlt.expect_or_fail('big', 'n > 1')\n"
                "def t():\n    return spark.createDataFrame([(1,)], 'n INT')\n"
            )
        }
    )
    storage = tmp_path / "storage"
    assert (
        main(["run", str(failing), "--storage", str(storage), "--quiet"], spark=spark) == EXIT_UPDATE_FAILED
    )
    err = capsys.readouterr().err.replace("\n", "")
    assert (
        "flow 't' FAILED: [EXPECTATION_VIOLATION.VERBOSITY_ALL] Flow 't' failed to meet the expectation."
        in err
    )
    assert "Input data: '{\"n\":1}'" in err

    layout = layout_mod.Layout(storage)
    with layout_mod.update_lock(layout):
        assert (
            main(["run", str(failing), "--storage", str(storage), "--quiet"], spark=spark) == EXIT_CONCURRENT
        )
    assert "[CONCURRENT_UPDATE]" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "p", "--storage", "s", "--conf", "novalue"], "argument --conf: --conf expects KEY=VALUE"),
        (
            ["run", "p", "--storage", "s", "--duration", "5"],
            "argument --duration: only valid with --continuous",
        ),
        (
            ["run", "p", "--storage", "s", "--continuous", "--duration", "-1"],
            "argument --duration: --duration must be positive",
        ),
        (["run", "--storage", "s"], "argument PATH: give at least one pipeline file or folder"),
        (
            ["run", "p", "--storage", "s", "--target", "dev"],
            "argument --target: only valid with --bundle-pipeline",
        ),
        (["graph", "p", "--format", "png"], "argument --format: invalid choice: 'png'"),
        (["events", "--storage", "/nonexistent"], "argument --storage: no event log under /nonexistent"),
    ],
)
def test_argument_errors_name_the_argument(argv: list[str], message: str, capsys) -> None:
    assert main(argv) == EXIT_USAGE
    assert message in capsys.readouterr().err


def test_console_script_argument_errors() -> None:
    script = Path(sys.executable).with_name("localdlt")
    both = subprocess.run(
        [str(script), "run", "p", "--storage", "s", "--full-refresh", "--refresh", "a"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert both.returncode == EXIT_USAGE
    assert "argument --refresh: not allowed with argument --full-refresh" in both.stderr
    missing = subprocess.run(
        [str(script), "run", "p"], capture_output=True, text=True, timeout=60, check=False
    )
    assert missing.returncode == EXIT_USAGE
    assert "the following arguments are required: --storage" in missing.stderr


def test_run_driven_by_a_bundle_pipeline_resource(spark, tmp_path: Path, capsys) -> None:
    root = tmp_path / "bundle"
    (root / "resources").mkdir(parents=True)
    (root / "src" / "transformations").mkdir(parents=True)
    (root / "databricks.yml").write_text(
        "bundle:\n  name: demo\ninclude:\n  - resources/*.yml\n"
        "variables:\n  greeting:\n    default: hello\n"
        "targets:\n  dev:\n    default: true\n    variables:\n      greeting: hi-dev\n"
    )
    (root / "resources" / "demo.pipeline.yml").write_text(
        "resources:\n  pipelines:\n    demo:\n      name: demo\n      root_path: ../src\n"
        "      libraries:\n        - glob:\n            include: ../src/transformations/**\n"
        "      configuration:\n        demo.greeting: ${var.greeting}\n"
        "        demo.target: ${bundle.target}\n"
    )
    (root / "src" / "transformations" / "greeting.py").write_text(
        "import dlt\n@dlt.table\ndef greeting():\n"
        "    return spark.createDataFrame([(spark.conf.get('demo.greeting'), spark.conf.get('demo.target'),"
        " spark.conf.get('demo.extra'))], 'g STRING, t STRING, e STRING')\n"
    )
    storage = tmp_path / "storage"
    argv = [
        "run",
        "--bundle-pipeline",
        str(root / "resources" / "demo.pipeline.yml"),
        "--target",
        "dev",
        "--conf",
        "demo.extra=from-cli",
        "--storage",
        str(storage),
        "--quiet",
    ]
    assert main(argv, spark=spark) == EXIT_OK
    row = spark.read.format("delta").load(str(storage / "tables" / "greeting")).first()
    assert tuple(row) == ("hi-dev", "dev", "from-cli")
    assert (
        main(["validate", "--bundle-pipeline", str(root / "resources" / "missing.pipeline.yml")], spark=spark)
        == EXIT_DEFINITION
    )
    assert "missing.pipeline.yml" in capsys.readouterr().err.replace("\n", "")
