"""Verification per process: one person, one ballot, as strictly as staff chose.

A process's level is `none` (one Telegram account: the identity), `phone` (the resident shares their
own contact) or `code` (a one-time code from the municipality). A person verifies once per process; the
`verifications` row holds their identity (the keyed hash that outlives the account, so deleting the
account and coming back keeps it) and a keyed hash of what proved it, never the phone number or the
code. The database keeps one row per (process, identity) and per (process, key), so a phone number or
a code verifies one person per process, whatever happens at once.

Hashes are HMAC-SHA256 under the installation's identity key (`residents.identity_key`) with a
label ("phone:", "code:") in the message, so a phone number never hashes like a Telegram id. A phone
number has few enough digits to be guessed from a plain hash: only the key protects it.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.services import audit, processes, residents, roles
from bot.services.budgets import rules
from bot.services.budgets.rules import (
    CODE,
    NONE,
    PHONE,
    AlreadyVerified,
    BadPhone,
    CodeRefused,
    LevelLocked,
    NoCodes,
    NotOwnContact,
    PhoneTaken,
    TooManyTries,
)
from bot.services.errors import NotFound
from storage.models import (
    BudgetBallot,
    BudgetPot,
    Process,
    ProcessPhase,
    Resident,
    Verification,
    VerificationCode,
    VerificationFailure,
    utcnow,
)

if TYPE_CHECKING:
    from bot.services.budgets import BallotProcess

MAX_CODES = 100_000
MAX_CHAT_CODES = 5_000  # a CSV sent in the chat stays well under Telegram's document limits


class VerificationError(ValueError):
    """A staff request that cannot be done as asked (for the command line; English)."""


def _hash(key: str, label: str, value: str) -> str:
    return hmac.new(key.encode(), f"{label}:{value}".encode(), hashlib.sha256).hexdigest()


async def phone_key(session: AsyncSession, digits: str) -> str:
    return _hash(await residents.identity_key(session), "phone", digits)


async def code_key(session: AsyncSession, code: str) -> str:
    return _hash(await residents.identity_key(session), "code", code)


async def is_verified(session: AsyncSession, process_id: int, identity: str) -> bool:
    found = await session.scalar(
        select(Verification.id).where(
            Verification.process_id == process_id, Verification.identity == identity
        )
    )
    return found is not None


async def pending(session: AsyncSession, resident: Resident, process: Process | BallotProcess) -> str | None:
    """The level the resident must still satisfy for the process's ballots (None: nothing to do).
    `rules.must_verify` decides; the ballot's screens and its services both ask here."""
    level = process.verification or NONE
    if level == NONE:
        return None
    verified = await is_verified(session, process.id, residents.person_key(resident))
    return level if rules.must_verify(level, verified) else None


async def _record(session: AsyncSession, process_id: int, identity: str, method: str, key: str) -> None:
    """Insert the verification; a clash on (process, key) is `taken`, on (process, identity) means
    the person verified meanwhile (another update of theirs)."""
    try:
        async with session.begin_nested():
            session.add(Verification(process_id=process_id, identity=identity, method=method, key=key))
    except IntegrityError:
        if await is_verified(session, process_id, identity):
            raise AlreadyVerified(f"process {process_id}") from None
        raise PhoneTaken(f"process {process_id}") from None


async def verify_phone(
    session: AsyncSession,
    resident: Resident,
    process: Process | BallotProcess,
    phone: str,
    contact_user_id: int | None,
) -> None:
    """Verify by a shared contact: the sender's own (`rules.own_contact`), its number kept only as a
    keyed hash; refused when the number verified another person in this process."""
    if not rules.own_contact(contact_user_id, resident.telegram_id):
        raise NotOwnContact("not the sender's own contact")
    digits = rules.normalise_phone(phone)
    if digits is None:
        raise BadPhone("not a phone number")
    identity = residents.person_key(resident)
    if await is_verified(session, process.id, identity):
        return
    key = await phone_key(session, digits)
    taken = await session.scalar(
        select(Verification.identity).where(Verification.process_id == process.id, Verification.key == key)
    )
    if taken is not None:
        raise PhoneTaken(f"process {process.id}")
    await _record(session, process.id, identity, PHONE, key)


# --- one-time codes ----------------------------------------------------------------------------------


async def recent_failures(session: AsyncSession, identity: str, now: datetime) -> int:
    since = now - timedelta(minutes=rules.WRONG_CODES_WINDOW_MINUTES)
    found = await session.scalar(
        select(func.count())
        .select_from(VerificationFailure)
        .where(VerificationFailure.identity == identity, VerificationFailure.at > since)
    )
    return found or 0


