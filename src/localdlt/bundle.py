"""Read a Databricks bundle pipeline resource (``resources/<x>.pipeline.yml``) for a local run.

``localdlt run --bundle-pipeline FILE --target T`` runs exactly what ``databricks bundle deploy``
would deploy: the resource's ``libraries`` (``file``, ``notebook`` and ``glob`` entries, resolved
relative to the resource file as the Databricks CLI does), its ``configuration`` and its
``root_path``. ``${...}`` references are resolved the way the CLI resolves them, as far as that
is possible without a workspace:

* ``${var.NAME}``: ``databricks.yml`` ``variables.NAME.default``, overridden by
  ``targets.<T>.variables.NAME``, then by the environment variable ``BUNDLE_VAR_NAME`` (the CLI's
  own convention), then by an override ``var.NAME=VALUE`` passed in ``overrides``.
* ``${bundle.name}``, ``${bundle.target}``.
* ``${workspace.*}``: values set in ``databricks.yml`` (top level merged with the target), plus
  ``file_path`` derived from ``root_path`` as the CLI derives it, plus anything passed in
  ``overrides`` as ``workspace.KEY=VALUE`` (for example ``workspace.current_user.short_name``).

Any other ``overrides`` entry ``KEY=VALUE`` replaces configuration key ``KEY`` (``--conf``); a key
that is overridden is not resolved, so an unresolvable value can be replaced from the command
line. What cannot be resolved raises :class:`BundleError` naming the reference, where it was
used and how to supply it.

This module is generic: it knows nothing about the orders pipeline.

Example::

    resource = load_pipeline_resource(Path("resources/orders.pipeline.yml"), target="dev",
                                      overrides={"orders.source": "files"})
    resource.libraries      # [Path(".../transformations/bronze_order_events.py"), ...]
    resource.configuration  # {"orders.source": "files", ...}
"""

from __future__ import annotations

import difflib
import glob
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from localdlt.errors import PipelineDefinitionError

log = logging.getLogger(__name__)

BUNDLE_FILE_NAMES = ("databricks.yml", "databricks.yaml", "bundle.yml", "bundle.yaml")
SOURCE_SUFFIXES = (".py", ".sql")
ENV_VAR_PREFIX = "BUNDLE_VAR_"

# ${a.b.c} or ${a.b[0]}: the CLI's reference syntax (libs/dyn/dynvar).
_REFERENCE = re.compile(r"\$\{([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*|\[\d+\])*)\}")


class BundleError(PipelineDefinitionError, ValueError):
    """A bundle file cannot be read, or a value in it cannot be resolved locally.

    A :class:`~localdlt.errors.PipelineDefinitionError`, so ``localdlt run`` reports it as one
    (message, exit code 3); also a ``ValueError`` for callers outside localdlt."""

    error_class = "BUNDLE_CONFIGURATION"


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


