"""Forms declared as data: a list of steps, one generic set of handlers (chosen by measurement over
aiogram-dialog and aiogram's Scenes: `docs/architecture.md`, "Choosing the form layer").

    IDEA_FORM = Form(
        "idea",
        [
            Step("theme", N_("Which theme?"), kind="choice", options=theme_options, label=N_("🏷 Theme")),
            Step("title", N_("A short title?"), validate=clean_title, label=N_("📝 Title")),
            Step("photo", N_("A photo?"), kind="photo", optional=True, label=N_("🖼 Photo")),
        ],
        preview=render_preview,          # async (values, ctx) -> (text, photo file id or None)
        submit=send,                     # async (values, query, ctx) -> Closing
    )
    router.include_router(IDEA_FORM.make_router())
    await IDEA_FORM.start(query, state, ctx, initial={"process_id": 7})

Each step renders itself: its header, "Step n of m", its prompt, its choices, Skip (optional steps),
Back (or "Back to the preview" while editing) and Cancel. The last step leads to the preview with Send,
Edit (a menu of the steps) and Back. `ctx` is the handler's data (session, viewer, lang, city, …), so
prompts, choices and the preview can read the database and speak the person's language.

State lives in aiogram's FSM only: the state is `form:<name>:<step>`, the data `{"values": {...},
"editing": bool}`; any storage (SQL, Redis) keeps a half-filled form across a restart. Every button
carries its form and step (`FormCb`), so a button from an earlier step, a cancelled form or a double
press is answered "out of date" and changes nothing; an update delivered twice is dropped before it
gets here (`bot/middlewares/dedup.py`).

A wrong answer is answered by `describe(error, answer, ctx)` and the step stays; refusals while sending
are `DomainError`s raised by `submit` (the draft stays, the error table answers).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any, Literal

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.i18n import N_
from bot.services.errors import Stale
from bot.ui.buttons import button
from bot.ui.cards import send_card
from bot.ui.messages import replace, respond

Kind = Literal["text", "choice", "photo", "location"]
Values = dict[str, Any]
Ctx = dict[str, Any]
PREVIEW, EDIT_MENU = "_preview", "_edit"

BACK, SKIP, CANCEL = N_("« Back"), N_("Skip ⏭"), N_("✖️ Cancel")
SEND, EDIT, TO_PREVIEW = N_("📨 Send"), N_("✏️ Edit"), N_("« Back to the preview")
CONTINUE = N_("Continue »")


class FormCb(CallbackData, prefix="fm"):
    """A form's button: which form, the step it was shown at, what it does, and a value."""

    form: str
    step: str
    action: str
    value: str = ""



class Answer(ValueError):
    """A typed answer a step does not take; its text (already translated) says why. Every form takes
    it (it is a ValueError, the default of `Form.invalid`)."""


@dataclass(frozen=True)
class Option:
    """One answer of a `choice` step: the value kept and the button's label (already translated)."""

    value: str
    label: str


class Offer(Answer):
    """A typed answer that could mean several things (part of a place's name): its text asks which, and
    `options` are offered as buttons under it; the step takes a press on one of them like a press on its
    own options (any other value is out of date)."""

    def __init__(self, text: str, options: Sequence[Option]) -> None:
        super().__init__(text)
        self.options = tuple(options)


@dataclass(frozen=True)
class Closing:
    """What replaces the preview once the form is sent (or given up)."""

    text: str
    keyboard: InlineKeyboardMarkup | None = None
    toast: str | None = None


Text = str | Callable[[Values, Ctx], str]
Options = Callable[[Values, Ctx], Awaitable[Sequence[Option]]]
Interlude = Callable[[Values, Ctx], Awaitable[tuple[str, list[list[InlineKeyboardButton]]] | None]]


