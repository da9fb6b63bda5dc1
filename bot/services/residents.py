"""Residents: onboarding, settings and what the bot knows of each person."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    String,
    Text,
    and_,
    bindparam,
    cast,
    event,
    false,
    func,
    inspect,
    literal,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state

from bot.config import LANGUAGES
from bot.features import categories
from bot.services import roles as roles_service
from storage.direct import Direct
from storage.models import (
    FSM_ROW,
    District,
    FsmRecord,
    InstallationSecret,
    Neighborhood,
    NotificationChoice,
    ProcessedUpdate,
    Resident,
    Role,
    utcnow,
)

# --- one person stays one person -------------------------------------------------------------------
#
# A resident row is an account; a person is their identity: HMAC-SHA256(identity key, Telegram id) in
# hex, on `residents.identity`. Deleting the account erases the Telegram id but keeps the identity on
# the anonymous row, so when the person comes back (a new row, the same identity) every "one per person"
# rule (supports, idea limits, flood control; later ballots, sign-ups, verification) still sees them:
# those rules ask `same_person(...)` for the rows of the person instead of comparing one row id.
#
# The key is IDENTITY_KEY from the settings (set by `configure_identity` when the app starts); without
# it, a random key the installation makes on first use and keeps in `installation_secrets`. Changing
# the key (or setting IDENTITY_KEY after the bot ran without it) breaks the link for accounts deleted
# before the change. Rows saved before migration 0005 get their identity lazily, on `load`.

IDENTITY_SECRET = "identity_key"
_configured_key: str | None = None


def configure_identity(key: str | None) -> None:
    """Use IDENTITY_KEY from the settings (None: the key kept in the database)."""
    global _configured_key
    _configured_key = key or None


def identity_of(key: str, telegram_id: int) -> str:
    """The identity of a Telegram user under `key`: HMAC-SHA256 of the id as text, in hex."""
    return hmac.new(key.encode(), str(telegram_id).encode(), hashlib.sha256).hexdigest()


async def identity_key(session: AsyncSession) -> str:
    """IDENTITY_KEY when set, else this installation's own key (made and saved on first use)."""
    if _configured_key:
        return _configured_key
    row = await session.get(InstallationSecret, IDENTITY_SECRET)
    if row is not None:
        return row.value
    value = secrets.token_hex(32)
    try:
        async with session.begin_nested():
            session.add(InstallationSecret(name=IDENTITY_SECRET, value=value))
    except IntegrityError:  # another update made it at the same moment: use theirs
        row = await session.get(InstallationSecret, IDENTITY_SECRET, populate_existing=True)
        assert row is not None
        return row.value
    return value


async def identify(session: AsyncSession, resident: Resident) -> None:
    """Give the resident their identity when they have a Telegram id and no identity yet."""
    if resident.identity is None and resident.telegram_id is not None:
        resident.identity = identity_of(await identity_key(session), resident.telegram_id)


_PEOPLE = Resident.__table__


def same_person(
    resident_id: int | BindParameter[int] | ColumnElement[int], identity: ColumnElement[str] | None = None
) -> Select[tuple[int]]:
    """The ids of every resident row of the person behind `resident_id`: that row, and the anonymous
    rows their deleted accounts left with the same identity. Use it in a rule as
    `Idea.author_id.in_(same_person(resident.id))`, or with a `bindparam` in a statement built once.

    In a statement that reads the resident's own row (a read `Beside` the person's), give that row's
    columns, `same_person(table.c.id, table.c.identity)` over `Resident.__table__`: the rows are then
    found beside it, by identity, with no read of the identity by id. The rows are read from a table of
    their own name, so the resident's row in the statement is never mistaken for them."""
    rows = _PEOPLE.alias("person_rows")
    if identity is None:
        row = _PEOPLE.alias("person_row")
        identity = (
            select(row.c.identity).where(row.c.id == resident_id).correlate_except(row).scalar_subquery()
        )
    return (
        select(rows.c.id)
        .where(or_(rows.c.id == resident_id, rows.c.identity == identity))
        .correlate_except(rows)
    )


