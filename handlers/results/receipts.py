"""Was my ballot counted? The published receipt codes as a file, checking a typed code, and the
anonymous ballots file (Pabulib) anyone can count again."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import CitySpec
from bot.services.budgets import results
from bot.ui.messages import respond
from bot.ui.results import cards, keyboards
from bot.ui.results.callbacks import ResultsCb
from handlers.results.states import ResultsStates

POT_KEY = "results_pot"


async def _send(
    query: CallbackQuery, session: AsyncSession, published: results.Published, caption: str
) -> None:
    """Send a published file: by its file id when it was sent before, else its bytes (and keep the id)."""
    extension = "txt" if published.kind == results.RECEIPTS else "pb"
    name = f"{published.kind}-{published.pot.id}.{extension}"
    document = published.file_id or BufferedInputFile(published.data or b"", filename=name)
    sent = await query.bot.send_document(query.from_user.id, document, caption=caption)
    if published.file_id is None and sent.document is not None:
        await results.remember_file(session, published.pot.id, published.kind, sent.document.file_id)


async def receipts_file(
    query: CallbackQuery, callback_data: ResultsCb, session: AsyncSession, lang: str
) -> None:
    published = await results.receipts_file(session, callback_data.pot)
    caption = cards.receipts_caption(published.pot, published.count, lang, published.imported)
    await _send(query, session, published, caption)


async def ballots_file(
    query: CallbackQuery, callback_data: ResultsCb, session: AsyncSession, lang: str, city: CitySpec
) -> None:
    published = await results.published_ballots(session, callback_data.pot, city.currency)
    await _send(query, session, published, cards.ballots_caption(published.pot, lang))


async def ask(
    query: CallbackQuery, callback_data: ResultsCb, session: AsyncSession, state: FSMContext
) -> None:
    pot = await results.open_pot(session, callback_data.pot)
    await state.set_state(ResultsStates.receipt)
    await state.update_data({POT_KEY: pot.id})
    await query.bot.send_message(query.from_user.id, cards.ask_receipt(), reply_markup=keyboards.back(pot.id))


async def typed(message: Message, session: AsyncSession, state: FSMContext) -> None:
    pot_id = int((await state.get_data()).get(POT_KEY) or 0)
    code = results.clean_receipt(message.text or "")
    counted = await results.was_counted(session, pot_id, code)
    if counted:
        await state.set_state(None)
    await respond(message, cards.receipt_answer(code, counted), keyboards.checked(pot_id))


async def not_text(message: Message) -> None:
    await respond(message, cards.ask_receipt())
