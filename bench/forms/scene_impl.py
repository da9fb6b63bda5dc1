"""The idea form and the paged idea list with aiogram's Scenes (``aiogram.fsm.scene``).

One scene per step, as the Scenes documentation does it: the shared buttons (Back, Cancel, Back to the
preview) and the question itself live in a base scene every step inherits; Back is ``wizard.back()``,
which restores the state and data saved in the scenes history when the previous scene was left. The list
is a scene too, its page number in the scene's data.
"""

from __future__ import annotations

from typing import Any, ClassVar

from aiogram import Dispatcher, F
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.scene import Scene, SceneRegistry, ScenesManager, on
from aiogram.fsm.storage.base import BaseEventIsolation
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bench.forms import service as s


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data)


class StepScene(Scene, reset_data_on_enter=False, reset_history_on_enter=False):
    """A question of the idea form: asks on enter, handles Back, Cancel and Back to the preview."""

    step: ClassVar[str] = ""

    def rows(self, data: dict[str, Any]) -> list[list[InlineKeyboardButton]]:
        return []

    def ask(self, data: dict[str, Any]) -> tuple[str, InlineKeyboardMarkup]:
        leave = [_button(s.TO_PREVIEW, "idea:preview")] if data.get("editing") else []
        if not leave and self.step != s.STEPS[0]:
            leave.append(_button(s.BACK, "idea:back"))
        rows = [*self.rows(data), [*leave, _button(s.CANCEL, "idea:cancel")]]
        return s.prompt_text(self.step), InlineKeyboardMarkup(inline_keyboard=rows)

    @on.message.enter()
    async def ask_after_message(self, message: Message, state: FSMContext) -> None:
        text, keyboard = self.ask(await state.get_data())
        await message.answer(text, reply_markup=keyboard)

    @on.callback_query.enter()
    async def ask_after_button(self, query: CallbackQuery, state: FSMContext) -> None:
        text, keyboard = self.ask(await state.get_data())
        await query.answer()
        await query.message.edit_text(text, reply_markup=keyboard)

    async def keep(self, state: FSMContext, **values: Any) -> None:
        """Keep the answer and go on: to the next step, or back to the preview while editing."""
        data = await state.update_data(values)
        if data.get("editing"):
            await self.wizard.goto(PreviewScene)
        else:
            await self.wizard.goto(FORM[FORM.index(type(self)) + 1])

    @on.callback_query(F.data == "idea:back")
    async def back(self, query: CallbackQuery) -> None:
        await self.wizard.back()

    @on.callback_query(F.data == "idea:preview")
    async def to_preview(self, query: CallbackQuery) -> None:
        await self.wizard.goto(PreviewScene)

    @on.callback_query(F.data == "idea:cancel")
    async def cancel(self, query: CallbackQuery, state: FSMContext) -> None:
        await state.set_data({})
        await self.wizard.exit()
        await query.answer()
        await query.message.edit_text(s.CANCELLED)


class ThemeScene(StepScene, state="idea:theme"):
    step = "theme"

    def rows(self, data: dict[str, Any]) -> list[list[InlineKeyboardButton]]:
        return [[_button(theme.name, f"idea:theme:{theme.id}")] for theme in s.SERVICE.themes]

    @on.callback_query(F.data.startswith("idea:theme:"))
    async def chose(self, query: CallbackQuery, state: FSMContext) -> None:
        await self.keep(state, theme=int(query.data.rsplit(":", 1)[1]))


class TextScene(StepScene):
    clean: ClassVar[Any] = staticmethod(str)

    @on.message(F.text)
    async def typed(self, message: Message, state: FSMContext) -> None:
        try:
            value = type(self).clean(message.text)
        except s.Invalid as error:
            await message.answer(str(error))
            return
        await self.keep(state, **{self.step: value})


class TitleScene(TextScene, state="idea:title"):
    step, clean = "title", staticmethod(s.clean_title)


class DescriptionScene(TextScene, state="idea:description"):
    step, clean = "description", staticmethod(s.clean_description)


class OptionalScene(StepScene):
    def rows(self, data: dict[str, Any]) -> list[list[InlineKeyboardButton]]:
        return [[_button(s.SKIP, "idea:skip")]]

    @on.callback_query(F.data == "idea:skip")
    async def skip(self, query: CallbackQuery, state: FSMContext) -> None:
        await self.keep(state, **{self.step: None})


class PhotoScene(OptionalScene, state="idea:photo"):
    step = "photo"

    @on.message(F.photo)
    async def sent(self, message: Message, state: FSMContext) -> None:
        await self.keep(state, photo=message.photo[-1].file_id)


class LocationScene(OptionalScene, state="idea:location"):
    step = "location"

    @on.message(F.location)
    async def sent(self, message: Message, state: FSMContext) -> None:
        await self.keep(state, location=[message.location.latitude, message.location.longitude])


class ScopeScene(StepScene, state="idea:scope"):
    step = "scope"

    def rows(self, data: dict[str, Any]) -> list[list[InlineKeyboardButton]]:
        return [[_button(label, f"idea:scope:{value}")] for value, label in s.SCOPES.items()]

    @on.callback_query(F.data.in_({f"idea:scope:{value}" for value in s.SCOPES}))
    async def chose(self, query: CallbackQuery, state: FSMContext) -> None:
        await self.keep(state, scope=query.data.rsplit(":", 1)[1])


