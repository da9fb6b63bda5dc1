"""Ideas, the resident side: the ideas menu, the submission form, browsing and supporting, my ideas.

The form keeps its draft in the conversation state (stored in the database), so it survives a restart;
/cancel discards it. Every rule is checked again by the service when the idea is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

from aiogram import Bot, F
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import CitySpec, Settings
from bot.i18n import when
from bot.routing import Handlers
from bot.services import geography, ideas, notices, processes, residents
from bot.services.paging import Page
from bot.services.residents import Viewer
from bot.ui.callbacks import BrowseCb, IdeaCb, MenuCb
from bot.ui.cards import refresh_card, send_card, show_card
from bot.ui.errors import Refusal
from bot.ui.ideas.cards import draft_card, idea_card, idea_label, list_line, status_label
from bot.ui.ideas.errors import _name, closed_text, invalid_text, refusal_text
from bot.ui.ideas.moderation import group_card
from bot.ui.messages import replace
from bot.ui.paging import page_row
from storage.models import Idea, Neighborhood, Process

handlers = Handlers()

PAGE_SIZE = 5


class IdeaForm(StatesGroup):
    theme = State()
    title = State()
    similar = State()
    description = State()
    photo = State()
    location = State()
    scope = State()
    preview = State()


STEPS = ("theme", "title", "description", "photo", "location", "scope")
STATES = {
    "theme": IdeaForm.theme,
    "title": IdeaForm.title,
    "description": IdeaForm.description,
    "photo": IdeaForm.photo,
    "location": IdeaForm.location,
    "scope": IdeaForm.scope,
    "preview": IdeaForm.preview,
}


# --- shared pieces ---------------------------------------------------------------------------------


def _leave_button(data: dict[str, Any]) -> InlineKeyboardButton:
    """Under a step: back to the preview while editing from it, else Cancel (discard the draft)."""
    if data.get("editing"):
        return InlineKeyboardButton(
            text=_("« Back to the preview"), callback_data=IdeaCb(action="preview").pack()
        )
    return InlineKeyboardButton(text=_("✖️ Cancel"), callback_data=IdeaCb(action="cancel").pack())


def _home_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✍️ Share an idea"), callback_data=IdeaCb(action="new"))
    builder.button(text=_("🔎 Browse ideas"), callback_data=IdeaCb(action="browse"))
    builder.button(text=_("📋 My ideas"), callback_data=IdeaCb(action="mine"))
    builder.button(text=_("« Menu"), callback_data=MenuCb(action="menu"))
    builder.adjust(1)
    return builder.as_markup()


def _after_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("📋 My ideas"), callback_data=IdeaCb(action="mine"))
    builder.button(text=_("💡 Ideas"), callback_data=IdeaCb(action="home"))
    builder.button(text=_("« Menu"), callback_data=MenuCb(action="menu"))
    builder.adjust(1)
    return builder.as_markup()


async def _hood(session: AsyncSession, viewer: Viewer) -> Neighborhood | None:
    if viewer.resident.neighborhood_id is None:
        return None
    return await geography.neighborhood(session, viewer.resident.neighborhood_id)


# --- the ideas menu --------------------------------------------------------------------------------


async def home_text(session: AsyncSession, viewer: Viewer, lang: str, city: CitySpec) -> str:
    view = await processes.outlook(session, viewer.resident.neighborhood_id)
    lines = [_("💡 <b>Ideas</b>")]
    for process in view.open:
        span = processes.window(process)
        lines.append(
            _("“{process}”: ideas are welcome until {date}.").format(
                process=_name(process, lang), date=when(span.ends_at, city.zone, lang)
            )
        )
    if not view.open:
        if view.next_opening is not None:
            span = processes.window(view.next_opening)
            lines.append(
                _("“{process}”: idea submission opens on {date}.").format(
                    process=_name(view.next_opening, lang), date=when(span.starts_at, city.zone, lang)
                )
            )
        elif view.last_closed is not None:
            span = processes.window(view.last_closed)
            lines.append(
                _("“{process}”: idea submission closed on {date}.").format(
                    process=_name(view.last_closed, lang), date=when(span.ends_at, city.zone, lang)
                )
            )
        else:
            lines.append(_("No idea collection is running right now."))
    lines.append(_("Share an idea for your neighborhood or the city, or support the ideas of others."))
    return "\n".join(lines)


async def _not_onboarded(event: Message | CallbackQuery, viewer: Viewer) -> bool:
    if residents.is_onboarded(viewer.resident):
        return False
    text = _("Let's set you up first: send /start.")
    if isinstance(event, CallbackQuery):
        await event.answer(text, show_alert=True)
    else:
        await event.answer(text)
    return True


@handlers.message(Command("ideas"))
async def ideas_command(
    message: Message, state: FSMContext, session: AsyncSession, viewer: Viewer, lang: str, city: CitySpec
) -> None:
    if await _not_onboarded(message, viewer):
        return
    await state.clear()
    await message.answer(await home_text(session, viewer, lang, city), reply_markup=_home_keyboard())


@handlers.callback_query(MenuCb.filter(F.action == "ideas"))
@handlers.callback_query(IdeaCb.filter(F.action == "home"))
async def ideas_home(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, viewer: Viewer, lang: str, city: CitySpec
) -> None:
    if await _not_onboarded(query, viewer):
        return
    await state.clear()
    await replace(query.message, await home_text(session, viewer, lang, city), _home_keyboard())


# --- starting the form -----------------------------------------------------------------------------


@handlers.callback_query(IdeaCb.filter(F.action == "new"))
async def new_idea(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, viewer: Viewer, lang: str, city: CitySpec
) -> None:
    if await _not_onboarded(query, viewer):
        return
    view = await processes.outlook(session, viewer.resident.neighborhood_id)
    if not view.open:
        await query.message.answer(closed_text(ideas.not_open(view), lang, city))
        return
    if len(view.open) > 1:
        builder = InlineKeyboardBuilder()
        for process in view.open:
            builder.button(
                text=processes.name(process, lang), callback_data=IdeaCb(action="process", id=process.id)
            )
        builder.button(text=_("« Ideas"), callback_data=IdeaCb(action="home"))
        builder.adjust(1)
        await replace(query.message, _("Which process is your idea for?"), builder.as_markup())
        return
    await _start_form(query, state, session, viewer, lang, city, view.open[0].id)


@handlers.callback_query(IdeaCb.filter(F.action == "process"))
async def chose_process(
    query: CallbackQuery,
    callback_data: IdeaCb,
    state: FSMContext,
    session: AsyncSession,
    viewer: Viewer,
    lang: str,
    city: CitySpec,
) -> None:
    if await _not_onboarded(query, viewer):
        return
    await _start_form(query, state, session, viewer, lang, city, callback_data.id)


async def _start_form(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    viewer: Viewer,
    lang: str,
    city: CitySpec,
    process_id: int,
) -> None:
    process = await processes.get(session, process_id)
    try:
        await ideas.check_can_submit(session, viewer.resident, process)
    except ideas.IdeaError as error:
        await query.message.answer(refusal_text(error, lang, city))
        return
    await state.clear()
    await state.set_data({"process_id": process_id, "scope": ideas.SCOPE_NEIGHBORHOOD})
    await _go(query, state, session, viewer, lang, city, "theme")


# --- moving between steps --------------------------------------------------------------------------


def _steps(process: Process) -> list[str]:
    return [s for s in STEPS if s != "scope" or process.scope == processes.CITY]


def _next_step(step: str, data: dict[str, Any], process: Process) -> str:
    if data.get("editing"):
        return "preview"
    steps = _steps(process)
    index = steps.index(step) + 1
    return steps[index] if index < len(steps) else "preview"


def _step_line(step: str, process: Process) -> str:
    steps = _steps(process)
    return _("Step {number} of {total}").format(number=steps.index(step) + 1, total=len(steps))


async def _prompt(
    step: str, data: dict[str, Any], session: AsyncSession, viewer: Viewer, lang: str, process: Process
) -> tuple[str, InlineKeyboardMarkup]:
    """The question of one step and its buttons."""
    builder = InlineKeyboardBuilder()
    head = _("✍️ <b>New idea</b> · {process}").format(process=_name(process, lang))
    line = _step_line(step, process) if step in STEPS else ""
    if step == "theme":
        for theme in await ideas.themes(session):
            mark = "✓ " if theme.id == data.get("theme_id") else ""
            builder.button(
                text=mark + ideas.theme_name(theme, lang), callback_data=IdeaCb(action="theme", id=theme.id)
            )
        text = _("Which theme does your idea belong to?")
    elif step == "title":
        text = _("Give your idea a short title (at most {max} characters).").format(max=ideas.TITLE_MAX)
        if data.get("editing") and data.get("title"):
            text += "\n" + _("Now: {value}").format(value=escape(data["title"]))
    elif step == "description":
        text = _("Describe your idea: what should change, where, and why (at most {max} characters).").format(
            max=ideas.DESCRIPTION_MAX
        )
    elif step == "photo":
        text = _("Send a photo of the place or of your idea, if you have one. This is optional.")
        builder.button(
            text=_("Remove the photo") if data.get("photo") else _("Skip ⏭"),
            callback_data=IdeaCb(action="skip"),
        )
    elif step == "location":
        text = _(
            "If your idea is about a particular place, share its location (📎 → Location). This is optional."
        )
        builder.button(
            text=_("Remove the location") if data.get("latitude") is not None else _("Skip ⏭"),
            callback_data=IdeaCb(action="skip"),
        )
    else:  # scope
        hood = await _hood(session, viewer)
        text = _("Is your idea for your neighborhood or for the whole city?")
        builder.button(
            text=_("🏘 My neighborhood: {place}").format(place=hood.name if hood else "—"),
            callback_data=IdeaCb(action="scope", value=ideas.SCOPE_NEIGHBORHOOD),
        )
        builder.button(
            text=_("🌆 The whole city"), callback_data=IdeaCb(action="scope", value=ideas.SCOPE_CITY)
        )
    builder.adjust(1)
    builder.row(_leave_button(data))
    return "\n".join(p for p in (head, line, text) if p), builder.as_markup()


def _preview_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("📨 Send"), callback_data=IdeaCb(action="send"))
    builder.button(text=_("✏️ Edit"), callback_data=IdeaCb(action="edit"))
    builder.button(text=_("🗑 Discard"), callback_data=IdeaCb(action="cancel"))
    builder.adjust(2, 1)
    return builder.as_markup()


async def _go(
    event: Message | CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    viewer: Viewer,
    lang: str,
    city: CitySpec,
    step: str,
) -> None:
    """Move the form to `step` and ask its question (editing the message after a button press)."""
    data = await state.get_data()
    process = await _form_process(event, state, session, data)
    if process is None:
        return
    await state.set_state(STATES[step])
    if step == "preview":
        await state.update_data(editing=False)
        data["editing"] = False
        theme = await ideas.theme(session, data.get("theme_id", 0))
        hood = await _hood(session, viewer)

        def render(limit: int) -> str:
            located = data.get("latitude") is not None
            return draft_card(
                {**data, "location": [data["latitude"], data["longitude"]] if located else None},
                process=process,
                theme=ideas.theme_name(theme, lang) if theme else "—",
                hood=hood,
                spot=None,
                lang=lang,
                limit=limit,
            )

        message = event.message if isinstance(event, CallbackQuery) else event
        if isinstance(event, CallbackQuery) and not data.get("photo"):
            await show_card(event.message, render, None, _preview_keyboard())
        else:
            await send_card(message.bot, message.chat.id, render, data.get("photo"), _preview_keyboard())
        return
    text, keyboard = await _prompt(step, data, session, viewer, lang, process)
    if isinstance(event, CallbackQuery):
        await replace(event.message, text, keyboard)
    else:
        await event.answer(text, reply_markup=keyboard)


async def _form_process(
    event: Message | CallbackQuery, state: FSMContext, session: AsyncSession, data: dict[str, Any]
) -> Process | None:
    """The process the draft is for; when it is gone, the draft is dropped and the person told."""
    process = await processes.get(session, data.get("process_id", 0))
    if process is None:
        await state.clear()
        text = _("This idea collection no longer exists. Nothing was saved.")
        await (event.message.answer(text) if isinstance(event, CallbackQuery) else event.answer(text))
    return process


async def _advance(
    event: Message | CallbackQuery,
    step: str,
    state: FSMContext,
    session: AsyncSession,
    viewer: Viewer,
    lang: str,
    city: CitySpec,
) -> None:
    data = await state.get_data()
    process = await _form_process(event, state, session, data)
    if process is not None:
        await _go(event, state, session, viewer, lang, city, _next_step(step, data, process))


# --- the steps -------------------------------------------------------------------------------------


@handlers.callback_query(IdeaForm.theme, IdeaCb.filter(F.action == "theme"))
async def chose_theme(
    query: CallbackQuery,
    callback_data: IdeaCb,
    state: FSMContext,
    session: AsyncSession,
    viewer: Viewer,
    lang: str,
    city: CitySpec,
) -> None:
    theme = await ideas.theme(session, callback_data.id)
    if theme is None:
        raise Refusal(_("This button is out of date."))
    await state.update_data(theme_id=theme.id)
    await _advance(query, "theme", state, session, viewer, lang, city)


async def _typed(message: Message, clean: Callable[[str], str], command_hint: str) -> str | None:
    """A typed field, cleaned by the service's rule; None (and the person told why) when it fails."""
    if message.text.startswith("/"):
        await message.answer(command_hint)
        return None
    try:
        return clean(message.text)
    except ideas.Invalid as error:
        await message.answer(invalid_text(error))
        return None


