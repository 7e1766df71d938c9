"""Incremental refresh of materialized views (see docs/localdlt-mv.md).

:func:`refresh.refresh` plans and applies one view's refresh; :mod:`explain` tells without
running which technique each view of a pipeline gets.
"""
