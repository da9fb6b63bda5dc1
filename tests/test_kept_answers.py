"""An update's answers, kept with its id (`bot.middlewares.dedup`), on a real database (SQLite, or
PostgreSQL with TEST_DATABASE_URL): sent again only within the hour and while the person has not gone
on, cleared by the purge after it and by the deletion of the account at once; the ids themselves stay
two days."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from aiogram.methods import EditMessageText, GetFile, SendMessage, SendPhoto
from aiogram.types import BufferedInputFile, Update
from sqlalchemy import select, update

from bot.middlewares.dedup import (
    ANSWER_KEEP,
    CLAIMED,
    KEEP,
    MAX_ANSWERS,
    UNWRITTEN,
    DedupMiddleware,
    claim,
    entry,
    keep,
    keep_answer,
    kept_answers,
    purge_processed,
)
from bot.services import privacy, residents
from storage.models import ProcessedUpdate, utcnow

BOT = 7_000_000_001
ALI, AYSE = 500_000_101, 500_000_102


async def _answered(session, update_id: int, telegram_id: int, *methods, ago: timedelta) -> None:  # noqa: ANN001, ANN002
    """An update claimed `ago`, its answers `methods` kept as `keep_answer` keeps them."""
    assert await claim(session, BOT, update_id)
    await keep(session, BOT, update_id, telegram_id, [entry(method) for method in methods])
    where = (ProcessedUpdate.bot_id == BOT, ProcessedUpdate.update_id == update_id)
    await session.execute(update(ProcessedUpdate).where(*where).values(at=utcnow() - ago))


def _texts(methods) -> list[str]:  # noqa: ANN001
    return [method.text for method in methods]


async def test_kept_answers_come_back_as_the_methods_they_were_in_their_order(sessions) -> None:  # noqa: ANN001
    edit = EditMessageText(chat_id=ALI, message_id=7, text="<b>Destek verildi</b>")
    async with sessions.begin() as session:
        await _answered(
            session, 1, ALI, edit, SendMessage(chat_id=ALI, text="Sonra"), ago=timedelta(minutes=5)
        )
    async with sessions() as session:
        again, then = await kept_answers(session, BOT, 1)
        assert isinstance(again, EditMessageText) and isinstance(then, SendMessage)
        assert (again.chat_id, again.message_id, again.text, then.text) == (
            ALI,
            7,
            "<b>Destek verildi</b>",
            "Sonra",
        )
        assert again.parse_mode == edit.parse_mode  # still the bot's default, decided when sent
        assert await kept_answers(session, BOT, 2) == []  # never seen


async def test_answers_are_not_sent_again_once_the_person_has_gone_on(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        await _answered(session, 5, ALI, SendMessage(chat_id=ALI, text="first"), ago=timedelta(minutes=2))
        await _answered(session, 6, AYSE, SendMessage(chat_id=AYSE, text="hers"), ago=timedelta(minutes=1))
    async with sessions() as session:
        assert _texts(await kept_answers(session, BOT, 5)) == ["first"]  # someone else's later update
    async with sessions.begin() as session:
        await _answered(
            session, 7, ALI, EditMessageText(chat_id=ALI, message_id=3, text="later"), ago=timedelta()
        )
    async with sessions() as session:
        assert await kept_answers(session, BOT, 5) == []  # would undo what update 7 showed
        assert _texts(await kept_answers(session, BOT, 7)) == ["later"]


async def test_an_answer_older_than_the_hour_is_not_sent_and_the_purge_clears_it(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        old = ANSWER_KEEP + timedelta(minutes=1)
        await _answered(session, 10, ALI, SendMessage(chat_id=ALI, text="old"), ago=old)
        await _answered(session, 11, AYSE, SendMessage(chat_id=AYSE, text="new"), ago=timedelta(minutes=1))
        gone = KEEP + timedelta(hours=1)
        await _answered(session, 8, AYSE, SendMessage(chat_id=AYSE, text="gone"), ago=gone)
    async with sessions() as session:
        assert await kept_answers(session, BOT, 10) == []  # too old to be the answer someone waits for
        assert _texts(await kept_answers(session, BOT, 11)) == ["new"]
    assert await purge_processed(sessions) == 1  # the id of two days ago
    async with sessions() as session:
        rows = {row.update_id: row for row in await session.scalars(select(ProcessedUpdate))}
        assert set(rows) == {10, 11}  # the ids of the last two days stay: a redelivery is not handled again
        assert (rows[10].answer_to, rows[10].answer) == (None, None)
        assert rows[11].answer_to == AYSE and "new" in rows[11].answer


async def test_deleting_the_account_clears_the_persons_kept_answers_only(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        ali = (await residents.get_or_create(session, ALI)).resident
        await residents.get_or_create(session, AYSE)
        await _answered(session, 20, ALI, SendMessage(chat_id=ALI, text="Ali'ye"), ago=timedelta(minutes=2))
        await _answered(
            session, 21, AYSE, SendMessage(chat_id=AYSE, text="Ayşe'ye"), ago=timedelta(minutes=2)
        )
        await privacy.delete_account(session, ali)
    async with sessions() as session:
        assert await kept_answers(session, BOT, 20) == []
        assert (await session.get(ProcessedUpdate, (BOT, 20))).answer_to is None
        assert _texts(await kept_answers(session, BOT, 21)) == ["Ayşe'ye"]


async def test_answers_kept_by_another_version_are_dropped_not_sent(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        for update_id, kept in (
            (30, '[{"method":"Gone","params":{}}]'),
            (31, '[{"method":"SendMessage","params":{"text":5}}]'),
            (32, "[{"),
        ):
            await _answered(
                session, update_id, ALI + update_id, SendMessage(chat_id=ALI, text="x"), ago=timedelta()
            )
            where = (ProcessedUpdate.bot_id == BOT, ProcessedUpdate.update_id == update_id)
            await session.execute(update(ProcessedUpdate).where(*where).values(answer=kept))
    async with sessions() as session:
        for update_id in (30, 31, 32):  # no such method; not valid for it; not JSON
            assert await kept_answers(session, BOT, update_id) == []


async def test_the_export_holds_the_persons_kept_answers_and_no_one_elses(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        ali = (await residents.get_or_create(session, ALI)).resident
        await _answered(session, 40, ALI, SendMessage(chat_id=ALI, text="Ali'ye"), ago=timedelta(minutes=3))
        await _answered(
            session, 41, AYSE, SendMessage(chat_id=AYSE, text="Ayşe'ye"), ago=timedelta(minutes=2)
        )
        kept = (await privacy.export(session, ali))["answers_kept"]
    assert [k["answers"] for k in kept] == [
        [{"method": "SendMessage", "params": {"chat_id": ALI, "text": "Ali'ye"}}]
    ]


async def _handled(sessions, update_id: int, *calls, consent: bool = True, unwritten: bool = False) -> list:  # noqa: ANN001, ANN002
    """`DedupMiddleware` handling an update of Ali whose handler makes `calls`, each offered to
    `keep_answer` as `CommitBeforeSending` offers it before the call goes out; what was kept.
    `unwritten`: claimed by the read as on SQLite, its row still to be written."""
    async with sessions.begin() as session:
        ali = (await residents.get_or_create(session, ALI)).resident
        if consent:
            await residents.accept_privacy(session, ali)

        async def handler(_event, _data) -> None:  # noqa: ANN001
            for call in calls:
                await keep_answer(session, call)

        user = SimpleNamespace(id=ALI, is_bot=False)
        data = {"session": session, "bot": SimpleNamespace(id=BOT), "event_from_user": user, "resident": ali}
        if unwritten:
            data |= {CLAIMED: True, UNWRITTEN: True}
        await DedupMiddleware()(handler, Update(update_id=update_id), data)
    async with sessions() as session:
        return _texts(await kept_answers(session, BOT, update_id))


def _said(*texts: str) -> list[SendMessage]:
    return [SendMessage(chat_id=ALI, text=text) for text in texts]


async def test_the_answers_of_an_update_are_kept_up_to_the_cap(sessions) -> None:  # noqa: ANN001
    many = [str(n) for n in range(MAX_ANSWERS + 2)]
    assert await _handled(sessions, 50, *_said(*many)) == many[:MAX_ANSWERS]


async def test_a_call_that_says_nothing_to_the_person_is_not_kept_and_an_upload_ends_the_keeping(
    sessions,  # noqa: ANN001
) -> None:
    fetched = (*_said("first"), GetFile(file_id="AgAD"), *_said("second"))
    assert await _handled(sessions, 51, *fetched) == ["first", "second"]  # the file's fetch is no answer
    photo = SendPhoto(chat_id=ALI, photo=BufferedInputFile(b"\x89PNG", filename="p.png"))
    # what follows an upload is not sent again without it
    assert await _handled(sessions, 52, *_said("before"), photo, *_said("after")) == ["before"]


async def test_nothing_is_kept_of_a_person_before_they_accept_the_privacy_notice(sessions) -> None:  # noqa: ANN001
    assert await _handled(sessions, 53, *_said("hello"), consent=False) == []
    async with sessions() as session:
        row = await session.get(ProcessedUpdate, (BOT, 53))
        assert row is not None and (row.answer_to, row.answer) == (None, None)  # claimed all the same


async def test_a_claim_left_unwritten_by_the_read_is_written_whatever_ends_the_update(sessions) -> None:  # noqa: ANN001
    """SQLite's person read only says the update is new (`dedup.unseen_column`): its row is written with
    the first kept answer, or before anything the update does is committed, or when it ends."""
    assert await _handled(sessions, 61, *_said("hello"), consent=False, unwritten=True) == []
    assert await _handled(sessions, 60, *_said("kept", "too"), unwritten=True) == ["kept", "too"]
    assert await _handled(sessions, 62, unwritten=True) == []  # said nothing at all
    async with sessions() as session:
        for update_id in (61, 62):
            row = await session.get(ProcessedUpdate, (BOT, update_id))
            assert row is not None and (row.answer_to, row.answer) == (None, None)

    # a commit in the middle of the update (before a call, by `CommitBeforeSending`) holds the claim,
    # though the update fails after it and its end is rolled back
    async def committing(_event, data) -> None:  # noqa: ANN001
        await data["session"].commit()
        raise RuntimeError("after the commit")

    async with sessions() as session:
        data = {"session": session, "bot": SimpleNamespace(id=BOT), "resident": None}
        data |= {CLAIMED: True, UNWRITTEN: True}
        with pytest.raises(RuntimeError):
            await DedupMiddleware()(committing, Update(update_id=63), data)
        await session.rollback()
    async with sessions() as session:
        assert await session.get(ProcessedUpdate, (BOT, 63)) is not None
        assert not await claim(session, BOT, 63)  # a redelivery finds it handled
