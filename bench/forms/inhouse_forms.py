"""A small declarative form helper for aiogram 3: a wizard declared as data, one generic set of handlers.

A form is a list of :class:`Step` (a name, a prompt, a kind: ``text``, ``choice``, ``photo`` or
``location``; optional or not; a validator; for a choice, where its options come from; a condition for
steps that apply only to some drafts). :class:`Form` turns that list into one ``Router`` whose handlers
ask each question, take the answer, validate and keep it, and move on; they also handle Back, Skip,
Cancel (button or ``/cancel``), the preview with Send / Edit / Back, and the edit menu, which sends the
person back to the preview after the field is changed::

    form = Form(
        "idea",
        [
            Step("theme", "Which theme?", kind="choice", options=theme_options),
            Step("title", "A short title?", validate=clean_title),
            Step("photo", "A photo?", kind="photo", optional=True),
        ],
        preview=lambda values: render(values),
        submit=send_idea,            # async (values, query, handler data) -> the closing text
    )
    router.include_router(form.router)
    await form.start(message, state, initial={"process_id": 7})

State lives in aiogram's FSM only: the state is ``form:<name>:<step>`` and the data is
``{"values": {...}, "editing": bool, "seen": last message id}``; no other storage key is used, so any
FSM storage (the SQL one, Redis, memory) keeps a half-filled form across a restart. Each update costs
the dispatcher's one state read, one data read, and at most one state write and one data write.

Every button carries the form and the step it was shown at (``FormCb``), so a button from an earlier
message, from a cancelled form or delivered twice is answered "out of date" and changes nothing; a
message whose id is not newer than the last one taken (the same update delivered again) is ignored.

Texts go through ``translate`` when shown (pass aiogram's ``gettext`` for i18n); prompts and the
preview may be callables of the values, so they can be rendered in the person's language too.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

Kind = Literal["text", "choice", "photo", "location"]
Values = dict[str, Any]
Text = str | Callable[[Values], str]
PREVIEW = "_preview"
EDIT_MENU = "_edit"


class FormCb(CallbackData, prefix="fm"):
    """A form's button: which form, the step it was shown at, what it does, and a value."""

    form: str
    step: str
    action: str
    value: str = ""


@dataclass(frozen=True)
class Option:
    """One answer of a ``choice`` step: the value kept and the button's label."""

    value: str
    label: str


OptionSource = Callable[[Values], Sequence[Option] | Awaitable[Sequence[Option]]]


@dataclass(frozen=True)
class Step:
    """One question of a form.

    ``validate`` gets the raw answer (the text; the photo's file id; ``[latitude, longitude]``; the
    chosen option's value) and returns the value to keep, or raises one of the form's ``invalid``
    exceptions, whose text is shown to the person. ``when`` leaves the step out of drafts it returns
    False for. ``label`` names the step in the edit menu (the name by default).
    """

    name: str
    prompt: Text
    kind: Kind = "text"
    optional: bool = False
    validate: Callable[[Any], Any] | None = None
    options: OptionSource | None = None
    label: str = ""
    when: Callable[[Values], bool] | None = None

    def applies(self, values: Values) -> bool:
        return self.when is None or self.when(values)


@dataclass(frozen=True)
class FormTexts:
    """The helper's own words (passed through the form's ``translate``)."""

    back: str = "« Back"
    skip: str = "Skip ⏭"
    cancel: str = "✖️ Cancel"
    send: str = "📨 Send"
    edit: str = "✏️ Edit"
    to_preview: str = "« Back to the preview"
    edit_menu: str = "What would you like to change?"
    stale: str = "This button is out of date."
    cancelled: str = "Cancelled. Nothing was saved."
    wrong_input: str = "Please answer the question above, or press a button."
    step_line: str = "Step {number} of {total}"


Submit = Callable[[Values, CallbackQuery, dict[str, Any]], Awaitable[str]]


