"""Why a project won or lost, for every reason the tally gives (greedy, top-k, threshold and the Method of
Equal Shares with exact fractions), in both languages: money in the language's format, never a crash."""

from __future__ import annotations

from fractions import Fraction

import pytest

from bot.i18n import make_i18n
from bot.services.budgets import rules
from bot.tally import Explanation, Reason
from bot.ui.results.cards import _why
from storage.models import BudgetPot

CASES = [
    (rules.GREEDY, Reason.SELECTED, {"rank": 1, "votes": 8, "cost": 3_500_000, "available": 5_000_000, "remaining": 1_500_000}),
    (rules.GREEDY, Reason.DID_NOT_FIT, {"rank": 3, "votes": 5, "cost": 2_150_000, "available": 600_000}),
    (rules.TOP_K, Reason.NOT_REACHED, {"rank": 4, "votes": 2, "cost": 10, "stopped_at": ""}),
    (rules.GREEDY, Reason.NOT_REACHED, {"rank": 4, "votes": 2, "cost": 10, "stopped_at": "3"}),
    (rules.GREEDY_THRESHOLD, Reason.BELOW_THRESHOLD, {"score": 2, "votes": 2, "threshold": 5}),
    (rules.GREEDY, Reason.NO_SUPPORT, {"cost": 100_000}),
    (rules.MES, Reason.MES_SELECTED, {"round": 2, "rounds": 5, "votes": 3, "cost": 900_000, "price": Fraction(900_001, 3)}),
    (rules.MES, Reason.MES_SELECTED, {"round": 0, "rounds": 5, "votes": 3, "cost": 0, "price": 0}),
    (
        rules.MES,
        Reason.MES_UNAFFORDABLE,
        {"votes": 2, "cost": 2_150_000, "money_left": Fraction(1_000_001, 2), "shortfall": Fraction(3_299_999, 2),
         "spent": 900_000, "paid_to": (("3", 900_000),)},
    ),
]  # fmt: skip


@pytest.mark.parametrize("lang, thousands", [("en", "2,150,000"), ("tr", "2.150.000")])
def test_every_reason_reads_in_both_languages(lang: str, thousands: str) -> None:
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale(lang):
        texts = [
            _why(Explanation("p", reason in (Reason.SELECTED, Reason.MES_SELECTED), reason, params), BudgetPot(rule=rule, rule_param=3), "TRY", lang)
            for rule, reason, params in CASES
        ]  # fmt: skip
    assert all(texts) and len(set(texts)) == len(texts)
    assert f"₺{thousands}" in texts[1] and "₺600" in texts[1]
    assert "3 most voted" in texts[2] or lang == "tr"  # the Turkish catalog has no translation yet
    assert f"₺{thousands}" in texts[-1] and "₺500" in texts[-1]  # a fraction of a lira, rounded
