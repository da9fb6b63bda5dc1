"""The feature manifest: a feature is its own folder plus one line, and the bot assembles itself from it."""

from __future__ import annotations

from bot.features import Category, Command, Feature, MenuEntry
from bot.services import residents
from tests.conftest import running_bot
from tests.flows import onboard

TINY = Feature(
    "tiny",
    router="tests.tiny_feature:make_router",
    menu=(MenuEntry("tiny", "🌱 Tiny", order=50),),
    commands=(Command("tiny", "A tiny feature", order=50),),
    notifications=(Category("tiny", "Tiny news", default=False),),
    pitch="🌱 try the tiny feature",
)


async def test_one_folder_and_one_line_make_a_feature(settings, sandbox) -> None:  # noqa: ANN001
    async with running_bot(settings, sandbox, extra_features=[TINY]) as app:
        person = await onboard(sandbox, lang="en")
        menu = await person.last_message()
        assert "🌱 Tiny" in [label for row in menu.buttons for label in row]  # the main menu entry
        await person.press("🌱 Tiny")
        assert "Hello from the tiny feature" in (await person.last_message()).text  # its router
        assert "Hello from the tiny feature" in (await person.say("/tiny")).text
        assert "/tiny" in (await person.say("/help")).text  # its command
        view = await person.say("/settings")
        assert "Tiny news" in view.text  # its notification category, off by default
        async with app.sessions() as session:
            resident = await residents.by_telegram_id(session, person.id)
            assert (await residents.notifications(session, resident.id))["tiny"] is False
    # without the line, the feature is gone from the bot
    async with running_bot(settings, sandbox):
        other = await onboard(sandbox, lang="en", name="Bob")
        assert "🌱 Tiny" not in [label for row in (await other.last_message()).buttons for label in row]
        assert "did not understand" in (await other.say("/tiny")).text


async def test_no_filter_check_leaves_the_event_loop(settings, sandbox, monkeypatch) -> None:  # noqa: ANN001
    """aiogram would run a plain-function filter (a State, an F rule) in a worker thread; the bot has them
    all awaited on the loop, so a whole onboarding and a settings change never call `to_thread`."""
    import aiogram.dispatcher.event.handler as handler

    async with running_bot(settings, sandbox) as app:
        plain = [
            found
            for router in app.dp.chain_tail
            for observer in router.observers.values()
            for each in observer.handlers
            for found in each.filters or ()
            if not found.awaitable
        ]
        assert plain == []

        async def no_thread(*_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
            raise AssertionError("a filter or handler was sent to a worker thread")

        monkeypatch.setattr(handler.asyncio, "to_thread", no_thread)
        person = await onboard(sandbox, lang="en", district="Buca", neighborhood="Kozağaç")
        await person.say("/settings")
        await person.press("🏘 Change neighborhood")
        await person.say("Karşıyaka")
        answer = await person.say("Bostanlı")
        labels = [label for row in answer.buttons for label in row] if answer is not None else []
        if labels and "Bostanlı" in " ".join(labels):
            await person.press(next(label for label in labels if "Bostanlı" in label))
        assert "Bostanlı" in (await person.last_message()).text


async def test_a_press_is_answered_in_the_webhook_reply(settings, sandbox) -> None:  # noqa: ANN001
    """The answer to a press is the update's result, which the webhook puts in its reply to Telegram's
    call: the bot itself sends only its edit, and the person still gets the answer, toast and all."""
    from aiogram.client.session.middlewares.base import BaseRequestMiddleware

    sent: list[str] = []

    class Noted(BaseRequestMiddleware):
        async def __call__(self, make_request, bot, method):  # noqa: ANN001, ANN204
            sent.append(type(method).__name__)
            return await make_request(bot, method)

    async with running_bot(settings, sandbox) as app:
        person = await onboard(sandbox, lang="en")
        await person.say("/settings")
        app.bot.session.middleware(Noted())
        answer = await person.press("Turn off: City news")
        assert answer.answered and answer.text == "Notifications off." and not answer.show_alert
        assert sent == ["EditMessageText"]
        assert "🔕 City news" in (await person.last_message()).text
        sent.clear()
        answer = await person.press("🌐 Change language")  # a silent answer goes the same way
        assert answer.answered and answer.text is None and "AnswerCallbackQuery" not in sent
        ayse = await onboard(sandbox, lang="tr", name="Ayşe")
        await ayse.say("/settings")
        sent.clear()
        answer = await ayse.press("Kapat: Şehir haberleri")  # the toast in the person's language
        assert answer.answered and answer.text == "Bildirimler kapatıldı." and sent == ["EditMessageText"]
