from aiogram.fsm.state import State, StatesGroup


class ResultsStates(StatesGroup):
    receipt = State()  # a receipt code is typed next; the pot is in the data as "results_pot"
