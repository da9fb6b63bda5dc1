"""The sandbox: a faithful local stand-in for Telegram (Bot API emulator, simulated people, web chat)."""

from bot.sandbox.emulator import Emulator
from bot.sandbox.limits import Limits

__all__ = ["Emulator", "Limits"]
