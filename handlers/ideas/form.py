"""The idea form, declared: theme → title (similar ideas offered) → description → photo → place →
scope (citywide processes) → preview → send. The form layer (`bot/ui/forms.py`) asks, checks, goes
back, edits from the preview and keeps the draft across restarts; the service checks everything again
when the idea is sent."""

from __future__ import annotations

from html import escape
from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import N_
from bot.services import geography, ideas, notices, processes
from bot.services.residents import Viewer
from bot.text import fold
from bot.ui.forms import SKIPPED, Closing, Form, Option, Step
from bot.ui.ideas import keyboards
from bot.ui.ideas.cards import draft_card, similar_text
from bot.ui.ideas.errors import invalid_text, refusal_text
from bot.ui.ideas.moderation import group_card
from bot.ui.messages import reply

SKIP_WORDS = frozenset({"skip", "atla", "gec", "yok", "no", "none", "-"})
LONG_ECHO = 3500  # characters of a too-long text offered back (a message holds 4096)


class PlaceNotFound(ideas.IdeaError):
    def __init__(self, query: str, names: list[str]) -> None:
        super().__init__("place")
        self.query, self.names = query, names


async def _themes(values: dict[str, Any], ctx: dict[str, Any]) -> list[Option]:
    return [Option(str(t.id), ideas.theme_name(t, ctx["lang"])) for t in await ideas.themes(ctx["session"])]


async def _scopes(values: dict[str, Any], ctx: dict[str, Any]) -> list[Option]:
    hood = await geography.neighborhood(ctx["session"], ctx["viewer"].resident.neighborhood_id or 0)
    return [
        Option(
            ideas.SCOPE_NEIGHBORHOOD, _("🏘 My neighborhood: {place}").format(place=hood.name if hood else "—")
        ),
        Option(ideas.SCOPE_CITY, _("🌆 The whole city")),
    ]


async def _similar(values: dict[str, Any], ctx: dict[str, Any]):  # noqa: ANN202
    viewer: Viewer = ctx["viewer"]
    session: AsyncSession = ctx["session"]
    found = await ideas.similar(
        session,
        values["process_id"],
        viewer.resident.neighborhood_id,
        values["title"],
        exclude_author=viewer.resident.id,
    )
    if not found:
        return None
    counts = {hit.idea.id: await ideas.support_count(session, hit.idea.id) for hit in found}
    return similar_text(found, counts), keyboards.similar_rows(found)


async def _typed_skip(text: str, ctx: dict[str, Any]) -> Any:
    return SKIPPED if fold(text) in SKIP_WORDS else None


async def _typed_place(text: str, ctx: dict[str, Any]) -> Any:
    """A typed "skip", or a place: the one neighborhood whose name matches."""
    if fold(text) in SKIP_WORDS:
        return SKIPPED
    hoods = await geography.search_neighborhoods(ctx["session"], text)
    if len(hoods) != 1:
        raise PlaceNotFound(text[:60], [f"{h.name} ({h.district.name})" for h in hoods[:5]])
    return {"place": hoods[0].id}


def _location(answer: Any, ctx: dict[str, Any]) -> Any:
    if isinstance(answer, dict):
        return answer
    ideas.check_location(ctx["city"].bounds, *answer)
    return list(answer)


def _describe(error: Exception, answer: Any, ctx: dict[str, Any]) -> str:
    if isinstance(error, PlaceNotFound):
        if not error.names:
            return _(
                "I found no neighborhood called “{query}”. Share a location, type another name, or tap Skip."
            ).format(query=escape(error.query))
        return _("Several neighborhoods match “{query}”: {names}. Please type the full name.").format(
            query=escape(error.query), names=escape(", ".join(error.names))
        )
    if isinstance(error, ideas.Invalid):
        text = invalid_text(error)
        if error.problem == "long" and isinstance(answer, str):
            text += "\n" + _(
                "You sent {length} characters; the limit is {max}. Your text, to copy and shorten:"
            ).format(length=len(answer), max=error.limit)
            text += f"\n<code>{escape(answer[:LONG_ECHO])}</code>"
        return text
    return refusal_text(error, ctx["lang"], ctx["city"])  # type: ignore[arg-type]


async def _preview(values: dict[str, Any], ctx: dict[str, Any]) -> tuple[str, str | None]:
    session, lang = ctx["session"], ctx["lang"]
    process = await processes.get(session, values["process_id"])
    if process is None:
        raise ideas.NotFound("the process is gone")
    theme = await ideas.theme(session, int(values.get("theme") or 0))
    hood = await geography.neighborhood(session, ctx["viewer"].resident.neighborhood_id or 0)
    location = values.get("location")
    spot = await geography.neighborhood(session, location["place"]) if isinstance(location, dict) else None
    text = draft_card(
        values,
        process=process,
        theme=ideas.theme_name(theme, lang) if theme else "—",
        hood=hood,
        spot=spot,
        lang=lang,
        limit=1024 if values.get("photo") else 4096,
    )
    return text, values.get("photo")


