"""The on-disk layout of a run and the things kept next to checkpoints.

``<storage>/tables/<name>`` (Delta), ``<storage>/checkpoints/<flow>`` (Structured Streaming
checkpoint + ``localdlt_app_id`` + ``localdlt_last_batch``), ``<storage>/system/events`` (event
log), ``<storage>/system/cdc/<flow>`` (CDC state), ``<storage>/system/localdlt.lock``.
"""

from __future__ import annotations

import atexit
import fcntl
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from localdlt.errors import ConcurrentUpdateError

log = logging.getLogger(__name__)

APP_ID_FILE = "localdlt_app_id"
LAST_BATCH_FILE = "localdlt_last_batch"
ONCE_DONE_FILE = "localdlt_once_done"


@dataclass(frozen=True)
class Layout:
    """Paths of one storage folder."""

    root: Path

    def table(self, name: str) -> Path:
        return self.root / "tables" / name

    def checkpoint(self, flow: str) -> Path:
        return self.root / "checkpoints" / flow

    def source_state(self, flow: str, index: int) -> Path:
        return self.checkpoint(flow) / "sources" / str(index)

    def cdc_state(self, flow: str) -> Path:
        return self.root / "system" / "cdc" / flow

    @property
    def events(self) -> Path:
        return self.root / "system" / "events"

    @property
    def lock(self) -> Path:
        return self.root / "system" / "localdlt.lock"

    @property
    def pipeline_id_file(self) -> Path:
        return self.root / "system" / "pipeline_id"


def pipeline_id(layout: Layout) -> str:
    """A stable id for the pipeline of this storage (created on first use)."""
    layout.pipeline_id_file.parent.mkdir(parents=True, exist_ok=True)
    if layout.pipeline_id_file.exists():
        return layout.pipeline_id_file.read_text().strip()
    value = str(uuid.uuid4())
    layout.pipeline_id_file.write_text(value)
    return value


def app_id(checkpoint: Path, *, streaming: bool = True) -> str:
    """The Delta ``txnAppId`` of a flow: kept in its checkpoint folder and made anew whenever the
    checkpoint is (re)created, so a fresh checkpoint's batch ids never collide with old ones."""
    checkpoint.mkdir(parents=True, exist_ok=True)
    file = checkpoint / APP_ID_FILE
    # A streaming checkpoint is (re)created when Spark has not written its metadata yet; a once
    # flow's folder only ever goes away with a full refresh.
    fresh = not (checkpoint / "metadata").exists() if streaming else not file.exists()
    if file.exists() and not fresh:
        return file.read_text().strip()
    value = str(uuid.uuid4())
    _atomic_write(file, value)
    (checkpoint / LAST_BATCH_FILE).unlink(missing_ok=True)
    return value


def last_batch(checkpoint: Path) -> int:
    """The last batch id whose write committed (-1 when none): a replayed batch at or below it is
    already in the table and reports no metrics again."""
    file = checkpoint / LAST_BATCH_FILE
    return int(file.read_text()) if file.exists() else -1


def log_entries(folder: Path) -> list[int]:
    """The batch ids of a Spark metadata log (``<checkpoint>/offsets``, ``commits``, a source's
    log), sorted; none when the folder does not exist. Checksum and temporary files are not ids."""
    try:
        return sorted(int(name) for name in os.listdir(folder) if name.isdigit())
    except FileNotFoundError:
        return []


def pending_batch(checkpoint: Path) -> int | None:
    """The last batch planned in a streaming ``checkpoint`` (``offsets/N``) without its commit
    (``commits/N``): a process died between the two, and Spark replays it at the next start."""
    planned = log_entries(checkpoint / "offsets")
    if not planned or planned[-1] in log_entries(checkpoint / "commits"):
        return None
    return planned[-1]


def mark_batch(checkpoint: Path, batch_id: int) -> None:
    _atomic_write(checkpoint / LAST_BATCH_FILE, str(batch_id))


def _atomic_write(file: Path, text: str) -> None:
    tmp = file.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, file)


def remove(path: Path) -> None:
    """Delete a file or folder if it exists."""
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


@contextmanager
def update_lock(layout: Layout) -> Iterator[None]:
    """Hold the storage lock for one update; a second update fails fast, naming the holder.

    ``flock`` is released by the OS when the process dies, so a crash leaves no stale lock.
    """
    with _flock(layout) as handle:
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()}")
            handle.flush()
        except OSError as exc:  # a full disk: the lock is held all the same; only the holder's name is lost
            log.warning("could not record the lock holder in %s: %s", layout.lock, exc)
        yield


@contextmanager
def _flock(layout: Layout) -> Iterator[IO[str]]:
    layout.lock.parent.mkdir(parents=True, exist_ok=True)
    handle: IO[str] = open(layout.lock, "a+")  # noqa: SIM115 - held for the block
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise ConcurrentUpdateError(
                f"another localdlt update is running on storage '{layout.root}' (held by {holder}); "
                "wait for it to finish or stop it",
                params={"storage": str(layout.root), "holder": holder},
            ) from exc
        yield handle
    finally:
        handle.close()


def check_free(layout: Layout) -> None:
    """Fail fast, before any Spark work, when another update holds the storage (the lock is
    taken again by :func:`update_lock`; this only probes it)."""
    if not layout.lock.exists():
        return
    with _flock(layout):
        pass


SCRATCH_PREFIX = "localdlt-"
_SCRATCH: list[Path] = []


def _remove_scratch() -> None:
    for folder in _SCRATCH:
        shutil.rmtree(folder, ignore_errors=True)
    _SCRATCH.clear()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep_orphans(root: Path) -> None:
    """Remove the scratch folders of dead processes (a SIGKILL runs no exit handler)."""
    try:
        entries = list(root.iterdir())
    except OSError:
        return
    for entry in entries:
        parts = entry.name.split("-")
        if entry.name.startswith(SCRATCH_PREFIX) and len(parts) >= 4 and parts[2].isdigit():
            if int(parts[2]) != os.getpid() and not _pid_alive(int(parts[2])):
                shutil.rmtree(entry, ignore_errors=True)


def scratch_dir(kind: str, *, root: Path | None = None) -> Path:
    """A new temporary folder ``<tmp>/localdlt-<kind>-<pid>-<random>`` removed when the process
    ends (normally or by an exception; also after SIGTERM through the CLI's handler). Folders left
    by killed processes are swept on the way."""
    base = Path(root or tempfile.gettempdir())
    _sweep_orphans(base)
    folder = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{kind}-{os.getpid()}-", dir=base))
    if not _SCRATCH:
        atexit.register(_remove_scratch)
    _SCRATCH.append(folder)
    return folder
