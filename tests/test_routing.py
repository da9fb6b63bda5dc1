"""A press or a message is offered only to the routers and handlers that can take it
(`bot.routing.offered_where_taken`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from aiogram import BaseMiddleware, Bot, Dispatcher, F, Router
from aiogram.filters import Command, Filter, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import CallbackQuery, Chat, Message, Update, User

from bot.routing import offered_where_taken, presses_read_once


class Ballot(CallbackData, prefix="bal"):
    n: int


class Idea(CallbackData, prefix="idea"):
    n: int


def _press(data: str, update_id: int = 1) -> Update:
    person = User(id=7, is_bot=False, first_name="Ayşe")
    message = Message(message_id=1, date=datetime.now(UTC), chat=Chat(id=7, type="private"), text="…")
    query = CallbackQuery(id=str(update_id), from_user=person, chat_instance="c", message=message, data=data)
    return Update(update_id=update_id, callback_query=query)


class _Offered(Filter):
    """A router-level filter that notes every update offered to its router and lets it through."""

    def __init__(self, name: str, offered: list[str]) -> None:
        self.name, self.offered = name, offered

    async def __call__(self, _event: CallbackQuery | Message) -> bool:
        self.offered.append(self.name)
        return True


def _tree(handled: list[str], offered: list[str], *, catch_all: bool = True) -> Dispatcher:
    dp = Dispatcher()
    ideas, inner, ballots = Router(name="ideas"), Router(name="ideas.inner"), Router(name="ballots")
    for router in (ideas, inner, ballots):
        router.callback_query.filter(_Offered(router.name, offered))

    @inner.callback_query(Idea.filter())
    async def idea(_query: CallbackQuery) -> None:
        handled.append("idea")

    @ballots.callback_query(Ballot.filter())
    async def ballot(_query: CallbackQuery) -> None:
        handled.append("ballot")

    ideas.include_router(inner)
    dp.include_routers(ideas, ballots)
    if catch_all:
        anything = Router(name="anything")

        @anything.callback_query()
        async def other(_query: CallbackQuery) -> None:
            handled.append("other")

        dp.include_router(anything)
    return dp


async def test_a_press_skips_the_routers_that_cannot_take_it_and_reaches_its_own() -> None:
    handled: list[str] = []
    offered: list[str] = []
    dp = _tree(handled, offered)
    offered_where_taken(dp)
    bot = Bot("123:abc")
    try:
        await dp.feed_update(bot, _press("bal:1"))
        assert (handled, offered) == (["ballot"], ["ballots"])
        await dp.feed_update(bot, _press("idea:2", 2))
        assert handled[-1] == "idea" and offered[1:] == ["ideas", "ideas.inner"]
        offered.clear()
        await dp.feed_update(bot, _press("other:3", 3))
        await dp.feed_update(bot, _press("", 4))
        assert handled[2:] == ["other", "other"] and offered == []
        await dp.feed_update(bot, _press("bal", 5))  # the prefix alone: offered, and not a ballot
        assert handled[4:] == ["other"] and offered == ["ballots"]
    finally:
        await bot.session.close()


async def _without_and_with_the_index(
    tree: Callable[[list[str]], Dispatcher], presses: list[str]
) -> list[list[str]]:
    """What the handlers of `tree` noted for `presses`, as aiogram offers them, then with the tables."""
    runs = []
    for index in (False, True):
        handled: list[str] = []
        dp = tree(handled)
        if index:
            offered_where_taken(dp)
        bot = Bot("123:abc")
        try:
            for number, data in enumerate(presses, 1):
                await dp.feed_update(bot, _press(data, number))
        finally:
            await bot.session.close()
        runs.append(handled)
    return runs


async def test_the_same_presses_are_handled_with_and_without_the_index() -> None:
    presses = ["bal:1", "idea:2", "bal:x", "idea:1:2", "other:3", "", "bal"]
    runs = await _without_and_with_the_index(lambda handled: _tree(handled, [], catch_all=False), presses)
    assert runs[0] == runs[1] == ["ballot", "idea"]


class _Counted(Filter):
    """A handler's filter that counts the presses it is asked about and lets them through."""

    def __init__(self, name: str, asked: list[str]) -> None:
        self.name, self.asked = name, asked

    async def __call__(self, _event: CallbackQuery) -> bool:
        self.asked.append(self.name)
        return True


