"""Staff set a process's verification level and make one-time codes in the chat (the staff hub): the
codes come as a CSV document, the only copy in clear; the level buttons go once voting begins, and a
forged press is refused; residents cannot reach any of it."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from sqlalchemy import select, update

from bot.app import Meydan
from bot.services.budgets import rules, verification
from bot.ui.budgets.callbacks import Level, VerifyStaffAction, VerifyStaffCb
from storage.models import Process, ProcessPhase, VerificationCode, utcnow
from tests.budget_fixtures import seed
from tests.conftest import STAFF_ID
from tests.flows import fetch, onboard


def _labels(message) -> list[str]:  # noqa: ANN001
    return [label for row in message.buttons for label in row]


async def _voting_starts(meydan: Meydan, process_id: int, delta: timedelta) -> None:
    async with meydan.sessions.begin() as session:
        await session.execute(
            update(ProcessPhase)
            .where(ProcessPhase.process_id == process_id, ProcessPhase.kind == "voting")
            .values(starts_at=utcnow() + delta)
        )


async def test_staff_choose_the_level_and_get_codes_as_a_csv(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    async with meydan.sessions.begin() as session:
        seeded = await seed(session)
    await _voting_starts(meydan, seeded.process_id, timedelta(days=1))  # not begun yet
    staff = await onboard(sandbox, name="Staff", lang="en", person_id=STAFF_ID)
    await staff.say("/admin")
    await staff.press("🔐 Voting verification")
    assert "Participatory Budget · one Telegram account" in _labels(await staff.last_message())
    await staff.press("Participatory Budget")
    card = await staff.last_message()
    assert "Verification: one Telegram account" in card.text
    assert "🎟 Make one-time codes" not in _labels(card)  # only at the code level
    answer = await staff.press("Use: one-time code")
    assert answer.text == "one-time code"
    card = await staff.last_message()
    assert "Verification: one-time code" in card.text and "0 made, 0 used" in card.text
    await staff.press("🎟 Make one-time codes")
    assert "Type a number from 1 to 5000" in (await staff.last_message()).text
    answer = await staff.say("many")
    assert "digits 0–9" in answer.text
    document = await staff.say("3")
    assert document.document is not None and document.document["file_name"] == "meydan-codes-butce.csv"
    assert "3 one-time codes" in document.caption and "only copy" in document.caption
    rows = list(csv.DictReader(io.StringIO((await fetch(sandbox, document.document["url"])).decode())))
    assert [r["number"] for r in rows] == ["1", "2", "3"] and {r["process"] for r in rows} == {"butce"}
    async with meydan.sessions() as session:
        hashes = set(await session.scalars(select(VerificationCode.code_hash)))
        assert hashes == {await verification.code_key(session, r["code"].replace("-", "")) for r in rows}
        assert (await session.get(Process, seeded.process_id)).verification == rules.CODE
    # voting begins: the level is locked, the buttons go, a forged press is refused
    await _voting_starts(meydan, seeded.process_id, -timedelta(minutes=1))
    await staff.say("/admin")
    await staff.press("🔐 Voting verification")
    await staff.press("Participatory Budget")
    card = await staff.last_message()
    assert "can no longer change" in card.text and not any("Use:" in label for label in _labels(card))
    assert "🎟 Make one-time codes" in _labels(card)  # more codes while voting is open
    forged = VerifyStaffCb(action=VerifyStaffAction.LEVEL, process=seeded.process_id, level=Level.NONE).pack()
    answer = await staff.press_data(card.message_id, forged)
    assert answer.show_alert and "verification level can no longer change" in answer.text
    async with meydan.sessions() as session:
        assert (await session.get(Process, seeded.process_id)).verification == rules.CODE


async def test_residents_cannot_reach_the_staff_screens(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    async with meydan.sessions.begin() as session:
        seeded = await seed(session)
    ayse = await onboard(sandbox, lang="en")
    message = await ayse.last_message()
    for data in (
        VerifyStaffCb(action=VerifyStaffAction.LIST),
        VerifyStaffCb(action=VerifyStaffAction.LEVEL, process=seeded.process_id, level=Level.PHONE),
        VerifyStaffCb(action=VerifyStaffAction.CODES, process=seeded.process_id),
    ):
        answer = await ayse.press_data(message.message_id, data.pack())
        assert answer.show_alert and "staff only" in answer.text
    answer = await ayse.press_data(message.message_id, "hub:budget-verification")
    assert answer.show_alert and "staff only" in answer.text
    async with meydan.sessions() as session:
        assert (await session.get(Process, seeded.process_id)).verification == rules.NONE