async def _wait_minutes(session: AsyncSession, identity: str, now: datetime) -> int:
    since = now - timedelta(minutes=rules.WRONG_CODES_WINDOW_MINUTES)
    oldest = await session.scalar(
        select(func.min(VerificationFailure.at)).where(
            VerificationFailure.identity == identity, VerificationFailure.at > since
        )
    )
    if oldest is None:  # pragma: no cover - only asked when there are failures
        return 1
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    left = oldest + timedelta(minutes=rules.WRONG_CODES_WINDOW_MINUTES) - now
    return max(1, -(-int(left.total_seconds()) // 60))


async def _one_at_a_time(session: AsyncSession, identity: str) -> None:
    """Serialise one person's tries, so that counting the recent failures and recording a new one are
    one step: PostgreSQL takes a transaction-scoped advisory lock keyed by the identity; SQLite runs one
    writer at a time already (BEGIN IMMEDIATE)."""
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"verify:{identity}".encode()).digest()[:8], "big", signed=True)
        await session.execute(select(func.pg_advisory_xact_lock(key)))


async def _failed(session: AsyncSession, identity: str, used: bool, now: datetime) -> CodeRefused:
    session.add(VerificationFailure(identity=identity, at=now))
    old = now - timedelta(minutes=rules.WRONG_CODES_WINDOW_MINUTES)
    await session.execute(
        delete(VerificationFailure).where(
            VerificationFailure.identity == identity, VerificationFailure.at <= old
        )
    )
    await session.flush()
    left = rules.MAX_WRONG_CODES - await recent_failures(session, identity, now)
    return CodeRefused(used, max(0, left))


