"""Routers with their access rule at the router: a feature's staff side, guarded once.

`guarded("ideas.staff", callbacks=(ModCb,), commands=("admin",))` returns `(router, allowed)`: register
the staff handlers on `allowed` (it passes only people holding the role), include `router` in the
feature's router. Anyone else pressing one of those buttons or sending one of those commands is told
the section is for the municipality's staff, by the same router, whatever order features are in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from inspect import isclass
from typing import Any, Literal, TypeVar

from aiogram import Router
from aiogram.dispatcher.event.bases import REJECTED, UNHANDLED, SkipHandler
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.dispatcher.event.telegram import TelegramEventObserver
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


def presses_read_once(root: Router) -> int:
    """Have a press's data read once by each of its factories, however many handlers below `root` check
    it; the number of button filters changed.

    A router's handlers of one factory each have its filter (`BallotCb.filter(F.action == A.POT)`, then
    `… A.CARD`), and aiogram's filter reads the press's data into the factory's model for each, a
    pydantic validation every time: a ballot's press was read up to seven times. Each filter here
    keeps what it read with the press (`_Read`), for the next filter of the same factory to find, and
    otherwise does what aiogram's does (`CallbackQueryFilter`).

    Call it once the routers are included and after `offered_where_taken`."""
    changed = 0
    for router in root.chain_tail:
        for handler in router.callback_query.handlers:
            for found in handler.filters or ():
                check = found.callback
                if type(check) is CallbackQueryFilter:
                    found.callback = _ReadOnce(callback_data=check.callback_data, rule=check.rule)
                    changed += 1
    return changed


class _Read:
    """The press whose data was read last, and what each factory read from it (None: not its data). A
    press read by another update's filters meanwhile is only read again."""

    press: CallbackQuery | None = None
    by_factory: dict[type[CallbackData], CallbackData | None] = {}


class _ReadOnce(CallbackQueryFilter):
    __slots__ = ()

    async def __call__(self, query: CallbackQuery) -> Literal[False] | dict[str, Any]:
        if not isinstance(query, CallbackQuery) or not query.data:
            return False
        if _Read.press is not query:
            _Read.press, _Read.by_factory = query, {}
        factory = self.callback_data
        if factory in _Read.by_factory:
            callback_data = _Read.by_factory[factory]
        else:
            try:
                callback_data = factory.unpack(query.data)
            except (TypeError, ValueError):
                callback_data = None
            _Read.by_factory[factory] = callback_data
        if callback_data is None:
            return False
        if self.rule is None or self.rule.resolve(callback_data):
            return {"callback_data": callback_data}
        return False


def _awaited(check: Callable[..., Any]) -> Callable[..., Any]:
    async def call(*args: Any, **kwargs: Any) -> Any:
        return check(*args, **kwargs)

    return call


def offered_where_taken(root: Router) -> int:
    """Give `root` and every router below it a table of which of its handlers and sub-routers can take
    a press or a message, and have an update offered to those only; the number of routers that their
    parent skips for what they cannot take.

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
    its filters say; so its parent does not offer it. A router with a handler of any other kind (a
    catch-all, like `handlers/fallback`, a regular-expression command, any state) or with an outer
    middleware of its own is offered everything as before, and so is every router above it. In the
    same way, a router checks only those of its own handlers that can take the update, in their order:
    the narrow ones whose prefix, command or state it has, and every other one.

    What a router does with what it is offered is aiogram's (`Router._propagate_event`, `TelegramEvent
    Observer.trigger`): its filters, its handlers' filters in order, its inner middlewares around the
    handler that takes the update, then its sub-routers in order; only the ones that cannot take the
    update are left out (`_Table`). A router with no outer middleware of its own is entered without
    aiogram's wrapping of none (`_enter`).

    Call it once the routers are included and before `filters_on_the_loop`, which wraps the state
    filters this reads (`bot.app.make_dispatcher`)."""
    skipping: set[int] = set()
    tables: dict[int, dict[str, _Table]] = {}
    separators = tuple(
        {
            key[1]
            for router in root.chain_tail
            for handler in router.callback_query.handlers
            for key in _press_key(handler) or ()
        }
    )  # one check per separator, not per prefix
    for update_type, key_of, keys_of_event in (
        ("callback_query", _press_key, partial(_press_keys, separators)),
        ("message", _message_key, _message_keys),
    ):
        for router, table in _tables(root, update_type, key_of, keys_of_event):
            tables.setdefault(id(router), {})[update_type] = table
            skipping.update(id(sub) for sub in router.sub_routers if table.narrow(sub))
    for router in root.chain_tail:
        _dispatch(router, tables[id(router)])
    return len(skipping)


_Key = frozenset[tuple[str, ...]]


@dataclass(frozen=True)
class _Table:
    """A router's handlers and sub-routers of one kind of update, in their order, and, by each key an
    update may have, those of them that can take an update with it."""

    keys_of: Callable[[Any, dict[str, Any]], tuple[tuple[str, ...], ...]]  # an update's keys
    handlers: tuple[HandlerObject, ...]
    routers: tuple[Router, ...]
    by_key: dict[tuple[str, ...], tuple[tuple[HandlerObject, ...], tuple[Router, ...]]]
    others: tuple[tuple[HandlerObject, ...], tuple[Router, ...]]  # what takes an update with no known key
    narrowed: frozenset[int]  # the sub-routers offered only what they can take

    def narrow(self, router: Router) -> bool:
        return id(router) in self.narrowed

    def offered(
        self, event: Any, data: dict[str, Any]
    ) -> tuple[tuple[HandlerObject, ...], tuple[Router, ...]]:
        """The handlers and sub-routers that can take `event`, in their order."""
        found = [self.by_key[key] for key in self.keys_of(event, data) if key in self.by_key]
        if not found:
            return self.others
        if len(found) == 1:
            return found[0]
        handlers = {id(handler) for pair in found for handler in pair[0]}
        routers = {id(router) for pair in found for router in pair[1]}
        return (
            tuple(handler for handler in self.handlers if id(handler) in handlers),
            tuple(router for router in self.routers if id(router) in routers),
        )


