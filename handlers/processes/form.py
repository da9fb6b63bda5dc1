"""Processes (staff): the list and a short creation form.

Staff only: everyone else gets a polite refusal, and every staff button re-checks the role here and in
the services. Later features add their entries to `hub_view`.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from aiogram import F
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import CitySpec
from bot.i18n import when
from bot.routing import Handlers
from bot.services import geography, processes
from bot.services.residents import Viewer
from bot.ui.callbacks import HoodCb, HubCb, MenuCb, ProcessCb
from bot.ui.errors import Refusal
from bot.ui.messages import replace
from storage.models import Process

handlers = Handlers()


# --- processes -------------------------------------------------------------------------------------


def _scope_text(process: Process) -> str:
    if process.neighborhood is None:
        return _("the whole city")
    return escape(f"{process.neighborhood.name}, {process.neighborhood.district.name}")


def _state_label(state: str | None) -> str:
    return {
        processes.UPCOMING: _("not open yet"),
        processes.OPEN: _("open"),
        processes.CLOSED: _("closed"),
    }.get(state or "", _("no submission phase"))


def process_summary(process: Process, lang: str, city: CitySpec) -> str:
    span = processes.window(process)
    lines = [
        _("<b>{name}</b> · {scope}").format(name=escape(processes.name(process, lang)), scope=_scope_text(process))
    ]
    if span is not None:
        lines.append(
            _("Idea submission: {opens} → {closes} ({state})").format(
                opens=when(span.starts_at, city.zone, lang),
                closes=when(span.ends_at, city.zone, lang),
                state=_state_label(processes.submission_state(process)),
            )
        )
    lines.append(_("Ideas per person: {limit}").format(limit=process.idea_limit))
    return "\n".join(lines)


@handlers.callback_query(ProcessCb.filter(F.action == "list"))
@handlers.callback_query(HubCb.filter(F.section == "processes"))
async def process_list(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, lang: str, city: CitySpec
) -> None:
    await state.clear()
    found = await processes.all_processes(session)
    lines = [_("📅 <b>Processes</b>"), ""]
    lines += [process_summary(p, lang, city) + "\n" for p in found[:15]] or [_("No processes yet.")]
    builder = InlineKeyboardBuilder()
    builder.button(text=_("➕ New process"), callback_data=ProcessCb(action="new"))
    builder.button(text=_("« Staff tools"), callback_data=MenuCb(action="admin"))
    builder.adjust(1)
    await replace(query.message, "\n".join(lines).strip(), builder.as_markup())


class ProcessForm(StatesGroup):
    name_tr = State()
    name_en = State()
    scope = State()
    neighborhood = State()
    opens = State()
    closes = State()
    limit = State()
    confirm = State()


def _cancel_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✖️ Cancel"), callback_data=ProcessCb(action="list"))
    return builder.as_markup()


def _date_hint(city: CitySpec) -> str:
    return _("Type the date and time in the city's time ({zone}), like 2026-12-01 09:00.").format(
        zone=city.timezone
    )


@handlers.callback_query(ProcessCb.filter(F.action == "new"))
async def new_process(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(ProcessForm.name_tr)
    await state.set_data({})
    await replace(
        query.message,
        _("📅 <b>New process</b>\nWhat is its name in Turkish?"),
        _cancel_keyboard(),
    )


async def _typed_name(message: Message) -> str | None:
    try:
        return processes.clean_names({"tr": message.text, "en": message.text})["tr"]
    except processes.BadName:
        await message.answer(
            _("Please type a name of at most {max} characters.").format(max=processes.NAME_MAX)
        )
        return None


@handlers.message(ProcessForm.name_tr, F.text)
async def typed_name_tr(message: Message, state: FSMContext) -> None:
    name = await _typed_name(message)
    if name is None:
        return
    await state.update_data(name_tr=name)
    await state.set_state(ProcessForm.name_en)
    await message.answer(_("And its name in English?"), reply_markup=_cancel_keyboard())


@handlers.message(ProcessForm.name_en, F.text)
async def typed_name_en(message: Message, state: FSMContext) -> None:
    name = await _typed_name(message)
    if name is None:
        return
    await state.update_data(name_en=name)
    await state.set_state(ProcessForm.scope)
    builder = InlineKeyboardBuilder()
    builder.button(text=_("🌆 The whole city"), callback_data=ProcessCb(action="scope", value="city"))
    builder.button(text=_("🏘 One neighborhood"), callback_data=ProcessCb(action="scope", value="hood"))
    builder.button(text=_("✖️ Cancel"), callback_data=ProcessCb(action="list"))
    builder.adjust(1)
    await message.answer(_("Who takes part?"), reply_markup=builder.as_markup())


@handlers.callback_query(ProcessForm.scope, ProcessCb.filter(F.action == "scope"))
async def chose_scope(
    query: CallbackQuery, callback_data: ProcessCb, state: FSMContext, city: CitySpec
) -> None:
    if callback_data.value == "hood":
        await state.set_state(ProcessForm.neighborhood)
        await replace(query.message, _("Type the neighborhood's name."), _cancel_keyboard())
        return
    await state.update_data(neighborhood_id=None)
    await state.set_state(ProcessForm.opens)
    await replace(
        query.message, _("When does idea submission open?") + "\n" + _date_hint(city), _cancel_keyboard()
    )


@handlers.message(ProcessForm.neighborhood, F.text)
async def typed_neighborhood(message: Message, session: AsyncSession) -> None:
    hoods = await geography.search_neighborhoods(session, message.text)
    if not hoods:
        await message.answer(
            _("I found no neighborhood called “{query}”. Check the spelling and type it again.").format(
                query=escape(message.text[:60])
            )
        )
        return
    builder = InlineKeyboardBuilder()
    for hood in hoods:
        builder.button(text=f"{hood.name} ({hood.district.name})", callback_data=HoodCb(id=hood.id))
    builder.adjust(1)
    await message.answer(_("Which one?"), reply_markup=builder.as_markup())


@handlers.callback_query(ProcessForm.neighborhood, HoodCb.filter())
async def chose_neighborhood(
    query: CallbackQuery, callback_data: HoodCb, state: FSMContext, session: AsyncSession, city: CitySpec
) -> None:
    hood = await geography.neighborhood(session, callback_data.id)
    if hood is None:
        raise Refusal(_("This button is out of date."))
    await state.update_data(neighborhood_id=hood.id)
    await state.set_state(ProcessForm.opens)
    await replace(
        query.message, _("When does idea submission open?") + "\n" + _date_hint(city), _cancel_keyboard()
    )


async def _typed_moment(message: Message, city: CitySpec) -> datetime | None:
    try:
        return processes.parse_local(message.text, city.zone)
    except processes.BadDate:
        await message.answer(_("That is not a date I can read.") + "\n" + _date_hint(city))
        return None


@handlers.message(ProcessForm.opens, F.text)
async def typed_opens(message: Message, state: FSMContext, city: CitySpec) -> None:
    moment = await _typed_moment(message, city)
    if moment is None:
        return
    try:
        processes.check_opening(moment, city.zone)
    except processes.InPast:
        await message.answer(_("That day has already passed. Please type today's date or a later one."))
        return
    await state.update_data(opens=moment.isoformat())
    await state.set_state(ProcessForm.closes)
    await message.answer(_("When does it close?") + "\n" + _date_hint(city), reply_markup=_cancel_keyboard())


@handlers.message(ProcessForm.closes, F.text)
async def typed_closes(message: Message, state: FSMContext, city: CitySpec, lang: str) -> None:
    moment = await _typed_moment(message, city)
    if moment is None:
        return
    opens = datetime.fromisoformat((await state.get_data())["opens"])
    try:
        processes.check_closing(opens, moment)
    except processes.InPast:
        await message.answer(_("That moment has already passed. Please type a date in the future."))
        return
    except processes.BadWindow:
        await message.answer(
            _("Submission must close after it opens ({opens}). Please type a later date.").format(
                opens=when(opens, city.zone, lang)
            )
        )
        return
    await state.update_data(closes=moment.isoformat())
    await state.set_state(ProcessForm.limit)
    builder = InlineKeyboardBuilder()
    for n in (1, 3, 5, 10):
        builder.button(text=str(n), callback_data=ProcessCb(action="limit", value=str(n)))
    builder.button(text=_("✖️ Cancel"), callback_data=ProcessCb(action="list"))
    builder.adjust(4, 1)
    await message.answer(
        _("How many ideas may each person send? Press a number or type one (1 to {max}).").format(
            max=processes.LIMIT_MAX
        ),
        reply_markup=builder.as_markup(),
    )


async def _confirm(
    event: Message | CallbackQuery, state: FSMContext, session: AsyncSession, lang: str, city: CitySpec
) -> None:
    data = await state.get_data()
    await state.set_state(ProcessForm.confirm)
    hood = (
        await geography.neighborhood(session, data["neighborhood_id"])
        if data.get("neighborhood_id")
        else None
    )
    text = "\n".join(
        [
            _("📅 <b>New process</b>"),
            _("Name (Turkish): {name}").format(name=escape(data["name_tr"])),
            _("Name (English): {name}").format(name=escape(data["name_en"])),
            _("Who takes part: {scope}").format(
                scope=escape(f"{hood.name}, {hood.district.name}") if hood else _("the whole city")
            ),
            _("Idea submission: {opens} → {closes}").format(
                opens=when(datetime.fromisoformat(data["opens"]), city.zone, lang),
                closes=when(datetime.fromisoformat(data["closes"]), city.zone, lang),
            ),
            _("Ideas per person: {limit}").format(limit=data["limit"]),
        ]
    )
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ Create"), callback_data=ProcessCb(action="create"))
    builder.button(text=_("✖️ Cancel"), callback_data=ProcessCb(action="list"))
    builder.adjust(2)
    if isinstance(event, CallbackQuery):
        await replace(event.message, text, builder.as_markup())
    else:
        await event.answer(text, reply_markup=builder.as_markup())


def _limit(value: str) -> int | None:
    value = value.strip()
    if not value.isdigit():
        return None
    number = int(value)
    return number if processes.LIMIT_MIN <= number <= processes.LIMIT_MAX else None


@handlers.callback_query(ProcessForm.limit, ProcessCb.filter(F.action == "limit"))
async def chose_limit(
    query: CallbackQuery,
    callback_data: ProcessCb,
    state: FSMContext,
    session: AsyncSession,
    lang: str,
    city: CitySpec,
) -> None:
    limit = _limit(callback_data.value)
    if limit is None:
        raise Refusal(_("This button is out of date."))
    await state.update_data(limit=limit)
    await _confirm(query, state, session, lang, city)


@handlers.message(ProcessForm.limit, F.text)
async def typed_limit(
    message: Message, state: FSMContext, session: AsyncSession, lang: str, city: CitySpec
) -> None:
    limit = _limit(message.text)
    if limit is None:
        await message.answer(
            _("Please type a whole number from {min} to {max}.").format(
                min=processes.LIMIT_MIN, max=processes.LIMIT_MAX
            )
        )
        return
    await state.update_data(limit=limit)
    await _confirm(message, state, session, lang, city)


@handlers.callback_query(ProcessForm.confirm, ProcessCb.filter(F.action == "create"))
async def create_process(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, viewer: Viewer, lang: str, city: CitySpec
) -> None:
    data: dict[str, Any] = await state.get_data()
    try:
        process = await processes.create(
            session,
            names={"tr": data["name_tr"], "en": data["name_en"]},
            opens_at=datetime.fromisoformat(data["opens"]),
            closes_at=datetime.fromisoformat(data["closes"]),
            neighborhood_id=data.get("neighborhood_id"),
            idea_limit=data["limit"],
            actor_id=viewer.resident.id,
        )
    except (processes.ProcessError, KeyError):
        await state.clear()
        await query.answer(_("This process could not be created; please start again."), show_alert=True)
        return
    await state.clear()
    await query.answer(_("Created."))
    builder = InlineKeyboardBuilder()
    builder.button(text=_("📅 Processes"), callback_data=ProcessCb(action="list"))
    builder.button(text=_("« Staff tools"), callback_data=MenuCb(action="admin"))
    builder.adjust(1)
    await replace(
        query.message,
        _("✅ Process created.") + "\n\n" + process_summary(process, lang, city),
        builder.as_markup(),
    )


@handlers.message(ProcessForm.name_tr)
@handlers.message(ProcessForm.name_en)
@handlers.message(ProcessForm.neighborhood)
@handlers.message(ProcessForm.opens)
@handlers.message(ProcessForm.closes)
@handlers.message(ProcessForm.limit)
async def process_text_expected(message: Message) -> None:
    await message.answer(_("Please type your answer as text, or send /cancel to stop."))


@handlers.message(ProcessForm.scope)
@handlers.message(ProcessForm.confirm)
async def process_button_expected(message: Message) -> None:
    await message.answer(_("Please use the buttons above, or send /cancel to stop."))
