"""The broadcast form, declared: the text in Turkish → in English (or the same) → the category → the
audience (each choice with its live recipient count) → the district or neighborhood, typed → a photo →
a button opening a flow → now or at a time → preview → Send. A coordinator's audience step offers only
their own neighborhood; the service checks the audience again at Send (`broadcasts.check`)."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.features import categories, menu_entries
from bot.i18n import N_, translate, when
from bot.services import broadcasts, geography, outbox
from bot.text import fold
from bot.ui import dates
from bot.ui.broadcasts.callbacks import BroadcastAction, BroadcastCb
from bot.ui.broadcasts.drafts import CITY, DISTRICT, HOOD, NOW, SAME, audience_of, draft_of
from bot.ui.broadcasts.errors import outside_text
from bot.ui.broadcasts.texts import audience_label, category_label, flow_label, recipients_text
from bot.ui.forms import SKIPPED, Answer, Closing, Form, Option, Step

AS_TEXT = N_("Please type your answer as text, or send /cancel to stop.")




def _grants(ctx: dict[str, Any]) -> broadcasts.Grants:
    return ctx["viewer"].grants


def _text(text: str, ctx: dict[str, Any]) -> str:
    cleaned = text.strip()
    if not cleaned or len(cleaned) > broadcasts.TEXT_MAX:
        raise Answer(_("Please write a message of at most {max} characters.").format(max=broadcasts.TEXT_MAX))
    return escape(cleaned)


def _english(answer: str, ctx: dict[str, Any]) -> str:
    return SAME if answer == SAME else _text(answer, ctx)


async def _as_is(text: str, ctx: dict[str, Any]) -> str:
    return text


async def _counted(label: str, audience: outbox.Audience, values: dict[str, Any], ctx: dict[str, Any]) -> str:
    found = await broadcasts.count(ctx["session"], audience, values.get("category") or broadcasts.NEWS)
    return f"{label} · {recipients_text(found, ctx['lang'])}"


async def _audiences(values: dict[str, Any], ctx: dict[str, Any]) -> list[Option]:
    session, lang, found = ctx["session"], ctx["lang"], []
    if broadcasts.is_staff(_grants(ctx)):
        found.append(Option(CITY, await _counted(_("🌆 Everyone"), outbox.Audience("city"), values, ctx)))
        found += [Option(DISTRICT, _("🏙 A district…")), Option(HOOD, _("🏘 A neighborhood…"))]
        for code, flag in (("tr", "🇹🇷"), ("en", "🇬🇧")):
            audience = outbox.Audience("language", lang=code)
            label = f"{flag} " + await audience_label(session, audience, lang)
            found.append(Option(f"lang-{code}", await _counted(label, audience, values, ctx)))
        return found
    for hood_id in broadcasts.coordinated(_grants(ctx)):
        audience = outbox.Audience("neighborhood", neighborhood_id=hood_id)
        label = "🏘 " + await audience_label(session, audience, lang)
        found.append(Option(f"{HOOD}-{hood_id}", await _counted(label, audience, values, ctx)))
    return found


def _reachable(key: str, ctx: dict[str, Any]) -> str:
    """The one predicate, on a pressed or typed audience (a coordinator's other neighborhood is refused)."""
    audience = audience_of({"audience": key})
    named = key.startswith(("lang-", f"{HOOD}-", f"{DISTRICT}-")) or key == CITY
    if named and not broadcasts.can_reach(_grants(ctx), audience):
        raise Answer(outside_text())
    return key


async def _place(text: str, ctx: dict[str, Any]) -> str:
    """A typed district (for a district audience) or neighborhood: the one it names, else why not."""
    typed, session = " ".join(text.split())[:100], ctx["session"]
    shown = escape(typed[:60])
    wants_district = ctx.get("draft", {}).get("audience") == DISTRICT
    if wants_district:
        places = await geography.search_districts(session, typed)
        kind = DISTRICT
    else:
        places = await geography.search_neighborhoods(session, typed, None)
        kind = HOOD
    exact = [p for p in places if fold(p.name) == fold(typed)]
    places = exact if len(places) > 1 and len(exact) == 1 else places
    if len(places) != 1:
        names = escape(", ".join(p.name for p in places[:8]))
        problem = _("Several places match “{query}”: {names}. Please type the full name.")
        raise Answer(
            problem.format(query=shown, names=names)
            if places
            else _("I found no place called “{query}”. Check the spelling and type it again.").format(
                query=shown
            )
        )
    return _reachable(f"{kind}-{places[0].id}", ctx)


async def _typed_audience(text: str, ctx: dict[str, Any]) -> str:
    """A neighborhood typed at the audience step (a coordinator may type theirs)."""
    return await _place(text, {**ctx, "draft": {"audience": HOOD}})


async def _reach(values: dict[str, Any], ctx: dict[str, Any]) -> tuple[str, list[list[InlineKeyboardButton]]]:
    audience = audience_of(values)
    label = await audience_label(ctx["session"], audience, ctx["lang"])
    return await _counted(f"👥 {label}", audience, values, ctx), []


def _needs_place(values: dict[str, Any]) -> bool:
    return values.get("audience") in (DISTRICT, HOOD)


async def _categories(values: dict[str, Any], ctx: dict[str, Any]) -> list[Option]:
    active = {c.key for c in categories()}
    return [Option(k, category_label(k, ctx["lang"])) for k in broadcasts.CATEGORIES if k in active]


async def _flows(values: dict[str, Any], ctx: dict[str, Any]) -> list[Option]:
    active = {e.key for e in menu_entries()}
    return [Option(f, flow_label(f, ctx["lang"])) for f in broadcasts.FLOWS if f in active]


async def _typed_skip(text: str, ctx: dict[str, Any]) -> object:
    return SKIPPED if fold(text) in {fold(_("Skip")), "skip", "atla"} else None


async def _moments(values: dict[str, Any], ctx: dict[str, Any]) -> list[Option]:
    return [Option(NOW, _("📨 Now"))]


def _moment(answer: str, ctx: dict[str, Any]) -> str:
    if answer == NOW:
        return NOW
    moment = dates.moment(answer, ctx)
    if moment <= datetime.now(moment.tzinfo):
        raise Answer(_("That moment has already passed. Please type a time in the future."))
    return moment.isoformat()


async def _preview(values: dict[str, Any], ctx: dict[str, Any]) -> tuple[str, str | None]:
    draft, lang, session = draft_of(values), ctx["lang"], ctx["session"]
    found = await broadcasts.count(session, draft.audience, draft.category)
    at = _("now") if draft.send_at is None else when(draft.send_at, ctx["city"].zone, lang)
    lines = [
        _("📣 <b>New broadcast</b>"),
        "🇹🇷 " + translate(N_("In Turkish:"), lang) + "\n" + draft.texts["tr"],
        "🇬🇧 " + translate(N_("In English:"), lang) + "\n" + draft.texts["en"],
        _("👥 To: {audience} · {count}").format(
            audience=await audience_label(session, draft.audience, lang), count=recipients_text(found, lang)
        ),
        _("🔔 Category: {category}").format(category=category_label(draft.category, lang)),
        _("🕒 When: {when}").format(when=at),
    ]
    if draft.flow:
        lines.append(_("🔘 Button: {label}").format(label=flow_label(draft.flow, lang)))
    return "\n\n".join(lines), draft.photo


def _after() -> InlineKeyboardMarkup:
    back = BroadcastCb(action=BroadcastAction.HOME).pack()
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=_("📣 Broadcasts"), callback_data=back)]]
    )


