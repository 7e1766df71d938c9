"""Which alerts were delivered (or permanently rejected): a JSON file replaced atomically."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

STATE_VERSION = 1


@dataclass
class DeliveryState:
    """Delivered ids (id -> delivery time) and rejected ids (id -> HTTP status and reason)."""

    path: Path
    delivered: dict[str, str] = field(default_factory=dict)
    rejected: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> DeliveryState:
        """The state at ``path``, empty when the file does not exist yet."""
        if not path.exists():
            return cls(path)
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"{path}: unsupported delivery state version {data.get('version')!r}")
        return cls(path, dict(data.get("delivered", {})), dict(data.get("rejected", {})))

    def is_done(self, alert_id: str) -> bool:
        """Whether ``alert_id`` needs no (further) delivery attempt."""
        return alert_id in self.delivered or alert_id in self.rejected

    def mark_delivered(self, alert_ids: list[str]) -> None:
        """Record confirmed deliveries and persist at once."""
        now = datetime.now(UTC).isoformat()
        for alert_id in alert_ids:
            self.delivered[alert_id] = now
        self.save()

    def mark_rejected(self, alert_ids: list[str], status: int, reason: str) -> None:
        """Record a permanent refusal by the endpoint (not retried) and persist at once."""
        now = datetime.now(UTC).isoformat()
        for alert_id in alert_ids:
            self.rejected[alert_id] = {"status": status, "reason": reason[:500], "at": now}
        self.save()

    def save(self) -> None:
        """Write to a temporary file in the same folder, fsync, then rename over the old file.

        A crash leaves either the old or the new file, never a truncated one.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"version": STATE_VERSION, "delivered": self.delivered, "rejected": self.rejected}
        fd, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(payload, handle, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