async def _submit(values: dict[str, Any], query: CallbackQuery, ctx: dict[str, Any]) -> Closing:
    session, viewer, city, lang = ctx["session"], ctx["viewer"], ctx["city"], ctx["lang"]
    location = values.get("location")
    point = location if isinstance(location, list) else [None, None]
    draft = ideas.Draft(
        process_id=values["process_id"],
        theme_id=int(values.get("theme") or 0),
        title=values.get("title") or "",
        description=values.get("description") or "",
        scope=values.get("scope") or ideas.SCOPE_NEIGHBORHOOD,
        photo_file_id=values.get("photo"),
        latitude=point[0],
        longitude=point[1],
        place_id=location["place"] if isinstance(location, dict) else None,
    )
    try:
        idea = await ideas.submit(session, viewer.resident, draft, city.bounds)
    except (ideas.SubmissionNotOpen, ideas.LimitReached) as error:
        text = refusal_text(error, lang, city) + "\n" + _("Your draft could not be sent and was discarded.")
        return Closing(text, keyboards.after())
    settings = ctx["settings"]
    if settings.staff_group_id:
        group_lang = settings.default_language or city.default_language
        text = group_card(idea, group_lang, await ideas.queue_count(session))
        notices.queue(session, notices.Notice(None, settings.staff_group_id, group_lang, text))
    closing_thanks = _(
        "📨 Thank you! Your idea is number <b>#{number}</b>.\n"
        "Staff will review it soon, and I will tell you what they decide."
    ).format(number=idea.id)
    return Closing(closing_thanks, keyboards.after(), toast=_("Sent!"))


def _header(values: dict[str, Any], ctx: dict[str, Any]) -> str:
    return _("✍️ <b>New idea</b> · {process}").format(process=escape(values.get("process_name") or ""))


def _limits(prompt: str, limit: int):  # noqa: ANN202
    return lambda values, ctx: _(prompt).format(max=limit)


IDEA_FORM = Form(
    "idea",
    [
        Step(
            "theme",
            N_("Which theme does your idea belong to?"),
            kind="choice",
            options=_themes,
            validate=lambda v, ctx: int(v),
            label=N_("🏷 Theme"),
        ),
        Step(
            "title",
            _limits(N_("Give your idea a short title (at most {max} characters)."), ideas.TITLE_MAX),
            validate=lambda v, ctx: ideas.clean_title(v),
            after=_similar,
            go_on=N_("✍️ Mine is different: continue"),
            label=N_("📝 Title"),
            hint=N_("Please type the title as text (a sticker or a photo cannot be a title)."),
        ),
        Step(
            "description",
            _limits(
                N_("Describe your idea: what should change, where, and why (at most {max} characters)."),
                ideas.DESCRIPTION_MAX,
            ),
            validate=lambda v, ctx: ideas.clean_description(v),
            label=N_("📄 Description"),
            hint=N_("Please type the description as text. You can add a photo in the next step."),
        ),
        Step(
            "photo",
            N_("Send a photo of the place or of your idea, if you have one. This is optional."),
            kind="photo",
            optional=True,
            typed=_typed_skip,
            label=N_("🖼 Photo"),
            remove=N_("Remove the photo"),
            hint=N_("Please send a photo (as a photo or as an image file), or tap Skip."),
        ),
        Step(
            "location",
            N_(
                "If your idea is about a particular place, share its location (tap 📎, then Location) "
                "or type the neighborhood's name. This is optional."
            ),
            kind="location",
            optional=True,
            typed=_typed_place,
            validate=_location,
            label=N_("📌 Location"),
            remove=N_("Remove the location"),
            hint=N_(
                "Please share a location (tap 📎, then Location), type a neighborhood's name, or tap Skip."
            ),
        ),
        Step(
            "scope",
            N_("Is your idea for your neighborhood or for the whole city?"),
            kind="choice",
            options=_scopes,
            when=lambda values: bool(values.get("citywide")),
            label=N_("🌆 Neighborhood or city"),
        ),
    ],
    preview=_preview,
    submit=_submit,
    header=_header,
    invalid=(ideas.Invalid, ideas.OutsideCity, PlaceNotFound, ValueError),
    describe=_describe,
    cancelled=lambda ctx: Closing(_("Your draft was discarded. Nothing was sent."), keyboards.after()),
    throttling_key="idea_send",
)


async def support_instead(
    query: CallbackQuery, callback_data: Any, state: FSMContext, session: AsyncSession, viewer: Viewer
) -> None:
    """A similar idea is supported instead of sending a new one: the draft is dropped."""
    await ideas.set_support(session, callback_data.id, viewer.resident, True)
    await state.clear()
    await reply(
        query,
        _("👍 Thank you: you now support idea #{number}. Your draft was discarded.").format(
            number=callback_data.id
        ),
        keyboards.after(),
    )
