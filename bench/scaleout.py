"""Meydan as several webhook instances behind nginx, with one `meydan worker`, on PostgreSQL and Redis.

For 1 and then 2 instances: a fresh PostgreSQL database (from ``BENCH_DATABASE_URL``) migrated and
loaded with the city before anything starts (as a rollout does), a Redis key prefix of its own (from
``BENCH_REDIS_URL``), the sandbox emulator in this process (rate limits off) delivering webhooks to
nginx, which runs ``deploy/nginx.conf`` (its "bench:" lines replaced by the instances' loopback ports
and a plain listener) in front of ``meydan run`` processes (``SCHEDULER=false``) and one ``meydan
worker``. The people run the onboarding and settings script of :mod:`bench.meydan`. Then a third run
with 2 instances kills one (SIGKILL) once about 40% of the updates are in: updates it was handling were
not answered 2xx, the emulator calls again as Telegram does, nginx sends them to the other instance,
and the checks say whether anything was lost or handled twice: every person's chat exactly as
expected, every update the emulator made either in ``processed_updates`` once or handled as a view (read
only, not recorded: ``meydan_updates_total{outcome="viewed"}`` of the instances), none left pending. A person
whose update was committed by the killed instance just before it died, and then delivered again, gets
the update's answers again (or, with none kept, the note that it came again;
`bot.middlewares.dedup`). The table reports the updates the live instances found handled already
("seen again", from their `/metrics`) and the repeats the people saw ("sent again": an answer that had
gone out before the kill and came again, or a note); the check counts the answers without the repeats.

    BENCH_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test \\
    BENCH_REDIS_URL=redis://127.0.0.1:6379/0 \\
    PYTHONPATH=. .venv/bin/python -m bench.scaleout [--people 100] [--rounds 2] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import shutil
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp

from bench.common import (
    BENCH_TOKEN,
    ROOT,
    Driver,
    DriveResult,
    client_api,
    create_people,
    format_table,
    running_emulator,
)
from bench.meydan import (
    DATABASE_URL_VARIABLE,
    _postgres_admin,
    _warm_up,
    resident_check,
    resident_script,
    sent_again,
)
from bot.loop import name as loop_name

REDIS_URL_VARIABLE = "BENCH_REDIS_URL"
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
SECRET = "bench-scaleout-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


def site_config(listen_port: int, instance_ports: Sequence[int]) -> str:
    """``deploy/nginx.conf`` with its "bench:" lines replaced: the instances, a plain loopback listener."""
    lines, upstream_done, listen_done = [], False, False
    for line in NGINX_CONF.read_text().splitlines():
        if line.rstrip().endswith("# bench: upstream"):
            if not upstream_done:
                lines += [
                    f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;" for port in instance_ports
                ]
                upstream_done = True
            continue
        if line.rstrip().endswith("# bench: listen"):
            if not listen_done:
                lines.append(f"    listen 127.0.0.1:{listen_port};")
                listen_done = True
            continue
        lines.append(line)
    if not (upstream_done and listen_done):
        raise RuntimeError(f"{NGINX_CONF}: the 'bench:' lines are missing")
    return "\n".join(lines) + "\n"


def main_config(directory: Path) -> str:
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {kind}_temp_path {directory / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{user}worker_processes 1;
pid {directory / "nginx.pid"};
error_log {directory / "error.log"} warn;
events {{ worker_connections 1024; }}
http {{
{temp}
    include {directory / "meydan.conf"};
}}
"""


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, user + system CPU seconds) of a process, or None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Process:
    name: str
    process: asyncio.subprocess.Process
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_s(self) -> float:
        """User + system CPU so far of the process and its child processes (nginx's worker), from /proc."""
        own = _stat(self.pid)
        if own is None:
            return math.nan
        total = own[1]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                child = _stat(int(entry.name))
                if child is not None and child[0] == self.pid:
                    total += child[1]
        return total

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


async def spawn(name: str, argv: Sequence[str], env: dict[str, str], logs: Path) -> Process:
    log = logs / f"{name}.log"
    handle = log.open("wb")
    process = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, stdout=handle, stderr=handle, cwd=str(ROOT), env=env
    )
    handle.close()
    return Process(name, process, log)


