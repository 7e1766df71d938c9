"""Refresh one materialized view: analyse its query, read what its sources did since the last
refresh, choose the technique (see :mod:`localdlt.mv.planner`) and apply it.

What a refresh leaves behind, in ``state_dir``: ``record.json`` (query fingerprint, session
settings that change results, source versions read, target version written) and, for
decomposable aggregates, ``buffers`` (a Delta table of per-group partial aggregates). The record
is written last, so a crash between a write and the record makes the next refresh see a target
it did not write and recompute fully.
"""

from __future__ import annotations

import functools
import json
import logging
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deltalake.exceptions import DeltaError
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from localdlt import deltalog
from localdlt.mv import jvm, rewrite, writers
from localdlt.mv.analysis import Shape, analyse
from localdlt.mv.changes import SourceChange, TableState, changes_between, rows_changed, table_state
from localdlt.mv.cost import MEASURED, CostModel, Facts
from localdlt.mv.issues import Issue, IssueType, RefreshPolicy, Technique
from localdlt.mv.planner import Plan, Situation, choose, planning_details

log = logging.getLogger(__name__)

RECORD = "record.json"
BUFFERS = "buffers"
# Session settings that change a query's result: a change forces a recompute.
RESULT_CONFS = ("spark.sql.ansi.enabled", "spark.sql.session.timeZone", "spark.sql.legacy.timeParserPolicy")


@dataclass(frozen=True)
class Request:
    """One materialized view to refresh.

    ``query`` must read each source at the version given in ``source_versions`` (pinned), so that
    the record says exactly what was read. ``cost_model``: what ``refresh_policy`` AUTO decides
    with (None: off, the first applicable incremental technique is taken).
    """

    flow: str
    dataset: str
    query: DataFrame
    target: Path
    state_dir: Path
    source_versions: Mapping[str, int]
    source_names: Mapping[str, str]
    policy: RefreshPolicy = RefreshPolicy.AUTO
    full_refresh: bool = False
    has_expectations: bool = False
    cost_model: CostModel | None = MEASURED


@dataclass(frozen=True)
class Outcome:
    """What a refresh did: technique, the ``planning_information`` details, rows written."""

    technique: Technique
    details: dict[str, Any]
    reason: str
    output_rows: int | None
    wrote: bool


FullWrite = Callable[[DataFrame], int | None]


def _norm(path: str | Path) -> str:
    return str(path).removeprefix("file:").rstrip("/")


