"""``${...}`` references of a bundle resolved the way the Databricks CLI resolves them, as far as
that is possible without a workspace (see :mod:`localdlt.bundle`): ``${var.NAME}``,
``${bundle.name}``/``${bundle.target}`` and ``${workspace.*}``; anything else raises
:class:`~localdlt.bundle.errors.BundleError` naming the reference, where it was used and how to
supply it."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from localdlt.bundle.errors import BundleError, did_you_mean
from localdlt.bundle.targets import BundlePipeline, deep_merge

ENV_VAR_PREFIX = "BUNDLE_VAR_"

# A service principal's user name.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# ${a.b.c} or ${a.b[0]}: the CLI's reference syntax (libs/dyn/dynvar).
_REFERENCE = re.compile(r"\$\{([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*|\[\d+\])*)\}")


class Resolver:
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
        self.workspace = deep_merge(bundle.get("workspace") or {}, target_config.get("workspace") or {})
        self.workspace.update(_unflatten(workspace_overrides))
        self.variables = bundle.get("variables") or {}
        self.where_file = where_file
        self._resolving: list[str] = []

    @classmethod
    def for_pipeline(
        cls,
        opened: BundlePipeline,
        *,
        var_overrides: Mapping[str, str] | None = None,
        workspace_overrides: Mapping[str, str] | None = None,
    ) -> Resolver:
        """The resolver of an opened pipeline's values (errors name its resource file)."""
        return cls(
            bundle=opened.bundle, bundle_root=opened.bundle_root, target=opened.target,
            target_config=opened.target_config, var_overrides=dict(var_overrides or {}),
            workspace_overrides=dict(workspace_overrides or {}), where_file=opened.resource_file,
        )

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
        return _REFERENCE.sub(lambda m: as_conf_string(self._lookup(m.group(1), where)), value)

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
                f"{did_you_mean(name, self.variables)}"
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
                raise BundleError(
                    f"${{var.{name}.{sub}}} in {self._where(where)}: no field {part!r} in variable {name!r}"
                )
            value = value[part]
        return value

    def _bundle_field(self, name: str, where: str) -> Any:
        if name == "target":
            if self.target is None:
                raise self._unresolvable(
                    "bundle.target", where, "the bundle has no targets and none was given"
                )
            return self.target
        bundle_section = deep_merge(self.bundle.get("bundle") or {}, self.target_config.get("bundle") or {})
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
                bundle_name, target = self._bundle_field("name", where), self._bundle_field("target", where)
                return f"/Workspace/Users/{user}/.bundle/{bundle_name}/{target}"
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


def short_user_name(user_name: str, display_name: str | None = None) -> str:
    """The CLI's ``workspace.current_user.short_name``: the e-mail's local part, normalised.

    Lower-case, every character that is not a letter or digit becomes ``_``, runs of ``_``
    collapse, leading / trailing ``_`` go (databricks/cli ``libs/textutil.NormalizeString``).
    A service principal (its user name is a UUID) uses its display name.

    >>> short_user_name("Ana.Souza@example.com")
    'ana_souza'
    """
    name = user_name
    if display_name and _UUID.fullmatch(user_name):
        name = display_name
    local = name.split("@", 1)[0].lower()
    normalised = "".join(ch if ch.isalpha() or ch.isdigit() else "_" for ch in local)
    return re.sub(r"_+", "_", normalised).strip("_")


def as_conf_string(value: Any) -> str:
    """Pipeline configuration is string -> string; YAML may give numbers or booleans."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        raise BundleError(f"configuration values must be scalars, got {value!r}")
    return "" if value is None else str(value)


def _unflatten(flat: dict[str, str]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for dotted, value in flat.items():
        node = nested
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested


def _how_to_set_var(name: str) -> str:
    return f"set it with --conf var.{name}=VALUE or the environment variable {ENV_VAR_PREFIX}{name}"


def _one_line(value: Any) -> str:
    return ", ".join(f"{k}: {v}" for k, v in value.items()) if isinstance(value, dict) else str(value)
