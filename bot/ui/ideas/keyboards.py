"""The resident side's buttons: pure functions from what is shown to the markup. A button that acts
shows exactly when the rule in `bot/services/ideas/rules.py` allows the action."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.services import processes
from bot.services.ideas import Listed, ShownIdea, Similar, rules
from bot.services.paging import Page
from bot.ui.callbacks import MenuCb
from bot.ui.ideas.callbacks import BrowseAction, BrowseCb, IdeaAction, IdeaCb, Sort
from bot.ui.ideas.cards import idea_label
from bot.ui.keyboards import button
from bot.ui.paging import page_row
from storage.models import Idea, Neighborhood, Process, Theme


def _column(buttons: Sequence[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[b] for b in buttons])


def home() -> InlineKeyboardMarkup:
    return _column(
        [
            button(_("✍️ Share an idea"), IdeaCb(action=IdeaAction.NEW)),
            button(_("🔎 Browse ideas"), IdeaCb(action=IdeaAction.BROWSE)),
            button(_("📋 My ideas"), IdeaCb(action=IdeaAction.MINE)),
            button(_("« Menu"), MenuCb(action="menu")),
        ]
    )


def after() -> InlineKeyboardMarkup:
    """Under a receipt or a closed form: where to go next."""
    return _column(
        [
            button(_("📋 My ideas"), IdeaCb(action=IdeaAction.MINE)),
            button(_("💡 Ideas"), IdeaCb(action=IdeaAction.HOME)),
            button(_("« Menu"), MenuCb(action="menu")),
        ]
    )


def choose_process(found: Sequence[Process], lang: str, *, browsing: bool) -> InlineKeyboardMarkup:
    rows = [
        button(
            processes.name(p, lang),
            BrowseCb(action=BrowseAction.LIST, process=p.id)
            if browsing
            else IdeaCb(action=IdeaAction.PROCESS, id=p.id),
        )
        for p in found
    ]
    return _column([*rows, button(_("« Ideas"), IdeaCb(action=IdeaAction.HOME))])


def similar_rows(found: Sequence[Similar]) -> list[list[InlineKeyboardButton]]:
    """Under the similar ideas offered after a title: support one of them instead."""
    return [
        [
            button(
                _("👍 Support #{number}").format(number=hit.idea.id),
                IdeaCb(action=IdeaAction.SUPPORT_SIMILAR, id=hit.idea.id),
            )
        ]
        for hit in found
    ]


def browse(cb: BrowseCb, items: Sequence[Listed], page: Page) -> InlineKeyboardMarkup:
    def at(action: BrowseAction, **changes: object) -> BrowseCb:
        return cb.model_copy(update={"action": action, **changes})

    rows = [
        [button(idea_label(item.idea), at(BrowseAction.VIEW, page=page.number, idea=item.idea.id))]
        for item in items
    ]
    nav = page_row(page, lambda n: at(BrowseAction.LIST, page=n, idea=0))
    if nav:
        rows.append(nav)
    other = Sort.NEWEST if cb.sort == Sort.TOP else Sort.TOP
    label = _("🆕 Newest first") if other == Sort.NEWEST else _("🔥 Most supported first")
    rows.append([button(label, at(BrowseAction.LIST, sort=other, page=0, idea=0))])
    rows.append(
        [
            button(_("🏘 By neighborhood"), at(BrowseAction.HOODS, page=0, idea=0)),
            button(_("🏷 By theme"), at(BrowseAction.THEMES, page=0, idea=0)),
        ]
    )
    rows.append([button(_("« Ideas"), IdeaCb(action=IdeaAction.HOME))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def hood_filter(
    cb: BrowseCb, mine: int | None, found: Sequence[tuple[Neighborhood, int]]
) -> InlineKeyboardMarkup:
    def listing(hood: int) -> BrowseCb:
        return cb.model_copy(update={"action": BrowseAction.LIST, "hood": hood, "page": 0, "idea": 0})

    rows = [button(_("All neighborhoods"), listing(0))]
    if mine:
        rows.append(button(_("My neighborhood"), listing(mine)))
    rows += [button(f"{hood.name} ({count})", listing(hood.id)) for hood, count in found[:20]]
    rows.append(button(_("« Back to the list"), listing(cb.hood)))
    return _column(rows)


def theme_filter(cb: BrowseCb, found: Sequence[tuple[Theme, str, int]]) -> InlineKeyboardMarkup:
    def listing(theme: int) -> BrowseCb:
        return cb.model_copy(update={"action": BrowseAction.LIST, "theme": theme, "page": 0, "idea": 0})

    rows = [button(_("All themes"), listing(0))]
    rows += [button(f"{name} ({count})", listing(theme.id)) for theme, name, count in found]
    rows.append(button(_("« Back to the list"), listing(cb.theme)))
    return _column(rows)


def view(
    cb: BrowseCb, idea: Idea | ShownIdea, supports: int, *, is_author: bool, supported: bool
) -> InlineKeyboardMarkup:
    rows = []
    if rules.can_support(idea.status, is_author=is_author):
        # the button says what it does, so a press that comes twice does it once
        action = BrowseAction.UNSUPPORT if supported else BrowseAction.SUPPORT
        label = (
            _("✅ You support this · {count} (press to take it back)")
            if supported
            else _("👍 Support · {count}")
        )
        rows.append(
            button(
                label.format(count=supports),
                cb.model_copy(update={"action": action, "idea": idea.id}),
            )
        )
    rows.append(
        button(_("« Back to the list"), cb.model_copy(update={"action": BrowseAction.LIST, "idea": 0}))
    )
    return _column(rows)


def mine(items: Sequence[Listed], page: Page) -> InlineKeyboardMarkup:
    rows = [[button(idea_label(item.idea), IdeaCb(action=IdeaAction.MY, id=item.idea.id))] for item in items]
    nav = page_row(page, lambda n: IdeaCb(action=IdeaAction.MINE, page=n))
    if nav:
        rows.append(nav)
    rows.append([button(_("« Ideas"), IdeaCb(action=IdeaAction.HOME))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def my_idea(idea: Idea) -> InlineKeyboardMarkup:
    rows = []
    if rules.can_withdraw(idea.status, is_author=True):
        rows.append(button(_("↩️ Withdraw"), IdeaCb(action=IdeaAction.WITHDRAW, id=idea.id)))
    rows.append(button(_("« My ideas"), IdeaCb(action=IdeaAction.MINE)))
    return _column(rows)


def withdraw_confirm(idea: Idea) -> InlineKeyboardMarkup:
    return _column(
        [
            button(_("Yes, withdraw it"), IdeaCb(action=IdeaAction.WITHDRAW_CONFIRM, id=idea.id)),
            button(_("« No, keep it"), IdeaCb(action=IdeaAction.MY, id=idea.id)),
        ]
    )