def person_key(resident: Resident) -> str:
    """The text key of the person behind a row, for a "one per person" row keyed by text (a ballot, a
    verification): the identity (the keyed hash that outlives the account); a row without one (never
    the case for a person who talks to the bot) by row id. `PERSON_KEY` is the same in SQL."""
    return resident.identity if resident.identity is not None else f"resident:{resident.id}"


# `person_key` of the row of `Resident.__table__` in a statement (a read `Beside` the person's)
PERSON_KEY: ColumnElement[str] = func.coalesce(
    _PEOPLE.c.identity, literal_column("'resident:'", Text) + cast(_PEOPLE.c.id, Text)
)


async def person_ids(session: AsyncSession, resident_id: int) -> set[int]:
    """`same_person` as a set of ids."""
    return set(await session.scalars(same_person(resident_id)))


@dataclass(frozen=True)
class Viewer:
    """Who is acting: the resident, the roles they hold (with the neighborhood a role is scoped to, or
    None for a city-wide role) and the language of this update. Injected into every handler as `viewer`
    and passed to the services that decide what this person may see and do."""

    resident: Resident
    grants: frozenset[tuple[str, int | None]]
    lang: str = ""

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(role for role, _scope in self.grants)

    @property
    def is_staff(self) -> bool:
        return self.has(roles_service.STAFF)

    @property
    def onboarded(self) -> bool:
        return is_onboarded(self.resident)

    def has(self, role: str, neighborhood_id: int | None = None) -> bool:
        """Holds `role` city-wide, or for `neighborhood_id` when one is given."""
        if (role, None) in self.grants:
            return True
        return neighborhood_id is not None and (role, neighborhood_id) in self.grants


_ROLES = Role.__table__
# The person's roles as one text, "staff:,coordinator:12" (each role and the neighborhood it is scoped
# to), read beside the resident: the roles as ORM rows by a joined load cost an update 50 µs more on
# SQLite, and nothing reads them as rows (`Viewer.grants` is what decides; `Resident.roles` is not
# loaded by these reads). The separator is SQL of its own: given as a string, SQLAlchemy binds it as a
# parameter that it renders into the SQL again at every execution (`literal_execute`), on every update.
_GRANTS = (
    select(
        func.aggregate_strings(
            _ROLES.c.role + ":" + func.coalesce(cast(_ROLES.c.neighborhood_id, String), ""),
            literal_column("','"),
        )
    )
    .where(_ROLES.c.resident_id == Resident.id)
    .scalar_subquery()
)

# The resident's columns, read as plain values and made into the session's own `Resident` (`_attached`):
# every update reads the person, and SQLAlchemy's ORM loading of the entity and its execution around
# the statement cost more than the statement (`storage.direct`)
_COLUMNS = tuple(Resident.__mapper__.column_attrs)
_RESIDENT = tuple(attribute.columns[0] for attribute in _COLUMNS)
_KEYS = tuple(attribute.key for attribute in _COLUMNS)
_WIDTH = len(_RESIDENT)
_ID = _RESIDENT.index(Resident.__table__.c.id)  # where the row's id is, None when there is no resident
_RESIDENT_AT = {key: index for index, key in enumerate(_KEYS)}  # where each attribute's value is
_MANAGER = Resident._sa_class_manager  # noqa: SLF001 - the mapped class's instrumentation, as the ORM loads
_MAPPER = Resident.__mapper__

# built once: read on every update, and a statement built anew costs its construction and cache key
# each time (about a tenth of a millisecond here), a reused one neither
_WITH_ROLES = Direct(select(*_RESIDENT, _GRANTS).where(Resident.telegram_id == bindparam("telegram_id")))


