"""The tables of seragam-watch: the registry (agencies, people, accounts, schedules, assignments), uploads,
jobs, cases with their evidence, per-frame detections and the append-only audit log.

Every timestamp column is :class:`~api.db.types.UTCDateTime`: aware in, aware UTC out, naive refused.
Fixed vocabularies are ``StrEnum`` classes stored as short strings with a CHECK constraint, so SQLite and
PostgreSQL hold the same values and a member compares equal to its plain string.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Mapper, mapped_column, relationship

from api.db.types import JSONDocument, UTCDateTime, utc_now

# Named constraints keep Alembic migrations (batch mode on SQLite) deterministic across databases.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSONDocument,
        list[Any]: JSONDocument,
    }


class Platform(StrEnum):
    TIKTOK = "tiktok"
    INSTAGRAM = "instagram"
    FACEBOOK = "facebook"
    YOUTUBE = "youtube"
    X = "x"
    OTHER = "other"


class AssignmentKind(StrEnum):
    ASSIGNMENT = "assignment"  # surat tugas: the time is duty time
    LEAVE = "leave"
    SHIFT = "shift"


class JobKind(StrEnum):
    FRAME = "frame"
    CLIP = "clip"  # uploaded to the service
    STREAM = "stream"  # a recording scored in place by ``seragam batch``


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

    @property
    def unfinished(self) -> bool:
        """Still to be scored: queued, or running (or left running by a process that stopped)."""
        return self in UNFINISHED_JOB_STATES


UNFINISHED_JOB_STATES = (JobState.QUEUED, JobState.RUNNING)


class CaseRule(StrEnum):
    R1 = "R1"  # live_during_working_hours
    R2 = "R2"  # attire_off_duty


class ApiKeyRole(StrEnum):
    UPLOADER = "uploader"  # posts frames and clips, reads its own jobs
    REVIEWER = "reviewer"  # reads cases and evidence of its agency and the agencies below it
    ADMINISTRATOR = "administrator"  # all of the above; without an agency, also the registry


class CaseState(StrEnum):
    OPEN = "open"
    VIEWED = "viewed"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"
    ESCALATED = "escalated"


def _vocabulary(enum_class: type[StrEnum], name: str) -> Enum:
    """A fixed vocabulary stored as its values (not member names) in a VARCHAR with a CHECK constraint."""
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(member.value) for member in enum_class),
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class Agency(Base):
    """An OPD or one of its units; ``parent_id`` builds the supervision hierarchy."""

    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"), index=True)

    parent: Mapped[Agency | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Agency]] = relationship(back_populates="parent")
    people: Mapped[list[Person]] = relationship(back_populates="agency")


class Person(Base):
    """A civil servant (ASN), identified by the 18-digit NIP."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    nip: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"), index=True)

    agency: Mapped[Agency] = relationship(back_populates="people")
    accounts: Mapped[list[SocialAccount]] = relationship(
        back_populates="owner", foreign_keys="SocialAccount.person_id"
    )
    assignments: Mapped[list[Assignment]] = relationship(
        back_populates="person", cascade="all, delete-orphan"
    )
    past_postings: Mapped[list[PastPosting]] = relationship(
        back_populates="person", cascade="all, delete-orphan", order_by="PastPosting.until"
    )


class PastPosting(Base):
    """An agency a person served in before a move (mutasi), up to the WIB day ``until`` (exclusive): a past
    stream is judged by the agency of its day. ``Person.agency_id`` is where they serve now."""

    __tablename__ = "past_postings"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"), index=True)
    until: Mapped[date] = mapped_column(Date)

    person: Mapped[Person] = relationship(back_populates="past_postings")
    agency: Mapped[Agency] = relationship()


