"""A local stand-in for Telegram: the Bot API for the bot, a client API for simulated people, the web chat.

Run it with ``await Emulator().start()``; the bot then talks to ``emulator.url`` exactly as it would to
``https://api.telegram.org`` (aiogram: ``TelegramAPIServer.from_base(emulator.url)``).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import aiohttp
from aiohttp import web

from bot.sandbox.botapi import BotApi, Described
from bot.sandbox.client_api import ClientApi
from bot.sandbox.errors import UNAUTHORIZED, ApiError
from bot.sandbox.limits import Limits, RateLimiter
from bot.sandbox.params import Params, read_params
from bot.sandbox.state import World
from bot.sandbox.updates import Activity, UpdateHub

log = logging.getLogger(__name__)

TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]{10,}$")
MAX_REQUEST_SIZE = 60 * 1024 * 1024


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def api_response(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=_dumps)


class Emulator:
    """The Telegram Bot API and its users, in memory, served over HTTP by aiohttp."""

    def __init__(
        self,
        token: str | None = None,
        limits: Limits | None = None,
        bot_username: str = "meydan_sandbox_bot",
        bot_first_name: str = "Meydan",
        *,
        settle: float = 0.1,
    ) -> None:
        if token is not None and not TOKEN_RE.match(token):
            raise ValueError(
                "a bot token looks like 123456789:AAbbCC... (digits, colon, at least 10 characters)"
            )
        self.token = token
        self.limits = limits or Limits()
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.settle = settle
        self.world = World()
        self.limiter = RateLimiter(self.limits)
        self.activity = Activity()
        self.api = BotApi(self)
        self.hub = UpdateHub(self.run_method, self.activity)
        self.client_api = ClientApi(self)
        self.app = self._build_app()
        self.port: int | None = None
        self.url = ""
        self._runner: web.AppRunner | None = None

    # identity -------------------------------------------------------------------------------------
    @property
    def bot_id(self) -> int:
        return int(self.token.split(":", 1)[0]) if self.token else 0

    @property
    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def accepts(self, token: str) -> bool:
        if self.token is None:
            if not TOKEN_RE.match(token):
                return False
            self.token = token
            return True
        return token == self.token

    # lifecycle ------------------------------------------------------------------------------------
    def _build_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_REQUEST_SIZE)
        app.router.add_route("*", r"/bot{token:[^/]*}/{method:[^/]*}", self._handle_bot_api)
        app.router.add_get(r"/file/bot{token:[^/]*}/{path:.+}", self._handle_file)
        self.client_api.add_routes(app)
        try:
            from bot.sandbox import webchat
        except ImportError:  # pragma: no cover - the web chat ships with the package
            log.warning("the sandbox web chat is not available")
        else:
            webchat.add_routes(app)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.hub.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self.url = f"http://{host}:{self.port}"

    async def stop(self) -> None:
        await self.hub.close()
        self.client_api.close()
        self.activity.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.hub.session is not None:
            await self.hub.session.close()
            self.hub.session = None

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def reset(self) -> None:
        """Forget people, chats, pending updates and flood counters; keep the bot, its webhook and commands."""
        self.hub.reset()
        self.api.reset()
        self.world.reset()
        self.limiter.reset()
        self.activity.reset()

    # Bot API --------------------------------------------------------------------------------------
    async def run_method(self, method: str, params: Params) -> Any:
        """Run one Bot API method as the bot, counting it as the bot's activity in the chat it names."""
        polling = method.lower() == "getupdates"
        key = None if polling else self.api.chat_key(params)
        if not polling:
            self.activity.begin(key)
        try:
            return await self.api.call(method, params)
        finally:
            if not polling:
                self.activity.end(key)

    async def _handle_bot_api(self, request: web.Request) -> web.Response:
        if not self.accepts(request.match_info["token"]):
            return api_response(UNAUTHORIZED.to_json(), UNAUTHORIZED.code)
        try:
            params = await read_params(request)
            result = await self.run_method(request.match_info["method"], params)
        except ApiError as error:
            return api_response(error.to_json(), error.code)
        if isinstance(result, Described):
            return api_response({"ok": True, "result": result.result, "description": result.description})
        return api_response({"ok": True, "result": result})

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if not self.accepts(request.match_info["token"]):
            return api_response(UNAUTHORIZED.to_json(), UNAUTHORIZED.code)
        record = self.world.files.by_path(request.match_info["path"])
        if record is None:
            return api_response({"ok": False, "error_code": 404, "description": "Not Found"}, 404)
        if record.data is None:
            raise web.HTTPFound(record.url or "/")
        return web.Response(body=record.data, content_type=record.mime_type)
