"""The election as plain data: projects, ballots, the META section and the ballot limits it states."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

from bot.tally.numbers import Number, format_number, parse_number

VOTE_TYPES = ("approval", "choose-1", "cumulative", "scoring", "ordinal")
POINT_VOTE_TYPES = ("cumulative", "scoring")


@dataclass(frozen=True)
class Project:
    """A project: its id, its cost in currency units, and every other column of the file as text."""

    id: str
    cost: Number
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.fields.get("name", "")


@dataclass(frozen=True)
class Ballot:
    """One voter's ballot: the projects in the order written and, for point votes, the points given."""

    voter_id: str
    projects: tuple[str, ...]
    points: tuple[Number, ...] | None = None
    fields: dict[str, str] = field(default_factory=dict)

    def weights(self) -> dict[str, Number]:
        """Project id -> points (1 for each project of an approval or ordinal ballot)."""
        if self.points is None:
            return dict.fromkeys(self.projects, 1)
        return dict(zip(self.projects, self.points, strict=True))


class Limit(StrEnum):
    """Which ballot limit a ballot breaks."""

    MIN_LENGTH = "min_length"
    MAX_LENGTH = "max_length"
    MIN_SUM_COST = "min_sum_cost"
    MAX_SUM_COST = "max_sum_cost"
    MIN_POINTS = "min_points"
    MAX_POINTS = "max_points"
    MIN_SUM_POINTS = "min_sum_points"
    MAX_SUM_POINTS = "max_sum_points"


@dataclass(frozen=True)
class LimitViolation:
    """A broken limit: the limit, its value in META and the ballot's value (for points: the offending one)."""

    limit: Limit
    allowed: Number
    actual: Number
    project_id: str | None = None


@dataclass(frozen=True)
class BallotLimits:
    """The limits META sets on a ballot. `None` means no limit."""

    min_length: int | None = None
    max_length: int | None = None
    min_sum_cost: Number | None = None
    max_sum_cost: Number | None = None
    min_points: Number | None = None
    max_points: Number | None = None
    min_sum_points: Number | None = None
    max_sum_points: Number | None = None

    @classmethod
    def from_meta(cls, meta: Mapping[str, str], vote_type: str = "approval") -> BallotLimits:
        """Read the limits from META; raises KeyError-like `LimitError` naming the bad key."""
        values: dict[str, Number | None] = {}
        for limit in Limit:
            raw = meta.get(limit.value)
            if raw is None or raw.strip() == "" or raw.strip().lower() == "none":
                values[limit.value] = None
                continue
            try:
                number = parse_number(raw)
            except ValueError:
                raise LimitError(limit.value, f"not a number: {raw!r}") from None
            if limit in (Limit.MIN_LENGTH, Limit.MAX_LENGTH) and not isinstance(number, int):
                raise LimitError(limit.value, f"not a whole number: {raw!r}")
            values[limit.value] = number
        if vote_type == "choose-1":
            max_length = values["max_length"]
            values["max_length"] = 1 if max_length is None else min(int(max_length), 1)
        return cls(**values)  # type: ignore[arg-type]

    def violations(self, ballot: Ballot, costs: Mapping[str, Number]) -> list[LimitViolation]:
        """Every limit this ballot breaks (an empty list for a valid ballot)."""
        found: list[LimitViolation] = []
        length = len(ballot.projects)
        if self.min_length is not None and length < self.min_length:
            found.append(LimitViolation(Limit.MIN_LENGTH, self.min_length, length))
        if self.max_length is not None and length > self.max_length:
            found.append(LimitViolation(Limit.MAX_LENGTH, self.max_length, length))
        total_cost = sum((costs[p] for p in ballot.projects), 0)
        if self.min_sum_cost is not None and total_cost < self.min_sum_cost:
            found.append(LimitViolation(Limit.MIN_SUM_COST, self.min_sum_cost, total_cost))
        if self.max_sum_cost is not None and total_cost > self.max_sum_cost:
            found.append(LimitViolation(Limit.MAX_SUM_COST, self.max_sum_cost, total_cost))
        if ballot.points is not None:
            for project_id, points in zip(ballot.projects, ballot.points, strict=True):
                if self.min_points is not None and points < self.min_points:
                    found.append(LimitViolation(Limit.MIN_POINTS, self.min_points, points, project_id))
                if self.max_points is not None and points > self.max_points:
                    found.append(LimitViolation(Limit.MAX_POINTS, self.max_points, points, project_id))
            total_points = sum(ballot.points, 0)
            if self.min_sum_points is not None and total_points < self.min_sum_points:
                found.append(LimitViolation(Limit.MIN_SUM_POINTS, self.min_sum_points, total_points))
            if self.max_sum_points is not None and total_points > self.max_sum_points:
                found.append(LimitViolation(Limit.MAX_SUM_POINTS, self.max_sum_points, total_points))
        return found


