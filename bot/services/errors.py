"""Domain errors shared by every feature (the role check that raises `NotAllowed` is
`bot.services.roles.require`).

A service refuses by raising a `DomainError`; nothing it wrote in that update is kept (the update's
transaction rolls back). The UI turns each error class into a message in the person's language
(`bot/ui/errors.py` and each feature's `bot/ui/<feature>/errors.py`), in one place, so handlers do not
catch refusals one by one.
"""

from __future__ import annotations


class DomainError(Exception):
    """An action that cannot be done, for a reason the person is told."""


class NotAllowed(DomainError):
    """The person lacks the role (or the scope of a role) this action needs."""

    def __init__(self, role: str, neighborhood_id: int | None = None) -> None:
        super().__init__(f"needs role {role} (scope {neighborhood_id})")
        self.role, self.neighborhood_id = role, neighborhood_id


class NotFound(DomainError):
    """The object does not exist (any more), or is not visible to this person."""


class Stale(DomainError):
    """The button or form the person used no longer matches the state of things."""


class BadNumber(DomainError):
    """A typed number or id that is not a plain decimal integer in range."""


def parse_int(text: str, *, low: int = 0, high: int = 2**31 - 1) -> int:
    """A typed integer: ASCII digits only (no "²", no Arabic-Indic digits), within [low, high]."""
    text = text.strip()
    if not text or len(text) > 12 or not text.isascii() or not text.isdigit():
        raise BadNumber(text[:12])
    value = int(text)
    if not low <= value <= high:
        raise BadNumber(text)
    return value
