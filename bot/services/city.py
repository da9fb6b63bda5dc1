"""Loading a city file into the database, idempotently, and importing neighborhoods from CSV.

Loading is an upsert by stable keys: a renamed neighborhood keeps its id (and everything that refers
to it); one that disappears from the file is deactivated, never deleted.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import CitySpec, ConfigError
from bot.services import audit
from bot.text import fold, slug
from storage.models import City, District, Neighborhood, Park, SupportItem, Theme


@dataclass
class LoadReport:
    city_id: int = 0
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    deactivated: dict[str, int] = field(default_factory=dict)

    def count(self, bucket: dict[str, int], kind: str) -> None:
        bucket[kind] = bucket.get(kind, 0) + 1

    def summary(self) -> str:
        def fmt(d: dict[str, int]) -> str:
            return ", ".join(f"{v} {k}" for k, v in sorted(d.items())) or "nothing"

        return (
            f"created {fmt(self.created)}; updated {fmt(self.updated)}; deactivated {fmt(self.deactivated)}"
        )


async def current_city(session: AsyncSession) -> City | None:
    return await session.scalar(select(City).order_by(City.id).limit(1))


async def load(session: AsyncSession, spec: CitySpec, *, actor_id: int | None = None) -> LoadReport:
    """Create or update the city described by `spec`. Running it twice changes nothing."""
    report = LoadReport()
    city = await session.scalar(select(City).where(City.key == spec.key))
    values = {
        "names": spec.names.model_dump(),
        "timezone": spec.timezone,
        "currency": spec.currency,
        "default_language": spec.default_language,
        "bounds": spec.bounds.model_dump(),
    }
    if city is None:
        city = City(key=spec.key, **values)
        session.add(city)
        await session.flush()
        report.count(report.created, "city")
    elif _apply(city, values):
        report.count(report.updated, "city")
    report.city_id = city.id

    districts = {d.key: d for d in await session.scalars(select(District).where(District.city_id == city.id))}
    for dspec in spec.districts:
        district = districts.get(dspec.key)
        dvalues = {"name": dspec.name, "name_folded": fold(dspec.name), "active": True}
        if district is None:
            district = District(city_id=city.id, key=dspec.key, **dvalues)
            session.add(district)
            await session.flush()
            districts[dspec.key] = district
            report.count(report.created, "districts")
        elif _apply(district, dvalues):
            report.count(report.updated, "districts")
        await _load_neighborhoods(session, district, dspec.neighborhoods, report)
    wanted = {d.key for d in spec.districts}
    for key, district in districts.items():
        if key not in wanted and district.active:
            district.active = False
            report.count(report.deactivated, "districts")
            for n in await session.scalars(
                select(Neighborhood).where(Neighborhood.district_id == district.id)
            ):
                if n.active:
                    n.active = False
                    report.count(report.deactivated, "neighborhoods")

    await _load_keyed(
        session,
        report,
        "themes",
        Theme,
        city.id,
        {t.key: {"names": t.names.model_dump(), "position": i} for i, t in enumerate(spec.themes)},
    )
    await _load_keyed(
        session,
        report,
        "parks",
        Park,
        city.id,
        {
            p.key: {
                "name": p.name,
                "district_id": districts[p.district].id,
                "latitude": p.latitude,
                "longitude": p.longitude,
            }
            for p in spec.parks
        },
    )
    await _load_keyed(
        session,
        report,
        "support",
        SupportItem,
        city.id,
        {s.key: {"names": s.names.model_dump()} for s in spec.support},
    )
    await audit.record(
        session,
        "city.load",
        actor_id=actor_id,
        object_type="city",
        object_id=city.id,
        summary=report.summary(),
    )
    return report


async def _load_neighborhoods(
    session: AsyncSession, district: District, specs: list, report: LoadReport
) -> None:
    existing = list(
        await session.scalars(select(Neighborhood).where(Neighborhood.district_id == district.id))
    )
    by_key = {n.key: n for n in existing}
    by_folded_name = {n.name_folded: n for n in existing}
    seen: set[int] = set()
    for nspec in specs:
        hood = by_key.get(nspec.key)
        if hood is None:
            # a renamed neighborhood may come with a new key but list its old name
            for old in nspec.former_names:
                hood = by_folded_name.get(fold(old))
                if hood is not None:
                    break
        values = {
            "key": nspec.key,
            "name": nspec.name,
            "name_folded": fold(nspec.name),
            "pilot": nspec.pilot,
            "active": True,
        }
        if hood is None:
            hood = Neighborhood(district_id=district.id, **values)
            session.add(hood)
            report.count(report.created, "neighborhoods")
        elif _apply(hood, values):
            report.count(report.updated, "neighborhoods")
        await session.flush()
        seen.add(hood.id)
    for hood in existing:
        if hood.id not in seen and hood.active:
            hood.active = False
            report.count(report.deactivated, "neighborhoods")


async def _load_keyed(
    session: AsyncSession, report: LoadReport, kind: str, model: type, city_id: int, wanted: dict[str, dict]
) -> None:
    existing = {row.key: row for row in await session.scalars(select(model).where(model.city_id == city_id))}
    for key, values in wanted.items():
        row = existing.get(key)
        values = {**values, "active": True}
        if row is None:
            session.add(model(city_id=city_id, key=key, **values))
            report.count(report.created, kind)
        elif _apply(row, values):
            report.count(report.updated, kind)
    for key, row in existing.items():
        if key not in wanted and row.active:
            row.active = False
            report.count(report.deactivated, kind)
    await session.flush()


def _apply(row: object, values: dict) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


@dataclass
class ImportReport:
    created: int = 0
    renamed: int = 0
    unchanged: int = 0
    districts_created: int = 0


async def import_neighborhoods(
    session: AsyncSession, csv_text: str, *, source: str = "CSV", actor_id: int | None = None
) -> ImportReport:
    """Add neighborhoods from `district,neighborhood[,key]` rows (header required; UTF-8).

    Existing rows are matched by key (given, or derived from the name); nothing is deactivated.
    A bad row raises ConfigError naming its line.
    """
    city = await current_city(session)
    if city is None:
        raise ConfigError(f"{source}: no city loaded yet; run `meydan city load FILE` first")
    reader = csv.reader(io.StringIO(csv_text.lstrip("\ufeff")))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ConfigError(f"{source}: line 1: the file is empty") from None
    if header[:2] != ["district", "neighborhood"]:
        raise ConfigError(f"{source}: line 1: the header must start with district,neighborhood")
    has_key = len(header) > 2 and header[2] == "key"
    districts = {
        d.name_folded: d for d in await session.scalars(select(District).where(District.city_id == city.id))
    }
    hoods: dict[int, dict[str, Neighborhood]] = {}
    report = ImportReport()
    for line_no, row in enumerate(reader, start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) < 2:
            raise ConfigError(f"{source}: line {line_no}: expected district,neighborhood")
        dname, nname = " ".join(row[0].split()), " ".join(row[1].split())
        if not dname:
            raise ConfigError(f"{source}: line {line_no}: district: empty")
        if not nname:
            raise ConfigError(f"{source}: line {line_no}: neighborhood: empty")
        if len(nname) > 200 or len(dname) > 200:
            raise ConfigError(f"{source}: line {line_no}: name longer than 200 characters")
        key = (row[2].strip() if has_key and len(row) > 2 else "") or slug(nname)
        if not key or not all(c.isalnum() or c == "-" for c in key) or key != key.lower():
            raise ConfigError(f"{source}: line {line_no}: key: {key!r} is not a lower-case a-z0-9- key")
        district = districts.get(fold(dname))
        if district is None:
            district = District(city_id=city.id, key=slug(dname), name=dname, name_folded=fold(dname))
            session.add(district)
            await session.flush()
            districts[district.name_folded] = district
            report.districts_created += 1
        if district.id not in hoods:
            rows = await session.scalars(select(Neighborhood).where(Neighborhood.district_id == district.id))
            hoods[district.id] = {n.key: n for n in rows}
        hood = hoods[district.id].get(key)
        if hood is None:
            hood = Neighborhood(district_id=district.id, key=key, name=nname, name_folded=fold(nname))
            session.add(hood)
            hoods[district.id][key] = hood
            report.created += 1
        elif hood.name != nname or not hood.active:
            hood.name, hood.name_folded, hood.active = nname, fold(nname), True
            report.renamed += 1
        else:
            report.unchanged += 1
    await session.flush()
    await audit.record(
        session,
        "city.import_neighborhoods",
        actor_id=actor_id,
        object_type="city",
        object_id=city.id,
        created=report.created,
        renamed=report.renamed,
    )
    return report
