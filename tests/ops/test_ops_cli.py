"""orders-lakehouse pipeline start|wait|events|quality against the workspace endpoints on a real socket
(pytest-httpserver):
the request shapes (method, path, query, body, auth), paging, errors, timeouts and the output."""

from __future__ import annotations

import json
from collections import deque

import pytest
from workspace_api import TOKEN, FakeWorkspace

from orders_lakehouse.cli import main

DEV_NAME = "[dev ana_souza] orders_lakehouse_etl"
PROD_NAME = "orders_lakehouse_etl"


def _pipelines() -> list[dict]:
    # Five pipelines over three pages (page size 2): the wanted ones are on the last pages, and
    # near-misses ("_" is a LIKE wildcard, other users' dev copies) come before them.
    return [
        {"pipeline_id": "p-other", "name": "[dev joao] orders_lakehouse_etl", "state": "IDLE"},
        {"pipeline_id": "p-like", "name": "orders-lakehouse-etl", "state": "IDLE"},
        {
            "pipeline_id": "p-prod",
            "name": PROD_NAME,
            "state": "RUNNING",
            "spec": {"continuous": True},
            "latest_updates": [{"update_id": "u-prod", "state": "RUNNING"}],
        },
        {"pipeline_id": "p-extra", "name": "orders_lakehouse_etl_v0", "state": "IDLE"},
        {
            "pipeline_id": "p-dev",
            "name": DEV_NAME,
            "state": "IDLE",
            "spec": {"continuous": False},
            "latest_updates": [
                {"update_id": "u-2", "state": "COMPLETED"},
                {"update_id": "u-1", "state": "FAILED"},
            ],
        },
    ]


def _flow_progress(
    ts: str,
    flow: str,
    rows: int,
    dropped: int,
    expectations: list[dict],
    status: str = "RUNNING",
    update: str = "u-2",
) -> dict:
    return {
        "id": f"e-{ts}-{flow}",
        "timestamp": ts,
        "event_type": "flow_progress",
        "level": "METRICS",
        "message": f"Flow '{flow}' is {status}",
        "origin": {"update_id": update, "flow_name": flow, "dataset_name": flow},
        "details": {
            "flow_progress": {
                "status": status,
                "metrics": {"num_output_rows": rows},
                "data_quality": {"dropped_records": dropped, "expectations": expectations},
            }
        },
    }


def _events() -> list[dict]:
    """Events of update u-2, newest first (the API's order)."""

    def exp(name: str, passed: int, failed: int) -> dict:
        dataset = "silver_order_events"
        return {"name": name, "dataset": dataset, "passed_records": passed, "failed_records": failed}

    return [
        {
            "id": "e9",
            "timestamp": "2026-11-29T08:00:09Z",
            "event_type": "update_progress",
            "level": "INFO",
            "message": "Update u-2 is COMPLETED.",
            "origin": {"update_id": "u-2"},
            "details": {"update_progress": {"state": "COMPLETED"}},
        },
        _flow_progress("2026-11-29T08:00:08Z", "silver_order_events", 0, 0, [], status="COMPLETED"),
        _flow_progress(
            "2026-11-29T08:00:07Z",
            "silver_order_events",
            40,
            3,
            [exp("valid_event_id", 42, 1), exp("known_event_type", 41, 2)],
        ),
        _flow_progress(
            "2026-11-29T08:00:06Z",
            "silver_order_events",
            55,
            2,
            [exp("valid_event_id", 57, 0), exp("known_event_type", 55, 2)],
        ),
        # the event-log table's form: details as a JSON string
        {
            **_flow_progress("2026-11-29T08:00:05Z", "bronze_order_events", 100, 0, []),
            "details": json.dumps(
                {"flow_progress": {"status": "RUNNING", "metrics": {"num_output_rows": 100}}}
            ),
        },
        {
            "id": "e2",
            "timestamp": "2026-11-29T08:00:02Z",
            "event_type": "flow_progress",
            "level": "ERROR",
            "message": "Flow 'gold_kpis' has FAILED",
            "origin": {"update_id": "u-2", "flow_name": "gold_kpis"},
            "details": {"flow_progress": {"status": "FAILED"}},
            "error": {"exceptions": [{"class_name": "ValueError", "message": "boom"}]},
        },
        {
            "id": "e1",
            "timestamp": "2026-11-29T08:00:01Z",
            "event_type": "create_update",
            "level": "INFO",
            "message": "Update u-2 started by API call.",
            "origin": {"update_id": "u-2"},
        },
    ]