@handlers.message(IdeaForm.title, F.text)
async def typed_title(
    message: Message, state: FSMContext, session: AsyncSession, viewer: Viewer, lang: str, city: CitySpec
) -> None:
    title = await _typed(
        message, ideas.clean_title, _("Please type the title as text, or send /cancel to stop.")
    )
    if title is None:
        return
    await state.update_data(title=title)
    data = await state.get_data()
    found = await ideas.similar(
        session, data["process_id"], viewer.resident.neighborhood_id, title, exclude_author=viewer.resident.id
    )
    if not found:
        await _advance(message, "title", state, session, viewer, lang, city)
        return
    await state.set_state(IdeaForm.similar)
    lines = [
        _(
            "🔁 Ideas like yours are already published in your neighborhood. Is yours one of these? "
            "You can support it instead of sending a new one."
        ),
        "",
    ]
    builder = InlineKeyboardBuilder()
    for hit in found:
        count = await ideas.support_count(session, hit.idea.id)
        lines.append(
            _("<b>#{number}</b> {title} · 👍 {count}").format(
                number=hit.idea.id, title=escape(hit.idea.title), count=count
            )
        )
        builder.button(
            text=_("👍 Support #{number}").format(number=hit.idea.id),
            callback_data=IdeaCb(action="support_similar", id=hit.idea.id),
        )
    builder.button(text=_("✍️ Mine is different: continue"), callback_data=IdeaCb(action="different"))
    builder.adjust(1)
    builder.row(_leave_button(data))
    await message.answer("\n".join(lines), reply_markup=builder.as_markup())


