"""The Method of Equal Shares' options, apart from `bot.tally.mes` so that naming them does not import
numpy (about 12 MiB): a bot process imports the tally package at start and counts a pot rarely, in the
worker; `mes` and numpy are imported by the first count that uses the method."""

from __future__ import annotations

from enum import StrEnum


class Utility(StrEnum):
    COST = "cost"
    CARDINALITY = "cardinality"


class Completion(StrEnum):
    ADD1 = "add1"
    ADD1_EXHAUSTIVE = "add1-exhaustive"
    NONE = "none"