@pytest.fixture()
def ws(workspace: FakeWorkspace) -> FakeWorkspace:
    workspace.pipelines = _pipelines()
    workspace.events = {"p-dev": _events()}
    return workspace


def _query(r) -> dict[str, str]:
    return {k: v[0] if len(v) == 1 else v for k, v in r.query.items()}


def test_start_finds_the_dev_pipeline_over_every_page_and_posts_the_update(ws, capsys):
    assert main(["pipeline", "start", "--target", "dev"]) == 0

    calls = [(r.method, r.path, _query(r)) for r in ws.api_requests()]
    assert calls == [
        ("GET", "/api/2.0/preview/scim/v2/Me", {}),
        ("GET", "/api/2.0/pipelines", {"filter": "name LIKE '%orders_lakehouse_etl%'", "max_results": "100"}),
        (
            "GET",
            "/api/2.0/pipelines",
            {"filter": "name LIKE '%orders_lakehouse_etl%'", "max_results": "100", "page_token": "2"},
        ),
        (
            "GET",
            "/api/2.0/pipelines",
            {"filter": "name LIKE '%orders_lakehouse_etl%'", "max_results": "100", "page_token": "4"},
        ),
        ("POST", "/api/2.0/pipelines/p-dev/updates", {}),
    ]
    post = ws.api_requests()[-1]
    assert post.body == {"full_refresh": False}
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in ws.api_requests())
    assert capsys.readouterr().out == f"started update upd-new of {DEV_NAME} (p-dev)\n"


def test_start_full_refresh_in_prod_needs_no_user_lookup(ws, capsys):
    assert main(["pipeline", "start", "--target", "prod", "--full-refresh"]) == 0

    assert [r.path for r in ws.api_requests()][0] == "/api/2.0/pipelines"  # no /Me: no dev prefix
    post = ws.api_requests()[-1]
    assert (post.method, post.path, post.body) == (
        "POST",
        "/api/2.0/pipelines/p-prod/updates",
        {"full_refresh": True},
    )
    assert capsys.readouterr().out == f"started update upd-new of {PROD_NAME} (p-prod) with full refresh\n"


def test_start_wait_reports_each_state_until_completed(ws, capsys):
    ws.update_states["upd-new"] = deque(
        ["QUEUED", "WAITING_FOR_RESOURCES", "RUNNING", "RUNNING", "COMPLETED"]
    )

    assert main(["pipeline", "start", "--wait", "--poll-interval", "0.01"]) == 0

    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"started update upd-new of {DEV_NAME} (p-dev)",
        "update upd-new: QUEUED",
        "update upd-new: WAITING_FOR_RESOURCES",
        "update upd-new: RUNNING",
        "update upd-new: COMPLETED",
    ]
    polls = [r for r in ws.api_requests() if r.path == "/api/2.0/pipelines/p-dev/updates/upd-new"]
    assert len(polls) == 5 and {r.method for r in polls} == {"GET"}


def test_wait_on_a_failed_update_prints_its_errors_and_exits_1(ws, capsys):
    ws.update_states["u-2"] = deque(["RUNNING", "FAILED"])

    assert main(["pipeline", "wait", "--poll-interval", "0.01"]) == 1

    out = capsys.readouterr().out
    assert "update u-2: RUNNING\nupdate u-2: FAILED\n" in out
    assert "errors of update u-2" in out
    assert "Flow 'gold_kpis' has FAILED" in out and "ValueError: boom" in out
    events_call = [r for r in ws.api_requests() if r.path.endswith("/events")][0]
    assert _query(events_call) == {"filter": "update_id = 'u-2' AND level in ('ERROR')", "max_results": "100"}


def test_wait_on_a_continuous_pipeline_stops_at_running(ws, capsys):
    ws.update_states["u-prod"] = deque(["INITIALIZING", "RUNNING"])

    assert main(["pipeline", "wait", "-t", "prod", "--poll-interval", "0.01"]) == 0

    assert capsys.readouterr().out.splitlines() == [
        "update u-prod: INITIALIZING",
        "update u-prod: RUNNING",
        f"{PROD_NAME} is continuous: update u-prod is RUNNING and keeps running",
    ]