async def meydan_command(env: dict[str, str], *args: str) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=str(ROOT),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"meydan {' '.join(args)} failed: {output.decode()[-2000:]}")


async def wait_http(url: str, timeout: float = 240.0, process: Process | None = None) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if process is not None and process.process.returncode is not None:
                raise RuntimeError(f"{process.name} exited: {process.log.read_text()[-2000:]}")
            try:
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    tail = process.log.read_text()[-3000:] if process is not None else ""
    tail += "".join(p.read_text()[-1500:] for p in process.log.parent.glob("*.log")) if process else ""
    raise TimeoutError(f"{url} did not answer within {timeout} s {tail}")


async def scrape_updates(port: int, outcome: str | None = None) -> float:
    """Updates an instance counted (`meydan_updates_total`, every kind; every outcome, or `outcome`)."""
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/metrics") as response:
        text = await response.text()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("meydan_updates_total{") and (outcome is None or f'outcome="{outcome}"' in line)
    )


@dataclass
class Run:
    label: str
    instances: int
    drive: DriveResult
    handled: list[float]
    instance_cpu_s: float
    worker_cpu_s: float
    nginx_cpu_s: float
    killed: bool = False
    redelivered: int = 0
    seen_again: int = 0
    sent_again: int = 0
    emulator_updates: int = 0
    processed_rows: int = 0
    viewed: float = 0.0  # by the instances alive at the end, from their start
    pending_left: int = 0
    check: str = "ok"
    notes: list[str] = field(default_factory=list)

    @property
    def handled_total(self) -> float:
        return sum(self.handled)

    def row(self, base: Run | None) -> list[object]:
        d = self.drive
        per = self.handled_total or d.updates
        return [
            self.label,
            self.instances,
            d.updates,
            d.wall_s,
            d.updates_per_s,
            (d.updates_per_s / base.drive.updates_per_s) if base else 1.0,
            d.p50_ms,
            d.p99_ms,
            d.unanswered,
            " / ".join(f"{h:.0f}" for h in self.handled),
            self.instance_cpu_s * 1000 / per,
            self.worker_cpu_s * 1000 / per,
            self.nginx_cpu_s * 1000 / per,
            self.redelivered,
            self.seen_again,
            self.sent_again,
            f"{self.processed_rows} + {self.viewed:.0f}{' + ?' if self.killed else ''} / {self.emulator_updates}",
            self.check,
        ]


HEADER = (
    "run",
    "instances",
    "updates",
    "wall s",
    "updates/s",
    "scaling",
    "p50 ms",
    "p99 ms",
    "unanswered",
    "handled per instance",
    "instances CPU ms/update",
    "worker CPU ms/update",
    "nginx CPU ms/update",
    "redelivered",
    "seen again",
    "sent again",
    "recorded + viewed / updates made",
    "check",
)