async def redeem_code(
    session: AsyncSession,
    resident: Resident,
    process: Process | BallotProcess,
    typed: str,
    now: datetime | None = None,
) -> CodeRefused | None:
    """Verify by a one-time code. Returns None when verified, or the refusal of a wrong or used code
    *without raising it*: the failed try must be kept (a raised refusal rolls the update back), so that
    repeated wrong tries are throttled (`TooManyTries`, raised: it writes nothing).

    The code is used by one conditional UPDATE (… WHERE used_at IS NULL): of two people typing the same
    code at once exactly one changes the row (PostgreSQL makes the second wait for the first's row and
    re-reads it; SQLite runs one writer at a time)."""
    now = now or utcnow()
    identity = residents.person_key(resident)
    await _one_at_a_time(session, identity)
    if await is_verified(session, process.id, identity):
        raise AlreadyVerified(f"process {process.id}")
    if await recent_failures(session, identity, now) >= rules.MAX_WRONG_CODES:
        raise TooManyTries(await _wait_minutes(session, identity, now))
    code = rules.normalise_code(typed)
    if code is None:
        return await _failed(session, identity, False, now)
    key = await code_key(session, code)
    used = await session.execute(
        update(VerificationCode)
        .where(
            VerificationCode.process_id == process.id,
            VerificationCode.code_hash == key,
            VerificationCode.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:
        known = await session.scalar(
            select(VerificationCode.id).where(
                VerificationCode.process_id == process.id, VerificationCode.code_hash == key
            )
        )
        return await _failed(session, identity, known is not None, now)
    await _record(session, process.id, identity, CODE, key)
    return None


def new_code() -> str:
    return "".join(secrets.choice(rules.CODE_ALPHABET) for _ in range(rules.CODE_LENGTH))


def printed(code: str) -> str:
    """A code as handed out: two groups of five ("ABCDE-FGHJK"); typed with or without the dash."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


async def make_codes(
    session: AsyncSession,
    process: Process,
    count: int,
    actor_id: int | None = None,
    now: datetime | None = None,
) -> list[str]:
    """`count` new one-time codes for the process, in clear for the CSV staff hand out: the database
    keeps only their keyed hashes. A staff action (audited, without the codes); only for a process at
    the code level whose voting has not closed (`rules.can_make_codes`)."""
    if actor_id is not None:
        await roles.require(session, actor_id, roles.STAFF)
    if not 1 <= count <= MAX_CODES:
        raise VerificationError(f"make between 1 and {MAX_CODES} codes at a time")
    if not rules.can_make_codes(process.verification or NONE, await _voting_state(session, process.id, now)):
        raise NoCodes(f"process {process.id} is not at the code level, or its voting has closed")
    key = await residents.identity_key(session)
    entry = await audit.record(
        session, "budget.codes", actor_id=actor_id, object_type="process", object_id=process.id, count=count
    )
    batch = entry.id
    known = set(
        await session.scalars(
            select(VerificationCode.code_hash).where(VerificationCode.process_id == process.id)
        )
    )
    codes: list[str] = []
    while len(codes) < count:
        code = new_code()
        digest = _hash(key, "code", code)
        if digest in known:  # pragma: no cover - 31^10 codes
            continue
        known.add(digest)
        codes.append(code)
        session.add(VerificationCode(process_id=process.id, code_hash=digest, batch=batch))
    await session.flush()
    return codes


def codes_csv(process: Process, codes: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["process", "number", "code"])
    for number, code in enumerate(codes, start=1):
        writer.writerow([process.key, number, printed(code)])
    return out.getvalue()


@dataclass(frozen=True)
class CodeCount:
    made: int
    used: int


async def code_count(session: AsyncSession, process_id: int) -> CodeCount:
    made = await session.scalar(
        select(func.count()).select_from(VerificationCode).where(VerificationCode.process_id == process_id)
    )
    used = await session.scalar(
        select(func.count())
        .select_from(VerificationCode)
        .where(VerificationCode.process_id == process_id, VerificationCode.used_at.is_not(None))
    )
    return CodeCount(made or 0, used or 0)


# --- the level ---------------------------------------------------------------------------------------


async def set_level(
    session: AsyncSession,
    process: Process,
    level: str,
    actor_id: int | None = None,
    now: datetime | None = None,
) -> None:
    """Set the process's verification level; refused (`LevelLocked`) once its voting has begun or any
    ballot exists (`rules.can_change_level`): ballots cast under one level would not count under
    another."""
    if actor_id is not None:
        await roles.require(session, actor_id, roles.STAFF)
    if level not in rules.VERIFICATION_LEVELS:
        raise VerificationError(f"the level is one of {', '.join(rules.VERIFICATION_LEVELS)}")
    if level == (process.verification or NONE):
        return
    if not rules.can_change_level(
        await _voting_state(session, process.id, now), await _ballots(session, process.id)
    ):
        raise LevelLocked(f"process {process.id}: voting has begun")
    before = process.verification
    process.verification = level
    await session.flush()
    await audit.record(
        session, "budget.verification", actor_id=actor_id, object_type="process", object_id=process.id,
        level=level, before=before,
    )  # fmt: skip


async def _voting_state(session: AsyncSession, process_id: int, now: datetime | None = None) -> str | None:
    """The state of the process's voting phase (read from the database: the process's phases may not
    be loaded)."""
    phase = await session.scalar(
        select(ProcessPhase).where(ProcessPhase.process_id == process_id, ProcessPhase.kind == rules.VOTING)
    )
    if phase is None:
        return None
    return processes.Window(phase.starts_at, phase.ends_at).state(now or utcnow())


async def _ballots(session: AsyncSession, process_id: int) -> int:
    found = await session.scalar(
        select(func.count())
        .select_from(BudgetBallot)
        .join(BudgetPot, BudgetPot.id == BudgetBallot.pot_id)
        .where(BudgetPot.process_id == process_id)
    )
    return found or 0


# --- what staff see ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffView:
    """A budgeting process as the staff screen shows it: its level, its voting, its ballots and codes;
    the buttons show by the same predicates the services enforce."""

    process: Process
    level: str
    voting: str | None  # upcoming | open | closed | None (no voting phase)
    ballots: int
    codes: CodeCount

    @property
    def can_change(self) -> bool:
        return rules.can_change_level(self.voting, self.ballots)

    @property
    def can_make_codes(self) -> bool:
        return rules.can_make_codes(self.level, self.voting)


async def budget_processes(session: AsyncSession) -> list[Process]:
    """The processes with a budget pot, newest first."""
    return list(
        await session.scalars(
            select(Process)
            .options(selectinload(Process.phases))
            .where(Process.id.in_(select(BudgetPot.process_id)))
            .order_by(Process.id.desc())
        )
    )


async def staff_view(session: AsyncSession, process_id: int, now: datetime | None = None) -> StaffView:
    process = await session.scalar(
        select(Process).options(selectinload(Process.phases)).where(Process.id == process_id)
    )
    if process is None:
        raise NotFound(f"process {process_id}")
    return StaffView(
        process=process,
        level=process.verification or NONE,
        voting=await _voting_state(session, process.id, now),
        ballots=await _ballots(session, process.id),
        codes=await code_count(session, process.id),
    )
