"""Demo data for `meydan sandbox`: a participatory budget whose voting is open, with a city pot and a
neighborhood pot (Izmir's Pazaryeri, when the city has it). Idempotent: running it again adds nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import CitySpec
from bot.services import budgets, geography, processes
from storage.models import Process, ProcessPhase, utcnow

PROCESS_KEY = "participatory-budget-demo"
CITY_PROJECTS = [
    ("Pazar yerine gölgelik", "Shade over the bazaar", 2_150_000, "Pazar kurulan meydana gölgelik.",
     "A canopy over the market square."),
    ("Sahil boyunca bisiklet yolu", "Bike lane along the seafront", 1_500_000, "Kesintisiz bir bisiklet yolu.",
     "A continuous bike lane."),
    ("Kütüphane bahçesi", "Library garden", 900_000, "Kütüphanenin arkasına okuma bahçesi.",
     "A reading garden behind the library."),
    ("Oyun parkı yenileme", "Playground renewal", 400_000, "Eski oyun parkının yenilenmesi.",
     "Renewing the old playground."),
    ("İçme suyu çeşmeleri", "Drinking fountains", 100_000, "Parklara içme suyu çeşmeleri.",
     "Drinking fountains in the parks."),
    ("Gece otobüsleri", "Night buses", 3_500_000, "Hafta sonu gece otobüs seferleri.",
     "Night buses at weekends."),
    ("Sokak hayvanlarına barınak", "Shelters for street animals", 600_000, "Mahallelere küçük barınaklar.",
     "Small shelters in the neighborhoods."),
]  # fmt: skip


async def seed_budget(session: AsyncSession, city: CitySpec) -> None:
    if await processes.by_key(session, PROCESS_KEY) is not None:
        return
    now = utcnow()
    process = Process(
        key=PROCESS_KEY,
        names={"tr": "Katılımcı Bütçe (deneme)", "en": "Participatory Budget (demo)"},
        scope=processes.CITY,
        phases=[
            ProcessPhase(kind="voting", starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=30))
        ],
    )
    session.add(process)
    await session.flush()
    pot = await budgets.create_pot(
        session, process, names={"tr": "Şehir bütçesi", "en": "City budget"}, budget=5_000_000, max_projects=5
    )
    for tr, en, cost, summary_tr, summary_en in CITY_PROJECTS:
        await budgets.add_project(
            session,
            pot,
            titles={"tr": tr, "en": en},
            summaries={"tr": summary_tr, "en": summary_en},
            cost=cost,
            building=True,  # the sample process is made whole here, its voting already open
        )
    hood = await geography.by_keys(session, "konak", "pazaryeri")
    if hood is not None:
        local = await budgets.create_pot(
            session, process, names={"tr": "Pazaryeri bütçesi", "en": "Pazaryeri budget"}, budget=500_000,
            scope=budgets.NEIGHBORHOOD, neighborhood_id=hood.id, min_projects=1, max_projects=2,
        )  # fmt: skip
        await budgets.add_project(
            session, local, titles={"tr": "Parka banklar", "en": "Benches in the park"}, cost=200_000,
            neighborhood_id=hood.id, building=True,
        )  # fmt: skip
        await budgets.add_project(
            session, local, titles={"tr": "Sokak lambaları", "en": "Street lights"}, cost=350_000,
            neighborhood_id=hood.id, building=True,
        )  # fmt: skip
