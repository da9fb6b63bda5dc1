"""`/metrics` in Prometheus text: counters that move with updates, the outbox depth read at scrape time,
429/403 counted by client, and no personal data in any label."""

from __future__ import annotations

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot import metrics
from bot.app import Meydan
from bot.services import outbox
from tests.flows import onboard, post_update


async def _scrape(url: str) -> tuple[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return text, samples


async def _metrics_url(sandbox) -> str:  # noqa: ANN001
    async with aiohttp.ClientSession() as http, http.get(f"{sandbox.url}/sandbox/api/bot") as resp:
        webhook_url = (await resp.json())["webhook_url"]
    return webhook_url.rsplit("/telegram/", 1)[0] + "/metrics"


def _get(samples, name: str, **labels: str) -> float:  # noqa: ANN001
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_the_webhook_serves_counters_that_move_with_updates(meydan: Meydan, sandbox) -> None:  # noqa: ANN001
    url = await _metrics_url(sandbox)
    _, before = await _scrape(url)
    person = await onboard(sandbox)
    await person.say("/help")
    # the same update twice: the second is a duplicate (/start changes something; a view such as /help
    # would be shown again)
    update = {
        "update_id": 990_001,
        "message": {
            "message_id": 990_001,
            "date": 1_700_000_000,
            "chat": {"id": person.id, "type": "private", "first_name": "Ayşe"},
            "from": {"id": person.id, "is_bot": False, "first_name": "Ayşe", "language_code": "tr"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    assert await post_update(sandbox, update, meydan.webhook_secret) == 200
    assert await post_update(sandbox, update, meydan.webhook_secret) == 200
    text, after = await _scrape(url)

    handled = "meydan_updates_total"
    messages = _get(after, handled, kind="message", outcome="handled") - _get(
        before, handled, kind="message", outcome="handled"
    )
    presses = _get(after, handled, kind="callback_query", outcome="handled") - _get(
        before, handled, kind="callback_query", outcome="handled"
    )
    viewed = _get(after, handled, kind="message", outcome="viewed") - _get(
        before, handled, kind="message", outcome="viewed"
    )
    assert messages >= 3 and presses >= 2  # /start, the places typed; the language, "I accept"
    assert viewed == 1  # /help: read only, not recorded
    assert (
        _get(after, handled, kind="message", outcome="duplicate")
        - _get(before, handled, kind="message", outcome="duplicate")
        == 1
    )
    observed = _get(after, "meydan_update_seconds_count", kind="message") - _get(
        before, "meydan_update_seconds_count", kind="message"
    )
    assert observed == messages + viewed + 1  # the view and the duplicate are timed too
    assert ("meydan_outbox_pending", ()) in after and ("meydan_outbox_due", ()) in after
    # nothing personal: no chat id, no name, no text typed in any label or value line
    for needle in (str(person.id), "Ayşe", "/help"):
        assert needle not in text


async def test_the_outbox_depth_is_read_at_scrape_time(sessions, sandbox) -> None:  # noqa: ANN001
    runner = await metrics.serve(sessions, "127.0.0.1", 0)
    try:
        port = runner.addresses[0][1]
        url = f"http://127.0.0.1:{port}/metrics"
        _, empty = await _scrape(url)
        async with sessions.begin() as session:
            for n in range(3):
                outbox.add(session, kind=outbox.NOTICE, chat_id=1000 + n, lang="en", text="hi")
        _, queued = await _scrape(url)
    finally:
        await runner.cleanup()
    assert queued[("meydan_outbox_pending", ())] - empty[("meydan_outbox_pending", ())] == 3
    assert queued[("meydan_outbox_due", ())] - empty[("meydan_outbox_due", ())] == 3


async def test_the_outbox_worker_counts_what_it_sent_and_the_403s(sessions, sandbox) -> None:  # noqa: ANN001
    from bot.telegram import make_bot
    from scheduler.outbox import OutboxWorker, Pace
    from tests.test_outbox import _settled

    reader = await sandbox.person("Reader", language_code="en")
    blocker = await sandbox.person("Blocker", language_code="en")
    await blocker.block()
    async with sessions.begin() as session:
        outbox.add(session, kind=outbox.NOTICE, chat_id=reader.id, lang="en", text="hello")
        outbox.add(session, kind=outbox.NOTICE, chat_id=blocker.id, lang="en", text="hello")
    sent = metrics.OUTBOX.labels("sent")._value.get()  # noqa: SLF001 - the counter's own value
    forbidden = metrics.TELEGRAM_ERRORS.labels("outbox", "403")._value.get()  # noqa: SLF001
    worker = OutboxWorker(
        make_bot(sandbox.token, sandbox.url, max_retry_wait=0, client="outbox"),
        sessions,
        pace=Pace(rate=100.0),
        poll=0.2,
    )
    worker.start()
    try:
        await _settled(sessions)
    finally:
        await worker.stop()
        await worker.bot.session.close()
    assert metrics.OUTBOX.labels("sent")._value.get() - sent == 1  # noqa: SLF001
    assert metrics.TELEGRAM_ERRORS.labels("outbox", "403")._value.get() - forbidden == 1  # noqa: SLF001


@pytest.mark.parametrize("code", ["429", "403"])
async def test_refusals_are_counted_by_client(code: str) -> None:
    from aiogram.exceptions import TelegramForbiddenError, TelegramRetryAfter
    from aiogram.methods import SendMessage

    from bot.middlewares.metrics import TelegramErrorCounter

    method = SendMessage(chat_id=1, text="x")
    refusal = (
        TelegramRetryAfter(method=method, message="Too Many Requests", retry_after=1)
        if code == "429"
        else TelegramForbiddenError(method=method, message="Forbidden: bot was blocked by the user")
    )

    async def refuse(bot, method):  # noqa: ANN001, ANN202
        raise refusal

    before = metrics.TELEGRAM_ERRORS.labels("updates", code)._value.get()  # noqa: SLF001
    with pytest.raises(type(refusal)):
        await TelegramErrorCounter("updates")(refuse, None, method)
    assert metrics.TELEGRAM_ERRORS.labels("updates", code)._value.get() - before == 1  # noqa: SLF001
