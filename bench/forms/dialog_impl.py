"""The idea form and the paged idea list with aiogram-dialog 2.6.

The list's Select is fed only the current page (a ``StubScroll`` keeps the page number); the variant
``install_scrolling`` feeds all 200 ideas to a ``ScrollingGroup`` instead, which renders every button
before cutting out the page.
"""

from __future__ import annotations

import operator
from typing import Any

from aiogram import Dispatcher, F, Router
from aiogram.filters import Command
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import BaseEventIsolation
from aiogram.types import CallbackQuery, ContentType, Message
from aiogram_dialog import Dialog, DialogManager, ShowMode, StartMode, Window, setup_dialogs
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import (
    Back,
    Button,
    Column,
    NextPage,
    PrevPage,
    Row,
    ScrollingGroup,
    Select,
    StubScroll,
    SwitchTo,
)
from aiogram_dialog.widgets.text import Const, Format

from bench.forms import service as s


class IdeaSG(StatesGroup):
    theme = State()
    title = State()
    description = State()
    photo = State()
    location = State()
    scope = State()
    preview = State()
    edit = State()


class ListSG(StatesGroup):
    page = State()
    idea = State()


# ---- the form ----------------------------------------------------------------------------------------


async def _advance(manager: DialogManager, **values: Any) -> None:
    manager.dialog_data.update(values)
    if manager.dialog_data.pop("editing", False):
        await manager.switch_to(IdeaSG.preview)
    else:
        await manager.next()


async def on_theme(query: CallbackQuery, _w: Any, manager: DialogManager, theme_id: int) -> None:
    await _advance(manager, theme=theme_id)


async def on_scope(query: CallbackQuery, _w: Any, manager: DialogManager, scope: str) -> None:
    await _advance(manager, scope=scope)


def _typed(field: str, clean: Any) -> Any:
    async def handler(message: Message, _w: Any, manager: DialogManager) -> None:
        try:
            value = clean(message.text or "")
        except s.Invalid as error:
            await message.answer(str(error))
            manager.show_mode = ShowMode.SEND
            return
        await _advance(manager, **{field: value})

    return handler


async def on_photo(message: Message, _w: Any, manager: DialogManager) -> None:
    await _advance(manager, photo=message.photo[-1].file_id)


async def on_location(message: Message, _w: Any, manager: DialogManager) -> None:
    await _advance(manager, location=[message.location.latitude, message.location.longitude])


async def on_skip(query: CallbackQuery, _w: Any, manager: DialogManager) -> None:
    await _advance(manager, **{manager.current_context().state.state.split(":")[1]: None})


async def on_field(query: CallbackQuery, _w: Any, manager: DialogManager, field: str) -> None:
    manager.dialog_data["editing"] = True
    await manager.switch_to(getattr(IdeaSG, field))


async def on_back_to_preview(query: CallbackQuery, _w: Any, manager: DialogManager) -> None:
    manager.dialog_data.pop("editing", None)


async def on_cancel(query: CallbackQuery, _w: Any, manager: DialogManager) -> None:
    await query.message.edit_text(s.CANCELLED)
    await manager.done(show_mode=ShowMode.NO_UPDATE)


async def on_send(query: CallbackQuery, _w: Any, manager: DialogManager) -> None:
    try:
        number = s.SERVICE.submit(query.from_user.id, manager.dialog_data)
    except s.Invalid as error:
        await query.answer(str(error), show_alert=True)
        return
    await query.message.edit_text(s.thanks_text(number))
    await manager.done(show_mode=ShowMode.NO_UPDATE)


async def form_getter(dialog_manager: DialogManager, **_kwargs: Any) -> dict[str, Any]:
    state = dialog_manager.current_context().state.state.split(":")[1]
    data = dialog_manager.dialog_data
    return {
        "prompt": s.prompt_text(state) if state in s.PROMPTS else "",
        "editing": bool(data.get("editing")),
        "themes": s.SERVICE.themes,
        "scopes": list(s.SCOPES.items()),
        "fields": list(s.FIELD_LABELS.items()),
        "preview": s.preview_text(data),
    }


LEAVE = Row(
    Back(Const(s.BACK), when=~F["editing"]),
    SwitchTo(Const(s.TO_PREVIEW), "to_preview", IdeaSG.preview, on_click=on_back_to_preview, when="editing"),
    Button(Const(s.CANCEL), "cancel", on_click=on_cancel),
)
PROMPT = Format("{prompt}")


def _step(state: State, *widgets: Any) -> Window:
    return Window(PROMPT, *widgets, LEAVE, state=state, getter=form_getter)


