"""Results services on a real database (both engines): counted once and stored, served from storage,
counted again by staff only; results refused while voting is open; receipts; the ballots file is
anonymous (no receipt codes, voter ids in the order of content, not of voting) and `meydan tally` on it
gives the stored winners; turnout never shows a group under five."""

from __future__ import annotations

import asyncio
import json
import sys
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from bot.services import budgets, geography, roles
from bot.services.budgets import counting, results
from bot.services.errors import NotAllowed
from bot.tally import Reason, loads, official_rule, tally
from storage.models import (
    AuditEntry,
    BudgetBallot,
    BudgetChoice,
    BudgetResult,
    Process,
    ProcessPhase,
    Resident,
    utcnow,
)
from tests.budget_fixtures import resident, seed
from tests.flows import command_env
from tests.results_fixtures import WINNERS, close_voting, vote_all

PLACES = (("konak", "pazaryeri"), ("karsiyaka", "bostanli"), ("konak", "alsancak"))


@asynccontextmanager
async def _update(sessions):  # noqa: ANN001, ANN202
    """A session as an update has it (`DatabaseMiddleware`): committed at the end, rolled back on error;
    the results service may commit on the way (before a tally, which runs outside any transaction)."""
    async with sessions() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


async def _voted_and_closed(sessions):  # noqa: ANN001, ANN202
    async with _update(sessions) as session:
        seeded = await seed(session)
        receipts = await vote_all(session, seeded)
    async with _update(sessions) as session:
        await close_voting(session, seeded.process_id)
    return seeded, receipts


async def test_results_wait_for_the_end_of_voting(sessions) -> None:  # noqa: ANN001
    async with _update(sessions) as session:
        seeded = await seed(session)
        await vote_all(session, seeded)
    async with sessions() as session:
        with pytest.raises(results.ResultsNotReady) as refused:
            await results.pot_results(session, seeded.city)
        assert refused.value.at is not None
        with pytest.raises(results.ResultsNotReady):
            await results.receipts(session, seeded.city)
        person = await resident(session, 9001)
        assert await results.pots_for(session, person) == []
        assert await session.scalar(select(func.count()).select_from(BudgetResult)) == 0


