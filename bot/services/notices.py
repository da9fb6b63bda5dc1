"""Notices: a message to one person, in that person's language, sent after the update's data is saved.

A service that decides something another person must hear of (an idea approved, a merge) calls
`notices.queue(session, Notice(...))`. The notice becomes an outbox row (`bot/services/outbox.py`) in
the same transaction as the decision: committed together, or rolled back together (then nothing is
sent). The outbox worker sends it, rendered in the recipient's language at delivery.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import translate
from bot.services import outbox


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
    """Write `notice` to the outbox with this transaction: it is sent once the transaction has committed
    (never if it rolls back), by the outbox worker."""
    if notice is None:
        return
    outbox.add(
        session,
        kind=outbox.NOTICE if notice.resident_id is not None else outbox.STAFF,
        chat_id=notice.chat_id,
        lang=notice.lang,
        text=notice.text,
        params=notice.params,
        links=[(link.kind, link.id, link.label) for link in notice.links],
        category=notice.category,
        resident_id=notice.resident_id,
        photo=notice.photo,
    )
