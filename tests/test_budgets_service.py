"""Budget ballots on a real database (SQLite, and PostgreSQL with TEST_DATABASE_URL): every limit as a
choice is ticked and at confirm, who sees which pot, voting only while the phase is current, one ballot
per person (concurrent confirms, a deleted and re-made account), changing a ballot."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select, update

from bot.services import budgets, geography, privacy, processes, residents
from bot.services.budgets import rules, staff
from storage.models import (
    BudgetBallot,
    BudgetChoice,
    BudgetPot,
    BudgetProject,
    Neighborhood,
    ProcessPhase,
    utcnow,
)
from tests.budget_fixtures import my_ballot, resident, seed
from tests.conftest import selects_run, statements_run

# --- the rules, pure ---------------------------------------------------------------------------------


def test_limits_of_a_knapsack_ballot() -> None:
    limits = rules.Limits(rules.KNAPSACK, 5_000_000, min_projects=2, max_projects=3, min_share=50)
    empty = rules.Cart(0, 0)
    assert rules.can_add(limits, empty, 5_000_000)
    assert isinstance(rules.refusal_to_add(limits, rules.Cart(1, 4_000_000), 1_000_001), rules.OverBudget)
    assert isinstance(rules.refusal_to_add(limits, rules.Cart(3, 100), 1), rules.TooMany)
    assert isinstance(rules.refusal_to_confirm(limits, rules.Cart(1, 3_000_000)), rules.TooFew)
    short = rules.refusal_to_confirm(limits, rules.Cart(2, 2_499_999))
    assert isinstance(short, rules.UnderShare) and short.needed == 2_500_000
    assert rules.can_confirm(limits, rules.Cart(2, 2_500_000))
    assert isinstance(rules.refusal_to_confirm(limits, rules.Cart(0, 0)), rules.TooFew)  # never empty
    assert isinstance(rules.refusal_to_confirm(limits, rules.Cart(2, 5_000_001)), rules.OverBudget)


def test_limits_of_an_approval_ballot() -> None:
    limits = rules.Limits(rules.APPROVAL, 1_000, approval_limit=2, max_projects=5)
    assert limits.most == 2
    assert rules.can_add(limits, rules.Cart(1, 10**9), 10**9)  # money does not count
    assert isinstance(rules.refusal_to_add(limits, rules.Cart(2, 0), 1), rules.TooMany)
    assert rules.can_confirm(limits, rules.Cart(1, 10**9))


def test_typed_project_numbers_are_read_in_order_each_once() -> None:
    assert rules.typed_numbers(" 217, 1711 1794;569\n12") == ("217", "1711", "1794", "569", "12")
    assert rules.typed_numbers("#217, №12. 217") == ("217", "12")  # marks around numbers; twice is once
    assert rules.typed_numbers("A12 b7") == ("A12", "b7")  # a Pabulib id need not be digits only
    too_many = " ".join(str(n) for n in range(rules.MOST_TYPED + 1))
    for nothing in ("", " , ;", "the library", "#", too_many):
        with pytest.raises(rules.NoNumbers):
            rules.typed_numbers(nothing)
    approval = rules.Limits(rules.APPROVAL, 1_000, approval_limit=2)
    assert rules.refusal_of_list(approval, rules.Cart(2, 10**9)) is None  # money does not count
    assert isinstance(rules.refusal_of_list(approval, rules.Cart(3, 0)), rules.TooMany)
    knapsack = rules.Limits(rules.KNAPSACK, 5_000_000, min_projects=2, min_share=50)
    assert rules.refusal_of_list(knapsack, rules.Cart(1, 1)) is None  # the rest is for confirming
    assert isinstance(rules.refusal_of_list(knapsack, rules.Cart(1, 5_000_001)), rules.OverBudget)


def test_who_sees_which_pot() -> None:
    assert rules.open_to(rules.CITY, None, None, 7, 1)
    assert rules.open_to(rules.DISTRICT, 1, None, 7, 1) and not rules.open_to(rules.DISTRICT, 2, None, 7, 1)
    assert rules.open_to(rules.NEIGHBORHOOD, None, 7, 7, 1)
    assert not rules.open_to(rules.NEIGHBORHOOD, None, 8, 7, 1)
    assert not rules.open_to(rules.NEIGHBORHOOD, None, 7, None, None)


# --- on the database ---------------------------------------------------------------------------------


async def test_a_resident_sees_their_neighborhood_district_and_city_pots(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        seeded = await seed(session)
        ayse = await resident(session, 501)
        john = await resident(session, 502, "karsiyaka", "bostanli")
        mine = [o.pot.id for o in await budgets.open_pots(session, ayse)]
        theirs = [o.pot.id for o in await budgets.open_pots(session, john)]
    assert mine == [seeded.hood, seeded.district, seeded.city]
    assert theirs == [seeded.other_hood, seeded.city]
    async with sessions.begin() as session:
        for forged in (seeded.other_hood, 999_999):
            with pytest.raises(budgets.NotYourPot):
                await budgets.pot_for(session, ayse, forged)
            with pytest.raises(budgets.NotYourPot):
                await budgets.confirm(session, ayse, forged, [seeded.other_project])


async def test_every_limit_is_checked_as_choices_are_ticked(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        seeded = await seed(session, max_projects=3, min_projects=2, min_share=50)
        ayse = await resident(session, 501)
        p = seeded.projects
        step = await budgets.tick(session, ayse, seeded.city, [], p["1"], True)
        assert step.added and step.cart == budgets.Cart(1, 2_150_000)
        with pytest.raises(budgets.OverBudget) as over:
            await budgets.tick(session, ayse, seeded.city, step.chosen, p["6"], True)  # 2.15M + 3.5M > 5M
        assert over.value.total == 5_650_000
        with pytest.raises(budgets.TooFew):
            await budgets.confirm(session, ayse, seeded.city, step.chosen)
        step = await budgets.tick(session, ayse, seeded.city, step.chosen, p["5"], True)
        with pytest.raises(budgets.UnderShare):  # 2.25M of the 2.5M at least
            await budgets.confirm(session, ayse, seeded.city, step.chosen)
        step = await budgets.tick(session, ayse, seeded.city, step.chosen, p["4"], True)
        with pytest.raises(budgets.TooMany):
            await budgets.tick(session, ayse, seeded.city, step.chosen, p["3"], True)
        # an Add pressed again on a full ballot is no new tick, and a Remove of what is not ticked no change
        again = await budgets.tick(session, ayse, seeded.city, step.chosen, p["4"], True)
        assert again == step
        kept = await budgets.tick(session, ayse, seeded.city, step.chosen, p["3"], False)
        assert not kept.added and kept.chosen == step.chosen
        step = await budgets.tick(session, ayse, seeded.city, step.chosen, p["5"], False)
        assert not step.added and step.chosen == (p["1"], p["4"])
        with pytest.raises(budgets.NotOnBallot):  # another pot's project
            await budgets.tick(session, ayse, seeded.city, step.chosen, seeded.hood_project, True)
        done = await budgets.confirm(session, ayse, seeded.city, step.chosen)
        assert done.chosen == (p["1"], p["4"]) and not done.changed
        assert len(done.ballot.receipt) == rules.RECEIPT_LENGTH
    async with sessions.begin() as session:  # a forged draft is checked whole at confirm
        with pytest.raises(budgets.OverBudget):
            await budgets.confirm(session, ayse, seeded.city, [p["1"], p["6"]])
        with pytest.raises(budgets.NotOnBallot):
            await budgets.confirm(session, ayse, seeded.city, [p["1"], seeded.other_project])


async def test_approval_ballot_limit(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        seeded = await seed(session, kind=budgets.APPROVAL, approval_limit=2)
        ayse = await resident(session, 501)
        p = seeded.projects
        step = await budgets.tick(
            session, ayse, seeded.city, [p["6"]], p["1"], True
        )  # 5.65M: money does not count
        with pytest.raises(budgets.TooMany) as many:
            await budgets.tick(session, ayse, seeded.city, step.chosen, p["2"], True)
        assert many.value.limit == 2
        assert (await budgets.confirm(session, ayse, seeded.city, step.chosen)).chosen == (p["6"], p["1"])


async def test_a_typed_list_is_the_draft_by_the_projects_numbers(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        seeded = await seed(session, max_projects=3)
        ayse = await resident(session, 502)
        p = seeded.projects
        view = await budgets.ballot_view(session, ayse, seeded.city, [p["2"]])
        typed = budgets.numbered(view, ("5", "3"))
        assert typed.chosen == (p["5"], p["3"]) and typed.cart == rules.Cart(2, 1_000_000)  # in place of 2
        with pytest.raises(budgets.UnknownNumbers) as unknown:
            budgets.numbered(view, ("3", "77", "x"))
        assert unknown.value.numbers == ("77", "x")
        with pytest.raises(budgets.TooMany):
            budgets.numbered(view, ("2", "3", "4", "5"))
        with pytest.raises(budgets.OverBudget):
            budgets.numbered(view, ("1", "6"))


async def test_voting_only_while_the_phase_is_current(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        seeded = await seed(session, open_voting=False)
        ayse = await resident(session, 501)
        assert await budgets.open_pots(session, ayse) == []
        with pytest.raises(budgets.VotingNotOpen) as closed:
            await budgets.tick(session, ayse, seeded.city, [], seeded.projects["1"], True)
        assert closed.value.state == "closed"
        with pytest.raises(budgets.VotingNotOpen):
            await budgets.confirm(session, ayse, seeded.city, [seeded.projects["1"]])
        upcoming = utcnow() - timedelta(days=20)
        with pytest.raises(budgets.VotingNotOpen) as early:
            await budgets.pot_for(session, ayse, seeded.city, now=upcoming)
        assert early.value.state == "upcoming"


async def test_the_gate_reads_the_pot_as_values_and_sees_changes_not_yet_flushed(sessions) -> None:  # noqa: ANN001
    """A press reads the pot, its process and its voting phase as plain values in one statement over
    the tables; the session flushes its own changes before it as before an ORM read, so a phase moved or
    removed earlier in the same transaction is what the gate checks."""
    async with sessions.begin() as session:
        seeded = await seed(session)
        ayse = await resident(session, 501)
        await session.flush()
        selects = selects_run(session.get_bind())
        found = await budgets.gate(session, ayse, seeded.city)
        assert len(selects) == 1
        pot, process = found.pot, found.pot.process
        assert (pot.id, pot.names["en"], pot.budget, pot.max_projects) == (
            seeded.city,
            "City budget",
            5_000_000,
            5,
        )
        assert (process.id, process.verification, [p.kind for p in process.phases]) == (
            seeded.process_id,
            rules.NONE,
            ["voting"],
        )
        assert found.ballot is None and found.pending is None
        phase = await session.scalar(
            select(ProcessPhase).where(
                ProcessPhase.process_id == seeded.process_id, ProcessPhase.kind == "voting"
            )
        )
        phase.ends_at = utcnow() - timedelta(minutes=1)  # not flushed
        with pytest.raises(budgets.VotingNotOpen) as closed:
            await budgets.gate(session, ayse, seeded.city)
        assert closed.value.state == "closed"
        await session.delete(phase)  # no voting phase at all
        with pytest.raises(budgets.VotingNotOpen) as none:
            await budgets.gate(session, ayse, seeded.city)
        assert none.value.state is None


async def _gated(session, person, pot_id: int):  # noqa: ANN001, ANN202
    """What the gate answers: the pot, the ballot and the verification asked, or the refusal."""
    try:
        found = await budgets.gate(session, person, pot_id)
    except budgets.BudgetError as refused:
        return type(refused).__name__, str(refused)
    return found


async def _read_with_gate(session, telegram_id: int, pot_id: int):  # noqa: ANN001, ANN202
    """The person read as an update of a press of pot `pot_id` reads them: the gate beside."""
    viewer, _records, _extra = await residents.load_with_state(
        session, telegram_id, (), beside=(budgets.GATE_BESIDE, {"pot_id": pot_id})
    )
    return viewer.resident


async def test_the_gate_read_beside_the_person_answers_as_its_own_read(sessions) -> None:  # noqa: ANN001
    """A ballot press reads its pot's gate in the person's read: for a pot of the person's neighborhood,
    district or city, another neighborhood's, one that does not exist, with a ballot confirmed from a
    deleted account, and for a resident with no neighborhood, the gate answers from it, with no
    statement of its own, what it answers reading for itself."""
    async with sessions.begin() as session:
        seeded = await seed(session)
        ayse = await resident(session, 501)
        await budgets.confirm(session, ayse, seeded.city, [seeded.projects["1"]])
        await privacy.delete_account(session, ayse)
        await resident(session, 501)  # back, with the ballot of her deleted account
        await resident(session, 502, "karsiyaka", "bostanli")
        await residents.get_or_create(session, 503)  # not set up: no neighborhood, no identity yet
    pots = (seeded.city, seeded.district, seeded.hood, seeded.other_hood, 999_999)
    answers = []
    for telegram_id in (501, 502, 503):
        for pot_id in pots:
            async with sessions.begin() as session:
                person = await _read_with_gate(session, telegram_id, pot_id)
                selects = selects_run(session.get_bind())
                beside = await _gated(session, person, pot_id)
                assert selects == []
                assert await _gated(session, person, pot_id) == beside  # a second ask reads for itself
                assert len(selects) == 1
                answers.append(beside)
    city = answers[0]
    assert city.ballot is not None and city.pot.id == seeded.city and city.pending is None
    assert [isinstance(a, budgets.Gate) for a in answers] == [
        *(True, True, True, False, False),  # Ayşe of Pazaryeri, Konak
        *(True, False, False, True, False),  # John of Bostanlı
        *(True, False, False, False, False),  # nobody's neighborhood: the city's pot only
    ]
    assert answers[5].ballot is None


async def test_the_gate_read_beside_the_person_stands_only_as_it_was_read(sessions) -> None:  # noqa: ANN001
    """The values read beside the person serve the first ask only, and only for the pot they were read
    for, the resident as they were read, and while the session has changed nothing: otherwise the gate
    reads for itself and sees what changed."""
    async with sessions.begin() as session:
        seeded = await seed(session)
        await resident(session, 501)
    async with sessions.begin() as session:
        person = await _read_with_gate(session, 501, seeded.city)
        selects = selects_run(session.get_bind())
        await budgets.gate(session, person, seeded.hood)  # another pot
        assert len(selects) == 1
        await budgets.gate(session, person, seeded.city)  # taken by the first ask, whatever its pot
        assert len(selects) == 2
    async with sessions.begin() as session:
        person = await _read_with_gate(session, 501, seeded.hood)
        elsewhere = await geography.by_keys(session, "karsiyaka", "bostanli")
        person.neighborhood_id = elsewhere.id  # moved, not flushed yet
        with pytest.raises(budgets.NotYourPot):
            await budgets.gate(session, person, seeded.hood)
        await session.rollback()
    async with sessions.begin() as session:
        person = await _read_with_gate(session, 501, seeded.city)
        voting = ProcessPhase.process_id == seeded.process_id, ProcessPhase.kind == "voting"
        phase = await session.scalar(select(ProcessPhase).where(*voting))
        phase.ends_at = utcnow() - timedelta(minutes=1)
        await session.flush()  # a change of the session's own, flushed: the read beside it no longer stands
        with pytest.raises(budgets.VotingNotOpen):
            await budgets.gate(session, person, seeded.city)
        await session.rollback()
    async with sessions.begin() as session:
        person = await _read_with_gate(session, 501, seeded.city)
        pot = await session.get(BudgetPot, seeded.city)
        pot.budget = 7_000_000  # pending: the gate's read flushes it first and sees it
        assert (await budgets.gate(session, person, seeded.city)).pot.budget == 7_000_000


async def test_changing_a_ballot_keeps_one_ballot_and_the_last_counts(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        seeded = await seed(session)
        ayse = await resident(session, 501)
        p = seeded.projects
        first = await budgets.confirm(session, ayse, seeded.city, [p["1"], p["2"]])
    async with sessions.begin() as session:
        second = await budgets.confirm(session, ayse, seeded.city, [p["3"]])
        assert second.changed and second.ballot.id == first.ballot.id
        assert second.ballot.receipt != first.ballot.receipt  # the receipt names the ballot that counts
        ballot, chosen = await my_ballot(session, ayse, seeded.city)
        assert chosen == (p["3"],)
        assert await session.scalar(select(func.count()).select_from(BudgetChoice)) == 1
    async with sessions.begin() as session:  # voting closes: no more changes
        await session.execute(
            update(ProcessPhase)
            .where(ProcessPhase.process_id == seeded.process_id, ProcessPhase.kind == "voting")
            .values(ends_at=utcnow() - timedelta(minutes=1))
        )
    async with sessions.begin() as session:
        with pytest.raises(budgets.VotingNotOpen):
            await budgets.confirm(session, ayse, seeded.city, [p["4"]])
        assert (await my_ballot(session, ayse, seeded.city))[1] == (p["3"],)


async def test_two_confirms_by_one_person_at_once_leave_one_ballot(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        seeded = await seed(session)
        await resident(session, 501)
    p = seeded.projects
    drafts = [[p["1"], p["2"]], [p["3"], p["4"], p["5"]], [p["6"]], [p["2"]]]

    async def one(draft: list[int]) -> tuple[int, ...]:
        async with sessions.begin() as session:
            person = await budgets_resident(session, 501)
            return (await budgets.confirm(session, person, seeded.city, draft)).chosen

    done = await asyncio.gather(*(one(d) for d in drafts))
    assert sorted(done) == sorted(tuple(d) for d in drafts)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(BudgetBallot)) == 1
        chosen = tuple(await session.scalars(select(BudgetChoice.project_id).order_by(BudgetChoice.position)))
    assert chosen in {tuple(d) for d in drafts}  # one confirm's choices, never a mix


async def budgets_resident(session, telegram_id: int):  # noqa: ANN001, ANN201
    from bot.services import residents

    return (await residents.get_or_create(session, telegram_id)).resident


async def test_a_deleted_account_coming_back_gets_no_second_ballot(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        seeded = await seed(session)
        ayse = await resident(session, 501)
        p = seeded.projects
        await budgets.confirm(session, ayse, seeded.city, [p["1"]])
    async with sessions.begin() as session:
        ayse = await budgets_resident(session, 501)
        await privacy.delete_account(session, ayse)
    async with sessions.begin() as session:
        again = await resident(session, 501)
        assert (await my_ballot(session, again, seeded.city))[1] == (p["1"],)
        assert (await budgets.gate(session, again, seeded.city)).ballot is not None
        assert [o.voted for o in await budgets.open_pots(session, again) if o.pot.id == seeded.city] == [True]
        changed = await budgets.confirm(session, again, seeded.city, [p["2"]])
        assert changed.changed
        assert await session.scalar(select(func.count()).select_from(BudgetBallot)) == 1


async def test_an_infeasible_project_leaves_the_ballot(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        seeded = await seed(session)
        ayse = await resident(session, 501)
        p = seeded.projects
        await budgets.set_status(session, p["6"], budgets.INFEASIBLE, "The bus company said no.")
        assert p["6"] not in [x.id for x in await budgets.projects_of(session, seeded.city)]
        with pytest.raises(budgets.NotOnBallot):
            await budgets.tick(session, ayse, seeded.city, [], p["6"], True)


async def test_demo_budget_is_created_once_and_open_to_pazaryeri(sessions) -> None:  # noqa: ANN001
    from bot.config import DEFAULT_CITY_FILE, load_city
    from bot.services.budgets import demo

    city = load_city(DEFAULT_CITY_FILE)
    async with sessions.begin() as session:
        await demo.seed_budget(session, city)
        await demo.seed_budget(session, city)
        ayse = await resident(session, 501)
        john = await resident(session, 502, "karsiyaka", "bostanli")
        assert len(await budgets.open_pots(session, ayse)) == 2
        assert len(await budgets.open_pots(session, john)) == 1
        assert await session.scalar(select(func.count()).select_from(BudgetPot)) == 2


async def test_my_ballots_are_in_my_data_export(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        seeded = await seed(session)
        ayse = await resident(session, 501)
        done = await budgets.confirm(session, ayse, seeded.city, [seeded.projects["3"]])
        data = await privacy.export(session, ayse)
    [ballot] = data["ballots"]
    assert ballot["receipt"] == done.ballot.receipt and ballot["projects"] == ["Library garden"]
    assert ballot["neighborhood"] == "Pazaryeri"  # where the voter lived when confirming (the turnout)
    assert ballot["pot"] == "City budget"


async def test_a_project_from_a_published_idea(sessions) -> None:  # noqa: ANN001
    from storage.models import Idea, Theme

    async with sessions.begin() as session:
        seeded = await seed(session)
        ayse = await resident(session, 501)
        theme = await session.scalar(select(Theme).where(Theme.key == "green"))
        ideas_made = []
        for status in ("approved", "pending"):
            idea = Idea(
                process_id=seeded.process_id, author_id=ayse.id, neighborhood_id=ayse.neighborhood_id,
                theme_id=theme.id, title="Gölgelik", description="Pazar yerine gölgelik.", status=status,
                latitude=38.41, longitude=27.13, photo_file_id="photo-1",
            )  # fmt: skip
            session.add(idea)
            await session.flush()
            ideas_made.append(idea.id)
        await session.execute(  # before voting begins (after, none is added: test_budgets_staff_service)
            update(ProcessPhase)
            .where(ProcessPhase.process_id == seeded.process_id, ProcessPhase.kind == "voting")
            .values(starts_at=utcnow() + timedelta(days=1))
        )
        pot = await session.get(BudgetPot, seeded.hood)
        project = await budgets.add_from_idea(session, pot, ideas_made[0], 150_000)
        assert project.idea_id == ideas_made[0] and project.titles == {"tr": "Gölgelik", "en": "Gölgelik"}
        assert project.neighborhood_id == ayse.neighborhood_id and project.photo_file_id == "photo-1"
        assert project.id in [p.id for p in await budgets.projects_of(session, seeded.hood)]
        with pytest.raises(budgets.PotError):  # not published
            await budgets.add_from_idea(session, pot, ideas_made[1], 150_000)


async def test_an_imported_point_ballot_pot_is_not_voted_on_in_the_chat(sessions) -> None:  # noqa: ANN001
    from bot.services.budgets import pbfiles
    from bot.tally import Ballot, Election, Project

    election = Election.build(
        [Project("1", 10), Project("2", 20)], [Ballot("v", ("1",), (3,))], 30, "cumulative"
    )
    async with sessions.begin() as session:
        now = utcnow()
        process, pot = await pbfiles.import_election(
            session,
            election,
            key="points",
            opens_at=now - timedelta(days=1),
            closes_at=now + timedelta(days=1),
        )
        assert pot.ballot_kind == budgets.CUMULATIVE
        ayse = await resident(session, 501)
        assert await budgets.open_pots(session, ayse) == []
        with pytest.raises(budgets.NotYourPot):
            await budgets.pot_for(session, ayse, pot.id)


async def test_the_ballot_reads_titles_and_summaries_as_stored_and_an_edit_at_once(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        seeded = await seed(session)
        pot = await session.get(BudgetPot, seeded.city)
        stored = {p.id: p for p in await budgets.projects_of(session, seeded.city)}
        shown = await budgets.ballot_projects(session, pot)
        assert [p.id for p in shown] == list(stored)
        for project in shown:
            assert dict(project.titles) == stored[project.id].titles
            assert dict(project.summaries) == (stored[project.id].summaries or {})
        first = shown[0].id
        await session.execute(  # a bulk statement, not through the ORM's objects
            update(BudgetProject)
            .where(BudgetProject.id == first)
            .values(titles={"tr": "Yeni başlık", "en": "New title"}, summaries=None)
        )
        again = {p.id: p for p in await budgets.ballot_projects(session, pot)}
        assert budgets.title(again[first], "en") == "New title" and dict(again[first].summaries) == {}
        assert budgets.title(again[first], "tr") == "Yeni başlık"


def _reads_of_projects(sessions) -> list[str]:  # noqa: ANN001
    """The statements that read a ballot's projects (`budgets.ballot_projects`), from now on."""
    return statements_run(
        sessions.kw["bind"], lambda statement: "CAST(budget_projects.titles AS TEXT)" in statement
    )


