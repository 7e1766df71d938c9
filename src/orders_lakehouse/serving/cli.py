"""``orders-lakehouse serve`` (API + dashboard) and ``orders-lakehouse alerts deliver``.

Options override the ``ORDERS_API_*`` environment variables (see :mod:`.settings`).
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from orders_lakehouse.serving.settings import Settings, SettingsError

log = logging.getLogger(__name__)


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
    deliver.add_argument("--storage", type=Path, help="localdlt storage root (default: ORDERS_API_STORAGE)")
    deliver.add_argument(
        "--sink", choices=["webhook", "azure_monitor"], help="default: ORDERS_API_ALERTS_SINK"
    )
    deliver.add_argument("--webhook-url", help="default: ORDERS_API_ALERTS_WEBHOOK_URL")
    deliver.add_argument(
        "--state", type=Path, help="delivered-ids file (default: <storage>/consumers/alert-delivery.json)"
    )
    deliver.add_argument("--follow", action="store_true", help="keep delivering every --interval seconds")
    deliver.add_argument("--interval", type=float, default=10.0)
    deliver.set_defaults(handler=_deliver)


def _settings(**overrides: Any) -> Settings:
    return Settings(**{key: value for key, value in overrides.items() if value is not None})


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from orders_lakehouse.serving.app import create_app

    try:
        settings = _settings(storage=args.storage, env="dev" if args.dev else None)
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


def _deliver(args: argparse.Namespace) -> int:
    import httpx

    from orders_lakehouse.serving.alerts import AlertDeliverer, DeliveryState
    from orders_lakehouse.serving.alerts.factory import build_sink
    from orders_lakehouse.serving.backends.base import BackendError
    from orders_lakehouse.serving.backends.factory import build_backend

    try:
        settings = _settings(
            storage=args.storage,
            alerts_sink=args.sink,
            alerts_webhook_url=args.webhook_url,
            alerts_state_path=args.state,
        )
        settings.check_alerts()
    except (ValidationError, SettingsError) as error:
        log.error("invalid settings: %s", error)
        return 2
    with httpx.Client(timeout=settings.alerts_timeout_seconds) as client:
        deliverer = AlertDeliverer(
            build_backend(settings),
            build_sink(settings, client),
            DeliveryState.load(settings.delivery_state_path),
        )
        while True:
            try:
                report = deliverer.deliver_pending()
            except BackendError as error:  # e.g. gold_order_alerts not written yet
                log.error("cannot read alerts: %s", error)
                if not args.follow:
                    return 1
                time.sleep(args.interval)
                continue
            print(
                f"delivered {len(report.delivered)}, rejected {len(report.rejected)}, "
                f"already done {report.skipped}" + (f", stopped: {report.error}" if report.error else "")
            )
            if not args.follow:
                return 0 if report.ok else 1
            try:
                time.sleep(args.interval)
            except KeyboardInterrupt:  # Ctrl-C between rounds: a clean stop, state already saved
                return 0 if report.ok else 1
