"""Loading a city is idempotent, keeps ids on renames, never deletes; CSV import reports bad lines."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.config import DEFAULT_CITY_FILE, ConfigError, load_city, parse_city
from bot.services import city as city_service
from bot.services import geography, residents
from storage.models import AuditEntry, Neighborhood


async def test_load_twice_changes_nothing(sessions) -> None:  # noqa: ANN001
    spec = load_city(DEFAULT_CITY_FILE)
    async with sessions.begin() as session:
        report = await city_service.load(session, spec)
    assert report.created == {} and report.updated == {} and report.deactivated == {}
    async with sessions() as session:
        assert await geography.count_neighborhoods(session) == 1308


async def test_rename_keeps_id_and_references(sessions) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        hood = (await geography.search_neighborhoods(session, "pazaryeri"))[0]
        known = await residents.get_or_create(session, 555)
        await residents.accept_privacy(session, known.resident)
        await residents.set_neighborhood(session, known.resident, hood.id)
        hood_id = hood.id
    text = DEFAULT_CITY_FILE.read_text(encoding="utf-8").replace(
        '{ key = "pazaryeri", name = "Pazaryeri"', '{ key = "pazaryeri", name = "Pazaryeri Çarşısı"'
    )
    # a neighborhood dropped from the file is deactivated, not deleted
    text = text.replace('  { key = "kadifekale", name = "Kadifekale", pilot = "immediate-solutions" },\n', "")
    async with sessions.begin() as session:
        report = await city_service.load(session, parse_city(text))
    assert report.updated == {"neighborhoods": 1}
    assert report.deactivated == {"neighborhoods": 1}
    async with sessions() as session:
        renamed = await session.get(Neighborhood, hood_id)
        assert renamed.name == "Pazaryeri Çarşısı"
        resident = await residents.by_telegram_id(session, 555)
        assert resident.neighborhood_id == hood_id
        gone = await session.scalar(select(Neighborhood).where(Neighborhood.key == "kadifekale"))
        assert gone is not None and not gone.active
        assert not await geography.search_neighborhoods(session, "kadifekale")
        assert await session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "city.load")
        )


async def test_import_neighborhoods_csv(sessions) -> None:  # noqa: ANN001
    csv_text = "\ufeffdistrict,neighborhood\nKonak,Yeni Umut\nkonak,Pazaryeri\nYeni İlçe,Merkez\n"
    async with sessions.begin() as session:
        report = await city_service.import_neighborhoods(session, csv_text)
    assert (report.created, report.unchanged, report.districts_created) == (2, 1, 1)
    async with sessions() as session:
        found = await geography.search_neighborhoods(session, "yeni umut")
        assert [n.district.name for n in found] == ["Konak"]


@pytest.mark.parametrize(
    ("csv_text", "message"),
    [
        ("", "line 1: the file is empty"),
        ("ilce,mahalle\nKonak,X\n", "line 1: the header"),
        ("district,neighborhood\nKonak,Alsancak\nKonak\n", "line 3: expected district,neighborhood"),
        ("district,neighborhood\nKonak,\n", "line 2: neighborhood: empty"),
        ("district,neighborhood,key\nKonak,X,Bad Key\n", "line 2: key"),
    ],
)
async def test_import_bad_csv_names_the_line(sessions, csv_text: str, message: str) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        with pytest.raises(ConfigError, match=message):
            await city_service.import_neighborhoods(session, csv_text, source="hoods.csv")


async def test_search_is_accent_and_case_insensitive(sessions) -> None:  # noqa: ANN001
    async with sessions() as session:
        districts = await geography.search_districts(session, "karsiyaka")
        assert districts[0].name == "Karşıyaka"
        districts = await geography.search_districts(session, "ÇİĞLİ")
        assert districts[0].name == "Çiğli"
        hoods = await geography.search_neighborhoods(session, "alsancak")
        assert hoods[0].district.name == "Konak"
        assert await geography.search_neighborhoods(session, "%") == []
