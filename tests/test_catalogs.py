"""Every message has a non-empty, non-fuzzy Turkish and English translation with the same placeholders,
and the catalogs hold every string the code marks for translation."""

from __future__ import annotations

import re
import string
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.config import LANGUAGES, PROJECT_ROOT
from bot.i18n import compile_catalogs, money, translate

LOCALES = PROJECT_ROOT / "locales"
TAGS = re.compile(r"</?([a-z-]+)[^>]*>")


def _catalog(lang: str):  # noqa: ANN202
    with (LOCALES / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=lang)


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_translated_with_same_placeholders_and_tags(lang: str) -> None:
    problems = []
    for message in _catalog(lang):
        if not message.id:
            continue
        if not message.string:
            problems.append(f"untranslated: {message.id!r}")
        elif message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        elif _placeholders(message.id) != _placeholders(message.string):
            problems.append(f"placeholders differ: {message.id!r}")
        elif sorted(TAGS.findall(message.id)) != sorted(TAGS.findall(message.string)):
            problems.append(f"HTML tags differ: {message.id!r}")
    assert not problems, "\n".join(problems)


def test_catalogs_hold_every_string_in_the_code(tmp_path: Path) -> None:
    pot = tmp_path / "fresh.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_",
            "-k",
            "__",
            "-k",
            "N_",
            "-k",
            "translate",
            "--no-location",
            "-o",
            str(pot),
            ".",
        ],
        cwd=PROJECT_ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as fh:
        wanted = {m.id for m in read_po(fh) if m.id}
    for lang in LANGUAGES:
        have = {m.id for m in _catalog(lang) if m.id}
        missing = wanted - have
        assert not missing, f"{lang}: run scripts/update-catalogs and translate: {sorted(missing)[:5]}"


def test_catalogs_compile_and_translate() -> None:
    compile_catalogs()
    assert translate("The main menu", "tr") == "Ana menü"
    assert translate("The main menu", "en") == "The main menu"
    assert translate("Language: {language}", "tr", language="X") == "Dil: X"


def test_money_per_locale() -> None:
    assert money(2_150_000, "TRY", "tr") == "₺2.150.000"
    assert money(2_150_000, "TRY", "en") == "₺2,150,000"
