"""Ideas: submission during a process's submission phase, supports, browsing and moderation.

Plain values in, ORM objects or dataclasses out, domain exceptions for every refusal. A moderation
decision is a conditional update (`... WHERE status IN (...)`), so of two staff members deciding the
same idea at once exactly one wins and the other gets `AlreadyDecided`, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from bot.config import Bounds
from bot.i18n import N_
from bot.services import processes, residents
from bot.services.errors import DomainError, NotAllowed  # noqa: F401 - ideas.NotAllowed
from bot.services.ideas import rules
from bot.services.ideas.rules import (  # noqa: F401 - the rules are part of the ideas API
    APPROVED,
    CATEGORY,
    DESCRIPTION_MAX,
    DESCRIPTION_MIN,
    FLOOD_COUNT,
    FLOOD_SPAN,
    HIDDEN,
    MERGED,
    PENDING,
    PROJECT,
    REASON_MAX,
    REASON_MIN,
    REJECT_REASONS,
    REJECTED,
    SCOPE_CITY,
    SCOPE_NEIGHBORHOOD,
    SCOPES,
    STATUS_LABELS,
    TITLE_MAX,
    TITLE_MIN,
    VISIBLE,
    WITHDRAWN,
    Decision,
    can_support,
    can_withdraw,
)
from bot.services.residents import same_person
from bot.text import fold
from storage.direct import Direct
from storage.models import District, Idea, IdeaSupport, Neighborhood, Process, Resident, Theme, utcnow
from storage.sql import json_rows

OPEN_IDEA = N_("💡 Open idea #{id}")


# --- refusals --------------------------------------------------------------------------------------


class IdeaError(DomainError):
    """An idea action that cannot be done; the handler turns it into a message."""


class Invalid(IdeaError):
    """A field fails its rule: `field` is title/description/reason, `problem` is short/long/empty
    (empty: nothing but spaces, punctuation or emoji)."""

    def __init__(self, field: str, problem: str, limit: int) -> None:
        super().__init__(f"{field}: {problem} (limit {limit})")
        self.field, self.problem, self.limit = field, problem, limit


class OutsideCity(IdeaError):
    pass


class SubmissionNotOpen(IdeaError):
    def __init__(self, process: Process | None, state: str | None, at: datetime | None) -> None:
        super().__init__(f"submission is {state or 'not set up'}")
        self.process, self.state, self.at = process, state, at


class LimitReached(IdeaError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"limit of {limit} ideas reached")
        self.limit = limit


class Flooding(IdeaError):
    def __init__(self, minutes: int) -> None:
        super().__init__(f"too many ideas just now; wait {minutes} min")
        self.minutes = minutes


class NotFound(IdeaError):
    pass


class NotSupportable(IdeaError):
    pass


class OwnIdea(IdeaError):
    pass


class NotWithdrawable(IdeaError):
    pass


class AlreadyDecided(IdeaError):
    def __init__(self, status: str) -> None:
        super().__init__(f"already {status}")
        self.status = status


class BadTarget(IdeaError):
    pass


# --- values ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    """A finished form, as the resident typed it."""

    process_id: int
    theme_id: int
    title: str
    description: str
    scope: str = SCOPE_NEIGHBORHOOD
    photo_file_id: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    place_id: int | None = None  # a typed place (a neighborhood) instead of a shared location


@dataclass(frozen=True, slots=True)
class ListedIdea:
    """An idea as a list shows it (`ui.ideas.cards.list_line`): its number, title, status and
    neighborhood, read as plain values (`_list_statements`)."""

    id: int
    title: str
    status: str
    place: str  # its neighborhood's name


@dataclass(frozen=True)
class Listed:
    idea: ListedIdea
    supports: int


@dataclass(frozen=True, slots=True)
class Spot:
    """A neighborhood as a card names it: its name and its district's."""

    name: str
    district_name: str | None


@dataclass(frozen=True, slots=True)
class ThemeName:
    """A theme as a card names it (`theme_name`)."""

    key: str
    names: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class ShownIdea:
    """A published idea as its card shows it (`ui.ideas.cards.idea_card`), read as plain values: the
    idea's own columns, its theme's names, and the names of its neighborhood and of the place it is
    about (a typed place), each with its district."""

    id: int
    process_id: int
    author_id: int | None
    title: str
    description: str
    status: str
    scope: str
    photo_file_id: str | None
    latitude: float | None
    longitude: float | None
    merged_into_id: int | None
    theme: ThemeName
    neighborhood: Spot
    place: Spot | None


@dataclass(frozen=True)
class Similar:
    idea: Idea
    score: float


