"""The database schema. Every change here comes with an Alembic migration (storage/migrations)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from itertools import chain
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
    text,
    update,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, ORMExecuteState, Session, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_ballot_version() -> int:
    """A pot's first ballot version and each new one (`_ballot_changed`): random, so that neither a pot
    made with the id of a deleted one nor a state rolled back shares a version with another state."""
    return secrets.randbits(62)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always read back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; store aware UTC times")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, int: Integer}


class City(Base):
    __tablename__ = "cities"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    names: Mapped[dict[str, Any]] = mapped_column(JSON)
    timezone: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    default_language: Mapped[str] = mapped_column(String(8))
    bounds: Mapped[dict[str, Any]] = mapped_column(JSON)
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class District(Base):
    __tablename__ = "districts"
    __table_args__ = (UniqueConstraint("city_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    name_folded: Mapped[str] = mapped_column(String(200), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    neighborhoods: Mapped[list[Neighborhood]] = relationship(back_populates="district")


class Neighborhood(Base):
    __tablename__ = "neighborhoods"
    __table_args__ = (UniqueConstraint("district_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id", ondelete="RESTRICT"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    name_folded: Mapped[str] = mapped_column(String(200), index=True)
    pilot: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    district: Mapped[District] = relationship(back_populates="neighborhoods")


class Theme(Base):
    __tablename__ = "themes"
    __table_args__ = (UniqueConstraint("city_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    names: Mapped[dict[str, Any]] = mapped_column(JSON)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Park(Base):
    __tablename__ = "parks"
    __table_args__ = (UniqueConstraint("city_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id", ondelete="RESTRICT"))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class SupportItem(Base):
    __tablename__ = "support_items"
    __table_args__ = (UniqueConstraint("city_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    names: Mapped[dict[str, Any]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Resident(Base):
    """A person who talks to the bot. Holds no name, phone or message text: only what the flows need."""

    __tablename__ = "residents"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    # the person behind the account, without their Telegram id: HMAC-SHA256(identity key, telegram id)
    # in hex (bot.services.residents.identity_of). Kept when the account is deleted, so "one per person"
    # rules still hold when the person comes back; not unique (the anonymous rows keep it too)
    identity: Mapped[str | None] = mapped_column(String(64), index=True)
    language: Mapped[str | None] = mapped_column(String(8))
    neighborhood_id: Mapped[int | None] = mapped_column(
        ForeignKey("neighborhoods.id", ondelete="RESTRICT"), index=True
    )
    consent_at: Mapped[datetime | None] = mapped_column()
    onboarded_at: Mapped[datetime | None] = mapped_column()
    reachable: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column()

    neighborhood: Mapped[Neighborhood | None] = relationship()
    roles: Mapped[list[Role]] = relationship(
        back_populates="resident", cascade="all, delete-orphan", foreign_keys="Role.resident_id"
    )


class NotificationChoice(Base):
    """A resident's choice for one notification category (categories come from the feature manifest;
    without a row the category's default applies)."""

    __tablename__ = "notification_choices"

    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True)
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)


class Role(Base):
    """A role held by a resident: staff (city-wide), coordinator (of one neighborhood's council), organiser."""

    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("resident_id", "role", "neighborhood_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    neighborhood_id: Mapped[int | None] = mapped_column(ForeignKey("neighborhoods.id", ondelete="RESTRICT"))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    granted_by: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"))

    resident: Mapped[Resident] = relationship(back_populates="roles", foreign_keys=[resident_id])