@dataclass(frozen=True)
class Step:
    """One question.

    `validate(answer, ctx)` (a function or a coroutine function) gets the raw answer (the text; the
    photo's file id; `(latitude, longitude)`; the chosen option's value) and returns the value to keep,
    or raises one of the form's `invalid` exceptions; `ctx["draft"]` holds the answers so far (a closing
    date checked against the opening). `typed` lets a photo, location or choice step also take a text
    (async `(text, ctx)` → value, or `SKIPPED`, or raise; `Offer` answers with the matches of a partial
    answer as buttons). `when` leaves the step out of drafts it returns False for; a required step an
    edit brings in is asked before the preview. `after` may show an interlude once the answer is kept
    (e.g. similar ideas), with its own buttons and Continue.
    """

    name: str
    prompt: Text
    kind: Kind = "text"
    optional: bool = False
    validate: Callable[[Any, Ctx], Any] | None = None
    options: Options | None = None
    label: str = ""
    when: Callable[[Values], bool] | None = None
    typed: Callable[[str, Ctx], Awaitable[Any]] | None = None
    after: Interlude | None = None
    hint: Text = ""  # said when the answer is of the wrong kind (a sticker for a title)
    go_on: str = CONTINUE  # the button that leaves the interlude and goes on
    remove: str = ""  # the Skip button's label when an optional answer is already there ("Remove the photo")
    extra: Callable[[Values, Ctx], list[InlineKeyboardButton]] | None = None  # e.g. a button to a place picker

    def applies(self, values: Values) -> bool:
        return self.when is None or self.when(values)


SKIPPED = object()  # what `Step.typed` returns for a typed "skip"


