"""A broadcast form's draft (the FSM values) read as what the service takes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.services import broadcasts, outbox

SAME, NOW, CITY, DISTRICT, HOOD = "=", "now", "city", "district", "hood"
VOTERS, AUTHORS, ALL = "voters", "authors", "all"  # a process's voters, idea authors; all of them
LANGUAGES = ("tr", "en")
NARROWED = (VOTERS, AUTHORS)  # audiences asked which process, then which readers
PLACED = (DISTRICT, HOOD)  # audiences asked which place


def number(key: Any, kind: str) -> int:
    """The id in a key such as "hood-12" or "p-3" (0 for anything else, which names nothing)."""
    found, _sep, ident = str(key or "").partition("-")
    return int(ident) if found == kind and ident.isascii() and ident.isdigit() and len(ident) < 12 else 0


def audience_of(values: dict[str, Any]) -> outbox.Audience:
    """The audience a draft names: "city", "lang-<xx>", "hood-<id>" or "district-<id>", or "district" /
    "hood" with the place's step ("district-<id>", "hood-<id>"), or "voters" / "authors" with the
    process's step ("p-<id>", or "all" ideas) and the readers' step ("all" or a language)."""
    key = values.get("audience")
    if key in PLACED:
        key = values.get("district" if key == DISTRICT else "neighborhood")
    if key in NARROWED:
        reader = values.get("reader")
        lang = reader if reader in LANGUAGES else None
        if key == VOTERS:
            return outbox.Audience("city", lang=lang, voters_of=number(values.get("voted_in"), "p"))
        chosen = values.get("ideas_in")
        process = None if chosen == ALL else number(chosen, "p")
        return outbox.Audience("city", lang=lang, authors=True, authors_of=process)
    kind, _sep, ident = str(key or "").partition("-")
    if kind == "lang":
        return outbox.Audience("language", lang=ident)
    if kind == HOOD:
        return outbox.Audience("neighborhood", neighborhood_id=number(key, HOOD))
    if kind == DISTRICT:
        return outbox.Audience("district", district_id=number(key, DISTRICT))
    return outbox.Audience("city") if key == CITY else outbox.Audience("neighborhood", neighborhood_id=0)


def draft_of(values: dict[str, Any]) -> broadcasts.Draft:
    english = values["text_tr"] if values.get("text_en") == SAME else values["text_en"]
    at = values.get("when")
    return broadcasts.Draft(
        texts={"tr": values["text_tr"], "en": english},
        audience=audience_of(values),
        category=values.get("category") or broadcasts.NEWS,
        photo=values.get("photo"),
        flow=values.get("button"),
        send_at=None if at in (None, NOW) else datetime.fromisoformat(at),
    )