def _attached(session: AsyncSession, values: Sequence[Any]) -> Resident:
    """The resident of a row's `_RESIDENT` values, as reading the entity would give it: the session's
    own, persistent and unchanged. One the session holds already is kept as it is, as a query keeps it,
    unless it was expired (a rollback), when it takes the values read.

    A new one is made as SQLAlchemy's loading makes an entity from its row (`orm/loading.py`,
    `_instance`): its state given the identity key and the session, and put in the identity map. The
    public way, `make_transient_to_detached` and `Session.add`, walks the resident's relationships for
    the cascade and fires the session's attach events: the person's read cost 27 to 75 µs more so
    (`bench/README.md`, "The person's resident made as a query makes it")."""
    sync = session.sync_session
    key = _MAPPER.identity_key_from_primary_key((values[_ID],))
    identities = sync.identity_map
    present = identities.get(key)
    if present is not None and not instance_state(present).expired_attributes:
        return present
    resident = _MANAGER.new_instance()
    state = instance_state(resident)
    state.dict.update(zip(_KEYS, values[:_WIDTH], strict=True))
    if present is None:
        state.key = key
        state.session_id = sync.hash_key
        identities._add_unpresent(state, key)  # noqa: SLF001 - as the ORM's loading adds what it read
        return resident
    make_transient_to_detached(resident)
    return sync.merge(resident, load=False)


async def _person_rows(
    session: AsyncSession, direct: Direct, values: Mapping[str, Any]
) -> tuple[Sequence[Any], Resident | None]:
    """A person's read: its rows, whose first columns are the resident's (`_RESIDENT`), and the resident
    of its first row made the session's own (`_attached`), None if there is none."""
    found = await direct.rows(session, values)
    return found, _attached(session, found[0]) if found and found[0][_ID] is not None else None


def _grants(text: str | None) -> frozenset[tuple[str, int | None]]:
    """The roles of `_GRANTS`' text, each with the neighborhood it is scoped to (None: city-wide)."""
    found = set()
    for grant in text.split(",") if text else ():
        role, _sep, hood = grant.partition(":")
        found.add((role, int(hood) if hood else None))
    return frozenset(found)


_STATE = FsmRecord.__table__


@dataclass(frozen=True, eq=False)
class Beside:
    """A read a feature's handler makes first, made in the person's read instead (`PersonRead`): one
    round trip less for every press that makes it. The update's press says which (`bot.features`,
    `Feature.beside`) and binds its parameters; the service that would make the read takes the values
    (`taken_beside`) and reads for itself only where they are not there or no longer stand.

    `columns` are read beside the person's, one value each for the whole read; `join` adds to the read's
    FROM (whose resident's columns it may use, as `Resident.__table__.c`) the outer joins those columns
    come from, joins that make one row at most. `depends` names the resident's attributes the read used:
    the values stand for the resident they were read for, as they were then (`taken_beside`)."""

    name: str
    columns: tuple[ColumnElement[Any], ...] = field(repr=False)
    join: Callable[[Select[Any]], Select[Any]] = field(repr=False)
    depends: tuple[str, ...] = ()


# where the session keeps the reads made beside the person's, by name, until one is taken
_BESIDE = "meydan_beside"


class PersonRead:
    """The statement an update begins with: the resident of the bound `telegram_id` with their roles
    (as one text, `_GRANTS`), the rows of the conversation state (`storage.fsm.SQLStorage`) whose keys
    are given (none with the state kept elsewhere) as plain values (`FSM_ROW`), and `columns` beside
    them, each one value for the whole read; then, where an update's press asks for one, the columns of
    a read `Beside` the person's. One statement is one round trip to the database where these reads
    were several. The join from one constant row keeps a row when there is neither resident nor state
    (a person's first update); each of their state's rows is a row of the result.

    The keys are bound one parameter each, `key IN (:key_0, :key_1)`, in a statement built once for
    each number of keys (a storage reads the same number on every update) and each `Beside`: an
    expanding parameter is rendered into the SQL again at every execution, about a fiftieth of a ballot
    press's CPU."""

    def __init__(self, *columns: ColumnElement[Any]) -> None:
        self.columns = columns
        self._built: dict[tuple[int, Beside | None], Direct] = {}

    def direct(self, keys: int, beside: Beside | None = None) -> Direct:
        """The read for `keys` keys of the state, the resident's columns (`_RESIDENT`) first, with
        `beside`'s columns last."""
        built = self._built.get((keys, beside))
        if built is None:
            one_row = select(literal(1).label("one")).subquery("one_row")
            rows = _STATE.c.key.in_([bindparam(f"key_{i}") for i in range(keys)]) if keys else false()
            read = (
                select(*_RESIDENT, *FSM_ROW, _GRANTS, *self.columns, *(beside.columns if beside else ()))
                .select_from(one_row)
                .outerjoin(Resident, Resident.telegram_id == bindparam("telegram_id"))
                .outerjoin(_STATE, rows)
            )
            built = self._built[(keys, beside)] = Direct(beside.join(read) if beside else read)
        return built

    @staticmethod
    def params(telegram_id: int, keys: Sequence[str]) -> dict[str, Any]:
        return {"telegram_id": telegram_id, **{f"key_{i}": key for i, key in enumerate(keys)}}