@handlers.callback_query(IdeaForm.similar, IdeaCb.filter(F.action == "different"))
async def mine_is_different(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, viewer: Viewer, lang: str, city: CitySpec
) -> None:
    await _advance(query, "title", state, session, viewer, lang, city)


@handlers.callback_query(
    IdeaForm.similar, IdeaCb.filter(F.action == "support_similar"), flags={"throttling_key": "idea_support"}
)
async def support_instead(
    query: CallbackQuery,
    callback_data: IdeaCb,
    state: FSMContext,
    session: AsyncSession,
    viewer: Viewer,
    lang: str,
    city: CitySpec,
) -> None:
    try:
        if not await ideas.supports(session, callback_data.id, viewer.resident.id):
            await ideas.toggle_support(session, callback_data.id, viewer.resident)
    except ideas.IdeaError as error:
        raise Refusal(refusal_text(error, lang, city)) from None
    await state.clear()
    await replace(
        query.message,
        _("👍 Thank you: you now support idea #{number}. Your draft was discarded.").format(
            number=callback_data.id
        ),
        _after_keyboard(),
    )


@handlers.message(IdeaForm.description, F.text)
async def typed_description(
    message: Message, state: FSMContext, session: AsyncSession, viewer: Viewer, lang: str, city: CitySpec
) -> None:
    description = await _typed(
        message, ideas.clean_description, _("Please type the description as text, or send /cancel to stop.")
    )
    if description is None:
        return
    await state.update_data(description=description)
    await _advance(message, "description", state, session, viewer, lang, city)


