"""Where Gold rows come from: one small protocol, a local Delta reader and a Databricks SQL one."""

from orders_lakehouse.serving.backends.base import (
    Backend,
    BackendError,
    Filter,
    Query,
    TableUnavailableError,
)

__all__ = ["Backend", "BackendError", "Filter", "Query", "TableUnavailableError"]
