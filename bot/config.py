"""Settings from the environment / `.env`, and the city file."""

from __future__ import annotations

import re
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CITY_FILE = PROJECT_ROOT / "cities" / "izmir.toml"
LANGUAGES = ("tr", "en")


class ConfigError(Exception):
    """A setting or a city file is invalid; the message names the setting, key or line."""


class Settings(BaseSettings):
    """Everything the bot reads from its environment. See `.env.example`."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: str | None = None
    telegram_api_url: str | None = None
    database_url: str = "sqlite+aiosqlite:///meydan.db"
    # PostgreSQL only: connections each process keeps once it has needed them, and how many more it may
    # open (each closed after use); unset: WEBHOOK_MAX_CONNECTIONS and 10 (`storage.db.make_engine`).
    # Every instance and the worker keep their own, so together they stay under max_connections.
    database_pool_size: int | None = Field(default=None, ge=1, le=200)
    database_max_overflow: int | None = Field(default=None, ge=0, le=200)
    redis_url: str | None = None
    # the first part of every Redis key of this bot (conversation state, per-person locks, throttling),
    # so several bots can share one Redis
    redis_prefix: str = Field(default="fsm", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    city_file: Path = DEFAULT_CITY_FILE
    staff_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_host: str = "127.0.0.1"
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    # how many webhook calls Telegram makes at once (setWebhook max_connections, 1 to 100): each call
    # is answered once its update is handled, so this bounds the updates handled at once over all
    # instances behind the load balancer
    webhook_max_connections: int = Field(default=40, ge=1, le=100)
    # seconds a webhook instance told to stop (SIGTERM, Ctrl+C), having stopped taking calls, waits for
    # the updates it is handling (aiohttp's shutdown_timeout: it then waits up to as long again before it
    # cancels what is still running; Telegram calls again for those)
    webhook_stop_timeout: float = Field(default=10.0, ge=0, le=600)
    # a server with /metrics alone (Prometheus text) on this port, for `meydan worker` or a bot by long
    # polling; unset: none (a webhook instance serves /metrics on its webhook port anyway)
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    default_language: str | None = None
    staff_group_id: int | None = None
    sandbox_host: str = "127.0.0.1"
    sandbox_port: int = Field(default=8081, ge=0, le=65535)
    log_level: str = "INFO"
    # run the scheduler and the outbox worker in this process (`meydan run`); false on the webhook
    # instances when `meydan worker` runs them on its own (one per database: a lease keeps it so)
    scheduler: bool = True
    # messages a second the outbox worker sends overall (Telegram: about 30; paid broadcasts up to 1,000)
    outbox_rate: float = Field(default=30.0, gt=0, le=1000)
    # seconds: the scheduler lease (renewed every third of it; a crashed holder is taken over after it),
    # and how long a claimed delivery belongs to a worker that may have died (then it is sent again)
    scheduler_lease_ttl: float = Field(default=30.0, ge=1, le=3600)
    outbox_claim_timeout: float = Field(default=60.0, ge=1, le=3600)
    # seconds the scheduler and the outbox worker, told to stop (SIGTERM, Ctrl+C), wait for the jobs and
    # the sends in hand before they cancel them, release the lease and exit
    worker_stop_timeout: float = Field(default=10.0, ge=0, le=600)
    # the secret behind residents.identity (one person stays one person after deleting the account);
    # unset: a key the installation makes for itself and keeps in its database
    identity_key: str | None = None

    @field_validator("bot_token")
    @classmethod
    def _token(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        head, sep, tail = value.partition(":")
        if not (sep and head.isdigit() and len(tail) >= 10):
            raise ValueError("must look like 123456:ABC-DEF… (the token BotFather gives)")
        return value

    @field_validator("staff_ids", mode="before")
    @classmethod
    def _staff_ids(cls, value: Any) -> list[int]:
        if value in (None, ""):
            return []
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
            try:
                return [int(p) for p in parts]
            except ValueError:
                raise ValueError("must be a comma-separated list of Telegram user ids") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator(
        "redis_url",
        "telegram_api_url",
        "webhook_url",
        "webhook_secret",
        "default_language",
        "staff_group_id",
        "identity_key",
        "metrics_port",
        "database_pool_size",
        "database_max_overflow",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("telegram_api_url", "webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value

    @field_validator("webhook_secret")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        if value and not all(c.isalnum() or c in "_-" for c in value) or (value and len(value) > 256):
            raise ValueError("may hold only A-Z, a-z, 0-9, _ and -, at most 256 characters")
        return value

    @field_validator("identity_key")
    @classmethod
    def _identity_key(cls, value: str | None) -> str | None:
        if value is not None and len(value.strip()) < 32:
            raise ValueError(
                "must be a long random string (at least 32 characters), e.g. openssl rand -hex 32"
            )
        return value.strip() if value is not None else None

    @field_validator("default_language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        if value and value not in LANGUAGES:
            raise ValueError(f"must be one of {', '.join(LANGUAGES)}")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return value.upper()


def load_settings(**overrides: Any) -> Settings:
    """Read the settings; a bad value raises ConfigError naming the setting."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]).upper() if err["loc"] else "settings"
        raise ConfigError(f"{name}: {err['msg']}") from None


# --- The city file ---------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Names(_Strict):
    """A name in each language; Turkish and English are required."""

    model_config = ConfigDict(extra="allow", frozen=True)
    tr: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, lang: str) -> str:
        return getattr(self, lang, None) or self.en


