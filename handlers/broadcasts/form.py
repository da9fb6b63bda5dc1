"""The broadcast form, declared: the text in Turkish → in English (or the same) → the category → the
audience (`handlers/broadcasts/audience.py`: each choice with its live recipient count) → the district
or neighborhood, typed whole or in part (several matches offered as buttons), or the process whose voters
or idea authors and which of them by language → a photo → a button opening a flow → now or at a time →
preview → Send. A coordinator's audience step offers only their own neighborhood; the service checks the
audience again at Send (`broadcasts.check`)."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from aiogram.types import CallbackQuery, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.features import categories, menu_entries
from bot.i18n import N_, translate, when
from bot.services import broadcasts
from bot.text import fold
from bot.ui import dates
from bot.ui.broadcasts.callbacks import BroadcastAction, BroadcastCb
from bot.ui.broadcasts.drafts import AUTHORS, DISTRICT, HOOD, NARROWED, NOW, PLACED, SAME, VOTERS, draft_of
from bot.ui.broadcasts.texts import audience_label, category_label, flow_label, recipients_text
from bot.ui.buttons import button
from bot.ui.forms import SKIPPED, Answer, Closing, Form, Option, Step
from handlers.broadcasts import audience

AS_TEXT = N_("Please type your answer as text, or send /cancel to stop.")


def _text(text: str, ctx: dict[str, Any]) -> str:
    cleaned = text.strip()
    if not cleaned or len(cleaned) > broadcasts.TEXT_MAX:
        raise Answer(_("Please write a message of at most {max} characters.").format(max=broadcasts.TEXT_MAX))
    return escape(cleaned)


def _english(answer: str, ctx: dict[str, Any]) -> str:
    return SAME if answer == SAME else _text(answer, ctx)


async def _as_is(text: str, ctx: dict[str, Any]) -> str:
    return text


def _audience_is(*keys: str):  # noqa: ANN202
    return lambda values: values.get("audience") in keys


def _audience_known(values: dict[str, Any]) -> bool:
    return values.get("audience") not in (*PLACED, *NARROWED)


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
    return InlineKeyboardMarkup(
        inline_keyboard=[[button(_("📣 Broadcasts"), BroadcastCb(action=BroadcastAction.HOME))]]
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
            options=audience.audiences,
            typed=audience.typed_place(HOOD),
            validate=audience.reachable,
            after=lambda values, ctx: audience.reach(values, ctx) if _audience_known(values) else _none(),
            label=N_("👥 Audience"),
        ),
        *(
            Step(
                name,
                prompt,
                kind="choice",
                options=audience.no_options,
                typed=audience.typed_place(kind),
                validate=audience.place_of(kind),
                when=_audience_is(kind),
                hint=AS_TEXT,
                after=audience.reach,
                label=label,
            )
            for name, kind, prompt, label in (
                ("district", DISTRICT, N_("Type the district's name, or a part of it."), N_("🏙 District")),
                (
                    "neighborhood",
                    HOOD,
                    N_("Type the neighborhood's name, or a part of it."),
                    N_("🏘 Neighborhood"),
                ),
            )
        ),
        Step(
            "voted_in",
            N_("The voters of which process? Everyone with a confirmed ballot in any of its pots."),
            kind="choice",
            options=audience.voting_processes,
            when=_audience_is(VOTERS),
            label=N_("🗳 Process"),
        ),
        Step(
            "ideas_in",
            N_("The authors of ideas in which process?"),
            kind="choice",
            options=audience.idea_processes,
            when=_audience_is(AUTHORS),
            label=N_("💡 Ideas"),
        ),
        Step(
            "reader",
            N_("All of them, or only those who read one language?"),
            kind="choice",
            options=audience.readers,
            when=_audience_is(*NARROWED),
            after=audience.reach,
            label=N_("🗣 Language"),
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
