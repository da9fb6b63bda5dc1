"""Callback data factories for the foundation's buttons. Never trusted: handlers re-check everything."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class LangCb(CallbackData, prefix="lang"):
    code: str


class ConsentCb(CallbackData, prefix="consent"):
    accept: bool


class OnboardingCb(CallbackData, prefix="onb"):
    """A way back inside onboarding: to the language or the privacy notice."""

    action: str


class DistrictCb(CallbackData, prefix="dist"):
    id: int


class HoodCb(CallbackData, prefix="hood"):
    id: int


class PageCb(CallbackData, prefix="page"):
    """A page of a paged list: `list` names the list, `parent` narrows it (e.g. the district)."""

    list: str
    page: int
    parent: int = 0


class MenuCb(CallbackData, prefix="menu"):
    action: str


class SettingsCb(CallbackData, prefix="set"):
    action: str
    value: str = ""


class HubCb(CallbackData, prefix="hub"):
    """A section of the staff hub, as declared in the feature manifest (`HubEntry.key`)."""

    section: str


class IdeaCb(CallbackData, prefix="idea"):
    """The resident side of ideas: the ideas menu, the submission form, my ideas."""

    action: str
    id: int = 0
    value: str = ""


class BrowseCb(CallbackData, prefix="ib"):
    """Browsing published ideas: process, sort (n newest, t most supported), filters, page, idea."""

    action: str
    pr: int
    s: str = "n"
    h: int = 0
    t: int = 0
    p: int = 0
    id: int = 0


class ProcessCb(CallbackData, prefix="proc"):
    """Staff: listing and creating processes."""

    action: str
    value: str = ""
