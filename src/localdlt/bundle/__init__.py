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

This package is generic: it knows nothing about the orders pipeline. Modules:
:mod:`~localdlt.bundle.targets` (find ``databricks.yml``, pick the target and the pipeline, merge
the target's overrides), :mod:`~localdlt.bundle.interpolation` (``${...}`` references),
:mod:`~localdlt.bundle.libraries` (``libraries`` entries to source files),
:mod:`~localdlt.bundle.resource` (all of it as one :class:`PipelineResource`).

Example::

    resource = load_pipeline_resource(Path("resources/orders.pipeline.yml"), target="dev",
                                      overrides={"orders.source": "files"})
    resource.libraries      # [Path(".../transformations/bronze_order_events.py"), ...]
    resource.configuration  # {"orders.source": "files", ...}
"""

from localdlt.bundle.errors import BundleError
from localdlt.bundle.interpolation import ENV_VAR_PREFIX, Resolver, short_user_name
from localdlt.bundle.libraries import SOURCE_SUFFIXES
from localdlt.bundle.resource import PipelineResource, load_pipeline_resource
from localdlt.bundle.targets import (
    BUNDLE_FILE_NAMES,
    BundlePipeline,
    deep_merge,
    find_bundle_root,
    open_pipeline,
)

__all__ = [
    "BUNDLE_FILE_NAMES",
    "ENV_VAR_PREFIX",
    "SOURCE_SUFFIXES",
    "BundleError",
    "BundlePipeline",
    "PipelineResource",
    "Resolver",
    "deep_merge",
    "find_bundle_root",
    "load_pipeline_resource",
    "open_pipeline",
    "short_user_name",
]