async def _submit(values: dict[str, Any], query: CallbackQuery, ctx: dict[str, Any]) -> Closing:
    draft, viewer = draft_of(values), ctx["viewer"]
    broadcast, found = await broadcasts.compose(ctx["session"], viewer.grants, viewer.resident.id, draft)
    count = recipients_text(found, ctx["lang"])
    if broadcast.status == broadcasts.SCHEDULED:
        at = when(broadcast.send_at, ctx["city"].zone, ctx["lang"])
        text = _("🕒 Broadcast #{id} is scheduled for {when} ({count} today).").format(
            id=broadcast.id, when=at, count=count
        )
        return Closing(text, _after(), toast=_("Scheduled."))
    text = _("📨 Broadcast #{id} is on its way to {count}. Its progress follows below.").format(
        id=broadcast.id, count=count
    )
    return Closing(text, _after(), toast=_("Sent."))


BROADCAST_FORM = Form(
    "broadcast",
    [
        Step(
            "text_tr", N_("Write the message in Turkish."), validate=_text, hint=AS_TEXT, label=N_("🇹🇷 Text")
        ),
        Step(
            "text_en",
            N_("Now write it in English, or press the button to send the same text to both."),
            kind="choice",
            options=lambda values, ctx: _same(),
            typed=_as_is,
            validate=_english,
            label=N_("🇬🇧 Text"),
        ),
        Step(
            "category",
            N_("Which kind of message is it? Residents who turned this kind off will not get it."),
            kind="choice",
            options=_categories,
            label=N_("🔔 Category"),
        ),
        Step(
            "audience",
            N_("Who should get it?"),
            kind="choice",
            options=_audiences,
            typed=_typed_audience,
            validate=_reachable,
            after=lambda values, ctx: _reach(values, ctx) if not _needs_place(values) else _none(),
            label=N_("👥 Audience"),
        ),
        Step(
            "place",
            N_("Type its name."),
            validate=_place,
            when=_needs_place,
            hint=AS_TEXT,
            after=_reach,
            label=N_("📍 Place"),
        ),
        Step(
            "photo",
            N_("Send a photo to go with it, or skip."),
            kind="photo",
            optional=True,
            typed=_typed_skip,
            remove=N_("Remove the photo"),
            label=N_("🖼 Photo"),
        ),
        Step(
            "button",
            N_("Add a button that opens something in the bot? Choose one, or skip."),
            kind="choice",
            optional=True,
            options=_flows,
            label=N_("🔘 Button"),
        ),
        Step(
            "when",
            dates.asking(N_("When should it go? Press Now, or type a date and time.")),
            kind="choice",
            options=_moments,
            typed=_as_is,
            validate=_moment,
            label=N_("🕒 When"),
        ),
    ],
    preview=_preview,
    submit=_submit,
    header=N_("📣 <b>New broadcast</b>"),
    invalid=(Answer,),
    cancelled=lambda ctx: Closing(_("Cancelled. Nothing was sent."), _after()),
    throttling_key="broadcast_send",
)


async def _same() -> list[Option]:
    return [Option(SAME, _("🔁 Same text for both"))]


async def _none() -> None:
    return None
