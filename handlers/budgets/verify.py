"""Verifying before the ballot of a process that asks for it: one's own contact (phone) or a one-time
code (code). The services decide (`bot.services.budgets.verification`); every ballot action checks
again (`budgets.ballot_view`, `budgets.pot_for`), so leaving this conversation skips nothing."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import CitySpec
from bot.services import budgets
from bot.services.budgets import verification
from bot.services.residents import Viewer
from bot.ui.budgets import drafts, screens
from bot.ui.budgets import verify as screen
from bot.ui.errors import Refusal, refuse
from bot.ui.messages import respond


async def ask(event: Message | CallbackQuery, state: FSMContext, found: budgets.Gate, lang: str) -> None:
    """Ask for what the pot's process needs (called when a pot is opened before verifying)."""
    await state.set_state(screen.Verify.phone if found.pending == budgets.rules.PHONE else screen.Verify.code)
    await state.update_data({screen.POT_KEY: found.pot.id})
    text, keyboard = screen.prompt(found.pending or "", budgets.pot_name(found.pot, lang))
    message = event.message if isinstance(event, CallbackQuery) else event
    await respond(message, text, keyboard)


async def _pot(state: FSMContext) -> int:
    return int((await state.get_data()).get(screen.POT_KEY) or 0)


async def _done(
    message: Message, state: FSMContext, session: AsyncSession, viewer: Viewer, lang: str, city: CitySpec
) -> None:
    pot_id = await _pot(state)
    await state.set_state(None)
    view = await drafts.view(state, session, viewer.resident, pot_id)
    await respond(message, screen.verified_text(view.pot.process.verification), screen.removed())
    text, keyboard = screens.pot_screen(view, 0, city, lang)
    await respond(message, text, keyboard)


async def contact(
    message: Message, state: FSMContext, session: AsyncSession, viewer: Viewer, lang: str, city: CitySpec
) -> None:
    found = await budgets.gate(session, viewer.resident, await _pot(state))
    shared = message.contact
    if shared is None:  # pragma: no cover - registered for contacts only
        raise Refusal(screen.use_the_button_text())
    if found.pending is not None:  # (None: verified meanwhile on another device)
        await verification.verify_phone(
            session, viewer.resident, found.pot.process, shared.phone_number, shared.user_id
        )
    await _done(message, state, session, viewer, lang, city)


async def code(
    message: Message, state: FSMContext, session: AsyncSession, viewer: Viewer, lang: str, city: CitySpec
) -> None:
    if message.text == screen.cancel_label():
        await cancel(message, state)
        return
    found = await budgets.gate(session, viewer.resident, await _pot(state))
    if found.pending is None:  # verified meanwhile (another device): nothing to type
        await _done(message, state, session, viewer, lang, city)
        return
    refused = await verification.redeem_code(session, viewer.resident, found.pot.process, message.text or "")
    if refused is not None:  # answered, not raised: the wrong try is kept, so that tries are throttled
        await refuse(message, refused, {"lang": lang, "city": city})
        return
    await _done(message, state, session, viewer, lang, city)


async def cancel(message: Message, state: FSMContext) -> None:
    await state.set_state(None)
    await respond(message, screen.cancelled_text(), screen.removed())


async def use_the_button(message: Message, state: FSMContext) -> None:
    """Anything but a contact while a contact is asked for (a typed number, a sticker, a photo)."""
    if message.text == screen.cancel_label():
        await cancel(message, state)
        return
    raise Refusal(screen.use_the_button_text())


async def type_the_code(message: Message) -> None:
    raise Refusal(screen.type_code_text())
