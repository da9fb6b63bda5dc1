"""The buttons of ideas: what each press asks for, with readable fields (only values are packed, so
names cost nothing of the 64 bytes). Never trusted: every handler re-checks through the service."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from aiogram.filters.callback_data import CallbackData

from bot.services import ideas
from bot.services.residents import Beside
from bot.ui.callbacks import Id, pressed


class IdeaAction(StrEnum):
    HOME = "home"
    NEW = "new"
    PROCESS = "process"  # start the form for the process `id`
    SUPPORT_SIMILAR = "support-similar"  # support the similar idea `id` instead of sending a new one
    BROWSE = "browse"
    MINE = "mine"  # page `page` of my ideas
    MY = "my"  # my idea `id`
    OPEN = "open"  # idea `id` opened from a notice
    WITHDRAW = "withdraw"
    WITHDRAW_CONFIRM = "withdraw-yes"


class IdeaCb(CallbackData, prefix="idea"):
    action: IdeaAction
    id: Id = 0
    page: Id = 0


class Sort(StrEnum):
    NEWEST = "new"
    TOP = "top"


class BrowseAction(StrEnum):
    LIST = "list"
    VIEW = "view"
    SUPPORT = "support"  # give my support to `idea`
    UNSUPPORT = "unsupport"  # take it back
    HOODS = "hoods"  # choose the neighborhood filter
    THEMES = "themes"  # choose the theme filter


class BrowseCb(CallbackData, prefix="ib"):
    """Browsing a process's published ideas: the list's sort, filters and page travel with every button,
    so Back returns to the same place."""

    action: BrowseAction
    process: Id
    sort: Sort = Sort.NEWEST
    hood: Id = 0
    theme: Id = 0
    page: Id = 0
    idea: Id = 0


PAGE_SIZE = 5  # ideas on a page of a process's ideas


def idea_list(data: str) -> tuple[Beside, dict[str, Any]] | None:
    """A press of a page of a process's ideas has the page read in the person's read
    (`ideas.page_beside`): it is the page's read, with its filters and its window."""
    press = pressed(BrowseCb, data, BrowseAction.LIST)
    if press is None or not press.process:
        return None
    return ideas.page_beside(
        press.process, press.sort.value, press.hood or None, press.theme or None, press.page, PAGE_SIZE
    )


def idea_card(data: str) -> tuple[Beside, dict[str, Any]] | None:
    """A press that opens an idea's card has the card read in the person's read (`ideas.CARD_BESIDE`):
    it is all its handler reads."""
    press = pressed(BrowseCb, data, BrowseAction.VIEW)
    if press is None or not press.idea:
        return None
    return ideas.CARD_BESIDE, {"idea_id": press.idea, "process_id": press.process}


class ModAction(StrEnum):
    QUEUE = "queue"
    NEXT = "next"
    CARD = "card"
    PUBLISHED = "published"
    APPROVE = "approve"
    REJECT = "reject"  # choose a reason
    REJECT_REASON = "reject-reason"  # reject with the common reason `value`
    REJECT_TYPED = "reject-typed"  # type a reason
    REJECT_CONFIRM = "reject-confirm"  # send the typed reason
    HIDE = "hide"  # choose a reason
    HIDE_REASON = "hide-reason"
    HIDE_TYPED = "hide-typed"  # type a reason
    HIDE_CONFIRM = "hide-confirm"  # hide with the typed reason
    UNHIDE = "unhide"
    PROJECT = "project"
    MERGE = "merge"  # choose the target
    MERGE_TARGET = "merge-into"
    MERGE_CONFIRM = "merge-confirm"
    EDIT_TITLE = "edit-title"
    EDIT_DESCRIPTION = "edit-description"
    EDIT_THEME = "edit-theme"
    SET_THEME = "set-theme"
    AUTHOR = "author"


class ModCb(CallbackData, prefix="mod"):
    """Staff moderation of idea `id`; `value` carries a reason key, a target or a theme."""

    action: ModAction
    id: Id = 0
    value: str = ""
    page: Id = 0
