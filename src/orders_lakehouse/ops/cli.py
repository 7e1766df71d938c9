"""``orders-lakehouse pipeline start|wait|events|quality``: operate the deployed pipeline.

Every action finds the pipeline the bundle deployed for ``--target`` (by the name in
``resources/orders.pipeline.yml``, prefixed ``[dev <you>] `` in development mode) unless
``--pipeline-id`` is given. Authentication is the Databricks SDK's: ``DATABRICKS_HOST`` +
``DATABRICKS_TOKEN``, a ``--profile`` from ``~/.databrickscfg``, Azure CLI, OAuth.

Exit codes: 0 done (update COMPLETED, or RUNNING for a continuous pipeline), 1 error or update
FAILED / CANCELED, 3 ``--timeout`` reached while the update is still going.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path

from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import DatabricksError
from databricks.sdk.service.pipelines import UpdateInfoState
from rich.console import Console

from orders_lakehouse.ops import events as ev
from orders_lakehouse.ops import render
from orders_lakehouse.ops.connect import (
    ConnectionOptions,
    OpsError,
    PipelineRef,
    deployed_pipeline_name,
    find_pipeline,
    workspace_client,
)
from orders_lakehouse.ops.updates import (
    UpdateStatus,
    WaitTimeout,
    is_continuous,
    latest_update_id,
    start_update,
    wait_for_update,
)

log = logging.getLogger(__name__)

DEFAULT_RESOURCE = Path("resources/orders.pipeline.yml")
EXIT_OK, EXIT_FAILED, EXIT_TIMEOUT = 0, 1, 3

Action = Callable[[WorkspaceClient, PipelineRef, argparse.Namespace, Console], int]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``pipeline`` and its actions to the ``orders-lakehouse`` parser."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--target", "-t", help="bundle target (default: the bundle's default target, dev)")
    common.add_argument("--profile", "-p", help="Databricks CLI profile (~/.databrickscfg)")
    common.add_argument("--host", help="workspace URL (default: from the profile or DATABRICKS_HOST)")
    common.add_argument(
        "--resource", type=Path, default=DEFAULT_RESOURCE, help="bundle pipeline resource file"
    )
    common.add_argument("--pipeline-id", help="use this pipeline instead of finding it by name")
    common.add_argument(
        "--http-timeout", type=float, default=60.0, help="seconds per HTTP request (default 60)"
    )
    common.add_argument(
        "--retry-timeout", type=int, default=300, help="seconds of retries on transient errors"
    )

    waiting = argparse.ArgumentParser(add_help=False)
    waiting.add_argument(
        "--timeout", type=float, default=3600.0, help="give up waiting after this many seconds"
    )
    waiting.add_argument("--poll-interval", type=float, default=5.0, help="seconds between status checks")

    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--format", choices=("table", "json"), default="table")
    output.add_argument("--update-id", help="default: the latest update")

    parser = subparsers.add_parser(
        "pipeline",
        help="operate the deployed Databricks pipeline (databricks-sdk)",
        description=__doc__.split("\n\n")[0],
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    start = actions.add_parser("start", parents=[common, waiting], help="start an update")
    start.add_argument("--full-refresh", action="store_true", help="reset every table and checkpoint first")
    start.add_argument("--wait", action="store_true", help="then wait for it, like `wait`")
    start.set_defaults(handler=_handler(_start))

    wait = actions.add_parser(
        "wait", parents=[common, waiting], help="wait for an update to finish, showing progress"
    )
    wait.add_argument("--update-id", help="default: the latest update")
    wait.set_defaults(handler=_handler(_wait))

    events = actions.add_parser("events", parents=[common, output], help="print the event log of an update")
    events.add_argument("--all-updates", action="store_true", help="events of every update, not one")
    events.add_argument(
        "--level",
        action="append",
        choices=("INFO", "WARN", "ERROR", "METRICS"),
        help="only these levels (repeatable)",
    )
    events.add_argument("--limit", type=int, default=50, help="newest N events (default 50)")
    events.set_defaults(handler=_handler(_events))

    quality = actions.add_parser(
        "quality",
        parents=[common, output],
        help="print rows written / dropped per flow and expectation results of an update",
    )
    quality.set_defaults(handler=_handler(_quality))


def _handler(action: Action) -> Callable[[argparse.Namespace], int]:
    """Connect, find the pipeline, run ``action``; turn known failures into a message + exit code."""

    def handle(args: argparse.Namespace) -> int:
        console = Console(highlight=False)
        errors = Console(stderr=True, highlight=False, soft_wrap=True)
        try:
            w = workspace_client(
                ConnectionOptions(
                    profile=args.profile,
                    host=args.host,
                    http_timeout_seconds=args.http_timeout,
                    retry_timeout_seconds=args.retry_timeout,
                )
            )
            if args.pipeline_id:
                pipeline = PipelineRef(pipeline_id=args.pipeline_id, name=args.pipeline_id)
            else:
                pipeline = find_pipeline(w, deployed_pipeline_name(w, args.resource, args.target))
            return action(w, pipeline, args, console)
        except WaitTimeout as error:
            errors.print(f"timeout: {error}", markup=False)
            return EXIT_TIMEOUT
        except OpsError as error:
            errors.print(f"error: {error}", markup=False)
            return EXIT_FAILED
        except DatabricksError as error:
            code = f" {error.error_code}" if error.error_code else ""
            errors.print(f"error: the workspace answered{code}: {error}", markup=False)
            return EXIT_FAILED
        except TimeoutError as error:  # the SDK gave up retrying (slow or unreachable workspace)
            cause = f" ({error.__cause__})" if error.__cause__ else ""
            errors.print(f"error: no answer from the workspace: {error}{cause}", markup=False)
            return EXIT_FAILED

    return handle


def _start(w: WorkspaceClient, pipeline: PipelineRef, args: argparse.Namespace, console: Console) -> int:
    update_id = start_update(w, pipeline.pipeline_id, full_refresh=args.full_refresh)
    console.print(
        f"started update {update_id} of {pipeline.name} ({pipeline.pipeline_id})"
        f"{' with full refresh' if args.full_refresh else ''}",
        markup=False,
    )
    if not args.wait:
        return EXIT_OK
    return _wait_for(w, pipeline, update_id, args, console)


def _wait(w: WorkspaceClient, pipeline: PipelineRef, args: argparse.Namespace, console: Console) -> int:
    update_id = args.update_id or latest_update_id(w, pipeline.pipeline_id)
    return _wait_for(w, pipeline, update_id, args, console)


def _wait_for(
    w: WorkspaceClient, pipeline: PipelineRef, update_id: str, args: argparse.Namespace, console: Console
) -> int:
    continuous = is_continuous(w, pipeline.pipeline_id)
    with console.status(f"update {update_id}: waiting") as spinner:

        def on_state(status: UpdateStatus) -> None:
            state = status.state.value if status.state else "UNKNOWN"
            spinner.update(f"update {update_id}: {state}")
            console.print(f"update {update_id}: {state}", markup=False)

        final = wait_for_update(
            w,
            pipeline.pipeline_id,
            update_id,
            timeout_seconds=args.timeout,
            poll_seconds=args.poll_interval,
            until_running=continuous,
            on_state=on_state,
        )
    if final.state == UpdateInfoState.COMPLETED:
        return EXIT_OK
    if final.state == UpdateInfoState.RUNNING and continuous:
        console.print(
            f"{pipeline.name} is continuous: update {update_id} is RUNNING and keeps running", markup=False
        )
        return EXIT_OK
    errors = ev.recent_events(
        w, pipeline.pipeline_id, limit=20, filter=ev.event_filter(update_id=update_id, levels=["ERROR"])
    )
    if errors:
        console.print(render.events_table(errors, f"errors of update {update_id}"))
    return EXIT_FAILED


def _events(w: WorkspaceClient, pipeline: PipelineRef, args: argparse.Namespace, console: Console) -> int:
    update_id = None if args.all_updates else (args.update_id or latest_update_id(w, pipeline.pipeline_id))
    found = ev.recent_events(
        w,
        pipeline.pipeline_id,
        limit=args.limit,
        filter=ev.event_filter(update_id=update_id, levels=args.level),
    )
    if args.format == "json":
        render.print_json(console, [dataclasses.asdict(e) for e in found])
    else:
        scope = f"update {update_id}" if update_id else "all updates"
        console.print(render.events_table(found, f"{pipeline.name}: events of {scope}"))
    return EXIT_OK


def _quality(w: WorkspaceClient, pipeline: PipelineRef, args: argparse.Namespace, console: Console) -> int:
    update_id = args.update_id or latest_update_id(w, pipeline.pipeline_id)
    found = list(ev.iter_events(w, pipeline.pipeline_id, filter=ev.event_filter(update_id=update_id)))
    flows, expectations = ev.flow_metrics(found), ev.expectation_metrics(found)
    if args.format == "json":
        render.print_json(console, {"update_id": update_id, "flows": flows, "expectations": expectations})
    else:
        for table in render.quality_tables(flows, expectations, f"{pipeline.name} update {update_id}"):
            console.print(table)
    return EXIT_OK
