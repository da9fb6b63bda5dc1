"""The feature manifest: what each feature brings to the bot, one entry per feature.

A feature is its own folders (`handlers/<feature>/`, `bot/ui/<feature>/`, `bot/services/<feature>/`,
its models and migration) plus one `Feature(...)` line in `FEATURES`. Everything the rest of the bot
needs to know about it is declared here: its router, its main-menu entry, its staff-hub entry, its
commands, its throttling rates, its presses and commands that only show something, the reads its
presses make first (made in the person's read), the notification categories residents can turn off,
its demo data and what it adds to a person's data export. The bot assembles itself from this list
(`bot/app.py`, `handlers.routers()`, the main menu, the staff hub, `/settings`, the sandbox demo), so
nothing else is edited when a feature lands. Modelled on Decidim's component manifests.

References to code are "module:attribute" strings, resolved when needed, so this module imports
nothing of aiogram and can be read by services, the UI and the command line alike.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.i18n import N_


@dataclass(frozen=True)
class MenuEntry:
    """A button in the main menu: `key` is what the feature's router listens for (`MenuCb(action=key)`)."""

    key: str
    label: str
    order: int
    staff_only: bool = False


@dataclass(frozen=True)
class HubEntry:
    """A button in the staff hub (`HubCb(section=key)`); `count` ("module:function(session) -> int"),
    when given, is shown in the label as `{count}`."""

    key: str
    label: str
    order: int
    count: str | None = None


@dataclass(frozen=True)
class Command:
    """A command in Telegram's "/" menu, with its description (a message id, translated per language)."""

    name: str
    description: str
    order: int
    staff_only: bool = False


@dataclass(frozen=True)
class Category:
    """A kind of notification a resident can turn off in /settings."""

    key: str
    label: str
    default: bool = True


@dataclass(frozen=True)
class Feature:
    name: str
    router: str | None = None  # "module:make_router"; called once per Dispatcher
    menu: tuple[MenuEntry, ...] = ()
    hub: tuple[HubEntry, ...] = ()
    commands: tuple[Command, ...] = ()
    throttling: dict[str, float] = field(default_factory=dict)  # throttling_key → seconds between two
    notifications: tuple[Category, ...] = ()
    demo: str | None = None  # "module:function(session, city)": sample data for the sandbox
    exports: tuple[str, ...] = ()  # modules that register what the feature holds about a person
    order: int = 50  # routers are tried in this order (lower first)
    pitch: str | None = None  # one line for the welcome message: what a resident can do with it
    # presses and commands that only show something: a press by its packed data up to its action
    # ("ib:list" for `BrowseCb(action=LIST, ...)`), a command as typed ("/help"); handled with no
    # transaction and not recorded (`bot.middlewares.resident`), so a write in one is refused
    views: tuple[str, ...] = ()
    # reads a press's or a command's handler makes first, made in the person's read instead:
    # "module:function", the function given a press's data or a command as typed ("/settings") and
    # answering the read (`bot.services.residents.Beside`) with its parameters, or None for an update
    # that makes none (`bot.middlewares.resident`)
    beside: tuple[str, ...] = ()


def resolve(reference: str) -> Any:
    """The object a "module:attribute" reference names."""
    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)


