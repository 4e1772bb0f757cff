"""What judging an upload needs, shared by frames, clip jobs, batch streams and the CLI: the loaded
detector, the policy, the working calendar, and the registry's view of the account the stream ran on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.models import Agency, AssignmentKind, Person, Schedule, SocialAccount
from api.policy import (
    AgencySchedule,
    PersonContext,
    PersonSpan,
    PolicyConfig,
    StreamContext,
    WorkingCalendar,
    to_wib,
)
from api.registry import (
    agency_on,
    find_account,
    normalise_handle,
    official_on,
    owner_on,
    parse_platform,
    weekly_schedule,
)
from detector.episodes import AttireEpisode
from detector.model import Detector
from detector.scan import ScanSettings


@dataclass(frozen=True)
class Scoring:
    """The one loaded model, how clips are sampled for it, and the rules it is judged by."""

    detector: Detector
    policy: PolicyConfig
    calendar: WorkingCalendar
    scan: ScanSettings

    @property
    def official(self) -> frozenset[str]:
        return self.detector.taxonomy.official_names


@dataclass(frozen=True)
class StreamSubject:
    """The stream to judge, the registered account it ran on (None: not in the registry), who owned it on
    the stream's day and the agency they served in then (None with no account): whose calendar and whose
    reviewers apply."""

    stream: StreamContext
    account: SocialAccount | None
    owner: Person | None = None
    agency: Agency | None = None


def stream_subject(
    session: Session, platform: str, handle: str, start: datetime, duration_s: float
) -> StreamSubject:
    """The stream as the policy sees it: its owner's calendar context comes from the registry, as of the
    stream's WIB day (``owner_on``, ``agency_on``, ``official_on``). Raises ``UnknownPlatformError`` or
    ``InvalidEntryError`` for a platform or handle that cannot exist."""
    clean_platform, clean_handle = parse_platform(platform), normalise_handle(handle)
    account = find_account(session, clean_platform, clean_handle)
    if account is None:
        stream = StreamContext(clean_platform.value, clean_handle, False, None, start, duration_s)
        return StreamSubject(stream, None)
    day = to_wib(start).date()
    owner = owner_on(account, day)
    agency = agency_on(owner, day)
    context = _person_context(session, owner, agency)
    official = official_on(account, day)
    stream = StreamContext(clean_platform.value, clean_handle, official, context, start, duration_s)
    return StreamSubject(stream, account, owner, agency)


def _person_context(session: Session, person: Person, agency: Agency) -> PersonContext:
    spans: dict[AssignmentKind, list[PersonSpan]] = {kind: [] for kind in AssignmentKind}
    for a in person.assignments:
        spans[a.kind].append(PersonSpan(a.starts_at, a.ends_at, a.reference or ""))
    return PersonContext(
        person_id=person.nip,
        agency_code=agency.code,
        shifts=tuple(spans[AssignmentKind.SHIFT]),
        assignments=tuple(spans[AssignmentKind.ASSIGNMENT]),
        leave=tuple(spans[AssignmentKind.LEAVE]),
        agency_schedules=_agency_schedules(session, agency),
    )


def _agency_schedules(session: Session, agency: Agency) -> tuple[AgencySchedule, ...]:
    """The registry's schedules of ``agency`` and the agencies above it: nearest agency first, and
    within one agency the most recent ``valid_from`` first."""
    chain: list[Agency] = []
    while agency is not None and agency not in chain:
        chain.append(agency)
        agency = agency.parent
    rank = {a.id: n for n, a in enumerate(chain)}
    rows = session.scalars(select(Schedule).where(Schedule.agency_id.in_(rank)))
    ordered = sorted(rows, key=lambda s: (rank[s.agency_id], -s.valid_from.toordinal(), -s.id))
    return tuple(
        AgencySchedule(f"{s.name} ({s.agency.code})", weekly_schedule(s.definition), s.valid_from, s.valid_to)
        for s in ordered
    )


@dataclass(frozen=True)
class ClipScan:
    """A scanned clip: its attire episodes, how many frames were scored, the last scored frame's time,
    and the holes of its recording (``api.engine.recording_holes``)."""

    episodes: list[AttireEpisode]
    frames: int
    last_time_s: float
    holes: list[tuple[float, float]]
