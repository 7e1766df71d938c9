"""The registry that decorators write into, made active by a context manager (a ContextVar)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from localdlt.definitions import Dataset, EventHook, Flow
from localdlt.errors import DefinedOutsidePipelineError, DuplicateDatasetError, DuplicateFlowError


class Registry:
    """The datasets and flows of one pipeline, in definition order."""

    def __init__(self) -> None:
        self.datasets: dict[str, Dataset] = {}
        self.flows: dict[str, Flow] = {}
        self.hooks: list[EventHook] = []

    def register_dataset(self, dataset: Dataset) -> None:
        """Add a dataset; a second dataset of the same name is an error naming both places."""
        previous = self.datasets.get(dataset.name)
        if previous is not None:
            raise DuplicateDatasetError(
                f"dataset '{dataset.name}' is defined twice (first at {previous.location})",
                params={"dataset": dataset.name, "first": str(previous.location)},
                location=dataset.location,
            )
        self.datasets[dataset.name] = dataset

    def register_flow(self, flow: Flow) -> None:
        """Add a flow; flow names are unique in a pipeline."""
        previous = self.flows.get(flow.name)
        if previous is not None:
            raise DuplicateFlowError(
                f"flow '{flow.name}' is defined twice (first at {previous.location})",
                params={"flow": flow.name, "first": str(previous.location)},
                location=flow.location,
            )
        self.flows[flow.name] = flow

    def register_hook(self, hook: EventHook) -> None:
        """Add an event hook (hooks run in definition order)."""
        self.hooks.append(hook)

    def flows_into(self, target: str) -> list[Flow]:
        """The flows writing into ``target``, in definition order."""
        return [flow for flow in self.flows.values() if flow.target == target]


_active: ContextVar[Registry | None] = ContextVar("localdlt_registry", default=None)


@contextmanager
def registration_context(registry: Registry) -> Iterator[Registry]:
    """Make ``registry`` the one that ``dlt``/``dp`` calls write into while the block runs."""
    token = _active.set(registry)
    try:
        yield registry
    finally:
        _active.reset(token)


def active_registry() -> Registry:
    """The active registry, or a clear error when a definition is made outside a pipeline."""
    registry = _active.get()
    if registry is None:
        raise DefinedOutsidePipelineError(
            "datasets and flows can only be defined while localdlt loads a pipeline "
            "(run it with `localdlt run` or localdlt.runner.run_update)"
        )
    return registry