async def measure(
    instances: int, people: int, rounds: int, server_url: str, redis_url: str, kill_at: float | None
) -> Run:
    from sqlalchemy import func, select
    from sqlalchemy.engine import make_url

    from bench.meydan import updates_per_person
    from bot.sandbox.state import FIRST_PERSON_ID
    from storage.db import make_engine, make_session_factory
    from storage.models import ProcessedUpdate

    nginx = nginx_binary()
    assert nginx is not None
    name = f"meydan_scale_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    await _postgres_admin(server_url, f'CREATE DATABASE "{name}"')
    database_url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    directory = Path(tempfile.mkdtemp(prefix="meydan-scaleout-"))
    started: list[Process] = []
    keep_logs = True
    try:
        async with running_emulator() as emulator, client_api(emulator.url) as client:
            emulator.hub.webhook_retries = 30  # Telegram keeps calling; here for up to about 30 s
            emulator.hub.webhook_backoff = 0.1
            emulator.hub.webhook_max_backoff = 2.0
            nginx_port = free_port()
            ports = [free_port() for _ in range(instances)]
            metrics_port = free_port()
            base_env = {
                **os.environ,
                "PYTHONPATH": str(ROOT),
                "BOT_TOKEN": BENCH_TOKEN,
                "TELEGRAM_API_URL": emulator.url,
                "DATABASE_URL": database_url,
                "REDIS_URL": redis_url,
                "REDIS_PREFIX": prefix,
                "WEBHOOK_URL": f"http://127.0.0.1:{nginx_port}",
                "WEBHOOK_SECRET": SECRET,
                "WEBHOOK_HOST": "127.0.0.1",
                "LOG_LEVEL": "WARNING",
                "STAFF_IDS": "",
                "STAFF_GROUP_ID": "",
                "CITY_FILE": str(ROOT / "cities" / "izmir.toml"),
            }
            # migrations and the city before any instance starts, as a rollout does
            await meydan_command(base_env, "db", "upgrade")
            await meydan_command(base_env, "city", "load", base_env["CITY_FILE"])
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
                (directory / kind).mkdir()
            (directory / "meydan.conf").write_text(site_config(nginx_port, ports))
            (directory / "nginx.conf").write_text(main_config(directory))
            proxy = await spawn(
                "nginx",
                [nginx, "-p", str(directory), "-c", str(directory / "nginx.conf"), "-g", "daemon off;"],
                base_env,
                directory,
            )
            started.append(proxy)
            worker = await spawn(
                "worker",
                [sys.executable, "-m", "bot", "worker"],
                {**base_env, "SCHEDULER": "true", "METRICS_PORT": str(metrics_port)},
                directory,
            )
            started.append(worker)
            bots = []
            for i, port in enumerate(ports):
                env = {**base_env, "SCHEDULER": "false", "WEBHOOK_PORT": str(port), "METRICS_PORT": ""}
                bots.append(await spawn(f"bot{i + 1}", [sys.executable, "-m", "bot", "run"], env, directory))
            started += bots
            for process, port in zip(bots, ports, strict=True):
                await wait_http(f"http://127.0.0.1:{port}/healthz", process=process)
            await wait_http(f"http://127.0.0.1:{nginx_port}/healthz", process=proxy)
            await wait_http(f"http://127.0.0.1:{metrics_port}/metrics", process=worker)
            await client.wait_for_delivery("webhook")

            ids = await create_people(client, people)
            driver = Driver(client, timeout=60.0)  # a person whose instance died waits out its lock
            await driver.run(ids, _warm_up)
            before = {p.name: p.cpu_s() for p in started}
            handled_before = [await scrape_updates(port) for port in ports]
            seen_before = [await scrape_updates(port, "duplicate") for port in ports]
            expected = sum(
                updates_per_person(rounds, i) for i in range(FIRST_PERSON_ID, FIRST_PERSON_ID + people)
            )
            killer = None
            if kill_at is not None:
                killer = asyncio.create_task(_kill_when(driver, bots[-1], expected * kill_at))
            drive = await driver.run(ids, resident_script(rounds))
            killed_cpu = None
            if killer is not None:
                killed_cpu = await killer
            after = {p.name: p.cpu_s() for p in started}
            handled = []
            viewed = 0.0
            seen_again = 0.0  # by the instances still alive
            for process, port, was, seen in zip(bots, ports, handled_before, seen_before, strict=True):
                if process.process.returncode is None:
                    handled.append(await scrape_updates(port) - was)
                    seen_again += await scrape_updates(port, "duplicate") - seen
                    viewed += await scrape_updates(port, "viewed")
                else:
                    handled.append(math.nan)
            instance_cpu = 0.0
            for process in bots:
                end = after[process.name]
                if math.isnan(end):  # killed: its CPU up to the kill
                    end = killed_cpu if killed_cpu is not None else before[process.name]
                instance_cpu += end - before[process.name]
            check = "ok"
            try:
                await resident_check(rounds)(client, ids)
            except AssertionError as exc:
                check = f"FAILED: {exc}"
            again = sum([sum(sent_again((await client.chat(person))["messages"])) for person in ids])
            made = emulator.hub.next_update_id - 1
            pending = len(emulator.hub.pending)
            engine = make_engine(database_url)
            try:
                async with make_session_factory(engine)() as session:
                    rows = int(await session.scalar(select(func.count()).select_from(ProcessedUpdate)) or 0)
            finally:
                await engine.dispose()
            known = [h for h in handled if not math.isnan(h)]
            if kill_at is not None:  # the killed instance's count died with it: the rest is its share
                handled = [*known, max(0.0, drive.updates - sum(known))]
            keep_logs = (
                check != "ok" or pending > 0 or not _all_counted(rows, viewed, made, kill_at is not None)
            )
            return Run(
                label=("kill one mid-run" if kill_at is not None else f"{instances} instance(s)"),
                instances=instances,
                drive=drive,
                handled=handled,
                instance_cpu_s=instance_cpu,
                worker_cpu_s=after["worker"] - before["worker"],
                nginx_cpu_s=after["nginx"] - before["nginx"],
                killed=kill_at is not None,
                redelivered=emulator.hub.webhook_failures,
                seen_again=round(seen_again),
                sent_again=again,
                emulator_updates=made,
                processed_rows=rows,
                viewed=viewed,
                pending_left=pending,
                check=check if pending == 0 else f"{check}; {pending} updates left pending",
            )
    finally:
        for process in reversed(started):
            await process.stop()
        await _postgres_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await _forget_redis(redis_url, prefix)
        if keep_logs:
            print(f"bench.scaleout: the processes' logs are kept in {directory}", file=sys.stderr)
        else:
            shutil.rmtree(directory, ignore_errors=True)


