"""The dashboard in a real headless Chromium (Debian's, never downloaded) over the real server.

The server is started the way a user starts it (``orders-lakehouse serve``, uvicorn) on a free
port over the fixture Gold tables, with token auth on; the page gets the token via ``#token=`` or
from its token prompt. ``$CHROMIUM`` names the browser (default ``/usr/bin/chromium``); without
it these tests fail with the command that installs it (they never skip).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from serving_gold_fixture import API_TOKEN

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "dashboard.png"

HOW_TO_INSTALL = (
    f"the browser tests need Chromium at {CHROMIUM}: run `scripts/setup-browser.sh` "
    "(apt-get install -y chromium, as root) or set CHROMIUM=/path/to/chromium"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(200):  # up to ~20 s on a loaded 2-core machine
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {process.stderr.read().decode()}")
        try:
            if httpx.get(url + "/health/live", timeout=0.5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        try:
            process.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            pass
    raise RuntimeError("server did not come up")


@pytest.fixture(scope="module")
def access_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the server's uvicorn access log (its stdout) goes."""
    return tmp_path_factory.mktemp("server") / "access.log"


def _answers(log: Path, path: str) -> list[int]:
    """Status codes the server sent for ``GET path`` (from its access log), in order."""
    return [
        int(line.rsplit('" ', 1)[1].split()[0])
        for line in log.read_text().splitlines()
        if f'"GET {path} HTTP/1.1"' in line
    ]


