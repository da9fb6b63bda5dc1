"""Budgets, the staff side, on a real database (SQLite, and PostgreSQL with TEST_DATABASE_URL): typed
amounts, the staff role checked by every use case, nothing changing once voting has begun (no project
added by any way either), an idea turned into a project once (two staff members at once: one wins), its
supporters told in their language (not those who turned these notices off), one audit entry per action."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from bot.services import budgets, geography, ideas, processes, residents, roles
from bot.services.budgets import rules
from bot.services.budgets import staff as budget_staff
from bot.services.errors import NotAllowed
from storage.models import (
    AuditEntry,
    BudgetProject,
    Idea,
    IdeaSupport,
    OutboxDelivery,
    OutboxMessage,
    ProcessPhase,
    Theme,
    utcnow,
)
from tests.budget_fixtures import resident

# --- typed amounts, pure ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "amount"),
    [("5000000", 5_000_000), ("5.000.000", 5_000_000), ("5,000,000", 5_000_000), ("5 000 000", 5_000_000),
     ("₺5.000.000", 5_000_000), ("5.000.000 TL", 5_000_000), ("250.000", 250_000), ("7", 7),
     ("5\u00a0000", 5_000)],
)  # fmt: skip
def test_amounts_typed_with_separators(typed: str, amount: int) -> None:
    assert rules.parse_amount(typed) == amount


@pytest.mark.parametrize(
    ("typed", "problem"),
    [("5.000,000", "format"), ("5,5", "format"), ("5.00", "format"), ("beş milyon", "format"), ("", "format"),
     ("-5", "format"), ("0", "small"), ("1" + "0" * 14, "large"), ("٥٠٠", "format")],
)  # fmt: skip
def test_unreadable_amounts_are_refused_with_the_reason(typed: str, problem: str) -> None:
    with pytest.raises(rules.BadAmount) as caught:
        rules.parse_amount(typed)
    assert caught.value.problem == problem


def test_rules_may_change_until_voting_begins() -> None:
    assert rules.can_edit(None) and rules.can_edit(processes.UPCOMING)
    assert not rules.can_edit(processes.OPEN) and not rules.can_edit(processes.CLOSED)


# --- on the database ---------------------------------------------------------------------------------


async def _setup(session, voting_in_days: int = 5):  # noqa: ANN001, ANN202
    now = utcnow()
    process = await processes.create(
        session, key="butce", names={"tr": "Bütçe", "en": "Budget"},
        opens_at=now - timedelta(days=30), closes_at=now - timedelta(days=20),
    )  # fmt: skip
    start = now + timedelta(days=voting_in_days)
    await processes.set_phase(session, process, "voting", start, start + timedelta(days=10))
    staff = await resident(session, 900)
    await roles.grant(session, staff, roles.STAFF)
    return process, staff


async def _idea(session, process_id: int, author, supporters=()) -> Idea:  # noqa: ANN001
    theme = await session.scalar(select(Theme).limit(1))
    idea = Idea(process_id=process_id, author_id=author.id, neighborhood_id=author.neighborhood_id,
                theme_id=theme.id, title="Parka bank", description="Parka birkaç bank konulsun.",
                status=ideas.APPROVED)  # fmt: skip
    session.add(idea)
    await session.flush()
    session.add_all(IdeaSupport(idea_id=idea.id, resident_id=p.id) for p in supporters)
    await session.flush()
    return idea


PROJECT = {
    "titles": {"tr": "Bank", "en": "Benches"},
    "summaries": {"tr": "Banklar.", "en": "Benches."},
    "cost": 9,
}


async def test_every_use_case_refuses_a_resident_without_the_staff_role(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        process, staff = await _setup(session)
        pot = await budget_staff.new_pot(
            session, process.id, staff.id, {"tr": "Şehir", "en": "City"}, budget=10
        )
        made = await budget_staff.create_project(session, pot.id, staff.id, **PROJECT)
        ayse = await resident(session, 501)
        calls = [
            budget_staff.new_pot(session, process.id, ayse.id, {"tr": "A", "en": "A"}, budget=10),
            budget_staff.edit_pot(session, pot.id, ayse.id, {"tr": "A", "en": "A"}, budget=20),
            budget_staff.create_project(session, pot.id, ayse.id, **PROJECT),
            budget_staff.mark_infeasible(session, made.id, ayse.id, "Not possible here."),
            budget_staff.edit_project(session, made.id, ayse.id, cost=5),
            budget_staff.set_voting(
                session, process.id, ayse.id, utcnow() + timedelta(days=1), utcnow() + timedelta(days=2)
            ),
        ]
        for call in calls:
            with pytest.raises(NotAllowed):
                await call
        actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
        assert [a for a in actions if a.startswith("budget.")] == [
            "budget.pot",
            "budget.project",
        ]  # one entry per action, none for refusals


async def test_nothing_changes_once_voting_has_begun(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        process, staff = await _setup(session)
        pot = await budget_staff.new_pot(
            session, process.id, staff.id, {"tr": "Şehir", "en": "City"}, budget=10
        )
        made = await budget_staff.create_project(session, pot.id, staff.id, **PROJECT)
        edited = await budget_staff.edit_pot(session, pot.id, staff.id, {"en": "Whole city"}, budget=20,
                                             max_projects=3)  # fmt: skip
        assert (edited.budget, edited.max_projects, edited.names["en"], edited.names["tr"]) == (
            20,
            3,
            "Whole city",
            "Şehir",
        )
        with pytest.raises(budgets.PotError):  # the same checks as a new pot
            await budget_staff.edit_pot(session, pot.id, staff.id, {}, min_projects=5)
        await session.execute(
            update(ProcessPhase).where(ProcessPhase.process_id == process.id, ProcessPhase.kind == "voting")
            .values(starts_at=utcnow() - timedelta(minutes=1))
        )  # fmt: skip
        process_id, pot_id, made_id, staff_id = process.id, pot.id, made.id, staff.id
        session.expire_all()
        calls = [
            budget_staff.new_pot(session, process_id, staff_id, {"tr": "A", "en": "A"}, budget=10),
            budget_staff.edit_pot(session, pot_id, staff_id, {}, budget=30),
            budget_staff.create_project(session, pot_id, staff_id, **PROJECT),
            budget_staff.mark_infeasible(session, made_id, staff_id, "Not possible here."),
            budget_staff.edit_project(session, made_id, staff_id, cost=5),
            budget_staff.set_voting(
                session, process_id, staff_id, utcnow() + timedelta(days=1), utcnow() + timedelta(days=2)
            ),
        ]
        for call in calls:
            with pytest.raises(rules.VotingStarted):
                await call


async def test_no_project_is_added_once_voting_has_begun_whichever_way(sessions) -> None:  # noqa: ANN001
    """`budgets.add_project` refuses by `budgets.editable`, so the command line's two ways (typed, from an
    idea), the chat's `create_project` and the idea card's button (`takes_projects`) share one predicate.
    Only a process made whole in one go (`building=True`: the Pabulib import, sample data) skips it."""
    async with sessions.begin() as session:
        process, staff = await _setup(session)
        pot = await budget_staff.new_pot(
            session, process.id, staff.id, {"tr": "Şehir", "en": "City"}, budget=10
        )
        idea = await _idea(session, process.id, await resident(session, 501))
        assert budgets.editable(process) and await budget_staff.takes_projects(session, process.id)
        await budgets.add_project(session, pot, titles={"tr": "Ağaç", "en": "Trees"}, cost=5)
        await budgets.add_from_idea(session, pot, idea.id, 7)
        await session.execute(
            update(ProcessPhase).where(ProcessPhase.process_id == process.id, ProcessPhase.kind == "voting")
            .values(starts_at=utcnow() - timedelta(minutes=1))
        )  # fmt: skip
        process_id, pot_id, idea_id, staff_id = process.id, pot.id, idea.id, staff.id
        session.expire_all()
        process = await processes.get(session, process_id)
        pot = await budget_staff.pot(session, pot_id)
        assert not budgets.editable(process) and not budget_staff.editable(process)
        assert not await budget_staff.takes_projects(session, process_id)
        assert await budget_staff.takes_projects(session, None)  # no process: the form says there is no pot
        calls = [
            budgets.add_project(session, pot, titles={"tr": "Ağaç", "en": "Trees"}, cost=5),
            budgets.add_from_idea(session, pot, idea_id, 7),
            budget_staff.create_project(session, pot_id, staff_id, **PROJECT),
            budget_staff.create_project(session, pot_id, staff_id, **PROJECT, idea_id=idea_id),
        ]
        for call in calls:
            with pytest.raises(rules.VotingStarted):
                await call
        assert [p.cost for p in await budget_staff.projects(session, pot_id)] == [5, 7]
        assert (await session.get(Idea, idea_id)).status == ideas.APPROVED
        await budgets.add_project(session, pot, titles={"en": "From a file"}, cost=3, building=True)
        assert [p.cost for p in await budget_staff.projects(session, pot_id)] == [5, 7, 3]


async def test_a_project_edited_by_staff_until_voting_begins(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        process, staff = await _setup(session)
        city = await budget_staff.new_pot(
            session, process.id, staff.id, {"tr": "Şehir", "en": "City"}, budget=10
        )
        other = await budget_staff.new_pot(
            session, process.id, staff.id, {"tr": "Konak", "en": "Konak"}, budget=10
        )
        await budget_staff.create_project(session, other.id, staff.id, **PROJECT)  # takes code "1" there
        made = await budget_staff.create_project(
            session, city.id, staff.id, **PROJECT, note="Check the site."
        )
        made.latitude, made.longitude = 38.4, 27.1
        place = await geography.by_keys(session, "karsiyaka", "bostanli")
        edited = await budget_staff.edit_project(
            session, made.id, staff.id, pot_id=other.id, titles={"en": "  Shady   benches "}, cost=12,
            note="", neighborhood_id=place.id, summaries={"tr": "Banklar.", "en": "Benches."},
        )  # fmt: skip
        assert edited.titles == {"tr": "Bank", "en": "Shady benches"} and edited.cost == 12
        assert (edited.pot_id, edited.code, edited.position) == (other.id, "2", 1)
        assert edited.note is None and edited.neighborhood_id == place.id and edited.latitude is None
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "budget.project.edit"))
        assert entry.actor_id == staff.id and entry.object_id == made.id
        assert entry.details["fields"] == ["pot_id", "titles", "cost", "note", "neighborhood_id"]
        with pytest.raises(budgets.PotError):  # a title cannot be emptied
            await budget_staff.edit_project(session, made.id, staff.id, titles={"tr": " "})
        with pytest.raises(rules.BadAmount):
            await budget_staff.edit_project(session, made.id, staff.id, cost=0)
        draft = budget_staff.draft_of(edited, process.id)
        assert draft["title_en"] == "Shady benches" and draft["place"] == place.id and draft["note"] == ""
        assert "photo" not in draft and draft["pot"] == other.id


async def test_an_idea_becomes_a_project_and_its_supporters_are_told(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        process, staff = await _setup(session)
        pot = await budget_staff.new_pot(
            session, process.id, staff.id, {"tr": "Şehir", "en": "City"}, budget=10
        )
        author, fan, quiet = [await resident(session, n) for n in (501, 502, 503)]
        residents.set_language(fan, "tr")
        await residents.set_notification(session, quiet.id, "ideas", False)
        idea = await _idea(session, process.id, author, (fan, quiet))
        before = list(await session.scalars(select(OutboxMessage.id)))
        made = await budget_staff.create_project(session, pot.id, staff.id, idea_id=idea.id, default_lang="tr",
                                                 **PROJECT)  # fmt: skip
        sent = (
            await session.execute(
                select(OutboxDelivery.resident_id, OutboxDelivery.lang, OutboxMessage.text, OutboxMessage.params)
                .join(OutboxMessage, OutboxMessage.id == OutboxDelivery.message_id)
                .where(OutboxMessage.id.not_in(before))
                .order_by(OutboxDelivery.id)
            )
        ).all()  # the notices, written to the outbox with the decision
        assert [(n.resident_id, n.lang) for n in sent] == [(author.id, "en"), (fan.id, "tr")]
        assert sent[1].text == budget_staff.SUPPORTER_NOTICE and sent[1].params["project"] == "Bank"
        assert (made.idea_id, made.neighborhood_id) == (idea.id, author.neighborhood_id)
        assert (await session.get(Idea, idea.id)).status == ideas.PROJECT
        with pytest.raises(ideas.AlreadyDecided):  # once only
            await budget_staff.create_project(session, pot.id, staff.id, idea_id=idea.id, **PROJECT)


async def test_two_staff_members_turn_the_same_idea_at_once_one_wins(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        process, staff = await _setup(session)
        pot = await budget_staff.new_pot(
            session, process.id, staff.id, {"tr": "Şehir", "en": "City"}, budget=10
        )
        idea = await _idea(session, process.id, await resident(session, 501))
        ids = (pot.id, staff.id, idea.id)

    async def turn() -> str:
        try:
            async with sessions.begin() as session:
                await budget_staff.create_project(session, ids[0], ids[1], idea_id=ids[2], **PROJECT)
            return "made"
        except ideas.AlreadyDecided:
            return "refused"

    outcomes = await asyncio.gather(turn(), turn())
    assert sorted(outcomes) == ["made", "refused"]
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(BudgetProject)) == 1