def test_wait_timeout_exits_3_and_says_the_update_keeps_running(ws, capsys):
    ws.update_states["u-2"] = deque(["RUNNING"])

    assert main(["pipeline", "wait", "--timeout", "0.2", "--poll-interval", "0.05"]) == 3

    err = capsys.readouterr().err
    assert err.startswith(
        "timeout: update u-2 is still RUNNING after 0.2 s; it keeps running on the workspace"
    )
    assert "orders-lakehouse pipeline wait --update-id u-2" in err


def test_events_follow_pages_send_only_the_token_after_the_first_and_print_oldest_first(ws, capsys):
    assert main(["pipeline", "events", "--format", "json"]) == 0

    pages = [_query(r) for r in ws.api_requests() if r.path == "/api/2.0/pipelines/p-dev/events"]
    assert pages == [
        {"filter": "update_id = 'u-2'", "max_results": "100"},
        {"max_results": "100", "page_token": "3"},  # page_token travels with max_results only
        {"max_results": "100", "page_token": "6"},
    ]
    printed = json.loads(capsys.readouterr().out)
    assert [e["id"] for e in printed] == [
        "e1",
        "e2",
        "e-2026-11-29T08:00:05Z-bronze_order_events",
        "e-2026-11-29T08:00:06Z-silver_order_events",
        "e-2026-11-29T08:00:07Z-silver_order_events",
        "e-2026-11-29T08:00:08Z-silver_order_events",
        "e9",
    ]
    assert printed[2]["details"] == {
        "flow_progress": {"status": "RUNNING", "metrics": {"num_output_rows": 100}}
    }
    assert printed[1]["error"] == {"exceptions": [{"class_name": "ValueError", "message": "boom"}]}


def test_events_limit_level_and_table_output(ws, capsys):
    assert (
        main(["pipeline", "events", "--all-updates", "--level", "ERROR", "--level", "WARN", "--limit", "2"])
        == 0
    )

    first = [r for r in ws.api_requests() if r.path.endswith("/events")][0]
    assert _query(first) == {"filter": "level in ('ERROR', 'WARN')", "max_results": "100"}
    out = capsys.readouterr().out
    # the fake ignores the filter: the two newest events, oldest first
    assert out.index("2026-11-29T08:00:08Z") < out.index("2026-11-29T08:00:09Z")
    assert "Update u-2 is COMPLETED." in out and "08:00:07Z" not in out
    assert f"{DEV_NAME}: events of all updates" in out


def test_quality_sums_expectations_and_flow_metrics_over_the_update(ws, capsys):
    assert main(["pipeline", "quality", "--format", "json"]) == 0

    printed = json.loads(capsys.readouterr().out)
    assert printed == {
        "update_id": "u-2",
        "expectations": [
            {
                "dataset": "silver_order_events",
                "name": "known_event_type",
                "passed_records": 96,
                "failed_records": 4,
            },
            {
                "dataset": "silver_order_events",
                "name": "valid_event_id",
                "passed_records": 99,
                "failed_records": 1,
            },
        ],
        "flows": [
            {
                "flow_name": "bronze_order_events",
                "output_rows": 100,
                "dropped_records": 0,
                "status": "RUNNING",
            },
            {"flow_name": "gold_kpis", "output_rows": 0, "dropped_records": 0, "status": "FAILED"},
            {
                "flow_name": "silver_order_events",
                "output_rows": 95,
                "dropped_records": 5,
                "status": "COMPLETED",
            },
        ],
    }


def test_quality_table_output(ws, capsys):
    assert main(["pipeline", "quality", "--update-id", "u-2"]) == 0

    out = capsys.readouterr().out
    assert f"{DEV_NAME} update u-2: expectations" in out
    row = next(line for line in out.splitlines() if "known_event_type" in line)
    assert [cell.strip() for cell in row.strip("│ ").split("│")] == [
        "silver_order_events",
        "known_event_type",
        "96",
        "4",
        "4.00",
    ]
    # --update-id given: the pipeline's latest update is not looked up
    assert "/api/2.0/pipelines/p-dev" not in [r.path for r in ws.api_requests()]


