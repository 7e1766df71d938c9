"""Landing files that a batch cannot read: deleted after the file source listed them, or without
read permission for the runtime's user.

The open-source file source plans a micro-batch by writing the files it listed to its own log
(``<checkpoint>/sources/<n>/<batch>``, compacted every ten batches into ``<batch>.compact``) before
it reads them. A file deleted in between is dropped when Spark resolves the batch (only a line in
Spark's own log says so: "was not found. Was it deleted very recently?"). A file that vanishes
during the read, or one the runtime's user may not read — which Hadoop's local file system reports
as ``FileNotFoundException (Permission denied)`` — fails the batch, and the same batch is planned
again at every restart: a crash loop. The emulation therefore reads with
``ignoreMissingFiles=true`` (unless the pipeline sets the option): the batch goes on without such
a file. So that none of this is silent, :func:`report_gaps` finds, when the source opens (each
update, each restart), the files of the batch that was planned but not committed and are gone or
unreadable now, and the listed files without read permission; the runtime makes each a WARN
event naming the file.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import unquote, urlparse

from localdlt import storage
from localdlt.sources.file_state import FileEntry, FlowFileState

log = logging.getLogger(__name__)

IGNORE_MISSING_FILES = "ignoreMissingFiles"


def _batch_entries(source_log: Path, batch: int) -> list[str]:
    """The local paths the file source listed for ``batch`` (from ``<batch>`` or a compact file)."""
    candidates = [source_log / str(batch), source_log / f"{batch}.compact"]
    for file in candidates:
        try:
            lines = file.read_text(encoding="utf-8").split("\n")[1:]  # the first line is "v1"
        except (FileNotFoundError, UnicodeDecodeError):
            continue
        paths = []
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # blank line or a torn last line
            if int(entry.get("batchId", -1)) == batch:
                paths.append(unquote(urlparse(entry["path"]).path))
        return paths
    return []


def readable(path: str) -> bool:
    """Whether the runtime's user can open ``path`` for reading."""
    return os.access(path, os.R_OK)


def unreadable_planned_files(state_dir: Path) -> list[tuple[str, str, int]]:
    """``(path, "missing" | "unreadable", batch)`` for each file of the flow's planned but
    uncommitted batch that its replay will skip.

    ``state_dir`` is the folder the runtime gives the source (``<checkpoint>/sources/<n>``, where
    Spark keeps that source's log). A batch already written (localdlt's last-batch mark) is not
    read again on replay, so it has nothing to report.
    """
    source_log = Path(state_dir)
    checkpoint = source_log.parent.parent
    batch = storage.pending_batch(checkpoint)
    if batch is None or batch <= storage.last_batch(checkpoint):
        return []
    found = []
    for path in _batch_entries(source_log, batch):
        if not os.path.exists(path):
            found.append((path, "missing", batch))
        elif not readable(path):
            found.append((path, "unreadable", batch))
    return found


def unreadable_listed_files(listing: Iterable[FileEntry], skip: set[str]) -> list[str]:
    """The files of ``listing`` (less ``skip``) that the runtime's user cannot read."""
    return [entry.path for entry in listing if entry.path not in skip and not readable(entry.path)]


REPORTED = "reported_gaps.json"


def report_gaps(
    state: FlowFileState,
    source_dir: Path,
    listing: Iterable[FileEntry],
    skip: set[str],
    report: Callable[..., None],
    *,
    unreadable: bool = True,
) -> list[tuple[str, str]]:
    """Call ``report(path, kind=...)`` once per gap not reported before (``kind``: ``missing`` —
    deleted after its batch was planned —, ``unreadable`` — no read permission, reported only when
    ``unreadable``: the batch skips such files, i.e. ``ignoreMissingFiles`` is on; otherwise its
    read fails naming the file); returns the ``(path, kind)`` pairs reported now. The caller holds
    the flow's state lock."""
    reported = {tuple(pair) for pair in state.load(REPORTED) or []}
    gaps = [(path, kind) for path, kind, _ in unreadable_planned_files(source_dir)]
    if unreadable:
        gaps += [(path, "unreadable") for path in unreadable_listed_files(listing, skip)]
    else:
        gaps = [gap for gap in gaps if gap[1] == "missing"]
    fresh = [gap for gap in dict.fromkeys(gaps) if gap not in reported]
    for path, kind in fresh:
        log.warning("landing file %s: %s; the batch that lists it goes on without it", path, kind)
        try:
            report(path, kind=kind)
        except TypeError:  # a caller's one-argument callback: the log line above says it
            pass
    if fresh:
        state.save(REPORTED, sorted(reported | set(fresh)))
    return fresh


# The WARN event of each kind of gap (``{path}``: the file), as the runtime reports it.
GAP_MESSAGES = {
    "missing": (
        "file '{path}' was planned into a batch and deleted before that batch committed; the batch "
        "goes on without it (what it had not read from the file is not ingested)"
    ),
    "unreadable": (
        "file '{path}' cannot be read by this process's user (permission denied); the batch that lists "
        "it goes on without it and it is not read again: make it readable and land it under a new name"
    ),
}
