"""Processes (staff): the list, a process's summary and the creation form's preview, as pure functions
from plain values to text and markup. A process's key is an internal id: staff read its names only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from html import escape
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.i18n import when
from bot.services import processes
from bot.services.paging import Page
from bot.ui.callbacks import MenuCb, ProcessCb
from bot.ui.keyboards import grid, single_column
from bot.ui.paging import page_row
from storage.models import Neighborhood, Process

PAGE_SIZE = 5  # summaries per page: five of the longest names still fit in one message


class ProcessAction(StrEnum):
    LIST = "list"  # value: the page
    NEW = "new"


def place(hood: Neighborhood | None) -> str:
    """Who takes part: "Bostanlı, Karşıyaka" or the whole city."""
    if hood is None:
        return _("the whole city")
    return escape(f"{hood.name}, {hood.district.name}" if hood.district else hood.name)


def match_label(hood: Neighborhood) -> str:
    """A neighborhood among several matches, as staff may type it back: "Bostanlı (Karşıyaka)"."""
    return f"{hood.name} ({hood.district.name})" if hood.district else hood.name


def _state_label(state: str | None) -> str:
    return {
        processes.UPCOMING: _("not open yet"),
        processes.OPEN: _("open"),
        processes.CLOSED: _("closed"),
    }.get(state or "", _("no submission phase"))


def summary(process: Process, lang: str, zone: ZoneInfo, now: datetime | None = None) -> str:
    """A process in a few lines: its name, who takes part, when ideas are taken, the limit."""
    lines = [
        _("<b>{name}</b> · {scope}").format(
            name=escape(processes.name(process, lang)), scope=place(process.neighborhood)
        )
    ]
    span = processes.window(process)
    if span is not None:
        lines.append(
            _("Idea submission: {opens} → {closes} ({state})").format(
                opens=when(span.starts_at, zone, lang),
                closes=when(span.ends_at, zone, lang),
                state=_state_label(processes.submission_state(process, now)),
            )
        )
    lines.append(_("Ideas per person: {limit}").format(limit=process.idea_limit))
    return "\n".join(lines)


def list_text(shown: Sequence[Process], lang: str, zone: ZoneInfo) -> str:
    if not shown:
        return _("📅 <b>Processes</b>") + "\n\n" + _("No processes yet.")
    return "\n\n".join([_("📅 <b>Processes</b>"), *(summary(p, lang, zone) for p in shown)])


def list_keyboard(page: Page) -> InlineKeyboardMarkup:
    nav = page_row(page, lambda number: ProcessCb(action=ProcessAction.LIST, value=str(number)))
    rows = grid(
        [
            (_("➕ New process"), ProcessCb(action=ProcessAction.NEW)),
            (_("« Staff tools"), MenuCb(action="admin")),
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=[nav, *rows] if nav else rows)


def after_keyboard() -> InlineKeyboardMarkup:
    """Under a created process (or a cancelled form): back to the list or to the staff tools."""
    return single_column(
        [
            (_("📅 Processes"), ProcessCb(action=ProcessAction.LIST)),
            (_("« Staff tools"), MenuCb(action="admin")),
        ]
    )


def draft_text(
    names: dict[str, str],
    hood: Neighborhood | None,
    opens: datetime,
    closes: datetime,
    limit: int,
    lang: str,
    zone: ZoneInfo,
) -> str:
    """The form's preview: what will be created when staff press Send."""
    return "\n".join(
        [
            _("📅 <b>New process</b>"),
            _("Name (Turkish): {name}").format(name=escape(names["tr"])),
            _("Name (English): {name}").format(name=escape(names["en"])),
            _("Who takes part: {scope}").format(scope=place(hood)),
            _("Idea submission: {opens} → {closes}").format(
                opens=when(opens, zone, lang), closes=when(closes, zone, lang)
            ),
            _("Ideas per person: {limit}").format(limit=limit),
        ]
    )


def date_hint(zone_name: str) -> str:
    return _("Type the date and time in the city's time ({zone}), like 2026-12-01 09:00.").format(
        zone=zone_name
    )