def _tables(
    root: Router,
    update_type: str,
    key_of: Callable[[HandlerObject], _Key | None],
    keys_of_event: Callable[[Any, dict[str, Any]], tuple[tuple[str, ...], ...]],
) -> list[tuple[Router, _Table]]:
    made: list[tuple[Router, _Table]] = []

    def keys_of(router: Router) -> _Key | None:
        """What `router` and its sub-routers can take; None if anything. Makes their tables."""
        observer = router.observers[update_type]
        handlers = tuple(observer.handlers)
        routers = tuple(router.sub_routers)
        own = [key_of(handler) for handler in handlers]
        below = [keys_of(sub) for sub in routers]  # every sub-router gets its table, whatever this one is
        by_key: dict[tuple[str, ...], tuple[tuple[HandlerObject, ...], tuple[Router, ...]]] = {}
        for key in frozenset().union(*(keys for keys in own + below if keys is not None)):
            by_key[key] = (
                tuple(h for h, keys in zip(handlers, own, strict=True) if keys is None or key in keys),
                tuple(r for r, keys in zip(routers, below, strict=True) if keys is None or key in keys),
            )
        others = (
            tuple(h for h, keys in zip(handlers, own, strict=True) if keys is None),
            tuple(r for r, keys in zip(routers, below, strict=True) if keys is None),
        )
        narrowed = frozenset(id(r) for r, keys in zip(routers, below, strict=True) if keys is not None)
        made.append((router, _Table(keys_of_event, handlers, routers, by_key, others, narrowed)))
        if len(observer.outer_middleware) > 0 or any(keys is None for keys in own + below):
            return None
        return frozenset().union(*own, *below)

    keys_of(root)
    return made


def _dispatch(router: Router, tables: dict[str, _Table]) -> None:
    """Have `router` offer a press or a message only to what its table says can take it."""
    propagate, propagate_inner = router.propagate_event, router._propagate_event  # noqa: SLF001

    async def offer(
        observer: TelegramEventObserver, update_type: str, event: Any, kwargs: dict[str, Any], table: _Table
    ) -> Any:
        # aiogram's `Router._propagate_event` and `TelegramEventObserver.trigger`, over the table's part
        result, data = await observer.check_root_filters(event, **kwargs)
        if not result:
            return UNHANDLED
        kwargs.update(data)
        handlers, routers = table.offered(event, kwargs)
        response = UNHANDLED
        if handlers:
            checked = dict(kwargs)  # what the handlers' filters add stays with them, as in `trigger`
            for handler in handlers:
                checked["handler"] = handler
                result, data = await handler.check(event, **checked)
                if not result:
                    continue
                checked.update(data)
                wrapped = observer.outer_middleware.wrap_middlewares(
                    observer._resolve_middlewares(),  # noqa: SLF001
                    handler.call,
                )
                try:
                    response = await wrapped(event, checked)
                except SkipHandler:
                    continue
                break
        if response is REJECTED:
            return UNHANDLED
        if response is not UNHANDLED:
            return response
        for sub in routers:
            response = await sub.propagate_event(update_type=update_type, event=event, **kwargs)
            if response is not UNHANDLED:
                break
        return response

    async def _propagate_event(
        observer: TelegramEventObserver | None, update_type: str, event: Any, **kwargs: Any
    ) -> Any:
        table = tables.get(update_type)
        if table is None or observer is None:
            return await propagate_inner(observer=observer, update_type=update_type, event=event, **kwargs)
        return await offer(observer, update_type, event, kwargs, table)

    async def _enter(update_type: str, event: Any, **kwargs: Any) -> Any:
        observer = router.observers.get(update_type)
        table = tables.get(update_type)
        if table is None or observer is None or len(observer.outer_middleware) > 0:
            return await propagate(update_type, event, **kwargs)
        kwargs["event_router"] = router
        return await offer(observer, update_type, event, kwargs, table)

    router._propagate_event = _propagate_event  # type: ignore[method-assign]  # noqa: SLF001
    router.propagate_event = _enter  # type: ignore[method-assign]


def _press_key(handler: HandlerObject) -> _Key | None:
    """("data", separator, prefix) of the press data a handler can take, or None if it can take any."""
    for found in handler.filters or ():
        if isinstance(found.callback, CallbackQueryFilter):
            factory = found.callback.callback_data
            return frozenset({("data", factory.__separator__, factory.__prefix__)})
    return None


def _press_keys(
    separators: tuple[str, ...], event: Any, _kwargs: dict[str, Any]
) -> tuple[tuple[str, ...], ...]:
    """A press's data's first part, by each separator the tree's factories have."""
    data = event.data or ""
    return tuple(("data", separator, data.split(separator, 1)[0]) for separator in separators)


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


def _message_keys(event: Any, kwargs: dict[str, Any]) -> tuple[tuple[str, ...], ...]:
    """A message's state, and its first word as a command (as written, and in lower case)."""
    state = ("state", kwargs.get("raw_state"))
    text = event.text or event.caption
    words = text.split(maxsplit=1) if text else ()
    if not words:
        return (state,)
    prefix, name = words[0][0], words[0][1:].partition("@")[0]
    folded = name.casefold()
    if folded == name:
        return state, ("command", prefix, name)
    return state, ("command", prefix, name), ("command", prefix, folded)


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
