"""Ideas, the staff side: the moderation queue (one idea per card) and published ideas.

Approve, reject (a common reason or a typed one), merge into another idea, edit the title or theme,
hide, turn into a project, and (only when asked, recorded in the audit log) see who the author is.
Each decision is a conditional update in the service: of two staff members deciding at once, one wins
and the other is told.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from html import escape
from typing import Literal

from aiogram import Bot, F
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InaccessibleMessage,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import CitySpec, Settings
from bot.routing import Handlers
from bot.routing import refusal_text as staff_only_text
from bot.services import ideas
from bot.services.paging import Page
from bot.services.residents import Viewer
from bot.ui.callbacks import HubCb, MenuCb, ModCb
from bot.ui.cards import refresh_card, send_card, show_card
from bot.ui.ideas.cards import idea_label, list_line, status_label
from bot.ui.ideas.errors import invalid_text
from bot.ui.ideas.moderation import staff_card
from bot.ui.messages import replace
from bot.ui.paging import page_row
from storage.models import Idea

handlers = Handlers()

TARGETS_PAGE = 6
PUBLISHED_PAGE = 8


class ModForm(StatesGroup):
    reason = State()
    title = State()
    target = State()


def reason_labels() -> dict[str, str]:
    return {
        "duplicate": _("Repeats another idea"),
        "remit": _("Not the municipality's remit"),
        "vague": _("Not specific enough"),
        "scope": _("Does not fit this process"),
        "conduct": _("Breaks the participation rules"),
    }


# --- cards -----------------------------------------------------------------------------------------


def card_keyboard(idea: Idea) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    rows: list[int] = []
    if idea.status == ideas.PENDING:
        builder.button(text=_("✅ Approve"), callback_data=ModCb(action="approve", id=idea.id))
        builder.button(text=_("✖️ Reject"), callback_data=ModCb(action="reject", id=idea.id))
        rows.append(2)
    if idea.status == ideas.APPROVED:
        builder.button(text=_("🏗 Turn into a project"), callback_data=ModCb(action="project", id=idea.id))
        rows.append(1)
    if idea.status in (ideas.PENDING, ideas.APPROVED):
        builder.button(text=_("🔀 Merge into…"), callback_data=ModCb(action="merge", id=idea.id))
        builder.button(text=_("📝 Edit title"), callback_data=ModCb(action="et", id=idea.id))
        builder.button(text=_("🏷 Edit theme"), callback_data=ModCb(action="eth", id=idea.id))
        builder.button(text=_("🙈 Hide"), callback_data=ModCb(action="hide", id=idea.id))
        rows += [1, 2, 1]
    builder.button(text=_("👤 Show the author"), callback_data=ModCb(action="author", id=idea.id))
    rows.append(1)
    if idea.status == ideas.PENDING:
        builder.button(text=_("⏭ Next"), callback_data=ModCb(action="next", id=idea.id))
    else:
        builder.button(text=_("« Published ideas"), callback_data=ModCb(action="published"))
    builder.button(text=_("« Staff tools"), callback_data=MenuCb(action="admin"))
    rows.append(2)
    builder.adjust(*rows)
    return builder.as_markup()


async def _render(session: AsyncSession, idea: Idea, lang: str, city: CitySpec):  # noqa: ANN202
    count = await ideas.support_count(session, idea.id)
    waiting = await ideas.queue_count(session) if idea.status == ideas.PENDING else None

    def render(limit: int) -> str:
        return staff_card(idea, count, lang, city.zone, limit, waiting=waiting)

    return render


async def show(
    target: CallbackQuery | Message, session: AsyncSession, idea: Idea, lang: str, city: CitySpec
) -> None:
    """Show an idea's card: in place after a button when it has no photo, else as new messages."""
    render = await _render(session, idea, lang, city)
    if isinstance(target, CallbackQuery):
        await show_card(target.message, render, idea.photo_file_id, card_keyboard(idea))
    else:
        await send_card(target.bot, target.chat.id, render, idea.photo_file_id, card_keyboard(idea))


