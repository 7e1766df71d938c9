"""What a start checks and repairs before a flow resumes from its checkpoint.

* :func:`check_checkpoint` reads the files a restart depends on — the query ``metadata``, the
  last two ``offsets/N`` and ``commits/N``, the sources' own logs, and localdlt's app id and
  last-batch marks — and raises :class:`CheckpointCorruptError` naming the broken file and the
  fix (a full refresh of that flow's table) instead of a Java stack trace from the middle of
  Spark's restart. The formats are Spark's metadata logs: a version line (``v1``) followed by JSON
  lines (``-`` for an absent source offset).
* :func:`disk_full_message` turns an out-of-space failure into one sentence that says where and
  what to do.
* :func:`unreported_refreshes` finds the materialized-view refreshes a killed update committed to
  Delta without emitting their ``flow_progress`` METRICS event, and builds those events from the
  commits (the event journal's recovery appends them).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from localdlt import deltalog
from localdlt.errors import LocalDltError
from localdlt.storage import APP_ID_FILE, LAST_BATCH_FILE, log_entries

_VERSION_LINE = re.compile(r"^v\d+$")
DISK_FULL_MARKERS = ("No space left on device", "ENOSPC", "Disk quota exceeded")


class CheckpointCorruptError(LocalDltError):
    """A checkpoint file of a flow cannot be read; the message names it and the fix."""

    error_class = "CHECKPOINT_CORRUPT"

    def __init__(self, flow: str, target: str, file: Path, reason: str) -> None:
        super().__init__(
            f"checkpoint file '{file}' of flow '{flow}' is corrupt ({reason}); the flow cannot resume "
            f"from it. Rebuild the table from its sources with a full refresh of it: "
            f"`localdlt run ... --full-refresh {target}`",
            params={"flow": flow, "target": target, "file": str(file), "reason": reason},
        )


def _metadata_log_problem(file: Path, *, allow_dash: bool) -> str | None:
    """Why ``file`` is not a readable Spark metadata-log entry (None when it is)."""
    try:
        text = file.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8 text"
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}"
    # Spark's Kafka source writes its initial offsets (sources/N/0) after a zero byte, for Spark
    # 2.1.0 readers (KafkaSourceInitialOffsetWriter, SPARK-19517).
    lines = text.removeprefix("\0").split("\n")
    if not lines or not _VERSION_LINE.match(lines[0].strip()):
        return "no version line (v1) at the start"
    for number, line in enumerate(lines[1:], 2):
        if not line.strip() or (allow_dash and line.strip() == "-"):
            continue
        try:
            json.loads(line)
        except ValueError:
            return f"line {number} is not JSON"
    return None


def check_checkpoint(flow: str, target: str, checkpoint: Path) -> None:
    """Raise :class:`CheckpointCorruptError` when a file the restart of ``flow`` reads is broken.

    Nothing to check (and no error) for a checkpoint that does not exist yet.
    """
    if not checkpoint.is_dir():
        return
    metadata = checkpoint / "metadata"
    if metadata.exists():
        try:
            if "id" not in json.loads(metadata.read_text(encoding="utf-8")):
                raise CheckpointCorruptError(flow, target, metadata, "no query id")
        except (ValueError, UnicodeDecodeError) as exc:
            raise CheckpointCorruptError(flow, target, metadata, "not JSON") from exc
    for log_name, allow_dash in (("offsets", True), ("commits", False)):
        for batch in log_entries(checkpoint / log_name)[-2:]:
            file = checkpoint / log_name / str(batch)
            problem = _metadata_log_problem(file, allow_dash=allow_dash)
            if problem is not None:
                raise CheckpointCorruptError(flow, target, file, problem)
    sources = checkpoint / "sources"
    if sources.is_dir():
        for source in sorted(p for p in sources.iterdir() if p.is_dir() and p.name.isdigit()):
            for batch in log_entries(source)[-2:]:
                problem = _metadata_log_problem(source / str(batch), allow_dash=False)
                if problem is not None:
                    raise CheckpointCorruptError(flow, target, source / str(batch), problem)
    app_id = checkpoint / APP_ID_FILE
    if app_id.exists():
        try:
            uuid.UUID(app_id.read_text(encoding="utf-8").strip())
        except (ValueError, UnicodeDecodeError) as exc:
            raise CheckpointCorruptError(flow, target, app_id, "not an app id (UUID)") from exc
    last = checkpoint / LAST_BATCH_FILE
    if last.exists():
        try:
            int(last.read_text(encoding="utf-8").strip())
        except (ValueError, UnicodeDecodeError) as exc:
            raise CheckpointCorruptError(flow, target, last, "not a batch number") from exc


def is_disk_full(error: BaseException | str) -> bool:
    """Whether ``error`` (or its text, py4j's included) is an out-of-space failure."""
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return any(marker in text for marker in DISK_FULL_MARKERS)


def disk_full_message(storage: Path) -> str:
    """The one sentence for a full disk under ``storage``."""
    return (
        f"No space left on device under storage '{storage}': the write was not committed (Delta commits "
        "are atomic, so the tables are intact). Free space and run again: the next update resumes where "
        "this one stopped."
    )


class StorageFullError(LocalDltError):
    """The storage ran out of space; the message says where and what to do."""

    error_class = "STORAGE_FULL"



# Delta operations that change a view's rows (not CREATE TABLE, OPTIMIZE, VACUUM, properties).
DATA_OPERATIONS = frozenset(
    {"WRITE", "MERGE", "DELETE", "UPDATE", "CREATE TABLE AS SELECT", "REPLACE TABLE AS SELECT",
     "CREATE OR REPLACE TABLE AS SELECT"}
)  # fmt: skip
_MERGE_METRICS = ("numTargetRowsInserted", "numTargetRowsUpdated", "numTargetRowsDeleted")


def _commit_infos(table: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(version, commitInfo)`` of ``table``, newest first (commit files that are gone or torn
    end the walk: older versions do not matter to a refresh that just happened)."""
    for version in reversed(deltalog.versions(table)):
        try:
            lines = (table / "_delta_log" / f"{version:020d}.json").read_text().splitlines()
            actions = [json.loads(line) for line in lines if line.strip()]
        except (FileNotFoundError, ValueError):
            return
        yield version, next((a["commitInfo"] for a in actions if "commitInfo" in a), {})


def refresh_rows(commit_info: dict[str, Any]) -> int:
    """Rows a commit wrote (an overwrite or append: ``numOutputRows``; a MERGE: inserted + updated +
    deleted): a view's refresh, or a replayed batch's commit (``writes.committed_rows``)."""
    metrics = commit_info.get("operationMetrics", {})
    if commit_info.get("operation") == "MERGE":
        return sum(int(metrics.get(key, 0)) for key in _MERGE_METRICS)
    return int(metrics.get("numOutputRows", 0))


def unreported_refreshes(storage: Path, journaled: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The METRICS events missing for materialized-view refreshes of a killed update.

    ``journaled`` holds the update's ``planning_information`` events and its METRICS events of
    flows without batches, in order (the journal keeps them apart: :mod:`localdlt.event_journal`).
    A view whose last planning event has no METRICS event after it was being refreshed when the
    process died; each data commit of its table since that planning event is a refresh that
    landed, and gets the event the process did not emit: same origin, the commit's time and row
    count, ``recovered_from_table_version`` in its details, and an id derived from (update, flow,
    version) so that recovering twice writes it once.
    """
    pending: dict[str, tuple[Any, ...]] = {}
    for row in journaled:
        flow = row[2][3]
        if row[9] == "planning_information":
            pending[flow] = row
        elif row[9] == "flow_progress":
            pending.pop(flow, None)
    recovered = []
    for flow, plan in pending.items():
        since_ms = int(plan[3].timestamp() * 1000)
        update_id, dataset = plan[2][2], plan[2][4]
        for version, info in _commit_infos(storage / "tables" / dataset):
            if int(info.get("timestamp", 0)) < since_ms:
                break
            if info.get("operation") not in DATA_OPERATIONS:
                continue
            details = {
                "flow_progress": {
                    "status": "RUNNING",
                    "metrics": {"num_output_rows": refresh_rows(info)},
                    "recovered_from_table_version": version,
                }
            }
            recovered.append((
                str(uuid.uuid5(uuid.NAMESPACE_URL, f"localdlt-refresh:{update_id}:{flow}:{version}")),
                (plan[1][0],),
                plan[2],
                datetime.fromtimestamp(int(info["timestamp"]) / 1000, UTC),
                f"Flow '{flow}' is RUNNING.",
                "METRICS",
                "STABLE",
                None,
                json.dumps(details),
                "flow_progress",
            ))  # fmt: skip
    return sorted(recovered, key=lambda row: row[3])


def run_replayed_batch(batch_df: Any) -> None:
    """Run the plan of a replayed micro-batch to its end, writing nothing (Spark's ``noop`` sink).

    A batch that a killed process had already written is replayed at the next start and skipped
    by the write (localdlt's last-batch mark, or Delta's ``txnAppId``/``txnVersion``) without its
    plan running. Its stateful operators (``dropDuplicatesWithinWatermark``, streaming
    aggregations) then commit no state for the batch, and Spark 4.1 fails the query
    (``STATE_STORE_COMMIT_VALIDATION_FAILED``) — at every restart, as the batch never commits.
    Running the plan recomputes the same state from the same offsets, as Spark's own replay would.
    """
    batch_df.write.format("noop").mode("overwrite").save()
