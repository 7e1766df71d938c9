# Databricks "AUTO CDC FROM SNAPSHOT" (ldp/cdc, historical snapshot processing): a function
# returns the next snapshot and its version until there is none; SCD type 2 with history tracked
# on one column. The page lists files with dbutils.fs; this copy looks at the local folder.
import os

import dlt


def exist(file_name):
    return os.path.exists(file_name)


def next_snapshot_and_version(latest_snapshot_version):
    latest_snapshot_version = latest_snapshot_version or 0
    next_version = latest_snapshot_version + 1
    file_name = os.path.join(
        spark.conf.get("conformance.snapshot_dir"), "snapshot_" + str(next_version) + ".json"
    )
    if exist(file_name):
        return (spark.read.schema("key INT, value STRING, TrackingCol STRING").json(file_name), next_version)
    else:
        return None


dlt.create_streaming_table("target")

dlt.apply_changes_from_snapshot(
    target="target",
    source=next_snapshot_and_version,
    keys=["key"],
    stored_as_scd_type=2,
    track_history_column_list=["TrackingCol"],
)