def _done_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("🗂 Ideas to review"), callback_data=ModCb(action="queue"))
    builder.button(text=_("« Staff tools"), callback_data=MenuCb(action="admin"))
    builder.adjust(1)
    return builder.as_markup()


async def show_next(
    target: CallbackQuery | Message, session: AsyncSession, lang: str, city: CitySpec, after: int = 0
) -> None:
    """The next idea waiting for review, or a word that the queue is empty."""
    idea = await ideas.next_pending(session, after)
    if idea is not None:
        await show(target, session, idea, lang, city)
        return
    text = _("🎉 Nothing is waiting for review.")
    if isinstance(target, CallbackQuery):
        await replace(target.message, text, _done_keyboard())
    else:
        await target.answer(text, reply_markup=_done_keyboard())


async def _close(message: Message | InaccessibleMessage | None, text: str) -> None:
    """Turn a decided card into a one-line record of the decision (no buttons left to press)."""
    if isinstance(message, Message) and message.photo:
        await message.edit_caption(caption=text, reply_markup=None)
    else:
        await replace(message, text)


def too_late_text(status: str) -> str:
    return _("Too late: another staff member has already decided this idea ({status}).").format(
        status=status_label(status)
    )


async def _load(query: CallbackQuery, session: AsyncSession, idea_id: int) -> Idea | None:
    idea = await ideas.get(session, idea_id)
    if idea is None:
        await query.answer(_("This idea no longer exists."), show_alert=True)
    return idea


async def _refused(
    query: CallbackQuery,
    error: ideas.IdeaError,
    session: AsyncSession,
    idea_id: int,
    lang: str,
    city: CitySpec,
) -> None:
    """Tell the staff member why not, and show the idea as it is now."""
    if isinstance(error, ideas.AlreadyDecided):
        await query.answer(too_late_text(error.status), show_alert=True)
        idea = await ideas.get(session, idea_id)
        if idea is not None:
            await refresh_card(query.message, await _render(session, idea, lang, city), card_keyboard(idea))
        return
    if isinstance(error, ideas.NotAllowed):
        await query.answer(staff_only_text(), show_alert=True)
    elif isinstance(error, ideas.BadTarget):
        await query.answer(_("Choose another published idea of the same process."), show_alert=True)
    elif isinstance(error, ideas.Invalid):
        await query.answer(invalid_text(error), show_alert=True)
    else:
        await query.answer(_("This idea no longer exists."), show_alert=True)


async def _was_pending(session: AsyncSession, idea_id: int) -> bool:
    """Read before a decision: the queue then moves on to the next idea waiting."""
    idea = await ideas.get(session, idea_id)
    return idea is not None and idea.status == ideas.PENDING


def _default_lang(settings: Settings, city: CitySpec) -> str:
    return settings.default_language or city.default_language


# --- the queue -------------------------------------------------------------------------------------


@handlers.callback_query(ModCb.filter(F.action == "queue"))
@handlers.callback_query(HubCb.filter(F.section == "ideas-queue"))
async def queue(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, lang: str, city: CitySpec
) -> None:
    await state.clear()
    await show_next(query, session, lang, city)


@handlers.callback_query(ModCb.filter(F.action == "next"))
async def next_card(
    query: CallbackQuery, callback_data: ModCb, session: AsyncSession, lang: str, city: CitySpec
) -> None:
    idea = await ideas.next_pending(session, callback_data.id)
    if idea is not None and idea.id == callback_data.id:
        await query.answer(_("This is the only idea waiting for review."))
        return
    await show_next(query, session, lang, city, callback_data.id)


@handlers.callback_query(ModCb.filter(F.action == "card"))
async def card(
    query: CallbackQuery,
    callback_data: ModCb,
    state: FSMContext,
    session: AsyncSession,
    lang: str,
    city: CitySpec,
) -> None:
    await state.clear()
    idea = await _load(query, session, callback_data.id)
    if idea is None:
        return
    await show(query, session, idea, lang, city)


