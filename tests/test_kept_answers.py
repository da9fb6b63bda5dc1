"""An update's first answer, kept with its id (`bot.middlewares.dedup`), on a real database (SQLite, or
PostgreSQL with TEST_DATABASE_URL): sent again only within the hour, cleared by the purge after it and
by the deletion of the account at once; the ids themselves stay two days."""

from __future__ import annotations

from datetime import timedelta

from aiogram.methods import EditMessageText, SendMessage
from sqlalchemy import select, update

from bot.middlewares.dedup import ANSWER_KEEP, KEEP, claim, kept_answer, purge_processed
from bot.services import privacy, residents
from storage.models import ProcessedUpdate, utcnow

BOT = 7_000_000_001
ALI, AYSE = 500_000_101, 500_000_102


async def _answered(session, update_id: int, telegram_id: int, method, *, ago: timedelta) -> None:  # noqa: ANN001
    """An update claimed `ago`, its answer `method` kept as `keep_first` keeps it."""
    assert await claim(session, BOT, update_id)
    await session.execute(
        update(ProcessedUpdate)
        .where(ProcessedUpdate.bot_id == BOT, ProcessedUpdate.update_id == update_id)
        .values(
            at=utcnow() - ago,
            answer_to=telegram_id,
            answer_method=type(method).__name__,
            answer=method.model_dump_json(exclude_defaults=True),
        )
    )


async def test_a_kept_answer_comes_back_as_the_method_it_was(sessions) -> None:  # noqa: ANN001
    edit = EditMessageText(chat_id=ALI, message_id=7, text="<b>Destek verildi</b>")
    async with sessions.begin() as session:
        await _answered(session, 1, ALI, edit, ago=timedelta(minutes=5))
    async with sessions() as session:
        again = await kept_answer(session, BOT, 1)
        assert isinstance(again, EditMessageText)
        assert (again.chat_id, again.message_id, again.text) == (ALI, 7, "<b>Destek verildi</b>")
        assert again.parse_mode == edit.parse_mode  # still the bot's default, decided when sent
        assert await kept_answer(session, BOT, 2) is None  # never seen


async def test_an_answer_older_than_the_hour_is_not_sent_and_the_purge_clears_it(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        await _answered(
            session, 10, ALI, SendMessage(chat_id=ALI, text="old"), ago=ANSWER_KEEP + timedelta(minutes=1)
        )
        await _answered(session, 11, ALI, SendMessage(chat_id=ALI, text="new"), ago=timedelta(minutes=1))
        await _answered(
            session, 12, AYSE, SendMessage(chat_id=AYSE, text="gone"), ago=KEEP + timedelta(hours=1)
        )
    async with sessions() as session:
        assert await kept_answer(session, BOT, 10) is None  # too old to be the answer someone waits for
        assert (await kept_answer(session, BOT, 11)).text == "new"
    assert await purge_processed(sessions) == 1  # the id of two days ago
    async with sessions() as session:
        rows = {row.update_id: row for row in await session.scalars(select(ProcessedUpdate))}
        assert set(rows) == {10, 11}  # the ids of the last two days stay: a redelivery is not handled again
        assert (rows[10].answer_to, rows[10].answer_method, rows[10].answer) == (None, None, None)
        assert (rows[11].answer_to, rows[11].answer_method) == (ALI, "SendMessage")


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
        assert await kept_answer(session, BOT, 20) is None
        assert (await session.get(ProcessedUpdate, (BOT, 20))).answer_to is None
        assert (await kept_answer(session, BOT, 21)).text == "Ayşe'ye"


async def test_an_answer_kept_by_another_version_is_dropped_not_sent(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        await _answered(session, 30, ALI, SendMessage(chat_id=ALI, text="x"), ago=timedelta(minutes=1))
        await _answered(session, 31, ALI, SendMessage(chat_id=ALI, text="y"), ago=timedelta(minutes=1))
        where = ProcessedUpdate.bot_id == BOT
        await session.execute(
            update(ProcessedUpdate).where(where, ProcessedUpdate.update_id == 30).values(answer_method="Gone")
        )
        await session.execute(
            update(ProcessedUpdate).where(where, ProcessedUpdate.update_id == 31).values(answer='{"text": 5}')
        )
    async with sessions() as session:
        assert await kept_answer(session, BOT, 30) is None  # no such method
        assert await kept_answer(session, BOT, 31) is None  # not valid for it


async def test_the_export_holds_the_persons_kept_answers_and_no_one_elses(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        ali = (await residents.get_or_create(session, ALI)).resident
        await _answered(session, 40, ALI, SendMessage(chat_id=ALI, text="Ali'ye"), ago=timedelta(minutes=3))
        await _answered(
            session, 41, AYSE, SendMessage(chat_id=AYSE, text="Ayşe'ye"), ago=timedelta(minutes=2)
        )
        kept = (await privacy.export(session, ali))["answers_kept"]
    assert [(k["method"], k["answer"]) for k in kept] == [("SendMessage", {"chat_id": ALI, "text": "Ali'ye"})]
