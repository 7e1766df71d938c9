"""End-to-end latency of the orders pipeline in continuous mode: for every event, the time from
when it was produced (its landing file made visible) to when its row was visible in Silver and
in Gold (the Delta commit that added it), at several producing rates.

    python -m bench latency                                    # 500, 1000, 2000 events/s, 120 s each
    python -m bench.bench_latency --rates 1000 --duration 300 --mv-refresh 5
    python -m bench.bench_latency --rates 1000 --only bronze_order_events,silver_order_events
    python -m bench.bench_latency --rates 1000 --conf localdlt.max_concurrent_flows=1

Each rate gets a fresh storage and a fresh ``localdlt run pipelines/orders --continuous`` process
(the command a developer types); the simulator starts once the streams run, produces at the
rate for ``--duration`` seconds, then the bench waits until Silver and one Gold refresh have
caught up, stops the run (SIGTERM) and reads the latencies off disk
(:mod:`orders_lakehouse.devstack.latency`).
``--only`` runs just the named datasets (``localdlt run --refresh``; Gold is measured only when
``fact_orders`` is among them), ``--conf`` adds pipeline configuration: together they show what
each part of the pipeline adds to Silver's latency.
A rate is sustained when latency does not grow over the run (no growing backlog). Targets
(issue 11): p95 ≤ 3 s to Silver and ≤ 10 s to Gold at 1,000 events/s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from orders_lakehouse.devstack import latency

HERE = Path(__file__).parent
ROOT = HERE.parent
RESULTS = HERE / "results"
PIPELINE = ROOT / "pipelines" / "orders"
BIN = Path(sys.executable).parent
SALT_ENV = "LOCALDLT_SECRET_ORDERS_PII_SALT"
GOLD = "fact_orders"  # the Gold table whose refreshes the Gold latency is read from


def start_pipeline(
    storage: Path,
    landing: Path,
    mv_refresh: float,
    log_file: Path,
    *,
    only: list[str] | None = None,
    conf: list[str] | tuple[str, ...] = (),
) -> subprocess.Popen:
    """``localdlt run --continuous`` in its own process (just the datasets ``only`` names, when
    given; ``conf``: extra ``KEY=VALUE`` pipeline configuration); its output goes to ``log_file``."""
    command = [
        str(BIN / "localdlt"),
        "run",
        str(PIPELINE),
        "--continuous",
        "--quiet",
        "--storage",
        str(storage),
        "--conf",
        f"orders.landing_path={landing}",
        "--conf",
        f"localdlt.materialized_view_refresh_seconds={mv_refresh:g}",
        *(part for pair in conf for part in ("--conf", pair)),
        *(("--refresh", ",".join(only)) if only else ()),
    ]
    env = {**os.environ, SALT_ENV: os.environ.get(SALT_ENV, "bench-salt")}
    with open(log_file, "w") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def wait_until(condition, timeout: float, what: str, process: subprocess.Popen) -> None:
    """Poll ``condition`` every half second; fail naming ``what`` on timeout or a dead run."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            raise RuntimeError(f"the pipeline exited ({process.returncode}) while waiting for {what}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout:.0f}s waiting for {what}")
        time.sleep(0.5)


def rows_written(table: Path) -> int:
    """Rows appended to a Delta table so far, from its commits' metrics (no JVM)."""
    if not (table / "_delta_log").is_dir():
        return 0
    total = 0
    for name in os.listdir(table / "_delta_log"):
        if name.endswith(".json") and name[:-5].isdigit():
            for line in (table / "_delta_log" / name).read_text().splitlines():
                if '"commitInfo"' in line:
                    total += int(
                        json.loads(line)["commitInfo"].get("operationMetrics", {}).get("numOutputRows", 0)
                    )
    return total


def last_commit_time(table: Path) -> float:
    """Timestamp of the table's latest commit that added data (0 when none)."""
    if not (table / "_delta_log").is_dir():
        return 0.0
    return max((c.timestamp for c in latency.commits(table) if c.added), default=0.0)


def produce(landing: Path, rate: float, duration: float, seed: int) -> dict[str, Any]:
    """Run the orders simulator into ``landing`` at ``rate`` events/s for ``duration`` s."""
    from orders_lakehouse.producers.files import AtomicFileProducer
    from orders_lakehouse.simulator import bad
    from orders_lakehouse.simulator.engine import Simulator, SimulatorConfig
    from orders_lakehouse.simulator.runner import run

    simulator = Simulator(
        SimulatorConfig(
            seed=seed, rate=rate, bad_rate=0.02, duplicate_rate=0.01, late_rate=0.02, bad_kinds=bad.select()
        )
    )
    producer = AtomicFileProducer(landing, staging=landing.parent / "staging", batch_size=500)
    result = run(simulator, producer, limit=int(rate * duration), rate=rate)
    return {
        "sent": result.messages,
        "seconds": round(result.seconds, 1),
        "achieved_rate": round(result.rate, 1),
        "files": producer.stats.batches,
    }


