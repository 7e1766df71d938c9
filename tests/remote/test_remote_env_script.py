"""scripts/remote-env.sh (make test-remote) skips, saying why, when no workspace is configured,
before installing anything."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from remote_session import REPO


def test_no_workspace_skips_with_the_reason_and_installs_nothing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "BUNDLE_VAR_"))}
    env["HOME"] = str(tmp_path)  # no ~/.databrickscfg

    done = subprocess.run([str(REPO / "scripts" / "remote-env.sh")], env=env, capture_output=True, text=True,
                          timeout=60, check=False)

    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (
        "test-remote: SKIPPED: no Databricks workspace configured: set DATABRICKS_HOST (+ DATABRICKS_TOKEN), "
        f"or DATABRICKS_CONFIG_PROFILE, or a [DEFAULT] profile in {tmp_path}/.databrickscfg\n"
    )


def test_a_default_profile_counts_as_configured(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "BUNDLE_VAR_"))}
    config = tmp_path / "cfg"
    config.write_text("[DEFAULT]\nhost = https://example.invalid\n")
    # PYTHON pointing at a missing interpreter stops the script right after the workspace check
    env.update(DATABRICKS_CONFIG_FILE=str(config), PYTHON="/nonexistent/python3.11")

    done = subprocess.run([str(REPO / "scripts" / "remote-env.sh")], env=env, capture_output=True, text=True,
                          timeout=60, check=False)

    assert (done.returncode, done.stdout) == (1, "")
    assert (
        done.stderr
        == "test-remote: Python 3.11 not found (/nonexistent/python3.11): set PYTHON=/path/to/python3.11\n"
    )