def taken_beside(
    session: AsyncSession, beside: Beside, params: Mapping[str, Any], resident: Resident
) -> Sequence[Any] | None:
    """The values of `beside` read with the person's in this session, for the service that would read
    them: once (a second ask reads anew), and only where they still stand for a read made now. They are
    None where they were not read, or with other parameters, for a resident whose `depends` have changed
    since (a neighborhood moved, an identity given), or once the session has changes of its own, pending
    or flushed (a read would see them: `storage.direct` flushes first). A change written past the ORM
    (a Core statement) is not seen: the service takes them at an update's start, before its handler
    changes anything, as every press that reads them beside does."""
    kept = session.info.get(_BESIDE)
    found = kept.pop(beside.name, None) if kept else None
    if found is None or session.new or session.dirty or session.deleted:
        return None
    read_with, used, values = found
    now = instance_state(resident).dict  # an attribute expired since (a rollback) is not there: no match
    if read_with != params or used != tuple(now.get(name, _BESIDE) for name in beside.depends):
        return None
    return values


async def read_beside(
    session: AsyncSession,
    beside: Beside,
    params: Mapping[str, Any],
    resident: Resident,
    alone: Direct,
    more: Mapping[str, Any],
) -> Sequence[Any] | None:
    """The row of a read that a press may have had made beside the person's: `beside`'s values where
    they stand (`taken_beside`), else the first row of `alone`, the same read as a statement of its
    own, run now with `params` and `more`. None where there is no row: read alone, none came; read
    beside, the outer joins found nothing, so the first column (a key of the row) is null."""
    row = taken_beside(session, beside, params, resident)
    if row is None:
        return await alone.first(session, {**params, **more})
    return None if row[0] is None else row


@event.listens_for(Session, "after_flush")
def _forget_beside(session: Session, _context: Any) -> None:
    """A session's changes flushed: what was read beside the person no longer stands (`taken_beside`)."""
    session.info.pop(_BESIDE, None)


_WITH_STATE = PersonRead()


async def _with_roles(
    session: AsyncSession, telegram_id: int
) -> tuple[Resident | None, frozenset[tuple[str, int | None]]]:
    """The resident and their roles in one statement (read on every update)."""
    found, resident = await _person_rows(session, _WITH_ROLES, {"telegram_id": telegram_id})
    return resident, _grants(found[0][_WIDTH]) if found else frozenset()


async def get_or_create(
    session: AsyncSession, telegram_id: int, *, staff_ids: frozenset[int] = frozenset()
) -> Viewer:
    """The resident for a Telegram user; created on first contact. STAFF_IDS always hold the staff role."""
    return await _created(session, telegram_id, *await _with_roles(session, telegram_id), staff_ids)


async def _created(
    session: AsyncSession,
    telegram_id: int,
    resident: Resident | None,
    grants: frozenset[tuple[str, int | None]],
    staff_ids: frozenset[int],
) -> Viewer:
    """`get_or_create` with the resident and their roles read already: None if there is none yet."""
    if resident is None:
        resident = Resident(telegram_id=telegram_id)
        await identify(session, resident)
        session.add(resident)
        await session.flush()
        grants = frozenset()
    else:
        await identify(session, resident)
    if telegram_id in staff_ids and (roles_service.STAFF, None) not in grants:
        await roles_service.grant(session, resident, roles_service.STAFF)
        grants |= {(roles_service.STAFF, None)}
    return Viewer(resident=resident, grants=grants)