class NeighborhoodSpec(_Strict):
    key: str = Field(min_length=1, pattern=r"^[a-z0-9-]+$")
    name: str = Field(min_length=1)
    pilot: str | None = None  # "cittaslow" | "immediate-solutions"
    former_names: list[str] = Field(default_factory=list)


class DistrictSpec(_Strict):
    key: str = Field(min_length=1, pattern=r"^[a-z0-9-]+$")
    name: str = Field(min_length=1)
    neighborhoods: list[NeighborhoodSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> DistrictSpec:
        _check_unique([n.key for n in self.neighborhoods], f"district {self.key}: neighborhood key")
        return self


class ThemeSpec(_Strict):
    key: str = Field(min_length=1, pattern=r"^[a-z0-9-]+$")
    names: Names


class ParkSpec(_Strict):
    key: str = Field(min_length=1, pattern=r"^[a-z0-9-]+$")
    name: str = Field(min_length=1)
    district: str
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class SupportItemSpec(_Strict):
    key: str = Field(min_length=1, pattern=r"^[a-z0-9-]+$")
    names: Names


class Bounds(_Strict):
    south: float = Field(ge=-90, le=90)
    west: float = Field(ge=-180, le=180)
    north: float = Field(ge=-90, le=90)
    east: float = Field(ge=-180, le=180)

    def contains(self, latitude: float, longitude: float) -> bool:
        return self.south <= latitude <= self.north and self.west <= longitude <= self.east


_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>.]+$")


def _https_url(value: str) -> str:
    """`value` when it is an absolute https:// address with a host name, else a ValueError."""
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        host, parts = None, None
    if (
        parts is None
        or parts.scheme != "https"
        or not host
        or "." not in host
        or any(c.isspace() for c in value)
    ):
        raise ValueError(f"must be an https:// address, like https://example.org/privacy (got {value!r})")
    return value


class PrivacySpec(_Strict):
    """Who is responsible for the data (the data controller under KVKK/GDPR) and where the full privacy
    notice is; the bot's short notice names the controller and links the full one."""

    controller: Names
    notice_url: str
    contact: str | None = None  # an e-mail address or an https:// address

    @field_validator("notice_url")
    @classmethod
    def _notice_url(cls, value: str) -> str:
        return _https_url(value.strip())

    @field_validator("contact")
    @classmethod
    def _contact(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        if not value:
            return None
        if _EMAIL.match(value):
            return value
        if value.startswith("https://"):
            return _https_url(value)
        raise ValueError(f"must be an e-mail address or an https:// address (got {value!r})")

    def controller_name(self, lang: str) -> str:
        return self.controller.get(lang)

    @property
    def contact_url(self) -> str | None:
        """The contact as a link: mailto: for an e-mail address."""
        if self.contact is None:
            return None
        return self.contact if self.contact.startswith("https://") else f"mailto:{self.contact}"


class CitySpec(_Strict):
    key: str = Field(min_length=1, pattern=r"^[a-z0-9-]+$")
    names: Names
    timezone: str
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    default_language: str
    bounds: Bounds
    districts: list[DistrictSpec] = Field(min_length=1)
    themes: list[ThemeSpec] = Field(min_length=1)
    parks: list[ParkSpec] = Field(default_factory=list)
    support: list[SupportItemSpec] = Field(default_factory=list)
    privacy: PrivacySpec | None = None  # read from the spec at runtime; not stored in the database

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r}") from None
        return value

    @field_validator("default_language")
    @classmethod
    def _lang(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"must be one of {', '.join(LANGUAGES)}")
        return value

    @model_validator(mode="after")
    def _references(self) -> CitySpec:
        _check_unique([d.key for d in self.districts], "district key")
        _check_unique([t.key for t in self.themes], "theme key")
        _check_unique([p.key for p in self.parks], "park key")
        _check_unique([s.key for s in self.support], "support key")
        districts = {d.key for d in self.districts}
        for park in self.parks:
            if park.district not in districts:
                raise ValueError(f"park {park.key}: unknown district {park.district!r}")
        return self

    @cached_property
    def zone(self):  # noqa: ANN201 - ZoneInfo
        from zoneinfo import ZoneInfo

        return ZoneInfo(self.timezone)


def _check_unique(keys: list[str], what: str) -> None:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise ValueError(f"duplicate {what} {key!r}")
        seen.add(key)


def parse_city(text: str, source: str = "city file") -> CitySpec:
    """Parse a city file's TOML text; errors name the line (syntax) or the key (content)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    try:
        return CitySpec.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = _loc_to_key(raw, err["loc"])
        raise ConfigError(f"{source}: {where}: {err['msg']}") from None


def _loc_to_key(raw: Any, loc: tuple[Any, ...]) -> str:
    """Turn a validation location into a readable key, using item keys where present."""
    parts: list[str] = []
    node = raw
    for item in loc:
        if isinstance(item, int) and isinstance(node, list):
            node = node[item] if item < len(node) else None
            label = node.get("key") if isinstance(node, dict) else None
            parts[-1] = f"{parts[-1]}[{label or item}]" if parts else f"[{item}]"
        else:
            parts.append(str(item))
            node = node.get(item) if isinstance(node, dict) else None
    return ".".join(parts) or "(top level)"


def load_city(path: Path | str) -> CitySpec:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    return parse_city(text, str(path))
