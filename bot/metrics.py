"""Prometheus metrics of one process, served as text at `/metrics` (docs/deploy.md).

Per update the cost is a counter increment and a histogram observation (`bot/middlewares/metrics.py`);
nothing here touches the database except the outbox depth, which is read once per scrape. Labels are
update kinds, outcomes, error type names and Telegram status codes: never a person, a chat or a text.
"""

from __future__ import annotations

import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)

UPDATES = Counter(
    "meydan_updates",
    "Updates taken from Telegram, by kind (message, callback_query, ...) and outcome "
    "(handled, unhandled: no handler matched, duplicate: already handled, error)",
    ["kind", "outcome"],
)
UPDATE_SECONDS = Histogram(
    "meydan_update_seconds",
    "Time from taking an update to the end of its handling (the webhook answers after it), by kind",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
ERRORS = Counter(
    "meydan_errors",
    "Unexpected errors, by where (update, outbox) and the error's type name",
    ["where", "error"],
)
TELEGRAM_ERRORS = Counter(
    "meydan_telegram_errors",
    "Bot API calls refused by Telegram with 429 (flood limit) or 403 (blocked, kicked), by client "
    "(updates: replies while handling an update; outbox: the outbox worker)",
    ["client", "code"],
)
OUTBOX = Counter(
    "meydan_outbox_deliveries",
    "Outbox deliveries attempted by this process's worker, by outcome (sent, retried, unreachable, "
    "failed, limited: put off by a 429)",
    ["outcome"],
)
OUTBOX_PENDING = Gauge(
    "meydan_outbox_pending",
    "Outbox deliveries waiting (due or not yet due), read from the database at scrape time; the same "
    "figure on every process of one database",
)
OUTBOX_DUE = Gauge(
    "meydan_outbox_due",
    "Outbox deliveries due now and not sent yet, read from the database at scrape time",
)
SCRAPE_ERRORS = Counter("meydan_metrics_scrape_errors", "Scrapes whose outbox query failed")


async def read_outbox_depth(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Set the outbox gauges: two counts over the (status, priority, id) index of pending rows."""
    from storage.models import OutboxDelivery, utcnow

    async with sessions() as session:
        pending = OutboxDelivery.status == "pending"
        row = (
            await session.execute(
                select(
                    func.count(),
                    func.count().filter(OutboxDelivery.not_before <= utcnow()),
                ).where(pending)
            )
        ).one()
    OUTBOX_PENDING.set(row[0])
    OUTBOX_DUE.set(row[1])


def metrics_handler(sessions: async_sessionmaker[AsyncSession] | None):  # noqa: ANN201 - aiohttp handler
    async def handle(_request: web.Request) -> web.Response:
        if sessions is not None:
            try:
                await read_outbox_depth(sessions)
            except Exception as exc:  # the database is away: the rest of the figures still count
                SCRAPE_ERRORS.inc()
                log.warning("metrics outbox query failed error=%s", type(exc).__name__)
        body = generate_latest(REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    return handle


def add_route(app: web.Application, sessions: async_sessionmaker[AsyncSession] | None) -> None:
    app.router.add_get("/metrics", metrics_handler(sessions))


async def serve(sessions: async_sessionmaker[AsyncSession] | None, host: str, port: int) -> web.AppRunner:
    """A small server with `/metrics` alone (the worker, or a bot by long polling); stop it with
    `cleanup()`."""
    app = web.Application()
    add_route(app, sessions)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("metrics listening host=%s port=%s", host, port)
    return runner
