"""The real Pabulib elections the tally is checked on (`../shared/pabulib/` beside the project)."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

from bot.tally import Election, pabulib

PABULIB = Path(os.environ.get("PABULIB_DIR", Path(__file__).resolve().parents[3] / "shared" / "pabulib"))
ASSEN = "Netherlands_Assen_2024.pb"
SWIECIE = "Poland_Swiecie_2023.pb"
WIELICZKA = "Poland_Wieliczka_2023_Green_Budget.pb"
MOKOTOW = "Poland_Warszawa_2023_Mokotow.pb"
AMSTERDAM = "Netherlands_Amsterdam_309.pb"
TOULOUSE = "France_Toulouse_2019.pb"
ALL_FILES = (ASSEN, SWIECIE, WIELICZKA, MOKOTOW, AMSTERDAM, TOULOUSE)


def path_of(name: str) -> Path:
    path = PABULIB / name
    if not path.exists():
        pytest.skip(f"{path} is not here")
    return path


@functools.cache
def _load(name: str) -> Election:
    return pabulib.read(PABULIB / name)


def load(name: str) -> Election:
    """A real election, read once per test session."""
    path_of(name)
    return _load(name)
