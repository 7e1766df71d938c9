"""The ``dbutils`` global of pipeline files; only ``dbutils.secrets`` has a local meaning."""

from __future__ import annotations

import os
import re

from localdlt.errors import MissingSecretError

SECRET_ENV_PREFIX = "LOCALDLT_SECRET_"


def secret_env_var(scope: str, key: str) -> str:
    """``LOCALDLT_SECRET_<SCOPE>_<KEY>``: upper-case, every non-alphanumeric character → ``_``."""
    return SECRET_ENV_PREFIX + re.sub(r"[^A-Za-z0-9]", "_", f"{scope}_{key}").upper()


class _Secrets:
    def get(self, scope: str, key: str) -> str:
        """The secret from the environment; the error names the variable, never a value."""
        var = secret_env_var(scope, key)
        value = os.environ.get(var)
        if value is None:
            raise MissingSecretError(
                f"secret '{key}' of scope '{scope}' is not set: export {var}",
                params={"scope": scope, "key": key, "env_var": var},
            )
        return value

    def getBytes(self, scope: str, key: str) -> bytes:  # noqa: N802 - Databricks' name
        return self.get(scope, key).encode()


class DBUtils:
    """What ``dbutils`` offers to a pipeline run locally."""

    def __init__(self) -> None:
        self.secrets = _Secrets()
