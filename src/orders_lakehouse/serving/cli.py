"""``orders-lakehouse serve`` (API + dashboard) and ``orders-lakehouse alerts deliver|retry|dead-letters``.

Options override the ``ORDERS_API_*`` environment variables (see :mod:`.settings`).
"""

from __future__ import annotations

import argparse
import logging
import random
import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from orders_lakehouse.serving.alerts.redact import quiet_http_loggers, redact
from orders_lakehouse.serving.settings import Settings, SettingsError

log = logging.getLogger(__name__)
FOLLOW_BACKOFF_MAX_SECONDS = 300.0


def register(subparsers: Any) -> None:
    """Add the ``serve`` and ``alerts`` sub-commands."""
    serve = subparsers.add_parser("serve", help="run the read-only API and the dashboard (uvicorn)")
    serve.add_argument("--storage", type=Path, help="localdlt storage root (default: ORDERS_API_STORAGE)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--dev", action="store_true", help="no token auth (same as ORDERS_API_ENV=dev)")
    serve.set_defaults(handler=_serve)

    alerts = subparsers.add_parser("alerts", help="deliver gold_order_alerts to a webhook or Azure Monitor")
    actions = alerts.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")
    deliver = actions.add_parser("deliver", help="send alerts not delivered yet (once, or --follow)")
    _state_args(deliver)
    deliver.add_argument(
        "--sink", choices=["webhook", "azure_monitor"], help="default: ORDERS_API_ALERTS_SINK"
    )
    deliver.add_argument("--webhook-url", help="default: ORDERS_API_ALERTS_WEBHOOK_URL")
    deliver.add_argument("--follow", action="store_true", help="keep delivering every --interval seconds")
    deliver.add_argument("--interval", type=float, default=10.0)
    deliver.set_defaults(handler=_deliver)

    retry = actions.add_parser("retry", help="put dead-lettered alerts back to pending (all, or --id)")
    _state_args(retry)
    retry.add_argument("--id", dest="ids", action="append", metavar="ALERT_ID", help="only this alert")
    retry.set_defaults(handler=_retry)

    dead = actions.add_parser("dead-letters", help="list the alerts the endpoint refused for good")
    _state_args(dead)
    dead.set_defaults(handler=_dead_letters)


def _state_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--storage", type=Path, help="localdlt storage root (default: ORDERS_API_STORAGE)")
    parser.add_argument(
        "--state",
        type=Path,
        help="delivery state database (default: <storage>/consumers/alert-delivery.sqlite)",
    )


def _settings(**overrides: Any) -> Settings:
    return Settings(**{key: value for key, value in overrides.items() if value is not None})


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from orders_lakehouse.serving.app import create_app

    try:
        settings = _settings(storage=args.storage, env="dev" if args.dev else None)
        settings.check_bind(args.host)
        app = create_app(settings)
    except (ValidationError, SettingsError) as error:
        log.error("invalid settings: %s", error)
        return 2
    log.info(
        "serving %s backend on http://%s:%d (auth %s)",
        settings.backend,
        args.host,
        args.port,
        "on" if settings.auth_required else "off",
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


def _state(args: argparse.Namespace) -> Any:
    from orders_lakehouse.serving.alerts import DeliveryState

    settings = _settings(storage=args.storage, alerts_state_path=args.state)
    return DeliveryState(settings.delivery_state_path)


def _retry(args: argparse.Namespace) -> int:
    try:
        state = _state(args)
    except (ValidationError, SettingsError) as error:
        log.error("invalid settings: %s", error)
        return 2
    ids = state.retry(args.ids)
    unknown = sorted(set(args.ids or ()) - set(ids))
    print(f"{len(ids)} dead-lettered alert(s) put back to pending")
    for alert_id in unknown:
        log.error("alert %s is not dead-lettered", alert_id)
    return 1 if unknown else 0


def _dead_letters(args: argparse.Namespace) -> int:
    try:
        state = _state(args)
    except (ValidationError, SettingsError) as error:
        log.error("invalid settings: %s", error)
        return 2
    for letter in state.dead_letters():
        print(f"{letter.alert_id}\tHTTP {letter.http_status}\t{letter.at}\t{letter.reason}")
    return 0


def _deliver(args: argparse.Namespace) -> int:
    import httpx

    from orders_lakehouse.serving.alerts import AlertDeliverer, DeliveryState
    from orders_lakehouse.serving.alerts.factory import build_sink
    from orders_lakehouse.serving.backends.base import BackendError
    from orders_lakehouse.serving.backends.factory import build_backend

    quiet_http_loggers()
    try:
        settings = _settings(
            storage=args.storage,
            alerts_sink=args.sink,
            alerts_webhook_url=args.webhook_url,
            alerts_state_path=args.state,
        )
        settings.check_alerts()
    except (ValidationError, SettingsError) as error:
        # pydantic's message echoes the input: never print a webhook URL.
        log.error("invalid settings: %s", redact(str(error), args.webhook_url))
        return 2
    secrets = _secrets(settings)
    failures = 0
    with httpx.Client(timeout=settings.alerts_timeout_seconds) as client:
        deliverer = AlertDeliverer(
            build_backend(settings), build_sink(settings, client), DeliveryState(settings.delivery_state_path)
        )
        while True:
            try:
                report = deliverer.deliver_pending()
            except KeyboardInterrupt:
                return 130
            except (BackendError, Exception) as error:  # noqa: BLE001 - --follow must outlive any error
                failures += 1
                kind = "cannot read alerts" if isinstance(error, BackendError) else "delivery round failed"
                log.error("%s: %s: %s", kind, type(error).__name__, redact(str(error), *secrets))
                if not args.follow:
                    return 1
                if not _sleep(_backoff(args.interval, failures)):
                    return 1
                continue
            failures = 0
            print(report.summary())
            if not args.follow:
                return 0 if report.ok else 1
            if not _sleep(args.interval):  # Ctrl-C between rounds: a clean stop, state already saved
                return 0 if report.ok else 1


def _secrets(settings: Settings) -> list[str]:
    values = [str(settings.alerts_webhook_url) if settings.alerts_webhook_url else None]
    for secret in (
        settings.alerts_webhook_secret,
        settings.azure_monitor_token,
        settings.azure_client_secret,
    ):
        values.append(secret.get_secret_value() if secret else None)
    return [value for value in values if value]


def _backoff(interval: float, failures: int) -> float:
    """Wait after the n-th failed round in a row: doubling from ``interval``, capped, jittered."""
    ceiling = min(interval * 2 ** (failures - 1), FOLLOW_BACKOFF_MAX_SECONDS)
    return random.uniform(ceiling / 2, ceiling)


# The one place --follow waits; a seam of its own so a test can stand in for the clock
# without patching time.sleep for every thread of the process.
_pause = time.sleep


def _sleep(seconds: float) -> bool:
    """Sleep; False when interrupted (Ctrl-C)."""
    try:
        _pause(seconds)
    except KeyboardInterrupt:
        return False
    return True
