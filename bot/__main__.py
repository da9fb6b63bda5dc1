"""The `meydan` command: run the bot (or the sandbox), migrate, load a city, grant roles, tally."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Coroutine
from contextlib import suppress
from pathlib import Path
from typing import Any

from bot.config import ConfigError, Settings, load_city, load_settings
from bot.loop import run as run_on_loop
from bot.tally import cli as tally_cli

log = logging.getLogger("meydan")


def setup_logging(level: str = "INFO") -> None:
    """One line per event, key=value pairs, no personal data."""
    logging.basicConfig(
        level=level,
        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("aiogram.event", "apscheduler.executors.default", "aiohttp.access", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # SQL statements at DEBUG (their parameters are hidden by the engine), never result rows, which would
    # carry what people typed
    sql_level = logging.INFO if logging.getLevelName(level) == logging.DEBUG else logging.WARNING
    logging.getLogger("sqlalchemy.engine").setLevel(sql_level)


LEASE_HELD_HINT = (
    "Only one scheduler runs per database. If `meydan worker` runs it, start the bot instances with "
    "SCHEDULER=false; if a scheduler crashed, it is taken over once its lease expires (about 30 s)."
)


def _stop_requested() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT (Ctrl+C). Without it SIGTERM ends the process at once, and SIGINT
    cancels every task, the updates in hand among them.

    aiohttp's own `AppRunner(handle_signals=True)` raises `GracefulExit` out of the event loop: under
    `asyncio.run` that too cancels every task at once (and exits 1). Waiting on this event instead lets
    `AppRunner.cleanup()` stop the server in its order (below)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    with suppress(NotImplementedError):  # Windows: Ctrl+C ends it as before
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    return stop


async def _run(settings: Settings) -> int:
    from aiohttp import web

    from bot import metrics
    from bot.app import WEBHOOK_PATH, build, webhook_app
    from bot.loop import settle
    from bot.services.lease import LeaseHeld

    meydan = await build(settings)
    metrics_runner = None
    try:
        if settings.metrics_port:
            metrics_runner = await metrics.serve(
                meydan.sessions, settings.metrics_host, settings.metrics_port
            )
        if settings.scheduler:  # before anything is asked of Telegram: refused early, and clearly
            await meydan.scheduling.start()
        if settings.webhook_url:
            stop = _stop_requested()
            app = webhook_app(meydan)
            # on cleanup: close the listening socket (a new call is refused, so nginx passes it to another
            # instance), close idle connections, wait for the calls in hand up to the timeout, then
            # cancel what is left (rolled back; Telegram calls again)
            runner = web.AppRunner(app, shutdown_timeout=settings.webhook_stop_timeout)
            await runner.setup()
            await web.TCPSite(runner, settings.webhook_host, settings.webhook_port).start()
            await meydan.bot.set_webhook(
                settings.webhook_url + WEBHOOK_PATH,
                secret_token=meydan.webhook_secret,
                allowed_updates=meydan.dp.resolve_used_update_types(),
                max_connections=settings.webhook_max_connections,
            )
            await meydan.dp.emit_startup(bot=meydan.bot, **meydan.dp.workflow_data)
            settle()
            log.info("webhook listening host=%s port=%s", settings.webhook_host, settings.webhook_port)
            try:
                await stop.wait()
                log.info(
                    "stop requested: refusing new calls, up to %ss for those in hand",
                    settings.webhook_stop_timeout,
                )
            finally:
                await runner.cleanup()
            await meydan.dp.emit_shutdown(bot=meydan.bot, **meydan.dp.workflow_data)
            log.info("webhook stopped")
        else:
            await meydan.bot.delete_webhook()
            settle()
            # aiogram handles SIGTERM and SIGINT here: it stops fetching updates, emits the shutdown and
            # closes the bot's session, without waiting for the updates still being handled
            await meydan.dp.start_polling(meydan.bot, allowed_updates=meydan.dp.resolve_used_update_types())
    except LeaseHeld as exc:
        print(f"meydan: refusing to start: {exc}. {LEASE_HELD_HINT}", file=sys.stderr)
        return 2
    finally:
        if metrics_runner is not None:
            await metrics_runner.cleanup()
        await meydan.close()
    return 0


async def _worker(settings: Settings) -> int:
    """The scheduler and the outbox worker alone, for when the bot runs as several webhook instances.
    SIGTERM or Ctrl+C stops it cleanly: no new job or outbox batch, up to WORKER_STOP_TIMEOUT for those
    in hand, the lease released (the next worker takes over at once), exit 0. Exit 1 when the lease was
    lost to another process."""
    import handlers
    from bot import metrics
    from bot.app import make_scheduling, prepare_database
    from bot.loop import settle
    from bot.services.lease import LeaseHeld
    from bot.services.outbox import Signal

    stop = _stop_requested()
    engine, sessions, _city = await prepare_database(settings)
    handlers.routers()  # the active features: notification categories, and how notice buttons open
    scheduling = make_scheduling(settings, sessions, Signal())
    metrics_runner = None
    try:
        if settings.metrics_port:
            metrics_runner = await metrics.serve(sessions, settings.metrics_host, settings.metrics_port)
        try:
            await scheduling.start()
        except LeaseHeld as exc:
            print(f"meydan worker: refusing to start: {exc}. {LEASE_HELD_HINT}", file=sys.stderr)
            return 2
        settle()
        log.info("worker running")
        asked = asyncio.create_task(stop.wait())
        lost = asyncio.create_task(scheduling.stopped.wait())  # the lease lost to another process
        await asyncio.wait({asked, lost}, return_when=asyncio.FIRST_COMPLETED)
        asked.cancel()
        lost.cancel()
        if not stop.is_set():
            return 1
        log.info(
            "stop requested: no new jobs or outbox batches, up to %ss for those in hand",
            settings.worker_stop_timeout,
        )
        await scheduling.stop()
        log.info("worker stopped")
        return 0
    finally:
        if metrics_runner is not None:
            await metrics_runner.cleanup()
        await scheduling.stop()
        await engine.dispose()


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.bot_token:
        print("meydan worker: BOT_TOKEN is not set", file=sys.stderr)
        return 2
    return run_on_loop(_worker(settings))


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.bot_token:
        from bot.sandbox.runner import production_signs

        signs = production_signs(settings)
        if signs:
            print(
                f"meydan: BOT_TOKEN is not set but {', '.join(signs)} is: refusing to start "
                "(set BOT_TOKEN, or unset those to try the sandbox).",
                file=sys.stderr,
            )
            return 2
        print(
            "BOT_TOKEN is not set: starting the sandbox instead (a local Telegram stand-in).", file=sys.stderr
        )
        return cmd_sandbox(args, settings)
    return run_on_loop(_run(settings))


def cmd_sandbox(args: argparse.Namespace, settings: Settings) -> int:
    from bot.sandbox.runner import run_sandbox

    port = getattr(args, "port", None)
    run_on_loop(run_sandbox(settings, port=settings.sandbox_port if port is None else port))
    return 0


def _with_db(settings: Settings, work: Callable[[Any], Coroutine[Any, Any, int]]) -> int:
    async def main() -> int:
        from storage import migrate
        from storage.db import make_engine, make_session_factory

        engine = make_engine(settings.database_url)
        try:
            await migrate.upgrade(engine)
            sessions = make_session_factory(engine)
            return await work(sessions)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    from storage import migrate
    from storage.db import make_engine

    async def main() -> int:
        engine = make_engine(settings.database_url)
        try:
            if args.action == "upgrade":
                await migrate.upgrade(engine, args.revision or "head")
            elif args.action == "downgrade":
                if not args.revision:
                    print("downgrade needs a revision", file=sys.stderr)
                    return 2
                await migrate.downgrade(engine, args.revision)
            print(f"database at revision {await migrate.current(engine)}")
            return 0
        finally:
            await engine.dispose()

    return asyncio.run(main())


def cmd_city(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services import city as city_service

    if args.action == "load":
        spec = load_city(args.file)

        async def load(sessions: Any) -> int:
            async with sessions.begin() as session:
                report = await city_service.load(session, spec)
            print(f"{spec.key}: {report.summary()}")
            return 0

        return _with_db(settings, load)

    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{args.file}: cannot read ({exc})") from None

    async def import_csv(sessions: Any) -> int:
        async with sessions.begin() as session:
            report = await city_service.import_neighborhoods(session, text, source=args.file)
        print(
            f"{args.file}: {report.created} neighborhoods created, {report.renamed} renamed or reactivated, "
            f"{report.unchanged} unchanged, {report.districts_created} districts created"
        )
        return 0

    return _with_db(settings, import_csv)


async def _neighborhood_option(session: Any, value: str | None) -> int | None:
    """The id for a --neighborhood DISTRICT/NEIGHBORHOOD option; None when absent, 0 (said) when unknown."""
    from bot.services import geography

    if not value:
        return None
    district_key, _, hood_key = value.partition("/")
    hood = await geography.by_keys(session, district_key, hood_key)
    if hood is None:
        print(f"--neighborhood: no neighborhood {value!r} (DISTRICT/NEIGHBORHOOD keys)", file=sys.stderr)
        return 0
    return hood.id


def cmd_admin(args: argparse.Namespace, settings: Settings) -> int:

    from bot.services import residents, roles

    async def work(sessions: Any) -> int:
        async with sessions.begin() as session:
            known = await residents.get_or_create(session, args.telegram_id)
            hood_id = await _neighborhood_option(session, args.neighborhood)
            if hood_id == 0:
                return 2
            try:
                if args.action == "grant":
                    changed = await roles.grant(session, known.resident, args.role, neighborhood_id=hood_id)
                else:
                    changed = await roles.revoke(session, known.resident, args.role, neighborhood_id=hood_id)
            except roles.RoleError as exc:
                print(f"ROLE: {exc}", file=sys.stderr)
                return 2
        verb = "granted" if args.action == "grant" else "revoked"
        print(f"{args.role} {verb} for {args.telegram_id}" if changed else "nothing to change")
        return 0

    return _with_db(settings, work)


def cmd_process(args: argparse.Namespace, settings: Settings) -> int:

    from bot.i18n import when
    from bot.services import processes
    from storage.models import utcnow

    spec = load_city(settings.city_file)

    async def create(sessions: Any) -> int:
        try:
            opens = processes.parse_local(args.opens, spec.zone)
            closes = processes.parse_local(args.closes, spec.zone)
        except processes.BadDate as exc:
            print(f"--opens/--closes: {exc}", file=sys.stderr)
            return 2
        async with sessions.begin() as session:
            hood_id = await _neighborhood_option(session, args.neighborhood)
            if hood_id == 0:
                return 2
            try:
                process = await processes.create(
                    session,
                    key=args.key,
                    names={"tr": args.name_tr, "en": args.name_en},
                    opens_at=opens,
                    closes_at=closes,
                    neighborhood_id=hood_id,
                    idea_limit=args.limit,
                )
            except processes.ProcessError as exc:
                print(f"process: {exc}", file=sys.stderr)
                return 2
        print(f"process {process.key} created (id {process.id})")
        return 0

    async def listing(sessions: Any) -> int:
        async with sessions() as session:
            found = await processes.all_processes(session)
        if not found:
            print("no processes")
        for process in found:
            span = processes.window(process)
            scope = process.neighborhood.name if process.neighborhood else "city"
            window = (
                f"{when(span.starts_at, spec.zone, 'en')} → {when(span.ends_at, spec.zone, 'en')} ({span.state(utcnow())})"
                if span
                else "no submission phase"
            )
            print(
                f"{process.key}\t{processes.name(process, 'en')}\t{scope}\tlimit {process.idea_limit}\t{window}"
            )
        return 0

    from bot import budget_cli

    if args.action in budget_cli.ACTIONS:
        return budget_cli.run(args, settings, lambda work: _with_db(settings, work))
    return _with_db(settings, create if args.action == "create" else listing)


def cmd_tally(args: argparse.Namespace, settings: Settings) -> int:
    return tally_cli.run(args)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="meydan", description="Meydan: a chat-bot participation channel for cities."
    )
    sub = p.add_subparsers(dest="command")

    run = sub.add_parser("run", help="run the bot (the sandbox when BOT_TOKEN is not set)")
    run.add_argument("--port", type=int, default=None, help="sandbox port (when no BOT_TOKEN)")
    run.set_defaults(func=cmd_run)

    worker = sub.add_parser(
        "worker",
        help="run the scheduler and the outbox worker alone (bot instances then run with SCHEDULER=false)",
    )
    worker.set_defaults(func=cmd_worker)

    sandbox = sub.add_parser("sandbox", help="run the local Telegram stand-in with the bot and the web chat")
    sandbox.add_argument("--port", type=int, default=None, help="port of the web chat and emulator")
    sandbox.set_defaults(func=cmd_sandbox)

    db = sub.add_parser("db", help="database schema migrations")
    db.add_argument("action", choices=["upgrade", "downgrade", "current"])
    db.add_argument("revision", nargs="?")
    db.set_defaults(func=cmd_db)

    city = sub.add_parser("city", help="load a city file or import neighborhoods")
    city_sub = city.add_subparsers(dest="action", required=True)
    load = city_sub.add_parser("load", help="load or update the city from a TOML file (idempotent)")
    load.add_argument("file")
    imp = city_sub.add_parser(
        "import-neighborhoods", help="add neighborhoods from a district,neighborhood CSV"
    )
    imp.add_argument("file")
    city.set_defaults(func=cmd_city)

    admin = sub.add_parser("admin", help="grant or revoke a role")
    admin.add_argument("action", choices=["grant", "revoke"])
    admin.add_argument("telegram_id", type=int)
    admin.add_argument("role", help="staff, coordinator or organiser")
    admin.add_argument(
        "--neighborhood", help="DISTRICT/NEIGHBORHOOD keys, for a coordinator (e.g. konak/pazaryeri)"
    )
    admin.set_defaults(func=cmd_admin)

    process = sub.add_parser("process", help="create or list participation processes")
    process_sub = process.add_subparsers(dest="action", required=True)
    create = process_sub.add_parser("create", help="create a process with its idea submission window")
    create.add_argument("--key", help="a stable key (a-z, 0-9, -); derived from the English name when absent")
    create.add_argument("--name-tr", required=True, help="the name in Turkish")
    create.add_argument("--name-en", required=True, help="the name in English")
    create.add_argument("--opens", required=True, help='submission opens, city time: "YYYY-MM-DD HH:MM"')
    create.add_argument("--closes", required=True, help='submission closes, city time: "YYYY-MM-DD HH:MM"')
    create.add_argument("--neighborhood", help="DISTRICT/NEIGHBORHOOD keys for a one-neighborhood process")
    create.add_argument("--limit", type=int, default=3, help="ideas per resident (default 3)")
    process_sub.add_parser("list", help="list processes and their submission windows")
    from bot import budget_cli

    budget_cli.add_arguments(process_sub)
    process.set_defaults(func=cmd_process)

    tally = sub.add_parser("tally", help="tally a Pabulib .pb election")
    tally_cli.add_arguments(tally)
    tally.set_defaults(func=cmd_tally)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
        setup_logging(settings.log_level)
        func = getattr(args, "func", cmd_run)
        return func(args, settings)
    except ConfigError as exc:
        print(f"meydan: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