@dataclass
class Form:
    """A wizard built from ``steps``; ``router`` holds its handlers (include it in the dispatcher).

    ``preview`` renders the collected values above Send / Edit / Back / Cancel. ``submit`` gets the
    values, the Send press and the handler data (session, services...) and returns the text that
    replaces the preview; raising one of ``invalid`` shows its text in an alert and keeps the draft.
    ``header`` (optional) is shown above every question.
    """

    name: str
    steps: Sequence[Step]
    preview: Callable[[Values], str]
    submit: Submit
    header: Text = ""
    texts: FormTexts = field(default_factory=FormTexts)
    invalid: tuple[type[Exception], ...] = (ValueError,)
    translate: Callable[[str], str] = field(default=lambda text: text)
    cancel_command: str | None = "cancel"
    router: Router = field(init=False)

    def __post_init__(self) -> None:
        self._by_name = {step.name: step for step in self.steps}
        if len(self._by_name) != len(self.steps) or {PREVIEW, EDIT_MENU} & self._by_name.keys():
            raise ValueError(f"form {self.name!r}: step names must be unique and not {PREVIEW}/{EDIT_MENU}")
        self.router = Router(name=f"form:{self.name}")
        every_state = StateFilter(*(self.state(name) for name in (*self._by_name, PREVIEW, EDIT_MENU)))
        if self.cancel_command:
            self.router.message.register(self._cancel_command, every_state, Command(self.cancel_command))
        self.router.message.register(self._on_message, every_state)
        self.router.callback_query.register(self._on_button, FormCb.filter(F.form == self.name))

    # ---- public ----------------------------------------------------------------------------------

    def state(self, step: str) -> str:
        """The FSM state of ``step`` (or of the preview / edit menu)."""
        return f"form:{self.name}:{step}"

    def step_of(self, raw_state: str | None) -> str | None:
        """The step a raw FSM state stands for, or None when it is not one of this form's."""
        prefix = f"form:{self.name}:"
        return raw_state[len(prefix) :] if raw_state and raw_state.startswith(prefix) else None

    async def start(
        self, event: Message | CallbackQuery, state: FSMContext, initial: Values | None = None
    ) -> None:
        """Begin a new draft (dropping any other conversation state) and ask the first question."""
        values = dict(initial or {})
        first = self._following(None, values)
        seen = event.message_id if isinstance(event, Message) else 0
        await self._show(event, state, {"values": values, "editing": False, "seen": seen}, first, None)

    # ---- moving ----------------------------------------------------------------------------------

    def _applicable(self, values: Values) -> list[Step]:
        return [step for step in self.steps if step.applies(values)]

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

    async def _advance(
        self, event: Message | CallbackQuery, state: FSMContext, data: Values, step: str
    ) -> None:
        target = PREVIEW if data.get("editing") else self._following(step, data["values"])
        await self._show(event, state, data, target, step)

    # ---- rendering -------------------------------------------------------------------------------

    def _text(self, text: Text, values: Values) -> str:
        return text(values) if callable(text) else self.translate(text)

    def _button(self, label: str, step: str, action: str, value: str = "") -> InlineKeyboardButton:
        data = FormCb(form=self.name, step=step, action=action, value=value).pack()
        return InlineKeyboardButton(text=self.translate(label), callback_data=data)

    async def _render(self, step: str, data: Values) -> tuple[str, InlineKeyboardMarkup]:
        values, t = data["values"], self.texts
        rows: list[list[InlineKeyboardButton]] = []
        if step == PREVIEW:
            rows = [
                [self._button(t.send, step, "send"), self._button(t.edit, step, "edit")],
                [self._button(t.back, step, "back"), self._button(t.cancel, step, "cancel")],
            ]
            return self.preview(values), InlineKeyboardMarkup(inline_keyboard=rows)
        if step == EDIT_MENU:
            for s in self._applicable(values):
                rows.append([self._button(s.label or s.name, step, "field", s.name)])
            rows.append([self._button(t.to_preview, step, "preview")])
            return self.translate(t.edit_menu), InlineKeyboardMarkup(inline_keyboard=rows)
        current = self._by_name[step]
        applicable = [s.name for s in self._applicable(values)]
        if current.kind == "choice" and current.options is not None:
            options = current.options(values)
            if inspect.isawaitable(options):
                options = await options
            chosen = values.get(step)
            for option in options:
                mark = "✓ " if option.value == str(chosen) else ""
                rows.append([self._button(mark + option.label, step, "pick", option.value)])
        if current.optional:
            rows.append([self._button(t.skip, step, "skip")])
        leave = [self._button(t.to_preview, step, "preview")] if data.get("editing") else []
        if not leave and applicable.index(step) > 0:
            leave.append(self._button(t.back, step, "back"))
        rows.append([*leave, self._button(t.cancel, step, "cancel")])
        line = self.translate(t.step_line).format(number=applicable.index(step) + 1, total=len(applicable))
        parts = (self._text(self.header, values), line, self._text(current.prompt, values))
        return "\n".join(p for p in parts if p), InlineKeyboardMarkup(inline_keyboard=rows)

    async def _show(
        self, event: Message | CallbackQuery, state: FSMContext, data: Values, step: str, was: str | None
    ) -> None:
        """Keep the draft, move to ``step`` and ask it: edit the pressed message, or answer a typed one."""
        if step == PREVIEW:
            data["editing"] = False
        if step != was:
            await state.set_state(self.state(step))
        await state.set_data(data)
        text, keyboard = await self._render(step, data)
        if isinstance(event, CallbackQuery):
            await event.answer()
            await event.message.edit_text(text, reply_markup=keyboard)
        else:
            await event.answer(text, reply_markup=keyboard)

    # ---- handlers --------------------------------------------------------------------------------

    async def _cancel_command(self, message: Message, state: FSMContext) -> None:
        await state.clear()
        await message.answer(self.translate(self.texts.cancelled))

    async def _on_message(self, message: Message, state: FSMContext, raw_state: str | None) -> None:
        step = self.step_of(raw_state)
        data = await state.get_data()
        if step is None or message.message_id <= data.get("seen", 0):
            return  # the same message delivered again
        data["seen"] = message.message_id
        current = self._by_name.get(step)
        answer: Any = None
        if (
            current is not None
            and current.kind == "text"
            and message.text
            and not message.text.startswith("/")
        ):
            answer = message.text
        elif current is not None and current.kind == "photo" and message.photo:
            answer = message.photo[-1].file_id
        elif current is not None and current.kind == "location" and message.location:
            answer = [message.location.latitude, message.location.longitude]
        if answer is None:
            await state.set_data(data)
            await message.answer(self.translate(self.texts.wrong_input))
            return
        try:
            value = current.validate(answer) if current.validate else answer
        except self.invalid as error:
            await state.set_data(data)
            await message.answer(str(error))
            return
        data["values"][step] = value
        await self._advance(message, state, data, step)

    async def _on_button(
        self, query: CallbackQuery, callback_data: FormCb, state: FSMContext, raw_state: str | None, **kw: Any
    ) -> None:
        step = self.step_of(raw_state)
        if step is None or callback_data.step != step:
            await query.answer(self.translate(self.texts.stale), show_alert=True)
            return
        data = await state.get_data()
        values, action = data["values"], callback_data.action
        if action == "cancel":
            await state.clear()
            await query.answer()
            await query.message.edit_text(self.translate(self.texts.cancelled))
        elif action == "back":
            previous = PREVIEW if data.get("editing") else self._previous(step, values)
            await self._show(query, state, data, previous or step, step)
        elif action == "preview":
            await self._show(query, state, data, PREVIEW, step)
        elif action == "edit" and step == PREVIEW:
            await self._show(query, state, data, EDIT_MENU, step)
        elif action == "field" and step == EDIT_MENU and callback_data.value in self._by_name:
            data["editing"] = True
            await self._show(query, state, data, callback_data.value, step)
        elif action == "skip" and self._by_name.get(step, Step("", "")).optional:
            values[step] = None
            await self._advance(query, state, data, step)
        elif action == "pick" and step in self._by_name:
            await self._pick(query, state, data, self._by_name[step], callback_data.value)
        elif action == "send" and step == PREVIEW:
            try:
                closing = await self.submit(values, query, kw)
            except self.invalid as error:
                await query.answer(str(error), show_alert=True)
                return
            await state.clear()
            await query.answer()
            await query.message.edit_text(closing)
        else:
            await query.answer(self.translate(self.texts.stale), show_alert=True)

    async def _pick(
        self, query: CallbackQuery, state: FSMContext, data: Values, step: Step, value: str
    ) -> None:
        options = step.options(data["values"]) if step.options else ()
        if inspect.isawaitable(options):
            options = await options
        if value not in {option.value for option in options}:
            await query.answer(self.translate(self.texts.stale), show_alert=True)
            return
        try:
            data["values"][step.name] = step.validate(value) if step.validate else value
        except self.invalid as error:
            await query.answer(str(error), show_alert=True)
            return
        await self._advance(query, state, data, step.name)