def test_pipeline_id_skips_the_lookup(ws, capsys):
    assert main(["pipeline", "start", "--pipeline-id", "p-dev"]) == 0

    assert [(r.method, r.path) for r in ws.api_requests()] == [("POST", "/api/2.0/pipelines/p-dev/updates")]


def test_not_deployed_is_a_clear_error(ws, capsys):
    ws.pipelines = [p for p in ws.pipelines if p["pipeline_id"] != "p-dev"]

    assert main(["pipeline", "start"]) == 1

    assert capsys.readouterr().err == (
        f"error: no pipeline named '{DEV_NAME}' in {ws.url}: deploy it first (databricks bundle deploy -t "
        "<target>) or check --target / --profile\n"
    )


def test_active_update_conflict_409(ws, capsys):
    ws.start_error = (409, {"error_code": "RESOURCE_CONFLICT", "message": "An active update already exists"})

    assert main(["pipeline", "start", "--pipeline-id", "p-dev"]) == 1

    assert capsys.readouterr().err == (
        "error: pipeline p-dev already has an active update (An active update already exists): wait for it "
        "(orders-lakehouse pipeline wait) or stop it in the pipeline UI\n"
    )


def test_unknown_pipeline_id_404(ws, capsys):
    assert main(["pipeline", "quality", "--pipeline-id", "nope"]) == 1

    assert capsys.readouterr().err == (
        "error: the workspace answered RESOURCE_DOES_NOT_EXIST: Pipeline nope not found\n"
    )


def test_bad_token_401(ws, capsys, monkeypatch):
    monkeypatch.setenv("DATABRICKS_TOKEN", "wrong")

    assert main(["pipeline", "start", "--pipeline-id", "p-dev"]) == 1

    err = capsys.readouterr().err
    assert err.startswith("error: the workspace answered UNAUTHENTICATED: bad token. Config: host=")
    assert "token=***" in err and "wrong" not in err  # the SDK masks the token: never printed
    assert ws.api_requests()[0].headers["Authorization"] == "Bearer wrong"


def test_server_error_500_is_reported_not_retried(ws, capsys):
    ws.fail_once(
        "/api/2.0/pipelines/p-dev/updates",
        500,
        {"error_code": "INTERNAL_ERROR", "message": "storage unavailable"},
    )

    assert main(["pipeline", "start", "--pipeline-id", "p-dev"]) == 1

    assert capsys.readouterr().err == "error: the workspace answered INTERNAL_ERROR: storage unavailable\n"
    assert len(ws.api_requests()) == 1


def test_unavailable_503_is_retried_by_the_sdk(ws, capsys):
    ws.fail_once(
        "/api/2.0/pipelines/p-dev", 503, {"error_code": "TEMPORARILY_UNAVAILABLE", "message": "try later"}
    )
    ws.update_states["u-2"] = deque(["COMPLETED"])

    assert main(["pipeline", "wait", "--pipeline-id", "p-dev"]) == 0

    gets = [r for r in ws.api_requests() if r.path == "/api/2.0/pipelines/p-dev"]
    assert len(gets) == 3  # 503, then the retry for latest_updates, then the spec for continuous
    assert capsys.readouterr().out == "update u-2: COMPLETED\n"


def test_slow_workspace_times_out_with_a_message(ws, capsys):
    ws.slow["/api/2.0/pipelines/p-dev/updates"] = 1.0

    code = main(
        ["pipeline", "start", "--pipeline-id", "p-dev", "--http-timeout", "0.2", "--retry-timeout", "1"]
    )

    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no answer from the workspace: Timed out after 0:00:01")
    assert "Read timed out" in err


def test_missing_credentials(ws, capsys, monkeypatch):
    monkeypatch.delenv("DATABRICKS_HOST")
    monkeypatch.delenv("DATABRICKS_TOKEN")

    assert main(["pipeline", "start"]) == 1

    err = capsys.readouterr().err
    assert err.startswith("error: cannot authenticate to a Databricks workspace: ")
    assert err.rstrip().endswith(
        "Set DATABRICKS_HOST and DATABRICKS_TOKEN, or pass --profile (see docs/deploy.md)"
    )
    assert ws.requests == []