def _load_record(state_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((state_dir / RECORD).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _confs(spark: SparkSession) -> dict[str, str | None]:
    return {key: spark.conf.get(key, None) for key in RESULT_CONFS}


def situation_of(spark: SparkSession, request: Request, shape: Shape) -> tuple[Situation, dict[str, Any]]:
    """Gather the planning inputs (record, source changes, re-initialisation reasons)."""
    record = _load_record(request.state_dir)
    fingerprint = jvm.plan_fingerprint(shape.plan)
    versions = {_norm(p): v for p, v in request.source_versions.items()}
    for path in shape.all_sources:
        versions.setdefault(path, deltalog.latest_version(Path(path)))
    sources = {p: table_state(Path(p), v) for p, v in versions.items() if p in shape.all_sources}
    reinit: list[Issue] = []
    changes: dict[str, SourceChange] = {}
    target_version = deltalog.latest_version(request.target)  # -1: none (first run, full refresh)
    target_id = table_state(request.target, target_version).table_id if target_version >= 0 else None
    if request.full_refresh or record is None or target_version < 0:
        reinit.append(Issue(IssueType.CHANGE_SET_MISSING, detail="first computation or full refresh"))
    else:
        if record.get("fingerprint") != fingerprint:
            reinit.append(Issue(IssueType.QUERY_FINGERPRINT_CHANGED))
        if record.get("confs") != _confs(spark):
            reinit.append(Issue(IssueType.CONFIGURATION_CHANGED))
        if record.get("target_id") != target_id:
            reinit.append(Issue(IssueType.CHANGE_SET_MISSING,
                                detail="the target table was recreated (full refresh)"))
        elif record.get("target_version") != target_version and rows_changed(
            request.target, record["target_version"], target_version
        ):
            reinit.append(
                Issue(IssueType.PRIOR_TIMESTAMP_MISSING, detail="the target changed outside of its refreshes")
            )
        for path, state in sources.items():
            before = record.get("sources", {}).get(path)
            if before is None:
                reinit.append(Issue(IssueType.CHANGE_SET_MISSING, detail=f"no prior version of {path}"))
                continue
            changes[path] = changes_between(Path(path), TableState(**before), state)
    situation = Situation(
        shape=shape,
        policy=request.policy,
        changes=changes,
        sources=sources,
        reinitialize=reinit,
        has_expectations=request.has_expectations,
        state_valid=bool(record and record.get("buffers_valid")) and (request.state_dir / BUFFERS).is_dir(),
        source_names={_norm(p): n for p, n in request.source_names.items()},
        target_name=request.dataset,
        target_id=target_id,
        cost_model=request.cost_model,
        facts=_facts_reader(request, sources, changes, target_version),
    )
    return situation, {"fingerprint": fingerprint}


def _facts_reader(
    request: Request, sources: dict[str, TableState], changes: dict[str, SourceChange], target_version: int
) -> Callable[[], Facts | None]:
    """The cost model's facts, read once and only when the planner asks (a refresh with nothing new
    never reads them): row counts of the sources at the versions read and of the target, from the
    Delta logs (no Spark job), and the change set's rows from its commits. None, logged, when a
    count cannot be read: the planner then keeps the first applicable technique."""

    @functools.cache
    def read() -> Facts | None:
        try:
            counts = [deltalog.live_rows(Path(path), state.version) for path, state in sources.items()]
            target = deltalog.live_rows(request.target, target_version) if target_version >= 0 else 0
        except DeltaError as error:
            log.warning("materialized view %s: cost model not used, row counts unreadable: %s",
                        request.dataset, error)
            return None
        changed = [change.changed_rows for change in changes.values()]
        if None in counts or None in changed or target is None:
            log.info("materialized view %s: cost model not used, a file has no row count", request.dataset)
            return None
        return Facts(sum(counts), sum(changed), target)  # type: ignore[arg-type]

    return read


def plan(spark: SparkSession, request: Request) -> tuple[Plan, Shape]:
    """Analyse and choose, without writing anything."""
    shape = analyse(jvm.normalised(request.query))
    situation, _ = situation_of(spark, request, shape)
    return choose(situation, dataset=request.dataset), shape


def refresh(spark: SparkSession, request: Request, full_write: FullWrite | None = None,
            on_plan: Callable[[Plan], None] | None = None) -> Outcome:
    """Refresh the view (see the module docstring); ``full_write`` writes a complete recompute
    (default: overwrite the target) and returns the rows it wrote; ``on_plan`` is told the
    decision before anything is written (the ``planning_information`` event)."""
    shape = analyse(jvm.normalised(request.query))
    situation, extra = situation_of(spark, request, shape)
    chosen = choose(situation, dataset=request.dataset)
    details = planning_details(chosen)
    if on_plan is not None:
        on_plan(chosen)
    technique = chosen.technique
    log.info(
        "materialized view %s: %s%s",
        request.dataset,
        technique.short,
        f" ({chosen.reason})" if technique is Technique.COMPLETE_RECOMPUTE and chosen.reason else "",
    )
    if chosen.estimates:  # DEBUG: the technique line above and the event already give the decision
        log.debug("materialized view %s: cost model (%s): %s", request.dataset, chosen.facts.describe(),  # type: ignore[union-attr]
                 ", ".join(f"{t.short} {s:.2f} s" for t, s in chosen.estimates.items()))
    rows: int | None = None
    buffers_valid = situation.state_valid
    if technique is Technique.NO_OP:
        return Outcome(technique, details, chosen.reason, 0, False)
    if technique is Technique.COMPLETE_RECOMPUTE:
        rows = (full_write or (lambda df: _overwrite(df, request.target)))(request.query)
        buffers_valid = _rebuild_buffers(spark, shape, request.state_dir, keep=chosen.keep_state)
    else:
        ((path, change),) = situation.changes.items()
        rows = _incremental(spark, technique, shape, request, path, change)
    _write_record(spark, request, situation, extra["fingerprint"], buffers_valid)
    return Outcome(technique, details, chosen.reason, rows, True)


def _overwrite(df: DataFrame, target: Path) -> int | None:
    before = deltalog.latest_version(target)
    writers.overwrite(df, target, change_feed=True)  # as the pipeline's writes: views may read it
    return deltalog.output_rows(deltalog.find_commit(target, before) or {})


def _write_record(
    spark: SparkSession, request: Request, situation: Situation, fingerprint: str, buffers_valid: bool
) -> None:
    record = {
        "fingerprint": fingerprint,
        "confs": _confs(spark),
        "sources": {
            p: s.__dict__ | {"partition_columns": list(s.partition_columns)}
            for p, s in situation.sources.items()
        },
        "target_version": deltalog.latest_version(request.target),
        "target_id": table_state(request.target, deltalog.latest_version(request.target)).table_id,
        "buffers_valid": buffers_valid,
    }
    request.state_dir.mkdir(parents=True, exist_ok=True)
    tmp = request.state_dir / (RECORD + ".tmp")
    tmp.write_text(json.dumps(record, indent=1, default=str))
    tmp.replace(request.state_dir / RECORD)


def _rebuild_buffers(spark: SparkSession, shape: Shape, state_dir: Path, *, keep: bool = True) -> bool:
    """After a complete recompute: the per-group buffers of a decomposable aggregate rebuilt from the
    whole source (True), or removed (False: not decomposable, or ``keep`` false — the cost model
    found the history too small for GROUP_AGGREGATE to pay, or refresh_policy FULL). Without them
    GROUP_AGGREGATE is not applicable (CHANGE_SET_MISSING) until a recompute rebuilds them."""
    target = state_dir / BUFFERS
    if not keep or not shape.decomposable or shape.issues:
        shutil.rmtree(target, ignore_errors=True)
        return False
    # Deletion vectors: a refresh that touches groups in every file (old orders, right after this
    # recompute spread the groups over the files by hash) marks their old rows deleted instead of
    # rewriting the whole table (5 M-row bench: 26.8 s for 215 MB of buffers without them).
    frame = rewrite.buffer_frame(spark, shape, rewrite.core_child(spark, shape))
    writers.overwrite(frame, target, deletion_vectors=True)
    return True


def _incremental(
    spark: SparkSession, technique: Technique, shape: Shape, request: Request, path: str, change: SourceChange
) -> int:
    start, end = change.from_version + 1, change.to_version
    if technique is Technique.APPEND_ONLY:
        new_rows = rewrite.change_feed(spark, path, start, end, inserts_only=True)
        return writers.append(
            jvm.dataframe(spark, rewrite.with_source(spark, shape.plan, path, new_rows)), request.target
        )
    if technique is Technique.GROUP_AGGREGATE:
        new_rows = rewrite.change_feed(spark, path, start, end, inserts_only=True)
        changed_child = rewrite.core_child(
            spark, shape, rewrite.with_source(spark, shape.plan, path, new_rows)
        )
        partial = rewrite.buffer_frame(spark, shape, changed_child).localCheckpoint()
        keys = partial.select(*[c for c in partial.columns if c.startswith("__k")])
        if keys.columns and not rewrite.buffers_of(shape):
            stored = spark.read.format("delta").load(str(request.state_dir / BUFFERS))
            return _append_new_keys(spark, shape, request, stored, partial)
        touched_stored = _touched_buffers(spark, request.state_dir / BUFFERS, keys)
        # The view first, the buffers second: a crash in between leaves a view its record does not
        # know (PRIOR_TIMESTAMP_MISSING: recomputed, buffers rebuilt) instead of buffers that the
        # retried refresh would merge the same rows into twice.
        if touched_stored is None:
            # Only groups never seen: the view has no row of theirs either (each of its rows comes
            # from a stored group), so both are appends.
            return _append_groups(spark, shape, request, partial)
        merged = rewrite.merge_buffers(shape, touched_stored.unionByName(partial)).localCheckpoint()
        rows = rewrite.finish_from_buffers(spark, shape, merged)
        written = _replace_in_target(spark, shape, request.target, rows, keys)
        writers.replace_keys(spark, request.state_dir / BUFFERS, merged, keys, list(keys.columns))
        return written
    # GENERIC_AGGREGATE / WINDOW_FUNCTION: keys touched by any change, recomputed from the source
    changed = rewrite.change_feed(spark, path, start, end, inserts_only=False)
    changed_child = rewrite.core_child(spark, shape, rewrite.with_source(spark, shape.plan, path, changed))
    keys = rewrite.touched_keys(spark, shape, changed_child).localCheckpoint()
    rows = rewrite.recompute_for_keys(spark, shape, keys)
    if shape.decomposable and (request.state_dir / BUFFERS).is_dir():
        child = rewrite.restricted_child(spark, shape, rewrite.core_child(spark, shape), keys)
        writers.replace_keys(
            spark,
            request.state_dir / BUFFERS,
            rewrite.buffer_frame(spark, shape, child),
            keys,
            list(keys.columns),
        )
    return _replace_in_target(spark, shape, request.target, rows, keys)


def _append_new_keys(
    spark: SparkSession, shape: Shape, request: Request, stored: DataFrame, partial: DataFrame
) -> int:
    """GROUP BY without aggregate functions (``DISTINCT``): a key already stored gives exactly the
    rows it gave before, so only keys never seen are added — plain appends to the buffers and to
    the view, which keep the view append-only for the views that read it. Nothing new: no commit."""
    new_keys = _semi(partial, stored.select(*partial.columns), how="left_anti").localCheckpoint()
    if new_keys.isEmpty():
        return 0
    return _append_groups(spark, shape, request, new_keys)


def _append_groups(spark: SparkSession, shape: Shape, request: Request, buffers: DataFrame) -> int:
    """Append groups the view has never had: their rows (rebuilt from ``buffers``) to the view, then
    ``buffers`` to the stored ones (second, as in the merge). Appends keep the view append-only for
    the views that read it. Returns the rows appended to the view."""
    written = writers.append(rewrite.finish_from_buffers(spark, shape, buffers), request.target)
    writers.append(buffers, request.state_dir / BUFFERS)
    return written


def _touched_buffers(spark: SparkSession, path: Path, keys: DataFrame) -> DataFrame | None:
    """The stored buffer rows of the touched ``keys``, reading whole only the files that hold one;
    None when no stored row has one of the keys (only new groups).

    The buffers have one row per group, so reading them all grows with the history (a million
    orders: ~6 s here). A first scan, through Delta, reads the key columns alone and finds where
    the live rows of the touched keys are: file and row index. Only those files are then read, as
    plain Parquet, keeping exactly those rows: the rows a deletion vector marks deleted (groups
    merged since) are in the files but not in the first scan. Keys never seen (an order's first
    events) are in no file, and groups touched again are mostly recent ones, in the files the last
    refreshes wrote. The buffers are localdlt's own table and unpartitioned, so their files' Parquet
    rows hold every column (no partition value to add back).
    """
    stored = writers.load_with_deletion_vectors(spark, path)  # buffers older than localdlt's DVs
    if not keys.columns:
        return stored
    where = ("_metadata.file_name AS __file", "_metadata.row_index AS __row")
    holding = _semi(stored.selectExpr(*keys.columns, *where), keys).select("__file", "__row")
    holding = holding.localCheckpoint()
    files = [path / row["__file"] for row in holding.select("__file").distinct().collect()]
    if not files:
        return None
    if not all(file.is_file() for file in files):  # not laid out as expected: read it all
        return _semi(stored, keys)
    raw = spark.read.schema(stored.schema).parquet(*map(str, files)).selectExpr("*", *where)
    rows = raw.join(F.broadcast(holding), ["__file", "__row"], "left_semi")
    return rows.drop("__file", "__row")


def _semi(stored: DataFrame, keys: DataFrame, how: str = "left_semi") -> DataFrame:
    """Rows of ``stored`` whose key columns (those of ``keys``) match a row of ``keys`` NULL-safely
    (``how='left_anti'``: match none)."""
    if not keys.columns:
        return stored
    from functools import reduce

    condition = reduce(lambda a, b: a & b, [stored[c].eqNullSafe(keys[c]) for c in keys.columns])
    return stored.join(keys, condition, how)


def _replace_in_target(
    spark: SparkSession, shape: Shape, target: Path, rows: DataFrame, keys: DataFrame
) -> int:
    key_columns = shape.key_columns or []
    renamed = keys.select(*[keys[rewrite.KEY.format(i)].alias(name) for i, name in enumerate(key_columns)])
    return writers.replace_keys(spark, target, rows, renamed, key_columns)
