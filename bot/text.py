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
    """Accent- and case-insensitive form: "KARŞIYAKA", "karsiyaka" and "Karşıyaka" fold alike."""
    text = unicodedata.normalize("NFC", text).translate(_TR_FOLD)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.casefold().split())


def slug(text: str) -> str:
    """A stable ASCII key: "Karşıyaka" → "karsiyaka", "B.Hayrettin Paşa" → "b-hayrettin-pasa"."""
    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")