async def load(session: AsyncSession, telegram_id: int, *, staff_ids: frozenset[int] = frozenset()) -> Viewer:
    """The resident behind an update. A person the bot does not know yet gets a resident that is not
    saved (nothing is stored before they accept the privacy notice: `accept_privacy` saves it); the
    STAFF_IDS are saved at once, with their role. A resident saved before identities existed gets theirs
    here (the lazy backfill of migration 0005). An update reads the resident with `load_with_state`;
    this is that read with no state beside it."""
    viewer, _records, _values = await load_with_state(session, telegram_id, (), staff_ids=staff_ids)
    return viewer


async def load_with_state(
    session: AsyncSession,
    telegram_id: int,
    keys: Sequence[str],
    *,
    staff_ids: frozenset[int] = frozenset(),
    statement: PersonRead | None = None,
    params: Mapping[str, Any] | None = None,
    beside: tuple[Beside, Mapping[str, Any]] | None = None,
) -> tuple[Viewer, list[tuple[str, str | None, Any]], tuple[Any, ...]]:
    """`load`, with the rows of the conversation state named `keys` (those that exist: key, state and
    data) read in the same statement. `statement`, a `PersonRead` with more columns (bound
    with `params`), gives their values as the third item. `beside`, a `Beside` and its parameters, is
    read in the same statement too and kept in the session for the service that takes it
    (`taken_beside`)."""
    if not keys and statement is None and beside is None:  # nothing beside the resident: no join
        resident, grants = await _with_roles(session, telegram_id)
        return await _loaded(session, telegram_id, resident, grants, staff_ids), [], ()
    read = _WITH_STATE if statement is None else statement
    bound = {**PersonRead.params(telegram_id, keys), **(params or {})}
    if beside is not None:
        bound.update(beside[1])
    found, resident = await _person_rows(session, read.direct(len(keys), beside and beside[0]), bound)
    first = found[0]  # at least one row: the constant row's
    key, state, data, grants = _WIDTH, _WIDTH + 1, _WIDTH + 2, _WIDTH + 3
    records = [(row[key], row[state], row[data]) for row in found if row[key] is not None]
    extra = grants + 1 + len(read.columns)
    if beside is not None:
        used = tuple(first[_RESIDENT_AT[name]] for name in beside[0].depends)
        session.info.setdefault(_BESIDE, {})[beside[0].name] = (dict(beside[1]), used, first[extra:])
    viewer = await _loaded(session, telegram_id, resident, _grants(first[grants]), staff_ids)
    return viewer, records, tuple(first[grants + 1 : extra])


async def _loaded(
    session: AsyncSession,
    telegram_id: int,
    resident: Resident | None,
    grants: frozenset[tuple[str, int | None]],
    staff_ids: frozenset[int],
) -> Viewer:
    """`load` with the resident and their roles read already: None if there is none."""
    if telegram_id in staff_ids:
        return await _created(session, telegram_id, resident, grants, staff_ids)
    if resident is None:
        return Viewer(resident=Resident(telegram_id=telegram_id, reachable=True), grants=frozenset())
    await identify(session, resident)
    return Viewer(resident=resident, grants=grants)


async def forget_unfinished(session: AsyncSession, resident: Resident) -> None:
    """The person refused the privacy notice: erase whatever onboarding had stored of them (a resident who
    never finished onboarding has nothing else: no ideas, supports or roles)."""
    if resident.id is not None and not is_onboarded(resident):
        if resident.telegram_id is not None:
            await forget_kept_answers(session, resident.telegram_id)
        await session.delete(resident)
        await session.flush()


def may_keep_answers(resident: Resident | None) -> bool:
    """Whether the bot's answers to the person may be kept with their update, to be sent again should it
    come again (`bot.middlewares.dedup`): only once they have accepted the privacy notice, and not once
    they deleted their account or refused the notice, in this very update too."""
    if resident is None or resident.consent_at is None or resident.telegram_id is None:
        return False
    state = inspect(resident)
    return not (state.deleted or state.was_deleted)


async def clear_kept_answers(session: AsyncSession, which: ColumnElement[bool]) -> None:
    """Clear the answers kept with the updates that match `which` (the purge's age, or a person)."""
    await session.execute(
        update(ProcessedUpdate)
        .where(ProcessedUpdate.answer_to.is_not(None), which)
        .values(answer_to=None, answer=None)
        .execution_options(synchronize_session=False)
    )


