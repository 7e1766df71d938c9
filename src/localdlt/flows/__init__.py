"""Runners of one flow of an update, by kind: :mod:`~localdlt.flows.dispatch` picks the runner
(streaming append, CDC, once, materialized view, sink); each other module runs one kind."""