async def test_a_router_checks_only_those_of_its_handlers_that_can_take_the_press() -> None:
    handled: list[str] = []
    asked: list[str] = []
    dp = Dispatcher()
    router = Router(name="mixed")

    @router.callback_query(_Counted("idea", asked), Idea.filter())
    async def idea(_query: CallbackQuery) -> None:
        handled.append("idea")

    @router.callback_query(_Counted("any, first", asked), lambda query: query.data == "other:1")
    async def first(_query: CallbackQuery) -> None:
        handled.append("any, first")

    @router.callback_query(_Counted("ballot", asked), Ballot.filter())
    async def ballot(_query: CallbackQuery) -> None:
        handled.append("ballot")

    dp.include_router(router)
    offered_where_taken(dp)
    bot = Bot("123:abc")
    try:
        await dp.feed_update(bot, _press("bal:1"))
        assert (handled, asked) == (["ballot"], ["any, first", "ballot"])  # in their order, not the idea
        await dp.feed_update(bot, _press("other:1", 2))
        assert handled[-1] == "any, first" and asked[2:] == ["any, first"]
    finally:
        await bot.session.close()


_reads: list[str] = []


class Step(CallbackData, prefix="step"):
    action: str

    @classmethod
    def unpack(cls, value: str) -> Step:
        _reads.append(value)
        return super().unpack(value)


async def test_a_press_is_read_once_by_its_factory_whatever_the_handlers_that_check_it() -> None:
    handled: list[str] = []
    dp = Dispatcher()
    router = Router(name="steps")
    for action in ("first", "second", "third"):

        async def step(_query: CallbackQuery, callback_data: Step, action: str = action) -> None:
            handled.append(f"{action} {callback_data.action}")

        router.callback_query.register(step, Step.filter(F.action == action))
    dp.include_router(router)
    offered_where_taken(dp)
    assert presses_read_once(dp) == 3
    bot = Bot("123:abc")
    try:
        _reads.clear()
        await dp.feed_update(bot, _press("step:third"))
        await dp.feed_update(bot, _press("step:second", 2))
        await dp.feed_update(bot, _press("step", 3))  # not a step's data: read once, taken by none
        assert handled == ["third third", "second second"]
        assert _reads == ["step:third", "step:second", "step"]
    finally:
        await bot.session.close()


def _edge_tree(handled: list[str]) -> Dispatcher:
    """Handlers that skip themselves, say they did not handle the press, or reject it, and what a
    handler's filter added, which a sub-router's handler must not see."""
    from aiogram.dispatcher.event.bases import REJECTED, UNHANDLED, SkipHandler

    dp = Dispatcher()
    top, below = Router(name="top"), Router(name="below")

    @top.callback_query(Ballot.filter(F.n == 1))
    async def skips(_query: CallbackQuery) -> None:
        handled.append("skips")
        raise SkipHandler

    @top.callback_query(Ballot.filter(F.n.in_({1, 2})))
    async def unhandled(_query: CallbackQuery) -> object:
        handled.append("unhandled")
        return UNHANDLED

    @top.callback_query(Ballot.filter(F.n == 3))
    async def rejects(_query: CallbackQuery) -> object:
        handled.append("rejects")
        return REJECTED

    @below.callback_query(Ballot.filter())
    async def ballot(_query: CallbackQuery, **data: object) -> None:
        handled.append(f"below {data['callback_data'].n} {'handler' in data}")

    @below.callback_query(Idea.filter())
    async def idea(_query: CallbackQuery, callback_data: Idea) -> None:
        handled.append(f"idea {callback_data.n}")

    top.include_router(below)
    dp.include_router(top)
    return dp


async def test_skipped_unhandled_and_rejected_presses_go_where_aiogram_sends_them() -> None:
    runs = await _without_and_with_the_index(_edge_tree, ["bal:1", "bal:2", "bal:3", "bal:4", "idea:5"])
    assert runs[0] == runs[1]
    assert runs[1] == [
        "skips",
        "unhandled",
        "below 1 True",
        "unhandled",
        "below 2 True",
        "rejects",
        "below 4 True",
        "idea 5",
    ]


class _Noting(BaseMiddleware):
    def __init__(self, noted: list[str]) -> None:
        self.noted = noted

    async def __call__(self, handler, event, data):  # noqa: ANN001, ANN204
        self.noted.append(getattr(event, "data", ""))
        return await handler(event, data)