async def forget_kept_answers(session: AsyncSession, telegram_id: int) -> None:
    """Clear the bot's answers to the person kept with their updates, when their account goes."""
    await clear_kept_answers(session, ProcessedUpdate.answer_to == telegram_id)


async def by_telegram_id(session: AsyncSession, telegram_id: int) -> Resident | None:
    return await session.scalar(select(Resident).where(Resident.telegram_id == telegram_id))


def is_onboarded(resident: Resident) -> bool:
    return resident.onboarded_at is not None and resident.neighborhood_id is not None


def set_language(resident: Resident, lang: str) -> None:
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}")
    resident.language = lang


async def accept_privacy(session: AsyncSession, resident: Resident) -> None:
    """Consent given: from now on the resident is stored, with their identity."""
    if resident.consent_at is None:
        resident.consent_at = utcnow()
    await identify(session, resident)
    if resident.id is None:
        session.add(resident)
        await session.flush()


async def set_neighborhood(session: AsyncSession, resident: Resident, neighborhood_id: int) -> Neighborhood:
    """Move the resident to a neighborhood; completes onboarding once consent is given."""
    hood = await session.get(Neighborhood, neighborhood_id)
    if hood is None or not hood.active:
        raise ValueError("no such neighborhood")
    resident.neighborhood_id = hood.id
    if resident.consent_at is not None and resident.onboarded_at is None:
        resident.onboarded_at = utcnow()
    await session.flush()
    return hood


# a resident's notification choices, over the table (plain values), and one choice written whole,
# whether or not a row exists; built once (per database, as `storage.fsm` and the dedup's claim are),
# read by every settings screen
_CHOICES = NotificationChoice.__table__
_CHOSEN = Direct(
    select(_CHOICES.c.category, _CHOICES.c.enabled).where(_CHOICES.c.resident_id == bindparam("resident_id"))
)


def _choose(insert: Any) -> Any:
    """One choice written whole whether or not a row exists."""
    statement = insert(_CHOICES)
    return statement.on_conflict_do_update(
        index_elements=[_CHOICES.c.resident_id, _CHOICES.c.category],
        set_={"enabled": statement.excluded.enabled},
    )


_CHOOSE = {"sqlite": Direct(_choose(sqlite.insert)), "postgresql": Direct(_choose(postgresql.insert))}


async def notifications(session: AsyncSession, resident_id: int) -> dict[str, bool]:
    """Each notification category of the features that exist → whether this resident gets it."""
    return _with_defaults(dict(await _CHOSEN.rows(session, {"resident_id": resident_id})))


def _with_defaults(chosen: Mapping[str, bool]) -> dict[str, bool]:
    return {c.key: chosen.get(c.key, c.default) for c in categories()}


def _default(category: str) -> bool:
    """Whether a person who never chose gets `category`; ValueError for no category that exists."""
    for known in categories():
        if known.key == category:
            return known.default
    raise ValueError(f"unknown notification category {category!r}")


async def wants(session: AsyncSession, resident_id: int, category: str) -> bool:
    return (await notifications(session, resident_id)).get(category, False)


async def set_notification(session: AsyncSession, resident_id: int, category: str, enabled: bool) -> None:
    """Turn a category on or off for the resident, in one statement, whatever is stored: the settings
    screen's button says which it does, so a press that comes twice does it once."""
    _default(category)  # refuses a category that does not exist
    await _CHOOSE[session.get_bind().dialect.name].execute(
        session, {"resident_id": resident_id, "category": category, "enabled": enabled}
    )


# the settings screen's one read: the person's neighborhood and its district by name, when both are
# still in use, beside each of their notification choices (a row for each, or one row with none)
_HOOD = Neighborhood.__table__
_DISTRICT = District.__table__
_SETTINGS = Direct(
    select(_HOOD.c.name, _DISTRICT.c.name, _CHOICES.c.category, _CHOICES.c.enabled).select_from(
        select(literal_column("1").label("one"))
        .subquery()
        .outerjoin(_HOOD, and_(_HOOD.c.id == bindparam("neighborhood_id"), _HOOD.c.active))
        .outerjoin(_DISTRICT, and_(_DISTRICT.c.id == _HOOD.c.district_id, _DISTRICT.c.active))
        .outerjoin(_CHOICES, _CHOICES.c.resident_id == bindparam("resident_id"))
    )
)


