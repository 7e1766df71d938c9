"""``format("cloudFiles")`` in a pipeline goes to the Auto Loader emulation with a per-flow state
folder that survives restarts; a changed, already-ingested file becomes a WARN event."""

from __future__ import annotations

import json
import os
from pathlib import Path

from localdlt.runner import run_update

PIPELINE = """
import dlt

@dlt.table
def bronze():
    return (spark.readStream.format("cloudFiles").option("cloudFiles.format", "json")
            .schema("id INT, name STRING").load(spark.conf.get("test.landing")))
"""


def test_cloud_files_state_and_changed_file_warning(
    spark, tmp_path: Path, write_pipeline, landing, rows, events
) -> None:
    folder = landing("in", "a.json", [{"id": 1, "name": "a"}])
    pipeline = write_pipeline({"p.py": PIPELINE})
    storage = tmp_path / "storage"
    conf = {"test.landing": str(folder)}
    assert run_update([pipeline], storage, spark=spark, configuration=conf).ok
    assert (storage / "checkpoints" / "bronze" / "sources" / "0").is_dir()

    changed = folder / "a.json"
    changed.write_text(
        json.dumps({"id": 1, "name": "rewritten"}) + "\n" + json.dumps({"id": 9, "name": "x"}) + "\n"
    )
    os.utime(changed, (changed.stat().st_atime + 60, changed.stat().st_mtime + 60))
    second = run_update([pipeline], storage, spark=spark, configuration=conf)
    assert second.ok
    assert rows(storage / "tables" / "bronze", "id", "name") == [(1, "a")]  # not ingested again
    warnings = [e for e in events(storage, "flow_progress") if e["level"] == "WARN"]
    assert len(warnings) == 1 and warnings[0]["origin"]["flow_name"] == "bronze"
    assert (
        str(changed) in warnings[0]["message"]
        and "already ingested and has changed" in warnings[0]["message"]
    )
    assert warnings[0]["origin"]["update_id"] == second.update_id