@handlers.message(IdeaForm.photo, F.photo)
async def sent_photo(
    message: Message, state: FSMContext, session: AsyncSession, viewer: Viewer, lang: str, city: CitySpec
) -> None:
    await state.update_data(photo=message.photo[-1].file_id)
    await _advance(message, "photo", state, session, viewer, lang, city)


@handlers.message(IdeaForm.location, F.location)
async def sent_location(
    message: Message, state: FSMContext, session: AsyncSession, viewer: Viewer, lang: str, city: CitySpec
) -> None:
    latitude, longitude = message.location.latitude, message.location.longitude
    try:
        ideas.check_location(city.bounds, latitude, longitude)
    except ideas.OutsideCity as error:
        builder = InlineKeyboardBuilder()
        builder.button(text=_("Skip ⏭"), callback_data=IdeaCb(action="skip"))
        await message.answer(refusal_text(error, lang, city), reply_markup=builder.as_markup())
        return
    await state.update_data(latitude=latitude, longitude=longitude)
    await _advance(message, "location", state, session, viewer, lang, city)


@handlers.callback_query(IdeaForm.photo, IdeaCb.filter(F.action == "skip"))
@handlers.callback_query(IdeaForm.location, IdeaCb.filter(F.action == "skip"))
async def skipped(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, viewer: Viewer, lang: str, city: CitySpec
) -> None:
    if await state.get_state() == IdeaForm.photo.state:
        await state.update_data(photo=None)
        await _advance(query, "photo", state, session, viewer, lang, city)
    else:
        await state.update_data(latitude=None, longitude=None)
        await _advance(query, "location", state, session, viewer, lang, city)


@handlers.callback_query(IdeaForm.scope, IdeaCb.filter(F.action == "scope"))
async def chose_scope(
    query: CallbackQuery,
    callback_data: IdeaCb,
    state: FSMContext,
    session: AsyncSession,
    viewer: Viewer,
    lang: str,
    city: CitySpec,
) -> None:
    if callback_data.value not in ideas.SCOPES:
        raise Refusal(_("This button is out of date."))
    await state.update_data(scope=callback_data.value)
    await _advance(query, "scope", state, session, viewer, lang, city)


# --- preview, edit, send ---------------------------------------------------------------------------

EDITABLE = ("theme", "title", "description", "photo", "location", "scope")


