"""Text helpers shared across layers: Turkish-aware folding for search and keys, and the command a
message begins with."""

from __future__ import annotations

import re
import unicodedata

_TR_FOLD = str.maketrans(
    {
        "ı": "i",
        "İ": "i",
        "I": "i",
        "ş": "s",
        "Ş": "s",
        "ğ": "g",
        "Ğ": "g",
        "ü": "u",
        "Ü": "u",
        "ö": "o",
        "Ö": "o",
        "ç": "c",
        "Ç": "c",
        "â": "a",
        "Â": "a",
        "î": "i",
        "Î": "i",
        "û": "u",
        "Û": "u",
    }
)


def fold(text: str) -> str:
    """Accent-, case- and punctuation-insensitive form for search and comparison:
    "KARŞIYAKA", "karsiyaka" and "Karşıyaka" fold alike; "Saint-Léonard" folds to "saint leonard"."""
    text = unicodedata.normalize("NFC", text).translate(_TR_FOLD)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return " ".join(_NON_WORD.sub(" ", text).split())


_NON_WORD = re.compile(r"[\W_]+")


def slug(text: str) -> str:
    """A stable ASCII key: "Karşıyaka" → "karsiyaka", "B.Hayrettin Paşa" → "b-hayrettin-pasa"."""
    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")


def command_of(text: str | None) -> str | None:
    """The command a message's text begins with, without the bot's name or what follows it:
    "/help@MeydanBot now" → "/help"; None for a text that is not a command."""
    return text.split()[0].split("@")[0] if text and text.startswith("/") else None
