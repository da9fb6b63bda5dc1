"""The idea form and the paged idea list with the in-house helper (``inhouse_forms``) and plain CallbackData."""

from __future__ import annotations

from typing import Any

from aiogram import Dispatcher, F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import BaseEventIsolation
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bench.forms import service as s
from bench.forms.inhouse_forms import Form, Option, Step, Values


def _themes(_values: Values) -> list[Option]:
    return [Option(str(theme.id), theme.name) for theme in s.SERVICE.themes]


def _scopes(_values: Values) -> list[Option]:
    return [Option(value, label) for value, label in s.SCOPES.items()]


async def _submit(values: Values, query: CallbackQuery, _data: dict[str, Any]) -> str:
    return s.thanks_text(s.SERVICE.submit(query.from_user.id, values))


def idea_form() -> Form:
    return Form(
        "idea",
        [
            Step(
                "theme",
                s.PROMPTS["theme"],
                kind="choice",
                options=_themes,
                validate=int,
                label=s.FIELD_LABELS["theme"],
            ),
            Step("title", s.PROMPTS["title"], validate=s.clean_title, label=s.FIELD_LABELS["title"]),
            Step(
                "description",
                s.PROMPTS["description"],
                validate=s.clean_description,
                label=s.FIELD_LABELS["description"],
            ),
            Step("photo", s.PROMPTS["photo"], kind="photo", optional=True, label=s.FIELD_LABELS["photo"]),
            Step(
                "location",
                s.PROMPTS["location"],
                kind="location",
                optional=True,
                label=s.FIELD_LABELS["location"],
            ),
            Step("scope", s.PROMPTS["scope"], kind="choice", options=_scopes, label=s.FIELD_LABELS["scope"]),
        ],
        preview=s.preview_text,
        submit=_submit,
        header=s.HEADER,
    )


class ListCb(CallbackData, prefix="il"):
    action: str
    page: int = 0
    id: int = 0


def _page(page: int) -> tuple[str, InlineKeyboardMarkup]:
    pages = s.SERVICE.pages()
    page = min(max(page, 0), pages - 1)
    rows = [
        [
            InlineKeyboardButton(
                text=s.idea_label(idea), callback_data=ListCb(action="open", page=page, id=idea.id).pack()
            )
        ]
        for idea in s.SERVICE.page(page)
    ]
    nav = []
    if page > 0:
        nav.append(
            InlineKeyboardButton(text=s.PREV, callback_data=ListCb(action="page", page=page - 1).pack())
        )
    if page < pages - 1:
        nav.append(
            InlineKeyboardButton(text=s.NEXT, callback_data=ListCb(action="page", page=page + 1).pack())
        )
    return s.list_text(page, pages), InlineKeyboardMarkup(inline_keyboard=[*rows, nav])


async def ideas(message: Message) -> None:
    text, keyboard = _page(0)
    await message.answer(text, reply_markup=keyboard)


async def page(query: CallbackQuery, callback_data: ListCb) -> None:
    text, keyboard = _page(callback_data.page)
    await query.answer()
    await query.message.edit_text(text, reply_markup=keyboard)


async def open_idea(query: CallbackQuery, callback_data: ListCb) -> None:
    idea = s.SERVICE.idea(callback_data.id)
    if idea is None:
        await query.answer(s.STALE, show_alert=True)
        return
    back = InlineKeyboardButton(
        text=s.TO_LIST, callback_data=ListCb(action="page", page=callback_data.page).pack()
    )
    await query.answer()
    await query.message.edit_text(
        s.idea_text(idea), reply_markup=InlineKeyboardMarkup(inline_keyboard=[[back]])
    )


def install(dp: Dispatcher, _isolation: BaseEventIsolation) -> None:
    form, router = idea_form(), Router(name="inhouse")

    async def new_idea(message: Message, state: FSMContext) -> None:
        await form.start(message, state)

    router.message.register(new_idea, Command("new"))
    router.message.register(ideas, Command("ideas"))
    router.callback_query.register(page, ListCb.filter(F.action == "page"))
    router.callback_query.register(open_idea, ListCb.filter(F.action == "open"))
    dp.include_routers(router, form.router)
