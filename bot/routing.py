"""Routers with their access rule at the router: a feature's staff side, guarded once.

`guarded("ideas.staff", callbacks=(ModCb,), commands=("admin",))` returns `(router, allowed)`: register
the staff handlers on `allowed` (it passes only people holding the role), include `router` in the
feature's router. Anyone else pressing one of those buttons or sending one of those commands is told
the section is for the municipality's staff, by the same router, whatever order features are in.
"""

from __future__ import annotations

from collections.abc import Callable
from inspect import isclass
from typing import Any, TypeVar

from aiogram import Router
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.filters import Command, Filter, StateFilter
from aiogram.filters.callback_data import CallbackData, CallbackQueryFilter
from aiogram.fsm.state import State, StatesGroup
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


def offered_where_taken(root: Router) -> int:
    """Have a press or a message skip, in one check, every router below `root` that none of whose
    handlers can take it; the number of routers that skip something.

    aiogram offers an update to every router in turn, and each copies the update's data, runs its own
    filters and then every handler's: a press on the ballot passed some forty routers and a hundred
    handlers before its own (each `CallbackData` filter parsing the press's data and raising on a wrong
    prefix), and a typed neighborhood as many. Yet nearly every handler is narrow:

    - a button's handler has a `CallbackData` filter, which takes only data whose first part is its
      factory's prefix;
    - a message's handler has a `Command` filter (the text's first word is that command) or a state
      filter (the person's conversation is in that state).

    A router whose handlers, and its sub-routers' handlers, are all narrow can take only those
    prefixes, commands and states, and an update with none of them is unhandled there, whatever else
    its filters say; so it is not offered. A router with a handler of any other kind (a catch-all, like
    `handlers/fallback`, a regular-expression command, any state) or with an outer middleware of its
    own is offered everything as before, and so is every router above it.

    Call it once the routers are included and before `filters_on_the_loop`, which wraps the state
    filters this reads (`bot.app.make_dispatcher`)."""
    skipping = set()
    for update_type, key_of in (("callback_query", _press_key), ("message", _message_key)):
        for router in _narrow(root, update_type, key_of):
            skipping.add(id(router))
    return len(skipping)


_Key = frozenset[tuple[str, ...]]


def _narrow(root: Router, update_type: str, key_of: Callable[[HandlerObject], _Key | None]) -> list[Router]:
    narrowed: list[Router] = []

    def keys_of(router: Router) -> _Key | None:
        observer = router.observers[update_type]
        # every sub-router is indexed, whatever this router's own handlers are
        found = [key_of(handler) for handler in observer.handlers] + [
            keys_of(sub) for sub in router.sub_routers
        ]
        if len(observer.outer_middleware) > 0 or any(keys is None for keys in found):
            return None
        keys: _Key = frozenset().union(*found)
        _skip_others(router, update_type, keys)
        narrowed.append(router)
        return keys

    keys_of(root)
    return narrowed


def _press_key(handler: HandlerObject) -> _Key | None:
    """("data", separator, prefix) of the press data a handler can take, or None if it can take any."""
    for found in handler.filters or ():
        if isinstance(found.callback, CallbackQueryFilter):
            factory = found.callback.callback_data
            return frozenset({("data", factory.__separator__, factory.__prefix__)})
    return None


def _message_key(handler: HandlerObject) -> _Key | None:
    """("command", prefix, name) for each command a handler can take, or ("state", name) for each state
    it can take a message in; None if it can take any message."""
    callbacks = [found.callback for found in handler.filters or ()]
    for check in callbacks:
        if isinstance(check, Command):
            if any(not isinstance(command, str) for command in check.commands):
                return None  # a regular expression
            return frozenset(
                ("command", prefix, command) for prefix in check.prefix for command in check.commands
            )
    for check in callbacks:
        states = _states_of(check)
        if states is not None:
            return None if "*" in states else frozenset(("state", state) for state in states)
    return None


def _states_of(check: Any) -> set[str | None] | None:
    """The states (None: no state, "*": any) a state filter takes; None if `check` is not one."""
    if isinstance(check, State):
        return {check.state}
    if not isinstance(check, StateFilter):
        return None
    states: set[str | None] = set()
    for allowed in check.states:
        if allowed is None or isinstance(allowed, str):
            states.add(allowed)
        elif isinstance(allowed, State):
            states.add(allowed.state)
        elif isinstance(allowed, StatesGroup) or (isclass(allowed) and issubclass(allowed, StatesGroup)):
            states |= set(allowed.__all_states_names__)
        else:
            states.add("*")
    return states


def _message_offered(keys: _Key, event: Any, kwargs: dict[str, Any]) -> bool:
    if ("state", kwargs.get("raw_state")) in keys:
        return True
    text = event.text or event.caption
    words = text.split(maxsplit=1) if text else ()
    if not words:
        return False
    prefix, name = words[0][0], words[0][1:].partition("@")[0]
    return ("command", prefix, name) in keys or ("command", prefix, name.casefold()) in keys


def _skip_others(router: Router, kind: str, keys: _Key) -> None:
    if kind == "callback_query":
        separators = tuple({key[1] for key in keys})  # one check per separator, not per prefix

        def offered(event: Any, _kwargs: dict[str, Any]) -> bool:
            data = event.data or ""
            return any(("data", separator, data.split(separator, 1)[0]) in keys for separator in separators)

    else:

        def offered(event: Any, kwargs: dict[str, Any]) -> bool:
            return _message_offered(keys, event, kwargs)

    propagate = router.propagate_event

    async def propagate_event(update_type: str, event: Any, **kwargs: Any) -> Any:
        if update_type == kind and not offered(event, kwargs):
            return UNHANDLED
        return await propagate(update_type, event, **kwargs)

    router.propagate_event = propagate_event  # type: ignore[method-assign]
