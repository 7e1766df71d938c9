"""Argument checks shared by the decorators of the ``dlt`` / ``dp`` modules: a wrong argument is
an :class:`InvalidArgumentError` that points at the user's line, not at localdlt's."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from localdlt.definitions import SourceLocation
from localdlt.errors import InvalidArgumentError

_PACKAGE_DIR = str(Path(__file__).resolve().parent)


def location_of(func: Callable[..., Any]) -> SourceLocation | None:
    """Where ``func`` is defined (file, first line); the caller's line for a callable without code."""
    code = getattr(func, "__code__", None)
    if code is None:
        return caller_location()
    return SourceLocation(code.co_filename, code.co_firstlineno)


def caller_location() -> SourceLocation | None:
    """The first frame outside this package: the line of the user's call."""
    frame = sys._getframe(1)
    while frame is not None:
        if not str(Path(frame.f_code.co_filename).resolve()).startswith(_PACKAGE_DIR):
            return SourceLocation(frame.f_code.co_filename, frame.f_lineno)
        frame = frame.f_back  # type: ignore[assignment]
    return None


def check_str(value: Any, argument: str, *, optional: bool = True) -> None:
    """A non-empty str (or None when ``optional``), else an error at the user's line."""
    if value is None and optional:
        return
    if not isinstance(value, str) or not value:
        raise InvalidArgumentError(
            f"argument '{argument}' must be a non-empty str, got {type(value).__name__}",
            params={"argument": argument, "type": type(value).__name__},
            location=caller_location(),
        )


def check_dict(value: Any, argument: str) -> dict[str, Any]:
    """A mapping as a dict ({} for None), else an error at the user's line."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidArgumentError(
            f"argument '{argument}' must be a dict, got {type(value).__name__}",
            params={"argument": argument, "type": type(value).__name__},
            location=caller_location(),
        )
    return dict(value)


def check_list(value: Any, argument: str) -> tuple[str, ...]:
    """A list of str as a tuple (() for None), else an error at the user's line."""
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise InvalidArgumentError(
            f"argument '{argument}' must be a list of str, got {type(value).__name__}",
            params={"argument": argument, "type": type(value).__name__},
            location=caller_location(),
        )
    return tuple(value)
