"""Verification per process on a real database (SQLite, and PostgreSQL with TEST_DATABASE_URL): the
rules, one's own contact only, one phone number per person per process, one-time codes used once (also
when two people type the same code at once), wrong codes throttled, nothing in clear in the database,
the verification outliving the account, and the level locked once voting has begun."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import hmac
import sqlite3
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from bot.config import PROJECT_ROOT
from bot.services import budgets, privacy, processes, residents
from bot.services.budgets import rules, verification
from storage.models import Process, Verification, VerificationCode, VerificationFailure, utcnow
from tests.budget_fixtures import resident, seed
from tests.flows import command_env

PHONE = "+905551112233"

# --- the rules, pure ---------------------------------------------------------------------------------


def test_phone_numbers_are_digits_with_their_country_code() -> None:
    assert rules.normalise_phone("+90 555 111 22 33") == "905551112233"
    assert rules.normalise_phone("905551112233") == "905551112233"
    assert rules.normalise_phone("+90 (555) 111-22-33") == "905551112233"
    assert rules.normalise_phone("1234567") is None  # too short for a number with its country code
    assert rules.normalise_phone("1" * 16) is None
    assert rules.normalise_phone("+90555111223x") is None
    assert rules.normalise_phone("٩٠٥٥٥١١١٢٢٣٣") is None  # non-ASCII digits


def test_codes_are_read_as_typed() -> None:
    assert rules.normalise_code("abcde-fghjk") == "ABCDEFGHJK"
    assert rules.normalise_code(" ABCDE FGHJK ") == "ABCDEFGHJK"
    assert rules.normalise_code("ABCDE-FGHJ0") is None  # 0 is not in the alphabet
    assert rules.normalise_code("ABCDE") is None
    assert rules.normalise_code("") is None


def test_the_one_predicate_and_whose_contact_counts() -> None:
    assert rules.must_verify(rules.PHONE, False) and rules.must_verify(rules.CODE, False)
    assert not rules.must_verify(rules.PHONE, True) and not rules.must_verify(rules.NONE, False)
    assert rules.own_contact(7, 7)
    assert not rules.own_contact(8, 7) and not rules.own_contact(None, 7)
    assert rules.can_change_level(None, 0) and rules.can_change_level("upcoming", 0)
    assert not rules.can_change_level("open", 0) and not rules.can_change_level("upcoming", 1)


# --- phone -------------------------------------------------------------------------------------------


async def _phone_process(session, level: str = rules.PHONE):  # noqa: ANN001, ANN202
    seeded = await seed(session)
    process = await session.get(Process, seeded.process_id)
    process.verification = level  # (set_level refuses once voting is open: see the last test)
    await session.flush()
    return seeded, process


async def test_a_phone_process_asks_first_and_every_ballot_action_refuses_until_then(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        seeded, process = await _phone_process(session)
        ayse = await resident(session, 501)
        p = seeded.projects
        assert {o.pending for o in await budgets.open_pots(session, ayse)} == {rules.PHONE}
        assert (await budgets.gate(session, ayse, seeded.city)).pending == rules.PHONE
        for action in (
            budgets.pot_for(session, ayse, seeded.city),
            budgets.ballot_view(session, ayse, seeded.city, None),
            budgets.tick(session, ayse, seeded.city, [], p["1"], True),
            budgets.confirm(session, ayse, seeded.city, [p["1"]]),
        ):
            with pytest.raises(budgets.NotVerified):
                await action
        with pytest.raises(budgets.NotOwnContact):  # someone else's contact
            await verification.verify_phone(session, ayse, process, PHONE, 999)
        with pytest.raises(budgets.NotOwnContact):  # a contact without a Telegram user
            await verification.verify_phone(session, ayse, process, PHONE, None)
        with pytest.raises(budgets.BadPhone):
            await verification.verify_phone(session, ayse, process, "12", 501)
        assert (await budgets.gate(session, ayse, seeded.city)).pending == rules.PHONE
        await verification.verify_phone(session, ayse, process, PHONE, 501)
        assert (await budgets.gate(session, ayse, seeded.city)).pending is None
        done = await budgets.confirm(session, ayse, seeded.city, [p["1"]])
        assert done.chosen == (p["1"],)


async def test_one_phone_number_verifies_one_person_per_process(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        seeded, process = await _phone_process(session)
        ayse = await resident(session, 501)
        other = await resident(session, 502)
        await verification.verify_phone(session, ayse, process, PHONE, 501)
        await verification.verify_phone(session, ayse, process, PHONE, 501)  # again: harmless
        with pytest.raises(budgets.PhoneTaken):  # the same number written another way
            await verification.verify_phone(session, other, process, "+90 555 111 22 33", 502)
        with pytest.raises(budgets.NotVerified):
            await budgets.confirm(session, other, seeded.city, [seeded.projects["1"]])
        second = await seed(session, key="ikinci")  # another process: the number verifies anew
        process2 = await session.get(Process, second.process_id)
        process2.verification = rules.PHONE
        await verification.verify_phone(session, other, process2, PHONE, 502)
        assert (await budgets.gate(session, other, second.city)).pending is None


async def test_two_accounts_sharing_one_phone_at_once_verify_one(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        seeded, _process = await _phone_process(session)
        for telegram_id in (501, 502, 503):
            await resident(session, telegram_id)

    async def one(telegram_id: int) -> str:
        try:
            async with sessions.begin() as session:
                person = (await residents.get_or_create(session, telegram_id)).resident
                process = await session.get(Process, seeded.process_id)
                await verification.verify_phone(session, person, process, PHONE, telegram_id)
                return "verified"
        except budgets.PhoneTaken:
            return "taken"

    outcomes = await asyncio.gather(*(one(t) for t in (501, 502, 503)))
    assert sorted(outcomes) == ["taken", "taken", "verified"]
    async with sessions() as session:
        assert len((await session.scalars(select(Verification))).all()) == 1


async def test_the_database_holds_no_phone_number_in_clear(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        seeded, process = await _phone_process(session)
        ayse = await resident(session, 501)
        await verification.verify_phone(session, ayse, process, PHONE, 501)
        await budgets.confirm(session, ayse, seeded.city, [seeded.projects["1"]])
    async with sessions() as session:
        dump = await _every_value(session)
    assert "5551112233" not in dump and "555 111" not in dump
    async with sessions() as session:
        [row] = (await session.scalars(select(Verification))).all()
        assert row.method == rules.PHONE and len(row.key) == 64
        assert row.key == await verification.phone_key(session, "905551112233")


async def _every_value(session) -> str:  # noqa: ANN001
    """Every value of every row of every table, as one text (to look for what must not be there)."""
    from storage.models import Base

    found = []
    for table in Base.metadata.sorted_tables:
        for row in (await session.execute(text(f'SELECT * FROM "{table.name}"'))).all():
            found.extend(str(v) for v in row)
    return "\n".join(found)


async def test_a_verification_outlives_the_account(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        seeded, process = await _phone_process(session)
        ayse = await resident(session, 501)
        await verification.verify_phone(session, ayse, process, PHONE, 501)
        await budgets.confirm(session, ayse, seeded.city, [seeded.projects["1"]])
    async with sessions.begin() as session:
        await privacy.delete_account(session, (await residents.get_or_create(session, 501)).resident)
    async with sessions.begin() as session:
        again = await resident(session, 501)  # the same person comes back: still verified, one ballot
        assert (await budgets.gate(session, again, seeded.city)).pending is None
        changed = await budgets.confirm(session, again, seeded.city, [seeded.projects["2"]])
        assert changed.changed and await budgets.ballot_count(session, seeded.city) == 1
        other = await resident(session, 777)  # a new account with the same phone: refused
        with pytest.raises(budgets.PhoneTaken):
            await verification.verify_phone(session, other, process, PHONE, 777)


# --- codes -------------------------------------------------------------------------------------------


async def test_codes_are_kept_hashed_and_work_once(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        seeded, process = await _phone_process(session, rules.CODE)
        codes = await verification.make_codes(session, process, 5)
        assert len(set(codes)) == 5
        csv_text = verification.codes_csv(process, codes)
        assert csv_text.splitlines()[0] == "process,number,code"
        assert verification.printed(codes[0]) in csv_text
        ayse = await resident(session, 501)
        john = await resident(session, 502)
        assert (await budgets.gate(session, ayse, seeded.city)).pending == rules.CODE
        assert (
            await verification.redeem_code(session, ayse, process, verification.printed(codes[0]).lower())
            is None
        )
        assert (await budgets.gate(session, ayse, seeded.city)).pending is None
        with pytest.raises(budgets.AlreadyVerified):  # no second code burnt on a verified person
            await verification.redeem_code(session, ayse, process, codes[1])
        refused = await verification.redeem_code(session, john, process, codes[0])
        assert refused is not None and refused.used and refused.left == 4
        assert (await budgets.gate(session, john, seeded.city)).pending == rules.CODE
        assert await verification.redeem_code(session, john, process, codes[1]) is None
        assert await verification.code_count(session, process.id) == verification.CodeCount(5, 2)
    async with sessions() as session:
        dump = await _every_value(session)
    assert not any(code in dump or verification.printed(code) in dump for code in codes)


async def test_two_people_typing_the_same_code_at_once_one_wins(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        seeded, process = await _phone_process(session, rules.CODE)
        [code] = await verification.make_codes(session, process, 1)
        people = (601, 602, 603, 604)
        for telegram_id in people:
            await resident(session, telegram_id)

    async def one(telegram_id: int) -> bool:
        async with sessions.begin() as session:
            person = (await residents.get_or_create(session, telegram_id)).resident
            process = await session.get(Process, seeded.process_id)
            return await verification.redeem_code(session, person, process, code) is None

    won = await asyncio.gather(*(one(t) for t in people))
    assert sorted(won) == [False, False, False, True]
    async with sessions() as session:
        assert len((await session.scalars(select(Verification))).all()) == 1
        assert (await session.scalars(select(VerificationCode.used_at))).one() is not None
        assert len((await session.scalars(select(VerificationFailure))).all()) == 3  # the losers' tries


async def test_wrong_codes_are_throttled_per_person(sessions) -> None:  # noqa: ANN001
    now = utcnow()
    async with sessions.begin() as session:
        _seeded, process = await _phone_process(session, rules.CODE)
        [code] = await verification.make_codes(session, process, 1)
        ayse = await resident(session, 501)
        lefts = []
        for n in range(rules.MAX_WRONG_CODES):
            refused = await verification.redeem_code(session, ayse, process, f"WRONG{n}", now)
            lefts.append(refused.left)
        assert lefts == [4, 3, 2, 1, 0]
        with pytest.raises(budgets.TooManyTries) as caught:  # even the right code, for now
            await verification.redeem_code(session, ayse, process, code, now + timedelta(minutes=1))
        assert caught.value.minutes == 9
        john = await resident(session, 502)  # another person is not held up
        assert (await verification.redeem_code(session, john, process, "ZZZZZ-ZZZZZ", now)).left == 4
    async with sessions.begin() as session:  # across the deletion of the account, too
        await privacy.delete_account(session, (await residents.get_or_create(session, 501)).resident)
    async with sessions.begin() as session:
        again = await resident(session, 501)
        process = await session.get(Process, process.id)
        with pytest.raises(budgets.TooManyTries):
            await verification.redeem_code(session, again, process, code, now + timedelta(minutes=2))
        later = now + timedelta(minutes=rules.WRONG_CODES_WINDOW_MINUTES, seconds=1)
        assert await verification.redeem_code(session, again, process, code, later) is None


# --- the level ---------------------------------------------------------------------------------------


async def test_the_level_is_set_before_voting_and_locked_after(sessions) -> None:  # noqa: ANN001
    now = utcnow()
    async with sessions.begin() as session:
        process = await processes.create(
            session, key="sonra", names={"tr": "Sonra", "en": "Later"},
            opens_at=now - timedelta(days=3), closes_at=now - timedelta(days=2),
        )  # fmt: skip
        await processes.set_phase(
            session, process, "voting", now + timedelta(days=1), now + timedelta(days=5)
        )
        await verification.set_level(session, process, rules.CODE)
        assert process.verification == rules.CODE
        with pytest.raises(verification.VerificationError):
            await verification.set_level(session, process, "fingerprint")
        with pytest.raises(budgets.LevelLocked):  # voting has begun
            await verification.set_level(session, process, rules.NONE, now=now + timedelta(days=2))
        await verification.set_level(
            session, process, rules.CODE, now=now + timedelta(days=2)
        )  # unchanged: fine
        seeded = await seed(session)  # voting open now
        open_process = await session.get(Process, seeded.process_id)
        with pytest.raises(budgets.LevelLocked):
            await verification.set_level(session, open_process, rules.PHONE)
        assert open_process.verification == rules.NONE


# --- the command line --------------------------------------------------------------------------------


def test_the_command_line_sets_the_level_and_makes_codes(tmp_path) -> None:  # noqa: ANN001
    db = tmp_path / "codes.db"
    env = command_env(DATABASE_URL=f"sqlite+aiosqlite:///{db}", IDENTITY_KEY="k" * 40)

    def meydan(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args], env=env, cwd=tmp_path, capture_output=True, text=True
        )

    assert meydan("city", "load", str(PROJECT_ROOT / "cities" / "izmir.toml")).returncode == 0
    made = meydan("process", "create", "--key", "pb", "--name-tr", "Bütçe", "--name-en", "Budget",
                  "--opens", "2099-01-01 00:00", "--closes", "2099-01-02 00:00")  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert (
        meydan(
            "process", "voting", "pb", "--opens", "2099-02-01 00:00", "--closes", "2099-02-10 00:00"
        ).returncode
        == 0
    )
    assert meydan("process", "verification", "pb", "fingerprint").returncode == 2
    done = meydan("process", "verification", "pb", "code")
    assert done.returncode == 0 and "verification code" in done.stdout
    done = meydan("process", "codes", "pb", "3", "-o", "codes.csv")
    assert done.returncode == 0, done.stderr
    assert "3 codes for pb written to codes.csv" in done.stdout
    rows = list(csv.DictReader((tmp_path / "codes.csv").open(encoding="utf-8")))
    assert [r["number"] for r in rows] == ["1", "2", "3"] and all(len(r["code"]) == 11 for r in rows)
    assert not any(r["code"] in done.stdout for r in rows)  # the codes are only in the file
    again = meydan("process", "codes", "pb", "2", "-o", "codes.csv")  # never overwrites a file
    assert again.returncode == 2 and "cannot write" in again.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT verification FROM processes WHERE key = 'pb'").fetchone() == ("code",)
        hashes = [h for (h,) in conn.execute("SELECT code_hash FROM verification_codes")]
    assert len(hashes) == 3  # the failed run kept none
    key = "k" * 40  # hashed under IDENTITY_KEY, as the bot does
    expected = {
        hmac.new(key.encode(), f"code:{r['code'].replace('-', '')}".encode(), hashlib.sha256).hexdigest()
        for r in rows
    }
    assert set(hashes) == expected
    assert (
        meydan(
            "process", "voting", "pb", "--opens", "2020-02-01 00:00", "--closes", "2099-02-10 00:00"
        ).returncode
        == 0
    )
    locked = meydan("process", "verification", "pb", "phone")
    assert locked.returncode == 2 and "voting has begun" in locked.stderr


async def test_my_verifications_are_in_my_data_export_without_the_number(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        _seeded, process = await _phone_process(session)
        ayse = await resident(session, 501)
        await verification.verify_phone(session, ayse, process, PHONE, 501)
        data = await privacy.export(session, ayse)
        other = await privacy.export(session, await resident(session, 502))
    [mine] = data["verifications"]
    assert mine["process"] == "Participatory Budget" and mine["method"] == "phone"
    assert "5551112233" not in str(data) and other["verifications"] == []


async def test_codes_only_at_the_code_level_and_staff_actions_need_the_role(sessions) -> None:  # noqa: ANN001
    from bot.services.errors import NotAllowed

    async with sessions.begin() as session:
        seeded, process = await _phone_process(session)  # phone, not code
        with pytest.raises(budgets.NoCodes):
            await verification.make_codes(session, process, 3)
        ayse = await resident(session, 501)
        with pytest.raises(NotAllowed):
            await verification.make_codes(session, process, 3, actor_id=ayse.id)
        with pytest.raises(NotAllowed):
            await verification.set_level(session, process, rules.CODE, actor_id=ayse.id)
        with pytest.raises(verification.VerificationError):
            await verification.make_codes(session, process, 0)
        view = await verification.staff_view(session, seeded.process_id)
        assert view.level == rules.PHONE and view.voting == "open" and not view.can_change
        assert not view.can_make_codes and view.codes == verification.CodeCount(0, 0)
        assert [p.id for p in await verification.budget_processes(session)] == [seeded.process_id]


async def test_one_person_typing_two_codes_at_once_uses_one(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        seeded, process = await _phone_process(session, rules.CODE)
        codes = await verification.make_codes(session, process, 2)
        await resident(session, 501)

    async def one(code: str) -> str:
        try:
            async with sessions.begin() as session:
                person = (await residents.get_or_create(session, 501)).resident
                process = await session.get(Process, seeded.process_id)
                return (
                    "verified"
                    if await verification.redeem_code(session, person, process, code) is None
                    else "refused"
                )
        except budgets.AlreadyVerified:
            return "already"

    outcomes = await asyncio.gather(*(one(c) for c in codes))
    assert sorted(outcomes) == ["already", "verified"]
    async with sessions() as session:
        used = (
            await session.scalars(select(VerificationCode).where(VerificationCode.used_at.is_not(None)))
        ).all()
        assert len(used) == 1  # the other code is still good for someone else
        assert len((await session.scalars(select(Verification))).all()) == 1


async def test_many_wrong_codes_at_once_count_exactly(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        seeded, _process = await _phone_process(session, rules.CODE)
        await verification.make_codes(session, _process, 1)
        await resident(session, 501)

    async def one(n: int) -> str:
        try:
            async with sessions.begin() as session:
                person = (await residents.get_or_create(session, 501)).resident
                process = await session.get(Process, seeded.process_id)
                refused = await verification.redeem_code(session, person, process, f"WRONG{n}")
                return "wrong" if refused is not None else "verified"
        except budgets.TooManyTries:
            return "throttled"

    outcomes = await asyncio.gather(*(one(n) for n in range(8)))
    assert sorted(outcomes) == ["throttled"] * 3 + ["wrong"] * rules.MAX_WRONG_CODES
    async with sessions() as session:
        assert len((await session.scalars(select(VerificationFailure))).all()) == rules.MAX_WRONG_CODES