async def test_a_press_reads_the_pot_and_the_persons_ballot_in_one_statement(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        seeded = await seed(session)
        ayse = await resident(session, 501)
        await resident(session, 502)
        p = seeded.projects
        confirmed = await budgets.confirm(session, ayse, seeded.city, [p["1"], p["2"]])
    selects = selects_run(sessions.kw["bind"])
    async with sessions() as session:
        ayse = await budgets_resident(session, 501)
        selects.clear()
        pressed = await budgets.ballot_view(session, ayse, seeded.city, [p["3"]])  # a draft stands in
        assert pressed.chosen == (p["3"],) and pressed.ballot.id == confirmed.ballot.id
        assert len(selects) == 1  # the pot, its process and phases, the district, the ballot
        selects.clear()
        opened = await budgets.ballot_view(session, ayse, seeded.city, None)  # no draft: the ballot's own
        assert opened.chosen == (p["1"], p["2"]) and len(selects) == 2
        john = await budgets_resident(session, 502)
        selects.clear()
        fresh = await budgets.ballot_view(session, john, seeded.city, None)
        assert fresh.ballot is None and fresh.chosen == () and len(selects) == 1


async def _ballot(sessions, pot_id: int) -> dict[str, budgets.OnBallot]:  # noqa: ANN001
    """The pot's ballot as a press in a new update reads it, by project code."""
    async with sessions() as session:
        pot = await session.get(BudgetPot, pot_id)
        return {p.code: p for p in await budgets.ballot_projects(session, pot)}


async def test_a_ballot_is_read_once_while_nothing_on_it_changes_and_again_after_any_change(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        seeded = await seed(session, open_voting=False)
        now = utcnow()  # voting to come, so that staff may still change the projects
        process = await staff.process(session, seeded.process_id)
        await processes.set_phase(
            session, process, "voting", now + timedelta(days=1), now + timedelta(days=5)
        )
    reads = _reads_of_projects(sessions)
    first = await _ballot(sessions, seeded.city)
    for _ in range(3):
        assert await _ballot(sessions, seeded.city) == first
    assert len(reads) == 1
    assert await _ballot(sessions, seeded.hood) != first and len(reads) == 2  # another pot, its own

    async with sessions.begin() as session:  # a change through the ORM, as staff make it
        await staff.revise_project(session, seeded.projects["2"], None, titles={"en": "Trees, many"}, cost=1)
    changed = await _ballot(sessions, seeded.city)
    assert budgets.title(changed["2"], "en") == "Trees, many" and changed["2"].cost == 1
    assert len(reads) == 3

    async with sessions() as session:  # a change seen inside its own transaction, then rolled back
        await staff.revise_project(session, seeded.projects["2"], None, titles={"en": "Never"})
        pot = await session.get(BudgetPot, seeded.city)
        inside = {p.code: p for p in await budgets.ballot_projects(session, pot)}
        assert budgets.title(inside["2"], "en") == "Never"
        await session.rollback()
    assert budgets.title((await _ballot(sessions, seeded.city))["2"], "en") == "Trees, many"

    async with sessions.begin() as session:  # a place renamed: its name is on the ballot
        place = select(BudgetProject.neighborhood_id).where(BudgetProject.id == seeded.projects["1"])
        hood = await session.get(Neighborhood, await session.scalar(place))
        hood.name = "Pazaryeri Yeni"
    assert (await _ballot(sessions, seeded.city))["1"].place.startswith("Pazaryeri Yeni, ")

    async with sessions.begin() as session:  # a project whose pot is not loaded when it changes
        project = await session.get(BudgetProject, seeded.projects["4"])
        session.expire(project, ["pot_id"])
        project.cost = 7
    assert (await _ballot(sessions, seeded.city))["4"].cost == 7

    async with sessions.begin() as session:  # a project withdrawn by a bulk statement
        await session.execute(delete(BudgetProject).where(BudgetProject.id == seeded.projects["3"]))
    assert "3" not in await _ballot(sessions, seeded.city)
