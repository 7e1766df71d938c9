"""`make setup` fails with ONE line naming what is missing and how to fix it — never a stack trace."""

import os
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]


def _setup(env_changes: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **env_changes}
    return subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "setup.sh")], capture_output=True, text=True, env=env
    )


def test_missing_python_is_one_clear_line() -> None:
    result = _setup({"PYTHON": "python3.11-does-not-exist"})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "setup: Python 3.11 not found (python3.11-does-not-exist): install python3.11, or set "
        "PYTHON=/path/to/python3.11"
    ]


def test_wrong_python_version_is_one_clear_line(tmp_path: Path) -> None:
    fake = tmp_path / "python3"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    result = _setup({"PYTHON": str(fake)})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"setup: {fake} is not Python 3.11: set PYTHON=/path/to/python3.11"
    ]


def test_missing_java_is_one_clear_line(tmp_path: Path) -> None:
    result = _setup({"JAVA_HOME": str(tmp_path / "no-jdk")})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "setup: java not found: install Java 17+ (apt-get install openjdk-17-jdk-headless) or set JAVA_HOME"
    ]


def test_setup_when_done_is_fast_and_downloads_nothing() -> None:
    result = _setup({})
    assert result.returncode == 0, result.stderr
    # (`make test` runs set-up first, so the Python stamp is fresh here; jars are never re-resolved.)
    assert result.stdout.strip().splitlines()[-1] == "setup: ready (.venv, .cache/jars)"
    assert "resolving" not in result.stderr