@handlers.callback_query(IdeaForm.preview, IdeaCb.filter(F.action == "edit"))
async def edit_menu(query: CallbackQuery, state: FSMContext, session: AsyncSession) -> None:
    data = await state.get_data()
    process = await processes.get(session, data.get("process_id", 0))
    labels = {
        "theme": _("🏷 Theme"),
        "title": _("📝 Title"),
        "description": _("📄 Description"),
        "photo": _("🖼 Photo"),
        "location": _("📌 Location"),
        "scope": _("🌆 Neighborhood or city"),
    }
    builder = InlineKeyboardBuilder()
    for field in EDITABLE:
        if field == "scope" and (process is None or process.scope != processes.CITY):
            continue
        builder.button(text=labels[field], callback_data=IdeaCb(action="field", value=field))
    builder.button(text=_("« Back to the preview"), callback_data=IdeaCb(action="preview"))
    builder.adjust(2)
    await replace(query.message, _("What would you like to change?"), builder.as_markup())


@handlers.callback_query(IdeaForm.preview, IdeaCb.filter(F.action == "field"))
async def edit_field(
    query: CallbackQuery,
    callback_data: IdeaCb,
    state: FSMContext,
    session: AsyncSession,
    viewer: Viewer,
    lang: str,
    city: CitySpec,
) -> None:
    if callback_data.value not in EDITABLE:
        raise Refusal(_("This button is out of date."))
    await state.update_data(editing=True)
    await _go(query, state, session, viewer, lang, city, callback_data.value)


@handlers.callback_query(IdeaForm.preview, IdeaCb.filter(F.action == "preview"))
@handlers.callback_query(IdeaForm.theme, IdeaCb.filter(F.action == "preview"))
@handlers.callback_query(IdeaForm.title, IdeaCb.filter(F.action == "preview"))
@handlers.callback_query(IdeaForm.similar, IdeaCb.filter(F.action == "preview"))
@handlers.callback_query(IdeaForm.description, IdeaCb.filter(F.action == "preview"))
@handlers.callback_query(IdeaForm.photo, IdeaCb.filter(F.action == "preview"))
@handlers.callback_query(IdeaForm.location, IdeaCb.filter(F.action == "preview"))
@handlers.callback_query(IdeaForm.scope, IdeaCb.filter(F.action == "preview"))
async def back_to_preview(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, viewer: Viewer, lang: str, city: CitySpec
) -> None:
    data = await state.get_data()
    if not all(data.get(k) for k in ("theme_id", "title", "description")):
        raise Refusal(_("This button is out of date."))
    await _go(query, state, session, viewer, lang, city, "preview")


@handlers.callback_query(
    IdeaForm.preview, IdeaCb.filter(F.action == "send"), flags={"throttling_key": "idea_send"}
)
async def send_idea(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    viewer: Viewer,
    lang: str,
    city: CitySpec,
    settings: Settings,
    bot: Bot,
) -> None:
    data = await state.get_data()
    draft = ideas.Draft(
        process_id=data.get("process_id", 0),
        theme_id=data.get("theme_id", 0),
        title=data.get("title", ""),
        description=data.get("description", ""),
        scope=data.get("scope", ideas.SCOPE_NEIGHBORHOOD),
        photo_file_id=data.get("photo"),
        latitude=data.get("latitude"),
        longitude=data.get("longitude"),
    )
    try:
        idea = await ideas.submit(session, viewer.resident, draft, city.bounds)
    except ideas.Flooding as error:
        raise Refusal(refusal_text(error, lang, city)) from None
    except (ideas.SubmissionNotOpen, ideas.LimitReached) as error:
        await state.clear()
        await query.message.answer(
            refusal_text(error, lang, city) + "\n" + _("Your draft could not be sent and was discarded."),
            reply_markup=_after_keyboard(),
        )
        return
    except ideas.IdeaError as error:
        raise Refusal(refusal_text(error, lang, city)) from None
    await state.clear()
    await query.answer(_("Sent!"))
    await query.message.edit_reply_markup(reply_markup=None)
    await query.message.answer(
        _(
            "📨 Thank you! Your idea is number <b>#{number}</b>.\n"
            "Staff will review it soon, and I will tell you what they decide."
        ).format(number=idea.id),
        reply_markup=_after_keyboard(),
    )
    if settings.staff_group_id:
        group_lang = settings.default_language or city.default_language
        text = group_card(idea, group_lang, await ideas.queue_count(session))
        notices.queue(session, notices.Notice(None, settings.staff_group_id, group_lang, text))


@handlers.callback_query(IdeaCb.filter(F.action == "cancel"))
async def cancel_form(query: CallbackQuery, state: FSMContext, viewer: Viewer) -> None:
    current = await state.get_state()
    if current is None or not current.startswith(IdeaForm.__name__):
        raise Refusal(_("This button is out of date."))
    await state.clear()
    await replace(query.message, _("Your draft was discarded. Nothing was sent."), _after_keyboard())


# --- anything else during the form -----------------------------------------------------------------


@handlers.message(IdeaForm.title)
async def title_not_text(message: Message) -> None:
    await message.answer(_("Please type the title as text (a sticker or a photo cannot be a title)."))


@handlers.message(IdeaForm.description)
async def description_not_text(message: Message) -> None:
    await message.answer(_("Please type the description as text. You can add a photo in the next step."))


