"""How refusals of the results read (the results part of the error table)."""

from __future__ import annotations

from typing import Any

from aiogram.utils.i18n import gettext as _

from bot.i18n import when
from bot.services.budgets import results
from bot.ui.errors import refusal


@refusal.register
def _not_ready(error: results.ResultsNotReady, ctx: dict[str, Any]) -> str:
    city = ctx.get("city")
    if error.at is not None and city is not None:
        return _("Results are published when voting closes, on {date}.").format(
            date=when(error.at, city.zone, ctx.get("lang") or "tr")
        )
    return _("There are no results for this pot yet.")


@refusal.register
def _bad_receipt(error: results.BadReceipt, ctx: dict[str, Any]) -> str:
    return _("A receipt code has 8 letters and digits, like ABCD2345. Please type it again, or send /cancel.")


@refusal.register
def _being_counted(error: results.BeingCounted, ctx: dict[str, Any]) -> str:
    return _("⏳ The results are being counted; you will get a message when they are ready.")
