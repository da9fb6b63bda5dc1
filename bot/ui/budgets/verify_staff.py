"""Staff: a budgeting process's verification level and its one-time codes. Buttons show by the same
predicates the services enforce (`StaffView.can_change`, `StaffView.can_make_codes`)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from aiogram.fsm.state import State, StatesGroup
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.services import processes
from bot.services.budgets import rules
from bot.services.budgets.verification import MAX_CHAT_CODES, StaffView
from bot.ui.budgets.callbacks import Level, VerifyStaffAction, VerifyStaffCb
from bot.ui.callbacks import MenuCb
from bot.ui.keyboards import button
from storage.models import Process


class StaffVerify(StatesGroup):
    count = State()  # how many codes (data: PROCESS_KEY)


PROCESS_KEY = "codes_process"


def level_name(level: str) -> str:
    return {
        rules.NONE: _("one Telegram account"),
        rules.PHONE: _("phone number"),
        rules.CODE: _("one-time code"),
    }.get(level, level)


def list_text(found: Sequence[Process]) -> str:
    head = _("🔐 <b>Voting verification</b>")
    if not found:
        return head + "\n\n" + _("No process has a budget yet.")
    return head + "\n\n" + _("How does each person prove they vote once? Choose a process.")


def list_keyboard(found: Sequence[Process], lang: str) -> InlineKeyboardMarkup:
    rows = [
        [
            button(
                f"{processes.name(p, lang)} · {level_name(p.verification)}",
                VerifyStaffCb(action=VerifyStaffAction.OPEN, process=p.id),
            )
        ]
        for p in found
    ]
    rows.append([button(_("« Staff tools"), MenuCb(action="admin"))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def process_text(view: StaffView, lang: str) -> str:
    lines = [
        f"🔐 <b>{escape(processes.name(view.process, lang))}</b>",
        _("Verification: {level}").format(level=level_name(view.level)),
        _("Ballots: {count}").format(count=view.ballots),
    ]
    if view.level == rules.CODE or view.codes.made:
        lines.append(
            _("One-time codes: {made} made, {used} used").format(made=view.codes.made, used=view.codes.used)
        )
    if not view.can_change:
        lines.append(_("Voting has begun: the verification level can no longer change."))
    return "\n".join(lines)


def process_keyboard(view: StaffView) -> InlineKeyboardMarkup:
    pid = view.process.id
    rows = []
    if view.can_change:
        for level in Level:
            if level != view.level:
                label = _("Use: {level}").format(level=level_name(level))
                rows.append(
                    [button(label, VerifyStaffCb(action=VerifyStaffAction.LEVEL, process=pid, level=level))]
                )
    if view.can_make_codes:
        rows.append(
            [button(_("🎟 Make one-time codes"), VerifyStaffCb(action=VerifyStaffAction.CODES, process=pid))]
        )
    rows.append([button(_("« Processes"), VerifyStaffCb(action=VerifyStaffAction.LIST))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def ask_count_text(name: str) -> str:
    return _("How many one-time codes for {process}? Type a number from 1 to {most}.").format(
        process=escape(name), most=MAX_CHAT_CODES
    )


def codes_caption(count: int, name: str) -> str:
    return _(
        "🎟 {count} one-time codes for {process}. This file is the only copy of the codes: keep it safe "
        "and hand out one code per person."
    ).format(count=count, process=escape(name))