@dataclass(frozen=True, slots=True)
class PersonSettings:
    """What the settings screen shows: the neighborhood and its district by name (None when the person
    has none, or it is no longer in use), and each notification category → whether they get it."""

    place: tuple[str, str] | None
    notifications: dict[str, bool]


async def settings(session: AsyncSession, resident_id: int, neighborhood_id: int | None) -> PersonSettings:
    """What the settings screen shows of the resident, in one statement."""
    rows = await _SETTINGS.rows(session, {"resident_id": resident_id, "neighborhood_id": neighborhood_id})
    hood, district = rows[0][0], rows[0][1]
    chosen = {category: enabled for *_, category, enabled in rows if category is not None}
    return PersonSettings(
        (hood, district) if hood is not None and district is not None else None, _with_defaults(chosen)
    )


# the settings screen's read made in the person's read, for what shows the screen
# (`bot.ui.settings.settings_screen`): the neighborhood and district of the read's resident by name,
# when both are still in use, and the stored choice of each category of the features that exist, one
# column each (null where nothing is stored), the category bound to its key when the read is built
_HOOD_SHOWN = _HOOD.alias("settings_hood")
_DISTRICT_SHOWN = _DISTRICT.alias("settings_district")


@cache
def _settings_beside(keys: tuple[str, ...]) -> Beside:
    person = Resident.__table__
    stored = (
        select(_CHOICES.c.enabled)
        .where(_CHOICES.c.resident_id == person.c.id, _CHOICES.c.category == bindparam(f"setting_{i}", key))
        .scalar_subquery()
        for i, key in enumerate(keys)
    )
    return Beside(
        "residents.settings",
        (_HOOD_SHOWN.c.name, _DISTRICT_SHOWN.c.name, *stored),
        lambda read: read.outerjoin(
            _HOOD_SHOWN, and_(_HOOD_SHOWN.c.id == person.c.neighborhood_id, _HOOD_SHOWN.c.active)
        ).outerjoin(
            _DISTRICT_SHOWN, and_(_DISTRICT_SHOWN.c.id == _HOOD_SHOWN.c.district_id, _DISTRICT_SHOWN.c.active)
        ),
        depends=("neighborhood_id",),
    )


def settings_beside() -> Beside:
    """The settings screen's read, made in the person's read (`Beside`), for the categories that exist."""
    return _settings_beside(tuple(c.key for c in categories()))


def _settings_taken(session: AsyncSession, resident: Resident) -> PersonSettings | None:
    beside = settings_beside()
    row = taken_beside(session, beside, {}, resident)
    if row is None:
        return None
    hood, district, *stored = row
    chosen = {c.key: enabled for c, enabled in zip(categories(), stored, strict=True) if enabled is not None}
    place = (hood, district) if hood is not None and district is not None else None
    return PersonSettings(place, _with_defaults(chosen))


async def settings_of(session: AsyncSession, resident: Resident) -> PersonSettings:
    """What the settings screen shows of the resident: read in the person's read where the update had
    it made there (`settings_beside`, taken by `taken_beside`), else in one statement (`settings`)."""
    return _settings_taken(session, resident) or await settings(
        session, resident.id, resident.neighborhood_id
    )


async def turn_notification(
    session: AsyncSession, resident: Resident, category: str, enabled: bool
) -> PersonSettings:
    """`set_notification`, and the settings screen as it stands after it: the screen read in the
    person's read, taken before the write, with this choice in it; else read after the write."""
    shown = _settings_taken(session, resident)
    await set_notification(session, resident.id, category, enabled)
    if shown is None:
        return await settings(session, resident.id, resident.neighborhood_id)
    return replace(shown, notifications={**shown.notifications, category: enabled})


def mark_reachable(resident: Resident, reachable: bool) -> None:
    resident.reachable = reachable


async def mark_unreachable(session: AsyncSession, resident_id: int) -> None:
    """The person blocked the bot: stop counting on messages reaching them."""
    resident = await session.get(Resident, resident_id)
    if resident is not None:
        resident.reachable = False