@handlers.message(IdeaForm.photo)
async def photo_expected(message: Message) -> None:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Skip ⏭"), callback_data=IdeaCb(action="skip"))
    await message.answer(
        _("Please send a photo (as a photo, not a file), or press Skip."), reply_markup=builder.as_markup()
    )


@handlers.message(IdeaForm.location)
async def location_expected(message: Message) -> None:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Skip ⏭"), callback_data=IdeaCb(action="skip"))
    await message.answer(
        _("Please share a location (📎 → Location), or press Skip."), reply_markup=builder.as_markup()
    )


@handlers.message(IdeaForm.theme)
@handlers.message(IdeaForm.similar)
@handlers.message(IdeaForm.scope)
@handlers.message(IdeaForm.preview)
async def buttons_expected(
    message: Message, state: FSMContext, session: AsyncSession, viewer: Viewer, lang: str, city: CitySpec
) -> None:
    current = await state.get_state()
    await message.answer(_("Please use the buttons, or send /cancel to stop."))
    step = {
        IdeaForm.theme.state: "theme",
        IdeaForm.scope.state: "scope",
        IdeaForm.preview.state: "preview",
    }.get(current or "")
    if step is not None:
        await _go(message, state, session, viewer, lang, city, step)


# --- browsing and supporting -----------------------------------------------------------------------


@handlers.callback_query(IdeaCb.filter(F.action == "browse"))
async def browse_start(query: CallbackQuery, session: AsyncSession, viewer: Viewer, lang: str) -> None:
    if await _not_onboarded(query, viewer):
        return
    found = [
        p
        for p in await processes.for_neighborhood(session, viewer.resident.neighborhood_id)
        if processes.window(p)
    ]
    if not found:
        raise Refusal(_("There are no ideas to browse yet."))
    if len(found) == 1:
        await replace(
            query.message, *await _browse_page(session, BrowseCb(action="list", pr=found[0].id), viewer, lang)
        )
        return
    builder = InlineKeyboardBuilder()
    for process in found:
        builder.button(
            text=processes.name(process, lang), callback_data=BrowseCb(action="list", pr=process.id)
        )
    builder.button(text=_("« Ideas"), callback_data=IdeaCb(action="home"))
    builder.adjust(1)
    await replace(query.message, _("Which process's ideas would you like to see?"), builder.as_markup())


async def _browse_page(
    session: AsyncSession, cb: BrowseCb, viewer: Viewer, lang: str
) -> tuple[str, InlineKeyboardMarkup]:
    process = await processes.get(session, cb.pr)
    if process is None:
        return _("This idea collection no longer exists."), InlineKeyboardMarkup(inline_keyboard=[])
    items, total = await ideas.browse(
        session,
        cb.pr,
        sort="top" if cb.s == "t" else "new",
        neighborhood_id=cb.h or None,
        theme_id=cb.t or None,
        page=cb.p,
        page_size=PAGE_SIZE,
    )
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(cb.p, 0), pages - 1)
    hood = await geography.neighborhood(session, cb.h) if cb.h else None
    theme = await ideas.theme(session, cb.t) if cb.t else None
    lines = [
        _("🔎 <b>Ideas</b> · {process}").format(process=_name(process, lang)),
        " · ".join(
            [
                _("most supported first") if cb.s == "t" else _("newest first"),
                escape(hood.name) if hood else _("all neighborhoods"),
                escape(ideas.theme_name(theme, lang)) if theme else _("all themes"),
            ]
        ),
        "",
    ]
    builder = InlineKeyboardBuilder()
    if not items:
        lines.append(_("No published ideas here yet."))
    for item in items:
        idea = item.idea
        lines.append(list_line(idea, item.supports))
        builder.button(
            text=idea_label(idea),
            callback_data=BrowseCb(action="view", pr=cb.pr, s=cb.s, h=cb.h, t=cb.t, p=page, id=idea.id),
        )
    builder.adjust(1)
    if pages > 1:
        builder.row(
            *page_row(
                Page.of(page, PAGE_SIZE, total),
                lambda n: BrowseCb(action="list", pr=cb.pr, s=cb.s, h=cb.h, t=cb.t, p=n),
            )
        )
    other = "n" if cb.s == "t" else "t"
    builder.row(
        InlineKeyboardButton(
            text=_("🆕 Newest first") if other == "n" else _("🔥 Most supported first"),
            callback_data=BrowseCb(action="list", pr=cb.pr, s=other, h=cb.h, t=cb.t).pack(),
        )
    )
    builder.row(
        InlineKeyboardButton(
            text=_("🏘 By neighborhood"),
            callback_data=BrowseCb(action="hoods", pr=cb.pr, s=cb.s, h=cb.h, t=cb.t).pack(),
        ),
        InlineKeyboardButton(
            text=_("🏷 By theme"),
            callback_data=BrowseCb(action="themes", pr=cb.pr, s=cb.s, h=cb.h, t=cb.t).pack(),
        ),
    )
    builder.row(InlineKeyboardButton(text=_("« Ideas"), callback_data=IdeaCb(action="home").pack()))
    return "\n".join(lines), builder.as_markup()


