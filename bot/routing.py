"""Routers with their access rule at the router: a feature's staff side, guarded once.

`guarded("ideas.staff", callbacks=(ModCb,), commands=("admin",))` returns `(router, allowed)`: register
the staff handlers on `allowed` (it passes only people holding the role), include `router` in the
feature's router. Anyone else pressing one of those buttons or sending one of those commands is told
the section is for the municipality's staff, by the same router, whatever order features are in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from aiogram import Router
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.filters import Command, Filter
from aiogram.filters.callback_data import CallbackData, CallbackQueryFilter
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.filters import HasRole, Onboarded, Private
from bot.services.roles import STAFF

F_ = TypeVar("F_", bound=Callable[..., Any])


def refusal_text() -> str:
    return _("This is for the municipality's staff only.")


def _refuser(text: Callable[[], str]) -> tuple[Callable[..., Any], Callable[..., Any]]:
    async def refuse_button(query: CallbackQuery, callback_answer: CallbackAnswer) -> None:
        callback_answer.text, callback_answer.show_alert = text(), True

    async def refuse_command(message: Message) -> None:
        await message.answer(text())

    return refuse_button, refuse_command


def private_router(name: str) -> Router:
    """A router for private chats only (a group gets nothing from a feature's handlers)."""
    router = Router(name=name)
    router.message.filter(Private())
    router.callback_query.filter(Private())
    return router


def gated(
    name: str,
    allow: Filter,
    refusal: Callable[[], str],
    *,
    callbacks: tuple[type[CallbackData], ...] = (),
    commands: tuple[str, ...] = (),
    buttons: tuple[Any, ...] = (),
) -> tuple[Router, Router]:
    """`(router, allowed)`: handlers registered on `allowed` run only for people `allow` passes; anyone
    else pressing a button of `callbacks` (every button of those factories) or of `buttons` (further
    button filters), or sending one of `commands`, is told `refusal()` by the same router."""
    router = private_router(name)
    allowed = Router(name=f"{name}.allowed")
    allowed.message.filter(allow)
    allowed.callback_query.filter(allow)
    refused = Router(name=f"{name}.refused")
    refused.message.filter(~allow)
    refused.callback_query.filter(~allow)
    refuse_button, refuse_command = _refuser(refusal)
    for factory in callbacks:
        refused.callback_query.register(refuse_button, factory.filter())
    for button_filter in buttons:
        refused.callback_query.register(refuse_button, button_filter)
    for command in commands:
        refused.message.register(refuse_command, Command(command))
    router.include_routers(allowed, refused)
    return router, allowed


def guarded(
    name: str,
    role: str = STAFF,
    *,
    callbacks: tuple[type[CallbackData], ...] = (),
    commands: tuple[str, ...] = (),
    buttons: tuple[Any, ...] = (),
) -> tuple[Router, Router]:
    """`gated` on a role: a feature's staff side."""
    return gated(name, HasRole(role), refusal_text, callbacks=callbacks, commands=commands, buttons=buttons)


def onboarded(
    name: str,
    *,
    callbacks: tuple[type[CallbackData], ...] = (),
    commands: tuple[str, ...] = (),
    buttons: tuple[Any, ...] = (),
) -> tuple[Router, Router]:
    """`gated` on onboarding: what needs the person's neighborhood."""
    return gated(name, Onboarded(), setup_text, callbacks=callbacks, commands=commands, buttons=buttons)


def setup_text() -> str:
    return _("Let's set you up first: send /start.")


class Handlers:
    """Handlers declared with decorators at module level, registered on a fresh Router per Dispatcher.

    handlers = Handlers()

    @handlers.callback_query(IdeaCb.filter(F.action == "view"))
    async def view(...): ...

    def make_router() -> Router:
        router = private_router("ideas")
        handlers.register(router)
        return router
    """

    def __init__(self) -> None:
        self._entries: list[tuple[str, Any, tuple[Any, ...], dict[str, Any]]] = []

    def _add(self, kind: str, filters: tuple[Any, ...], kwargs: dict[str, Any]) -> Callable[[F_], F_]:
        def decorate(func: F_) -> F_:
            self._entries.append((kind, func, filters, kwargs))
            return func

        return decorate

    def message(self, *filters: Any, **kwargs: Any) -> Callable[[F_], F_]:
        return self._add("message", filters, kwargs)

    def callback_query(self, *filters: Any, **kwargs: Any) -> Callable[[F_], F_]:
        return self._add("callback_query", filters, kwargs)

    def register(self, router: Router) -> Router:
        for kind, func, filters, kwargs in self._entries:
            getattr(router, kind).register(func, *filters, **kwargs)
        return router


def filters_on_the_loop(root: Router) -> int:
    """Have every plain-function filter below `root` called on the event loop; the number changed.

    aiogram calls a filter that is not a coroutine function (a `State` given as a filter, an `F` rule)
    through `asyncio.to_thread`: a hop to a worker thread and back for each check. Every update is
    checked against many handlers' filters on its way (each callback query passes the onboarding and
    settings pickers' state filters), so on the ballot these hops were about a twentieth of the bot's
    CPU. Such filters are quick predicates on the event that never block, so they are awaited directly.
    Call it once the routers are included (`bot.app.make_dispatcher`)."""
    changed = 0
    for router in root.chain_tail:
        for observer in router.observers.values():
            for handler in observer.handlers:
                for found in handler.filters or ():
                    if not found.awaitable:
                        found.callback, found.awaitable = _awaited(found.callback), True
                        changed += 1
    return changed


def _awaited(check: Callable[..., Any]) -> Callable[..., Any]:
    async def call(*args: Any, **kwargs: Any) -> Any:
        return check(*args, **kwargs)

    return call


def callbacks_by_prefix(root: Router) -> int:
    """Have a press skip, in one check, every router below `root` that no handler of can take it; the
    number of routers that skip.

    aiogram offers a callback query to every router in turn, and each copies the update's data, runs
    its own filters and then every handler's (each `CallbackData` filter parsing the press's data and
    raising on a wrong prefix): a press on the ballot passed some forty routers and a hundred handlers
    before its own. Nearly every button handler has a `CallbackData` filter, which takes only data
    whose first part is its factory's prefix, so a router whose handlers (and sub-routers' handlers)
    all have one can take only those prefixes, and a press with another is unhandled there whatever
    else its filters say. A router with a handler of any other kind, or with an outer middleware of
    its own, is offered every press as before, and so is every router above it. Call it once the
    routers are included (`bot.app.make_dispatcher`)."""
    skipping = 0

    def heads_of(router: Router) -> frozenset[tuple[str, str]] | None:
        nonlocal skipping
        observer = router.observers["callback_query"]
        heads: set[tuple[str, str]] = set()
        takes_any = len(observer.outer_middleware) > 0
        for handler in observer.handlers:
            head = _head(handler)
            if head is None:
                takes_any = True
            else:
                heads.add(head)
        for sub in router.sub_routers:
            below = heads_of(sub)
            if below is None:
                takes_any = True
            else:
                heads |= below
        if takes_any:
            return None
        _skip_others(router, frozenset(heads))
        skipping += 1
        return frozenset(heads)

    heads_of(root)
    return skipping


def _head(handler: HandlerObject) -> tuple[str, str] | None:
    """(separator, prefix) of the press data a handler can take, or None if it can take any."""
    for found in handler.filters or ():
        if isinstance(found.callback, CallbackQueryFilter):
            factory = found.callback.callback_data
            return factory.__separator__, factory.__prefix__
    return None


def _skip_others(router: Router, heads: frozenset[tuple[str, str]]) -> None:
    separators = tuple({separator for separator, _ in heads})
    offer = router.propagate_event

    async def propagate_event(update_type: str, event: Any, **kwargs: Any) -> Any:
        if update_type == "callback_query":
            data = event.data or ""
            if not any((separator, data.split(separator, 1)[0]) in heads for separator in separators):
                return UNHANDLED
        return await offer(update_type, event, **kwargs)

    router.propagate_event = propagate_event  # type: ignore[method-assign]
