"""The sandbox web chat: a phone-like page where simulated people talk to the bot.

The page is plain HTML, CSS and JavaScript shipped with the package. It talks to the emulator's
client API under ``/sandbox/api`` and follows each chat through its long-poll endpoint.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC_DIR = Path(__file__).resolve().parent
ASSETS = {"app.js": "application/javascript", "style.css": "text/css"}


async def _index(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(
        STATIC_DIR / "index.html",
        headers={"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache"},
    )


async def _asset(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    content_type = ASSETS.get(name)
    if content_type is None:
        raise web.HTTPNotFound()
    return web.FileResponse(
        STATIC_DIR / name,
        headers={"Content-Type": f"{content_type}; charset=utf-8", "Cache-Control": "no-cache"},
    )


def add_routes(app: web.Application) -> None:
    """Serve the web chat at ``GET /`` and its assets under ``/webchat/``."""
    app.router.add_get("/", _index)
    app.router.add_get("/webchat/{name}", _asset)