def view_refreshes(events_table: Path) -> dict[str, dict[str, float]]:
    """Per materialized view (flow type COMPLETE): how many refreshes ran, their median
    and longest duration in seconds, and when the first and last started (seconds after the
    update started), from the event log (a refresh runs from its RUNNING to its COMPLETED
    event)."""
    from deltalake import DeltaTable

    rows = DeltaTable(str(events_table)).to_pyarrow_table(
        columns=["origin", "timestamp", "details", "level", "event_type", "sequence"]
    ).to_pylist()
    rows.sort(key=lambda r: r["sequence"]["control_plane_seq_no"])
    began = min((r["timestamp"].timestamp() for r in rows if r["event_type"] == "create_update"), default=0.0)
    views = {
        r["origin"]["flow_name"] for r in rows if r["event_type"] == "flow_definition"
        and json.loads(r["details"])["flow_definition"]["flow_type"] == "COMPLETE"
    }  # fmt: skip
    started: dict[str, float] = {}
    spans: dict[str, list[tuple[float, float]]] = {}
    for row in rows:
        flow = row["origin"]["flow_name"]
        if row["event_type"] != "flow_progress" or row["level"] != "INFO" or flow not in views:
            continue
        status = json.loads(row["details"])["flow_progress"].get("status")
        moment = row["timestamp"].timestamp() - began
        if status == "RUNNING":
            started[flow] = moment
        elif status == "COMPLETED" and flow in started:
            spans.setdefault(flow, []).append((started.pop(flow), moment))
    out = {}
    for flow, pairs in sorted(spans.items()):
        durations = sorted(end - start for start, end in pairs)
        out[flow] = {
            "refreshes": len(pairs),
            "median_s": round(durations[len(durations) // 2], 1),
            "max_s": round(durations[-1], 1),
            "first_start_s": round(pairs[0][0], 1),
            "last_start_s": round(pairs[-1][0], 1),
        }
    return out


def measure_rate(rate: float, args: argparse.Namespace, work: Path, console: Console) -> dict[str, Any]:
    """One continuous run at ``rate``: produce, drain, stop, read the latencies."""
    storage, landing, log_file = (
        work / f"storage-{rate:g}",
        work / f"landing-{rate:g}",
        work / f"run-{rate:g}.log",
    )
    landing.mkdir(parents=True)
    tables = storage / "tables"
    process = start_pipeline(storage, landing, args.mv_refresh, log_file, only=args.only, conf=args.conf)
    with_gold = args.only is None or GOLD in args.only
    try:
        with console.status(f"{rate:g} events/s: starting the continuous run"):
            wait_until(
                lambda: (
                    (storage / "checkpoints" / "silver_order_events" / "metadata").exists()
                    and (not with_gold or (tables / GOLD / "_delta_log").is_dir())
                ),
                600,
                "the streams to start",
                process,
            )
            time.sleep(2)
        with console.status(f"{rate:g} events/s: producing for {args.duration:g} s"):
            production = produce(landing, rate, args.duration, seed=int(rate))
        produced_at = time.time()
        with console.status(f"{rate:g} events/s: waiting for Bronze, Silver and Gold to catch up"):
            wait_until(
                lambda: rows_written(tables / "bronze_order_events") >= production["sent"],
                args.drain_timeout,
                "Bronze to hold every sent event",
                process,
            )
            settled = {"rows": -1, "since": time.monotonic()}

            def silver_settled() -> bool:
                rows = rows_written(tables / "silver_order_events")
                if rows != settled["rows"]:
                    settled.update(rows=rows, since=time.monotonic())
                return time.monotonic() - settled["since"] >= 5

            wait_until(silver_settled, args.drain_timeout, "Silver to settle", process)
            silver_done = last_commit_time(tables / "silver_order_events")
            if with_gold:  # one refresh that started after Silver's last commit shows every event in Gold
                time.sleep(0.5)
                started_after = time.time()
                wait_until(
                    lambda: last_commit_time(tables / GOLD) > started_after,
                    args.mv_refresh * 2 + args.drain_timeout,
                    "a Gold refresh after the last Silver commit",
                    process,
                )
        drained_s = time.time() - produced_at
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=180)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    figures = latency.latencies(storage, landing)
    silver, gold = figures["silver"], [g for g in figures["gold"] if g is not None]
    pairs = [(p, g) for p, g in zip(figures["produced"], figures["gold"]) if g is not None]
    return {
        "rate": rate,
        **production,
        "drain_s": round(drained_s, 1),
        "silver_last_commit_lag_s": round(silver_done - produced_at, 1),
        "silver": latency.percentiles(silver),
        "gold": latency.percentiles(gold),
        "silver_backlog_grows": latency.backlog_grows(figures["produced"], silver),
        "gold_backlog_grows": latency.backlog_grows([p for p, _ in pairs], [g for _, g in pairs]),
        "gold_refreshes": figures["gold_refreshes"],
        "events_without_source": figures["missing_source"],
        "view_refreshes": view_refreshes(storage / "system" / "events"),
        "samples": {"silver": silver, "gold": gold},
        "log": str(log_file),
    }


def plot(results: list[dict[str, Any]], out: Path) -> None:
    """Latency distributions (CDF) to Silver and to Gold, one line per rate."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for axis, layer, target in ((axes[0], "silver", 3.0), (axes[1], "gold", 10.0)):
        for result in results:
            values = sorted(result["samples"][layer])
            if values:
                axis.plot(
                    values,
                    [(i + 1) / len(values) for i in range(len(values))],
                    label=f"{result['rate']:g}/s (p95 {result[layer]['p95']:.1f} s)",
                )
        axis.axvline(target, color="grey", linestyle="--", linewidth=1)
        axis.axhline(0.95, color="grey", linestyle=":", linewidth=1)
        axis.set_title(f"produced → visible in {layer.capitalize()} (target p95 ≤ {target:g} s)")
        axis.set_xlabel("seconds")
        axis.legend(loc="lower right")
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("share of events")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_latency", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--rates", default="500,1000,2000", help="events per second, comma-separated")
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of producing per rate")
    parser.add_argument(
        "--mv-refresh",
        type=float,
        default=5.0,
        help="localdlt.materialized_view_refresh_seconds of the run (how often Gold is recomputed)",
    )
    parser.add_argument(
        "--only",
        type=lambda value: [name.strip() for name in value.split(",") if name.strip()],
        help="run only these datasets, comma-separated (localdlt run --refresh); Gold is measured "
        "only with fact_orders among them",
    )
    parser.add_argument(
        "--conf",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra pipeline configuration, e.g. localdlt.max_concurrent_flows=1 (repeatable)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the storages and logs (printed) to inspect")
    parser.add_argument(
        "--drain-timeout", type=float, default=240.0, help="seconds to wait for each layer to catch up"
    )
    args = parser.parse_args(argv)
    console = Console()
    RESULTS.mkdir(exist_ok=True)
    when = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    work = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    results = []
    try:
        for rate in (float(r) for r in args.rates.split(",")):
            try:
                results.append(measure_rate(rate, args, work, console))
            except (RuntimeError, TimeoutError) as error:
                log_tail = (
                    (work / f"run-{rate:g}.log").read_text()[-3000:]
                    if (work / f"run-{rate:g}.log").exists()
                    else ""
                )
                console.print(f"[red]{rate:g} events/s failed: {error}[/]\n{log_tail}")
                results.append({"rate": rate, "error": str(error)})
        measured = [r for r in results if "error" not in r]
        png = RESULTS / f"latency-{when}.png"
        if measured:
            plot(measured, png)
        report(console, results)
        sustained = [
            r["rate"] for r in measured if not r["silver_backlog_grows"] and not r["gold_backlog_grows"]
        ]
        out = RESULTS / f"latency-{when}.json"
        out.write_text(
            json.dumps(
                {
                    "bench": "latency",
                    "at": when,
                    "duration_s": args.duration,
                    "mv_refresh_s": args.mv_refresh,
                    "only": args.only,
                    "conf": args.conf,
                    "highest_sustained_rate": max(sustained, default=None),
                    "results": [{k: v for k, v in r.items() if k != "samples"} for r in results],
                },
                indent=2,
            )
        )
        for r in measured:
            views = r["view_refreshes"]
            gold = views.get(GOLD, {})
            console.print(
                f"{r['rate']:g}/s: {sum(v['refreshes'] for v in views.values())} view refreshes over "
                f"{len(views)} views; {GOLD} {gold.get('refreshes', 0)} "
                f"(median {gold.get('median_s')} s, started first at {gold.get('first_start_s')} s, "
                f"last at {gold.get('last_start_s')} s)"
            )
        parts = [
            f"{r['rate']:g}/s silver p95 {r['silver']['p95']} s gold p95 {r['gold']['p95']} s"
            for r in measured
        ]
        console.print(
            f"SUMMARY latency: {'; '.join(parts) or 'no rate measured'}; highest sustained "
            f"{max(sustained, default=0):g}/s (targets at 1000/s: silver p95 ≤ 3 s, gold ≤ 10 s); "
            f"{out}, {png if measured else 'no plot'}"
        )
    finally:
        if args.keep:
            console.print(f"storages and logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if len(measured) == len(results) else 1


def report(console: Console, results: list[dict[str, Any]]) -> None:
    """One row per rate."""
    table = Table(title="produced → visible latency, continuous orders pipeline (seconds)")
    for column in (
        "rate/s",
        "achieved/s",
        "silver p50",
        "p95",
        "p99",
        "gold p50",
        "p95",
        "p99",
        "gold refreshes",
        "backlog grows",
        "note",
    ):
        table.add_column(column)
    for r in results:
        if "error" in r:
            table.add_row(f"{r['rate']:g}", *["-"] * 9, r["error"][:60])
            continue
        s, g = r["silver"], r["gold"]
        table.add_row(
            f"{r['rate']:g}",
            f"{r['achieved_rate']:g}",
            str(s["p50"]),
            str(s["p95"]),
            str(s["p99"]),
            str(g["p50"]),
            str(g["p95"]),
            str(g["p99"]),
            str(r["gold_refreshes"]),
            "yes" if r["silver_backlog_grows"] or r["gold_backlog_grows"] else "no",
            f"{r['sent']} sent, drained {r['drain_s']} s after",
        )
    console.print(table)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