class AuditEntry(Base):
    """One line per staff or system action: who (resident id, or none for the CLI), what, on which object."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[int | None] = mapped_column(BigInteger)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class InstallationSecret(Base):
    """A secret this installation made for itself on first use (e.g. the identity key when
    IDENTITY_KEY is not set), so a fresh clone works without set-up."""

    __tablename__ = "installation_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FsmRecord(Base):
    """Conversation state of one person in one chat (aiogram FSM), kept across restarts."""

    __tablename__ = "fsm_state"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    state: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# A conversation state's row as plain values (key, state, data): what `storage.fsm` reads and what the
# read of every update (`bot.services.residents.PersonRead`) gives it.
FSM_ROW = (FsmRecord.__table__.c.key, FsmRecord.__table__.c.state, FsmRecord.__table__.c.data)


class ProcessedUpdate(Base):
    """Telegram update ids already handled, so an update delivered twice is handled once.

    With the id, for an hour, the update's answers (a JSON list of Bot API methods, each its class name
    and its parameters) and the Telegram id of the person they answered, if they have accepted the
    privacy notice: a delivery that comes again because the process handling the first died after
    committing is answered with them (`bot.middlewares.dedup`). The purge after the hour, the deletion of
    the account and the refusal of the notice clear both."""

    __tablename__ = "processed_updates"

    bot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    answer_to: Mapped[int | None] = mapped_column(BigInteger)  # the Telegram id of the person answered
    answer: Mapped[str | None] = mapped_column(Text)

    # the rows with an answer kept (an hour's), by person: the deletion, the purge, "gone on since"
    __table_args__ = (
        Index(
            "ix_processed_updates_answer_to",
            "answer_to",
            postgresql_where=text("answer_to IS NOT NULL"),
            sqlite_where=text("answer_to IS NOT NULL"),
        ),
    )


class Process(Base):
    """A participation process (an idea collection now; budgeting, consultations later).

    Its timeline is a list of phases, one row each, so later features add phases (review, voting,
    results, implementation), pots and ballots next to it without changing this table.
    """

    __tablename__ = "processes"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    names: Mapped[dict[str, Any]] = mapped_column(JSON)
    scope: Mapped[str] = mapped_column(String(16), default="city")
    neighborhood_id: Mapped[int | None] = mapped_column(
        ForeignKey("neighborhoods.id", ondelete="RESTRICT"), index=True
    )
    idea_limit: Mapped[int] = mapped_column(Integer, default=3)
    # one person, one ballot: none (one Telegram account), phone (their own contact), code (one-time
    # codes from the municipality); bot.services.budgets.verification
    verification: Mapped[str] = mapped_column(String(8), default="none", server_default="none")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    neighborhood: Mapped[Neighborhood | None] = relationship()
    phases: Mapped[list[ProcessPhase]] = relationship(
        back_populates="process", cascade="all, delete-orphan", order_by="ProcessPhase.starts_at"
    )


class ProcessPhase(Base):
    """One phase of a process: draft, submission, review, voting, results or implementation (UTC times)."""

    __tablename__ = "process_phases"
    __table_args__ = (UniqueConstraint("process_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("processes.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    starts_at: Mapped[datetime] = mapped_column()
    ends_at: Mapped[datetime] = mapped_column()

    process: Mapped[Process] = relationship(back_populates="phases")


class Idea(Base):
    """A resident's idea in a process. The author is kept for notices and limits, never shown to staff
    unless they ask (which the audit log records)."""

    __tablename__ = "ideas"
    __table_args__ = (
        Index("ix_ideas_process_status", "process_id", "status"),
        Index("ix_ideas_neighborhood_status", "neighborhood_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("processes.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"), index=True)
    neighborhood_id: Mapped[int] = mapped_column(ForeignKey("neighborhoods.id", ondelete="RESTRICT"))
    theme_id: Mapped[int] = mapped_column(ForeignKey("themes.id", ondelete="RESTRICT"))
    scope: Mapped[str] = mapped_column(String(16), default="neighborhood")
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text)
    photo_file_id: Mapped[str | None] = mapped_column(String(255))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    # the neighborhood the idea is about, when the author typed a place instead of sharing a location
    # (no foreign key: SQLite cannot add one to a table with rows; neighborhoods are never deleted)
    place_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reject_reason_key: Mapped[str | None] = mapped_column(String(32))
    reject_reason: Mapped[str | None] = mapped_column(Text)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("ideas.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    decided_at: Mapped[datetime | None] = mapped_column()
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"))

    process: Mapped[Process] = relationship()
    neighborhood: Mapped[Neighborhood] = relationship(foreign_keys=[neighborhood_id])
    place: Mapped[Neighborhood | None] = relationship(
        primaryjoin="Idea.place_id == Neighborhood.id", foreign_keys=[place_id], viewonly=True
    )
    theme: Mapped[Theme] = relationship()
    author: Mapped[Resident | None] = relationship(foreign_keys=[author_id])


class IdeaSupport(Base):
    """One resident's support for one idea (at most one each)."""

    __tablename__ = "idea_supports"

    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"), primary_key=True)
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BudgetPot(Base):
    """A participatory budget's pot in a process: how much money, for whom (the city, a district or a
    neighborhood), how residents fill their ballot and how the ballots are counted."""

    __tablename__ = "budget_pots"

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("processes.id", ondelete="CASCADE"), index=True)
    names: Mapped[dict[str, Any]] = mapped_column(JSON)
    scope: Mapped[str] = mapped_column(String(16), default="city")  # city | district | neighborhood
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id", ondelete="RESTRICT"))
    neighborhood_id: Mapped[int | None] = mapped_column(ForeignKey("neighborhoods.id", ondelete="RESTRICT"))
    budget: Mapped[int] = mapped_column(BigInteger)  # whole units of the city's currency
    ballot_kind: Mapped[str] = mapped_column(
        String(16), default="knapsack"
    )  # knapsack | approval | cumulative
    min_projects: Mapped[int | None] = mapped_column(Integer)
    max_projects: Mapped[int | None] = mapped_column(Integer)
    min_share: Mapped[int | None] = mapped_column(Integer)  # percent of the budget a ballot must use
    approval_limit: Mapped[int | None] = mapped_column(Integer)  # approval ballots: at most this many
    rule: Mapped[str] = mapped_column(String(24), default="greedy")  # greedy | greedy-threshold | top-k | mes
    rule_param: Mapped[int | None] = mapped_column(Integer)  # the threshold, or k
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # other Pabulib META (imports)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # a new random number whenever what the pot's ballot shows changes (`_ballot_changed`)
    ballot_version: Mapped[int] = mapped_column(BigInteger, default=new_ballot_version, server_default="0")

    process: Mapped[Process] = relationship()


