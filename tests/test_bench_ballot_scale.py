"""The helpers of bench/ballot_scale.py that the figures rest on: receipts written in bulk, the action each
ballot button is filed under, and the statements' labels."""

from __future__ import annotations

from bench.ballot_scale import action_kind, receipt, statement_label
from bot.services.budgets.rules import RECEIPT_ALPHABET, RECEIPT_LENGTH
from bot.ui.budgets.callbacks import BallotAction as A
from bot.ui.budgets.callbacks import BallotCb


def test_bulk_receipts_are_distinct_and_shaped_like_the_bots() -> None:
    made = [receipt(n) for n in range(1, 200_001)]
    assert len(set(made)) == len(made)
    assert all(len(r) == RECEIPT_LENGTH and set(r) <= set(RECEIPT_ALPHABET) for r in made[:1000])


def test_pot_pages_are_filed_by_what_came_before() -> None:
    page = BallotCb(action=A.POT, pot=1, page=2).pack()
    assert action_kind(page, "/budget") == "open pot"
    assert action_kind(page, "toggle") == "back"
    assert action_kind(page, "card") == "back"
    assert action_kind(page, "next page") == "next page"
    assert action_kind(page, "open pot") == "next page"
    assert action_kind(BallotCb(action=A.ADD, pot=1, project=5).pack(), "card") == "toggle"
    assert action_kind(BallotCb(action=A.CONFIRM, pot=1).pack(), "review") == "confirm"


def test_statement_labels_elide_columns_and_parameter_lists() -> None:
    sqlite = "SELECT a.x, a.y\nFROM a WHERE a.id IN (?, ?, ?) AND a.k = ?"
    assert statement_label(sqlite) == "SELECT … FROM a WHERE a.id IN (…) AND a.k = ?"
    postgres = "SELECT a.x FROM a WHERE a.id IN ($1::INTEGER, $2::INTEGER)"
    assert statement_label(postgres) == "SELECT … FROM a WHERE a.id IN (…)"
    assert statement_label("INSERT INTO t (a, b) VALUES (?, ?)") == "INSERT INTO t (a, b) VALUES (…)"
    assert len(statement_label("SELECT x FROM " + "t " * 200)) == 150
