"""Expectations on a batch of rows, in one pass.

A row meets a rule only when the constraint is TRUE (NULL does not meet it). Every rule is
counted on the rows that entered the flow, independently of the others; ``dropped_records``
counts distinct rows removed by the drop rules. Fail rules are checked before anything is
written, so a violating batch leaves the target untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import uuid
from typing import Any

from pyspark.sql import Column, DataFrame, Observation
from pyspark.sql import functions as F

from localdlt.definitions import Expectation, ExpectationAction
from localdlt.errors import ExpectationViolationError


@dataclass(frozen=True)
class ExpectationMetric:
    """Databricks' ``data_quality.expectations`` item."""

    name: str
    dataset: str
    passed_records: int
    failed_records: int


@dataclass(frozen=True)
class BatchQuality:
    """What one batch gave: rows in, rows written, rows dropped, per-rule counts."""

    input_rows: int
    output_rows: int
    dropped_records: int
    expectations: tuple[ExpectationMetric, ...]


def _met(expectation: Expectation) -> Column:
    constraint = expectation.constraint
    condition = F.expr(constraint) if isinstance(constraint, str) else constraint
    return F.coalesce(condition, F.lit(False))


def _all_met(rules: Sequence[Expectation]) -> Column:
    condition = F.lit(True)
    for rule in rules:
        condition = condition & _met(rule)
    return condition


def check_batch(
    df: DataFrame, expectations: Sequence[Expectation], *, flow: str, dataset: str
) -> tuple[DataFrame, BatchQuality]:
    """Measure ``df`` against ``expectations`` with one aggregate and return the rows to write.

    ``df`` should be persisted by the caller when it is expensive to recompute: it is read once
    by the aggregate and once by the write. Raises :class:`ExpectationViolationError` (Databricks'
    message shape) when a fail rule is not met, before anything is written.
    """
    drops = [rule for rule in expectations if rule.action is ExpectationAction.DROP]
    fails = [rule for rule in expectations if rule.action is ExpectationAction.FAIL]
    aggregates = [F.count(F.lit(1)).alias("n")]
    for index, rule in enumerate(expectations):
        aggregates.append(F.sum(F.when(_met(rule), 0).otherwise(1)).alias(f"f{index}"))
    if drops:
        aggregates.append(F.sum(F.when(_all_met(drops), 0).otherwise(1)).alias("dropped"))
    if fails:
        row_json = F.to_json(F.struct(*[F.col(f"`{name}`") for name in df.columns]))
        aggregates.append(F.first(F.when(~_all_met(fails), row_json), ignorenulls=True).alias("bad_row"))
    result = df.agg(*aggregates).first()
    assert result is not None
    total = int(result["n"])
    failed = [int(result[f"f{index}"] or 0) for index in range(len(expectations))]
    if fails:
        violated = [
            rule.name
            for index, rule in enumerate(expectations)
            if rule.action is ExpectationAction.FAIL and failed[index]
        ]
        if violated:
            raise ExpectationViolationError(flow, violated, result["bad_row"] or "{}")
    dropped = int(result["dropped"] or 0) if drops else 0
    metrics = tuple(
        ExpectationMetric(rule.name, dataset, total - failed[index], failed[index])
        for index, rule in enumerate(expectations)
        # Databricks records no metrics for fail rules (the flow fails when they are not met).
        if rule.action is not ExpectationAction.FAIL
    )
    out = df.filter(_all_met(drops)) if drops else df
    return out, BatchQuality(total, total - dropped, dropped, metrics)


def has_fail_rules(expectations: Sequence[Expectation]) -> bool:
    """Whether a fail rule is among ``expectations`` (then the batch is checked before writing)."""
    return any(rule.action is ExpectationAction.FAIL for rule in expectations)


def observe(df: DataFrame, expectations: Sequence[Expectation]) -> tuple[DataFrame, Observation]:
    """Attach the warn/drop metrics to ``df`` as an :class:`Observation` computed by the write
    itself (no extra pass) and return the rows to write. Fail rules are not handled here."""
    drops = [rule for rule in expectations if rule.action is ExpectationAction.DROP]
    metrics = [F.count(F.lit(1)).alias("n")]
    for index, rule in enumerate(expectations):
        metrics.append(F.sum(F.when(_met(rule), 0).otherwise(1)).alias(f"f{index}"))
    if drops:
        metrics.append(F.sum(F.when(_all_met(drops), 0).otherwise(1)).alias("dropped"))
    observation = Observation(f"localdlt_{uuid.uuid4().hex}")
    observed = df.observe(observation, *metrics)
    return (observed.filter(_all_met(drops)) if drops else observed), observation


def observed_quality(
    values: dict[str, Any], expectations: Sequence[Expectation], *, dataset: str
) -> BatchQuality:
    """The :class:`BatchQuality` of an :func:`observe` result."""
    total = int(values.get("n") or 0)
    dropped = int(values.get("dropped") or 0)
    metrics = tuple(
        ExpectationMetric(
            rule.name, dataset, total - int(values.get(f"f{i}") or 0), int(values.get(f"f{i}") or 0)
        )
        for i, rule in enumerate(expectations)
    )
    return BatchQuality(total, total - dropped, dropped, metrics)


def apply_as_filter(df: DataFrame, expectations: Sequence[Expectation], *, flow: str) -> DataFrame:
    """A view's rules where it is read (no metrics of their own): drop rules filter; fail rules
    raise Databricks' message from the query (not atomic: the reader's batch fails)."""
    drops = [rule for rule in expectations if rule.action is ExpectationAction.DROP]
    fails = [rule for rule in expectations if rule.action is ExpectationAction.FAIL]
    if fails:
        violated = F.concat_ws(", ", *[F.when(~_met(rule), F.lit(rule.name)) for rule in fails])
        message = F.concat(
            F.lit(
                f"[EXPECTATION_VIOLATION.VERBOSITY_ALL] Flow '{flow}' failed to meet the expectation. "
                "Violated expectations: '"
            ),
            violated,
            F.lit("'. Input data: '"),
            F.to_json(F.struct(*[F.col(f"`{name}`") for name in df.columns])),
            F.lit("'"),
        )
        df = df.filter(F.when(_all_met(fails), F.lit(True)).otherwise(F.raise_error(message)))
    return df.filter(_all_met(drops)) if drops else df
