from aiogram.fsm.state import State, StatesGroup


class SettingsPlace(StatesGroup):
    district = State()
    neighborhood = State()
