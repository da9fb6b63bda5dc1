"""Ballots for the results tests: the city pot of `tests.budget_fixtures.seed` voted by residents of three
neighborhoods, so that one project wins first, one does not fit after it, one fits what is left.

Votes (budget ₺5,000,000): Night buses (6, ₺3,500,000) 8, Library garden (3, ₺900,000) 6, Bike lanes
(2, ₺1,500,000) 5 and Shade over the bazaar (1, ₺2,150,000) 5 (the cheaper first on a tie), Playground
(4, ₺400,000) 2, Fountains (5) none. Greedy: 6 wins (₺1,500,000 left), 3 wins (₺600,000 left), 2 and 1
do not fit in ₺600,000, 4 wins (₺200,000 left), 5 had no support: ₺4,800,000 spent, 96%.
Turnout: Pazaryeri 6, Bostanlı 5, Alsancak 2.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from bot.services import budgets
from storage.models import ProcessPhase, utcnow
from tests.budget_fixtures import Seeded, resident

# (district, neighborhood, how many, the projects' codes)
VOTERS = (
    ("konak", "pazaryeri", 6, ("6", "3")),
    ("karsiyaka", "bostanli", 5, ("1", "2")),
    ("konak", "alsancak", 2, ("6", "4")),
)
WINNERS = ("6", "3", "4")


async def vote_all(session: Any, seeded: Seeded, first_id: int = 5000, instead_of: str = "") -> list[str]:
    """Confirmed ballots of every voter (the first of neighborhood `instead_of` left out: a person of the
    test votes in their place); their receipts in the order they were made."""
    receipts, telegram_id = [], first_id
    for district, hood, many, codes in VOTERS:
        for n in range(many):
            if hood == instead_of and n == 0:
                continue
            telegram_id += 1
            person = await resident(session, telegram_id, district, hood)
            chosen = [seeded.projects[c] for c in codes]
            receipts.append((await budgets.confirm(session, person, seeded.city, chosen)).ballot.receipt)
    return receipts


async def close_voting(session: Any, process_id: int) -> None:
    await session.execute(
        update(ProcessPhase)
        .where(ProcessPhase.process_id == process_id, ProcessPhase.kind == "voting")
        .values(ends_at=utcnow() - timedelta(minutes=1))
    )
