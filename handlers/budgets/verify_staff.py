"""Staff: the verification level of a budgeting process and its one-time codes, sent as a CSV document
(the only copy of the codes in clear: the database keeps their keyed hashes)."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import processes
from bot.services.budgets import verification
from bot.services.errors import parse_int
from bot.services.residents import Viewer
from bot.ui.budgets import verify_staff as screen
from bot.ui.budgets.callbacks import VerifyStaffCb
from bot.ui.messages import reply, respond


async def listing(query: CallbackQuery, state: FSMContext, session: AsyncSession, lang: str) -> None:
    await state.set_state(None)
    found = await verification.budget_processes(session)
    await reply(query, screen.list_text(found), screen.list_keyboard(found, lang))


async def show(query: CallbackQuery, callback_data: VerifyStaffCb, session: AsyncSession, lang: str) -> None:
    view = await verification.staff_view(session, callback_data.process)
    await reply(query, screen.process_text(view, lang), screen.process_keyboard(view))


async def level(
    query: CallbackQuery,
    callback_data: VerifyStaffCb,
    session: AsyncSession,
    viewer: Viewer,
    lang: str,
    callback_answer: CallbackAnswer,
) -> None:
    view = await verification.staff_view(session, callback_data.process)
    await verification.set_level(
        session, view.process, callback_data.level.value, actor_id=viewer.resident.id
    )
    callback_answer.text = screen.level_name(callback_data.level.value)
    await show(query, callback_data, session, lang)


async def ask_count(
    query: CallbackQuery, callback_data: VerifyStaffCb, state: FSMContext, session: AsyncSession, lang: str
) -> None:
    view = await verification.staff_view(session, callback_data.process)
    if not view.can_make_codes:  # a stale button: the service would refuse the same
        raise verification.NoCodes(f"process {view.process.id}")
    await state.set_state(screen.StaffVerify.count)
    await state.update_data({screen.PROCESS_KEY: view.process.id})
    await respond(query.message, screen.ask_count_text(processes.name(view.process, lang)))


async def make_codes(
    message: Message, state: FSMContext, session: AsyncSession, viewer: Viewer, lang: str
) -> None:
    count = parse_int(message.text or "", low=1, high=verification.MAX_CHAT_CODES)
    view = await verification.staff_view(session, int((await state.get_data()).get(screen.PROCESS_KEY) or 0))
    codes = await verification.make_codes(session, view.process, count, actor_id=viewer.resident.id)
    await state.set_state(None)
    payload = verification.codes_csv(view.process, codes).encode()
    name = processes.name(view.process, lang)
    await message.answer_document(
        BufferedInputFile(payload, filename=f"meydan-codes-{view.process.key}.csv"),
        caption=screen.codes_caption(count, name),
    )
