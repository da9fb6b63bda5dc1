"""Settings and city files: good values load, bad ones stop with one line naming the setting or key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import DEFAULT_CITY_FILE, PROJECT_ROOT, ConfigError, load_city, load_settings, parse_city


def test_defaults_and_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAFF_IDS", "11, 22;33")
    monkeypatch.setenv("BOT_TOKEN", "42:abcdefghijklmnop")
    monkeypatch.setenv("REDIS_URL", "")
    monkeypatch.setenv("DATABASE_POOL_SIZE", "")  # left empty in an env file: the default
    monkeypatch.setenv("DATABASE_MAX_OVERFLOW", "")
    settings = load_settings(_env_file=None)
    assert settings.staff_ids == [11, 22, 33]
    assert settings.redis_url is None
    assert settings.database_url.startswith("sqlite+aiosqlite://")
    assert settings.city_file == DEFAULT_CITY_FILE
    assert settings.database_pool_size is None and settings.database_max_overflow is None


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("BOT_TOKEN", "not-a-token", "BOT_TOKEN:"),
        ("STAFF_IDS", "12,abc", "STAFF_IDS:"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL:"),
        ("REDIS_URL", "http://x", "REDIS_URL:"),
        ("WEBHOOK_URL", "ftp://x", "WEBHOOK_URL:"),
        ("WEBHOOK_SECRET", "has spaces", "WEBHOOK_SECRET:"),
        ("DEFAULT_LANGUAGE", "de", "DEFAULT_LANGUAGE:"),
        ("WEBHOOK_PORT", "99999", "WEBHOOK_PORT:"),
        ("DATABASE_POOL_SIZE", "0", "DATABASE_POOL_SIZE:"),
        ("DATABASE_MAX_OVERFLOW", "-1", "DATABASE_MAX_OVERFLOW:"),
    ],
)
def test_bad_setting_names_itself(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        load_settings(_env_file=None)
    assert str(err.value).startswith(expected)
    assert "\n" not in str(err.value)


def test_bad_setting_stops_start_with_one_line(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "BOT_TOKEN": "nonsense", "HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("meydan: BOT_TOKEN:"), proc.stderr


def test_both_city_files_load() -> None:
    izmir = load_city(DEFAULT_CITY_FILE)
    assert len(izmir.districts) == 30
    assert sum(len(d.neighborhoods) for d in izmir.districts) == 1308
    pilots = [(d.key, n.key, n.pilot) for d in izmir.districts for n in d.neighborhoods if n.pilot]
    assert len(pilots) == 4
    assert {p for *_, p in pilots} == {"cittaslow", "immediate-solutions"}
    assert {"digital", "sharing", "energy", "participation", "inclusion"} <= {t.key for t in izmir.themes}
    assert izmir.parks and izmir.support
    liege = load_city(PROJECT_ROOT / "cities" / "liege.toml")
    assert liege.timezone == "Europe/Brussels" and liege.currency == "EUR"


def test_city_syntax_error_names_the_line() -> None:
    with pytest.raises(ConfigError, match=r"line 2"):
        parse_city('key = "x"\nnames = = 3\ntimezone = "UTC"\n', "bad.toml")


def test_city_content_error_names_the_key() -> None:
    text = DEFAULT_CITY_FILE.read_text(encoding="utf-8").replace(
        'district = "bornova"', 'district = "atlantis"', 1
    )
    with pytest.raises(ConfigError, match=r"unknown district 'atlantis'"):
        parse_city(text, "izmir.toml")
    text = DEFAULT_CITY_FILE.read_text(encoding="utf-8").replace(
        'timezone = "Europe/Istanbul"', 'timezone = "Mars/Olympus"'
    )
    with pytest.raises(ConfigError, match=r"izmir.toml: timezone: .*unknown timezone"):
        parse_city(text, "izmir.toml")
    text = DEFAULT_CITY_FILE.read_text(encoding="utf-8").replace(
        '{ key = "pazaryeri", name = "Pazaryeri"', '{ key = "pazaryeri", name = ""'
    )
    with pytest.raises(ConfigError, match=r"districts\[konak\]\.neighborhoods\[pazaryeri\]\.name"):
        parse_city(text, "izmir.toml")


def test_missing_city_file() -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_city("/nonexistent/city.toml")


IZMIR_NOTICE = "https://www.izmir.bel.tr/en/processing-of-all-kinds-of-personal-data/514/3216"


def _izmir_privacy(replace: str, by: str) -> str:
    text = DEFAULT_CITY_FILE.read_text(encoding="utf-8")
    assert replace in text
    return text.replace(replace, by, 1)


def test_city_files_name_the_data_controller_and_link_the_notice() -> None:
    izmir = load_city(DEFAULT_CITY_FILE).privacy
    assert izmir is not None
    assert izmir.controller_name("tr") == "İzmir Büyükşehir Belediyesi"
    assert izmir.controller_name("en") == "Izmir Metropolitan Municipality"
    assert izmir.notice_url == IZMIR_NOTICE
    liege = load_city(PROJECT_ROOT / "cities" / "liege.toml").privacy
    assert liege is not None and liege.controller_name("en") == "City of Liège"
    assert liege.controller_name("fr") == "Ville de Liège"
    assert liege.controller_name("de") == "City of Liège"  # a language without a name falls back to English
    assert liege.notice_url.startswith("https://www.liege.be/")


@pytest.mark.parametrize(
    "url",
    ["http://www.izmir.bel.tr/kvkk", "www.izmir.bel.tr/kvkk", "https://", "https://izmir bel.tr/", "kvkk"],
)
def test_bad_notice_url_names_its_key(url: str) -> None:
    with pytest.raises(ConfigError, match=r"^izmir\.toml: privacy\.notice_url: .*https://") as err:
        parse_city(_izmir_privacy(IZMIR_NOTICE, url), "izmir.toml")
    assert "\n" not in str(err.value)


def test_privacy_contact_is_an_email_or_an_https_address() -> None:
    line = f'notice_url = "{IZMIR_NOTICE}"'
    spec = parse_city(_izmir_privacy(line, f'{line}\ncontact = "kvkk@example.org"'))
    assert spec.privacy.contact == "kvkk@example.org"
    assert spec.privacy.contact_url == "mailto:kvkk@example.org"
    spec = parse_city(_izmir_privacy(line, f'{line}\ncontact = "https://example.org/dpo"'))
    assert spec.privacy.contact_url == "https://example.org/dpo"
    for bad in ("call us", "ftp://example.org", "http://example.org/dpo"):
        with pytest.raises(ConfigError, match=r"izmir\.toml: privacy\.contact: "):
            parse_city(_izmir_privacy(line, f'{line}\ncontact = "{bad}"'), "izmir.toml")


def test_privacy_table_is_optional_but_complete_when_present() -> None:
    text = DEFAULT_CITY_FILE.read_text(encoding="utf-8")
    start = text.index("[privacy]")
    end = text.index("\n\n", start)
    assert parse_city(text[:start] + text[end:]).privacy is None
    with pytest.raises(ConfigError, match=r"izmir\.toml: privacy\.controller\.en: "):
        parse_city(_izmir_privacy('controller.en = "Izmir Metropolitan Municipality"\n', ""), "izmir.toml")
    with pytest.raises(ConfigError, match=r"izmir\.toml: privacy\.notice_url: "):
        parse_city(_izmir_privacy(f'notice_url = "{IZMIR_NOTICE}"\n', ""), "izmir.toml")
    with pytest.raises(ConfigError, match=r"izmir\.toml: privacy\.url: "):
        parse_city(_izmir_privacy("[privacy]\n", '[privacy]\nurl = "https://example.org"\n'), "izmir.toml")
