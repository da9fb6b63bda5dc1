"""The bot, the worker and the sandbox run on uvloop (a dependency where it has a build)."""

from __future__ import annotations

import asyncio

import pytest

from bot import loop


def test_a_long_running_process_runs_on_uvloop() -> None:
    pytest.importorskip("uvloop")

    async def running() -> str:
        await asyncio.sleep(0)
        return type(asyncio.get_running_loop()).__module__

    assert loop.run(running()).startswith("uvloop")
    assert loop.name() == "uvloop"


def test_without_uvloop_asyncio_runs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "uvloop", None)  # as where it is not installed

    async def running() -> str:
        return type(asyncio.get_running_loop()).__module__

    assert loop.run(running()).startswith("asyncio")
    assert loop.name() == "asyncio"
