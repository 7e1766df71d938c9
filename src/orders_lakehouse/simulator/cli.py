"""``orders-lakehouse simulate``: the orders application, sending to files, Kafka or Event Hubs.

Examples::

    orders-lakehouse simulate --to files --landing demo-output/landing --rate 50 --duration 60
    orders-lakehouse simulate --to kafka --bootstrap 127.0.0.1:9092 --topic orders --events 1000 --seed 7
    EVENTHUBS_CONNECTION_STRING='Endpoint=sb://...' \\
        orders-lakehouse simulate --to eventhubs --namespace my-ns --hub orders --rate 100
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import signal
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

from orders_lakehouse.producers.base import Producer
from orders_lakehouse.simulator import bad
from orders_lakehouse.simulator.engine import Simulator, SimulatorConfig
from orders_lakehouse.simulator.runner import run

log = logging.getLogger(__name__)

UNPACED_CADENCE = 1000.0  # simulated messages per second when --rate 0 (as fast as possible)


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be within [0, 1], got {text}")
    return value


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def _timestamp(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text}") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The simulate options (shared with the demo, which builds the same run)."""
    target = parser.add_argument_group("where to")
    target.add_argument("--to", choices=["files", "kafka", "eventhubs"], required=True, help="transport")
    target.add_argument(
        "--landing", type=Path, help="--to files: the landing folder (JSON-lines files appear atomically)"
    )
    target.add_argument(
        "--batch-size",
        type=_positive_int,
        default=500,
        help="--to files: messages per file at most (default 500)",
    )
    target.add_argument("--bootstrap", help="--to kafka: HOST:PORT of the broker")
    target.add_argument("--topic", default="orders", help="--to kafka: topic (default orders)")
    target.add_argument(
        "--namespace",
        help="--to eventhubs: namespace (the connection string comes from $EVENTHUBS_CONNECTION_STRING)",
    )
    target.add_argument("--hub", default="orders", help="--to eventhubs: event hub name (default orders)")
    target.add_argument(
        "--connect-timeout",
        type=float,
        default=10.0,
        help="seconds to wait for the broker to answer (default 10)",
    )

    amount = parser.add_argument_group("how many, how fast")
    amount.add_argument(
        "--rate",
        type=_non_negative,
        default=50.0,
        help="messages per second (default 50; 0 = as fast as possible)",
    )
    bound = amount.add_mutually_exclusive_group()
    bound.add_argument(
        "--events", type=_positive_int, help="send exactly N messages (bad, late and duplicates included)"
    )
    bound.add_argument("--duration", type=_non_negative, help="send for S seconds: exactly rate × S messages")
    amount.add_argument(
        "--seed", type=int, help="random seed: same seed and --start-time, same messages byte for byte"
    )
    amount.add_argument(
        "--start-time", type=_timestamp, help="simulated clock start, ISO 8601 (default: now)"
    )
    amount.add_argument(
        "--time-scale",
        type=float,
        default=3600.0,
        help="business seconds per simulated second (default 3600: a day of lifecycle in 24 s)",
    )

    quality = parser.add_argument_group("imperfections")
    quality.add_argument(
        "--bad-rate", type=_fraction, default=0.0, help="share of deliberately bad messages (default 0)"
    )
    quality.add_argument(
        "--bad-kinds",
        help=f"comma-separated kinds to inject (default: all default kinds of {len(bad.catalog())})",
    )
    quality.add_argument(
        "--duplicate-rate",
        type=_fraction,
        default=0.01,
        help="share of re-sent identical messages (default 0.01)",
    )
    quality.add_argument(
        "--late-rate",
        type=_fraction,
        default=0.02,
        help="share of lifecycle events delivered late (default 0.02)",
    )

    output = parser.add_argument_group("output")
    output.add_argument(
        "--truth",
        type=Path,
        help="write the ground truth (final status per order, bad/late/duplicates) as JSON here",
    )
    output.add_argument("--no-progress", action="store_true", help="no live progress bar")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``simulate`` to the ``orders-lakehouse`` command."""
    parser = subparsers.add_parser(
        "simulate",
        help="simulate the orders application (to files, Kafka or Event Hubs)",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    parser.set_defaults(handler=handle)


def message_limit(args: argparse.Namespace) -> int | None:
    """--events N, or rate × duration, or None (until stopped)."""
    if args.events:
        return args.events
    if args.duration is not None:
        if not args.rate:
            raise ValueError("--duration needs a --rate above 0 (it sends rate × duration messages)")
        return math.ceil(args.rate * args.duration)
    return None


def build_simulator(args: argparse.Namespace, limit: int | None) -> Simulator:
    """The simulator described by the parsed options."""
    cadence = args.rate or UNPACED_CADENCE
    start = args.start_time
    if start is None and not args.rate and limit:
        # Unpaced: a simulated clock starting now would run ahead of the wall clock (future event
        # times). Backfill instead: the simulated history ends now.
        start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=limit / cadence)
    kinds = bad.select(args.bad_kinds.split(",") if args.bad_kinds else None) if args.bad_rate else ()
    return Simulator(
        SimulatorConfig(
            seed=args.seed,
            start_time=start,
            rate=cadence,
            time_scale=args.time_scale,
            bad_rate=args.bad_rate,
            duplicate_rate=args.duplicate_rate,
            late_rate=args.late_rate,
            bad_kinds=kinds,
        )
    )


def build_producer(args: argparse.Namespace) -> Producer:
    """The producer for ``--to`` (argument errors name the missing option)."""
    if args.to == "files":
        from orders_lakehouse.producers.files import AtomicFileProducer

        if not args.landing:
            raise ValueError("--to files needs --landing DIR")
        return AtomicFileProducer(args.landing, batch_size=args.batch_size)
    from orders_lakehouse.producers.kafka import KafkaProducer, eventhubs_target, local_target

    if args.to == "kafka":
        if not args.bootstrap:
            raise ValueError("--to kafka needs --bootstrap HOST:PORT")
        return KafkaProducer(local_target(args.bootstrap, args.topic), connect_timeout=args.connect_timeout)
    if not args.namespace:
        raise ValueError("--to eventhubs needs --namespace NS")
    return KafkaProducer(eventhubs_target(args.namespace, args.hub), connect_timeout=args.connect_timeout)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event set by Ctrl-C / SIGTERM, so a run ends cleanly (last batch landed, deliveries confirmed)."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def handle(args: argparse.Namespace) -> int:
    """Run the simulation; print a one-line result (or a one-line error) and return the exit code."""
    from orders_lakehouse.producers.kafka import BrokerUnreachableError, DeliveryError

    try:
        limit = message_limit(args)
        simulator = build_simulator(args, limit)
        producer = build_producer(args)
    except (ValueError, BrokerUnreachableError) as error:
        print(f"error: {error}")
        return 2
    try:
        with stop_on_signals() as stop:
            result = run(
                simulator,
                producer,
                limit=limit,
                rate=args.rate or None,
                stop=stop,
                progress=not args.no_progress,
            )
    except DeliveryError as error:
        print(f"error: {error}")
        return 1
    finally:
        if args.truth:
            simulator.truth.write(args.truth)
    truth = simulator.truth
    print(
        f"sent {result.messages} messages in {result.seconds:.1f}s ({result.rate:.0f}/s) to "
        f"{producer.description}: "
        f"{truth.valid_events} valid events, {len(truth.duplicates)} duplicates, {len(truth.bad_events)} "
        "bad, "
        f"{len(truth.late_events)} late, {len(truth.orders)} orders"
        + (f"; ground truth in {args.truth}" if args.truth else "")
    )
    return 0