@dataclass
class Form:
    name: str
    steps: Sequence[Step]
    preview: Callable[[Values, Ctx], Awaitable[tuple[str, str | None]]]
    submit: Callable[[Values, CallbackQuery, Ctx], Awaitable[Closing]]
    header: Text = ""
    invalid: tuple[type[Exception], ...] = (ValueError,)
    describe: Callable[[Exception, Any, Ctx], str] = lambda error, answer, ctx: str(error)
    cancelled: Callable[[Ctx], Closing] = lambda ctx: Closing(_("Cancelled. Nothing was saved."))
    throttling_key: str | None = None  # flood control of the form's buttons (a double press of Send)

    def __post_init__(self) -> None:
        self._by_name = {step.name: step for step in self.steps}
        if len(self._by_name) != len(self.steps) or {PREVIEW, EDIT_MENU} & self._by_name.keys():
            raise ValueError(f"form {self.name!r}: step names must be unique and not {PREVIEW}/{EDIT_MENU}")

    def make_router(self) -> Router:
        """The form's handlers, on a new router (one per Dispatcher)."""
        router = Router(name=f"form:{self.name}")
        states = StateFilter(*(self.state(name) for name in (*self._by_name, PREVIEW, EDIT_MENU)))
        router.message.register(self._on_message, states)
        mine = FormCb.filter(F.form == self.name)
        if self.throttling_key:  # a double press of Send is dropped; other buttons are not throttled
            sending = FormCb.filter((F.form == self.name) & (F.action == "send"))
            router.callback_query.register(
                self._on_button, sending, flags={"throttling_key": self.throttling_key}
            )
        router.callback_query.register(self._on_button, mine)
        return router

    def state(self, step: str) -> str:
        return f"form:{self.name}:{step}"

    def step_of(self, raw_state: str | None) -> str | None:
        prefix = f"form:{self.name}:"
        return raw_state[len(prefix) :] if raw_state and raw_state.startswith(prefix) else None

    async def start(
        self,
        event: Message | CallbackQuery,
        state: FSMContext,
        ctx: Ctx,
        initial: Values | None = None,
        *,
        at_preview: bool = False,
    ) -> None:
        """Begin a new draft (dropping any other conversation state) and ask the first question; a draft
        prefilled from something (an idea, a pot being edited) may start `at_preview`: the required
        steps it lacks are asked first, then the preview shows."""
        values = dict(initial or {})
        data = {"values": values, "editing": False}
        target = PREVIEW if at_preview else self._following(None, values)
        await self._show(event, state, ctx, data, target, None)

    async def resume(self, event: Message | CallbackQuery, state: FSMContext, ctx: Ctx, step: str) -> None:
        """Come back to `step` from a detour outside the form (a place picker) and ask it again."""
        if step not in self._by_name:
            raise Stale()
        await state.set_state(self.state(step))
        await self._show(event, state, ctx, await state.get_data(), step, step)

    async def keep(self, state: FSMContext, step: str, value: Any) -> InlineKeyboardMarkup:
        """An answer to `step` given outside the form (a place picker): kept in the draft and the form's
        state restored; the buttons returned (Continue, Back/Cancel) go on from there."""
        data = await state.get_data()
        data["values"][step] = value
        await state.set_state(self.state(step))
        await state.set_data(data)
        rows = [[self._button(CONTINUE, step, "next")], self._leave_row(step, data)]
        return InlineKeyboardMarkup(inline_keyboard=rows)

    # ---- moving ------------------------------------------------------------------------------------

    def _applicable(self, values: Values) -> list[Step]:
        return [step for step in self.steps if step.applies(values)]

    def _unanswered(self, values: Values) -> str | None:
        """A required step with no answer yet (one an edit has brought in): asked before the preview."""
        steps = self._applicable(values)
        return next((s.name for s in steps if not s.optional and s.name not in values), None)

    async def _check(self, step: Step, answer: Any, ctx: Ctx, values: Values) -> Any:
        if step.validate is None:
            return answer
        kept = step.validate(answer, {**ctx, "draft": values})
        return await kept if inspect.isawaitable(kept) else kept

    def _following(self, step: str | None, values: Values) -> str:
        names = [s.name for s in self._applicable(values)]
        index = names.index(step) + 1 if step in names else 0
        return names[index] if index < len(names) else PREVIEW

    def _previous(self, step: str, values: Values) -> str | None:
        names = [s.name for s in self._applicable(values)]
        if step == PREVIEW:
            return names[-1] if names else None
        index = names.index(step) if step in names else 0
        return names[index - 1] if index > 0 else None

    async def _kept(
        self, event: Message | CallbackQuery, state: FSMContext, ctx: Ctx, data: Values, step: str
    ) -> None:
        """The answer to `step` is kept: show its interlude, if any, else move on."""
        current = self._by_name[step]
        if current.after is not None:
            interlude = await current.after(data["values"], ctx)
            if interlude is not None:
                text, rows = interlude
                rows = [*rows, [self._button(current.go_on, step, "next")], self._leave_row(step, data)]
                await state.set_data(data)
                await _say(event, text, InlineKeyboardMarkup(inline_keyboard=rows))
                return
        await self._advance(event, state, ctx, data, step)

    async def _advance(
        self, event: Message | CallbackQuery, state: FSMContext, ctx: Ctx, data: Values, step: str
    ) -> None:
        target = PREVIEW if data.get("editing") else self._following(step, data["values"])
        await self._show(event, state, ctx, data, target, step)

    # ---- rendering ---------------------------------------------------------------------------------

    def _text(self, text: Text, values: Values, ctx: Ctx) -> str:
        return text(values, ctx) if callable(text) else (_(text) if text else "")

    def _button(self, label: str, step: str, action: str, value: str = "") -> InlineKeyboardButton:
        return button(_(label), FormCb(form=self.name, step=step, action=action, value=value))

    def _leave_row(self, step: str, data: Values) -> list[InlineKeyboardButton]:
        if data.get("editing"):
            return [self._button(TO_PREVIEW, step, "preview")]
        row = [self._button(CANCEL, step, "cancel")]
        if self._previous(step, data["values"]) is not None:
            row.insert(0, self._button(BACK, step, "back"))
        return row

    async def _options(self, step: Step, values: Values, ctx: Ctx) -> Sequence[Option]:
        if step.options is None:
            return ()
        found = step.options(values, ctx)
        return await found if inspect.isawaitable(found) else found

    async def render(self, step: str, data: Values, ctx: Ctx) -> tuple[str, InlineKeyboardMarkup, str | None]:
        """The text, buttons and photo (previews only) of `step`."""
        values = data["values"]
        if step == PREVIEW:
            text, photo = await self.preview(values, ctx)
            rows = [
                [self._button(SEND, step, "send"), self._button(EDIT, step, "edit")],
                [self._button(BACK, step, "back"), self._button(CANCEL, step, "cancel")],
            ]
            return text, InlineKeyboardMarkup(inline_keyboard=rows), photo
        if step == EDIT_MENU:
            labels = [
                self._button(s.label or s.name, step, "field", s.name) for s in self._applicable(values)
            ]
            rows = [labels[i : i + 2] for i in range(0, len(labels), 2)]
            rows.append([self._button(TO_PREVIEW, step, "preview")])
            return _("What would you like to change?"), InlineKeyboardMarkup(inline_keyboard=rows), None
        current = self._by_name[step]
        rows = []
        chosen = values.get(step)
        for option in await self._options(current, values, ctx):
            mark = "✓ " if option.value == str(chosen) else ""
            picked = FormCb(form=self.name, step=step, action="pick", value=option.value)
            rows.append([button(mark + option.label, picked)])
        if current.extra is not None:
            rows.extend([extra] for extra in current.extra(values, ctx))
        if current.optional:
            label = current.remove if current.remove and chosen is not None else SKIP
            rows.append([self._button(label, step, "skip")])
        rows.append(self._leave_row(step, data))
        names = [s.name for s in self._applicable(values)]
        line = _("Step {number} of {total}").format(number=names.index(step) + 1, total=len(names))
        prompt = self._text(current.prompt, values, ctx)
        if data.get("editing") and isinstance(chosen, str) and current.kind == "text":
            prompt += "\n" + _("Now: {value}").format(value=escape(chosen[:300]))
        parts = (self._text(self.header, values, ctx), line, prompt)
        return "\n".join(p for p in parts if p), InlineKeyboardMarkup(inline_keyboard=rows), None

    async def _show(
        self,
        event: Message | CallbackQuery,
        state: FSMContext,
        ctx: Ctx,
        data: Values,
        step: str,
        was: str | None,
    ) -> None:
        """Keep the draft, move to `step` and ask it: in place after a press, as a new message after a
        typed answer; a preview with a photo is a photo card."""
        if step == PREVIEW:
            missing = self._unanswered(data["values"])
            data["editing"] = missing is not None  # answered, it comes back to the preview
            step = missing or PREVIEW
        if step != was:
            await state.set_state(self.state(step))
        data.pop("offered", None)  # matches offered for a typed answer are good until the form moves
        await state.set_data(data)
        text, keyboard, photo = await self.render(step, data, ctx)
        if photo is not None:
            message = event.message if isinstance(event, CallbackQuery) else event
            await send_card(message.bot, message.chat.id, lambda _limit: text, photo, keyboard)
            return
        await _say(event, text, keyboard)

    # ---- handlers ----------------------------------------------------------------------------------

    def _hint(self, step: Step, values: Values, ctx: Ctx) -> str:
        if step.hint:
            return self._text(step.hint, values, ctx)
        if step.kind == "choice":
            return _("Please use the buttons, or send /cancel to stop.")
        return _("Please answer the question above, or use a button.")

    async def _answer_of(self, step: Step, message: Message, ctx: Ctx) -> Any:
        """The raw answer a message gives to `step`, `SKIPPED`, or None when it is of the wrong kind."""
        text = message.text if message.text and not message.text.startswith("/") else None
        if step.kind == "text":
            return text
        if step.kind == "photo":
            if message.photo:
                return message.photo[-1].file_id
            document = message.document
            if document is not None and (document.mime_type or "").startswith("image/"):
                return await photo_from_document(message)
        if step.kind == "location" and message.location:
            return (message.location.latitude, message.location.longitude)
        if text is not None and step.typed is not None:
            return await step.typed(text, ctx)
        return None

    async def _on_message(
        self, message: Message, state: FSMContext, raw_state: str | None, **ctx: Any
    ) -> None:
        step = self.step_of(raw_state)
        data = await state.get_data()
        if step is None:
            return
        current = self._by_name.get(step)
        if current is None:  # the preview or the edit menu: buttons expected
            await state.set_data(data)
            await respond(message, _("Please use the buttons above, or send /cancel to stop."))
            return
        try:
            answer = await self._answer_of(current, message, ctx)
            if answer is None:
                await state.set_data(data)
                hint = self._hint(current, data["values"], ctx)
                if current.kind == "text":
                    await respond(message, hint)
                    return
                text, keyboard, _photo = await self.render(
                    step, data, ctx
                )  # the question again, with its buttons
                await respond(message, f"{hint}\n\n{text}", keyboard)
                return
            if answer is SKIPPED and current.optional:
                value = None
            else:
                value = await self._check(current, answer, ctx, data["values"])
        except self.invalid as error:
            if isinstance(error, Offer) and error.options:
                await self._offer(message, state, data, step, error)
                return
            await state.set_data(data)
            await respond(message, self.describe(error, message.text, ctx))
            return
        data["values"][step] = value
        await self._kept(message, state, ctx, data, step)

    async def _on_button(
        self,
        query: CallbackQuery,
        callback_data: FormCb,
        state: FSMContext,
        raw_state: str | None,
        callback_answer: CallbackAnswer,
        **ctx: Any,
    ) -> None:
        step = self.step_of(raw_state)
        if step is None or callback_data.step != step:
            raise Stale()
        data = await state.get_data()
        values, action, value = data["values"], callback_data.action, callback_data.value
        if action == "cancel":
            await state.clear()
            await _close(query, self.cancelled(ctx))
        elif action == "back":
            previous = PREVIEW if data.get("editing") else self._previous(step, values)
            await self._show(query, state, ctx, data, previous or step, step)
        elif action == "preview":
            await self._show(query, state, ctx, data, PREVIEW, step)
        elif action == "next" and step in self._by_name:
            await self._advance(query, state, ctx, data, step)
        elif action == "edit" and step == PREVIEW:
            await self._show(query, state, ctx, data, EDIT_MENU, step)
        elif action == "field" and step == EDIT_MENU and value in self._by_name:
            data["editing"] = True
            await self._show(query, state, ctx, data, value, step)
        elif action == "skip" and self._by_name.get(step, Step("", "")).optional:
            values[step] = None
            await self._advance(query, state, ctx, data, step)
        elif action == "pick" and step in self._by_name:
            await self._pick(query, state, ctx, data, self._by_name[step], value)
        elif action == "send" and step == PREVIEW:
            closing = await self.submit(values, query, ctx)
            callback_answer.text = closing.toast
            await state.clear()
            await _close(query, closing)
        else:
            raise Stale()

    async def _offer(self, message: Message, state: FSMContext, data: Values, step: str, offer: Offer) -> None:
        """Several things match a typed answer: they are offered as buttons, remembered as this step's."""
        data["offered"] = {step: [option.value for option in offer.options]}
        await state.set_data(data)
        rows = []
        for option in offer.options:
            picked = FormCb(form=self.name, step=step, action="pick", value=option.value)
            rows.append([button(option.label, picked)])
        rows.append(self._leave_row(step, data))
        await respond(message, str(offer), InlineKeyboardMarkup(inline_keyboard=rows))

    async def _pick(
        self, query: CallbackQuery, state: FSMContext, ctx: Ctx, data: Values, step: Step, value: str
    ) -> None:
        offered = (data.pop("offered", None) or {}).get(step.name, [])
        known = {option.value for option in await self._options(step, data["values"], ctx)}
        if value not in known and value not in offered:
            raise Stale()
        try:
            data["values"][step.name] = await self._check(step, value, ctx, data["values"])
        except self.invalid as error:
            raise Stale() from error
        await self._kept(query, state, ctx, data, step.name)


async def photo_from_document(message: Message) -> str:
    """A picture sent as a file, turned into a photo (Telegram sends a photo only by a photo's file id):
    uploaded once as a photo, the upload deleted, its file id kept."""
    bot = message.bot
    buffer = await bot.download(message.document)
    name = message.document.file_name or "photo.jpg"
    sent = await bot.send_photo(message.chat.id, BufferedInputFile(buffer.read(), filename=name))
    await sent.delete()
    return sent.photo[-1].file_id


async def _close(query: CallbackQuery, closing: Closing) -> None:
    """The form's last word: a photo preview loses its buttons and the closing comes below it."""
    message = query.message
    if isinstance(message, Message) and message.photo:
        await message.edit_reply_markup(reply_markup=None)
        await respond(message, closing.text, closing.keyboard)
        return
    await _say(query, closing.text, closing.keyboard)


async def _say(event: Message | CallbackQuery, text: str, keyboard: InlineKeyboardMarkup | None) -> None:
    if isinstance(event, CallbackQuery):
        await replace(event.message, text, keyboard)
    else:
        await event.answer(text, reply_markup=keyboard)
