from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.text import command_of, fold, slug


def test_fold_is_accent_and_case_insensitive() -> None:
    assert fold("KARŞIYAKA") == fold("karsiyaka") == fold("Karşıyaka") == "karsiyaka"
    assert fold("İZMİR") == fold("izmir")
    assert fold("  Güzel   Bahçe ") == "guzel bahce"
    assert fold("Saint-Léonard") == "saint leonard" and fold("B.Hayrettin Paşa") == "b hayrettin pasa"
    assert fold("Çiğli") == "cigli"


def test_slug() -> None:
    assert slug("B.Hayrettin Paşa") == "b-hayrettin-pasa"
    assert slug("Üçkuyular") == "uckuyular"


@given(st.text())
def test_fold_is_idempotent(value: str) -> None:
    assert fold(fold(value)) == fold(value)


def test_the_command_a_message_begins_with() -> None:
    assert command_of("/help") == "/help"
    assert command_of("/help@MeydanBot") == "/help"
    assert command_of("/ideas   and more") == "/ideas"
    assert command_of("help") is None and command_of("") is None and command_of(None) is None
    assert command_of("/") == "/"
