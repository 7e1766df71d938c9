"""Entry point of the Databricks App (``app.yaml``: ``python databricks_app.py``).

Databricks Apps deploys this folder on its own, without the rest of the ``orders_lakehouse``
package; serving imports nothing outside ``orders_lakehouse.serving``, so when the package is not
installed this folder is registered as ``orders_lakehouse.serving`` and the app runs from it.
Listens on ``0.0.0.0:$DATABRICKS_APP_PORT`` (set by the Apps runtime).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _register_folder_as_package() -> None:
    """Make ``orders_lakehouse.serving`` importable from this folder when it is not installed."""
    try:
        import orders_lakehouse.serving  # noqa: F401  (installed: nothing to do)

        return
    except ModuleNotFoundError:
        pass
    parent = types.ModuleType("orders_lakehouse")
    parent.__path__ = []  # a bare parent: only .serving is provided
    sys.modules["orders_lakehouse"] = parent
    spec = importlib.util.spec_from_file_location(
        "orders_lakehouse.serving", HERE / "__init__.py", submodule_search_locations=[str(HERE)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["orders_lakehouse.serving"] = module
    spec.loader.exec_module(module)
    # This folder holds modules such as settings.py and models.py: keep them off the top level.
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]


def main() -> None:
    """Build the app from the environment and serve it with uvicorn."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    _register_folder_as_package()
    import uvicorn

    from orders_lakehouse.serving.app import create_app_from_env

    uvicorn.run(
        create_app_from_env(), host="0.0.0.0", port=int(os.environ.get("DATABRICKS_APP_PORT", "8000"))
    )


if __name__ == "__main__":
    main()
