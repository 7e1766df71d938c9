"""Resolve the JVM jars Spark needs, once, into a cache folder inside the checkout.

Spark never resolves packages at session start here (no ``spark.jars.packages``): set-up
resolves the exact coordinates listed in a checked-in manifest with the Ivy that ships inside
pyspark (so nothing beyond Python and Java is needed), and the session factory hands Spark the
files. A manifest is a text file with one ``group:artifact:version`` per line; ``#`` starts a
comment.

Example::

    python -m localdlt.jars fetch jars/spark.txt --into .cache/jars/spark --intransitive
    python -m localdlt.jars fetch jars/kafka-broker.txt --into .cache/jars/kafka-broker
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

log = logging.getLogger(__name__)

STAMP_NAME = ".resolved-manifest.sha256"
MAVEN_CENTRAL = "https://repo1.maven.org/maven2/"


class JarResolutionError(RuntimeError):
    """Set-up could not produce the jar folder; the message is one line that says why and how to fix it."""


@dataclass(frozen=True)
class Coordinate:
    """A Maven coordinate ``group:artifact:version``."""

    group: str
    artifact: str
    version: str

    @classmethod
    def parse(cls, text: str, *, source: str = "manifest") -> Coordinate:
        """Parse ``group:artifact:version``; raise ValueError naming ``source`` when malformed.

        >>> Coordinate.parse("io.delta:delta-storage:4.3.1").artifact
        'delta-storage'
        """
        parts = text.strip().split(":")
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"{source}: expected group:artifact:version, got {text.strip()!r}")
        return cls(*parts)

    def __str__(self) -> str:
        return f"{self.group}:{self.artifact}:{self.version}"


def read_manifest(path: Path) -> list[Coordinate]:
    """Read the coordinates of a manifest file (blank lines and ``#`` comments ignored)."""
    coordinates = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if text:
            coordinates.append(Coordinate.parse(text, source=f"{path}:{number}"))
    return coordinates


def manifest_digest(path: Path, *, intransitive: bool) -> str:
    """A digest of what a manifest asks for, stored beside the jars to make re-runs free."""
    payload = "\n".join(map(str, read_manifest(path))) + f"\nintransitive={intransitive}"
    return hashlib.sha256(payload.encode()).hexdigest()


def is_resolved(manifest: Path, into: Path, *, intransitive: bool) -> bool:
    """True when ``into`` already holds the jars of exactly this manifest."""
    stamp = into / STAMP_NAME
    return (
        stamp.is_file()
        and stamp.read_text().strip() == manifest_digest(manifest, intransitive=intransitive)
        and any(into.glob("*.jar"))
    )


def ivy_jar() -> Path:
    """The Ivy jar bundled in pyspark's ``jars`` folder."""
    import pyspark

    jars = sorted((Path(pyspark.__file__).parent / "jars").glob("ivy-*.jar"))
    if not jars:
        raise JarResolutionError("pyspark ships no ivy-*.jar: reinstall pyspark (make setup)")
    return jars[-1]


def _ivy_module(coordinates: list[Coordinate], *, intransitive: bool) -> str:
    transitive = ' transitive="false"' if intransitive else ""
    lines = [
        f"    <dependency org={quoteattr(c.group)} name={quoteattr(c.artifact)} "
        f'rev={quoteattr(c.version)} conf="default->default"{transitive}/>'
        for c in coordinates
    ]
    return (
        '<ivy-module version="2.0">\n'
        '  <info organisation="localdlt" module="jars"/>\n'
        '  <configurations><conf name="default"/></configurations>\n'
        "  <dependencies>\n" + "\n".join(lines) + "\n  </dependencies>\n</ivy-module>\n"
    )


def _ivy_settings(repository: str, cache: Path) -> str:
    return (
        "<ivysettings>\n"
        '  <settings defaultResolver="central"/>\n'
        f"  <caches defaultCacheDir={quoteattr(str(cache))}/>\n"
        "  <resolvers>\n"
        f'    <ibiblio name="central" m2compatible="true" root={quoteattr(repository)}/>\n'
        "  </resolvers>\n"
        "</ivysettings>\n"
    )


def fetch(manifest: Path, into: Path, *, intransitive: bool, ivy_cache: Path) -> list[Path]:
    """Resolve ``manifest`` into ``into`` (replacing its jars); a no-op when already resolved.

    The repository is Maven Central unless ``MAVEN_REPOSITORY_URL`` names a mirror.
    Returns the jar files now in ``into``.
    """
    if is_resolved(manifest, into, intransitive=intransitive):
        log.info("%s: already resolved in %s", manifest, into)
        return sorted(into.glob("*.jar"))
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise JarResolutionError(
            "java not found: install Java 17+ (e.g. apt-get install openjdk-17-jre-headless)"
        )
    coordinates = read_manifest(manifest)
    repository = os.environ.get("MAVEN_REPOSITORY_URL", MAVEN_CENTRAL)
    java = str(Path(os.environ["JAVA_HOME"]) / "bin" / "java") if os.environ.get("JAVA_HOME") else "java"
    with tempfile.TemporaryDirectory(prefix="localdlt-ivy-") as work:
        work_dir = Path(work)
        (work_dir / "ivy.xml").write_text(_ivy_module(coordinates, intransitive=intransitive))
        (work_dir / "ivysettings.xml").write_text(_ivy_settings(repository, ivy_cache.resolve()))
        staging = work_dir / "jars"
        command = [
            java, "-jar", str(ivy_jar()),
            "-settings", str(work_dir / "ivysettings.xml"),
            "-ivy", str(work_dir / "ivy.xml"),
            "-confs", "default",
            "-retrieve", f"{staging}/[artifact]-[revision](-[classifier]).[ext]",
        ]  # fmt: skip
        log.info("resolving %d coordinates of %s from %s", len(coordinates), manifest, repository)
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0 or not staging.is_dir():
            raise JarResolutionError(
                _explain_ivy_failure(manifest, repository, result.stdout + result.stderr)
            )
        into.mkdir(parents=True, exist_ok=True)
        for old in into.glob("*.jar"):
            old.unlink()
        for jar in staging.glob("*.jar"):
            shutil.copy2(jar, into / jar.name)
    (into / STAMP_NAME).write_text(manifest_digest(manifest, intransitive=intransitive) + "\n")
    return sorted(into.glob("*.jar"))


def _explain_ivy_failure(manifest: Path, repository: str, output: str) -> str:
    unresolved = sorted(set(re.findall(r"::\s+(\S+#\S+?): not found", output)))
    if "UnknownHost" in output or "Connection refused" in output or "timed out" in output.lower():
        return (
            f"cannot reach the Maven registry {repository}: "
            "check the network or set MAVEN_REPOSITORY_URL to a mirror"
        )
    if unresolved:
        return f"{manifest}: not found in {repository}: {', '.join(unresolved)}"
    last = [line for line in output.splitlines() if line.strip()][-1:] or ["no output"]
    return f"resolving {manifest} from {repository} failed: {last[0].strip()}"


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m localdlt.jars fetch MANIFEST --into DIR [--intransitive]``."""
    parser = argparse.ArgumentParser(prog="python -m localdlt.jars", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    fetch_parser = sub.add_parser("fetch", help="resolve a manifest into a folder (no-op when done)")
    fetch_parser.add_argument("manifest", type=Path)
    fetch_parser.add_argument("--into", type=Path, required=True, help="folder that receives the jars")
    fetch_parser.add_argument("--intransitive", action="store_true", help="exact coordinates only")
    fetch_parser.add_argument(
        "--ivy-cache", type=Path, default=None, help="Ivy cache (default: beside --into)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        jars = fetch(
            args.manifest,
            args.into,
            intransitive=args.intransitive,
            ivy_cache=args.ivy_cache or args.into.parent / "ivy-cache",
        )
    except (JarResolutionError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{len(jars)} jars in {args.into}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
