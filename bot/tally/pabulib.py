"""Read and write Pabulib `.pb` files (pabulib.org/format).

A file has three sections, in order: META (`key;value` rows), PROJECTS and VOTES, each opened by a line
holding only its name and then a header row naming the columns. Fields are separated by `;` and may be
quoted as in CSV. A byte-order mark at the start is allowed, blank lines are skipped, and so are comment
rows whose first field starts with `#`. A malformed file raises `PabulibError` naming the line and field.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from pathlib import Path

from bot.tally.election import (
    POINT_VOTE_TYPES,
    VOTE_TYPES,
    Ballot,
    BallotLimits,
    Election,
    ElectionError,
    LimitError,
    Project,
)
from bot.tally.numbers import Number, format_number, parse_number

SECTIONS = ("meta", "projects", "votes")


class PabulibError(ValueError):
    """A malformed Pabulib file; `line` (1-based) and `field` say where, when known."""

    def __init__(
        self, message: str, line: int | None = None, field: str | None = None, source: str = ""
    ) -> None:
        self.message = message
        self.line = line
        self.field = field
        self.source = source
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.source or "<pabulib>"
        if self.line is not None:
            where += f":{self.line}"
        what = f"field '{self.field}': " if self.field else ""
        return f"{where}: {what}{self.message}"


def read(path: str | os.PathLike[str]) -> Election:
    """Read a `.pb` file."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        text = handle.read()
    return loads(text, source=os.fspath(path))


def write(election: Election, path: str | os.PathLike[str]) -> None:
    """Write an election as a `.pb` file (UTF-8, no byte-order mark, `\\n` line ends)."""
    Path(path).write_text(dumps(election), encoding="utf-8", newline="")


