"""A budgeting process for the budget tests: a voting phase, pots for the city, a district and a
neighborhood, and projects with round costs. It is made whole, as the Pabulib import makes one: its
projects are added with `building=True`, its voting phase already set."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import budgets, geography, processes, residents
from storage.models import BudgetBallot, BudgetChoice, utcnow

# the city pot's projects: code → (English title, cost)
CITY_PROJECTS = {
    "1": ("Shade over the bazaar", 2_150_000),
    "2": ("Bike lanes on the seafront", 1_500_000),
    "3": ("Library garden", 900_000),
    "4": ("Playground renewal", 400_000),
    "5": ("Drinking fountains", 100_000),
    "6": ("Night buses", 3_500_000),
}


@dataclass
class Seeded:
    process_id: int
    city: int  # pot ids
    district: int  # Konak's
    hood: int  # Pazaryeri's
    other_hood: int  # Bostanlı's (Karşıyaka)
    projects: dict[str, int]  # code → id, the city pot's
    hood_project: int
    other_project: int


async def seed(
    session: Any,
    *,
    open_voting: bool = True,
    key: str = "butce",
    kind: str = budgets.KNAPSACK,
    **limits: Any,
) -> Seeded:
    now = utcnow()
    process = await processes.create(
        session,
        key=key,
        names={"tr": "Katılımcı Bütçe", "en": "Participatory Budget"},
        opens_at=now - timedelta(days=30),
        closes_at=now - timedelta(days=20),
    )
    start, end = (
        (now - timedelta(days=1), now + timedelta(days=5))
        if open_voting
        else (
            now - timedelta(days=10),
            now - timedelta(days=1),
        )
    )
    await processes.set_phase(session, process, "voting", start, end)
    pazaryeri = await geography.by_keys(session, "konak", "pazaryeri")
    bostanli = await geography.by_keys(session, "karsiyaka", "bostanli")
    limits = {"max_projects": 5, **limits}
    city = await budgets.create_pot(
        session, process, names={"tr": "Şehir bütçesi", "en": "City budget"}, budget=5_000_000,
        ballot_kind=kind, **limits,
    )  # fmt: skip
    district = await budgets.create_pot(
        session, process, names={"tr": "Konak bütçesi", "en": "Konak budget"}, budget=1_000_000,
        scope=budgets.DISTRICT, district_id=pazaryeri.district_id,
    )  # fmt: skip
    hood = await budgets.create_pot(
        session, process, names={"tr": "Pazaryeri bütçesi", "en": "Pazaryeri budget"}, budget=500_000,
        scope=budgets.NEIGHBORHOOD, neighborhood_id=pazaryeri.id,
    )  # fmt: skip
    other = await budgets.create_pot(
        session, process, names={"tr": "Bostanlı bütçesi", "en": "Bostanlı budget"}, budget=500_000,
        scope=budgets.NEIGHBORHOOD, neighborhood_id=bostanli.id,
    )  # fmt: skip
    ids = {}
    for code, (title, cost) in CITY_PROJECTS.items():
        made = await budgets.add_project(
            session, city, code=code, titles={"en": title, "tr": f"{title} (tr)"}, cost=cost,
            summaries={"en": f"About {title.lower()}.", "tr": f"{title} hakkında."},
            neighborhood_id=pazaryeri.id if code == "1" else None, building=True,
        )  # fmt: skip
        ids[code] = made.id
    hood_project = await budgets.add_project(
        session, hood, titles={"en": "Benches"}, cost=200_000, building=True
    )
    other_project = await budgets.add_project(
        session, other, titles={"en": "Seaside lights"}, cost=300_000, building=True
    )
    return Seeded(process.id, city.id, district.id, hood.id, other.id, ids, hood_project.id, other_project.id)


async def resident(session: Any, telegram_id: int, district: str = "konak", hood: str = "pazaryeri") -> Any:
    """An onboarded resident of `district`/`hood` (with their identity)."""
    person = (await residents.get_or_create(session, telegram_id)).resident
    residents.set_language(person, "en")
    await residents.accept_privacy(session, person)
    place = await geography.by_keys(session, district, hood)
    await residents.set_neighborhood(session, person, place.id)
    return person


async def _chosen(session: AsyncSession, ballot: BudgetBallot) -> tuple[int, ...]:
    """A stored ballot's projects, in the order chosen."""
    chosen = await session.scalars(
        select(BudgetChoice.project_id)
        .where(BudgetChoice.ballot_id == ballot.id)
        .order_by(BudgetChoice.position)
    )
    return tuple(chosen)


async def stored_ballots(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, tuple[int, ...]]]:
    """Every ballot stored, in the order cast: its receipt and its projects in the order chosen."""
    async with sessions() as session:
        found = []
        for ballot in await session.scalars(select(BudgetBallot).order_by(BudgetBallot.id)):
            found.append((ballot.receipt, await _chosen(session, ballot)))
        return found


async def my_ballot(
    session: AsyncSession, person: Any, pot_id: int
) -> tuple[BudgetBallot, tuple[int, ...]] | None:
    """The person's stored ballot in the pot (from any of their accounts, by identity) and its
    projects, read straight from the tables: also after voting has closed, when the ballot's screens
    refuse."""
    ballot = await session.scalar(
        select(BudgetBallot).where(
            BudgetBallot.pot_id == pot_id, BudgetBallot.identity == residents.person_key(person)
        )
    )
    return None if ballot is None else (ballot, await _chosen(session, ballot))