class PreviewScene(StepScene, state="idea:preview"):
    def ask(self, data: dict[str, Any]) -> tuple[str, InlineKeyboardMarkup]:
        rows = [
            [_button(s.SEND, "idea:send"), _button(s.EDIT, "idea:edit")],
            [_button(s.BACK, "idea:back"), _button(s.CANCEL, "idea:cancel")],
        ]
        return s.preview_text(data), InlineKeyboardMarkup(inline_keyboard=rows)

    @on.message.enter()
    async def ask_after_message(self, message: Message, state: FSMContext) -> None:
        await state.update_data(editing=False)
        await super().ask_after_message(message, state)

    @on.callback_query.enter()
    async def ask_after_button(self, query: CallbackQuery, state: FSMContext) -> None:
        await state.update_data(editing=False)
        await super().ask_after_button(query, state)

    @on.callback_query(F.data == "idea:edit")
    async def edit(self, query: CallbackQuery) -> None:
        await self.wizard.goto(EditScene)

    @on.callback_query(F.data == "idea:send")
    async def send(self, query: CallbackQuery, state: FSMContext) -> None:
        try:
            number = s.SERVICE.submit(query.from_user.id, await state.get_data())
        except s.Invalid as error:
            await query.answer(str(error), show_alert=True)
            return
        await state.set_data({})
        await self.wizard.exit()
        await query.answer()
        await query.message.edit_text(s.thanks_text(number))


class EditScene(StepScene, state="idea:edit"):
    def ask(self, data: dict[str, Any]) -> tuple[str, InlineKeyboardMarkup]:
        rows = [[_button(label, f"idea:field:{name}")] for name, label in s.FIELD_LABELS.items()]
        rows.append([_button(s.TO_PREVIEW, "idea:preview")])
        return s.EDIT_MENU, InlineKeyboardMarkup(inline_keyboard=rows)

    @on.callback_query(F.data.startswith("idea:field:"))
    async def field(self, query: CallbackQuery, state: FSMContext) -> None:
        await state.update_data(editing=True)
        await self.wizard.goto(BY_STEP[query.data.rsplit(":", 1)[1]])


FORM: list[type[StepScene]] = [
    ThemeScene,
    TitleScene,
    DescriptionScene,
    PhotoScene,
    LocationScene,
    ScopeScene,
    PreviewScene,
]
BY_STEP = {scene.step: scene for scene in FORM if scene.step}


# ---- the list ----------------------------------------------------------------------------------------


class ListScene(Scene, state="ideas:list", reset_data_on_enter=True, reset_history_on_enter=True):
    """The paged list; the page number is in the scene's data."""

    @staticmethod
    def page(page: int) -> tuple[str, InlineKeyboardMarkup]:
        pages = s.SERVICE.pages()
        rows = [[_button(s.idea_label(idea), f"ideas:open:{idea.id}")] for idea in s.SERVICE.page(page)]
        nav = [_button(s.PREV, "ideas:prev")] if page > 0 else []
        if page < pages - 1:
            nav.append(_button(s.NEXT, "ideas:next"))
        return s.list_text(page, pages), InlineKeyboardMarkup(inline_keyboard=[*rows, nav])

    @on.message.enter()
    async def show(self, message: Message) -> None:
        text, keyboard = self.page(0)
        await message.answer(text, reply_markup=keyboard)

    @on.callback_query(F.data.in_({"ideas:prev", "ideas:next"}))
    async def turn(self, query: CallbackQuery, state: FSMContext) -> None:
        page = await state.get_value("page", 0) + (1 if query.data == "ideas:next" else -1)
        page = min(max(page, 0), s.SERVICE.pages() - 1)
        await state.update_data(page=page)
        await self.redraw(query, page)

    @on.callback_query(F.data == "ideas:list")
    async def back(self, query: CallbackQuery, state: FSMContext) -> None:
        await self.redraw(query, await state.get_value("page", 0))

    async def redraw(self, query: CallbackQuery, page: int) -> None:
        text, keyboard = self.page(page)
        await query.answer()
        await query.message.edit_text(text, reply_markup=keyboard)

    @on.callback_query(F.data.startswith("ideas:open:"))
    async def open(self, query: CallbackQuery) -> None:
        idea = s.SERVICE.idea(int(query.data.rsplit(":", 1)[1]))
        if idea is None:
            await query.answer(s.STALE, show_alert=True)
            return
        back = InlineKeyboardMarkup(inline_keyboard=[[_button(s.TO_LIST, "ideas:list")]])
        await query.answer()
        await query.message.edit_text(s.idea_text(idea), reply_markup=back)


async def new_idea(message: Message, state: FSMContext, scenes: ScenesManager) -> None:
    await state.set_data({})
    await scenes.enter(ThemeScene)


async def cancel(message: Message, state: FSMContext) -> None:
    await state.set_data({})
    await state.set_state(None)
    await message.answer(s.CANCELLED)


def install(dp: Dispatcher, _isolation: BaseEventIsolation) -> None:
    dp.message.register(new_idea, Command("new"))
    dp.message.register(ListScene.as_handler(), Command("ideas"))
    dp.message.register(cancel, Command("cancel"))
    registry = SceneRegistry(dp)
    registry.add(*FORM, EditScene, ListScene)
