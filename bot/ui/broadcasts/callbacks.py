"""Callback data of the broadcasts feature."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class BroadcastAction(StrEnum):
    HOME = "home"  # the staff screen: new, and the scheduled ones
    NEW = "new"
    CANCEL = "cancel"  # a scheduled one, before its time
    STOP = "stop"  # a resident's "Stop these messages" under a broadcast


class BroadcastCb(CallbackData, prefix="bc"):
    action: BroadcastAction
    id: int = 0