def idea_dialog() -> Dialog:
    return Dialog(
        Window(
            PROMPT,
            Column(
                Select(Format("{item.name}"), "theme", operator.attrgetter("id"), "themes", int, on_theme)
            ),
            Row(
                SwitchTo(
                    Const(s.TO_PREVIEW),
                    "to_preview",
                    IdeaSG.preview,
                    on_click=on_back_to_preview,
                    when="editing",
                ),
                Button(Const(s.CANCEL), "cancel", on_click=on_cancel),
            ),
            state=IdeaSG.theme,
            getter=form_getter,
        ),
        _step(IdeaSG.title, MessageInput(_typed("title", s.clean_title), ContentType.TEXT)),
        _step(IdeaSG.description, MessageInput(_typed("description", s.clean_description), ContentType.TEXT)),
        _step(
            IdeaSG.photo, MessageInput(on_photo, ContentType.PHOTO), Button(Const(s.SKIP), "skip", on_skip)
        ),
        _step(
            IdeaSG.location,
            MessageInput(on_location, ContentType.LOCATION),
            Button(Const(s.SKIP), "skip", on_skip),
        ),
        _step(
            IdeaSG.scope,
            Column(Select(Format("{item[1]}"), "scope", operator.itemgetter(0), "scopes", str, on_scope)),
        ),
        Window(
            Format("{preview}"),
            Row(Button(Const(s.SEND), "send", on_send), SwitchTo(Const(s.EDIT), "edit", IdeaSG.edit)),
            Row(Back(Const(s.BACK)), Button(Const(s.CANCEL), "cancel", on_click=on_cancel)),
            state=IdeaSG.preview,
            getter=form_getter,
        ),
        Window(
            Const(s.EDIT_MENU),
            Column(Select(Format("{item[1]}"), "field", operator.itemgetter(0), "fields", str, on_field)),
            SwitchTo(Const(s.TO_PREVIEW), "to_preview", IdeaSG.preview),
            state=IdeaSG.edit,
            getter=form_getter,
        ),
    )


# ---- the list ----------------------------------------------------------------------------------------


async def on_open(query: CallbackQuery, _w: Any, manager: DialogManager, idea_id: int) -> None:
    manager.dialog_data["idea"] = idea_id
    await manager.switch_to(ListSG.idea)


async def page_getter(dialog_manager: DialogManager, **_kwargs: Any) -> dict[str, Any]:
    page = await dialog_manager.find("ideas").get_page()
    pages = s.SERVICE.pages()
    return {"ideas": s.SERVICE.page(page), "pages": pages, "title": s.list_text(page, pages)}


async def all_getter(dialog_manager: DialogManager, **_kwargs: Any) -> dict[str, Any]:
    page = await dialog_manager.find("ideas").get_page()
    pages = s.SERVICE.pages()
    return {"ideas": s.SERVICE.ideas, "title": s.list_text(page, pages)}


async def idea_getter(dialog_manager: DialogManager, **_kwargs: Any) -> dict[str, Any]:
    return {"card": s.idea_text(s.SERVICE.idea(dialog_manager.dialog_data["idea"]))}


def list_dialog(scrolling: bool) -> Dialog:
    idea_button = Select(
        Format("#{item.id} {item.title} · 👍 {item.supporters}"),
        "idea",
        operator.attrgetter("id"),
        "ideas",
        int,
        on_open,
    )
    pager = Row(PrevPage("ideas", "prev", Const(s.PREV)), NextPage("ideas", "next", Const(s.NEXT)))
    if scrolling:
        page = Window(
            Format("{title}"),
            ScrollingGroup(idea_button, id="ideas", width=1, height=s.PAGE_SIZE, hide_pager=True),
            pager,
            state=ListSG.page,
            getter=all_getter,
        )
    else:
        page = Window(
            Format("{title}"),
            Column(idea_button),
            StubScroll("ideas", "pages"),
            pager,
            state=ListSG.page,
            getter=page_getter,
        )
    idea = Window(
        Format("{card}"),
        SwitchTo(Const(s.TO_LIST), "to_list", ListSG.page),
        state=ListSG.idea,
        getter=idea_getter,
    )
    return Dialog(page, idea)


async def new_idea(message: Message, dialog_manager: DialogManager) -> None:
    await dialog_manager.start(IdeaSG.theme, mode=StartMode.RESET_STACK)


async def ideas(message: Message, dialog_manager: DialogManager) -> None:
    await dialog_manager.start(ListSG.page, mode=StartMode.RESET_STACK)


async def cancel(message: Message, dialog_manager: DialogManager) -> None:
    await dialog_manager.reset_stack(remove_keyboard=True)
    await message.answer(s.CANCELLED)


def _install(dp: Dispatcher, isolation: BaseEventIsolation, scrolling: bool) -> None:
    commands = Router(name="dialog-commands")
    commands.message.register(new_idea, Command("new"))
    commands.message.register(ideas, Command("ideas"))
    commands.message.register(cancel, Command("cancel"))
    dp.include_routers(commands, idea_dialog(), list_dialog(scrolling))
    setup_dialogs(dp, events_isolation=isolation)


def install(dp: Dispatcher, isolation: BaseEventIsolation) -> None:
    _install(dp, isolation, scrolling=False)


def install_scrolling(dp: Dispatcher, isolation: BaseEventIsolation) -> None:
    _install(dp, isolation, scrolling=True)
