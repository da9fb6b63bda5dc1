"""Demo data for `meydan sandbox`: an open idea collection with published, pending and supported ideas.

Idempotent: running it again adds nothing. Demo residents have made-up Telegram ids 100000950–100000999,
so they never clash with the sandbox's simulated people (numbered from 100000001).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import CitySpec
from bot.services import ideas, processes, residents
from storage.models import District, Idea, IdeaSupport, Neighborhood, Process, Theme, utcnow

PROCESS_KEY = "lets-design-together"
FIRST_DEMO_ID = 100_000_950
IZMIR_PLACES = [
    ("konak", "pazaryeri"),
    ("konak", "alsancak"),
    ("karsiyaka", "bostanli"),
    ("bornova", "kazimdirik"),
]

# (place index, theme key, title, description, status, supporters, latitude, longitude)
SAMPLES: list[tuple[int, str, str, str, str, int, float | None, float | None]] = [
    (
        0,
        "green",
        "Pazaryeri'ne gölgeli oturma alanı",
        "Pazar kurulan meydanda yaz aylarında hiç gölge yok. Ağaç dikilip altına bank konulursa yaşlılar ve "
        "çocuklar pazar sonrası dinlenebilir.",
        ideas.APPROVED,
        6,
        38.4125,
        27.1382,
    ),
    (
        0,
        "mobility",
        "Okul önüne yaya geçidi ve hız kesici",
        "Sabahları okul girişinde araçlar çok hızlı geçiyor. Işıklı bir yaya geçidi ve hız kesici çocukları korur.",
        ideas.APPROVED,
        4,
        None,
        None,
    ),
    (
        1,
        "culture",
        "Kordon'da açık hava sinema geceleri",
        "Yaz akşamları Kordon'da ücretsiz film gösterimleri: mahalle sakinleri filmleri oylayarak seçsin.",
        ideas.APPROVED,
        9,
        38.4380,
        27.1420,
    ),
    (
        2,
        "green",
        "Bostanlı sahiline içme suyu çeşmeleri",
        "Sahil yolunda yürüyüş ve koşu yapanlar için her kilometreye bir içme suyu çeşmesi konulsun.",
        ideas.APPROVED,
        3,
        38.4560,
        27.0950,
    ),
    (
        3,
        "children-youth",
        "Gençler için mahalle atölyesi",
        "Boş duran eski muhtarlık binası hafta sonları gençlere kodlama, müzik ve tamir atölyesi olarak açılsın.",
        ideas.APPROVED,
        2,
        None,
        None,
    ),
    (
        0,
        "resilience",
        "Mahalle toplanma alanına tabela",
        "Deprem toplanma alanının yeri pek bilinmiyor. Sokak başlarına yön gösteren tabelalar konulsun.",
        ideas.PENDING,
        0,
        None,
        None,
    ),
    (
        2,
        "mobility",
        "Bisiklet park yerleri",
        "İskele çevresine kilitli bisiklet park yerleri yapılsın; vapura bisikletle gelenler için.",
        ideas.PENDING,
        0,
        None,
        None,
    ),
]


async def _places(session: AsyncSession, spec: CitySpec) -> list[Neighborhood]:
    """A few real neighborhoods: the documented ones in Izmir, else the first of the city's districts."""
    wanted = IZMIR_PLACES if spec.key == "izmir" else []
    if not wanted:
        wanted = [(d.key, d.neighborhoods[0].key) for d in spec.districts[:4]]
    found: list[Neighborhood] = []
    for district_key, hood_key in wanted:
        hood = await session.scalar(
            select(Neighborhood)
            .join(District)
            .where(District.key == district_key, Neighborhood.key == hood_key, Neighborhood.active)
        )
        if hood is not None:
            found.append(hood)
    return found


def _names(spec: CitySpec) -> dict[str, str]:
    if spec.key == "izmir":
        return {"tr": "İzmir'i Birlikte Tasarlayalım", "en": "Let's Design Izmir Together"}
    return {"tr": f"{spec.names.tr}: Birlikte Tasarlayalım", "en": f"Let's Design {spec.names.en} Together"}


async def _process(session: AsyncSession, spec: CitySpec) -> Process:
    process = await processes.by_key(session, PROCESS_KEY)
    if process is not None:
        return process
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    return await processes.create(
        session,
        key=PROCESS_KEY,
        names=_names(spec),
        opens_at=now - timedelta(days=7),
        closes_at=now + timedelta(days=30),
        idea_limit=5,
    )


async def _demo_resident(session: AsyncSession, number: int, hood: Neighborhood, lang: str) -> int:
    known = await residents.get_or_create(session, FIRST_DEMO_ID + number)
    resident = known.resident
    if resident.language is None:
        residents.set_language(resident, lang)
    await residents.accept_privacy(session, resident)
    if resident.neighborhood_id is None:
        await residents.set_neighborhood(session, resident, hood.id)
    return resident.id


async def seed_ideas(session: AsyncSession, city_spec: CitySpec) -> None:
    """Create the demo process, its sample ideas and their supports, unless they exist already."""
    places = await _places(session, city_spec)
    themes = {t.key: t for t in await session.scalars(select(Theme).where(Theme.active))}
    if not places or not themes:
        return
    process = await _process(session, city_spec)
    supporters = [
        await _demo_resident(session, 20 + n, places[n % len(places)], "tr" if n % 3 else "en")
        for n in range(12)
    ]
    for number, (place, theme_key, title, description, status, support, lat, lon) in enumerate(SAMPLES):
        hood = places[place % len(places)]
        theme = themes.get(theme_key) or next(iter(themes.values()))
        exists = await session.scalar(
            select(Idea.id).where(Idea.process_id == process.id, Idea.title == title)
        )
        if exists is not None:
            continue
        author_id = await _demo_resident(session, number, hood, "tr")
        idea = Idea(
            process_id=process.id,
            author_id=author_id,
            neighborhood_id=hood.id,
            theme_id=theme.id,
            scope=ideas.SCOPE_NEIGHBORHOOD,
            title=title,
            description=description,
            latitude=lat,
            longitude=lon,
            status=status,
            created_at=utcnow() - timedelta(days=6 - number % 6, hours=number),
            decided_at=utcnow() if status != ideas.PENDING else None,
        )
        session.add(idea)
        await session.flush()
        for resident_id in supporters[:support]:
            session.add(IdeaSupport(idea_id=idea.id, resident_id=resident_id))
    await session.flush()
