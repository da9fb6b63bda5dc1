"""`bot.ui.buttons.button`: a button made once for its label and data, in a bounded cache."""

from __future__ import annotations

import pytest

from bot.ui import buttons
from bot.ui.budgets.callbacks import BallotAction, BallotCb


def test_a_button_is_made_once_for_its_label_and_data(monkeypatch: pytest.MonkeyPatch) -> None:
    data = BallotCb(action=BallotAction.CARD, pot=1, project=12, page=3)
    first = buttons.button("✅ 12 · Gölgelik", data)
    again = BallotCb(action=BallotAction.CARD, pot=1, project=12, page=3)
    assert buttons.button("✅ 12 · Gölgelik", again) is first  # the same button, not another alike
    assert buttons.button("▫️ 12 · Gölgelik", data) is not first
    assert buttons.button("✅ 12 · Gölgelik", again.model_copy(update={"page": 4})) is not first
    assert (first.text, first.callback_data) == ("✅ 12 · Gölgelik", "pb:card:1:12:3")
    packed = buttons.button("✅ 12 · Gölgelik", "pb:card:1:12:3")
    assert (packed.text, packed.callback_data) == (first.text, first.callback_data)
    # bounded: past the limit the oldest buttons go, and a button made again is as before
    monkeypatch.setattr(buttons, "LIMIT", 3)
    monkeypatch.setattr(buttons, "_made", {})
    made = [buttons.button(f"{n}", BallotCb(action=BallotAction.CARD, pot=1, project=n)) for n in range(5)]
    assert len(buttons._made) == 3  # noqa: SLF001
    assert buttons.button("0", BallotCb(action=BallotAction.CARD, pot=1, project=0)) is not made[0]
    assert buttons.button("4", BallotCb(action=BallotAction.CARD, pot=1, project=4)) is made[4]
