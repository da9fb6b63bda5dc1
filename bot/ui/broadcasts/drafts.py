"""A broadcast form's draft (the FSM values) read as what the service takes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.services import broadcasts, outbox

SAME, NOW, CITY, DISTRICT, HOOD = "=", "now", "city", "district", "hood"


def audience_of(values: dict[str, Any]) -> outbox.Audience:
    """The audience a draft names: "city", "lang-<xx>", "hood-<id>" or "district-<id>"."""
    key = values.get("place") if values.get("audience") in (DISTRICT, HOOD) else values.get("audience")
    kind, _sep, ident = str(key or "").partition("-")
    if kind == "lang":
        return outbox.Audience("language", lang=ident)
    if kind == HOOD and ident.isdigit():
        return outbox.Audience("neighborhood", neighborhood_id=int(ident))
    if kind == DISTRICT and ident.isdigit():
        return outbox.Audience("district", district_id=int(ident))
    return outbox.Audience("city")


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