async def test_counted_once_stored_and_served_from_storage(sessions, monkeypatch) -> None:  # noqa: ANN001
    seeded, _receipts = await _voted_and_closed(sessions)
    async with _update(sessions) as session:
        shown = await results.pot_results(session, seeded.city)
    assert shown.outcome.selected == WINNERS and shown.ballots == 13
    why = shown.outcome.explanations
    assert why["1"].reason is Reason.DID_NOT_FIT and why["1"].params["available"] == 600_000
    assert why["6"].reason is Reason.SELECTED and why["6"].params["remaining"] == 1_500_000
    assert why["5"].reason is Reason.NO_SUPPORT
    assert shown.outcome.cost == 4_800_000 and shown.share == 0.96

    def no_counting(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("counted again for a viewer")

    monkeypatch.setattr(counting, "count", no_counting)
    async with _update(sessions) as session:
        again = await results.pot_results(session, seeded.city)
    assert again.outcome == shown.outcome  # from the stored row, not counted again


async def test_only_staff_count_again_and_it_replaces_the_stored_outcome(sessions) -> None:  # noqa: ANN001
    seeded, _receipts = await _voted_and_closed(sessions)
    async with _update(sessions) as session:
        await results.pot_results(session, seeded.city)
        someone = await resident(session, 9002)
        staff = await resident(session, 9003)
        await roles.grant(session, staff, roles.STAFF)
        ids = someone.id, staff.id
    async with _update(sessions) as session:
        with pytest.raises(NotAllowed):
            await results.recount(session, ids[0], seeded.city)
    async with _update(sessions) as session:
        first = await session.get(BudgetResult, seeded.city)
        before = first.computed_at
        shown = await results.recount(session, ids[1], seeded.city)
        assert shown.outcome.selected == WINNERS
    async with sessions() as session:
        stored = await session.get(BudgetResult, seeded.city)
        assert stored.computed_by == ids[1] and stored.computed_at >= before
        assert await session.scalar(select(func.count()).where(AuditEntry.action == "budget.results")) == 1


async def test_receipts_sorted_and_checked(sessions) -> None:  # noqa: ANN001
    seeded, receipts = await _voted_and_closed(sessions)
    async with sessions() as session:
        pot, codes = await results.receipts(session, seeded.city)
        assert codes == sorted(receipts) and pot.id == seeded.city
        assert await results.was_counted(session, seeded.city, receipts[3].lower())
        assert await results.was_counted(session, seeded.city, f" {receipts[3][:4]}-{receipts[3][4:]} ")
        assert not await results.was_counted(session, seeded.city, "ZZZZ9999")
        with pytest.raises(results.BadReceipt):
            results.clean_receipt("not a code!")


async def test_imported_ballots_are_counted_but_not_in_the_receipt_codes(sessions) -> None:  # noqa: ANN001
    """Ballots imported with the process (`import-pb --with-ballots`) got codes no one holds: they are left
    out of the published codes and of the check, and their number makes up the difference."""
    async with _update(sessions) as session:
        seeded = await seed(session)
        receipts = await vote_all(session, seeded)
        for n in (1, 2):
            made = BudgetBallot(
                pot_id=seeded.city, identity=f"pb:v{n}", receipt=f"I{n:07d}", voter_label=f"v{n}"
            )
            session.add(made)
            await session.flush()
            session.add(BudgetChoice(ballot_id=made.id, project_id=seeded.projects["6"]))
    async with _update(sessions) as session:
        await close_voting(session, seeded.process_id)
    async with _update(sessions) as session:
        shown = await results.pot_results(session, seeded.city)
        published = await results.receipts_file(session, seeded.city)
    async with sessions() as session:
        _pot, codes = await results.receipts(session, seeded.city)
        assert codes == sorted(receipts) and await results.imported(session, seeded.city) == 2
        assert not await results.was_counted(session, seeded.city, "I0000001")
        assert await results.was_counted(session, seeded.city, receipts[0])
    assert shown.ballots == 15 and shown.outcome.votes["6"] == 10  # counted all the same
    assert published.data.decode().split() == codes and (published.count, published.imported) == (13, 2)
    assert published.count + published.imported == shown.ballots


async def test_the_ballots_file_is_anonymous_and_recounts_to_the_same_winners(
    sessions, tmp_path: Path
) -> None:  # noqa: ANN001
    seeded, receipts = await _voted_and_closed(sessions)
    async with _update(sessions) as session:
        _pot, text = await results.ballots_file(session, seeded.city, "TRY")
        made = [
            (ballot_id, receipt)
            for ballot_id, receipt in await session.execute(
                select(BudgetBallot.id, BudgetBallot.receipt)
                .where(BudgetBallot.pot_id == seeded.city)
                .order_by(BudgetBallot.id)
            )
        ]
    assert not any(code in text for code in receipts)  # no receipt code anywhere in the file
    election = loads(text)
    voters = [b.voter_id for b in election.ballots]
    assert voters == [str(n) for n in range(1, 14)]
    contents = [tuple(sorted(b.projects)) for b in election.ballots]
    assert contents == sorted(contents)  # in the order of their content ...
    in_voting_order = [("6", "3")] * 6 + [("1", "2")] * 5 + [("6", "4")] * 2
    assert [tuple(sorted(c)) for c in in_voting_order] != contents  # ... not the order they were cast in
    assert len(made) == 13
    assert tally(election, official_rule(election)).selected == WINNERS
    path = tmp_path / "ballots.pb"
    path.write_text(text, encoding="utf-8")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "tally", str(path), "--json",
        env=command_env(), stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, _ = await proc.communicate()
    assert proc.returncode == 0
    told = json.loads(stdout)
    assert tuple(told["selected"]) == WINNERS and told["matches_official"] is True


async def test_turnout_counts_where_voters_lived_when_they_voted(sessions) -> None:  # noqa: ANN001
    """Moving after voting, or deleting the account, does not move a ballot in the turnout; an imported
    ballot (no voter in the bot) is not known."""
    async with _update(sessions) as session:
        seeded = await seed(session)
        await vote_all(session, seeded)
        session.add(BudgetBallot(pot_id=seeded.city, identity="pb:v1", receipt="I0000001", voter_label="v1"))
    async with _update(sessions) as session:
        hoods = {h: (await geography.by_keys(session, d, h)).id for d, h in PLACES}
        await session.execute(update(Resident).values(neighborhood_id=hoods["alsancak"]))  # all move away
        first = await session.scalar(select(func.min(BudgetBallot.id)))
        await session.execute(update(BudgetBallot).where(BudgetBallot.id == first).values(resident_id=None))
        await close_voting(session, seeded.process_id)
    async with _update(sessions) as session:
        shown = await results.pot_results(session, seeded.city)
    async with sessions() as session:
        stored = await session.get(BudgetResult, seeded.city)
    expected = {str(hoods["pazaryeri"]): 6, str(hoods["bostanli"]): 5, str(hoods["alsancak"]): 2, "": 1}
    assert stored.turnout["groups"] == expected
    # Alsancak (2) and the imported one are hidden; with them Bostanlı too, or the total would tell them
    assert shown.turnout.shown == ((hoods["pazaryeri"], 6),) and shown.turnout.other == 8


def test_turnout_hides_small_groups_and_what_the_total_would_tell() -> None:
    shown = results.safe_turnout({"1": 6, "2": 5, "3": 2})
    assert shown.shown == ((1, 6),) and shown.other == 7  # 2 alone, or 5 next to the total, would tell
    shown = results.safe_turnout({"1": 6, "2": 5, "3": 2, "4": 3})
    assert shown.shown == ((1, 6), (2, 5)) and shown.other == 5
    shown = results.safe_turnout({"1": 3, "": 1})
    assert shown.shown == () and shown.other == 0 and shown.hidden
    shown = results.safe_turnout({"1": 9, "": 6})
    assert shown.shown == ((1, 9),) and shown.unknown == 6 and shown.other == 0


async def test_two_first_viewers_at_once_store_one_outcome(sessions) -> None:  # noqa: ANN001
    seeded, _receipts = await _voted_and_closed(sessions)

    async def view() -> tuple[str, ...]:
        async with _update(sessions) as session:
            return (await results.pot_results(session, seeded.city)).outcome.selected

    assert await asyncio.gather(view(), view(), view()) == [WINNERS] * 3
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(BudgetResult)) == 1


