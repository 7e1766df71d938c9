"""Jar manifests: parsing, the re-run stamp, and one-line failure messages (no Spark, no network)."""

from pathlib import Path

import pytest

from localdlt import jars

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_checked_in_spark_manifest_pins_delta_and_kafka_to_the_pinned_wheels() -> None:
    coordinates = [str(c) for c in jars.read_manifest(REPO_ROOT / "jars" / "spark.txt")]
    assert coordinates == [
        "io.delta:delta-spark_4.1_2.13:4.3.1",
        "io.delta:delta-storage:4.3.1",
        "org.apache.spark:spark-sql-kafka-0-10_2.13:4.1.1",
        "org.apache.spark:spark-token-provider-kafka-0-10_2.13:4.1.1",
        "org.apache.kafka:kafka-clients:3.9.1",
        "org.apache.commons:commons-pool2:2.12.1",
    ]


def test_jar_versions_match_the_installed_python_packages() -> None:
    from importlib.metadata import version

    coordinates = {c.artifact: c.version for c in jars.read_manifest(REPO_ROOT / "jars" / "spark.txt")}
    spark_minor = ".".join(version("pyspark").split(".")[:2])
    assert coordinates[f"delta-spark_{spark_minor}_2.13"] == version("delta-spark")
    assert coordinates["spark-sql-kafka-0-10_2.13"] == version("pyspark")


def test_malformed_manifest_line_names_file_and_line(tmp_path: Path) -> None:
    manifest = tmp_path / "m.txt"
    manifest.write_text("# comment\nio.delta:delta-storage:4.3.1\nnot-a-coordinate\n")
    with pytest.raises(
        ValueError, match=r"m\.txt:3: expected group:artifact:version, got 'not-a-coordinate'"
    ):
        jars.read_manifest(manifest)


def test_stamp_makes_a_second_fetch_a_no_op(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = tmp_path / "m.txt"
    manifest.write_text("g:a:1\n")
    into = tmp_path / "jars"
    into.mkdir()
    (into / "a-1.jar").write_bytes(b"")
    (into / jars.STAMP_NAME).write_text(jars.manifest_digest(manifest, intransitive=True))
    monkeypatch.setattr(jars.subprocess, "run", lambda *a, **k: pytest.fail("must not resolve again"))

    assert jars.fetch(manifest, into, intransitive=True, ivy_cache=tmp_path / "cache") == [into / "a-1.jar"]
    # The same manifest asked for transitively is a different request.
    assert not jars.is_resolved(manifest, into, intransitive=False)


def test_unresolvable_coordinate_is_one_line_naming_it() -> None:
    ivy_output = (
        "\t\t::::::::::::::::::::::::::::::::::::::::::::::\n"
        "\t\t::          UNRESOLVED DEPENDENCIES         ::\n"
        "\t\t:: io.delta#delta-nope_2.13;9.9.9: not found\n"
    )
    message = jars._explain_ivy_failure(Path("jars/spark.txt"), jars.MAVEN_CENTRAL, ivy_output)
    assert (
        message
        == "jars/spark.txt: not found in https://repo1.maven.org/maven2/: io.delta#delta-nope_2.13;9.9.9"
    )


def test_unreachable_registry_is_one_line() -> None:
    message = jars._explain_ivy_failure(
        Path("m"), "https://mirror.invalid/", "java.net.UnknownHostException: mirror.invalid"
    )
    assert (
        message
        == "cannot reach the Maven registry https://mirror.invalid/: check the network or set "
           "MAVEN_REPOSITORY_URL to a mirror"
    )


def test_fetch_against_unreachable_registry_fails_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real Ivy, real (refused) connection: port 9 on loopback has no listener."""
    manifest = tmp_path / "m.txt"
    manifest.write_text("org.example:nothing:1.0\n")
    monkeypatch.setenv("MAVEN_REPOSITORY_URL", "http://127.0.0.1:9/maven2/")
    with pytest.raises(jars.JarResolutionError) as error:
        jars.fetch(manifest, tmp_path / "out", intransitive=True, ivy_cache=tmp_path / "cache")
    assert "\n" not in str(error.value)
    assert "org.example#nothing;1.0" in str(error.value) or "cannot reach" in str(error.value)
