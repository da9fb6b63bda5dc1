"""Broadcast benchmark: one message to N residents through the outbox, delivered by `meydan worker`
against the sandbox emulator with its overall flood limit set to the worker's rate.

For each case (N recipients at R messages/s) it runs twice on a fresh SQLite file: straight through,
and with the worker killed (SIGKILL) half-way and a new one started at once (it is refused until the
lease expires, then takes over and finishes). It prints one table:

- **achieved/s**: messages the emulator accepted per second, from the first to the last (its own
  timestamps), and **÷ limit**: that over the emulator's overall limit (the straight run; for the kill
  run the wall time includes the downtime, so the rate is given without it: the time with no worker
  running — from the kill until the new worker's first message — is left out).
- **lost**: recipients with no message at the end; **repeats**: messages beyond one per recipient
  (only what the killed worker had sent but not recorded may repeat).
- **429s**: sends the emulator refused for a flood limit.
- **worker CPU ms/message**: CPU of the worker processes after their start-up, per message delivered.
- **emulator CPU ms/message**: CPU of this process (the emulator, and the wait for the end) over the
  same time, per message: at 1,000/s the emulator needs most of a core of its own.

Run: ``PYTHONPATH=. .venv/bin/python -m bench.broadcast`` (both cases), or
``--people 2000 --rate 100`` for one. The emulator runs in this process, the worker in its own.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456789:bench-token-AAAAAAAAAAAAAAAA"
CASES = ((20_000, 1000.0), (1_500, 30.0))
TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float:
    """User plus system CPU seconds of a running process (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


@dataclass
class Result:
    people: int
    limit: float
    kill: bool
    delivered: int
    lost: int
    repeats: int
    limited: int
    seconds: float
    downtime: float
    cpu: float
    harness_cpu: float = 0.0

    @property
    def achieved(self) -> float:
        active = self.seconds - self.downtime
        return (self.delivered + self.repeats - 1) / active if active > 0 else 0.0


class Worker:
    """`python -m bot worker` in its own process; `ready` once its outbox worker has started."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.proc: asyncio.subprocess.Process | None = None
        self.cpu_at_start = 0.0
        self.refused = False

    async def start(self, timeout: float = 60.0) -> bool:
        profile = os.environ.get("BENCH_PROFILE")  # a file: the worker runs under cProfile
        prefix = ["-m", "cProfile", "-o", profile] if profile else []
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *prefix,
            "-m",
            "bot",
            "worker",
            env=self.env,
            cwd=str(ROOT),
            stderr=asyncio.subprocess.PIPE,
        )
        assert self.proc.stderr is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = await asyncio.wait_for(self.proc.stderr.readline(), timeout)
            if not line:
                await self.proc.wait()
                self.refused = self.proc.returncode == 2
                return False
            if b"outbox worker started" in line:
                self.cpu_at_start = proc_cpu(self.proc.pid)
                asyncio.get_running_loop().create_task(self._drain())
                return True
        raise TimeoutError("the worker did not start")

    async def _drain(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        while await self.proc.stderr.readline():
            pass

    def cpu(self) -> float:
        assert self.proc is not None
        return proc_cpu(self.proc.pid) - self.cpu_at_start

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.proc.wait(), 20)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


async def _prepare(database_url: str, people: Sequence[int]) -> None:
    from sqlalchemy import insert

    from bot.app import prepare_database
    from bot.config import Settings
    from bot.services import outbox
    from bot.services.geography import by_keys
    from storage.models import Resident, utcnow

    engine, sessions, _city = await prepare_database(Settings(_env_file=None, database_url=database_url))
    try:
        async with sessions.begin() as session:
            hood = await by_keys(session, "konak", "pazaryeri")
            now = utcnow()
            rows = [
                {
                    "telegram_id": pid,
                    "language": ("tr", "en")[n % 2],
                    "neighborhood_id": hood.id,
                    "consent_at": now,
                    "onboarded_at": now,
                    "reachable": True,
                    "created_at": now,
                }
                for n, pid in enumerate(people)
            ]
            for start in range(0, len(rows), 5000):
                await session.execute(insert(Resident), rows[start : start + 5000])
            _message, count = await outbox.broadcast(
                session,
                outbox.Audience("city"),
                kind=outbox.BROADCAST,
                default_lang="tr",
                texts={"tr": "Park yarın açılıyor.", "en": "The park opens tomorrow."},
            )
            assert count == len(people)
    finally:
        await engine.dispose()


async def run_case(people_count: int, rate: float, kill: bool) -> Result:
    from bot.sandbox.emulator import Emulator, Limits

    limits = Limits(global_rate=rate, global_burst=max(30, int(rate * 0.05)))
    emulator = Emulator(token=TOKEN, limits=limits)
    refused = accepted = 0
    original = emulator.limiter.acquire

    def counting(chat_id: int) -> None:
        nonlocal refused, accepted
        try:
            original(chat_id)
        except Exception:
            refused += 1
            raise
        accepted += 1

    emulator.limiter.acquire = counting  # type: ignore[method-assign]
    await emulator.start("127.0.0.1", 0)
    with tempfile.TemporaryDirectory() as tmp:
        database_url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        people = [
            emulator.world.add_person(f"P{n}", language_code=("tr", "en")[n % 2]).id
            for n in range(people_count)
        ]
        await _prepare(database_url, people)
        env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
        env.update(
            PYTHONPATH=str(ROOT),
            BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=emulator.url,
            DATABASE_URL=database_url,
            OUTBOX_RATE=str(rate),
            SCHEDULER_LEASE_TTL="3",
            OUTBOX_CLAIM_TIMEOUT="3",
            LOG_LEVEL="INFO",
        )
        chats = [emulator.world.chats[pid] for pid in people]

        def delivered() -> int:
            return sum(1 for chat in chats if chat.messages)

        def done() -> bool:  # cheap while running (the emulator shares this process); checked at the end
            return accepted >= people_count and delivered() == people_count

        cpu = 0.0
        downtime = 0.0
        worker = Worker(env)
        assert await worker.start()
        harness_start = time.process_time()
        deadline = time.monotonic() + max(120.0, 4 * people_count / rate)
        killed_at: float | None = None
        while not done():
            if time.monotonic() > deadline:
                break
            if kill and killed_at is None and accepted >= people_count // 2:
                cpu += worker.cpu()
                await worker.kill()
                killed_at = time.time()
                worker = Worker(env)
                while not await worker.start():  # refused while the killed worker's lease runs
                    await asyncio.sleep(0.5)
                continue
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # anything still in flight
        harness = time.process_time() - harness_start
        cpu += worker.cpu()
        await worker.stop()
        sent = sorted(m.sent_at for chat in chats for m in chat.messages.values())
        if killed_at is not None:
            after = [t for t in sent if t > killed_at]
            before = [t for t in sent if t <= killed_at]
            if after and before:
                downtime = after[0] - before[-1]
        await emulator.stop()
    got = delivered()
    total = len(sent)
    return Result(
        people=people_count,
        limit=rate,
        kill=kill,
        delivered=got,
        lost=people_count - got,
        repeats=total - got,
        limited=refused,
        seconds=(sent[-1] - sent[0]) if len(sent) > 1 else 0.0,
        downtime=downtime,
        cpu=cpu,
        harness_cpu=harness,
    )


def table(results: Sequence[Result]) -> str:
    head = (
        "| recipients | limit/s | run | wall s | downtime s | achieved/s | ÷ limit | lost | repeats | 429s "
        "| worker CPU ms/message | emulator CPU ms/message |\n"
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    lines = [head]
    for r in results:
        lines.append(
            f"| {r.people:,} | {r.limit:,.0f} | {'kill + restart' if r.kill else 'straight'} | {r.seconds:.2f} "
            f"| {r.downtime:.2f} | {r.achieved:.1f} | {r.achieved / r.limit:.3f} | {r.lost} | {r.repeats} "
            f"| {r.limited} | {1000 * r.cpu / max(1, r.delivered + r.repeats):.3f} "
            f"| {1000 * r.harness_cpu / max(1, r.delivered + r.repeats):.3f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.broadcast", description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, help="recipients (with --rate; default: the two cases)")
    parser.add_argument("--rate", type=float, help="the emulator's overall limit and the worker's rate")
    parser.add_argument("--no-kill", action="store_true", help="skip the kill-and-restart runs")
    args = parser.parse_args(argv)
    cases = ((args.people, args.rate),) if args.people and args.rate else CASES
    results = []
    for people, rate in cases:
        for kill in (False,) if args.no_kill else (False, True):
            result = asyncio.run(run_case(people, rate, kill))
            print(table([result]).splitlines()[-1], file=sys.stderr, flush=True)
            results.append(result)
    print(table(results))


if __name__ == "__main__":
    main()