# --- text rules ------------------------------------------------------------------------------------


def _has_words(value: str) -> bool:
    return any(ch.isalnum() for ch in value)


def _checked(field: str, value: str, shortest: int, longest: int) -> str:
    if not _has_words(value):
        raise Invalid(field, "empty", shortest)
    if len(value) < shortest:
        raise Invalid(field, "short", shortest)
    if len(value) > longest:
        raise Invalid(field, "long", longest)
    return value


def visible_text(text: str | None) -> str:
    """The text without invisible characters (zero-width spaces and joiners, direction marks), which
    must not count towards a minimum length."""
    return "".join(ch for ch in (text or "") if unicodedata.category(ch) != "Cf")


def clean_title(text: str | None) -> str:
    return _checked("title", " ".join(visible_text(text).split()), TITLE_MIN, TITLE_MAX)


def clean_description(text: str | None) -> str:
    lines = [" ".join(line.split()) for line in visible_text(text).strip().splitlines()]
    value = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return _checked("description", value, DESCRIPTION_MIN, DESCRIPTION_MAX)


def clean_reason(text: str | None) -> str:
    return _checked("reason", " ".join(visible_text(text).split()), REASON_MIN, REASON_MAX)


def check_location(bounds: Bounds, latitude: float, longitude: float) -> None:
    if not bounds.contains(latitude, longitude):
        raise OutsideCity("the location is outside the city")


# --- similarity ------------------------------------------------------------------------------------

_TR_STOP = "ve ile icin bir bu su o da de ki mi mu daha cok en gibi olan olsun yeni"
_EN_STOP = "the a an and or of for to in on at with by new more please"
STOP_WORDS = frozenset(f"{_TR_STOP} {_EN_STOP}".split())  # noqa: SIM905 - two readable lists
SIMILAR_AT = 0.6


def tokens(title: str) -> list[str]:
    """Folded words of a title, without short and filler words: "Çocuk parkı'na bank" → [cocuk, parki, bank]."""
    words = re.findall(r"[a-z0-9]+", fold(title))
    return [w for w in words if len(w) > 2 and w not in STOP_WORDS]


def _same_word(a: str, b: str) -> bool:
    """Equal, or one Turkish word with different suffixes ("parkı", "parka", "parkta"; "bank", "banklar")."""
    if a == b:
        return True
    shorter = min(len(a), len(b))
    common = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        common += 1
    if shorter == 3:
        return common == 3 and max(len(a), len(b)) <= 5
    return common >= 4 and common >= 0.75 * shorter


def similarity(a: str, b: str) -> float:
    """How alike two titles are, 0 to 1, whatever the word order, accents or case (Dice on words)."""
    left, right = tokens(a), tokens(b)
    if not left or not right:
        return 1.0 if fold(a) == fold(b) and fold(a) else 0.0
    unused = list(right)
    matched = 0
    for word in left:
        for i, other in enumerate(unused):
            if _same_word(word, other):
                matched += 1
                del unused[i]
                break
    return 2 * matched / (len(left) + len(right))


def rank_similar(title: str, candidates: list[Idea], limit: int = 5, at: float = SIMILAR_AT) -> list[Similar]:
    scored = [Similar(idea, similarity(title, idea.title)) for idea in candidates]
    hits = [s for s in scored if s.score >= at]
    hits.sort(key=lambda s: (-s.score, -s.idea.id))
    return hits[:limit]


def _with_places():  # noqa: ANN202 - a select of ideas with theme and place loaded
    return select(Idea).options(
        joinedload(Idea.theme),
        joinedload(Idea.neighborhood).joinedload(Neighborhood.district),
        joinedload(Idea.place).joinedload(Neighborhood.district),
    )


async def similar(
    session: AsyncSession,
    process_id: int,
    neighborhood_id: int,
    title: str,
    *,
    exclude_author: int | None = None,
    limit: int = 5,
) -> list[Similar]:
    """Published ideas of the same process and neighborhood with a title like `title` (someone's own
    ideas are left out with `exclude_author`: they cannot support them instead)."""
    stmt = _with_places().where(
        Idea.process_id == process_id,
        Idea.neighborhood_id == neighborhood_id,
        Idea.status == APPROVED,
    )
    if exclude_author is not None:
        stmt = stmt.where(or_(Idea.author_id.is_(None), Idea.author_id.not_in(same_person(exclude_author))))
    rows = await session.scalars(stmt.order_by(Idea.id.desc()).limit(1000))
    return rank_similar(title, list(rows), limit)


# --- lookups ---------------------------------------------------------------------------------------