class LimitError(ValueError):
    """A ballot limit in META that cannot be read."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


class ElectionError(ValueError):
    """An election that does not hold together (unknown project in a ballot, missing budget...)."""


@dataclass(frozen=True)
class Election:
    """A participatory-budgeting election, as a Pabulib file holds it.

    `meta` keeps every META key in file order, as text; `project_columns` and `vote_columns` keep the
    column order of the PROJECTS and VOTES sections, so that writing the election back loses nothing.
    Constructing an Election checks that it holds together and raises `ElectionError` otherwise.
    """

    meta: dict[str, str]
    projects: tuple[Project, ...]
    ballots: tuple[Ballot, ...]
    project_columns: tuple[str, ...] = ()
    vote_columns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.project_columns:
            object.__setattr__(self, "project_columns", _project_columns(self.projects))
        if not self.vote_columns:
            object.__setattr__(self, "vote_columns", _vote_columns(self.ballots, self.vote_type))
        # every column is a field of every row, as it is once written and read back
        extra = [c for c in self.project_columns if c not in ("project_id", "cost")]
        if any(len(p.fields) != len(extra) for p in self.projects):
            projects = tuple(
                Project(p.id, p.cost, {c: p.fields.get(c, "") for c in extra}) for p in self.projects
            )
            object.__setattr__(self, "projects", projects)
        extra = [c for c in self.vote_columns if c not in ("voter_id", "vote", "points")]
        if any(len(b.fields) != len(extra) for b in self.ballots):
            ballots = tuple(
                Ballot(b.voter_id, b.projects, b.points, {c: b.fields.get(c, "") for c in extra})
                for b in self.ballots
            )
            object.__setattr__(self, "ballots", ballots)
        _check(self)

    @classmethod
    def build(
        cls,
        projects: Iterable[Project],
        ballots: Iterable[Ballot],
        budget: Number,
        vote_type: str = "approval",
        meta: Mapping[str, str] | None = None,
    ) -> Election:
        """An election made from plain values; META gets the budget, vote type and counts."""
        projects = tuple(projects)
        ballots = tuple(ballots)
        full_meta = {"num_projects": str(len(projects)), "num_votes": str(len(ballots))}
        full_meta["budget"] = format_number(budget)
        full_meta["vote_type"] = vote_type
        for key, value in (meta or {}).items():
            if key not in full_meta:
                full_meta[key] = value
        return cls(full_meta, projects, ballots)

    @cached_property
    def budget(self) -> Number:
        return parse_number(self.meta["budget"])

    @cached_property
    def vote_type(self) -> str:
        return self.meta.get("vote_type", "approval").strip().lower()

    @cached_property
    def limits(self) -> BallotLimits:
        return BallotLimits.from_meta(self.meta, self.vote_type)

    @cached_property
    def project_index(self) -> dict[str, Project]:
        return {p.id: p for p in self.projects}

    @cached_property
    def costs(self) -> dict[str, Number]:
        return {p.id: p.cost for p in self.projects}

    @cached_property
    def votes(self) -> dict[str, int]:
        """Project id -> number of ballots that include it."""
        counts = dict.fromkeys(self.project_index, 0)
        for ballot in self.ballots:
            for project_id in ballot.projects:
                counts[project_id] += 1
        return counts

    @cached_property
    def scores(self) -> dict[str, Number]:
        """Project id -> its score: votes for approval and ordinal ballots, total points for point ballots."""
        if self.vote_type not in POINT_VOTE_TYPES:
            return dict(self.votes)
        totals: dict[str, Number] = dict.fromkeys(self.project_index, 0)
        for ballot in self.ballots:
            for project_id, points in zip(ballot.projects, ballot.points or (), strict=True):
                totals[project_id] += points
        return totals

    @cached_property
    def official_winners(self) -> frozenset[str] | None:
        """The projects the file marks `selected` = 1, or None when the file has no `selected` column."""
        if "selected" not in self.project_columns:
            return None
        chosen = set()
        for project in self.projects:
            try:
                if parse_number(project.fields.get("selected", "0")) == 1:
                    chosen.add(project.id)
            except ValueError:
                continue
        return frozenset(chosen)

    def limit_violations(self) -> dict[str, list[LimitViolation]]:
        """Voter id -> the limits their ballot breaks, for the ballots that break any."""
        found = {}
        for ballot in self.ballots:
            broken = self.limits.violations(ballot, self.costs)
            if broken:
                found[ballot.voter_id] = broken
        return found


def _project_columns(projects: Sequence[Project]) -> tuple[str, ...]:
    columns = ["project_id", "cost"]
    for project in projects:
        for key in project.fields:
            if key not in columns:
                columns.append(key)
    return tuple(columns)


def _vote_columns(ballots: Sequence[Ballot], vote_type: str) -> tuple[str, ...]:
    columns = ["voter_id", "vote"]
    if vote_type in POINT_VOTE_TYPES:
        columns.append("points")
    for ballot in ballots:
        for key in ballot.fields:
            if key not in columns:
                columns.append(key)
    return tuple(columns)


def _check(election: Election) -> None:
    if "budget" not in election.meta:
        raise ElectionError("META has no budget")
    try:
        budget = election.budget
    except ValueError as exc:
        raise ElectionError(f"budget: {exc}") from None
    if budget < 0:
        raise ElectionError("budget: negative")
    if election.vote_type not in VOTE_TYPES:
        raise ElectionError(
            f"vote_type: unknown {election.vote_type!r} (expected one of {', '.join(VOTE_TYPES)})"
        )
    try:
        election.limits  # noqa: B018
    except LimitError as exc:
        raise ElectionError(str(exc)) from None
    known: set[str] = set()
    for project in election.projects:
        if project.id in known:
            raise ElectionError(f"project {project.id!r} appears twice")
        if project.cost < 0:
            raise ElectionError(f"project {project.id!r}: negative cost")
        known.add(project.id)
    with_points = election.vote_type in POINT_VOTE_TYPES
    for ballot in election.ballots:
        if len(set(ballot.projects)) != len(ballot.projects):
            raise ElectionError(f"voter {ballot.voter_id!r}: a project appears twice in the ballot")
        unknown = [p for p in ballot.projects if p not in known]
        if unknown:
            raise ElectionError(f"voter {ballot.voter_id!r}: unknown project {unknown[0]!r}")
        if with_points:
            if ballot.points is None or len(ballot.points) != len(ballot.projects):
                raise ElectionError(f"voter {ballot.voter_id!r}: needs one number of points per project")
        elif ballot.points is not None:
            raise ElectionError(f"voter {ballot.voter_id!r}: points given in a {election.vote_type} election")
