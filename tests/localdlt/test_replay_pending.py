"""Which batch a crash left planned but uncommitted in a streaming checkpoint
(``localdlt.storage.pending_batch``); the replay itself is proved against a real broker in
tests/reliability/test_replayed_batches.py."""

from __future__ import annotations

from pathlib import Path

from localdlt.storage import pending_batch


def _checkpoint(tmp_path: Path, offsets: list[int], commits: list[int]) -> Path:
    for folder, batches in (("offsets", offsets), ("commits", commits)):
        (tmp_path / folder).mkdir()
        for batch in batches:
            (tmp_path / folder / str(batch)).write_text("v1\n{}")
            (tmp_path / folder / f".{batch}.crc").write_text("")  # Hadoop's checksum files: ignored
    return tmp_path


def test_the_last_planned_batch_without_its_commit_is_pending(tmp_path: Path) -> None:
    assert pending_batch(_checkpoint(tmp_path, offsets=[0, 1, 2], commits=[0, 1])) == 2


def test_nothing_is_pending_when_every_planned_batch_committed(tmp_path: Path) -> None:
    assert pending_batch(_checkpoint(tmp_path, offsets=[0, 1, 2], commits=[0, 1, 2])) is None


def test_a_new_or_missing_checkpoint_has_nothing_pending(tmp_path: Path) -> None:
    assert pending_batch(tmp_path / "never-started") is None
    assert pending_batch(_checkpoint(tmp_path, offsets=[], commits=[])) is None


def test_a_first_batch_planned_and_never_committed_is_pending(tmp_path: Path) -> None:
    (tmp_path / "offsets").mkdir()
    (tmp_path / "offsets" / "0").write_text("v1\n{}")
    assert pending_batch(tmp_path) == 0