def _rows(text: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";")
    last = 0
    for row in reader:
        start = last + 1
        last = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        if row[0].lstrip().startswith("#"):
            continue
        yield start, [cell.strip() for cell in row]


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.meta: dict[str, str] = {}
        self.meta_lines: dict[str, int] = {}
        self.projects: list[Project] = []
        self.project_columns: tuple[str, ...] = ()
        self.ballots: list[Ballot] = []
        self.vote_columns: tuple[str, ...] = ()
        self.project_ids: set[str] = set()
        self.voter_ids: set[str] = set()
        self.section_lines: dict[str, int] = {}
        self.with_points = False

    def error(self, message: str, line: int | None = None, field: str | None = None) -> PabulibError:
        return PabulibError(message, line, field, self.source)

    def parse(self, text: str) -> Election:
        section = ""
        header: tuple[str, ...] | None = None
        for line, row in self._checked_rows(text):
            if len(row) == 1 and row[0].lower() in SECTIONS:
                section = self._open_section(row[0].lower(), section, line)
                header = None
                continue
            if not section:
                raise self.error("expected the META section first", line)
            if header is None:
                header = self._header(section, row, line)
                continue
            cells = self._fit(row, header, line)
            if section == "meta":
                self._meta_row(cells, line)
            elif section == "projects":
                self._project_row(header, cells, line)
            else:
                self._vote_row(header, cells, line)
        for name in SECTIONS:
            if name not in self.section_lines:
                raise self.error(f"the {name.upper()} section is missing")
        self._check_counts()
        try:
            return Election(
                self.meta, tuple(self.projects), tuple(self.ballots), self.project_columns, self.vote_columns
            )
        except ElectionError as exc:
            raise self.error(str(exc)) from None

    def _checked_rows(self, text: str) -> Iterator[tuple[int, list[str]]]:
        try:
            yield from _rows(text)
        except csv.Error as exc:
            raise self.error(f"unreadable CSV: {exc}") from None

    def _open_section(self, name: str, current: str, line: int) -> str:
        if name in self.section_lines:
            raise self.error(f"the {name.upper()} section appears twice", line)
        expected = SECTIONS[len([s for s in SECTIONS if s in self.section_lines])]
        if name != expected:
            raise self.error(f"expected the {expected.upper()} section, found {name.upper()}", line)
        self.section_lines[name] = line
        if name == "projects":
            self._check_meta()
        return name

    def _header(self, section: str, row: list[str], line: int) -> tuple[str, ...]:
        columns = tuple(cell for cell in row)
        while columns and not columns[-1]:
            columns = columns[:-1]
        if len(set(columns)) != len(columns):
            raise self.error("a column name appears twice in the header", line)
        if "" in columns:
            raise self.error("a column in the header has no name", line)
        if section == "meta" and len(columns) != 2:
            raise self.error("the META header must have two columns (key;value)", line)
        required = {"meta": (), "projects": ("project_id", "cost"), "votes": ("voter_id", "vote")}
        for name in required[section]:
            if name not in columns:
                raise self.error(f"the {section.upper()} header has no '{name}' column", line, name)
        if section == "projects":
            self.project_columns = columns
        elif section == "votes":
            self.with_points = self._vote_type() in POINT_VOTE_TYPES
            if self.with_points and "points" not in columns:
                raise self.error(f"a {self._vote_type()} election needs a 'points' column", line, "points")
            self.vote_columns = columns
        return columns

    def _fit(self, row: list[str], header: tuple[str, ...], line: int) -> list[str]:
        if len(row) > len(header):
            if any(row[len(header) :]):
                raise self.error(f"{len(row)} fields, but the header names {len(header)}", line)
            row = row[: len(header)]
        if len(row) < len(header):
            raise self.error("missing", line, header[len(row)])
        return row

    def _meta_row(self, cells: list[str], line: int) -> None:
        key, value = cells
        if not key:
            raise self.error("empty key", line, "key")
        if key in self.meta:
            raise self.error(f"key {key!r} appears twice", line, key)
        self.meta[key] = value
        self.meta_lines[key] = line

    def _vote_type(self) -> str:
        return self.meta.get("vote_type", "approval").strip().lower()

    def _check_meta(self) -> None:
        header_line = self.section_lines["meta"]
        if "budget" not in self.meta:
            raise self.error("META has no budget", header_line, "budget")
        try:
            budget = parse_number(self.meta["budget"])
        except ValueError as exc:
            raise self.error(str(exc), self.meta_lines["budget"], "budget") from None
        if budget < 0:
            raise self.error("negative budget", self.meta_lines["budget"], "budget")
        if self._vote_type() not in VOTE_TYPES:
            raise self.error(
                f"unknown vote type {self.meta['vote_type']!r} (expected one of {', '.join(VOTE_TYPES)})",
                self.meta_lines["vote_type"],
                "vote_type",
            )
        try:
            BallotLimits.from_meta(self.meta, self._vote_type())
        except LimitError as exc:
            raise self.error(exc.message, self.meta_lines.get(exc.key), exc.key) from None

    def _project_row(self, header: tuple[str, ...], cells: list[str], line: int) -> None:
        values = dict(zip(header, cells, strict=True))
        project_id = values.pop("project_id")
        if not project_id:
            raise self.error("empty project id", line, "project_id")
        if "," in project_id:
            raise self.error("a project id may not contain a comma", line, "project_id")
        if project_id in self.project_ids:
            raise self.error(f"project {project_id!r} appears twice", line, "project_id")
        try:
            cost = parse_number(values.pop("cost"))
        except ValueError as exc:
            raise self.error(str(exc), line, "cost") from None
        if cost < 0:
            raise self.error("negative cost", line, "cost")
        self.project_ids.add(project_id)
        self.projects.append(Project(project_id, cost, values))

    def _vote_row(self, header: tuple[str, ...], cells: list[str], line: int) -> None:
        values = dict(zip(header, cells, strict=True))
        voter_id = values.pop("voter_id")
        if not voter_id:
            raise self.error("empty voter id", line, "voter_id")
        if voter_id in self.voter_ids:
            raise self.error(f"voter {voter_id!r} appears twice", line, "voter_id")
        self.voter_ids.add(voter_id)
        chosen = tuple(filter(None, map(str.strip, values.pop("vote").split(","))))
        if not self.project_ids.issuperset(chosen) or len(set(chosen)) != len(chosen):
            seen: set[str] = set()
            for project_id in chosen:
                if project_id not in self.project_ids:
                    raise self.error(f"unknown project {project_id!r}", line, "vote")
                if project_id in seen:
                    raise self.error(f"project {project_id!r} appears twice in the ballot", line, "vote")
                seen.add(project_id)
        points: tuple[Number, ...] | None = None
        if self.with_points:
            raw = [item.strip() for item in values.pop("points").split(",") if item.strip()]
            if len(raw) != len(chosen):
                raise self.error(f"{len(raw)} points for {len(chosen)} projects", line, "points")
            try:
                points = tuple(parse_number(item) for item in raw)
            except ValueError as exc:
                raise self.error(str(exc), line, "points") from None
        self.ballots.append(Ballot(voter_id, chosen, points, values))

    def _check_counts(self) -> None:
        for key, actual, what in (
            ("num_projects", len(self.projects), "projects"),
            ("num_votes", len(self.ballots), "votes"),
        ):
            if key not in self.meta:
                continue
            try:
                stated = parse_number(self.meta[key])
            except ValueError as exc:
                raise self.error(str(exc), self.meta_lines[key], key) from None
            if stated != actual:
                raise self.error(f"says {stated} but the file has {actual} {what}", self.meta_lines[key], key)


def loads(text: str, source: str = "") -> Election:
    """Parse the text of a `.pb` file; `source` names it in error messages."""
    if text.startswith("\ufeff"):
        text = text[1:]
    return _Parser(source).parse(text)


def dumps(election: Election) -> str:
    """The `.pb` text of an election. Reading it back gives an equal election."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    out.write("META\n")
    writer.writerow(["key", "value"])
    for key, value in election.meta.items():
        writer.writerow([_first(key), value])
    out.write("PROJECTS\n")
    writer.writerow(election.project_columns)
    for project in election.projects:
        row = []
        for column in election.project_columns:
            if column == "project_id":
                if "," in project.id:
                    raise ValueError(f"project id {project.id!r} contains a comma")
                row.append(_first(project.id))
            elif column == "cost":
                row.append(format_number(project.cost))
            else:
                row.append(project.fields.get(column, ""))
        writer.writerow(row)
    out.write("VOTES\n")
    writer.writerow(election.vote_columns)
    for ballot in election.ballots:
        row = []
        for column in election.vote_columns:
            if column == "voter_id":
                row.append(_first(ballot.voter_id))
            elif column == "vote":
                row.append(",".join(ballot.projects))
            elif column == "points":
                row.append(",".join(format_number(p) for p in ballot.points or ()))
            else:
                row.append(ballot.fields.get(column, ""))
        writer.writerow(row)
    return out.getvalue()


def _first(value: str) -> str:
    """A value written in the first column must not read back as a comment."""
    if value.lstrip().startswith("#"):
        raise ValueError(f"{value!r} would read back as a comment")
    return value