async def test_a_router_with_an_outer_middleware_is_offered_every_press() -> None:
    handled: list[str] = []
    noted: list[str] = []
    dp = _tree(handled, [], catch_all=False)
    ballots = next(router for router in dp.chain_tail if router.name == "ballots")
    ballots.callback_query.outer_middleware(_Noting(noted))
    offered_where_taken(dp)
    bot = Bot("123:abc")
    try:
        await dp.feed_update(bot, _press("idea:1"))
        await dp.feed_update(bot, _press("zzz:1", 2))
    finally:
        await bot.session.close()
    assert handled == ["idea"] and noted == ["zzz:1"]  # the idea press was taken before `ballots`


class Form(StatesGroup):
    title = State()
    place = State()


def _message(text: str, update_id: int = 1) -> Update:
    person = User(id=7, is_bot=False, first_name="Ayşe")
    message = Message(
        message_id=update_id,
        date=datetime.now(UTC),
        chat=Chat(id=7, type="private"),
        from_user=person,
        text=text,
    )
    return Update(update_id=update_id, message=message)


def _message_tree(handled: list[str], offered: list[str]) -> Dispatcher:
    dp = Dispatcher()
    commands, form, group, anything = (
        Router(name="commands"),
        Router(name="form"),
        Router(name="group"),
        Router(name="anything"),
    )
    for router in (commands, form, group, anything):
        router.message.filter(_Offered(router.name, offered))

    @commands.message(Command("help", "Menu", prefix="/!"))
    async def help_(_message: Message) -> None:
        handled.append("help")

    @form.message(Form.title)
    async def title(_message: Message) -> None:
        handled.append("title")

    @group.message(StateFilter(None, Form))
    async def grouped(_message: Message) -> None:
        handled.append("grouped")

    @anything.message()
    async def other(_message: Message) -> None:
        handled.append("other")

    dp.include_routers(commands, form, group, anything)
    return dp


async def test_a_message_skips_the_routers_without_its_command_or_state() -> None:
    handled: list[str] = []
    offered: list[str] = []
    dp = _message_tree(handled, offered)
    offered_where_taken(dp)
    bot = Bot("123:abc")
    key = StorageKey(bot_id=bot.id, chat_id=7, user_id=7)
    try:
        await dp.feed_update(bot, _message("/help me", 1))
        await dp.feed_update(bot, _message("!Menu", 2))
        assert handled == ["help", "help"] and offered == ["commands", "commands"]
        offered.clear()
        await dp.feed_update(bot, _message("Karşıyaka", 3))  # no state: the group takes None
        assert handled[-1] == "grouped" and offered == ["group"]
        offered.clear()
        await dp.storage.set_state(key, Form.title)
        await dp.feed_update(bot, _message("A shade for the market", 4))
        assert handled[-1] == "title" and offered == ["form"]
        offered.clear()
        await dp.storage.set_state(key, Form.place)
        await dp.feed_update(bot, _message("/unknown", 5))  # a state of the group
        assert handled[-1] == "grouped" and offered == ["group"]
        offered.clear()
        await dp.storage.set_state(key, "Other:state")
        await dp.feed_update(bot, _message("hello", 6))
        await dp.feed_update(bot, _message("/menu", 7))  # the command is "Menu", not "menu"
        assert handled[-2:] == ["other", "other"] and offered == ["anything", "anything"]
    finally:
        await bot.session.close()


def test_every_feature_router_skips_what_it_cannot_take() -> None:
    """Every handler of the bot is narrow but the fallback's, so every router but the fallback (and the
    root above it) skips what it cannot take; a catch-all handler in a feature would make every update
    pass through that feature's routers."""
    import handlers

    dp = Dispatcher()
    dp.include_routers(*handlers.routers(()))
    routers = list(dp.chain_tail)
    assert offered_where_taken(dp) == len(routers) - 2


async def test_the_answer_is_the_result_of_a_press_whose_handler_returns_nothing() -> None:
    """By polling, aiogram sends a method the update returns; by webhook, it goes in the reply."""
    from aiogram.methods import AnswerCallbackQuery
    from aiogram.utils.callback_answer import CallbackAnswer

    from bot.middlewares.answer import AnswerMiddleware

    async def handler(_query: CallbackQuery, data: dict) -> None:
        answer: CallbackAnswer = data["callback_answer"]
        answer.text = "Removed from your ballot."

    query = _press("bal:1").callback_query
    result = await AnswerMiddleware()(handler, query, {})
    assert isinstance(result, AnswerCallbackQuery)
    assert (result.callback_query_id, result.text) == ("1", "Removed from your ballot.")
    assert not result.show_alert