@handlers.callback_query(ModCb.filter(F.action == "published"))
@handlers.callback_query(HubCb.filter(F.section == "ideas-published"))
async def published(
    query: CallbackQuery, callback_data: ModCb | HubCb, state: FSMContext, session: AsyncSession
) -> None:
    await state.clear()
    value = getattr(callback_data, "value", "")
    page = int(value) if value.isascii() and value.isdigit() else 0
    items, total = await ideas.published(session, page=page, page_size=PUBLISHED_PAGE)
    pages = max(1, -(-total // PUBLISHED_PAGE))
    page = min(page, pages - 1)
    lines = [_("✅ <b>Published ideas</b>"), ""]
    if not items:
        lines.append(_("No published ideas yet."))
    builder = InlineKeyboardBuilder()
    for item in items:
        lines.append(list_line(item.idea, item.supports))
        builder.button(
            text=idea_label(item.idea),
            callback_data=ModCb(action="card", id=item.idea.id),
        )
    builder.adjust(1)
    if pages > 1:
        builder.row(
            *page_row(Page.of(page, PUBLISHED_PAGE, total), lambda n: ModCb(action="published", value=str(n)))
        )
    builder.row(InlineKeyboardButton(text=_("« Staff tools"), callback_data=MenuCb(action="admin").pack()))
    await replace(query.message, "\n".join(lines), builder.as_markup())


# --- decisions -------------------------------------------------------------------------------------


async def _after_decision(
    query: CallbackQuery | Message,
    session: AsyncSession,
    bot: Bot,
    idea: Idea,
    outcome: str,
    was_pending: bool,
    lang: str,
    city: CitySpec,
    settings: Settings,
) -> None:
    """Record the outcome on the card, tell the author, then move to the next idea waiting."""
    await ideas.tell_author(session, idea, _default_lang(settings, city))
    if isinstance(query, CallbackQuery):
        await _close(query.message, outcome)
        message = query.message
    else:
        await query.answer(outcome)
        message = query
    if not isinstance(message, Message):
        return
    if was_pending:
        await show_next(message, session, lang, city, idea.id)
    else:
        await message.answer(_("What next?"), reply_markup=_done_keyboard())


@dataclass(frozen=True)
class _Decision:
    """A one-press decision: the service call, the staff's toast, the line left on the card, and
    whether the queue moves on to the next idea ("pending": only if this one was waiting)."""

    decide: Callable[[AsyncSession, int, int], Awaitable[Idea]]
    toast: str
    outcome: str
    next_card: bool | Literal["pending"]


def _decisions() -> dict[str, _Decision]:
    return {
        "approve": _Decision(ideas.approve, _("Approved."), _("✅ Idea #{number} “{title}” approved."), True),
        "hide": _Decision(ideas.hide, _("Hidden."), _("🙈 Idea #{number} “{title}” hidden."), "pending"),
        "project": _Decision(
            ideas.make_project, _("Done."), _("🏗 Idea #{number} “{title}” became a project."), False
        ),
    }


@handlers.callback_query(ModCb.filter(F.action.in_({"approve", "hide", "project"})))
async def decide(
    query: CallbackQuery,
    callback_data: ModCb,
    session: AsyncSession,
    viewer: Viewer,
    bot: Bot,
    lang: str,
    city: CitySpec,
    settings: Settings,
) -> None:
    decision = _decisions()[callback_data.action]
    next_card = decision.next_card
    if next_card == "pending":
        next_card = await _was_pending(session, callback_data.id)
    try:
        idea = await decision.decide(session, callback_data.id, viewer.resident.id)
    except ideas.IdeaError as error:
        await _refused(query, error, session, callback_data.id, lang, city)
        return
    await query.answer(decision.toast)
    outcome = decision.outcome.format(number=idea.id, title=escape(idea.title))
    await _after_decision(query, session, bot, idea, outcome, next_card, lang, city, settings)


@handlers.callback_query(ModCb.filter(F.action == "reject"))
async def reject_menu(
    query: CallbackQuery, callback_data: ModCb, session: AsyncSession, lang: str, city: CitySpec
) -> None:
    idea = await _load(query, session, callback_data.id)
    if idea is None:
        return
    if idea.status != ideas.PENDING:
        await _refused(query, ideas.AlreadyDecided(idea.status), session, idea.id, lang, city)
        return
    builder = InlineKeyboardBuilder()
    for key, label in reason_labels().items():
        builder.button(text=label, callback_data=ModCb(action="rr", id=idea.id, value=key))
    builder.button(text=_("✍️ Type a reason"), callback_data=ModCb(action="rt", id=idea.id))
    builder.button(text=_("« Back"), callback_data=ModCb(action="card", id=idea.id))
    builder.adjust(1)
    text = _("Why is idea #{number} “{title}” not accepted? The author will read the reason.").format(
        number=idea.id, title=escape(idea.title)
    )
    await replace(query.message, text, builder.as_markup())


@handlers.callback_query(ModCb.filter(F.action == "rr"))
async def reject_with_reason(
    query: CallbackQuery,
    callback_data: ModCb,
    session: AsyncSession,
    viewer: Viewer,
    bot: Bot,
    lang: str,
    city: CitySpec,
    settings: Settings,
) -> None:
    try:
        idea = await ideas.reject(
            session, callback_data.id, viewer.resident.id, reason_key=callback_data.value
        )
    except ideas.IdeaError as error:
        await _refused(query, error, session, callback_data.id, lang, city)
        return
    await query.answer(_("Rejected."))
    outcome = _("✖️ Idea #{number} “{title}” rejected: {reason}").format(
        number=idea.id, title=escape(idea.title), reason=ideas.reason_text(idea, lang)
    )
    await _after_decision(query, session, bot, idea, outcome, True, lang, city, settings)


async def _ask(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    idea_id: int,
    step: State,
    question: Callable[[Idea], str],
) -> None:
    """Ask staff to type something about an idea (a reason, a title); the answer comes as a message."""
    idea = await _load(query, session, idea_id)
    if idea is None:
        return
    await state.set_state(step)
    await state.set_data({"idea_id": idea.id})
    await query.message.answer(question(idea))


@handlers.callback_query(ModCb.filter(F.action == "rt"))
async def reject_typed_ask(
    query: CallbackQuery, callback_data: ModCb, state: FSMContext, session: AsyncSession
) -> None:
    await _ask(
        query,
        state,
        session,
        callback_data.id,
        ModForm.reason,
        lambda idea: _(
            "Type the reason for the author of #{number} ({min} to {max} characters), or send /cancel."
        ).format(number=idea.id, min=ideas.REASON_MIN, max=ideas.REASON_MAX),
    )


@handlers.message(ModForm.reason, F.text)
async def reject_typed(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    viewer: Viewer,
    bot: Bot,
    lang: str,
    city: CitySpec,
    settings: Settings,
) -> None:
    idea_id = (await state.get_data()).get("idea_id", 0)
    try:
        idea = await ideas.reject(session, idea_id, viewer.resident.id, reason=message.text)
    except ideas.Invalid as error:
        await message.answer(invalid_text(error))
        return
    except ideas.AlreadyDecided as error:
        await state.clear()
        await message.answer(too_late_text(error.status), reply_markup=_done_keyboard())
        return
    except ideas.NotAllowed:
        await state.clear()
        await message.answer(staff_only_text())
        return
    except ideas.IdeaError:
        await state.clear()
        await message.answer(_("This idea no longer exists."), reply_markup=_done_keyboard())
        return
    await state.clear()
    outcome = _("✖️ Idea #{number} “{title}” rejected: {reason}").format(
        number=idea.id, title=escape(idea.title), reason=escape(idea.reject_reason or "")
    )
    await _after_decision(message, session, bot, idea, outcome, True, lang, city, settings)


# --- merging ---------------------------------------------------------------------------------------


@handlers.callback_query(ModCb.filter(F.action == "merge"))
async def merge_menu(
    query: CallbackQuery,
    callback_data: ModCb,
    state: FSMContext,
    session: AsyncSession,
    lang: str,
    city: CitySpec,
) -> None:
    idea = await _load(query, session, callback_data.id)
    if idea is None:
        return
    if idea.status not in (ideas.PENDING, ideas.APPROVED):
        await _refused(query, ideas.AlreadyDecided(idea.status), session, idea.id, lang, city)
        return
    targets = await ideas.merge_targets(session, idea)
    page = int(callback_data.value) if callback_data.value.isdigit() else 0
    pages = max(1, -(-len(targets) // TARGETS_PAGE))
    page = min(page, pages - 1)
    builder = InlineKeyboardBuilder()
    for hit in targets[page * TARGETS_PAGE : (page + 1) * TARGETS_PAGE]:
        builder.button(
            text=idea_label(hit.idea, 48),
            callback_data=ModCb(action="mt", id=idea.id, value=str(hit.idea.id)),
        )
    builder.adjust(1)
    if pages > 1:
        builder.row(
            *page_row(
                Page.of(page, TARGETS_PAGE, len(targets)),
                lambda n: ModCb(action="merge", id=idea.id, value=str(n)),
            )
        )
    builder.row(InlineKeyboardButton(text=_("« Back"), callback_data=ModCb(action="card", id=idea.id).pack()))
    await state.set_state(ModForm.target)
    await state.set_data({"idea_id": idea.id})
    text = _(
        "🔀 Merge idea #{number} “{title}” into which published idea? The most alike come first; "
        "you can also type the other idea's number."
    ).format(number=idea.id, title=escape(idea.title))
    if not targets:
        text += "\n" + _("There are no other published ideas in this process yet.")
    await replace(query.message, text, builder.as_markup())


async def _merge_confirm_view(
    session: AsyncSession, idea: Idea, target: Idea
) -> tuple[str, InlineKeyboardMarkup]:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("🔀 Yes, merge"), callback_data=ModCb(action="mc", id=idea.id, value=str(target.id))
    )
    builder.button(text=_("« Back"), callback_data=ModCb(action="merge", id=idea.id))
    builder.adjust(1)
    text = _(
        "Merge idea #{number} “{title}” into #{target} “{target_title}”? Its supports move to #{target} "
        "(each person counted once) and its author is told."
    ).format(number=idea.id, title=escape(idea.title), target=target.id, target_title=escape(target.title))
    return text, builder.as_markup()


@handlers.callback_query(ModCb.filter(F.action == "mt"))
async def merge_target(
    query: CallbackQuery, callback_data: ModCb, session: AsyncSession, lang: str, city: CitySpec
) -> None:
    target_id = int(callback_data.value) if callback_data.value.isdigit() else 0
    try:
        idea, target = await ideas.merge_pair(session, callback_data.id, target_id)
    except ideas.IdeaError as error:
        await _refused(query, error, session, callback_data.id, lang, city)
        return
    await replace(query.message, *await _merge_confirm_view(session, idea, target))


@handlers.message(ModForm.target, F.text)
async def merge_target_typed(message: Message, state: FSMContext, session: AsyncSession) -> None:
    number = message.text.strip().lstrip("#")
    try:
        idea, target = await ideas.merge_pair(
            session, (await state.get_data()).get("idea_id", 0), int(number) if number.isdigit() else 0
        )
    except ideas.BadTarget:
        await message.answer(_("Choose another published idea of the same process."))
        return
    except ideas.AlreadyDecided as error:
        await state.clear()
        await message.answer(too_late_text(error.status), reply_markup=_done_keyboard())
        return
    except ideas.IdeaError:
        await state.clear()
        await message.answer(_("This idea no longer exists."), reply_markup=_done_keyboard())
        return
    text, keyboard = await _merge_confirm_view(session, idea, target)
    await message.answer(text, reply_markup=keyboard)


@handlers.callback_query(ModCb.filter(F.action == "mc"))
async def merge(
    query: CallbackQuery,
    callback_data: ModCb,
    state: FSMContext,
    session: AsyncSession,
    viewer: Viewer,
    bot: Bot,
    lang: str,
    city: CitySpec,
    settings: Settings,
) -> None:
    target_id = int(callback_data.value) if callback_data.value.isdigit() else 0
    was_pending = await _was_pending(session, callback_data.id)
    try:
        idea = await ideas.merge(session, callback_data.id, target_id, viewer.resident.id)
    except ideas.IdeaError as error:
        await _refused(query, error, session, callback_data.id, lang, city)
        return
    await state.clear()
    await query.answer(_("Merged."))
    outcome = _("🔀 Idea #{number} “{title}” merged into #{target}.").format(
        number=idea.id, title=escape(idea.title), target=target_id
    )
    await _after_decision(query, session, bot, idea, outcome, was_pending, lang, city, settings)


# --- edits and the author --------------------------------------------------------------------------


@handlers.callback_query(ModCb.filter(F.action == "et"))
async def edit_title_ask(
    query: CallbackQuery, callback_data: ModCb, state: FSMContext, session: AsyncSession
) -> None:
    await _ask(
        query,
        state,
        session,
        callback_data.id,
        ModForm.title,
        lambda idea: _("Type the new title for #{number} (now: “{title}”), or send /cancel.").format(
            number=idea.id, title=escape(idea.title)
        ),
    )


@handlers.message(ModForm.title, F.text)
async def edit_title(
    message: Message, state: FSMContext, session: AsyncSession, viewer: Viewer, lang: str, city: CitySpec
) -> None:
    idea_id = (await state.get_data()).get("idea_id", 0)
    try:
        idea = await ideas.edit_title(session, idea_id, viewer.resident.id, message.text)
    except ideas.Invalid as error:
        await message.answer(invalid_text(error))
        return
    except ideas.IdeaError:
        await state.clear()
        await message.answer(_("This idea no longer exists."), reply_markup=_done_keyboard())
        return
    await state.clear()
    await message.answer(_("📝 Title changed."))
    await show(message, session, idea, lang, city)


@handlers.callback_query(ModCb.filter(F.action == "eth"))
async def edit_theme_ask(
    query: CallbackQuery, callback_data: ModCb, session: AsyncSession, lang: str
) -> None:
    idea = await _load(query, session, callback_data.id)
    if idea is None:
        return
    builder = InlineKeyboardBuilder()
    for theme in await ideas.themes(session):
        mark = "✓ " if theme.id == idea.theme_id else ""
        builder.button(
            text=mark + ideas.theme_name(theme, lang),
            callback_data=ModCb(action="st", id=idea.id, value=str(theme.id)),
        )
    builder.button(text=_("« Back"), callback_data=ModCb(action="card", id=idea.id))
    builder.adjust(1)
    text = _("Which theme fits idea #{number}?").format(number=idea.id)
    await replace(query.message, text, builder.as_markup())


@handlers.callback_query(ModCb.filter(F.action == "st"))
async def set_theme(
    query: CallbackQuery,
    callback_data: ModCb,
    session: AsyncSession,
    viewer: Viewer,
    lang: str,
    city: CitySpec,
) -> None:
    theme_id = int(callback_data.value) if callback_data.value.isdigit() else 0
    try:
        idea = await ideas.set_theme(session, callback_data.id, viewer.resident.id, theme_id)
    except ideas.IdeaError as error:
        await _refused(query, error, session, callback_data.id, lang, city)
        return
    await query.answer(_("Theme changed."))
    await show(query, session, idea, lang, city)


@handlers.callback_query(ModCb.filter(F.action == "author"))
async def show_author(
    query: CallbackQuery,
    callback_data: ModCb,
    session: AsyncSession,
    viewer: Viewer,
    lang: str,
    city: CitySpec,
) -> None:
    try:
        telegram_id = await ideas.reveal_author(session, callback_data.id, viewer.resident.id)
    except ideas.IdeaError as error:
        await _refused(query, error, session, callback_data.id, lang, city)
        return
    if telegram_id is None:
        text = _("The author of #{number} has deleted their account.").format(number=callback_data.id)
    else:
        text = _(
            '👤 The author of #{number} is Telegram user <a href="tg://user?id={id}">{id}</a>. '
            "This look-up is recorded in the audit log."
        ).format(number=callback_data.id, id=telegram_id)
    await query.message.answer(text)


@handlers.message(ModForm.reason)
@handlers.message(ModForm.title)
@handlers.message(ModForm.target)
async def moderation_text_expected(message: Message, viewer: Viewer) -> None:
    if not viewer.is_staff:
        await message.answer(staff_only_text())
        return
    await message.answer(_("Please type your answer as text, or send /cancel to stop."))