@handlers.callback_query(BrowseCb.filter(F.action == "list"))
async def browse_list(
    query: CallbackQuery, callback_data: BrowseCb, session: AsyncSession, viewer: Viewer, lang: str
) -> None:
    if await _not_onboarded(query, viewer):
        return
    await replace(query.message, *await _browse_page(session, callback_data, viewer, lang))


@handlers.callback_query(BrowseCb.filter(F.action == "hoods"))
async def browse_by_neighborhood(
    query: CallbackQuery, callback_data: BrowseCb, session: AsyncSession, viewer: Viewer
) -> None:
    cb = callback_data
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("All neighborhoods"), callback_data=BrowseCb(action="list", pr=cb.pr, s=cb.s, t=cb.t)
    )
    if viewer.resident.neighborhood_id:
        builder.button(
            text=_("My neighborhood"),
            callback_data=BrowseCb(
                action="list", pr=cb.pr, s=cb.s, h=viewer.resident.neighborhood_id, t=cb.t
            ),
        )
    for hood, count in (await ideas.neighborhoods_with_ideas(session, cb.pr))[:20]:
        builder.button(
            text=f"{hood.name} ({count})",
            callback_data=BrowseCb(action="list", pr=cb.pr, s=cb.s, h=hood.id, t=cb.t),
        )
    builder.adjust(1)
    await replace(query.message, _("Ideas from which neighborhood?"), builder.as_markup())


@handlers.callback_query(BrowseCb.filter(F.action == "themes"))
async def browse_by_theme(
    query: CallbackQuery, callback_data: BrowseCb, session: AsyncSession, lang: str
) -> None:
    cb = callback_data
    builder = InlineKeyboardBuilder()
    builder.button(text=_("All themes"), callback_data=BrowseCb(action="list", pr=cb.pr, s=cb.s, h=cb.h))
    for theme, count in await ideas.themes_with_ideas(session, cb.pr):
        builder.button(
            text=f"{ideas.theme_name(theme, lang)} ({count})",
            callback_data=BrowseCb(action="list", pr=cb.pr, s=cb.s, h=cb.h, t=theme.id),
        )
    builder.adjust(1)
    await replace(query.message, _("Ideas on which theme?"), builder.as_markup())


def _view_keyboard(
    cb: BrowseCb, idea: Idea, supports: int, mine: bool, supported: bool
) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if idea.status == ideas.APPROVED and not mine:
        label = (
            _("✅ You support this · {count} (press to take it back)")
            if supported
            else _("👍 Support · {count}")
        )
        builder.button(
            text=label.format(count=supports),
            callback_data=BrowseCb(action="sup", pr=cb.pr, s=cb.s, h=cb.h, t=cb.t, p=cb.p, id=idea.id),
        )
    builder.button(
        text=_("« Back to the list"),
        callback_data=BrowseCb(action="list", pr=cb.pr, s=cb.s, h=cb.h, t=cb.t, p=cb.p),
    )
    builder.adjust(1)
    return builder.as_markup()


@handlers.callback_query(BrowseCb.filter(F.action == "view"))
async def view_idea(
    query: CallbackQuery, callback_data: BrowseCb, session: AsyncSession, viewer: Viewer, lang: str
) -> None:
    idea = await ideas.visible(session, callback_data.id, callback_data.pr)
    if idea is None:
        raise Refusal(_("This idea is not published (any more)."))
    count = await ideas.support_count(session, idea.id)
    supported = await ideas.supports(session, idea.id, viewer.resident.id)
    keyboard = _view_keyboard(callback_data, idea, count, idea.author_id == viewer.resident.id, supported)
    await show_card(
        query.message, lambda limit: idea_card(idea, count, lang, limit), idea.photo_file_id, keyboard
    )


@handlers.callback_query(BrowseCb.filter(F.action == "sup"), flags={"throttling_key": "idea_support"})
async def toggle_support(
    query: CallbackQuery,
    callback_data: BrowseCb,
    session: AsyncSession,
    viewer: Viewer,
    lang: str,
    city: CitySpec,
) -> None:
    if await _not_onboarded(query, viewer):
        return
    try:
        supported, count = await ideas.toggle_support(session, callback_data.id, viewer.resident)
    except ideas.IdeaError as error:
        raise Refusal(refusal_text(error, lang, city)) from None
    idea = await ideas.get(session, callback_data.id)
    await query.answer(_("👍 You support this idea.") if supported else _("Your support was taken back."))
    keyboard = _view_keyboard(callback_data, idea, count, False, supported)
    await refresh_card(query.message, lambda limit: idea_card(idea, count, lang, limit), keyboard)


# --- my ideas --------------------------------------------------------------------------------------


