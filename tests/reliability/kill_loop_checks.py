"""What a kill -9 loop must end with (shared by the files and the Kafka loops): exact layers against
the producer's ground truth, the event log audit (streaming batches and view refreshes), every
table equal to an uninterrupted recompute, every in-flight state hit; recorded in the ledger."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pytest

from pyspark.sql import SparkSession

from crash_lab import STATES
from expected_tables import DERIVED_TABLES
from fault_ledger import Record, record
from kill_loop import STREAMING_FLOWS, LoopOutcome, Production, kill_loop
from layer_checks import layer_counts, missing_events, missing_view_events, table_differences

KILLS = int(os.environ.get("RELIABILITY_KILLS", "10"))
RATE = 10.0  # messages per second while the loop runs: a new file (or Kafka messages) every second


def kill_loop_then_check(
    request: pytest.FixtureRequest,
    scenario: str,
    workdir: Path,
    conf: Mapping[str, str],
    production: Production,
    seed: int,
) -> None:
    """The whole scenario: the kill loop on ``workdir/storage`` while ``production`` sends, an
    uninterrupted reference run on the same input, then ``check_and_record``."""
    storage, log_file = workdir / "storage", workdir / "localdlt.log"
    reference, reference_log = workdir / "reference", workdir / "reference.log"
    outcome = kill_loop(
        storage, conf, production, kills=KILLS, max_kills=KILLS + 8, seed=seed, log_file=log_file,
        reference=reference, reference_log=reference_log,
    )  # fmt: skip
    assert outcome.reference_returncode == 0, f"the reference run failed; log: {reference_log}"
    # The test session's own JVM starts only now: during the loop the machine is the runtime's.
    spark = request.getfixturevalue("spark")
    check_and_record(spark, scenario, outcome, storage, reference, log_file)


def check_and_record(
    spark: SparkSession, scenario: str, outcome: LoopOutcome, storage: Path, reference: Path, log_file: Path
) -> None:
    """Check ``storage`` after the loop against ``reference`` and the ground truth; record, then
    assert."""
    tables = storage / "tables"
    counts = layer_counts(spark, tables, outcome.sent, outcome.truth)
    audit = missing_events(spark, storage, STREAMING_FLOWS)
    # Every materialized view (each keeps its refresh state under system/mv/<name>): every refresh
    # commit has its METRICS event, also those a kill interrupted before the event.
    views = sorted(p.name for p in (storage / "system" / "mv").iterdir())
    view_audit = missing_view_events(spark, storage, views)
    differences = table_differences(spark, tables, reference / "tables", DERIVED_TABLES)
    ok = (
        outcome.drain_returncode == 0
        and not counts.total_lost
        and not counts.total_duplicated
        and not counts.mismatches
        and not audit.missing
        and not audit.duplicated
        and not view_audit.missing
        and not view_audit.duplicated
        and not differences
        and outcome.states_hit >= set(STATES)
    )
    record(
        Record(
            scenario,
            faults=len(outcome.kills),
            survived=len(outcome.kills) if ok else 0,
            lost=counts.total_lost,
            duplicated=counts.total_duplicated + len(audit.duplicated) + len(view_audit.duplicated),
            events_missing=len(audit.missing) + len(view_audit.missing),
            details={
                "messages": outcome.truth["messages"],
                "valid_events": outcome.truth["valid_events"],
                "bad_messages": outcome.truth["bad_messages"],
                "seconds": outcome.seconds,
                "batches_audited": audit.batches,
                "view_refresh_commits_audited": view_audit.batches,
                "kills": [
                    {"trigger": k.trigger, "alive_s": k.seconds_alive, "in_flight": k.flows_in_flight}
                    for k in outcome.kills
                ],
                "states_hit": sorted(outcome.states_hit),
                "reconciliation_mismatches": [list(map(str, m)) for m in counts.mismatches],
            },
        )
    )
    assert outcome.drain_returncode == 0, f"the draining update failed; log: {log_file}"
    assert outcome.states_hit >= set(STATES), (
        f"states never hit: {set(STATES) - outcome.states_hit}; "
        f"kills: {[k.flows_in_flight for k in outcome.kills]}"
    )
    assert (counts.lost, counts.duplicated) == (
        {k: 0 for k in counts.lost},
        {k: 0 for k in counts.duplicated},
    )
    assert counts.mismatches == [], f"reconciliation (line, expected, actual): {counts.mismatches}"
    assert (audit.missing, audit.duplicated) == ([], [])
    assert (view_audit.missing, view_audit.duplicated) == ([], [])
    assert differences == {}
