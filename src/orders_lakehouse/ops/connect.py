"""Connect to the workspace and find the pipeline a bundle target deployed."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from databricks.sdk import WorkspaceClient
from databricks.sdk.config import Config

from localdlt.bundle import BundleError, short_user_name
from orders_lakehouse.ops.deployed import describe_deployed_pipeline

log = logging.getLogger(__name__)


class OpsError(RuntimeError):
    """An operation on the workspace cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class ConnectionOptions:
    """How to reach the workspace: profile / host as the Databricks CLI takes them, and timeouts."""

    profile: str | None = None
    host: str | None = None
    http_timeout_seconds: float = 60.0
    retry_timeout_seconds: int = 300


@dataclass(frozen=True)
class PipelineRef:
    """A deployed pipeline: its workspace id and name."""

    pipeline_id: str
    name: str


def workspace_client(options: ConnectionOptions) -> WorkspaceClient:
    """A client using the SDK's unified authentication (env vars, ``~/.databrickscfg`` profiles,
    Azure CLI, OAuth ...), with the given timeouts."""
    try:
        config = Config(
            profile=options.profile,
            host=options.host,
            http_timeout_seconds=options.http_timeout_seconds,
            retry_timeout_seconds=options.retry_timeout_seconds,
        )
    except ValueError as error:  # the SDK reports missing / ambiguous credentials as ValueError
        raise OpsError(
            f"cannot authenticate to a Databricks workspace: {error}. "
            "Set DATABRICKS_HOST and DATABRICKS_TOKEN, or pass --profile (see docs/deploy.md)"
        ) from error
    return WorkspaceClient(config=config)


def deployed_pipeline_name(w: WorkspaceClient, resource_file: Path, target: str | None) -> str:
    """The name the bundle gave the pipeline in ``target`` (``[dev <short name>] `` in development
    mode, the short name being the current user's, as the Databricks CLI computes it)."""
    try:
        deployed = describe_deployed_pipeline(resource_file, target=target)
    except BundleError as error:
        raise OpsError(str(error)) from error
    short_name = None
    if deployed.needs_short_name:
        me = w.current_user.me()
        short_name = short_user_name(me.user_name or "", me.display_name)
    return deployed.deployed_name(short_name)


def find_pipeline(w: WorkspaceClient, name: str) -> PipelineRef:
    """The one pipeline called exactly ``name``.

    The list API filters only with ``LIKE`` (``_`` and ``%`` are wildcards there), so it narrows the
    list and the exact match is made here, over every page."""
    # Search on the part after a "[dev user] " prefix: brackets are character classes in some
    # LIKE dialects.
    like = name.rsplit("] ", 1)[-1].replace("'", "''")
    found = [
        PipelineRef(pipeline_id=p.pipeline_id or "", name=p.name or "")
        for p in w.pipelines.list_pipelines(filter=f"name LIKE '%{like}%'", max_results=100)
        if p.name == name
    ]
    if not found:
        raise OpsError(
            f"no pipeline named {name!r} in {w.config.host}: deploy it first "
            "(databricks bundle deploy -t <target>) or check --target / --profile"
        )
    if len(found) > 1:
        ids = ", ".join(p.pipeline_id for p in found)
        raise OpsError(f"{len(found)} pipelines are named {name!r} ({ids}): pass --pipeline-id")
    log.debug("pipeline %r is %s", name, found[0].pipeline_id)
    return found[0]
