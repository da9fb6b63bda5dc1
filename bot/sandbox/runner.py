"""`meydan sandbox`: the emulator, the bot and the web chat together on loopback, with demo data."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import CitySpec, Settings
from bot.sandbox.client import SandboxClient
from bot.sandbox.emulator import Emulator

log = logging.getLogger("meydan.sandbox")
SANDBOX_TOKEN = "1000000001:meydan-sandbox-local-token"
SANDBOX_DATABASE = "sqlite+aiosqlite:///meydan-sandbox.db"
DEMO_STAFF_ID = 100_000_900


@dataclass(frozen=True)
class DemoPerson:
    id: int
    first_name: str
    language: str
    district: str
    neighborhood: str
    role: str | None = None


DEMO_PEOPLE = (
    DemoPerson(DEMO_STAFF_ID, "Deniz (staff)", "tr", "konak", "alsancak", "staff"),
    DemoPerson(100_000_901, "Ayşe (resident)", "tr", "konak", "pazaryeri"),
    DemoPerson(100_000_902, "John (resident)", "en", "karsiyaka", "bostanli"),
    DemoPerson(100_000_903, "Mehmet (coordinator)", "tr", "konak", "pazaryeri", "coordinator"),
)


def sandbox_settings(settings: Settings) -> Settings:
    """The sandbox never touches what is configured for production: its own token, its own throwaway
    database, no Redis, no staff group, only its demo staff member, and loopback only (anyone who can
    reach the sandbox can act as any Telegram id through its client API)."""
    update: dict = {
        "bot_token": SANDBOX_TOKEN,
        "webhook_url": None,
        "database_url": SANDBOX_DATABASE,
        "redis_url": None,
        "staff_group_id": None,
        "staff_ids": [DEMO_STAFF_ID],
        "sandbox_host": "127.0.0.1",
    }
    return settings.model_copy(update=update)


def production_signs(settings: Settings) -> list[str]:
    """Settings that say this is meant to be a real deployment (then a missing token is a mistake, not a
    wish for the sandbox)."""
    signs = []
    if settings.webhook_url:
        signs.append("WEBHOOK_URL")
    if settings.redis_url:
        signs.append("REDIS_URL")
    if "database_url" in settings.model_fields_set and not settings.database_url.startswith("sqlite"):
        signs.append("DATABASE_URL")
    if settings.staff_group_id:
        signs.append("STAFF_GROUP_ID")
    return signs


async def seed_people(session: AsyncSession) -> None:
    """Demo people who have already been through onboarding, with their roles (idempotent)."""
    from bot.services import geography, residents, roles

    for person in DEMO_PEOPLE:
        hood = await geography.by_keys(session, person.district, person.neighborhood)
        if hood is None:
            continue
        hood_id = hood.id
        viewer = await residents.get_or_create(session, person.id)
        if residents.is_onboarded(viewer.resident):
            continue
        residents.set_language(viewer.resident, person.language)
        await residents.accept_privacy(session, viewer.resident)
        await residents.set_neighborhood(session, viewer.resident, hood_id)
        if person.role == "coordinator":
            await roles.grant(session, viewer.resident, roles.COORDINATOR, neighborhood_id=hood_id)


async def seed_demo(session: AsyncSession, city: CitySpec) -> None:
    """Everything `meydan sandbox` shows on first start: each feature's demo data from the manifest."""
    from bot.features import features, resolve

    await seed_people(session)
    for feature in features():
        if feature.demo:
            await resolve(feature.demo)(session, city)


async def run_sandbox(settings: Settings, *, port: int) -> None:
    from bot.app import build

    settings = sandbox_settings(settings)
    emulator = Emulator(token=SANDBOX_TOKEN)
    await emulator.start(settings.sandbox_host, port)
    meydan = await build(settings, api_url=emulator.url)
    try:
        async with meydan.sessions.begin() as session:
            await seed_demo(session, meydan.city)
        async with SandboxClient(emulator.url) as client:
            for person in DEMO_PEOPLE:
                await client.create_person(
                    person.first_name, language_code=person.language, person_id=person.id
                )
        print(
            f"\nMeydan sandbox is running: open {emulator.url}/ in your browser to talk to the bot.\n"
            f"It uses its own database ({SANDBOX_DATABASE.rsplit('/', 1)[-1]}) and demo people, on this machine "
            "only; nothing configured for production is touched.\n"
            f"Demo people: {', '.join(p.first_name for p in DEMO_PEOPLE)}; or create your own.\n"
            f"Bot API for other clients: {emulator.url}/bot{SANDBOX_TOKEN}/getMe   (Ctrl+C stops)\n",
            flush=True,
        )
        await meydan.bot.delete_webhook()
        await meydan.dp.start_polling(meydan.bot, allowed_updates=meydan.dp.resolve_used_update_types())
    except asyncio.CancelledError:
        pass
    finally:
        await meydan.close()
        await emulator.stop()
