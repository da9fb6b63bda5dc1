"""Text helpers shared across layers: Turkish-aware folding for search and keys."""

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
