"""How ideas look to staff: the moderation card and its keyboards, the reason and merge menus, the
published list, and the staff group's announcement. Keyboards are pure functions of plain values; the
card's decisions come from `rules.decisions_for(status)`, so a button shows exactly when the service
allows the action. Also the staff part of the ideas error table (a decision too late, a wrong target).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.i18n import N_, translate, when
from bot.services import ideas, processes
from bot.services.ideas.rules import Decision, decisions_for
from bot.services.paging import Page
from bot.ui.budgets.staff import StaffAction, StaffCb
from bot.ui.buttons import button
from bot.ui.callbacks import MenuCb
from bot.ui.cards import TEXT_LIMIT, fit, shown_length
from bot.ui.errors import refusal
from bot.ui.ideas.callbacks import ModAction, ModCb
from bot.ui.ideas.cards import idea_label, list_line, location_line, place, scope_line, status_label
from bot.ui.paging import page_row
from storage.models import Idea, Theme

TARGETS_PAGE, PUBLISHED_PAGE = 6, 8

# the card's decision buttons, row by row: each shows when rules allow its decision on the idea
CARD_ROWS: tuple[tuple[tuple[Decision, str, ModAction], ...], ...] = (
    (
        (Decision.APPROVE, N_("✅ Approve"), ModAction.APPROVE),
        (Decision.REJECT, N_("✖️ Reject"), ModAction.REJECT),
    ),
    ((Decision.PROJECT, N_("🏗 Turn into a project"), ModAction.PROJECT),),
    ((Decision.UNHIDE, N_("👁 Unhide"), ModAction.UNHIDE),),
    ((Decision.MERGE, N_("🔀 Merge into…"), ModAction.MERGE),),
    (
        (Decision.EDIT, N_("📝 Edit title"), ModAction.EDIT_TITLE),
        (Decision.EDIT, N_("📄 Edit description"), ModAction.EDIT_DESCRIPTION),
    ),
    (
        (Decision.EDIT, N_("🏷 Edit theme"), ModAction.EDIT_THEME),
        (Decision.HIDE, N_("🙈 Hide"), ModAction.HIDE),
    ),
)
# short labels of the common reasons, for buttons (the author reads the full sentence from rules)
REJECT_LABELS: dict[str, str] = {
    "duplicate": N_("Repeats another idea"),
    "remit": N_("Not the municipality's remit"),
    "vague": N_("Not specific enough"),
    "scope": N_("Does not fit this process"),
    "conduct": N_("Breaks the participation rules"),
}
HIDE_LABELS: dict[str, str] = {
    "conduct": N_("Breaks the participation rules"),
    "personal": N_("Shares someone's personal data"),
    "spam": N_("Advertising or spam"),
}


def _markup(rows: Sequence[Sequence[tuple[str, Any] | InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    """Rows of (label, callback data) or ready buttons (a page row); empty rows are left out."""

    def made(item: tuple[str, Any] | InlineKeyboardButton) -> InlineKeyboardButton:
        return item if isinstance(item, InlineKeyboardButton) else button(*item)

    return InlineKeyboardMarkup(inline_keyboard=[[made(item) for item in row] for row in rows if row])


def _staff_tools() -> tuple[str, MenuCb]:
    return _("« Staff tools"), MenuCb(action="admin")


def _back(idea_id: int) -> tuple[str, ModCb]:
    return _("« Back"), ModCb(action=ModAction.CARD, id=idea_id)


# --- the card --------------------------------------------------------------------------------------


def staff_card(view: ideas.Reviewed, lang: str, zone: ZoneInfo, limit: int = TEXT_LIMIT) -> str:
    """What staff see when moderating: everything but the author's identity (the process by its name,
    never its key)."""
    idea = view.idea
    head = []
    if view.position is not None:
        head.append(
            _("🗂 Waiting for review: {position} / {count}").format(position=view.position, count=view.waiting)
        )
    head += [
        f"💡 <b>#{idea.id} {escape(idea.title)}</b>",
        _("Status: {status}").format(status=status_label(idea.status)),
    ]
    if view.process is not None:
        head.append(_("📅 Process: {name}").format(name=escape(processes.name(view.process, lang))))
    head += [
        _("🏷 {theme}").format(theme=escape(ideas.theme_name(idea.theme, lang))),
        scope_line(idea.scope, idea.neighborhood),
        _("Author's neighborhood: {place}").format(place=place(idea.neighborhood)),
        _("Sent: {when}").format(when=when(idea.created_at, zone, lang)),
        _("👍 Supports: {count}").format(count=view.supports),
    ]
    where = location_line(idea.latitude, idea.longitude, idea.place)
    if where:
        head.append(where)
    if idea.photo_file_id:
        head.append(_("🖼 With a photo"))
    if idea.status in (ideas.REJECTED, ideas.HIDDEN) and (idea.reject_reason_key or idea.reject_reason):
        head.append(_("Reason: {reason}").format(reason=ideas.reason_text(idea, lang)))
    if idea.status == ideas.MERGED and idea.merged_into_id:
        head.append(_("Merged into idea #{number}.").format(number=idea.merged_into_id))
    return fit("\n".join(head), idea.description, limit)


def with_question(card: str, question: str) -> str:
    """A question under the card (the card's description cut so that both fit one message)."""
    return f"{card}\n\n{question}"


def card_room(question: str) -> int:
    """The room left for the card above `question`."""
    return TEXT_LIMIT - shown_length(question) - 2


def _card_button(action: ModAction, idea_id: int) -> Any:
    """A card's button: turning an idea into a project opens the budgets' project form."""
    if action == ModAction.PROJECT:
        return StaffCb(action=StaffAction.FROM_IDEA, id=idea_id)
    return ModCb(action=action, id=idea_id)


def card_keyboard(idea_id: int, status: str, projectable: bool = True) -> InlineKeyboardMarkup:
    """The card's buttons; "Turn into a project" only while the idea's process takes projects
    (`bot.services.budgets.staff.takes_projects`: its voting has not begun)."""
    allowed = set(decisions_for(status)) - (set() if projectable else {Decision.PROJECT})
    rows: list[list[tuple[str, Any]]] = [
        [(_(label), _card_button(action, idea_id)) for decision, label, action in row if decision in allowed]
        for row in CARD_ROWS
    ]
    rows.append([(_("👤 Show the author"), ModCb(action=ModAction.AUTHOR, id=idea_id))])
    if status == ideas.PENDING:
        rows.append([(_("⏭ Next"), ModCb(action=ModAction.NEXT, id=idea_id)), _staff_tools()])
    else:
        rows.append([(_("« Published ideas"), ModCb(action=ModAction.PUBLISHED)), _staff_tools()])
    return _markup(rows)


def done_keyboard() -> InlineKeyboardMarkup:
    return _markup([[(_("🗂 Ideas to review"), ModCb(action=ModAction.QUEUE))], [_staff_tools()]])


def too_late_text(status: str) -> str:
    return _("Too late: another staff member has already decided this idea ({status}).").format(
        status=status_label(status)
    )


# --- reasons ---------------------------------------------------------------------------------------


def reasons_keyboard(idea_id: int, decision: Decision) -> InlineKeyboardMarkup:
    """The common reasons of a rejection or a hiding, a typed one, and back to the card."""
    labels, pick, typed = (
        (REJECT_LABELS, ModAction.REJECT_REASON, ModAction.REJECT_TYPED)
        if decision == Decision.REJECT
        else (HIDE_LABELS, ModAction.HIDE_REASON, ModAction.HIDE_TYPED)
    )
    rows = [[(_(label), ModCb(action=pick, id=idea_id, value=key))] for key, label in labels.items()]
    rows += [[(_("✍️ Type a reason"), ModCb(action=typed, id=idea_id))], [_back(idea_id)]]
    return _markup(rows)


def reasons_question(idea: Idea, decision: Decision) -> str:
    if decision == Decision.REJECT:
        return _("Why is idea #{number} “{title}” not accepted? The author will read the reason.").format(
            number=idea.id, title=escape(idea.title)
        )
    return _(
        "🙈 Hide idea #{number} “{title}”? Residents will no longer see it. Choose the reason the author "
        "will read, or go back."
    ).format(number=idea.id, title=escape(idea.title))


def typed_reason_view(idea: Idea, decision: Decision, reason: str) -> tuple[str, InlineKeyboardMarkup]:
    """The typed reason shown back before it goes: Send, Edit the reason, Back."""
    if decision == Decision.REJECT:
        question = _("✖️ Reject idea #{number} “{title}” with this reason? The author will read it:")
        send, again = ModAction.REJECT_CONFIRM, ModAction.REJECT_TYPED
    else:
        question = _("🙈 Hide idea #{number} “{title}” with this reason? The author will read it:")
        send, again = ModAction.HIDE_CONFIRM, ModAction.HIDE_TYPED
    text = question.format(number=idea.id, title=escape(idea.title)) + f"\n\n<i>{escape(reason)}</i>"
    keyboard = _markup(
        [
            [(_("📨 Send"), ModCb(action=send, id=idea.id))],
            [(_("✏️ Edit the reason"), ModCb(action=again, id=idea.id))],
            [_back(idea.id)],
        ]
    )
    return text, keyboard


def reason_prompt(idea: Idea) -> str:
    return _(
        "Type the reason for the author of #{number} ({min} to {max} characters), or send /cancel."
    ).format(number=idea.id, min=ideas.REASON_MIN, max=ideas.REASON_MAX)


# --- merging ---------------------------------------------------------------------------------------


def merge_view(idea: Idea, targets: list[ideas.Similar], page: int) -> tuple[str, InlineKeyboardMarkup]:
    shown = Page.of(page, TARGETS_PAGE, len(targets))
    start = shown.number * TARGETS_PAGE
    rows: list[list[Any]] = [
        [(_target_label(hit.idea), ModCb(action=ModAction.MERGE_TARGET, id=idea.id, value=str(hit.idea.id)))]
        for hit in targets[start : start + TARGETS_PAGE]
    ]
    rows += [page_row(shown, lambda n: ModCb(action=ModAction.MERGE, id=idea.id, page=n)), [_back(idea.id)]]
    markup = _markup(rows)
    text = _(
        "🔀 Merge idea #{number} “{title}” into which idea (published, or ⏳ waiting for review)? The most "
        "alike come first; you can also type the other idea's number."
    ).format(number=idea.id, title=escape(idea.title))
    if not targets:
        text += "\n" + _("There are no other ideas in this process to merge with.")
    return text, markup


def _target_label(idea: Idea) -> str:
    mark = "⏳ " if idea.status == ideas.PENDING else ""
    return mark + idea_label(idea, 46)


def merge_confirm_view(idea: Idea, target: Idea) -> tuple[str, InlineKeyboardMarkup]:
    text = _(
        "Merge idea #{number} “{title}” into #{target} “{target_title}”? Its supports move to #{target} "
        "(each person counted once) and its author is told."
    ).format(number=idea.id, title=escape(idea.title), target=target.id, target_title=escape(target.title))
    if target.status == ideas.PENDING:
        text += "\n" + _("⏳ #{target} is still waiting for review.").format(target=target.id)
    confirm = ModCb(action=ModAction.MERGE_CONFIRM, id=idea.id, value=str(target.id))
    back = ModCb(action=ModAction.MERGE, id=idea.id)
    return text, _markup([[(_("🔀 Yes, merge"), confirm)], [(_("« Back"), back)]])


# --- edits, themes, the published list -------------------------------------------------------------


def themes_view(idea: Idea, themes: list[Theme], lang: str) -> tuple[str, InlineKeyboardMarkup]:
    rows: list[list[tuple[str, Any]]] = [
        [
            (
                ("✓ " if theme.id == idea.theme_id else "") + ideas.theme_name(theme, lang),
                ModCb(action=ModAction.SET_THEME, id=idea.id, value=str(theme.id)),
            )
        ]
        for theme in themes
    ]
    rows.append([_back(idea.id)])
    return _("Which theme fits idea #{number}?").format(number=idea.id), _markup(rows)


def title_prompt(idea: Idea) -> str:
    return _("Type the new title for #{number} (now: “{title}”), or send /cancel.").format(
        number=idea.id, title=escape(idea.title)
    )


def description_prompt(idea: Idea) -> str:
    return _(
        "Type the new description for #{number} ({min} to {max} characters), or send /cancel. Now:\n\n{description}"
    ).format(
        number=idea.id,
        min=ideas.DESCRIPTION_MIN,
        max=ideas.DESCRIPTION_MAX,
        description=escape(idea.description),
    )


def published_view(items: list[ideas.Listed], page: Page) -> tuple[str, InlineKeyboardMarkup]:
    lines = [_("✅ <b>Published ideas</b>"), ""]
    if not items:
        lines.append(_("No published ideas yet."))
    rows: list[list[Any]] = []
    for item in items:
        mark = "🙈 " if item.idea.status == ideas.HIDDEN else ""
        lines.append(mark + list_line(item.idea, item.supports))
        rows.append([(mark + idea_label(item.idea), ModCb(action=ModAction.CARD, id=item.idea.id))])
    if any(item.idea.status == ideas.HIDDEN for item in items):
        lines += ["", _("🙈 hidden: open it to unhide it.")]
    rows += [page_row(page, lambda n: ModCb(action=ModAction.PUBLISHED, page=n)), [_staff_tools()]]
    markup = _markup(rows)
    return "\n".join(lines), markup


def author_text(idea_id: int, telegram_id: int | None) -> str:
    if telegram_id is None:
        return _("The author of #{number} has deleted their account.").format(number=idea_id)
    return _(
        '👤 The author of #{number} is Telegram user <a href="tg://user?id={id}">{id}</a>. '
        "This look-up is recorded in the audit log."
    ).format(number=idea_id, id=telegram_id)


# --- the staff group -------------------------------------------------------------------------------


def group_card(idea: Idea, lang: str, waiting: int) -> str:
    """The short announcement of a new idea in the staff group (in the city's language)."""
    return translate(
        "🆕 New idea #{number} “{title}” from {place}. Waiting for review: {count}. Open /admin in a private "
        "chat with the bot to moderate.",
        lang,
        number=idea.id,
        title=escape(idea.title),
        place=place(idea.neighborhood),
        count=waiting,
    )


# --- the staff part of the error table -------------------------------------------------------------


@refusal.register
def _too_late(error: ideas.AlreadyDecided, ctx: dict[str, Any]) -> str:
    return too_late_text(error.status)


@refusal.register
def _bad_target(error: ideas.BadTarget, ctx: dict[str, Any]) -> str:
    return _("Choose another published or waiting idea of the same process.")
