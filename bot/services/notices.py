"""Notices: a message to one person, in that person's language, sent after the update's data is saved.

A service that decides something another person must hear of (an idea approved, a merge) calls
`notices.queue(session, Notice(...))`. Nothing is sent inside the transaction: the database middleware
hands the queued notices to the delivery (`bot/ui/notices.py`) once the transaction has committed, and
drops them if it rolled back. A notice is rendered in the recipient's language at delivery, so the
same shape can be fed through a broadcast outbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import translate

_KEY = "meydan.notices"


@dataclass(frozen=True)
class Link:
    """A button under a notice that opens something in the bot: `kind` is registered by a feature's UI
    (e.g. "idea" opens an idea's card), `id` the object, `label` a message id with `{id}`."""

    kind: str
    id: int
    label: str


@dataclass(frozen=True)
class Notice:
    """A message for one resident; `text` is a message id rendered with `params` in `lang`."""

    resident_id: int | None
    chat_id: int
    lang: str
    text: str
    params: dict[str, Any] = field(default_factory=dict)
    links: tuple[Link, ...] = ()
    category: str | None = None  # the notification category it belongs to (None: always sent)
    photo: str | None = None  # a photo's Telegram file id: the text becomes its caption (≤ 1024 characters)

    def render(self) -> str:
        return translate(self.text, self.lang, **self.params)


def queue(session: AsyncSession, notice: Notice | None) -> None:
    """Send `notice` once this update's transaction has committed (never if it rolls back)."""
    if notice is not None:
        session.info.setdefault(_KEY, []).append(notice)


def take(session: AsyncSession) -> list[Notice]:
    """The notices queued in this session, removed from it."""
    return session.info.pop(_KEY, [])