async def themes(session: AsyncSession) -> list[Theme]:
    return list(await session.scalars(select(Theme).where(Theme.active).order_by(Theme.position, Theme.id)))


async def theme(session: AsyncSession, theme_id: int) -> Theme | None:
    found = await session.get(Theme, theme_id)
    return found if found is not None and found.active else None


def theme_name(theme: Theme | ThemeName, lang: str) -> str:
    return theme.names.get(lang) or theme.names.get("en") or theme.key


async def get(session: AsyncSession, idea_id: int) -> Idea | None:
    return await session.scalar(
        _with_places().where(Idea.id == idea_id).execution_options(populate_existing=True)
    )


async def visible(session: AsyncSession, idea_id: int, process_id: int) -> Idea | None:
    """An idea every resident may read: published (or turned into a project) in that process."""
    idea = await get(session, idea_id)
    if idea is None or idea.status not in VISIBLE or idea.process_id != process_id:
        return None
    return idea


@dataclass(frozen=True)
class Card:
    """An idea as a resident sees it: with its supporters and whether they are one of them."""

    idea: ShownIdea
    supports: int
    supported: bool


# The statements of the ideas a resident browses, opens and supports, built once: each update of that
# path runs two or three of them, and building one again (with its cache key) cost more than running it.
_PERSON = bindparam("person")
# the tables, for statements that give plain values or change rows: a statement of mapped attributes
# goes through the ORM's execution, which costs a statement about 40 µs more on SQLite
_IDEAS, _HOODS, _IDEA_SUPPORTS = Idea.__table__, Neighborhood.__table__, IdeaSupport.__table__
_PROCESSES = Process.__table__
_THEMES, _DISTRICTS = Theme.__table__, District.__table__
# an idea's supports, in the card's statement and in a list's
_SUPPORTS = (
    select(func.count()).where(_IDEA_SUPPORTS.c.idea_id == _IDEAS.c.id).correlate(_IDEAS).scalar_subquery()
)
# what a card shows of an idea (`ShownIdea`): its columns, its theme, its neighborhood and its place
# with their districts; as ORM objects with four joined loads the card's read cost 300 µs over a bare
# transaction on SQLite, as these plain values 75
_HOOD, _HOOD_DISTRICT = _HOODS.alias("hood"), _DISTRICTS.alias("hood_district")
_SPOT, _SPOT_DISTRICT = _HOODS.alias("spot"), _DISTRICTS.alias("spot_district")
_SHOWN_COLUMNS = tuple(_IDEAS.c[name] for name in ShownIdea.__dataclass_fields__ if name in _IDEAS.c)
_SHOWN_FROM = (
    _IDEAS.join(_THEMES, _THEMES.c.id == _IDEAS.c.theme_id)
    .join(_HOOD, _HOOD.c.id == _IDEAS.c.neighborhood_id)
    .outerjoin(_HOOD_DISTRICT, _HOOD_DISTRICT.c.id == _HOOD.c.district_id)
    .outerjoin(_SPOT, _SPOT.c.id == _IDEAS.c.place_id)
    .outerjoin(_SPOT_DISTRICT, _SPOT_DISTRICT.c.id == _SPOT.c.district_id)
)
_SHOWN = select(
    *_SHOWN_COLUMNS,
    _THEMES.c.key,
    _THEMES.c.names,
    _HOOD.c.name,
    _HOOD_DISTRICT.c.name,
    _SPOT.c.name,
    _SPOT_DISTRICT.c.name,
).select_from(_SHOWN_FROM)
_SHOWN_WIDTH = len(_SHOWN_COLUMNS) + 6


def _shown(row: Sequence[Any]) -> ShownIdea:
    """The `ShownIdea` of a row of `_SHOWN` (its first `_SHOWN_WIDTH` values)."""
    own = dict(zip((column.name for column in _SHOWN_COLUMNS), row, strict=False))
    theme_key, theme_names, hood, hood_district, spot, spot_district = row[len(_SHOWN_COLUMNS) : _SHOWN_WIDTH]
    return ShownIdea(
        **own,
        theme=ThemeName(theme_key, theme_names or {}),
        neighborhood=Spot(hood, hood_district),
        place=Spot(spot, spot_district) if spot is not None else None,
    )


# whether the person bound as `person` supports the idea of the row
_SUPPORTED = (
    select(_IDEA_SUPPORTS.c.idea_id)
    .where(_IDEA_SUPPORTS.c.idea_id == _IDEAS.c.id, _IDEA_SUPPORTS.c.resident_id.in_(same_person(_PERSON)))
    .correlate(_IDEAS)
    .exists()
)