class BudgetProject(Base):
    """A project on a pot's ballot, with its cost; it may come from an idea."""

    __tablename__ = "budget_projects"
    __table_args__ = (UniqueConstraint("pot_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pot_id: Mapped[int] = mapped_column(ForeignKey("budget_pots.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))  # the Pabulib project_id
    titles: Mapped[dict[str, Any]] = mapped_column(JSON)
    summaries: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    cost: Mapped[int] = mapped_column(BigInteger)
    idea_id: Mapped[int | None] = mapped_column(ForeignKey("ideas.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="proposed")  # proposed | infeasible | selected
    status_reason: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)  # staff's feasibility note (not on the ballot)
    neighborhood_id: Mapped[int | None] = mapped_column(ForeignKey("neighborhoods.id", ondelete="RESTRICT"))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    photo_file_id: Mapped[str | None] = mapped_column(String(255))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # other Pabulib columns (imports)
    position: Mapped[int] = mapped_column(Integer, default=0)

    place: Mapped[Neighborhood | None] = relationship()


class BudgetBallot(Base):
    """One person's confirmed ballot in a pot: at most one per person (`identity`, the keyed hash that
    outlives the account), enforced by the database. Drafts are never stored here."""

    __tablename__ = "budget_ballots"
    __table_args__ = (UniqueConstraint("pot_id", "identity"), UniqueConstraint("pot_id", "receipt"))

    id: Mapped[int] = mapped_column(primary_key=True)
    pot_id: Mapped[int] = mapped_column(ForeignKey("budget_pots.id", ondelete="CASCADE"))
    identity: Mapped[str] = mapped_column(String(80))
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="SET NULL"), index=True
    )
    receipt: Mapped[str] = mapped_column(String(16))
    voter_label: Mapped[str | None] = mapped_column(String(64))  # an imported ballot's Pabulib voter_id
    confirmed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # the voter's neighborhood when they confirmed (for the turnout; none for imported ballots; no foreign
    # key, as SQLite cannot add one to an existing table: migration 0013)
    neighborhood_id: Mapped[int | None] = mapped_column(Integer)


