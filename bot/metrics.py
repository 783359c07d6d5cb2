"""The optional Prometheus endpoint (`[metrics] port`): counters kept by the running bot and
gauges read from the database at each scrape."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import CollectorRegistry, Counter, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from telegram import Update
from telegram.ext import TypeHandler

from care.clock import Clock, parse_iso
from care.settings import MetricsSettings

log = logging.getLogger(__name__)

FIRST_GROUP = -1000  # before every handler of the bot; it only counts


class DatabaseCollector(Collector):
    """Inbox and outbox depth, backups and heartbeats, read (read-only) when scraped."""

    def __init__(self, db_path: str, clock: Clock) -> None:
        self._path, self._clock = db_path, clock

    def collect(self) -> Iterable[GaugeMetricFamily]:
        """One read of the database per scrape (runs in the metrics server's thread)."""
        inbox = GaugeMetricFamily("carebot_inbox_updates", "Stored updates", labels=["status"])
        outbox = GaugeMetricFamily(
            "carebot_outbox_messages", "Outbox rows", labels=["kind", "status"]
        )
        age = GaugeMetricFamily(
            "carebot_backup_age_seconds", "Seconds since the last successful backup finished"
        )
        last_ok = GaugeMetricFamily("carebot_backup_last_ok", "1 if the last backup succeeded")
        beats = GaugeMetricFamily(
            "carebot_heartbeat_age_seconds", "Seconds since a part's heartbeat", labels=["part"]
        )
        now = self._clock.now()
        conn = sqlite3.connect(f"file:{self._path}?mode=ro", uri=True, timeout=2)
        try:
            for status, count in conn.execute("SELECT status, count(*) FROM inbox GROUP BY 1"):
                inbox.add_metric([status], count)
            for kind, status, count in conn.execute(
                "SELECT kind, status, count(*) FROM outbox GROUP BY 1, 2"
            ):
                outbox.add_metric([kind, status], count)
            row = conn.execute("SELECT max(finished_at) FROM backups WHERE ok = 1").fetchone()
            if row and row[0]:
                age.add_metric([], (now - parse_iso(row[0])).total_seconds())
            row = conn.execute(
                "SELECT ok FROM backups ORDER BY finished_at DESC, id DESC"
            ).fetchone()
            if row is not None:
                last_ok.add_metric([], row[0])
            for part, at in conn.execute("SELECT name, at FROM heartbeats"):
                beats.add_metric([part], (now - parse_iso(at)).total_seconds())
        except sqlite3.Error as exc:
            log.warning("metrics database read failed error=%s", exc)
        finally:
            conn.close()
        yield from (inbox, outbox, age, last_ok, beats)


def registry_for(app: Any) -> CollectorRegistry:
    """A registry of the bot's metrics: counters hooked into `app`, gauges from its database."""
    registry = CollectorRegistry()
    updates = Counter("carebot_updates", "Updates the bot handled", registry=registry)
    errors = Counter(
        "carebot_handler_errors", "Updates whose handler raised", ["error"], registry=registry
    )

    async def count_update(update: Update, context: Any) -> None:
        updates.inc()

    async def count_error(update: object, context: Any) -> None:
        errors.labels(type(context.error).__name__).inc()

    app.add_handler(TypeHandler(Update, count_update), group=FIRST_GROUP)
    app.add_error_handler(count_error)
    care = app.bot_data.care
    registry.register(DatabaseCollector(care.db.path, care.clock))
    return registry


@contextmanager
def serve(app: Any, settings: MetricsSettings) -> Iterator[None]:
    """Serve /metrics on `[metrics] listen:port` until the block ends."""
    server, thread = start_http_server(settings.port, settings.listen, registry_for(app))
    log.info("metrics listening addr=%s port=%s", settings.listen, settings.port)
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