def find_bundle_root(start: Path) -> Path:
    """The nearest folder at or above ``start`` holding ``databricks.yml``.

    >>> find_bundle_root(Path("resources/orders.pipeline.yml"))  # doctest: +SKIP
    PosixPath('/work/main')
    """
    start = start.resolve()
    for folder in [start, *start.parents] if start.is_dir() else list(start.parents):
        if any((folder / name).is_file() for name in BUNDLE_FILE_NAMES):
            return folder
    raise BundleError(f"no databricks.yml found in {start if start.is_dir() else start.parent} or any parent folder")


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
    path, bundle_root, bundle = _open_resource(path)
    overrides = dict(overrides or {})
    var_overrides = {k[len("var."):]: v for k, v in overrides.items() if k.startswith("var.")}
    workspace_overrides = {k[len("workspace."):]: v for k, v in overrides.items() if k.startswith("workspace.")}
    conf_overrides = {k: v for k, v in overrides.items() if not k.startswith(("var.", "workspace."))}

    target = _pick_target(bundle, target)
    target_config = ((bundle.get("targets") or {}).get(target) or {}) if target else {}
    key, settings = _pick_pipeline(path, key, target_config)

    resolver = _Resolver(
        bundle=bundle,
        bundle_root=bundle_root,
        target=target,
        target_config=target_config,
        var_overrides=var_overrides,
        workspace_overrides=workspace_overrides,
        where_file=path,
    )
    configuration: dict[str, str] = {}
    for conf_key, raw in (settings.get("configuration") or {}).items():
        conf_key = str(conf_key)
        if conf_key in conf_overrides:
            continue  # replaced below: never resolve a value the caller overrides
        configuration[conf_key] = _as_conf_string(resolver.resolve(raw, f"configuration[{conf_key!r}]"))
    configuration.update(conf_overrides)

    base = path.parent  # the CLI resolves relative paths against the file that defines them
    root_path = settings.get("root_path")
    resolved_root = _local_path(base, resolver.resolve(root_path, "root_path")) if root_path else None
    libraries = _libraries(settings.get("libraries") or [], base, resolver, path)
    name = str(resolver.resolve(settings.get("name", key), "name"))
    return PipelineResource(
        key=key,
        name=name,
        target=target,
        bundle_root=bundle_root,
        resource_file=path,
        libraries=libraries,
        configuration=configuration,
        root_path=resolved_root,
        catalog=_optional_str(resolver.try_resolve(settings.get("catalog"))),
        schema=_optional_str(resolver.try_resolve(settings.get("schema") or settings.get("target"))),
        # mode: development makes every pipeline triggered (the CLI's development presets)
        continuous=_as_conf_string(resolver.try_resolve(settings.get("continuous", False))) == "true"
        and target_config.get("mode") != "development",
        settings=settings,
    )


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
        if _SHORT_NAME_REFERENCE in prefix:
            if short_name is None:
                raise BundleError(f"target {self.target!r} prefixes names with the user's short name: give short_name")
            prefix = prefix.replace(_SHORT_NAME_REFERENCE, short_name)
        return prefix + self.name

    @property
    def needs_short_name(self) -> bool:
        """Whether :meth:`deployed_name` needs the current user's short name."""
        return _SHORT_NAME_REFERENCE in self.name_prefix


_SHORT_NAME_REFERENCE = "${workspace.current_user.short_name}"
# What `mode: development` sets as presets.name_prefix (databricks/cli apply_target_mode.go).
DEV_NAME_PREFIX = f"[dev {_SHORT_NAME_REFERENCE}] "


def describe_deployed_pipeline(path: Path, *, target: str | None = None, key: str | None = None) -> DeployedPipeline:
    """Name, target and mode of the pipeline in resource file ``path``, without resolving its
    configuration (a production target may need variables only a deploy supplies).

    >>> describe_deployed_pipeline(Path("resources/orders.pipeline.yml"), target="prod").name  # doctest: +SKIP
    'orders_lakehouse_etl'
    """
    path, bundle_root, bundle = _open_resource(path)
    target = _pick_target(bundle, target)
    target_config = ((bundle.get("targets") or {}).get(target) or {}) if target else {}
    key, settings = _pick_pipeline(path, key, target_config)
    resolver = _Resolver(
        bundle=bundle, bundle_root=bundle_root, target=target, target_config=target_config,
        var_overrides={}, workspace_overrides={}, where_file=path,
    )
    presets = _deep_merge(bundle.get("presets") or {}, target_config.get("presets") or {})
    mode = target_config.get("mode")
    prefix = presets.get("name_prefix")
    if prefix is None:
        prefix = DEV_NAME_PREFIX if mode == "development" else ""
    return DeployedPipeline(
        key=key, name=str(resolver.resolve(settings.get("name", key), "name")), target=target, mode=mode,
        name_prefix=str(prefix),
    )


