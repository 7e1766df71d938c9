"""A bundle pipeline resource loaded for a local run (see :mod:`localdlt.bundle`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localdlt.bundle.interpolation import Resolver, as_conf_string
from localdlt.bundle.libraries import library_files, local_path
from localdlt.bundle.targets import open_pipeline


@dataclass(frozen=True)
class PipelineResource:
    """One pipeline of a bundle, resolved for a target, ready for a local run.

    ``libraries`` are existing ``.py`` / ``.sql`` files in a stable order (resource order, then
    sorted path order inside a glob); ``root_path`` is ``None`` when the resource sets none.
    """

    key: str
    name: str
    target: str | None
    bundle_root: Path
    resource_file: Path
    libraries: list[Path]
    configuration: dict[str, str]
    root_path: Path | None
    catalog: str | None = None
    schema: str | None = None
    continuous: bool = False
    settings: dict[str, Any] = field(default_factory=dict, repr=False)


def load_pipeline_resource(
    path: Path,
    *,
    target: str | None = None,
    overrides: Mapping[str, str] | None = None,
    key: str | None = None,
) -> PipelineResource:
    """Load the pipeline defined in bundle resource file ``path`` for ``target``.

    ``target`` defaults to the target marked ``default: true`` (or none when the bundle has no
    targets). ``key`` picks a pipeline when the file defines several. ``overrides``: see the
    module docstring (``var.NAME``, ``workspace.KEY``, otherwise a configuration key).

    >>> r = load_pipeline_resource(Path("resources/orders.pipeline.yml"), target="dev")  # doctest: +SKIP
    >>> r.configuration["orders.source"]  # doctest: +SKIP
    'files'
    """
    opened = open_pipeline(path, target=target, key=key)
    path, settings = opened.resource_file, opened.settings
    overrides = dict(overrides or {})
    var_overrides = {k[len("var."):]: v for k, v in overrides.items() if k.startswith("var.")}
    workspace_overrides = {
        k[len("workspace."):]: v for k, v in overrides.items() if k.startswith("workspace.")
    }
    conf_overrides = {k: v for k, v in overrides.items() if not k.startswith(("var.", "workspace."))}

    resolver = Resolver.for_pipeline(
        opened, var_overrides=var_overrides, workspace_overrides=workspace_overrides
    )
    configuration: dict[str, str] = {}
    for conf_key, raw in (settings.get("configuration") or {}).items():
        conf_key = str(conf_key)
        if conf_key in conf_overrides:
            continue  # replaced below: never resolve a value the caller overrides
        configuration[conf_key] = as_conf_string(resolver.resolve(raw, f"configuration[{conf_key!r}]"))
    configuration.update(conf_overrides)

    base = path.parent  # the CLI resolves relative paths against the file that defines them
    root_path = settings.get("root_path")
    resolved_root = local_path(base, resolver.resolve(root_path, "root_path")) if root_path else None
    libraries = library_files(settings.get("libraries") or [], base, resolver, path)
    name = str(resolver.resolve(settings.get("name", opened.key), "name"))
    return PipelineResource(
        key=opened.key,
        name=name,
        target=opened.target,
        bundle_root=opened.bundle_root,
        resource_file=path,
        libraries=libraries,
        configuration=configuration,
        root_path=resolved_root,
        catalog=_optional_str(resolver.try_resolve(settings.get("catalog"))),
        schema=_optional_str(resolver.try_resolve(settings.get("schema") or settings.get("target"))),
        # mode: development makes every pipeline triggered (the CLI's development presets)
        continuous=as_conf_string(resolver.try_resolve(settings.get("continuous", False))) == "true"
        and opened.target_config.get("mode") != "development",
        settings=settings,
    )


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)