@pytest.fixture(scope="module")
def server_url(gold_storage: Path, access_log: Path) -> Iterator[str]:
    """``orders-lakehouse serve`` in a subprocess (prod mode: token required)."""
    port = _free_port()
    env = {
        **os.environ,
        "ORDERS_API_ENV": "prod",
        "ORDERS_API_TOKEN": API_TOKEN,
        "ORDERS_API_DASHBOARD_REFRESH_SECONDS": "2",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "orders_lakehouse.cli",
            "serve",
            "--storage",
            str(gold_storage),
            "--port",
            str(port),
        ],
        env=env,
        stdout=access_log.open("w"),
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(HOW_TO_INSTALL, pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


CHART_DATA = """() => Object.fromEntries(
  Object.entries(window.dashboard.charts).map(([name, chart]) => [name, {
    labels: chart.data.labels,
    datasets: chart.data.datasets.map((d) => [d.label, d.data]),
    drawn: chart.chartArea !== undefined && chart.chartArea.width > 0,
}]))"""


def _tile(page: object, test_id: str) -> tuple[str, str]:
    element = page.locator(f'[data-testid="{test_id}"]')  # type: ignore[attr-defined]
    return element.get_attribute("data-value"), element.inner_text().replace("\xa0", " ")


def _api_calls(page: object) -> list[tuple[str, int]]:
    """(path?query, status) of every API answer the page receives, in order (static files left out)."""
    calls: list[tuple[str, int]] = []

    def record(response: object) -> None:
        url = response.url.split("/", 3)[3]  # type: ignore[attr-defined]
        if not url.startswith("static/") and url not in ("", "favicon.ico"):
            calls.append(("/" + url, response.status))  # type: ignore[attr-defined]

    page.on("response", record)  # type: ignore[attr-defined]
    return calls


def test_dashboard_without_token_prompts_for_it(browser: object, server_url: str) -> None:
    page = browser.new_page(locale="en-US", timezone_id="UTC")  # type: ignore[attr-defined]
    page.clock.install(time=datetime(2026, 11, 29, 10, 4, 59, tzinfo=UTC))
    page.clock.pause_at(datetime(2026, 11, 29, 10, 5, tzinfo=UTC))  # no periodic refresh: only ours
    calls = _api_calls(page)
    page.goto(server_url + "/")
    page.wait_for_function("() => window.dashboard && window.dashboard.refreshes >= 1")
    assert page.evaluate("() => window.dashboard.errors") == [
        "/summary?minutes=60&alerts=20: HTTP 401 missing bearer token"
    ]
    prompt = page.locator('[data-testid="token-prompt"]')
    assert prompt.is_visible()
    assert page.locator("#token-reason").inner_text() == "This dashboard needs the API token."
    assert page.locator('[data-testid="status"]').inner_text() == "waiting for a valid token"
    # A wrong token: refused (403), the prompt says so.
    page.fill('[data-testid="token-input"]', "not-the-token-at-all")
    page.click('[data-testid="token-submit"]')
    page.wait_for_function("() => window.dashboard.refreshes >= 2")
    assert page.locator("#token-reason").inner_text() == "The API refused this token: enter a valid one."
    # The right one: the numbers appear and the prompt goes away.
    page.fill('[data-testid="token-input"]', API_TOKEN)
    page.click('[data-testid="token-submit"]')
    page.wait_for_function("() => window.dashboard.refreshes >= 3")
    assert page.evaluate("() => window.dashboard.errors") == []
    assert not prompt.is_visible()
    assert _tile(page, "tile-orders") == ("7", "7")
    assert [status for path, status in calls if path.startswith("/summary")] == [401, 403, 200]
    page.close()


def test_dashboard_renders_the_gold_numbers(
    browser: object, server_url: str, tmp_path: Path, access_log: Path
) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1100}, locale="en-US", timezone_id="UTC")  # type: ignore[attr-defined]
    console_errors: list[str] = []
    page.on(
        "console", lambda message: console_errors.append(message.text) if message.type == "error" else None
    )
    # A fixed fake clock: the periodic refresh is driven by the test (no sleeping) and the
    # screenshot's "updated hh:mm:ss" is the same on every run, so docs/img stays unchanged.
    page.clock.install(time=datetime(2026, 11, 29, 10, 4, 59, tzinfo=UTC))
    page.clock.pause_at(datetime(2026, 11, 29, 10, 5, tzinfo=UTC))  # time stands still until run_for
    calls = _api_calls(page)
    page.goto(f"{server_url}/#token={API_TOKEN}")
    page.wait_for_function("() => window.dashboard && window.dashboard.refreshes >= 1")
    page.clock.run_for(2_000)  # ORDERS_API_DASHBOARD_REFRESH_SECONDS=2: one periodic refresh
    page.wait_for_function("() => window.dashboard.refreshes >= 2")
    # One request per refresh (was seven) ...
    assert [path for path, _ in calls] == [
        "/dashboard-config",
        "/summary?minutes=60&alerts=20",
        "/summary?minutes=60&alerts=20",
    ]
    # ... and the second was revalidated by its ETag: the server answered 304 with no body.
    assert _answers(access_log, "/summary?minutes=60&alerts=20")[-2:] == [200, 304]
    assert page.evaluate("() => window.dashboard.errors") == []
    assert console_errors == []
    assert page.url == f"{server_url}/"  # token taken out of the address bar
    assert page.locator('[data-testid="status"]').inner_text() == "updated 10:05:02 AM"

    assert _tile(page, "tile-orders") == ("7", "7")
    assert _tile(page, "tile-revenue") == ("900.2", "R$ 900,20")
    assert _tile(page, "tile-ticket") == ("128.6", "R$ 128,60")
    assert _tile(page, "tile-approval") == ("0.75", "75,0%")
    assert _tile(page, "tile-dq-failed") == ("2", "2")
    assert _tile(page, "tile-alerts") == ("3", "3")
    # The fixture has no Silver table: no latency to show, and no error for it.
    assert _tile(page, "tile-latency-silver") == ("", "–")
    assert _tile(page, "tile-latency-gold") == ("", "–")

    charts = page.evaluate(CHART_DATA)
    assert charts["sales"] == {
        "labels": ["10:00", "10:01", "10:02"],
        "drawn": True,
        "datasets": [["orders", [3, 3, 1]], ["revenue (R$)", [399.9, 450.3, 50.0]]],
    }
    assert charts["payments"] == {
        "labels": ["credit_card", "pix"],
        "drawn": True,
        "datasets": [["approved", [2, 7]], ["failed", [2, 1]]],
    }
    assert charts["funnel"] == {
        "labels": ["created", "paid", "payment_failed", "shipped", "delivered", "cancelled"],
        "drawn": True,
        "datasets": [["orders", [10, 8, 2, 6, 4, 1]]],
    }
    assert charts["sla"] == {
        "labels": ["2026-11-27 correios", "2026-11-28 correios", "2026-11-28 jadlog"],
        "drawn": True,
        "datasets": [
            ["p50 hours", [30.5, 80.0, 20.0]],
            ["p95 hours", [70.0, 80.0, 20.0]],
            ["SLA breaches", [0, 1, 0]],
        ],
    }
    assert charts["products"] == {
        "labels": ["Cafeteira", "Café 500g", "Filtro"],
        "drawn": True,
        "datasets": [["revenue (R$)", [600.0, 250.0, 40.0]]],
    }
    assert charts["quality"] == {
        "labels": ["silver_order_events: valid_event_id", "silver_order_events: valid_total"],
        "drawn": True,
        "datasets": [["passed", [14, 14]], ["failed", [1, 1]]],
    }

    rows = page.locator('[data-testid="alerts-table"] tbody tr')
    assert rows.count() == 3
    assert rows.nth(0).locator("td").all_inner_texts() == [
        "payment_failure_rate",
        "high",
        "2026-11-29T10:00:00Z",
        "0.375",
        "0.2",
        "payment failure rate 0.38 above 0.20 (3 failed, 5 paid)",
    ]

    # The README's picture is refreshed only on request (UPDATE_SCREENSHOTS=1): a test run must
    # not leave the work tree dirty. The screenshot itself is always taken and checked.
    target = SCREENSHOT if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path / "dashboard.png"
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 10_000
    page.close()
