"""Stable error classes of the local runtime.

Every error carries a stable ``error_class`` (like Spark's error conditions), a dict of
``params`` and, when it is about a definition, the file and line of that definition, so the
CLI can point at the user's code and tests can assert on the class and its parameters.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from localdlt.definitions import SourceLocation


class LocalDltError(Exception):
    """Base class: ``[ERROR_CLASS] message (at file:line)``."""

    error_class: str = "LOCALDLT_ERROR"

    def __init__(
        self, message: str, *, params: Mapping[str, Any] | None = None, location: SourceLocation | None = None
    ) -> None:
        self.params: dict[str, Any] = dict(params or {})
        self.location = location
        self.detail = message
        where = f" (defined at {location})" if location is not None else ""
        super().__init__(f"[{self.error_class}] {message}{where}")


class PipelineDefinitionError(LocalDltError):
    """Anything wrong with the pipeline's definitions or graph (CLI exit code 3)."""

    error_class = "PIPELINE_DEFINITION_ERROR"


class DefinedOutsidePipelineError(PipelineDefinitionError):
    """A ``dlt``/``dp`` function was called while no pipeline was being loaded."""

    error_class = "GRAPH_ELEMENT_DEFINED_OUTSIDE_OF_DECLARATIVE_PIPELINE"


class InvalidArgumentError(PipelineDefinitionError):
    """A decorator or function got an argument it cannot use; the message names the argument."""

    error_class = "INVALID_ARGUMENT"


class DuplicateDatasetError(PipelineDefinitionError):
    """Two datasets (or two flows) share a name."""

    error_class = "DUPLICATE_DATASET"


class DuplicateFlowError(PipelineDefinitionError):
    """Two flows share a name."""

    error_class = "DUPLICATE_FLOW"


class UnknownDatasetError(PipelineDefinitionError):
    """A query reads a dataset that no file defines."""

    error_class = "UNKNOWN_DATASET"

    @classmethod
    def for_name(
        cls, name: str, known: Iterable[str], *, reader: str | None, location: SourceLocation | None
    ) -> UnknownDatasetError:
        """Build the error with a "did you mean" list of close known names."""
        matches = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.6)
        hint = f"; did you mean one of these: {', '.join(repr(m) for m in matches)}?" if matches else ""
        who = f"flow '{reader}' reads" if reader else "read of"
        return cls(
            f"{who} unknown dataset '{name}'{hint}",
            params={"dataset": name, "reader": reader, "suggestions": matches},
            location=location,
        )


class CircularDependencyError(PipelineDefinitionError):
    """The datasets read each other in a cycle; the cycle is named in order."""

    error_class = "CIRCULAR_DEPENDENCY"

    def __init__(self, cycle: list[str], *, location: SourceLocation | None = None) -> None:
        super().__init__(
            f"datasets read each other in a cycle: {' -> '.join(cycle)}",
            params={"cycle": cycle},
            location=location,
        )


class QueryFunctionReturnError(PipelineDefinitionError):
    """A query function returned something that is not a DataFrame."""

    error_class = "QUERY_FUNCTION_MUST_RETURN_DATAFRAME"


class QueryFunctionActionError(PipelineDefinitionError):
    """A query function ran an action (collect, count, toPandas, start, toTable, save, ...)."""

    error_class = "ACTION_IN_QUERY_FUNCTION"


class InvalidFlowQueryError(PipelineDefinitionError):
    """A flow's query is of the wrong kind for its target (batch into a streaming table, ...)."""

    error_class = "INVALID_FLOW_QUERY_TYPE"


class PipelineLoadError(PipelineDefinitionError):
    """A pipeline file raised while it was being loaded."""

    error_class = "PIPELINE_FILE_LOAD_FAILED"


class QueryFunctionError(PipelineDefinitionError):
    """A flow's query function raised while the graph was planned (a Spark analysis error, a
    missing setting, a bug in the function): the flow, the file and line in the user's code."""

    error_class = "QUERY_FUNCTION_FAILED"


def line_in(exc: BaseException, filename: str) -> int:
    """The line of ``filename`` nearest to where ``exc`` was raised (its innermost traceback frame
    in that file), 0 when the traceback never passed through it."""
    line = 0
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


class MissingSecretError(LocalDltError):
    """``dbutils.secrets.get`` found no environment variable for the key (the value is never shown)."""

    error_class = "SECRET_NOT_FOUND"


class ExpectationViolationError(LocalDltError):
    """An ``expect_or_fail`` rule was violated: the Databricks message shape."""

    error_class = "EXPECTATION_VIOLATION"

    def __init__(self, flow: str, rules: list[str], input_json: str) -> None:
        self.params = {"flow": flow, "rules": rules, "input": input_json}
        self.location = None
        self.detail = (
            f"[EXPECTATION_VIOLATION.VERBOSITY_ALL] Flow '{flow}' failed to meet the expectation. "
            f"Violated expectations: '{', '.join(rules)}'. Input data: '{input_json}'"
        )
        Exception.__init__(self, self.detail)


class ConcurrentUpdateError(LocalDltError):
    """Another update holds the storage lock (CLI exit code 4)."""

    error_class = "CONCURRENT_UPDATE"