def _all_counted(rows: int, viewed: float, made: int, killed: bool) -> bool:
    """Every update made is recorded once or was handled as a view. The views of an instance killed
    mid-run died with it: then those of the others and the rows can only be no more than the updates."""
    return rows + viewed <= made if killed else rows + viewed == made


async def _kill_when(driver: Driver, victim: Process, after_updates: float) -> float:
    """SIGKILL `victim` once the driver has seen `after_updates` answers; its CPU just before."""
    while len(driver.latencies_s) < after_updates:
        await asyncio.sleep(0.05)
    cpu = victim.cpu_s()
    victim.process.send_signal(signal.SIGKILL)
    await victim.process.wait()
    return cpu


async def _forget_redis(url: str, prefix: str) -> None:
    from redis.asyncio import Redis

    redis = Redis.from_url(url)
    try:
        keys = [key async for key in redis.scan_iter(f"{prefix}:*")]
        for start in range(0, len(keys), 500):
            await redis.delete(*keys[start : start + 500])
    finally:
        await redis.aclose()


async def run(people: int, rounds: int, kill: bool, server_url: str, redis_url: str) -> list[Run]:
    runs = [
        await measure(1, people, rounds, server_url, redis_url, None),
        await measure(2, people, rounds, server_url, redis_url, None),
    ]
    if kill:
        runs.append(await measure(2, people, rounds, server_url, redis_url, 0.4))
    return runs


def table(runs: Sequence[Run]) -> str:
    return format_table(HEADER, [r.row(runs[0]) for r in runs])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=100, help="simulated people at once (100)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of settings, menu and help (2)")
    parser.add_argument("--no-kill", action="store_true", help="skip the run that kills an instance")
    parser.add_argument("--quick", action="store_true", help="a short run: 20 people, 1 round")
    args = parser.parse_args(argv)
    if args.quick:
        args.people, args.rounds = 20, 1
    if nginx_binary() is None:
        print(
            "bench.scaleout: nginx is not installed, so there is no load balancer to run: skipped. "
            "Install it (Debian: apt-get install nginx-light) and run again.",
            file=sys.stderr,
        )
        return 0
    server_url = os.environ.get(DATABASE_URL_VARIABLE)
    redis_url = os.environ.get(REDIS_URL_VARIABLE)
    if not server_url or not redis_url:
        print(
            f"bench.scaleout: set {DATABASE_URL_VARIABLE} (a PostgreSQL server where it may create and drop "
            f"databases) and {REDIS_URL_VARIABLE}",
            file=sys.stderr,
        )
        return 2
    runs = asyncio.run(run(args.people, args.rounds, not args.no_kill, server_url, redis_url))
    print(
        f"Meydan behind nginx, {date.today().isoformat()}, Python {platform.python_version()} on {loop_name()}, "
        f"{os.cpu_count()} cores, {args.people} people x (onboarding + {args.rounds} rounds), PostgreSQL + Redis"
    )
    print(table(runs))
    failed = [
        r
        for r in runs
        if r.check != "ok" or not _all_counted(r.processed_rows, r.viewed, r.emulator_updates, r.killed)
    ]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