FEATURES: tuple[Feature, ...] = (
    Feature(
        "core",
        router="handlers.core:make_router",
        order=0,
        menu=(MenuEntry("help", N_("❓ Help"), order=90),),
        commands=(
            Command("start", N_("Start, or open the main menu"), order=0),
            Command("menu", N_("The main menu"), order=1),
            Command("help", N_("How Meydan works"), order=80),
            Command("cancel", N_("Stop what you are doing"), order=90),
        ),
        throttling={"default": 0.3},
        views=("/help", "/menu", "menu:help", "menu:menu", "menu:privacy"),
    ),
    Feature("onboarding", router="handlers.onboarding:make_router", order=10),
    Feature(
        "settings",
        router="handlers.settings:make_router",
        order=20,
        menu=(MenuEntry("settings", N_("⚙️ Settings"), order=80),),
        commands=(Command("settings", N_("Language, neighborhood, notifications"), order=70),),
        exports=("bot.services.privacy",),
        views=("/settings", "menu:settings", "set:language", "set:privacy"),
        beside=("bot.ui.settings:settings_screen",),
    ),
    Feature(
        "hub",
        router="handlers.hub:make_router",
        order=30,
        menu=(MenuEntry("admin", N_("🛠 Staff tools"), order=95, staff_only=True),),
        commands=(Command("admin", N_("Tools for the municipal team"), order=95, staff_only=True),),
        views=("/admin", "menu:admin"),
    ),
    Feature(
        "processes",
        router="handlers.processes:make_router",
        order=40,
        hub=(HubEntry("processes", N_("📅 Processes"), order=90),),
        throttling={"process_send": 2.0},
        views=("hub:processes", "proc:list"),
    ),
    Feature(
        "ideas",
        router="handlers.ideas:make_router",
        order=50,
        menu=(MenuEntry("ideas", N_("💡 Ideas"), order=10),),
        hub=(
            HubEntry(
                "ideas-queue",
                N_("🗂 Ideas to review ({count})"),
                order=10,
                count="bot.services.ideas:queue_count",
            ),
            HubEntry("ideas-published", N_("✅ Published ideas"), order=20),
        ),
        commands=(Command("ideas", N_("Share and support ideas"), order=10),),
        throttling={"idea_send": 2.0, "idea_support": 0.7},
        views=(
            "/ideas",
            "menu:ideas",
            "idea:home",
            "idea:browse",
            "idea:mine",
            "idea:my",
            "idea:open",
            "ib:list",
            "ib:view",
            "ib:hoods",
            "ib:themes",
            "hub:ideas-queue",
            "hub:ideas-published",
            "mod:queue",
            "mod:next",
            "mod:card",
            "mod:published",
        ),
        notifications=(Category("ideas", N_("Decisions on my ideas")),),
        pitch=N_("💡 share ideas for your neighborhood or the whole city, and support the ideas of others"),
        demo="bot.services.demo:seed_ideas",
        exports=("bot.services.idea_exports",),
        beside=("bot.ui.ideas.callbacks:idea_card", "bot.ui.ideas.callbacks:idea_list"),
    ),
    Feature(
        "budgets",
        router="handlers.budgets:make_router",
        order=55,
        menu=(MenuEntry("budget", N_("🗳 Budget vote"), order=20),),
        hub=(
            HubEntry("budgets", N_("💰 Budgets"), order=30),
            HubEntry("budget-verification", N_("🔐 Voting verification"), order=40),
        ),
        commands=(Command("budget", N_("Vote on the participatory budget"), order=20),),
        throttling={"ballot_toggle": 0.3, "ballot_confirm": 1.0, "budget_setup": 2.0},
        views=(
            "/budget",
            "menu:budget",
            "pb:home",
            "pb:pot",
            "pb:card",
            "pb:review",
            "hub:budgets",
            "hub:budget-verification",
            "pbs:ps",
            "pbs:p",
            "pbs:pot",
            "pbs:pj",
            "pbs:ideas",
            "pbv:list",
            "pbv:open",
        ),
        beside=("bot.ui.budgets.callbacks:ballot_gate",),
        notifications=(Category("implementation", N_("Implementation of projects I voted for")),),
        pitch=N_("🗳 vote on how the participatory budget is spent"),
        demo="bot.services.budgets.demo:seed_budget",
        exports=("bot.services.budgets.exports",),
    ),
    Feature(
        "results",
        router="handlers.results:make_router",
        order=56,
        menu=(MenuEntry("results", N_("📊 Budget results"), order=21),),
        commands=(Command("results", N_("Results of the participatory budget"), order=21),),
        throttling={"results_file": 2.0},
        views=("/results", "menu:results", "res:home", "res:sum", "res:projects", "res:project", "res:open"),
    ),
    Feature(
        "broadcasts",
        router="handlers.broadcasts:make_router",
        order=60,
        hub=(
            HubEntry(
                "broadcasts",
                N_("📣 Broadcasts ({count} scheduled)"),
                order=50,
                count="bot.services.broadcasts:scheduled_count",
            ),
        ),
        commands=(Command("broadcast", N_("Write to residents"), order=96, staff_only=True),),
        throttling={"broadcast_send": 2.0},
        views=("hub:broadcasts", "bc:home"),
        notifications=(
            Category("phases", N_("When a process opens or closes")),
            Category("news", N_("City news")),
        ),
    ),
    Feature("fallback", router="handlers.fallback:make_router", order=1000),
)


_active: tuple[Feature, ...] = FEATURES


def features(extra: Iterable[Feature] = ()) -> list[Feature]:
    """The features in router order; `extra` adds features (a test registers a tiny one this way)."""
    return sorted((*FEATURES, *extra), key=lambda f: f.order)


def activate(extra: Iterable[Feature] = ()) -> list[Feature]:
    """The features of the bot being built: what the menu, the hub, /settings and the rest read."""
    global _active
    found = features(extra)
    _active = tuple(found)
    return found


def load_exporters() -> None:
    """Import every feature's `exports` modules: each registers, on import, what the feature holds
    about a person (`bot.services.privacy.exporter`)."""
    for feature in (*FEATURES, *_active):
        for module in feature.exports:
            importlib.import_module(module)


def menu_entries() -> list[MenuEntry]:
    return sorted((e for f in _active for e in f.menu), key=lambda e: e.order)


def hub_entries() -> list[HubEntry]:
    return sorted((e for f in _active for e in f.hub), key=lambda e: e.order)


def commands() -> list[Command]:
    return sorted((c for f in _active for c in f.commands), key=lambda c: c.order)


def categories() -> list[Category]:
    return [c for f in _active for c in f.notifications]


def pitches() -> list[str]:
    return [f.pitch for f in _active if f.pitch]


def views() -> tuple[str, ...]:
    return tuple(v for f in _active for v in f.views)


def beside() -> tuple[Any, ...]:
    """The functions of every feature's `beside`, resolved."""
    return tuple(resolve(reference) for f in _active for reference in f.beside)


def throttling_rates() -> dict[str, float]:
    rates: dict[str, float] = {}
    for feature in _active:
        rates.update(feature.throttling)
    return rates