def _status_in(statuses: tuple[str, ...]) -> ColumnElement[bool]:
    """`status IN (:status_0, :status_1, …)`, each bound to its value when the statement is built:
    `in_(statuses)` makes an expanding parameter, which SQLAlchemy renders into the SQL again at every
    execution (with the person read's separator, 1.7% of the bot's CPU in the ideas mix on PostgreSQL:
    `bench/README.md`, "Nothing rendered into the SQL at each run")."""
    return _IDEAS.c.status.in_([bindparam(f"status_{i}", status) for i, status in enumerate(statuses)])


# the reads of every browsing press, run on the database's own library where the session allows
# (`storage.direct`)
_CARD = Direct(
    _SHOWN.add_columns(_SUPPORTS, _SUPPORTED).where(
        _IDEAS.c.id == bindparam("idea_id"),
        _IDEAS.c.process_id == bindparam("process_id"),
        _status_in(VISIBLE),
    )
)
_SUPPORT_COUNT = Direct(select(func.count()).where(_IDEA_SUPPORTS.c.idea_id == bindparam("idea_id")))

# `_CARD` made in the person's read, for a press that opens an idea's card (`bot.ui.ideas.callbacks`):
# the person is the read's resident, their other rows found beside it (`same_person`)
_RESIDENTS = Resident.__table__
CARD_BESIDE = residents.Beside(
    "ideas.card",
    (
        *_SHOWN.selected_columns,
        _SUPPORTS,
        select(_IDEA_SUPPORTS.c.idea_id)
        .where(
            _IDEA_SUPPORTS.c.idea_id == _IDEAS.c.id,
            _IDEA_SUPPORTS.c.resident_id.in_(same_person(_RESIDENTS.c.id, _RESIDENTS.c.identity)),
        )
        .exists(),
    ),
    lambda read: read.outerjoin(
        _SHOWN_FROM,
        and_(
            _IDEAS.c.id == bindparam("idea_id"),
            _IDEAS.c.process_id == bindparam("process_id"),
            _status_in(VISIBLE),
        ),
    ),
    depends=("id", "identity"),
)


async def card(session: AsyncSession, idea_id: int, process_id: int, resident: Resident) -> Card | None:
    """`visible`, `support_count` and `supports` in one statement; a press that opens the card has it
    read in the person's read (`CARD_BESIDE`, taken by `residents.read_beside`)."""
    params = {"idea_id": idea_id, "process_id": process_id}
    row = await residents.read_beside(session, CARD_BESIDE, params, resident, _CARD, {"person": resident.id})
    return Card(_shown(row), row[_SHOWN_WIDTH] or 0, bool(row[_SHOWN_WIDTH + 1])) if row else None


async def support_count(session: AsyncSession, idea_id: int) -> int:
    return await _SUPPORT_COUNT.scalar(session, {"idea_id": idea_id}) or 0


async def supports(session: AsyncSession, idea_id: int, resident_id: int) -> bool:
    """Whether the person behind `resident_id` supports the idea (from this account or one they deleted)."""
    found = await session.scalar(
        select(IdeaSupport.idea_id)
        .where(IdeaSupport.idea_id == idea_id, IdeaSupport.resident_id.in_(same_person(resident_id)))
        .limit(1)
    )
    return found is not None


async def mine(
    session: AsyncSession, resident_id: int, *, page: int = 0, page_size: int = 5
) -> tuple[list[Listed], int]:
    """The resident's ideas, newest first, with their support counts."""
    return await _listed(session, {"author_id": resident_id}, order="new", page=page, page_size=page_size)


async def browse(
    session: AsyncSession,
    process_id: int,
    *,
    sort: str = "new",
    neighborhood_id: int | None = None,
    theme_id: int | None = None,
    page: int = 0,
    page_size: int = 5,
    resident: Resident | None = None,
) -> tuple[processes.Named | None, list[Listed], int]:
    """Published ideas of a process, newest or most supported first, optionally of one place or theme,
    with the process as a page of ideas names it (`processes.named`; None if there is no such process),
    read in the page's statement: a second statement only for a page with no ideas on it. A press of a
    page has the page read in the person's read (`page_beside`): given the `resident` read there, the
    page is taken from it, with no statement of its own where the page has ideas on it."""
    where = _browsed(process_id, neighborhood_id, theme_id)
    order = "top" if sort == "top" else "new"
    read = None
    if resident is not None:
        beside, params = page_beside(process_id, sort, neighborhood_id, theme_id, page, page_size)
        taken = residents.taken_beside(session, beside, params, resident)
        read = None if taken is None else _in_order(taken[0] or (), order)
    rows, total = await _page(
        session, {**where, "statuses": VISIBLE}, order, page, page_size, named=True, read=read
    )
    if rows:
        named = processes.Named(process_id, *rows[0][6:8])
    else:
        named = await processes.named(session, process_id)
    return named, [Listed(ListedIdea(*row[:4]), row[4]) for row in rows], total


