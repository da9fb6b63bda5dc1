"""Choosing projects by typing their numbers, through the sandbox in English and Turkish: the prompt from
the pot's page, a typed list in place of the draft, then the review and Confirm; and the unhappy paths
(numbers not on the ballot, no numbers, a sticker, too many projects, over the budget, leaving the
prompt, voting closing meanwhile, a forged button for a pot that is not mine, a verification first, a
restart with the prompt open, a message of Telegram's greatest length)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from bot.app import Meydan
from bot.config import Settings
from bot.i18n import translate
from bot.services import budgets
from bot.ui.budgets.callbacks import BallotAction, BallotCb
from storage.models import FsmRecord, Process, ProcessPhase, utcnow
from tests.budget_fixtures import Seeded, seed, stored_ballots
from tests.conftest import running_bot
from tests.flows import onboard

TYPE = {"en": "⌨️ Type project numbers", "tr": "⌨️ Proje numaralarını yaz"}
CLOSED = "Typing project numbers closed. You can type them again from the ballot's page."


async def _seed(meydan: Meydan, **kwargs) -> Seeded:  # noqa: ANN003
    async with meydan.sessions.begin() as session:
        return await seed(session, **kwargs)


async def _ballots(meydan: Meydan) -> list[tuple[int, ...]]:
    return [chosen for _receipt, chosen in await stored_ballots(meydan.sessions)]


async def _states(meydan: Meydan) -> list[str | None]:
    async with meydan.sessions() as session:
        return [s for s in await session.scalars(select(FsmRecord.state)) if s]


def _labels(message) -> list[str]:  # noqa: ANN001
    return [label for row in message.buttons for label in row]


async def _prompt(person, pot_label: str, lang: str):  # noqa: ANN001, ANN202
    await person.say("/budget")
    await person.press(pot_label)
    await person.press(TYPE[lang])
    return await person.last_message()


async def test_a_typed_list_replaces_the_draft_and_is_confirmed(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    seeded = await _seed(meydan)
    john = await onboard(sandbox, name="John", lang="en", district="Karşıyaka", neighborhood="Bostanlı")
    await john.say("/budget")
    await john.press("City budget")
    page = await john.last_message()
    assert "▫️ 2 · Bike lanes on the seafront · ₺1,500,000" in _labels(page)  # the number before the name
    assert TYPE["en"] in _labels(page)
    await john.press("Bike lanes on the seafront")
    assert "<b>2 · Bike lanes on the seafront</b>" in (await john.last_message()).html
    await john.press("Add to my ballot")  # a draft of one, by pressing
    await john.press("Back to the projects")
    await john.press(TYPE["en"])
    prompt = await john.last_message()
    assert "City budget" in prompt.text and "for example: 1, 2" in prompt.text
    assert _labels(prompt) == ["« Back to the projects"]
    review = await john.say("3, 5 3")  # a number twice counts once
    assert "• 3 · Library garden · ₺900,000" in review.text
    assert "• 5 · Drinking fountains · ₺100,000" in review.text
    assert "Bike lanes" not in review.text  # the list replaced the draft
    assert "₺1,000,000 / ₺5,000,000 · 2 of at most 5" in review.text
    assert await _states(meydan) == []  # the prompt is over
    assert await _ballots(meydan) == []  # a draft, not yet a ballot
    await john.press("Confirm my ballot")
    receipt = await john.last_message()
    assert "• 3 · Library garden · ₺900,000" in receipt.text
    assert await _ballots(meydan) == [(seeded.projects["3"], seeded.projects["5"])]
    answer = await john.say("1")  # typed after the prompt: not a list of numbers
    assert "Shade" not in (answer.text if answer else "")
    assert await _ballots(meydan) == [(seeded.projects["3"], seeded.projects["5"])]


async def test_a_list_that_cannot_be_taken_is_explained_and_the_prompt_stays(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    seeded = await _seed(meydan, max_projects=3)
    john = await onboard(sandbox, name="John", lang="en", district="Karşıyaka", neighborhood="Bostanlı")
    await _prompt(john, "City budget", "en")
    answer = await john.say("3, 99, 100")
    assert answer.text == (
        "🚫 These numbers are not on this ballot: 99, 100. Check them and type the whole list again."
    )
    many = " ".join(str(n) for n in range(200, 207))
    answer = await john.say(f"{many} 5")
    assert "200, 201, 202, 203, 204, …" in answer.text  # five named, then an ellipsis
    answer = await john.say("<b>7</b>")  # not HTML: read as a number that is not there, shown escaped
    assert "<b>7</b>" in answer.text
    answer = await john.say("the library, please")
    assert answer.text == "Please type project numbers, separated by commas or spaces, for example: 1, 2"
    answer = await john.send_sticker()
    assert answer.text == "Please type project numbers, separated by commas or spaces, for example: 1, 2"
    answer = await john.say("3 4 5 2")
    assert answer.text == "🚫 A ballot holds at most 3 projects. Type a shorter list."
    answer = await john.say("1, 6")
    assert answer.text == (
        "🚫 Those projects add up to ₺5,650,000, over the budget of ₺5,000,000. Type a list that fits."
    )
    review = await john.say("#1, №3.")  # the marks people type around numbers
    assert "• 1 · Shade over the bazaar" in review.text and "• 3 · Library garden" in review.text
    await john.press("Confirm my ballot")
    assert await _ballots(meydan) == [(seeded.projects["1"], seeded.projects["3"])]


async def test_leaving_the_prompt_ends_it(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    await _seed(meydan)
    ayse = await onboard(sandbox, lang="en")
    await _prompt(ayse, "City budget", "en")
    await ayse.press("Back to the projects")
    chat = await ayse.chat()
    assert chat[-1].text == CLOSED
    assert "1 · Shade over the bazaar" in " ".join(_labels(chat[-2]))  # the page, as before
    assert await _states(meydan) == []
    answer = await ayse.say("3")  # later text is no list
    assert answer.text == "I did not understand that. Choose from the menu:"
    await ayse.press("Review and confirm (0)", chat[-2])
    [review] = [m for m in await ayse.chat() if m.message_id == chat[-2].message_id]
    assert "You have not chosen any project yet." in review.text
    await _prompt(ayse, "City budget", "en")
    answer = await ayse.say("/cancel")
    assert answer.text == CLOSED
    await _prompt(ayse, "City budget", "en")
    await ayse.say("/menu")  # another command: it is answered, and the prompt is over
    assert (await ayse.chat())[-1].text == CLOSED
    assert await _states(meydan) == []


async def test_in_turkish_with_voting_closing_meanwhile(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    seeded = await _seed(meydan)
    ayse = await onboard(sandbox, lang="tr")
    prompt = await _prompt(ayse, "Şehir bütçesi", "tr")
    assert "Seçtiğiniz projelerin hepsinin numaralarını" in prompt.text and "örneğin: 1, 2" in prompt.text
    review = await ayse.say("4 5")
    assert "• 4 · Playground renewal (tr) · ₺400.000" in review.text
    assert translate("✅ Confirm my ballot", "tr") in _labels(review)
    await ayse.press(translate("« Back to the projects", "tr"))
    await ayse.press(TYPE["tr"])
    answer = await ayse.say("9")
    assert answer.text == translate(
        "🚫 These numbers are not on this ballot: {numbers}. Check them and type the whole list again.",
        "tr",
        numbers="9",
    )
    async with meydan.sessions.begin() as session:
        await session.execute(
            update(ProcessPhase)
            .where(ProcessPhase.process_id == seeded.process_id, ProcessPhase.kind == "voting")
            .values(ends_at=utcnow() - timedelta(minutes=1))
        )
    answer = await ayse.say("1")
    assert "Oylama" in answer.text and "kapandı" in answer.text
    assert await _states(meydan) == []  # no list can be taken any more: the prompt is over
    assert await _ballots(meydan) == []


async def test_a_forged_button_and_a_verification_first(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    seeded = await _seed(meydan)
    ayse = await onboard(sandbox, lang="en")
    await ayse.say("/budget")
    await ayse.press("City budget")
    page = await ayse.last_message()
    forged = BallotCb(action=BallotAction.NUMBERS, pot=seeded.other_hood).pack()
    answer = await ayse.press_data(page.message_id, forged)
    assert answer.show_alert and "not open to you" in answer.text
    assert await _states(meydan) == []  # no prompt for a pot that is not mine
    async with meydan.sessions.begin() as session:
        process = await session.get(Process, seeded.process_id)
        process.verification = budgets.rules.CODE
    data = BallotCb(action=BallotAction.NUMBERS, pot=seeded.city).pack()
    answer = await ayse.press_data(page.message_id, data)
    assert answer.show_alert and "one-time code first" in answer.text
    assert await _states(meydan) == []


async def test_the_prompt_outlives_a_restart_and_takes_a_message_of_telegrams_length(
    settings: Settings,
    sandbox,  # noqa: ANN001
) -> None:
    async with running_bot(settings, sandbox) as first:
        seeded = await _seed(first)
        john = await onboard(sandbox, name="John", lang="en", district="Karşıyaka", neighborhood="Bostanlı")
        await _prompt(john, "City budget", "en")
    async with running_bot(settings, sandbox) as second:  # a new process on the same database
        crowd = " ".join(str(n) for n in range(1000, 1820))[:4096]  # far more numbers than any ballot
        answer = await john.say(crowd)
        assert answer.text == "Please type project numbers, separated by commas or spaces, for example: 1, 2"
        review = await john.say(("5, " * 1400)[:4096])  # Telegram's longest message, one number
        assert "• 5 · Drinking fountains · ₺100,000" in review.text and "1 of at most 5" in review.text
        await john.press("Confirm my ballot")
        assert await _ballots(second) == [(seeded.projects["5"],)]