class BudgetChoice(Base):
    """A project on a confirmed ballot (`points` for imported point ballots)."""

    __tablename__ = "budget_choices"

    ballot_id: Mapped[int] = mapped_column(
        ForeignKey("budget_ballots.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[int] = mapped_column(
        ForeignKey("budget_projects.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    points: Mapped[int | None] = mapped_column(Integer)


class BudgetResult(Base):
    """A pot's counted results, stored when they are first asked for after voting closed (or when staff
    count again), so that viewers are served from here and never re-count: the rule's outcome (winners,
    votes, why each project won or lost) and the turnout by neighborhood. Deleted to count again."""

    __tablename__ = "budget_results"

    pot_id: Mapped[int] = mapped_column(ForeignKey("budget_pots.id", ondelete="CASCADE"), primary_key=True)
    ballots: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[dict[str, Any]] = mapped_column(JSON)
    turnout: Mapped[dict[str, Any]] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
    computed_by: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"))


class Verification(Base):
    """A person verified for a process's ballots: by their `identity` (the keyed hash that outlives
    the account, so deleting the account keeps it), with `key` the keyed hash of what proved it (a
    phone number, a one-time code; never the number or the code). UNIQUE(process_id, key): one phone
    number or code verifies one person per process; UNIQUE(process_id, identity): once per person."""

    __tablename__ = "verifications"
    __table_args__ = (UniqueConstraint("process_id", "identity"), UniqueConstraint("process_id", "key"))

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("processes.id", ondelete="CASCADE"))
    identity: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(8))  # phone | code
    key: Mapped[str] = mapped_column(String(64))
    verified_at: Mapped[datetime] = mapped_column(default=utcnow)


class VerificationCode(Base):
    """A one-time code staff handed out for a process, as its keyed hash (the clear code exists only in
    the CSV staff were given). Used once: `used_at` is set by a conditional update."""

    __tablename__ = "verification_codes"
    __table_args__ = (UniqueConstraint("process_id", "code_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("processes.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    batch: Mapped[int] = mapped_column(Integer, default=0)  # the generation it came from (an audit id)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column()


class VerificationFailure(Base):
    """A wrong or used code typed by a person (`identity`), for throttling repeated tries."""

    __tablename__ = "verification_failures"
    __table_args__ = (Index("ix_verification_failures_identity_at", "identity", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    identity: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxMessage(Base):
    """A message waiting to leave, or gone: a notice to one person, a post to the staff group, an
    announcement or a staff broadcast. `text` is a message id rendered with `params` in each recipient's
    language at delivery (or `texts`, one text per language, when staff wrote it). `key`, when set, makes
    the message happen once (a phase announcement is `phase:<id>:open`)."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # notice, staff, announcement, broadcast
    key: Mapped[str | None] = mapped_column(String(128), unique=True)
    text: Mapped[str | None] = mapped_column(Text)
    texts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    links: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [[kind, id, label message id], …]
    url: Mapped[str | None] = mapped_column(String(512))  # an optional link button (label in `params`)
    photo: Mapped[str | None] = mapped_column(String(255))  # a photo's file id: the text is its caption
    category: Mapped[str | None] = mapped_column(String(32))
    audience: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # who it was meant for
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"))

    # written with the message when it has few recipients; never loaded (a broadcast has thousands)
    deliveries: Mapped[list[OutboxDelivery]] = relationship(lazy="raise", passive_deletes=True)


class OutboxDelivery(Base):
    """One message to one chat. `pending` rows are sent by the outbox worker from `not_before` on; a
    worker claims a row (`claimed_at`) before sending it, so a crash repeats at most what was in flight
    (a claim older than the claim timeout is taken again)."""

    __tablename__ = "outbox_deliveries"
    __table_args__ = (Index("ix_outbox_deliveries_due", "status", "priority", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("outbox_messages.id", ondelete="CASCADE"), index=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    lang: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, sent, unreachable, failed
    # lower first: notices and staff posts (0) overtake announcements and broadcasts (1) being sent
    priority: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column()
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None] = mapped_column()
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(String(64))  # the error's type, never its text


class SchedulerLease(Base):
    """Who runs the scheduler and the outbox worker: one holder per database, until `expires_at` (renewed
    periodically by the holder; an expired lease is taken over)."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class BudgetProjectUpdate(Base):
    """A status update staff post on a selected project after the results: its stage (tender, started,
    done, or a free note), a text per language and an optional photo. Residents read them on the
    project's results page; its voters and its idea's author are told (migration 0011)."""

    __tablename__ = "budget_project_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("budget_projects.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(16))
    texts: Mapped[dict[str, Any]] = mapped_column(JSON)
    photo_file_id: Mapped[str | None] = mapped_column(String(255))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Broadcast(Base):
    """A staff broadcast as composed: what it says, to whom, when. `status`: `scheduled` (expanded into
    outbox deliveries at `send_at` by the scheduler, so opt-outs made meanwhile count), `cancelled`,
    `sending` (its outbox message is being delivered; `progress_*` is the staff chat's progress
    message), `done` (the final report is written)."""

    __tablename__ = "broadcasts"
    __table_args__ = (Index("ix_broadcasts_status_send_at", "status", "send_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    texts: Mapped[dict[str, Any]] = mapped_column(JSON)
    audience: Mapped[dict[str, Any]] = mapped_column(JSON)
    category: Mapped[str] = mapped_column(String(32))
    photo: Mapped[str | None] = mapped_column(String(256))
    flow: Mapped[str | None] = mapped_column(String(32))
    send_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id", ondelete="SET NULL"))
    recipients: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime | None] = mapped_column()
    progress_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_at: Mapped[datetime | None] = mapped_column()


# --- a pot's ballot version ------------------------------------------------------------------------
#
# What a ballot shows (its projects, their titles, costs, photos and places) is read on every press, and
# cannot change while the pot's voting is open, so each process keeps it by (pot, `ballot_version`)
# (`bot.services.budgets.ballot_projects`). Every change to a project, and every change to a
# neighborhood or district (a place's name is on the ballot), gives the pots concerned a new random
# version in the same transaction: committed with the change, or rolled back with it and never seen.
# Random, not counted up (a new pot's first one too), so that a version read inside a transaction that
# is then rolled back, or the version of a deleted pot whose id is given again, never names another
# state. The changes come through the ORM (`before_flush`) or, for a bulk statement on those tables,
# through `do_orm_execute`, which renews every pot's version. A change made around the ORM (SQL typed
# into psql, a data migration) must renew it too: `UPDATE budget_pots SET ballot_version = ...`.

_PLACES = (Neighborhood, District)
_CHANGED = (BudgetProject, *_PLACES)


def _new_version(session: Session, pots: set[int] | None) -> None:
    renew = update(BudgetPot).values(ballot_version=new_ballot_version())
    if pots is not None:
        renew = renew.where(BudgetPot.id.in_(pots))
    session.execute(renew, execution_options={"synchronize_session": "evaluate"})


@event.listens_for(Session, "before_flush")
def _ballot_changed(session: Session, _flush: Any, _instances: Any) -> None:
    pots: set[int] = set()
    everywhere = False  # a place's name changed, or a project whose pot is not known here
    new, dirty, deleted = session.new, session.dirty, session.deleted
    for row in chain(new, dirty, deleted):
        if isinstance(row, BudgetProject):
            if row in dirty and not session.is_modified(row):
                continue
            moved = inspect(row).attrs.pot_id.history  # a project moved to another pot changes both
            known = [p for p in (*moved.added, *moved.unchanged, *moved.deleted) if p is not None]
            pots.update(known)
            everywhere = everywhere or not known  # its pot_id not loaded (expired): every pot
        elif isinstance(row, _PLACES) and row not in new:
            everywhere = everywhere or row in deleted or session.is_modified(row)
    if everywhere:
        _new_version(session, None)
    elif pots:
        _new_version(session, pots)


@event.listens_for(Session, "do_orm_execute")
def _ballot_changed_in_bulk(state: ORMExecuteState) -> None:
    mapper = state.bind_mapper
    if (
        (state.is_update or state.is_delete or state.is_insert)
        and mapper is not None
        and mapper.class_ in _CHANGED
    ):
        _new_version(state.session, None)