@handlers.callback_query(IdeaCb.filter(F.action == "mine"))
async def my_ideas(
    query: CallbackQuery, callback_data: IdeaCb, state: FSMContext, session: AsyncSession, viewer: Viewer
) -> None:
    if await _not_onboarded(query, viewer):
        return
    page = int(callback_data.value) if callback_data.value.isdigit() else 0
    items, total = await ideas.mine(session, viewer.resident.id, page=page, page_size=PAGE_SIZE)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(page, pages - 1)
    lines = [_("📋 <b>My ideas</b>"), ""]
    builder = InlineKeyboardBuilder()
    if not items:
        lines.append(_("You have not sent any ideas yet."))
    for item in items:
        idea = item.idea
        lines.append(
            _("<b>#{number}</b> {title}: {status} · 👍 {count}").format(
                number=idea.id,
                title=escape(idea.title),
                status=status_label(idea.status),
                count=item.supports,
            )
        )
        builder.button(text=idea_label(idea), callback_data=IdeaCb(action="my", id=idea.id))
    builder.adjust(1)
    if pages > 1:
        builder.row(*page_row(Page.of(page, PAGE_SIZE, total), lambda n: IdeaCb(action="mine", value=str(n))))
    builder.row(InlineKeyboardButton(text=_("« Ideas"), callback_data=IdeaCb(action="home").pack()))
    await replace(query.message, "\n".join(lines), builder.as_markup())


async def _own(query: CallbackQuery, session: AsyncSession, viewer: Viewer, idea_id: int) -> Idea | None:
    idea = await ideas.get(session, idea_id)
    if idea is None or idea.author_id != viewer.resident.id:
        await query.answer(_("This is not one of your ideas."), show_alert=True)
        return None
    return idea


@handlers.callback_query(IdeaCb.filter(F.action == "open"))
async def open_idea(
    query: CallbackQuery, callback_data: IdeaCb, session: AsyncSession, viewer: Viewer, lang: str
) -> None:
    """An idea opened from a notice: the author's own card, or the published card for anyone."""
    idea = await ideas.get(session, callback_data.id)
    if idea is not None and idea.author_id == viewer.resident.id:
        await my_idea(query, callback_data, session, viewer, lang)
        return
    if idea is None or idea.status not in ideas.VISIBLE:
        raise Refusal(_("This idea is not published (any more)."))
    count = await ideas.support_count(session, idea.id)
    supported = await ideas.supports(session, idea.id, viewer.resident.id)
    cb = BrowseCb(action="view", pr=idea.process_id, id=idea.id)
    keyboard = _view_keyboard(cb, idea, count, False, supported)
    await show_card(
        query.message, lambda limit: idea_card(idea, count, lang, limit), idea.photo_file_id, keyboard
    )


@handlers.callback_query(IdeaCb.filter(F.action == "my"))
async def my_idea(
    query: CallbackQuery, callback_data: IdeaCb, session: AsyncSession, viewer: Viewer, lang: str
) -> None:
    idea = await _own(query, session, viewer, callback_data.id)
    if idea is None:
        return
    count = await ideas.support_count(session, idea.id)
    builder = InlineKeyboardBuilder()
    if idea.status == ideas.PENDING:
        builder.button(text=_("↩️ Withdraw"), callback_data=IdeaCb(action="withdraw", id=idea.id))
    builder.button(text=_("« My ideas"), callback_data=IdeaCb(action="mine"))
    builder.adjust(1)
    await show_card(
        query.message,
        lambda limit: idea_card(idea, count, lang, limit, show_status=True),
        idea.photo_file_id,
        builder.as_markup(),
    )


@handlers.callback_query(IdeaCb.filter(F.action == "withdraw"))
async def withdraw_ask(
    query: CallbackQuery, callback_data: IdeaCb, session: AsyncSession, viewer: Viewer
) -> None:
    idea = await _own(query, session, viewer, callback_data.id)
    if idea is None:
        return
    if idea.status != ideas.PENDING:
        raise Refusal(_("Only ideas waiting for review can be withdrawn."))
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Yes, withdraw it"), callback_data=IdeaCb(action="withdraw_yes", id=idea.id))
    builder.button(text=_("« No, keep it"), callback_data=IdeaCb(action="my", id=idea.id))
    builder.adjust(1)
    await replace(
        query.message,
        _("Withdraw idea #{number} “{title}”? Staff will not review it.").format(
            number=idea.id, title=escape(idea.title)
        ),
        builder.as_markup(),
    )


@handlers.callback_query(IdeaCb.filter(F.action == "withdraw_yes"))
async def withdraw_idea(
    query: CallbackQuery,
    callback_data: IdeaCb,
    session: AsyncSession,
    viewer: Viewer,
    lang: str,
    city: CitySpec,
) -> None:
    try:
        idea = await ideas.withdraw(session, callback_data.id, viewer.resident)
    except ideas.IdeaError as error:
        raise Refusal(refusal_text(error, lang, city)) from None
    await replace(
        query.message,
        _("↩️ Idea #{number} was withdrawn. It no longer counts towards your limit.").format(number=idea.id),
        _after_keyboard(),
    )
