"""Event hooks (``@dlt.on_event_hook``): user functions called with every event of an update.

As Databricks documents them: hooks run apart from the update (one worker thread here), one hook
at a time, in definition order, on every event whose ``maturity_level`` is ``STABLE`` except
``hook_progress`` events (no hook sees those, so a hook cannot feed itself). A hook fails when it
raises; each failure is a ``hook_progress`` event (``status`` ``FAILED``, the error), and a hook
that fails more than ``max_allowable_consecutive_failures`` times in a row is disabled for the rest
of the update (a ``hook_progress`` event with ``status`` ``DISABLED``; ``None`` never disables).
The update waits for the queued events to be delivered before it ends.

The event a hook receives is a dict of the event-log row with ``details`` and ``error`` parsed
from their JSON, for example ``event["details"]["update_progress"]["state"]``.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from localdlt.definitions import EventHook

log = logging.getLogger(__name__)

HOOK_PROGRESS = "hook_progress"
Emit = Callable[..., None]  # EventLog.emit(event_type, message, details, *, level=..., error=...)
_STOP = object()


@dataclass
class _HookState:
    hook: EventHook
    consecutive_failures: int = 0
    disabled: bool = False


class HookDispatcher:
    """Delivers events to the hooks of one update (see the module docstring)."""

    def __init__(self, hooks: Sequence[EventHook], emit: Emit) -> None:
        self._states = [_HookState(hook) for hook in hooks]
        self._emit = emit
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="localdlt-event-hooks", daemon=True)
        self._thread.start()

    def publish(self, event: dict[str, Any]) -> None:
        """Queue ``event`` (an event-log row as a dict, ``details`` as JSON text) for the hooks."""
        if event.get("event_type") == HOOK_PROGRESS or event.get("maturity_level") != "STABLE":
            return
        self._queue.put(event)

    def close(self) -> None:
        """Deliver what is queued, then stop the worker."""
        self._queue.put(_STOP)
        self._thread.join()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            event = _as_hook_event(item)
            for state in self._states:
                if not state.disabled:
                    self._call(state, event)

    def _call(self, state: _HookState, event: dict[str, Any]) -> None:
        hook = state.hook
        try:
            hook.function(event)
        except Exception as exc:  # noqa: BLE001 - a failing hook is reported, never fatal to the update
            state.consecutive_failures += 1
            log.warning("event hook %s failed on event %s: %s", hook.name, event.get("id"), exc)
            self._emit(
                HOOK_PROGRESS,
                f"Event hook '{hook.name}' failed: {type(exc).__name__}: {exc}",
                {
                    HOOK_PROGRESS: {
                        "name": hook.name,
                        "status": "FAILED",
                        "event_id": event.get("id"),
                        "consecutive_failures": state.consecutive_failures,
                    }
                },
                level="WARN",
                error={
                    "exceptions": [
                        {
                            "class_name": type(exc).__name__,
                            "message": str(exc),
                            "stack": traceback.format_exception_only(exc),
                        }
                    ]
                },
            )
            limit = hook.max_allowable_consecutive_failures
            if limit is not None and state.consecutive_failures > limit:
                state.disabled = True
                self._emit(
                    HOOK_PROGRESS,
                    f"Event hook '{hook.name}' disabled after {state.consecutive_failures} "
                    "consecutive failures "
                    f"(max_allowable_consecutive_failures={limit}).",
                    {
                        HOOK_PROGRESS: {
                            "name": hook.name,
                            "status": "DISABLED",
                            "consecutive_failures": state.consecutive_failures,
                        }
                    },
                    level="WARN",
                )
        else:
            state.consecutive_failures = 0


def _as_hook_event(row: dict[str, Any]) -> dict[str, Any]:
    event = dict(row)
    for key in ("details", "error"):
        if isinstance(event.get(key), str):
            event[key] = json.loads(event[key])
    return event


class _EmitsEvents(Protocol):
    listeners: list[Callable[[dict[str, Any]], None]]

    def emit(self, event_type: str, message: str, details: dict[str, Any], **kwargs: Any) -> None: ...


def attach_event_hooks(events: _EmitsEvents, hooks: Sequence[EventHook]) -> HookDispatcher | None:
    """Start delivering ``events``' events to ``hooks`` (None when there are no hooks); the caller
    closes the dispatcher when the update ends."""
    if not hooks:
        return None
    dispatcher = HookDispatcher(hooks, events.emit)
    events.listeners.append(dispatcher.publish)
    return dispatcher
