"""Start a pipeline update and wait for it to reach a terminal state."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import ResourceConflict
from databricks.sdk.service.pipelines import UpdateInfoState
from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

from orders_lakehouse.ops.connect import OpsError

log = logging.getLogger(__name__)

TERMINAL_STATES = frozenset({UpdateInfoState.COMPLETED, UpdateInfoState.FAILED, UpdateInfoState.CANCELED})


class WaitTimeout(OpsError):
    """The update did not reach a terminal state in time (it keeps running on the workspace)."""


@dataclass(frozen=True)
class UpdateStatus:
    """Where an update is: its id and state."""

    update_id: str
    state: UpdateInfoState | None

    @property
    def terminal(self) -> bool:
        """Whether the update has finished (COMPLETED, FAILED or CANCELED)."""
        return self.state in TERMINAL_STATES


def start_update(w: WorkspaceClient, pipeline_id: str, *, full_refresh: bool = False) -> str:
    """Start an update (all tables, or all of them reset with ``full_refresh``); its id."""
    try:
        response = w.pipelines.start_update(pipeline_id, full_refresh=full_refresh)
    except ResourceConflict as error:
        raise OpsError(
            f"pipeline {pipeline_id} already has an active update ({error}): "
            "wait for it (orders-lakehouse pipeline wait) or stop it in the pipeline UI"
        ) from error
    if not response.update_id:
        raise OpsError(f"the workspace started no update for pipeline {pipeline_id}")
    log.info(
        "started update %s of pipeline %s (full_refresh=%s)", response.update_id, pipeline_id, full_refresh
    )
    return response.update_id


def latest_update_id(w: WorkspaceClient, pipeline_id: str) -> str:
    """The most recent update of the pipeline."""
    latest = w.pipelines.get(pipeline_id).latest_updates or []
    if not latest or not latest[0].update_id:
        raise OpsError(
            f"pipeline {pipeline_id} has no update yet: start one (orders-lakehouse pipeline start)"
        )
    return latest[0].update_id


def is_continuous(w: WorkspaceClient, pipeline_id: str) -> bool:
    """Whether the pipeline runs continuously (its update stays RUNNING and never completes)."""
    spec = w.pipelines.get(pipeline_id).spec
    return bool(spec and spec.continuous)


def update_status(w: WorkspaceClient, pipeline_id: str, update_id: str) -> UpdateStatus:
    """The update's current state."""
    update = w.pipelines.get_update(pipeline_id=pipeline_id, update_id=update_id).update
    return UpdateStatus(update_id=update_id, state=update.state if update else None)


def wait_for_update(
    w: WorkspaceClient,
    pipeline_id: str,
    update_id: str,
    *,
    timeout_seconds: float,
    poll_seconds: float,
    until_running: bool = False,
    on_state: Callable[[UpdateStatus], None] = lambda status: None,
) -> UpdateStatus:
    """Poll the update until a terminal state (or, with ``until_running`` — continuous pipelines —
    until RUNNING too); ``on_state`` sees every state change. Raises :class:`WaitTimeout`."""
    seen: list[UpdateInfoState | None] = []

    def poll() -> UpdateStatus:
        status = update_status(w, pipeline_id, update_id)
        if not seen or seen[-1] != status.state:
            seen.append(status.state)
            on_state(status)
        return status

    def done(status: UpdateStatus) -> bool:
        return status.terminal or (until_running and status.state == UpdateInfoState.RUNNING)

    retrying = Retrying(
        retry=retry_if_result(lambda status: not done(status)),
        wait=wait_fixed(poll_seconds),
        stop=stop_after_delay(timeout_seconds),
    )
    try:
        return retrying(poll)
    except RetryError as error:
        last = error.last_attempt.result()
        state = last.state.value if last.state else "unknown"
        raise WaitTimeout(
            f"update {update_id} is still {state} after {timeout_seconds:g} s; it keeps running on the "
            f"workspace: wait again with orders-lakehouse pipeline wait --update-id {update_id}"
        ) from None