def _pick_pipeline(path: Path, key: str | None, target_config: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The pipeline ``key`` of resource file ``path`` with the target's overrides merged in."""
    pipelines = dict(((_read_yaml(path).get("resources") or {}).get("pipelines")) or {})
    if not pipelines:
        raise BundleError(f"{path} defines no resources.pipelines entry")
    if key is None:
        if len(pipelines) > 1:
            raise BundleError(f"{path} defines several pipelines ({', '.join(sorted(pipelines))}): choose one with key=")
        key = next(iter(pipelines))
    if key not in pipelines:
        raise BundleError(f"{path} defines no pipeline {key!r}{_did_you_mean(key, pipelines)}")
    settings = pipelines[key] or {}
    # A target may override any field of a resource (targets.<T>.resources.pipelines.<key>).
    target_settings = ((target_config.get("resources") or {}).get("pipelines") or {}).get(key)
    if target_settings:
        settings = _deep_merge(settings, target_settings)
    return key, settings


def short_user_name(user_name: str, display_name: str | None = None) -> str:
    """The CLI's ``workspace.current_user.short_name``: the e-mail's local part, normalised.

    Lower-case, every character that is not a letter or digit becomes ``_``, runs of ``_``
    collapse, leading / trailing ``_`` go (databricks/cli ``libs/textutil.NormalizeString``).
    A service principal (its user name is a UUID) uses its display name.

    >>> short_user_name("Ana.Souza@example.com")
    'ana_souza'
    """
    name = user_name
    if display_name and re.fullmatch(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", user_name):
        name = display_name
    local = name.split("@", 1)[0].lower()
    normalised = "".join(ch if ch.isalpha() or ch.isdigit() else "_" for ch in local)
    return re.sub(r"_+", "_", normalised).strip("_")


def development_name_prefix(short_name: str) -> str:
    """The name prefix ``mode: development`` gives every resource: ``[dev <short_name>] ``."""
    return f"[dev {short_name}] "


class _Resolver:
    """Resolves ``${...}`` references in strings; remembers what it is resolving to catch cycles."""

    def __init__(
        self,
        *,
        bundle: dict[str, Any],
        bundle_root: Path,
        target: str | None,
        target_config: dict[str, Any],
        var_overrides: dict[str, str],
        workspace_overrides: dict[str, str],
        where_file: Path,
    ) -> None:
        self.bundle = bundle
        self.bundle_root = bundle_root
        self.target = target
        self.target_config = target_config
        self.var_overrides = var_overrides
        self.workspace = _deep_merge(bundle.get("workspace") or {}, target_config.get("workspace") or {})
        self.workspace.update(_unflatten(workspace_overrides))
        self.variables = bundle.get("variables") or {}
        self.where_file = where_file
        self._resolving: list[str] = []

    def try_resolve(self, value: Any) -> Any:
        """``value`` resolved, or ``None`` when something in it cannot be resolved locally."""
        if value is None:
            return None
        try:
            return self.resolve(value, "")
        except BundleError:
            return None

    def resolve(self, value: Any, where: str) -> Any:
        """``value`` with every reference replaced; a string that is one whole reference keeps the
        referenced value's type (as in the CLI), other strings get the value's text."""
        if isinstance(value, dict):
            return {k: self.resolve(v, f"{where}.{k}") for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if not isinstance(value, str):
            return value
        whole = _REFERENCE.fullmatch(value)
        if whole:
            return self._lookup(whole.group(1), where)
        return _REFERENCE.sub(lambda m: _as_conf_string(self._lookup(m.group(1), where)), value)

    def _lookup(self, reference: str, where: str) -> Any:
        if reference in self._resolving:
            chain = " -> ".join(f"${{{r}}}" for r in [*self._resolving, reference])
            raise BundleError(f"cyclic reference {chain} in {self._where(where)}")
        self._resolving.append(reference)
        try:
            head, _, rest = reference.partition(".")
            if head == "var":
                return self._variable(rest, where)
            if head == "bundle":
                return self._bundle_field(rest, where)
            if head == "workspace":
                return self._workspace_field(rest, where)
            raise self._unresolvable(
                reference, where, f"${{{head}.*}} references are known only to a deployed bundle"
            )
        finally:
            self._resolving.pop()

    def _variable(self, name: str, where: str) -> Any:
        name, _, sub = name.partition(".")
        if name not in self.variables:
            raise BundleError(
                f"${{var.{name}}} in {self._where(where)}: databricks.yml declares no variable {name!r}"
                f"{_did_you_mean(name, self.variables)}"
            )
        if name in self.var_overrides:
            value: Any = self.var_overrides[name]
        elif ENV_VAR_PREFIX + name in os.environ:
            value = os.environ[ENV_VAR_PREFIX + name]
        else:
            declared = self.variables[name] or {}
            target_value = (self.target_config.get("variables") or {}).get(name, _MISSING)
            if isinstance(target_value, dict) and ("default" in target_value or "lookup" in target_value):
                declared = {**declared, **target_value}  # the long form: {default: ...} / {lookup: ...}
            elif target_value is not _MISSING:
                declared = {**declared, "default": target_value}
            if "default" in declared:
                value = declared["default"]
            elif "lookup" in declared:
                raise self._unresolvable(
                    f"var.{name}", where,
                    f"variable {name!r} is a lookup ({_one_line(declared['lookup'])}) that needs a workspace;"
                    f" {_how_to_set_var(name)}",
                )
            else:
                raise self._unresolvable(
                    f"var.{name}", where,
                    f"variable {name!r} has no default{self._target_text()} sets none;"
                    f" {_how_to_set_var(name)}",
                )
        value = self.resolve(value, f"{where} via variables.{name}" if where else f"variables.{name}")
        for part in filter(None, sub.split(".")):
            if not isinstance(value, dict) or part not in value:
                raise BundleError(f"${{var.{name}.{sub}}} in {self._where(where)}: no field {part!r} in variable {name!r}")
            value = value[part]
        return value

    def _bundle_field(self, name: str, where: str) -> Any:
        if name == "target":
            if self.target is None:
                raise self._unresolvable("bundle.target", where, "the bundle has no targets and none was given")
            return self.target
        bundle_section = _deep_merge(self.bundle.get("bundle") or {}, self.target_config.get("bundle") or {})
        if name in bundle_section and not isinstance(bundle_section[name], dict):
            return self.resolve(bundle_section[name], f"{where} via bundle.{name}")
        raise self._unresolvable(f"bundle.{name}", where, f"databricks.yml sets no bundle.{name}")

    def _workspace_field(self, name: str, where: str) -> Any:
        value: Any = self.workspace
        for part in name.split("."):
            if isinstance(value, dict) and part in value:
                value = value[part]
                continue
            if name == "file_path":
                # The CLI's default: <root_path>/files.
                return f"{self._workspace_field('root_path', where)}/files"
            if name == "root_path":
                user = self._workspace_field("current_user.userName", where)
                return f"/Workspace/Users/{user}/.bundle/{self._bundle_field('name', where)}/{self._bundle_field('target', where)}"
            if name == "current_user.short_name" and "userName" in (self.workspace.get("current_user") or {}):
                return short_user_name(str(self.workspace["current_user"]["userName"]))
            raise self._unresolvable(
                f"workspace.{name}", where,
                f"it is known only to a deployed bundle; set it with --conf workspace.{name}=VALUE",
            )
        return self.resolve(value, f"{where} via workspace.{name}")

    def _target_text(self) -> str:
        return f" and target {self.target!r}" if self.target else " and no target"

    def _where(self, where: str) -> str:
        try:
            shown = self.where_file.relative_to(self.bundle_root)
        except ValueError:
            shown = self.where_file
        target = f" (target {self.target!r})" if self.target else ""
        return f"{where} of {shown}{target}" if where else f"{shown}{target}"

    def _unresolvable(self, reference: str, where: str, why: str) -> BundleError:
        return BundleError(f"cannot resolve ${{{reference}}} in {self._where(where)}: {why}")


class _Missing:
    pass


_MISSING = _Missing()


def _libraries(entries: list[Any], base: Path, resolver: _Resolver, resource_file: Path) -> list[Path]:
    """Every source file named by the ``libraries`` entries, in order, without duplicates."""
    found: list[Path] = []
    for index, entry in enumerate(entries):
        where = f"libraries[{index}]"
        if not isinstance(entry, dict) or len(entry) != 1:
            raise BundleError(f"{where} of {resource_file}: expected one of glob / file / notebook, got {entry!r}")
        kind, spec = next(iter(entry.items()))
        if kind in ("jar", "maven", "whl"):
            log.warning("%s of %s: %s library ignored by a local run", where, resource_file.name, kind)
            continue
        if kind == "glob":
            pattern = resolver.resolve((spec or {}).get("include"), f"{where}.glob.include")
            matches = _glob_sources(base, str(pattern))
            if not matches:
                raise BundleError(
                    f"{where}.glob.include {pattern!r} of {resource_file} matches no {'/'.join(SOURCE_SUFFIXES)} file"
                )
        elif kind in ("file", "notebook"):
            file = _local_path(base, resolver.resolve((spec or {}).get("path"), f"{where}.{kind}.path"))
            if not file.is_file():
                raise BundleError(f"{where}.{kind}.path of {resource_file}: no such file {file}")
            matches = [file]
        else:
            raise BundleError(f"{where} of {resource_file}: unknown library kind {kind!r}")
        found.extend(m for m in matches if m not in found)
    return found


def _glob_sources(base: Path, pattern: str) -> list[Path]:
    """Source files a ``glob.include`` matches. A trailing ``/**`` means every file below the folder
    (Databricks' folder form); other patterns follow ``glob`` with ``**`` recursive."""
    if pattern.startswith("/"):
        raise BundleError(f"glob {pattern!r} is a workspace path: a local run needs a path relative to the resource file")
    full = str(base / pattern)
    if full.endswith("/**"):
        folder = Path(full[:-3])
        candidates = [p for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []
    else:
        candidates = [Path(p) for p in glob.glob(full, recursive=True) if Path(p).is_file()]
    sources = [
        p.resolve() for p in candidates
        if p.suffix in SOURCE_SUFFIXES and "__pycache__" not in p.parts and not p.name.startswith(".")
    ]
    return sorted(set(sources))


def _local_path(base: Path, value: Any) -> Path:
    text = str(value)
    if text.startswith("/Workspace") or text.startswith("/Volumes") or text.startswith("dbfs:"):
        raise BundleError(f"{text!r} is a workspace path: a local run needs a path relative to the resource file")
    return (base / text).resolve()


def _pick_target(bundle: dict[str, Any], target: str | None) -> str | None:
    targets = bundle.get("targets") or {}
    if target is not None:
        if target not in targets:
            known = ", ".join(sorted(targets)) or "none"
            raise BundleError(f"unknown target {target!r} (targets: {known}){_did_you_mean(target, targets)}")
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


def _bundle_file(root: Path) -> Path:
    for name in BUNDLE_FILE_NAMES:
        if (root / name).is_file():
            return root / name
    raise BundleError(f"no databricks.yml in {root}")  # pragma: no cover - find_bundle_root checked


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise BundleError(f"{path} is not valid YAML: {error}") from error
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BundleError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for k, v in override.items():
        merged[k] = _deep_merge(merged[k], v) if isinstance(v, dict) and isinstance(merged.get(k), dict) else v
    return merged


def _unflatten(flat: dict[str, str]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for dotted, value in flat.items():
        node = nested
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested


def _as_conf_string(value: Any) -> str:
    """Pipeline configuration is string -> string; YAML may give numbers or booleans."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        raise BundleError(f"configuration values must be scalars, got {value!r}")
    return "" if value is None else str(value)


def _how_to_set_var(name: str) -> str:
    return f"set it with --conf var.{name}=VALUE or the environment variable {ENV_VAR_PREFIX}{name}"


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _one_line(value: Any) -> str:
    return ", ".join(f"{k}: {v}" for k, v in value.items()) if isinstance(value, dict) else str(value)


def _did_you_mean(name: str, candidates: Mapping[str, Any] | list[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _open_resource(path: Path | str) -> tuple[Path, Path, dict[str, Any]]:
    """The resolved resource path, its bundle's root folder and the parsed ``databricks.yml``."""
    path = Path(path)
    if not path.is_file():
        raise BundleError(f"bundle resource file not found: {path}")
    path = path.resolve()
    bundle_root = find_bundle_root(path)
    return path, bundle_root, _read_yaml(_bundle_file(bundle_root))
