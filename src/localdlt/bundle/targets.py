"""Open a pipeline of a bundle for a target: find ``databricks.yml``, pick the target (the one
given, else the ``default: true`` one), pick the pipeline of the resource file and merge the
target's overrides of it (``targets.<T>.resources.pipelines.<key>``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from localdlt.bundle.errors import BundleError, did_you_mean

BUNDLE_FILE_NAMES = ("databricks.yml", "databricks.yaml", "bundle.yml", "bundle.yaml")


@dataclass(frozen=True)
class BundlePipeline:
    """A pipeline resource opened for a target, its values not yet resolved.

    ``resource_file`` is resolved; ``bundle`` is the parsed ``databricks.yml``; ``target_config``
    is ``targets.<target>`` (empty without a target); ``settings`` the pipeline's fields with the
    target's overrides merged in.
    """

    resource_file: Path
    bundle_root: Path
    bundle: dict[str, Any]
    target: str | None
    target_config: dict[str, Any]
    key: str
    settings: dict[str, Any]


def open_pipeline(
    path: Path | str, *, target: str | None = None, key: str | None = None
) -> BundlePipeline:
    """Open pipeline ``key`` (the only one when None) of resource file ``path`` for ``target``."""
    path, bundle_root, bundle = open_resource(path)
    target = pick_target(bundle, target)
    target_config = ((bundle.get("targets") or {}).get(target) or {}) if target else {}
    key, settings = pick_pipeline(path, key, target_config)
    return BundlePipeline(path, bundle_root, bundle, target, target_config, key, settings)


def find_bundle_root(start: Path) -> Path:
    """The nearest folder at or above ``start`` holding ``databricks.yml``.

    >>> find_bundle_root(Path("resources/orders.pipeline.yml"))  # doctest: +SKIP
    PosixPath('/work/main')
    """
    start = start.resolve()
    for folder in [start, *start.parents] if start.is_dir() else list(start.parents):
        if any((folder / name).is_file() for name in BUNDLE_FILE_NAMES):
            return folder
    folder = start if start.is_dir() else start.parent
    raise BundleError(f"no databricks.yml found in {folder} or any parent folder")


def open_resource(path: Path | str) -> tuple[Path, Path, dict[str, Any]]:
    """The resolved resource path, its bundle's root folder and the parsed ``databricks.yml``."""
    path = Path(path)
    if not path.is_file():
        raise BundleError(f"bundle resource file not found: {path}")
    path = path.resolve()
    bundle_root = find_bundle_root(path)
    return path, bundle_root, read_yaml(_bundle_file(bundle_root))


def pick_target(bundle: dict[str, Any], target: str | None) -> str | None:
    """``target`` checked against the bundle's targets, else its default target (or None)."""
    targets = bundle.get("targets") or {}
    if target is not None:
        if target not in targets:
            known = ", ".join(sorted(targets)) or "none"
            raise BundleError(f"unknown target {target!r} (targets: {known}){did_you_mean(target, targets)}")
        return target
    defaults = [name for name, spec in targets.items() if (spec or {}).get("default") is True]
    if len(defaults) > 1:
        raise BundleError(f"several targets are marked default: {', '.join(defaults)}")
    if defaults:
        return defaults[0]
    if len(targets) == 1:
        return next(iter(targets))
    if targets:
        raise BundleError(f"no default target: choose one of {', '.join(sorted(targets))}")
    return None


def pick_pipeline(path: Path, key: str | None, target_config: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The pipeline ``key`` of resource file ``path`` with the target's overrides merged in."""
    pipelines = dict(((read_yaml(path).get("resources") or {}).get("pipelines")) or {})
    if not pipelines:
        raise BundleError(f"{path} defines no resources.pipelines entry")
    if key is None:
        if len(pipelines) > 1:
            names = ", ".join(sorted(pipelines))
            raise BundleError(f"{path} defines several pipelines ({names}): choose one with key=")
        key = next(iter(pipelines))
    if key not in pipelines:
        raise BundleError(f"{path} defines no pipeline {key!r}{did_you_mean(key, pipelines)}")
    settings = pipelines[key] or {}
    # A target may override any field of a resource (targets.<T>.resources.pipelines.<key>).
    target_settings = ((target_config.get("resources") or {}).get("pipelines") or {}).get(key)
    if target_settings:
        settings = deep_merge(settings, target_settings)
    return key, settings


def read_yaml(path: Path) -> dict[str, Any]:
    """A YAML file that must hold a mapping (empty file: ``{}``)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise BundleError(f"{path} is not valid YAML: {error}") from error
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BundleError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` merged in, mappings merged key by key (as the CLI merges targets)."""
    merged = dict(base)
    for k, v in override.items():
        merged[k] = deep_merge(merged[k], v) if isinstance(v, dict) and isinstance(merged.get(k), dict) else v
    return merged


def _bundle_file(root: Path) -> Path:
    for name in BUNDLE_FILE_NAMES:
        if (root / name).is_file():
            return root / name
    raise BundleError(f"no databricks.yml in {root}")  # pragma: no cover - find_bundle_root checked
