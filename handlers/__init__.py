"""Handlers: one package per feature, each with a `make_router()` named in the feature manifest
(`bot/features.py`). A new Router tree is built for every Dispatcher, in the manifest's order."""

from __future__ import annotations

from collections.abc import Iterable

from aiogram import Router

from bot.features import Feature, activate, resolve


def routers(extra: Iterable[Feature] = ()) -> list[Router]:
    return [resolve(f.router)() for f in activate(extra) if f.router]
