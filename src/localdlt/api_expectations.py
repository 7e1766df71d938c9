"""The expectation decorators of the ``dlt`` / ``dp`` modules (``expect``, ``expect_or_drop``,
``expect_or_fail`` and their ``_all`` forms, with the parameter names of Databricks' package).
They leave their rules on the query function; the dataset decorator above them collects them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from localdlt.api_args import caller_location, check_dict, check_str
from localdlt.definitions import Expectation, ExpectationAction, QueryFunction
from localdlt.errors import InvalidArgumentError

_EXPECTATIONS_ATTR = "__localdlt_expectations__"


def pending_expectations(func: Callable[..., Any]) -> tuple[Expectation, ...]:
    """The rules the expectation decorators left on ``func``, in the order written."""
    # Expectation decorators sit below the dataset decorator, so they run first and leave their
    # rules on the function; listed top to bottom, as written.
    return tuple(reversed(getattr(func, _EXPECTATIONS_ATTR, ())))


def _expectation_decorator(rules: list[Expectation]) -> Callable[[QueryFunction], QueryFunction]:
    def apply(func: QueryFunction) -> QueryFunction:
        existing = list(getattr(func, _EXPECTATIONS_ATTR, ()))
        # Stored bottom-up (decorators apply bottom-up); reversed when the dataset is built.
        existing.extend(reversed(rules))
        setattr(func, _EXPECTATIONS_ATTR, tuple(existing))
        return func

    return apply


def _one(name: str, inv: Any, action: ExpectationAction) -> Callable[[QueryFunction], QueryFunction]:
    check_str(name, "name", optional=False)
    if inv is None:
        raise InvalidArgumentError(
            "argument 'inv' must be a SQL boolean expression or a Column",
            params={"argument": "inv"},
            location=caller_location(),
        )
    return _expectation_decorator([Expectation(name, inv, action)])


def _all(expectations: dict[str, Any], action: ExpectationAction) -> Callable[[QueryFunction], QueryFunction]:
    rules = check_dict(expectations, "expectations")
    return _expectation_decorator(
        [Expectation(name, constraint, action) for name, constraint in rules.items()]
    )


def expect(name: str, inv: Any) -> Callable[[QueryFunction], QueryFunction]:
    """Warn: count rows that do not meet ``inv`` (NULL counts as not met), keep them.

    ``name`` names the rule in the metrics; ``inv`` is a SQL boolean expression or a Column
    (the parameter names of Databricks' ``databricks-dlt`` package)."""
    return _one(name, inv, ExpectationAction.WARN)


def expect_or_drop(name: str, inv: Any) -> Callable[[QueryFunction], QueryFunction]:
    """Drop rows that do not meet ``inv`` before they are written.

    ``name`` names the rule in the metrics; ``inv`` is a SQL boolean expression or a Column
    (the parameter names of Databricks' ``databricks-dlt`` package)."""
    return _one(name, inv, ExpectationAction.DROP)


def expect_or_fail(name: str, inv: Any) -> Callable[[QueryFunction], QueryFunction]:
    """Fail the flow (nothing of the batch written) when a row does not meet ``inv``.

    ``name`` names the rule in the metrics; ``inv`` is a SQL boolean expression or a Column
    (the parameter names of Databricks' ``databricks-dlt`` package)."""
    return _one(name, inv, ExpectationAction.FAIL)


def expect_all(expectations: dict[str, Any]) -> Callable[[QueryFunction], QueryFunction]:
    """:func:`expect` for every ``{name: constraint}`` of the dict."""
    return _all(expectations, ExpectationAction.WARN)


def expect_all_or_drop(expectations: dict[str, Any]) -> Callable[[QueryFunction], QueryFunction]:
    """:func:`expect_or_drop` for every ``{name: constraint}`` of the dict."""
    return _all(expectations, ExpectationAction.DROP)


def expect_all_or_fail(expectations: dict[str, Any]) -> Callable[[QueryFunction], QueryFunction]:
    """:func:`expect_or_fail` for every ``{name: constraint}`` of the dict."""
    return _all(expectations, ExpectationAction.FAIL)
