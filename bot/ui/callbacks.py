"""Callback data factories for the foundation's buttons. Never trusted: handlers re-check everything."""

from __future__ import annotations

from typing import Annotated, TypeVar

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

# an id or a page number in button data: a plain non-negative 32-bit integer, so forged data such as
# "hood:100000000000000000000" fails to unpack (the press is "out of date") instead of reaching the database
Id = Annotated[int, Field(ge=0, le=2**31 - 1)]

Pressed = TypeVar("Pressed", bound=CallbackData)


def pressed(factory: type[Pressed], data: str, action: str | None = None) -> Pressed | None:
    """A press's data unpacked by `factory` when it is one of its buttons (with `action`, when given, as
    its first field); None for another button's, or data that does not unpack (left to the router)."""
    head = f"{factory.__prefix__}{factory.__separator__}"
    if action is not None:
        head += f"{action}{factory.__separator__}"
    if not data.startswith(head):
        return None
    try:
        return factory.unpack(data)
    except (TypeError, ValueError):
        return None


class LangCb(CallbackData, prefix="lang"):
    code: str


class ConsentCb(CallbackData, prefix="consent"):
    accept: bool


class OnboardingCb(CallbackData, prefix="onb"):
    """A way back inside onboarding: to the language or the privacy notice."""

    action: str


class DistrictCb(CallbackData, prefix="dist"):
    id: Id


class HoodCb(CallbackData, prefix="hood"):
    id: Id


class PageCb(CallbackData, prefix="page"):
    """A page of a paged list: `list` names the list, `parent` narrows it (e.g. the district)."""

    list: str
    page: Id
    parent: Id = 0


class MenuCb(CallbackData, prefix="menu"):
    action: str


class SettingsCb(CallbackData, prefix="set"):
    action: str
    value: str = ""


class HubCb(CallbackData, prefix="hub"):
    """A section of the staff hub, as declared in the feature manifest (`HubEntry.key`)."""

    section: str


class ProcessCb(CallbackData, prefix="proc"):
    """Staff: listing and creating processes."""

    action: str
    value: str = ""
