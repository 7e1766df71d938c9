"""The house rules that no other test sees: the import layering of docs/ARCHITECTURE.md
(``lint-imports``, contracts in pyproject.toml) and ``ruff check`` (line length 110 included)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the .venv's console scripts, pinned in requirements.lock


def _report(result: subprocess.CompletedProcess[str], lines: int = 80) -> str:
    """The start of a tool's output (the first problems), then its stderr."""
    return "\n".join(result.stdout.splitlines()[:lines]) + "\n" + result.stderr[-2000:]


def _run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    executable = BIN / tool
    assert executable.is_file(), (
        f"{executable} is missing: run `make setup` (it is pinned in requirements.lock)"
    )
    return subprocess.run([str(executable), *args], cwd=REPO, capture_output=True, text=True, timeout=300)


def test_import_contracts_are_kept() -> None:
    result = _run("lint-imports", "--no-cache")
    assert result.returncode == 0, "\n".join(result.stdout.splitlines()[-80:]) + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_ruff_check_passes() -> None:
    result = _run("ruff", "check", "--no-cache", "--output-format", "concise", ".")
    assert result.returncode == 0, _report(result)