# what a list of ideas may be narrowed by: the parameter's name and the condition that takes it; and by
# "statuses", a tuple bound in the statement (`_status_in`)
_LIST_FILTERS = {
    "process_id": _IDEAS.c.process_id == bindparam("process_id"),
    "neighborhood_id": _IDEAS.c.neighborhood_id == bindparam("neighborhood_id"),
    "theme_id": _IDEAS.c.theme_id == bindparam("theme_id"),
    "author_id": _IDEAS.c.author_id == bindparam("author_id"),
}


@cache
def _list_statements(
    filters: frozenset[str], order: str, named: bool = False, statuses: tuple[str, ...] = ()
) -> tuple[Direct, Direct]:
    """A page of ideas with their support counts and the total (a window count), and the total alone,
    narrowed by `filters` (keys of `_LIST_FILTERS`) and `statuses`; built once for each kind of list. A
    list shows each idea's number, title, status and neighborhood (`ui.ideas.cards.list_line`), read
    over the tables as plain values: a page of five cost 305 µs over a bare transaction on SQLite as ORM
    objects (the idea with its neighborhood joined), and 105 so. `named`: each row also has its
    process's key and names (`browse`)."""
    where = [_LIST_FILTERS[name] for name in sorted(filters)]
    if statuses:
        where.append(_status_in(statuses))
    supports = _SUPPORTS.label("supports")
    columns = [_IDEAS.c.id, _IDEAS.c.title, _IDEAS.c.status, _HOODS.c.name, supports, func.count().over()]
    joined = _IDEAS.join(_HOODS, _HOODS.c.id == _IDEAS.c.neighborhood_id)
    if named:
        columns += [_PROCESSES.c.key, _PROCESSES.c.names]
        joined = joined.join(_PROCESSES, _PROCESSES.c.id == _IDEAS.c.process_id)
    stmt = select(*columns).select_from(joined).where(*where)
    newest = _IDEAS.c.id.desc()
    stmt = stmt.order_by(supports.desc(), newest) if order == "top" else stmt.order_by(newest)
    stmt = stmt.offset(bindparam("offset")).limit(bindparam("limit"))
    return Direct(stmt), Direct(select(func.count()).select_from(_IDEAS).where(*where))


def _browsed(process_id: int, neighborhood_id: int | None, theme_id: int | None) -> dict[str, object]:
    """What `browse` narrows a list by, as `_list_statements`' filters and their values."""
    where: dict[str, object] = {"process_id": process_id}
    if neighborhood_id:
        where["neighborhood_id"] = neighborhood_id
    if theme_id:
        where["theme_id"] = theme_id
    return where


def _window(page: int, page_size: int) -> dict[str, int]:
    return {"offset": max(page, 0) * page_size, "limit": page_size}


def page_beside(
    process_id: int,
    sort: str = "new",
    neighborhood_id: int | None = None,
    theme_id: int | None = None,
    page: int = 0,
    page_size: int = 5,
) -> tuple[residents.Beside, dict[str, object]]:
    """The read of a page of `browse` (its arguments) made in the person's read, with its parameters:
    for a press of a page (`bot.ui.ideas.callbacks.idea_list`), and for `browse` to take it."""
    where = _browsed(process_id, neighborhood_id, theme_id)
    return _page_beside(frozenset(where), "top" if sort == "top" else "new"), {
        **where,
        **_window(page, page_size),
    }


# a page of `browse` as a read beside the person's: its rows as one JSON array of arrays in one column
# (`storage.sql.json_rows`), built once for each kind of list; the page does not depend on who reads it
@cache
def _page_beside(filters: frozenset[str], order: str) -> residents.Beside:
    page = _list_statements(filters, order, True, VISIBLE)[0].statement.subquery("listed")
    name = f"ideas.list:{order}:{','.join(sorted(filters))}"
    return residents.Beside(name, (select(json_rows(*page.c)).scalar_subquery(),), lambda read: read)


