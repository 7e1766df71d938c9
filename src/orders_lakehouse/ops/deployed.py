"""How a bundle pipeline is named once ``databricks bundle deploy`` has deployed it to a target,
to find it in the workspace: ``mode: development`` (or ``presets.name_prefix``) prefixes the name.
Reading the bundle is :mod:`localdlt.bundle`'s job; the naming rules are the workspace's."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from localdlt.bundle import BundleError, Resolver, deep_merge, open_pipeline

SHORT_NAME_REFERENCE = "${workspace.current_user.short_name}"
# What `mode: development` sets as presets.name_prefix (databricks/cli apply_target_mode.go).
DEV_NAME_PREFIX = f"[dev {SHORT_NAME_REFERENCE}] "


@dataclass(frozen=True)
class DeployedPipeline:
    """How a bundle pipeline is named once deployed to a target (for finding it in a workspace)."""

    key: str
    name: str
    target: str | None
    mode: str | None
    name_prefix: str

    def deployed_name(self, short_name: str | None = None) -> str:
        """The workspace name: ``mode: development`` (or ``presets.name_prefix``) prefixes it.

        >>> DeployedPipeline("orders", "etl", "dev", "development", DEV_NAME_PREFIX).deployed_name("ana")
        '[dev ana] etl'
        """
        prefix = self.name_prefix
        if SHORT_NAME_REFERENCE in prefix:
            if short_name is None:
                raise BundleError(
                    f"target {self.target!r} prefixes names with the user's short name: give short_name"
                )
            prefix = prefix.replace(SHORT_NAME_REFERENCE, short_name)
        return prefix + self.name

    @property
    def needs_short_name(self) -> bool:
        """Whether :meth:`deployed_name` needs the current user's short name."""
        return SHORT_NAME_REFERENCE in self.name_prefix


def describe_deployed_pipeline(
    path: Path, *, target: str | None = None, key: str | None = None
) -> DeployedPipeline:
    """Name, target and mode of the pipeline in resource file ``path``, without resolving its
    configuration (a production target may need variables only a deploy supplies).

    >>> describe_deployed_pipeline(  # doctest: +SKIP
    ...     Path("resources/orders.pipeline.yml"), target="prod").name
    'orders_lakehouse_etl'
    """
    opened = open_pipeline(path, target=target, key=key)
    resolver = Resolver.for_pipeline(opened)
    presets = deep_merge(opened.bundle.get("presets") or {}, opened.target_config.get("presets") or {})
    mode = opened.target_config.get("mode")
    prefix = presets.get("name_prefix")
    if prefix is None:
        prefix = DEV_NAME_PREFIX if mode == "development" else ""
    return DeployedPipeline(
        key=opened.key, name=str(resolver.resolve(opened.settings.get("name", opened.key), "name")),
        target=opened.target, mode=mode, name_prefix=str(prefix),
    )
