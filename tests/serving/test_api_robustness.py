"""Fast reads at any size and never a 500: version-keyed caching, file skipping, ETag/304, bounded
dates, unknown parameters, and every store failure answered as JSON 502/503."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake
from fastapi.testclient import TestClient
from serving_gold_fixture import FUNNEL_SCHEMA, write_gold

from orders_lakehouse.serving.app import create_app
from orders_lakehouse.serving.backends.base import Filter, Query
from orders_lakehouse.serving.backends.local import LocalDeltaBackend
from orders_lakehouse.serving.settings import Settings


@pytest.fixture()
def own_gold(tmp_path: Path) -> Path:
    """A private copy of the fixture tables that a test may change."""
    return write_gold(tmp_path / "gold")


def _client(storage: Path, **settings: object) -> tuple[TestClient, LocalDeltaBackend]:
    backend = LocalDeltaBackend(storage, check_seconds=float(settings.pop("check", 0.0)))  # type: ignore[arg-type]
    app = create_app(Settings(env="dev", storage=storage, **settings), backend=backend)
    return TestClient(app, raise_server_exceptions=False), backend


@pytest.fixture()
def fresh(own_gold: Path) -> Iterator[tuple[TestClient, LocalDeltaBackend, Path]]:
    client, backend = _client(own_gold)
    with client:
        yield client, backend, own_gold


def _append_funnel_row(storage: Path, stage: str = "returned", order: int = 7) -> None:
    row = {"stage": stage, "stage_order": order, "orders": 1, "share_of_created": 0.1}
    write_deltalake(
        str(storage / "tables" / "gold_status_funnel"),
        pa.Table.from_pylist([row], schema=FUNNEL_SCHEMA),
        mode="append",
    )


def test_etag_is_the_table_version_and_if_none_match_gives_304(
    fresh: tuple[TestClient, LocalDeltaBackend, Path],
) -> None:
    client, _, storage = fresh
    first = client.get("/kpis/status-funnel")
    assert (first.status_code, first.headers["etag"], first.headers["cache-control"]) == (
        200,
        '"gold_status_funnel@0"',
        "no-cache",
    )
    same = client.get("/kpis/status-funnel", headers={"If-None-Match": '"gold_status_funnel@0"'})
    assert (same.status_code, same.content, same.headers["etag"]) == (304, b"", '"gold_status_funnel@0"')
    _append_funnel_row(storage)
    changed = client.get("/kpis/status-funnel", headers={"If-None-Match": '"gold_status_funnel@0"'})
    assert (changed.status_code, changed.headers["etag"]) == (200, '"gold_status_funnel@1"')
    assert [s["stage"] for s in changed.json()["stages"]][-1] == "returned"
    summary = client.get("/summary")
    assert summary.headers["etag"] == (
        '"event_log@0;fact_orders@0;gold_fulfillment_sla@0;gold_order_alerts@0;gold_payment_health@0;'
        'gold_sales_per_minute@0;gold_status_funnel@1;gold_top_products@0;silver_order_events@-1"'
    )
    assert client.get("/summary", headers={"If-None-Match": summary.headers["etag"]}).status_code == 304


def test_unchanged_tables_cost_no_reload_and_a_new_commit_reads_only_its_file(
    fresh: tuple[TestClient, LocalDeltaBackend, Path],
) -> None:
    client, backend, storage = fresh
    first = client.get("/kpis/status-funnel")
    stats, answers = backend.cache.stats, client.app.state.answers.stats  # type: ignore[attr-defined]
    loaded, read = stats.snapshots_loaded, stats.files_read
    for _ in range(5):
        again = client.get("/kpis/status-funnel")
        # The body sent at this ETag, byte for byte, with the same validators; no read at all.
        assert (again.status_code, again.content) == (200, first.content)
        assert (again.headers["etag"], again.headers["cache-control"]) == (
            '"gold_status_funnel@0"',
            "no-cache",
        )
        assert again.headers["content-type"] == "application/json"
    assert (stats.snapshots_loaded, stats.files_read, stats.result_hits, answers.hits) == (loaded, read, 0, 5)
    _append_funnel_row(storage)
    changed = client.get("/kpis/status-funnel")
    assert (len(changed.json()["stages"]), changed.headers["etag"]) == (7, '"gold_status_funnel@1"')
    assert (stats.snapshots_loaded, stats.files_read) == (loaded + 1, read + 1)  # the new file only
    assert answers.hits == 5  # a new version is never answered from an older answer


def test_only_successful_tagged_answers_are_kept(fresh: tuple[TestClient, LocalDeltaBackend, Path]) -> None:
    client, _, _ = fresh
    answers = client.app.state.answers.stats  # type: ignore[attr-defined]
    for _ in range(2):
        assert client.get("/orders/no-such-order").status_code == 404
        assert client.get("/kpis/sales-per-minute?minutes=0").status_code == 422
        assert client.get("/health/ready").status_code == 200  # no ETag: never kept
    assert (answers.stored, answers.hits) == (0, 0)
    assert client.get("/orders/o-1").status_code == 200
    assert client.get("/orders/o-1").json()["order_id"] == "o-1"
    assert (answers.stored, answers.hits) == (1, 1)
    # Another query string is another answer.
    one, two = client.get("/kpis/top-products?limit=1"), client.get("/kpis/top-products?limit=2")
    assert (len(one.json()["products"]), len(two.json()["products"])) == (1, 2)
    assert (answers.stored, answers.hits) == (3, 1)


def test_point_lookup_skips_files_by_statistics(tmp_path: Path) -> None:
    storage = write_gold(tmp_path / "gold")
    fact = storage / "tables" / "fact_orders"
    schema = DeltaTable(str(fact)).schema().to_arrow()
    template = DeltaTable(str(fact)).to_pyarrow_table().slice(0, 1).to_pylist()[0]
    for index in range(40):  # 40 more commits, one order each: 41 data files in all
        row = {**template, "order_id": f"bulk-{index:03d}"}
        write_deltalake(str(fact), pa.Table.from_pylist([row], schema=pa.schema(schema)), mode="append")
    client, backend = _client(storage)
    with client:
        response = client.get("/orders/bulk-017")
    assert (response.status_code, response.json()["order_id"]) == (200, "bulk-017")
    assert len(DeltaTable(str(fact)).file_uris()) == 41
    assert (backend.cache.stats.files_considered, backend.cache.stats.files_read) == (1, 1)


def test_a_file_vacuumed_under_an_old_snapshot_is_reread_from_the_new_version(own_gold: Path) -> None:
    client, backend = _client(own_gold, check=3600.0)  # keep the old snapshot as long as possible
    with client:
        assert client.get("/orders/o-1").status_code == 200
        table = DeltaTable(str(own_gold / "tables" / "fact_orders"))
        rows = table.to_pyarrow_table()
        write_deltalake(str(own_gold / "tables" / "fact_orders"), rows, mode="overwrite")
        DeltaTable(str(own_gold / "tables" / "fact_orders")).vacuum(
            retention_hours=0, enforce_retention_duration=False, dry_run=False
        )
        # A read the caches cannot answer (other columns): the old snapshot's file is gone.
        fact = backend_table("fact_orders")
        rows = backend.fetch(Query(fact, ("order_id",), (Filter("order_id", "=", "o-2"),)))
    assert rows == [{"order_id": "o-2"}]
    # Reloaded once and answered from the newest version: overwrite (1), VACUUM START (2) and END (3).
    assert backend.snapshot(fact).version == 3


def backend_table(name: str) -> object:
    from orders_lakehouse.serving import gold

    return next(t for t in gold.GOLD_TABLES if t.name == name)


def test_a_truncated_commit_is_a_json_502(fresh: tuple[TestClient, LocalDeltaBackend, Path]) -> None:
    client, _, storage = fresh
    _append_funnel_row(storage)
    commit = storage / "tables" / "gold_status_funnel" / "_delta_log" / f"{1:020d}.json"
    commit.write_bytes(commit.read_bytes()[:40])
    response = client.get("/kpis/status-funnel")
    assert (response.status_code, response.headers["content-type"]) == (502, "application/json")
    body = response.json()
    assert body["code"] == "backend_failed"
    assert body["detail"].startswith("table 'gold_status_funnel' cannot be read: ")
    assert "Traceback" not in response.text


def test_a_renamed_column_is_a_json_502_naming_it(fresh: tuple[TestClient, LocalDeltaBackend, Path]) -> None:
    client, _, storage = fresh
    renamed = pa.schema([f if f.name != "orders" else pa.field("order_count", f.type) for f in FUNNEL_SCHEMA])
    write_deltalake(
        str(storage / "tables" / "gold_status_funnel"),
        pa.Table.from_pylist([{"stage": "created", "stage_order": 1, "order_count": 3}], schema=renamed),
        mode="overwrite",
        schema_mode="overwrite",
    )
    response = client.get("/kpis/status-funnel")
    assert (response.status_code, response.json()) == (
        502,
        {
            "code": "backend_failed",
            "detail": "table 'gold_status_funnel' has no column(s) orders: its schema changed under the API",
        },
    )


def test_a_retyped_column_is_a_json_502(fresh: tuple[TestClient, LocalDeltaBackend, Path]) -> None:
    client, _, storage = fresh
    retyped = pa.schema(
        [f if f.name != "stage_order" else pa.field("stage_order", pa.string()) for f in FUNNEL_SCHEMA]
    )
    write_deltalake(
        str(storage / "tables" / "gold_status_funnel"),
        pa.Table.from_pylist([{"stage": "created", "stage_order": "first", "orders": 3}], schema=retyped),
        mode="overwrite",
        schema_mode="overwrite",
    )
    response = client.get("/kpis/status-funnel")
    assert (response.status_code, response.json()) == (
        502,
        {
            "code": "backend_failed",
            "detail": "the Gold data does not have the shape the API expects (see the server log)",
        },
    )


BOUNDS = "must be between 1970-01-01 and 2199-12-31"


@pytest.mark.parametrize(
    ("path", "name", "value"),
    [
        ("/kpis/sales-per-minute", "since", "0001-01-01T00:00:00"),
        ("/kpis/sales-per-minute", "until", "9999-12-31T23:59:59"),
        ("/kpis/payment-health", "since", "9999-12-31T23:59:00Z"),
        ("/kpis/payment-health", "until", "0001-01-01T00:00:00+23:59"),
        ("/kpis/fulfillment-sla", "since", "0001-01-01"),
        ("/kpis/fulfillment-sla", "until", "9999-12-31"),
        ("/alerts", "since", "0001-01-01T00:00:00-23:59"),
        ("/data-quality", "since", "9999-12-31T23:59:59.999999"),
    ],
)
def test_dates_out_of_bounds_are_422_with_the_reason(
    client: TestClient, path: str, name: str, value: str
) -> None:
    response = client.get(path, params={name: value})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_parameter"
    assert body["detail"] == f"query {name}: Value error, {BOUNDS}"


def test_unknown_query_parameters_are_422(client: TestClient) -> None:
    response = client.get("/kpis/top-products", params={"limit": "3", "limitt": "5", "sort": "x"})
    assert (response.status_code, response.json()) == (
        422,
        {
            "code": "invalid_parameter",
            "detail": "query limitt: unknown query parameter (and 1 more)",
            "errors": [
                {"loc": ["query", "limitt"], "msg": "unknown query parameter", "type": "extra_forbidden"},
                {"loc": ["query", "sort"], "msg": "unknown query parameter", "type": "extra_forbidden"},
            ],
        },
    )


def test_summary_is_the_dashboard_endpoints_in_one_answer(client: TestClient) -> None:
    summary = client.get("/summary").json()
    assert summary["sales"] == client.get("/kpis/sales-per-minute", params={"minutes": 60}).json()
    assert summary["payments"] == client.get("/kpis/payment-health", params={"minutes": 60}).json()
    assert summary["funnel"] == client.get("/kpis/status-funnel").json()
    assert summary["sla"] == client.get("/kpis/fulfillment-sla", params={"days": 7}).json()
    assert summary["products"] == client.get("/kpis/top-products", params={"limit": 10}).json()
    assert summary["quality"] == client.get("/data-quality").json()
    assert summary["alerts"] == client.get("/alerts", params={"limit": 20}).json()
    assert summary["latency"] == {
        "window_minutes": 15,
        "silver": {"p50_seconds": None, "p95_seconds": None, "events": 0},
        "gold": {"p50_seconds": None, "p95_seconds": None, "events": 0},
        "available": False,  # the fixture has no Silver table
    }


def test_ready_is_503_when_tables_are_stale(gold_storage: Path) -> None:
    with TestClient(
        create_app(Settings(env="dev", storage=gold_storage, ready_max_staleness_seconds=1e9))
    ) as ok:
        assert ok.get("/health/ready").status_code == 200
    # Every fixture table was committed before this line ran: with a microsecond threshold all are stale.
    settings = Settings(env="dev", storage=gold_storage, ready_max_staleness_seconds=1e-6)
    with TestClient(create_app(settings)) as stale:
        response = stale.get("/health/ready")
    assert (response.status_code, response.json()["status"]) == (503, "degraded")
    assert response.json()["stale"] == sorted(t.name for t in _gold_tables())
    assert datetime.now(UTC).year >= 2026


def _gold_tables() -> tuple:
    from orders_lakehouse.serving.gold import GOLD_TABLES

    return GOLD_TABLES