def _in_order(rows: Sequence[Sequence[Any]], order: str) -> list[tuple[Any, ...]]:
    """The rows of a page read as JSON (`page_beside`) in the order of `_list_statements`, which the
    aggregate does not keep for certain: most supported first for "top", then newest first."""
    if order == "top":
        return sorted(map(tuple, rows), key=lambda row: (-row[4], -row[0]))
    return sorted(map(tuple, rows), key=lambda row: -row[0])


async def _listed(
    session: AsyncSession, where: dict[str, object], *, order: str, page: int, page_size: int
) -> tuple[list[Listed], int]:
    """One page and the number of ideas in all, as `Listed` (`_page`). `where` maps filters to their
    values."""
    rows, total = await _page(session, where, "top" if order == "top" else "new", page, page_size)
    return [Listed(ListedIdea(*row[:4]), row[4]) for row in rows], total


async def _page(
    session: AsyncSession,
    where: dict[str, object],
    order: str,
    page: int,
    page_size: int,
    *,
    named: bool = False,
    read: Sequence[Any] | None = None,
) -> tuple[Sequence[Any], int]:
    """One page's rows of `_list_statements` and the number of ideas in all, in one statement, or
    none where the rows were `read` already; a page past the end (ideas went away meanwhile) is the
    last page, which takes another. `where` maps filters to their values, "statuses" to a tuple of
    them."""
    where = dict(where)
    statuses = tuple(where.pop("statuses", ()))
    stmt, count = _list_statements(frozenset(where), order, named, statuses)
    page = max(page, 0)
    params = {**where, **_window(page, page_size)}
    rows = read if read is not None else await stmt.rows(session, params)
    if not rows and page:
        total = await count.scalar(session, where) or 0
        page = max(1, -(-total // page_size)) - 1
        rows = await stmt.rows(session, {**params, "offset": page * page_size})
    return rows, rows[0][5] if rows else 0


async def neighborhoods_with_ideas(session: AsyncSession, process_id: int) -> list[tuple[Neighborhood, int]]:
    rows = await session.execute(
        select(Neighborhood, func.count(Idea.id))
        .join(Idea, Idea.neighborhood_id == Neighborhood.id)
        .options(joinedload(Neighborhood.district))
        .where(Idea.process_id == process_id, Idea.status.in_(VISIBLE))
        .group_by(Neighborhood.id)
        .order_by(func.count(Idea.id).desc(), Neighborhood.name_folded)
    )
    return [(hood, n) for hood, n in rows.unique()]


async def themes_with_ideas(session: AsyncSession, process_id: int) -> list[tuple[Theme, int]]:
    rows = await session.execute(
        select(Theme, func.count(Idea.id))
        .join(Idea, Idea.theme_id == Theme.id)
        .where(Idea.process_id == process_id, Idea.status.in_(VISIBLE))
        .group_by(Theme.id)
        .order_by(Theme.position, Theme.id)
    )
    return [(theme, n) for theme, n in rows]


# --- submitting ------------------------------------------------------------------------------------


def not_open(view: processes.Outlook) -> SubmissionNotOpen:
    """Why nobody with this outlook can send an idea now: when the next collection opens, else when the
    last one closed, else that there is none."""
    if view.next_opening is not None:
        span = processes.window(view.next_opening)
        return SubmissionNotOpen(view.next_opening, processes.UPCOMING, span.starts_at if span else None)
    if view.last_closed is not None:
        span = processes.window(view.last_closed)
        return SubmissionNotOpen(view.last_closed, processes.CLOSED, span.ends_at if span else None)
    return SubmissionNotOpen(None, None, None)


async def check_can_submit(
    session: AsyncSession, resident: Resident, process: Process | None, now: datetime | None = None
) -> None:
    """Raise unless the resident may send an idea to `process` now (phase, scope, limit, flood). The limit
    and the flood control count the ideas of the person, not of the account: those sent from accounts
    they deleted count too (`residents.same_person`)."""
    now = now or utcnow()
    if process is None or not processes.applies_to(process, resident.neighborhood_id):
        raise SubmissionNotOpen(None, None, None)
    span = processes.window(process)
    if span is None:
        raise SubmissionNotOpen(process, None, None)
    state = span.state(now)
    if state != processes.OPEN:
        raise SubmissionNotOpen(
            process, state, span.starts_at if state == processes.UPCOMING else span.ends_at
        )
    sent = await session.scalar(
        select(func.count())
        .select_from(Idea)
        .where(
            Idea.process_id == process.id,
            Idea.author_id.in_(same_person(resident.id)),
            Idea.status != WITHDRAWN,
        )
    )
    if (sent or 0) >= process.idea_limit:
        raise LimitReached(process.idea_limit)
    recent = await session.scalar(
        select(func.count())
        .select_from(Idea)
        .where(Idea.author_id.in_(same_person(resident.id)), Idea.created_at > now - FLOOD_SPAN)
    )
    if (recent or 0) >= FLOOD_COUNT:
        raise Flooding(int(FLOOD_SPAN.total_seconds() // 60))


async def submit(
    session: AsyncSession, resident: Resident, draft: Draft, bounds: Bounds, now: datetime | None = None
) -> Idea:
    """Check every rule again (the form may be days old) and save the idea as pending."""
    process = await processes.get(session, draft.process_id)
    await check_can_submit(session, resident, process, now)
    title = clean_title(draft.title)
    description = clean_description(draft.description)
    theme = await session.get(Theme, draft.theme_id)
    if theme is None or not theme.active:
        raise NotFound("no such theme")
    if draft.scope not in SCOPES:
        raise NotFound("no such scope")
    if (draft.latitude is None) != (draft.longitude is None):
        raise OutsideCity("half a location")
    if draft.latitude is not None and draft.longitude is not None:
        check_location(bounds, draft.latitude, draft.longitude)
    if draft.place_id is not None and await session.get(Neighborhood, draft.place_id) is None:
        raise NotFound("no such place")
    scope = SCOPE_NEIGHBORHOOD if process.scope == processes.NEIGHBORHOOD else draft.scope  # type: ignore[union-attr]
    idea = Idea(
        process_id=draft.process_id,
        author_id=resident.id,
        neighborhood_id=resident.neighborhood_id,
        theme_id=theme.id,
        scope=scope,
        title=title,
        description=description,
        photo_file_id=draft.photo_file_id,
        latitude=draft.latitude,
        longitude=draft.longitude,
        place_id=draft.place_id,
        status=PENDING,
        created_at=now or utcnow(),
    )
    session.add(idea)
    await session.flush()
    return await get(session, idea.id)  # type: ignore[return-value]


async def withdraw(session: AsyncSession, idea_id: int, resident: Resident) -> Idea:
    result = await session.execute(
        update(Idea)
        .where(Idea.id == idea_id, Idea.author_id == resident.id, Idea.status == PENDING)
        .values(status=WITHDRAWN, decided_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise NotWithdrawable("only your own idea, while it waits for review")
    return await get(session, idea_id)  # type: ignore[return-value]


# --- supporting ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Supported:
    idea: ShownIdea  # as its card shows it
    supported: bool
    supports: int


_TO_SUPPORT = Direct(
    _SHOWN.add_columns(
        _IDEAS.c.author_id.in_(same_person(_PERSON)),
        _PROCESSES.c.id,
        _PROCESSES.c.neighborhood_id,
    )
    .outerjoin(_PROCESSES, _PROCESSES.c.id == _IDEAS.c.process_id)
    .where(_IDEAS.c.id == bindparam("idea_id"))
    .with_for_update(of=_IDEAS)
)
_UNSUPPORT_ROWS = delete(_IDEA_SUPPORTS).where(
    _IDEA_SUPPORTS.c.idea_id == bindparam("idea_id"),
    _IDEA_SUPPORTS.c.resident_id.in_(same_person(_PERSON)),
)
_UNSUPPORT = Direct(_UNSUPPORT_ROWS)
# the support's row, unless the person (any row of theirs) supports the idea already; the values typed
# as their columns, as `values()` would bind them
_SUPPORT_ROW = select(
    bindparam("idea_id", type_=_IDEA_SUPPORTS.c.idea_id.type),
    bindparam("person", type_=_IDEA_SUPPORTS.c.resident_id.type),
    bindparam("created_at", type_=_IDEA_SUPPORTS.c.created_at.type),
).where(
    ~select(_IDEA_SUPPORTS.c.idea_id)
    .where(
        _IDEA_SUPPORTS.c.idea_id == bindparam("idea_id"),
        _IDEA_SUPPORTS.c.resident_id.in_(same_person(_PERSON)),
    )
    .exists()
)
_SUPPORT_INSERT = {  # on PostgreSQL or not
    on_postgresql: dialect.insert(_IDEA_SUPPORTS)
    .from_select(["idea_id", "resident_id", "created_at"], _SUPPORT_ROW)
    .on_conflict_do_nothing(index_elements=["idea_id", "resident_id"])
    for on_postgresql, dialect in ((True, postgresql), (False, sqlite))
}
_SUPPORT = Direct(_SUPPORT_INSERT[False])  # on SQLite; on PostgreSQL with its count (`_CHANGED_AND_COUNTED`)


def _changed_and_counted(change: Any, given: bool) -> Direct:
    """On PostgreSQL, `change` (the insert of the person's support, `given`, or the delete) and the
    idea's supports after it, in one statement: the change as a WITH, the count the supports the
    statement's snapshot holds plus (or minus) the rows it changed, as a WITH's change is not seen by the
    statement's own reads. The idea's row is locked by then (`_TO_SUPPORT`), so no other support of it
    comes between."""
    changed = change.returning(_IDEA_SUPPORTS.c.idea_id).cte("changed")
    held = select(func.count()).where(_IDEA_SUPPORTS.c.idea_id == bindparam("idea_id")).scalar_subquery()
    rows = select(func.count()).select_from(changed).scalar_subquery()
    return Direct(select(held + rows if given else held - rows))


_CHANGED_AND_COUNTED = {  # by whether the support is given
    True: _changed_and_counted(_SUPPORT_INSERT[True], True),
    False: _changed_and_counted(_UNSUPPORT_ROWS, False),
}


async def set_support(
    session: AsyncSession, idea_id: int, resident: Resident, given: bool
) -> tuple[bool, int]:
    """Give the person's support to a published idea, or take it back. Returns (supported now, count);
    see `set_support_of`."""
    done = await set_support_of(session, idea_id, resident, given)
    return done.supported, done.supports


async def set_support_of(session: AsyncSession, idea_id: int, resident: Resident, given: bool) -> Supported:
    """Give the person's support to a published idea (`given`), or take it back; the idea comes back
    with its card's places.

    What the person asked for, whatever is stored: the card's button says which it does (Support, or
    that they support it and may take it back), so a press that comes twice (a double tap, or the same
    card pressed again before its edit arrived) does it once, however long the first took. Giving a
    support already given, or taking back one that is not, changes nothing.

    One support per person, not per account: a support stays a row of (idea, resident row), and the
    person is every row sharing their identity (`residents.same_person`). A support given before the
    person deleted their account stays on the anonymous row and still counts as theirs: the idea shows
    as supported, and taking it back takes that support back. No identity column on `idea_supports`
    is needed: only one row of a person is live at a time (the Telegram id is unique), so the primary
    key still settles two presses delivered at once (the insert does nothing when the row exists).
    Their own ideas (from any of their accounts) they cannot support.

    The idea's row is locked for the rest of the update (PostgreSQL; SQLite runs one writer at a time),
    so a support cannot land on an idea that a staff member is merging or hiding at the same moment: the
    decision waits for the support, or the support sees the idea's new status and is refused. It is read
    with its places, whether it is the person's own and its process's neighborhood in that one
    statement; the support is then given (unless one of the person's rows has it already: one who comes
    back after deleting their account does not support twice) or taken back, and the count read after
    the change: on PostgreSQL in the change's statement (`_changed_and_counted`), on SQLite in one more
    (on PostgreSQL a count read with the lock could miss a support committed while this update waited
    for it)."""
    row = await _TO_SUPPORT.first(session, {"idea_id": idea_id, "person": resident.id})
    if row is None:
        raise NotFound("no such idea")
    idea = _shown(row)
    is_own, process_id, process_hood = row[_SHOWN_WIDTH:]
    if idea.author_id is not None and is_own:
        raise OwnIdea("authors do not support their own idea")
    if not can_support(idea.status, is_author=False):
        raise NotSupportable(f"the idea is {idea.status}")
    if process_id is None or not rules.takes_part(process_hood, resident.neighborhood_id):
        raise NotSupportable("the process is for another neighborhood")
    params: dict[str, Any] = {"idea_id": idea_id, "person": resident.id}
    if given:
        params["created_at"] = utcnow()
    if session.get_bind().dialect.name == "postgresql":
        supports = await _CHANGED_AND_COUNTED[given].scalar(session, params)
    else:
        await (_SUPPORT if given else _UNSUPPORT).execute(session, params)
        supports = await support_count(session, idea_id)
    return Supported(idea, given, supports)


# --- moderation (bot/services/ideas/moderation.py; it uses the lookups above, hence last) -------------

from bot.services.ideas.moderation import (  # noqa: E402, F401 - the staff side is part of the ideas API
    DECISION_NOTICES,
    NOTICES,
    PUBLISHED_LIST,
    Reviewed,
    approve,
    decidable,
    edit_description,
    edit_title,
    hide,
    make_project,
    merge,
    merge_pair,
    merge_targets,
    next_pending,
    notice_for_author,
    published,
    queue_count,
    queue_position,
    reason_text,
    reject,
    reveal_author,
    reviewed,
    set_theme,
    tell_author,
    unhide,
)
