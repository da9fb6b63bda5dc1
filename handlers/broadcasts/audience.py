"""The broadcast form's audience steps: whom (each choice with its live recipient count), the district or
neighborhood (typed, whole or in part: several matches are offered as buttons, as onboarding does), the
process whose voters or idea authors, and which of them by language. Every pressed or typed audience
goes through the one predicate, `broadcasts.can_reach` (a coordinator: their own neighborhood only)."""

from __future__ import annotations

from html import escape
from typing import Any

from aiogram.types import InlineKeyboardButton
from aiogram.utils.i18n import gettext as _

from bot.services import broadcasts, geography, outbox, processes
from bot.text import fold
from bot.ui.broadcasts.drafts import (
    ALL,
    AUTHORS,
    CITY,
    DISTRICT,
    HOOD,
    LANGUAGES,
    PLACED,
    VOTERS,
    audience_of,
)
from bot.ui.broadcasts.errors import outside_text
from bot.ui.broadcasts.texts import audience_label, recipients_text
from bot.ui.forms import Answer, Offer, Option
from bot.ui.places import district_match, hood_match, matches_text

FLAGS = {"tr": "🇹🇷", "en": "🇬🇧"}


def _grants(ctx: dict[str, Any]) -> broadcasts.Grants:
    return ctx["viewer"].grants


async def counted(label: str, audience: outbox.Audience, values: dict[str, Any], ctx: dict[str, Any]) -> str:
    found = await broadcasts.count(ctx["session"], audience, values.get("category") or broadcasts.NEWS)
    return f"{label} · {recipients_text(found, ctx['lang'])}"


async def audiences(values: dict[str, Any], ctx: dict[str, Any]) -> list[Option]:
    """Staff: everyone, a district or neighborhood, a language, a process's voters, idea authors; a
    coordinator: their own neighborhood(s) only."""
    session, lang, found = ctx["session"], ctx["lang"], []
    if broadcasts.is_staff(_grants(ctx)):
        found.append(Option(CITY, await counted(_("🌆 Everyone"), outbox.Audience("city"), values, ctx)))
        found += [Option(DISTRICT, _("🏙 A district…")), Option(HOOD, _("🏘 A neighborhood…"))]
        for code in LANGUAGES:
            audience = outbox.Audience("language", lang=code)
            label = f"{FLAGS[code]} " + await audience_label(session, audience, lang)
            found.append(Option(f"lang-{code}", await counted(label, audience, values, ctx)))
        if await broadcasts.voting_processes(session):
            found.append(Option(VOTERS, _("🗳 The voters of a process…")))
        if await broadcasts.idea_processes(session):
            found.append(Option(AUTHORS, _("💡 The authors of ideas…")))
        return found
    for hood_id in broadcasts.coordinated(_grants(ctx)):
        audience = outbox.Audience("neighborhood", neighborhood_id=hood_id)
        label = "🏘 " + await audience_label(session, audience, lang)
        found.append(Option(f"{HOOD}-{hood_id}", await counted(label, audience, values, ctx)))
    return found


def _reached(key: str, ctx: dict[str, Any]) -> bool:
    return broadcasts.can_reach(_grants(ctx), audience_of({"audience": key}))


def reachable(key: str, ctx: dict[str, Any]) -> str:
    """A pressed or typed audience (its place, if it needs one, is checked at the place's step)."""
    if key not in PLACED and not _reached(key, ctx):
        raise Answer(outside_text())
    return key


def place_of(kind: str):  # noqa: ANN201
    """The validator of the district or neighborhood step: a key of that kind the composer may reach."""

    def check(key: str, ctx: dict[str, Any]) -> str:
        if not str(key).startswith(f"{kind}-") or not _reached(str(key), ctx):
            raise Answer(outside_text())
        return str(key)

    return check


def typed_place(kind: str):  # noqa: ANN201
    """A typed name, whole or in part, of a district (`kind` DISTRICT) or a neighborhood, matched as
    onboarding matches (`geography.search_*`): one match is taken, several are offered as buttons."""

    async def typed(text: str, ctx: dict[str, Any]) -> str:
        query, session = " ".join(text.split())[:100], ctx["session"]
        if kind == DISTRICT:
            places: list[Any] = await geography.search_districts(session, query)
        else:
            places = await geography.search_neighborhoods(session, query, None)
        exact = [p for p in places if fold(p.name) == fold(query)]
        places = exact if len(exact) == 1 else places
        if not places:
            problem = _("I found no place called “{query}”. Check the spelling and type it again.")
            raise Answer(problem.format(query=escape(query[:60])))
        keys = [(f"{kind}-{p.id}", p) for p in places if _reached(f"{kind}-{p.id}", ctx)]
        if not keys:
            raise Answer(outside_text())
        if len(keys) == 1:
            return keys[0][0]
        label = district_match if kind == DISTRICT else hood_match
        raise Offer(matches_text(query), [Option(key, label(place)) for key, place in keys])

    return typed


async def no_options(values: dict[str, Any], ctx: dict[str, Any]) -> list[Option]:
    return []


async def voting_processes(values: dict[str, Any], ctx: dict[str, Any]) -> list[Option]:
    found = []
    for process in await broadcasts.voting_processes(ctx["session"]):
        audience = outbox.Audience("city", voters_of=process.id)
        label = escape(processes.name(process, ctx["lang"]))
        found.append(Option(f"p-{process.id}", await counted(label, audience, values, ctx)))
    return found


async def idea_processes(values: dict[str, Any], ctx: dict[str, Any]) -> list[Option]:
    every = await counted(_("All ideas"), outbox.Audience("city", authors=True), values, ctx)
    found = [Option(ALL, every)]
    for process in await broadcasts.idea_processes(ctx["session"]):
        audience = outbox.Audience("city", authors=True, authors_of=process.id)
        label = escape(processes.name(process, ctx["lang"]))
        found.append(Option(f"p-{process.id}", await counted(label, audience, values, ctx)))
    return found


async def readers(values: dict[str, Any], ctx: dict[str, Any]) -> list[Option]:
    """All of the voters or authors, or those reading one language, each with its count."""
    whole = audience_of({**values, "reader": ALL})
    found = [Option(ALL, await counted(_("👥 All of them"), whole, values, ctx))]
    for code in LANGUAGES:
        language = outbox.Audience("language", lang=code)
        label = f"{FLAGS[code]} " + await audience_label(ctx["session"], language, ctx["lang"])
        found.append(Option(code, await counted(label, audience_of({**values, "reader": code}), values, ctx)))
    return found


async def reach(values: dict[str, Any], ctx: dict[str, Any]) -> tuple[str, list[list[InlineKeyboardButton]]]:
    """The interlude once the audience is known: who, and how many."""
    audience = audience_of(values)
    label = await audience_label(ctx["session"], audience, ctx["lang"])
    return await counted(f"👥 {label}", audience, values, ctx), []
