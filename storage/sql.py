"""SQL written differently on each database the bot runs on, as SQLAlchemy constructs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class json_rows(FunctionElement):  # noqa: N801 - named as SQL functions are
    """An aggregate: the rows of its arguments (a subquery's columns) as one JSON array of arrays, each
    row one array of its values, a JSON column's value as itself (not a string of it). Over no rows,
    NULL on PostgreSQL and an empty array on SQLite. The order of the arrays is the order the rows
    come in, which SQL does not promise even from an ordered subquery: sort them where order matters."""

    type = JSON()
    name = "json_rows"
    inherit_cache = True


def _arguments(element: json_rows, compiler: Any, as_json: str, **kw: Any) -> str:
    """The arguments compiled, each JSON column's within `as_json(…)` where that is given."""
    return ", ".join(
        f"{as_json}({compiler.process(argument, **kw)})" if as_json and isinstance(argument.type, JSON)
        else compiler.process(argument, **kw)
        for argument in element.clauses
    )  # fmt: skip


@compiles(json_rows, "postgresql")
def _on_postgresql(element: json_rows, compiler: Any, **kw: Any) -> str:
    return f"json_agg(json_build_array({_arguments(element, compiler, '', **kw)}))"


@compiles(json_rows, "sqlite")
def _on_sqlite(element: json_rows, compiler: Any, **kw: Any) -> str:
    # a JSON column is text on SQLite: json() makes it JSON inside the array, not a string
    return f"json_group_array(json_array({_arguments(element, compiler, 'json', **kw)}))"