async def test_results_counted_before_voting_was_opened_again_are_counted_anew(sessions) -> None:  # noqa: ANN001
    seeded, _receipts = await _voted_and_closed(sessions)
    async with _update(sessions) as session:
        assert (await results.pot_results(session, seeded.city)).ballots == 13
    async with _update(sessions) as session:  # staff open voting again for a day
        await session.execute(
            update(ProcessPhase)
            .where(ProcessPhase.process_id == seeded.process_id, ProcessPhase.kind == "voting")
            .values(ends_at=utcnow() + timedelta(days=1))
        )
    async with _update(sessions) as session:
        with pytest.raises(results.ResultsNotReady):
            await results.pot_results(session, seeded.city)
        late = await resident(session, 9100, "karsiyaka", "bostanli")
        await budgets.confirm(session, late, seeded.city, [seeded.projects["5"]])
    async with _update(sessions) as session:
        await close_voting(session, seeded.process_id)
    async with _update(sessions) as session:
        shown = await results.pot_results(session, seeded.city)
    assert shown.ballots == 14 and "5" in shown.outcome.selected


def test_results_show_in_the_results_phase_or_once_voting_closed() -> None:
    now = utcnow()

    def process(*phases: tuple[str, int, int]) -> Process:
        return Process(
            phases=[
                ProcessPhase(kind=kind, starts_at=now + timedelta(days=a), ends_at=now + timedelta(days=b))
                for kind, a, b in phases
            ]
        )

    assert not results.results_open(process(("voting", -1, 1)), now)
    assert results.results_open(process(("voting", -3, -1)), now)
    assert results.results_open(process(("voting", -3, 1), ("results", -1, 5)), now)
    assert not results.results_open(process(("submission", -3, 1)), now)