class SocialAccount(Base):
    """A registered account on a platform; ``is_official`` accounts belong to an agency (R1 exemption)."""

    __tablename__ = "social_accounts"
    __table_args__ = (
        UniqueConstraint("platform", "handle"),
        CheckConstraint("NOT is_official OR agency_id IS NOT NULL", name="official_has_agency"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[Platform] = mapped_column(_vocabulary(Platform, "platform"))
    handle: Mapped[str] = mapped_column(String(100))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"), index=True)
    is_official: Mapped[bool] = mapped_column(default=False)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"), index=True)

    owner: Mapped[Person] = relationship(back_populates="accounts", foreign_keys=[person_id])
    agency: Mapped[Agency | None] = relationship(foreign_keys=[agency_id])
    past_owners: Mapped[list[PastOwnership]] = relationship(
        back_populates="account", cascade="all, delete-orphan", order_by="PastOwnership.until"
    )
    past_statuses: Mapped[list[PastAccountStatus]] = relationship(
        back_populates="account", cascade="all, delete-orphan", order_by="PastAccountStatus.until"
    )


class PastOwnership(Base):
    """Who owned an account before it was handed over, up to the WIB day ``until`` (exclusive): a past
    stream is judged as its owner's of that day. ``SocialAccount.person_id`` is who owns it now."""

    __tablename__ = "past_ownerships"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("social_accounts.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"), index=True)
    until: Mapped[date] = mapped_column(Date)

    account: Mapped[SocialAccount] = relationship(back_populates="past_owners")
    person: Mapped[Person] = relationship()


class PastAccountStatus(Base):
    """Whether an account was official, and for which agency, before its status changed, up to the WIB day
    ``until`` (exclusive): a past stream is judged by the status of its day (an account made official
    in May was a personal one in April). ``SocialAccount.is_official`` is its status now."""

    __tablename__ = "past_account_statuses"
    __table_args__ = (
        CheckConstraint("NOT is_official OR agency_id IS NOT NULL", name="official_has_agency"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("social_accounts.id", ondelete="CASCADE"), index=True)
    is_official: Mapped[bool]
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"), index=True)
    until: Mapped[date] = mapped_column(Date)

    account: Mapped[SocialAccount] = relationship(back_populates="past_statuses")
    agency: Mapped[Agency | None] = relationship()


class Schedule(Base):
    """An agency's weekly working hours (YAML or JSON text the policy reads), valid for a date range."""

    __tablename__ = "schedules"
    __table_args__ = (CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    definition: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)

    agency: Mapped[Agency] = relationship()


class Assignment(Base):
    """A span of a person's time that overrides the agency schedule: duty assignment, leave or shift."""

    __tablename__ = "assignments"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    kind: Mapped[AssignmentKind] = mapped_column(_vocabulary(AssignmentKind, "assignment_kind"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    reference: Mapped[str | None] = mapped_column(String(200))  # e.g. the surat tugas number

    person: Mapped[Person] = relationship(back_populates="assignments")


class Upload(Base):
    """A stored file, content-addressed by its sha256; ``path`` is relative to the data directory."""

    __tablename__ = "uploads"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    path: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class Job(Base):
    """Background scoring of a frame or a clip, resumable: progress and attempts survive a crash."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_state_created_at", "state", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[JobKind] = mapped_column(_vocabulary(JobKind, "job_kind"))
    state: Mapped[JobState] = mapped_column(_vocabulary(JobState, "job_state"), default=JobState.QUEUED)
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int | None]
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class ScanChunk(Base):
    """A finished chunk of a job's scan: the times of the frames it scored (their detections are
    ``FrameScore`` rows), how many near-duplicate frames it left unscored, and the error that cut it short."""

    __tablename__ = "scan_chunks"
    __table_args__ = (UniqueConstraint("job_id", "n"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    n: Mapped[int]
    times: Mapped[list[Any]] = mapped_column(default=list)
    skipped: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class Case(Base):
    """One flag for human review: a rule, a continuous span of one stream, its evidence and provenance."""

    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint("end_at >= start_at", name="span_order"),
        Index("ix_cases_agency_id_state", "agency_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[CaseRule] = mapped_column(_vocabulary(CaseRule, "case_rule"))
    state: Mapped[CaseState] = mapped_column(_vocabulary(CaseState, "case_state"), default=CaseState.OPEN)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("social_accounts.id", ondelete="RESTRICT"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"), index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"))
    upload_sha256: Mapped[str | None] = mapped_column(ForeignKey("uploads.sha256", ondelete="RESTRICT"))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"), index=True)
    stream_started_at: Mapped[datetime | None]
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    score: Mapped[float | None]  # R1 needs no vision and has none
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    model_version: Mapped[str | None] = mapped_column(String(100))
    policy_version: Mapped[str] = mapped_column(String(100))
    thresholds: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)

    evidence: Mapped[list[Evidence]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="Evidence.n"
    )


class Evidence(Base):
    """The ``n``-th evidence frame of a case: a content-addressed JPEG and the detections drawn on it for
    review (the annotated view is rendered when it is looked at, never stored)."""

    __tablename__ = "evidence"
    __table_args__ = (UniqueConstraint("case_id", "n"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    n: Mapped[int]
    time_offset_s: Mapped[float]
    captured_at: Mapped[datetime]
    original_sha256: Mapped[str] = mapped_column(String(64))
    detections: Mapped[list[Any]] = mapped_column(default=list)

    case: Mapped[Case] = relationship(back_populates="evidence")


class FrameScore(Base):
    """The detections of one scored frame of an upload, kept so reviewers and re-scoring need no re-decode.

    ``model_version`` is part of the key: re-scoring with a newer model adds rows instead of overwriting.
    """

    __tablename__ = "frame_scores"
    __table_args__ = (UniqueConstraint("upload_sha256", "model_version", "time_s"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    upload_sha256: Mapped[str] = mapped_column(ForeignKey("uploads.sha256", ondelete="CASCADE"))
    model_version: Mapped[str] = mapped_column(String(100))
    time_s: Mapped[float]
    detections: Mapped[list[Any]] = mapped_column(default=list)
    attire_score: Mapped[float]  # its best official-attire score (0.0: none), for plots that read no JSON


class ApiKey(Base):
    """A caller of the HTTP API. Only the sha256 of the key is stored; ``agency_id`` scopes what the key
    sees to that agency and the agencies below it (None: every agency, as BKPSDM)."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[ApiKeyRole] = mapped_column(_vocabulary(ApiKeyRole, "api_key_role"))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)

    agency: Mapped[Agency | None] = relationship()


class AuditEntry(Base):
    """Who saw, decided, exported or deleted what, when. Append-only: the ORM refuses updates and deletes."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utc_now, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))
    target: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class AuditLogIsAppendOnlyError(RuntimeError):
    """Raised when code tries to change or remove an audit entry."""


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _refuse_audit_change(mapper: Mapper[AuditEntry], connection: Any, target: AuditEntry) -> None:
    raise AuditLogIsAppendOnlyError(
        f"audit entry {target.id} cannot be changed or deleted; add a new entry that records the correction"
    )


# --- Review in the web UI: people who sign in, their decisions, what they looked at, feedback. ---


class DecisionKind(StrEnum):
    CONFIRM = "confirm"
    DISMISS = "dismiss"
    ESCALATE = "escalate"  # to the personnel agency (BKPSDM)
    COMMENT = "comment"  # a note; leaves the case state as it is


class DismissReason(StrEnum):
    FALSE_POSITIVE = "false_positive"
    NOT_ASN = "not_asn"
    EXEMPT_DUTY = "exempt_duty"
    WRONG_TIME = "wrong_time"
    OTHER = "other"


class FeedbackKind(StrEnum):
    FALSE_POSITIVE = "false_positive"  # a detection where there is no such item
    FALSE_NEGATIVE = "false_negative"  # an item the model missed (the reviewer draws its box)
    WRONG_CLASS = "wrong_class"  # a detection of the right thing under the wrong class


class User(Base):
    """A person who signs in to the web UI: a role and an agency scope as API keys have (None: every
    agency). Only an argon2 hash of the password is stored."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[ApiKeyRole] = mapped_column(_vocabulary(ApiKeyRole, "user_role"))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    # In every session cookie; signing out raises it, so copies of the cookie stop working too.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")

    agency: Mapped[Agency | None] = relationship()


class CaseDecision(Base):
    """One entry of a case's decision history; a revision is a new entry, never an edit."""

    __tablename__ = "case_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[DecisionKind] = mapped_column(_vocabulary(DecisionKind, "decision_kind"))
    reason: Mapped[DismissReason | None] = mapped_column(_vocabulary(DismissReason, "dismiss_reason"))
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(default=utc_now)


class CaseView(Base):
    """When a user first marked or opened a case as viewed (per-user viewed status)."""

    __tablename__ = "case_views"
    __table_args__ = (UniqueConstraint("case_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    viewed_at: Mapped[datetime] = mapped_column(default=utc_now)


class DetectionFeedback(Base):
    """A reviewer's correction of the detections on one evidence frame, for training data.

    ``detection_index`` points into ``Evidence.detections`` (false positive, wrong class); ``box`` is
    ``[x0, y0, x1, y1]`` in pixels of the original frame (false negative); ``class_name`` is the right
    class (false negative, wrong class)."""

    __tablename__ = "detection_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    evidence_n: Mapped[int]
    kind: Mapped[FeedbackKind] = mapped_column(_vocabulary(FeedbackKind, "feedback_kind"))
    detection_index: Mapped[int | None]
    class_name: Mapped[str | None] = mapped_column(String(50))
    box: Mapped[list[Any] | None]
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(default=utc_now)


@event.listens_for(CaseDecision, "before_update")
@event.listens_for(CaseDecision, "before_delete")
def _refuse_decision_change(mapper: Mapper[CaseDecision], connection: Any, target: CaseDecision) -> None:
    raise AuditLogIsAppendOnlyError(
        f"decision {target.id} cannot be changed or deleted; record a new decision that revises it"
    )


# SQLite gives a new row the highest id + 1, so the id of the newest case, decision, job, key or user
# deleted would go to the next one, and audit entries, jobs and sign-in cookies naming it would point at
# the newcomer. AUTOINCREMENT never gives an id twice (PostgreSQL's sequences never do).
for _table in Base.metadata.tables.values():
    _table.dialect_options["sqlite"]["autoincrement"] = True
