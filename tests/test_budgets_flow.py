"""The budget ballot through the sandbox, in Turkish and English: my open pots, project cards with the
cost in the city's currency per language, ticking with a running total, a reason when a choice does not
fit, confirm and the receipt, changing the ballot; and the unhappy paths (a button after voting closed,
forged buttons for another pot's project, another neighborhood's pot, another process, double presses).

The new sentences are not in the catalogs yet (they are listed for translation separately), so the
Turkish runs check what does not depend on them: the money format, names, codes, which buttons show."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

from sqlalchemy import func, select, update

from bot.app import Meydan
from bot.config import Settings
from bot.features import throttling_rates
from bot.services import budgets
from bot.ui.budgets.callbacks import BallotAction, BallotCb
from storage.models import BudgetBallot, BudgetPot, FsmRecord, ProcessPhase, utcnow
from tests.budget_fixtures import Seeded, seed, stored_ballots
from tests.conftest import running_bot, statements_run
from tests.flows import ACCEPT, LANGUAGE, fetch, onboard

MENU = "🗳 Budget vote"


async def _seed(meydan: Meydan, **kwargs) -> Seeded:  # noqa: ANN003
    async with meydan.sessions.begin() as session:
        return await seed(session, **kwargs)


async def _ballots(meydan: Meydan) -> list[tuple[str, tuple[int, ...]]]:
    return await stored_ballots(meydan.sessions)


async def _close_voting(meydan: Meydan, process_id: int) -> None:
    async with meydan.sessions.begin() as session:
        await session.execute(
            update(ProcessPhase)
            .where(ProcessPhase.process_id == process_id, ProcessPhase.kind == "voting")
            .values(ends_at=utcnow() - timedelta(minutes=1))
        )


def _labels(message) -> list[str]:  # noqa: ANN001
    return [label for row in message.buttons for label in row]


async def _open_city_pot(person, pot_label: str):  # noqa: ANN001, ANN202
    await person.say("/menu")
    await person.press(MENU)
    await person.press(pot_label)
    return await person.last_message()


async def test_vote_in_turkish_with_the_lira_formatted_the_turkish_way(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    seeded = await _seed(meydan)
    ayse = await onboard(sandbox, lang="tr")
    await ayse.say("/menu")
    await ayse.press("Bütçe oylaması")
    pots = _labels(await ayse.last_message())
    assert pots[:3] == ["🗳 Pazaryeri bütçesi", "🗳 Konak bütçesi", "🗳 Şehir bütçesi"]
    assert not any("Bostanlı" in label for label in pots)  # another neighborhood's pot is not offered
    await ayse.press("Şehir bütçesi")
    page = await ayse.last_message()
    assert "₺0 / ₺5.000.000 · en fazla 5 projeden 0 tanesi" in page.text
    assert "▫️ 1 · Shade over the bazaar (tr) · ₺2.150.000" in _labels(page)
    await ayse.press("Shade over the bazaar")
    card = await ayse.last_message()
    assert "₺2.150.000" in card.text and "Pazaryeri, Konak" in card.text
    assert "Shade over the bazaar hakkında." in card.text
    answer = await ayse.press("Oy pusulama ekle")
    assert answer.text and "eklendi" in answer.text
    card = await ayse.last_message()
    assert "₺2.150.000 / ₺5.000.000 · en fazla 5 projeden 1 tanesi" in card.text
    assert "❌ Oy pusulamdan çıkar" in _labels(card)
    await ayse.press("Projelere dön")
    page = await ayse.last_message()
    assert "✅ 1 · Shade over the bazaar (tr) · ₺2.150.000" in _labels(page)
    assert "🚫 6 · Night buses (tr) · ₺3.500.000" in _labels(page)  # it would not fit
    await ayse.press("Night buses")
    card = await ayse.last_message()
    assert "Sığmıyor" in card.text and "₺5.650.000" in card.text and "₺5.000.000" in card.text
    assert "Oy pusulama ekle" not in " ".join(_labels(card))  # the button shows only when it is allowed
    forged = BallotCb(action=BallotAction.ADD, pot=seeded.city, project=seeded.projects["6"]).pack()
    answer = await ayse.press_data(card.message_id, forged)  # and the press is refused all the same
    assert answer.show_alert and "bütçeyi aşar" in answer.text and "₺5.650.000" in answer.text
    await ayse.press("Projelere dön")
    await ayse.press("Library garden")
    await ayse.press("Oy pusulama ekle")
    await ayse.press("Projelere dön")
    await ayse.press("Gözden geçir ve onayla (2)")
    review = await ayse.last_message()
    assert "₺3.050.000 / ₺5.000.000 · en fazla 5 projeden 2 tanesi" in review.text
    assert await _ballots(meydan) == []  # the draft is not a ballot
    await ayse.press("Oy pusulamı onayla")
    receipt = await ayse.last_message()
    [(code, chosen)] = await _ballots(meydan)
    assert chosen == (seeded.projects["1"], seeded.projects["3"])
    assert code in receipt.text and "₺900.000" in receipt.text
    # the confirmed ballot is found by the person's key in the read beside them, and said in Turkish
    statements = statements_run(meydan.sessions.kw["bind"])
    await ayse.press("Oy pusulamı değiştir")
    page = await ayse.last_message()
    assert f"Oyunuzu kullandınız (makbuz {code})" in page.text
    assert "✅ 1 · Shade over the bazaar (tr) · ₺2.150.000" in _labels(page)
    [gate] = [s for s in statements if "budget_ballots.pot_id = budget_pots.id" in s]
    assert "fsm_state" in gate and "residents" in gate


async def test_a_ballot_press_reads_its_pot_with_the_person(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    """Every press of a pot's ballot (its page, a card, a tick, the review) reads the pot's gate in the
    statement that reads the person, the update's first, and no statement of its own; a press with no
    pot (my open pots) reads none beside the person."""
    await _seed(meydan)
    john = await onboard(sandbox, name="John", lang="en", district="Karşıyaka", neighborhood="Bostanlı")
    await john.say("/menu")
    statements = statements_run(meydan.sessions.kw["bind"])
    gate = "budget_ballots.pot_id = budget_pots.id"  # the gate's join to the person's ballot
    await john.press(MENU)
    assert not [s for s in statements if gate in s]
    await john.press("City budget")
    await john.press("Shade over the bazaar")
    await john.press("Add to my ballot")
    await john.press("Back to the projects")
    await john.press("Review and confirm (1)")
    gates = [s for s in statements if gate in s]
    assert len(gates) == 5
    assert all("fsm_state" in s and "residents" in s for s in gates), gates
    assert "Shade over the bazaar" in (await john.last_message()).text


async def test_vote_in_english_with_every_refusal_explained(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    seeded = await _seed(meydan, min_projects=2, max_projects=3, min_share=50)
    john = await onboard(sandbox, name="John", lang="en", district="Karşıyaka", neighborhood="Bostanlı")
    await john.say("/menu")
    await john.press(MENU)
    assert _labels(await john.last_message())[:2] == ["🗳 Bostanlı budget", "🗳 City budget"]
    await john.press("City budget")
    page = await john.last_message()
    assert "₺0 / ₺5,000,000 · 0 of at most 3" in page.text
    assert "At least 2 projects." in page.text and "at least 50% of the budget (₺2,500,000)" in page.text
    await john.press("Shade over the bazaar")
    assert "₺2,150,000" in (await john.last_message()).text
    await john.press("Add to my ballot")
    await john.press("Back to the projects")
    await john.press("Review and confirm (1)")
    review = await john.last_message()
    assert "choose at least 2 projects (you have 1)" in review.text
    assert "Confirm my ballot" not in " ".join(_labels(review))
    forged = BallotCb(action=BallotAction.CONFIRM, pot=seeded.city, page=3).pack()
    answer = await john.press_data(review.message_id, forged)
    assert answer.show_alert and "at least 2 projects" in answer.text
    await john.press("Back to the projects")
    await john.press("Drinking fountains")
    await john.press("Add to my ballot")
    await john.press("Back to the projects")
    await john.press("Review and confirm (2)")
    review = await john.last_message()
    assert "use at least 50% of the budget, ₺2,500,000 (you have ₺2,250,000)" in review.text
    await john.press("Back to the projects")
    await john.press("Playground renewal")
    await john.press("Add to my ballot")
    await john.press("Back to the projects")
    await john.press("Bike lanes")
    card = await john.last_message()
    assert "at most 3 projects" in card.text  # the fourth does not fit
    await john.press("Back to the projects")
    await john.press("Review and confirm (3)")
    await john.press("Confirm my ballot")
    receipt = await john.last_message()
    assert "Thank you, your ballot is saved" in receipt.text and "₺400,000" in receipt.text
    [(code, _chosen)] = await _ballots(meydan)
    assert code in receipt.text


async def test_change_my_ballot_until_voting_closes(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    seeded = await _seed(meydan)
    john = await onboard(sandbox, name="John", lang="en", district="Karşıyaka", neighborhood="Bostanlı")
    await _open_city_pot(john, "City budget")
    await john.press("Library garden")
    await john.press("Add to my ballot")
    await john.press("Back to the projects")
    await john.press("Review and confirm (1)")
    await john.press("Confirm my ballot")
    [(first, _)] = await _ballots(meydan)
    await john.press("Change my ballot")
    page = await john.last_message()
    assert f"You have voted (receipt {first})" in page.text and "1 of at most 5" in page.text
    await john.press("Library garden")
    await asyncio.sleep(0.35)  # the same button as the Add a moment ago: not a double press
    await john.press("Remove from my ballot")
    await john.press("Back to the projects")
    await john.press("Playground renewal")
    await john.press("Add to my ballot")
    await john.press("Back to the projects")
    await john.press("Review and confirm (1)")
    await asyncio.sleep(1.05)  # the Confirm button pressed a moment ago is throttled as a double press
    await john.press("Confirm my ballot")
    receipt = await john.last_message()
    [(second, chosen)] = await _ballots(meydan)  # still one ballot: the last one counts
    assert chosen == (seeded.projects["4"],) and second != first
    assert "Your ballot was changed" in receipt.text and second in receipt.text
    # voting closes: the old buttons change nothing
    await john.press("Change my ballot")
    await john.press("Drinking fountains")
    card = await john.last_message()
    await _close_voting(meydan, seeded.process_id)
    answer = await john.press("Add to my ballot", card)
    assert answer.show_alert and "Voting closed on" in answer.text
    confirm = BallotCb(action=BallotAction.CONFIRM, pot=seeded.city, page=1).pack()
    answer = await john.press_data(card.message_id, confirm)
    assert answer.show_alert and "Voting closed on" in answer.text
    assert await _ballots(meydan) == [(second, (seeded.projects["4"],))]
    await john.say("/budget")
    assert "No budget vote is open for you" in (await john.last_message()).text


async def test_forged_buttons_change_nothing(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    seeded = await _seed(meydan)
    async with meydan.sessions.begin() as session:  # another process, its voting over
        closed = await seed(session, open_voting=False, key="eski-butce")
    ayse = await onboard(sandbox, lang="en")
    page = await _open_city_pot(ayse, "City budget")
    forgeries = [
        # another neighborhood's pot
        (BallotCb(action=BallotAction.POT, pot=seeded.other_hood), "not open to you"),
        (
            BallotCb(action=BallotAction.ADD, pot=seeded.other_hood, project=seeded.other_project),
            "not open",
        ),
        # another pot's project in my pot
        (
            BallotCb(action=BallotAction.ADD, pot=seeded.city, project=seeded.hood_project),
            "not on this ballot",
        ),
        (
            BallotCb(action=BallotAction.DROP, pot=seeded.city, project=seeded.hood_project),
            "not on this ballot",
        ),
        (
            BallotCb(action=BallotAction.CARD, pot=seeded.city, project=seeded.other_project),
            "not on this ballot",
        ),
        # another process, closed
        (
            BallotCb(action=BallotAction.ADD, pot=closed.city, project=closed.projects["1"]),
            "Voting closed",
        ),
        (BallotCb(action=BallotAction.CONFIRM, pot=closed.city), "Voting closed"),
        # a pot that does not exist
        (BallotCb(action=BallotAction.CONFIRM, pot=987_654), "not open to you"),
    ]
    for data, expected in forgeries:
        answer = await ayse.press_data(page.message_id, data.pack())
        assert answer.show_alert and expected in answer.text, (data, answer.text)
    answer = await ayse.press_data(page.message_id, "pb:add:1:99999999999999:0")
    assert "out of date" in answer.text
    # a card from before its buttons said Add or Remove
    answer = await ayse.press_data(page.message_id, f"pb:toggle:{seeded.city}:{seeded.projects['1']}:0")
    assert "out of date" in answer.text
    assert await _ballots(meydan) == []


async def test_a_double_press_of_confirm_makes_one_ballot(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    seeded = await _seed(meydan)
    ayse = await onboard(sandbox, lang="en")
    await _open_city_pot(ayse, "City budget")
    await ayse.press("Library garden")
    await ayse.press("Add to my ballot")
    await ayse.press("Back to the projects")
    await ayse.press("Review and confirm (1)")
    review = await ayse.last_message()
    data = review.button_data("Confirm my ballot")
    await asyncio.gather(ayse.press_data(review.message_id, data), ayse.press_data(review.message_id, data))
    assert [chosen for _code, chosen in await _ballots(meydan)] == [(seeded.projects["3"],)]
    async with meydan.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(BudgetBallot)) == 1
        assert await budgets.ballot_count(session, seeded.city) == 1


async def test_a_tick_pressed_twice_ticks_once_and_an_untick_unticks_once(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    """The card's button says Add or Remove: the same button pressed again (a double tap that got past
    the double-press window, or a card pressed before its edit arrived) does what it says, once."""
    await _seed(meydan)
    ayse = await onboard(sandbox, lang="en")
    await _open_city_pot(ayse, "City budget")
    await ayse.press("Library garden")
    card = await ayse.last_message()
    add = card.button_data("Add to my ballot")
    await asyncio.gather(ayse.press_data(card.message_id, add), ayse.press_data(card.message_id, add))
    await asyncio.sleep(throttling_rates()["ballot_toggle"])
    answer = await ayse.press_data(card.message_id, add)
    assert answer.text == "✅ Added to your ballot."
    card = await ayse.last_message()
    assert "Remove from my ballot" in " ".join(_labels(card))
    drop = card.button_data("Remove from my ballot")
    for _ in range(2):
        await asyncio.sleep(throttling_rates()["ballot_toggle"])
        assert (await ayse.press_data(card.message_id, drop)).text == "Removed from your ballot."
    await ayse.press_data(card.message_id, add)  # ticked once more, so the review has it once
    await ayse.press("Back to the projects")
    assert "Review and confirm (1)" in " ".join(_labels(await ayse.last_message()))


async def test_the_draft_survives_a_restart_and_projects_come_in_pages(settings: Settings, sandbox) -> None:  # noqa: ANN001
    async with running_bot(settings, sandbox) as first:
        seeded = await _seed(first)
        async with first.sessions.begin() as session:  # nine projects: two pages of six
            pot = await session.get(BudgetPot, seeded.city)
            for n in range(3):
                await budgets.add_project(
                    session, pot, titles={"en": f"Extra {n}"}, cost=10_000 * (n + 1), building=True
                )
        john = await onboard(sandbox, name="John", lang="en", district="Karşıyaka", neighborhood="Bostanlı")
        page = await _open_city_pot(john, "City budget")
        assert "1/2" in _labels(page) and not any("Extra" in label for label in _labels(page))
        await john.press("▶")
        second_page = await john.last_message()
        assert any("Extra 2 · ₺30,000" in label for label in _labels(second_page))
        await john.press("Extra 2")
        await john.press("Add to my ballot")
    async with running_bot(settings, sandbox) as second:  # a new process on the same database
        await john.press("Back to the projects")
        back = await john.last_message()
        assert "2/2" in _labels(back) and "✅ 9 · Extra 2 · ₺30,000" in _labels(back)  # the same page
        assert "₺30,000 / ₺5,000,000 · 1 of at most 5" in back.text
        await john.press("Review and confirm (1)")
        await john.press("Confirm my ballot")
        assert [len(chosen) for _code, chosen in await _ballots(second)] == [1]


async def test_someone_not_set_up_is_sent_to_start(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    seeded = await _seed(meydan)
    stranger = await sandbox.person("Stranger", language_code="en")
    await stranger.say("/budget")
    assert "/start" in (await stranger.last_message()).text
    answer = await stranger.press_data(
        (await stranger.last_message()).message_id,
        BallotCb(action=BallotAction.CONFIRM, pot=seeded.city).pack(),
    )
    assert answer.show_alert and "/start" in answer.text
    assert await _ballots(meydan) == []


async def test_the_draft_outlives_the_menu_and_a_form_and_goes_with_the_account(
    state_settings: Settings,
    sandbox,  # noqa: ANN001
) -> None:
    import json

    async with running_bot(state_settings, sandbox) as meydan:
        await _seed(meydan)
        john = await onboard(
            sandbox, name="John", lang="en", district="Karşıyaka", neighborhood="Bostanlı",
            person_id=random.randint(10**9, 2 * 10**9),
        )  # fmt: skip
        await _open_city_pot(john, "City budget")
        await john.press("Library garden")
        await john.press("Add to my ballot")
        await john.say("/menu")  # leaving the ballot ends the conversation …
        await john.press("Ideas")
        await john.press("Share an idea")  # … and a form starts with data of its own
        await john.say("/settings")
        await john.press("Export my data")
        exported = json.loads(await fetch(sandbox, (await john.last_message()).document["url"]))
        assert exported["drafts"][0]["data"]["budget_drafts"]  # the draft is part of the person's data
        page = await _open_city_pot(john, "City budget")
        assert "✅ 3 · Library garden · ₺900,000" in _labels(page) and "₺900,000 / ₺5,000,000" in page.text

        await john.say("/settings")
        await john.press("Delete my account")
        await john.press("Yes, delete my account")
        async with meydan.sessions() as session:
            left = await session.scalars(select(FsmRecord.key).where(FsmRecord.key.contains(f":{john.id}:")))
            assert list(left) == []  # the draft went with the account
        await john.say("/start")
        await john.press(LANGUAGE["en"])
        await john.press(ACCEPT["en"])
        await john.say("Karşıyaka")
        await john.say("Bostanlı")
        page = await _open_city_pot(john, "City budget")
        assert "▫️ 3 · Library garden · ₺900,000" in _labels(page) and "₺0 / ₺5,000,000" in page.text
