"""Steps many flow tests share: a person who has gone through onboarding."""

from __future__ import annotations

from typing import Any

ACCEPT = {"tr": "Kabul ediyorum", "en": "I accept"}
LANGUAGE = {"tr": "Türkçe", "en": "English"}


async def onboard(
    sandbox: Any,
    *,
    name: str = "Ayşe",
    lang: str = "tr",
    district: str = "Konak",
    neighborhood: str = "Pazaryeri",
    person_id: int | None = None,
) -> Any:
    """A person who chose `lang`, accepted the privacy notice and lives in `district`/`neighborhood`."""
    extra = {"id": person_id} if person_id is not None else {}
    person = await sandbox.person(name, language_code=lang, **extra)
    await person.say("/start")
    await person.press(LANGUAGE[lang])
    await person.press(ACCEPT[lang])
    await pick_place(person, district, f"{district} ({DISTRICT[lang]})")
    await pick_place(person, neighborhood, neighborhood)
    return person


DISTRICT = {"tr": "ilçe", "en": "district"}


async def pick_place(person: Any, typed: str, label: str) -> None:
    """Type a place's name; press it when the bot offers several matches (a lone match is taken)."""
    answer = await person.say(typed)
    labels = [text for row in answer.buttons for text in row] if answer is not None else []
    if any(text == label or text.endswith(f" {label}") for text in labels):
        await person.press(next(t for t in labels if t == label or t.endswith(f" {label}")))


async def fetch(sandbox: Any, path: str) -> bytes:
    """Bytes the sandbox serves at `path` (e.g. a document's `url`)."""
    import aiohttp

    async with aiohttp.ClientSession() as http, http.get(f"{sandbox.url}{path}") as resp:
        resp.raise_for_status()
        return await resp.read()


async def post_webhook(sandbox: Any, update: dict[str, Any], secret: str | None) -> tuple[int, dict | None]:
    """Deliver an update to the bot's webhook as Telegram would: the status, and the Bot API method the
    bot put in its answer (if any), not run: as when the reply never reaches Telegram."""
    import aiohttp

    async with aiohttp.ClientSession() as http:
        async with http.get(f"{sandbox.url}/sandbox/api/bot") as resp:
            webhook_url = (await resp.json())["webhook_url"]
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
        async with http.post(webhook_url, json=update, headers=headers) as resp:
            reply = await resp.json(content_type=None) if resp.content_type == "application/json" else None
            return resp.status, reply if isinstance(reply, dict) and reply.get("method") else None


async def post_update(sandbox: Any, update: dict[str, Any], secret: str | None) -> int:
    """Deliver an update to the bot's webhook as Telegram would (a retry sends the same one again),
    running the Bot API method the bot put in its answer, if any, as Telegram does."""
    import aiohttp

    status, reply = await post_webhook(sandbox, update, secret)
    if reply is not None:
        method = reply.pop("method")
        url = f"{sandbox.url}/bot{sandbox.token}/{method}"
        async with aiohttp.ClientSession() as http, http.post(url, json=reply) as resp:
            assert resp.status == 200, await resp.text()
    return status


def press_again(person: Any, pressed: Any, message_id: int, data: str) -> dict[str, Any]:
    """The update of a press made through the sandbox (`pressed`, as `client.press` returns it), as
    Telegram delivers it again when the first delivery got no 2xx; the message is the pressed one."""
    chat = {"id": person.id, "type": "private", "first_name": person.first_name}
    return {
        "update_id": pressed.update_id,
        "callback_query": {
            "id": pressed.callback_query_id,
            "from": {
                "id": person.id,
                "is_bot": False,
                "first_name": person.first_name,
                "language_code": "en",
            },
            "chat_instance": str(person.id),
            "data": data,
            "message": {"message_id": message_id, "date": 1_790_000_000, "chat": chat, "text": "."},
        },
    }


def command_env(**extra: str) -> dict[str, str]:
    """A clean environment for running `python -m bot …` as a subprocess (nothing from a `.env`)."""
    import os

    from bot.config import PROJECT_ROOT

    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    env.update(PYTHONPATH=str(PROJECT_ROOT), **extra)
    return env


async def stop_process(proc: Any) -> None:
    """Stop a bot subprocess as Ctrl+C would, killing it if it does not stop within 20 s."""
    import asyncio
    import signal

    if proc.returncode is None:
        proc.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(proc.wait(), 20)
        except TimeoutError:
            proc.kill()
            await proc.wait()
