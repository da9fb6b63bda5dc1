"""`meydan sandbox` (what `scripts/run` starts without a token) comes up, serves the web chat, and
the bot answers a demo person by long polling."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

from bot.sandbox.client import SandboxClient
from bot.sandbox.runner import DEMO_PEOPLE
from tests.flows import command_env, stop_process


async def _wait_for_url(proc: asyncio.subprocess.Process) -> str:
    assert proc.stdout is not None
    while line := (await proc.stdout.readline()).decode():
        found = re.search(r"open (http://127\.0\.0\.1:\d+)/", line)
        if found:
            return found.group(1)
    stderr = (await proc.stderr.read()).decode() if proc.stderr else ""
    raise AssertionError(f"the sandbox did not start; stderr:\n{stderr}")


async def test_meydan_sandbox_runs_the_bot_and_web_chat(tmp_path: Path) -> None:
    env = command_env()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "sandbox",
        "--port",
        "0",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        url = await asyncio.wait_for(_wait_for_url(proc), 90)
        async with SandboxClient(url) as client:
            async with client.session.get(f"{url}/") as page:
                assert page.status == 200 and "<html" in (await page.text()).lower()
            people = {p["id"] for p in await client.people()}
            assert {p.id for p in DEMO_PEOPLE} <= people
            resident = DEMO_PEOPLE[1]
            sent = await client.send_text(resident.id, "/start", timeout=20)
            assert sent.handled
            view = await client.chat(resident.id)
            replies = [m for m in view.messages if m.from_bot]
            assert replies and "Meydan" in replies[-1].text  # a demo resident is already onboarded
        assert (tmp_path / "meydan-sandbox.db").exists()
    finally:
        await stop_process(proc)
