"""What a start checks and repairs before a flow resumes from its checkpoint.

* :func:`check_checkpoint` reads the files a restart depends on — the query ``metadata``, the
  last two ``offsets/N`` and ``commits/N``, the sources' own logs, and localdlt's app id and
  last-batch marks — and raises :class:`CheckpointCorruptError` naming the broken file and the
  fix (a full refresh of that flow's table) instead of a Java stack trace from the middle of
  Spark's restart. The formats are Spark's metadata logs: a version line (``v1``) followed by JSON
  lines (``-`` for an absent source offset).
* :func:`disk_full_message` turns an out-of-space failure into one sentence that says where and
  what to do.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path

from localdlt.errors import LocalDltError
from localdlt.storage import APP_ID_FILE, LAST_BATCH_FILE

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


def _numbered(folder: Path) -> list[int]:
    try:
        return sorted(int(name) for name in os.listdir(folder) if name.isdigit())
    except FileNotFoundError:
        return []


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
        for batch in _numbered(checkpoint / log_name)[-2:]:
            file = checkpoint / log_name / str(batch)
            problem = _metadata_log_problem(file, allow_dash=allow_dash)
            if problem is not None:
                raise CheckpointCorruptError(flow, target, file, problem)
    sources = checkpoint / "sources"
    if sources.is_dir():
        for source in sorted(p for p in sources.iterdir() if p.is_dir() and p.name.isdigit()):
            for batch in _numbered(source)[-2:]:
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

