"""Request and response bodies of the HTTP API (what /docs shows). Times are UTC ISO 8601, with the
same instant in WIB beside them where a person reads it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.auth import Caller
from api.cases import CASE_RULES, may_review
from api.db.models import (
    Agency,
    ApiKey,
    Assignment,
    Case,
    CaseDecision,
    DetectionFeedback,
    Evidence,
    Job,
    Person,
    Schedule,
    SocialAccount,
)
from api.policy import Finding, Judgement, format_wib
from api.registry import ImportReport
from detector.detections import Detections

NIP_EXAMPLE = "198507142010011002"


class Detection(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    class_name: str = Field(alias="class", examples=["pdh_khaki"])
    score: float = Field(examples=[0.87])
    box: list[float] = Field(description="x1, y1, x2, y2 in pixels of the uploaded image")


def detections_out(detections: Detections) -> list[Detection]:
    return [Detection.model_validate(d) for d in detections.to_dict()["detections"]]


class Segment(BaseModel):
    start: datetime
    end: datetime
    kind: str = Field(examples=["working"])
    reason: str = Field(examples=["Tuesday working hours 07:30-16:00"])


class FindingOut(BaseModel):
    rule: str = Field(examples=["R2"])
    rule_name: str = Field(examples=["attire_off_duty"])
    start: datetime
    end: datetime
    start_wib: str = Field(examples=["2026-04-14 19:00:00 WIB"])
    end_wib: str
    reasons: list[str]
    episode: dict[str, Any] | None = Field(None, description="the attire evidence (R2)")

    @classmethod
    def of(cls, finding: Finding) -> FindingOut:
        return cls(
            rule=CASE_RULES[finding.rule].value,
            rule_name=finding.rule.value,
            start=finding.start,
            end=finding.end,
            start_wib=format_wib(finding.start),
            end_wib=format_wib(finding.end),
            reasons=list(finding.reasons),
            episode=finding.episode.__dict__ if finding.episode else None,
        )


class Outcome(BaseModel):
    """What the rules said: ``applied`` is false when the account has no registered owner."""

    applied: bool
    flagged: bool
    policy_version: str
    thresholds: dict[str, Any]
    segments: list[Segment]
    findings: list[FindingOut]
    notes: list[str]

    @classmethod
    def of(cls, judgement: Judgement, notes: tuple[str, ...] = ()) -> Outcome:
        return cls(
            applied=judgement.stream.owner is not None,
            flagged=judgement.flagged,
            policy_version=judgement.policy_version,
            thresholds=dict(judgement.thresholds),
            segments=[
                Segment(start=s.start, end=s.end, kind=s.kind.value, reason=s.reason)
                for s in judgement.segments
            ],
            findings=[FindingOut.of(f) for f in judgement.findings],
            notes=[*notes, *judgement.notes],
        )


class CaseSummary(BaseModel):
    id: int
    rule: str = Field(examples=["R1"])
    state: str = Field(examples=["open"])
    agency_id: int | None
    person_id: int | None
    account_id: int | None
    start_at: datetime
    end_at: datetime
    start_wib: str
    end_wib: str
    score: float | None

    @classmethod
    def of(cls, case: Case) -> CaseSummary:
        return cls(**_case_fields(case))


class UploadedCase(CaseSummary):
    """A case an upload opened, or found open already (the same frame or clip sent again). Its ``state``
    (a reviewer's decision), agency and person (who owns the account) are told only to a caller who may
    review the case, as ``GET /v1/cases/{id}`` would; anyone else (an uploader, another agency) gets the id
    to quote and nulls."""

    state: str | None = Field(examples=["open"], description="null unless you may review this case")
    agency_id: int | None = Field(description="null unless you may review this case")
    person_id: int | None = Field(description="null unless you may review this case")

    @classmethod
    def told_to(cls, caller: Caller, case: Case) -> UploadedCase:
        fields = _case_fields(case)
        if not may_review(caller, case):
            fields |= {"state": None, "agency_id": None, "person_id": None}
        return cls(**fields)


def _case_fields(case: Case) -> dict[str, Any]:
    return {
        "id": case.id,
        "rule": case.rule.value,
        "state": case.state.value,
        "agency_id": case.agency_id,
        "person_id": case.person_id,
        "account_id": case.account_id,
        "start_at": case.start_at,
        "end_at": case.end_at,
        "start_wib": format_wib(case.start_at),
        "end_wib": format_wib(case.end_at),
        "score": case.score,
    }


class EvidenceOut(BaseModel):
    n: int
    time_offset_s: float = Field(description="seconds from the stream start")
    captured_at: datetime
    captured_at_wib: str
    original_sha256: str
    detections: list[Detection]
    url: str = Field(examples=["/v1/cases/7/evidence/1.jpg"])
    original_url: str

    @classmethod
    def of(cls, case_id: int, evidence: Evidence) -> EvidenceOut:
        url = f"/v1/cases/{case_id}/evidence/{evidence.n}.jpg"
        return cls(
            n=evidence.n,
            time_offset_s=evidence.time_offset_s,
            captured_at=evidence.captured_at,
            captured_at_wib=format_wib(evidence.captured_at),
            original_sha256=evidence.original_sha256,
            detections=[Detection.model_validate(d) for d in evidence.detections],
            url=url,
            original_url=f"{url}?original=1",
        )


class CaseDetail(CaseSummary):
    upload_sha256: str | None = Field(description="sha256 of the uploaded frame or clip")
    job_id: int | None
    stream_started_at: datetime | None
    stream_started_wib: str | None
    model_version: str | None = Field(examples=["seragam-n@3f2a9c1b0d4e"])
    policy_version: str = Field(examples=["2026.2"])
    thresholds: dict[str, Any]
    reasons: list[str]
    evidence: list[EvidenceOut]
    overlapping: list[CaseSummary] = Field(
        description="other cases of the same account and rule whose spans overlap this one (another "
        "recording of the same stream), that you may review: decide them together"
    )

    @classmethod
    def of(cls, case: Case, overlapping: Sequence[Case]) -> CaseDetail:
        started = case.stream_started_at
        return cls(
            **_case_fields(case),
            upload_sha256=case.upload_sha256,
            job_id=case.job_id,
            stream_started_at=started,
            stream_started_wib=format_wib(started) if started else None,
            model_version=case.model_version,
            policy_version=case.policy_version,
            thresholds=case.thresholds,
            reasons=case.reasons,
            evidence=[EvidenceOut.of(case.id, e) for e in case.evidence],
            overlapping=[CaseSummary.of(c) for c in overlapping],
        )


class FrameResponse(BaseModel):
    upload_sha256: str
    model_version: str
    image_size: list[int] = Field(examples=[[720, 1280]])
    detections: list[Detection]
    outcome: Outcome
    cases: list[UploadedCase]


class Progress(BaseModel):
    done: int
    total: int | None = Field(description="frames to score, estimated from the clip's duration")


class JobOut(BaseModel):
    id: int
    state: str = Field(examples=["running"])
    progress: Progress
    notes: list[str] = Field(description="what the upload checks noticed (e.g. implausible times)")
    result: dict[str, Any] | None = Field(
        description="outcome, case_ids, episodes and holes (spans without any frame) once done"
    )
    error: str | None
    attempts: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, job: Job) -> JobOut:
        return cls(
            id=job.id,
            state=job.state.value,
            progress=Progress(done=job.progress_done, total=job.progress_total),
            notes=job.params.get("notes", []),
            result=job.result,
            error=job.error,
            attempts=job.attempts,
            created_at=job.created_at,
            updated_at=job.updated_at,
        )


class AgencyIn(BaseModel):
    code: str = Field(examples=["DINKES"])
    name: str = Field(examples=["Dinas Kesehatan"])
    parent_id: int | None = None


class Update(BaseModel):
    """A PATCH body: the fields given change, the others stay. ``null`` is accepted only where a field
    may be empty (``nullable``); elsewhere it is refused instead of clearing a required value."""

    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _required_stay_set(self) -> Self:
        cleared = sorted(
            k for k in self.model_fields_set if getattr(self, k) is None and k not in self.nullable
        )
        if cleared:
            raise ValueError(f"{', '.join(cleared)} cannot be null; leave a field out to keep its value")
        return self


class AgencyUpdate(Update):
    nullable = frozenset({"parent_id"})
    code: str | None = None
    name: str | None = None
    parent_id: int | None = None


class AgencyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    parent_id: int | None

    @classmethod
    def of(cls, agency: Agency) -> AgencyOut:
        return cls.model_validate(agency)


class PersonIn(BaseModel):
    nip: str = Field(examples=[NIP_EXAMPLE])
    name: str = Field(examples=["Budi Santoso"])
    agency_id: int


class PersonUpdate(Update):
    nip: str | None = None
    name: str | None = None
    agency_id: int | None = None
    moved_on: date | None = Field(
        None,
        description="with agency_id: the WIB day of the move (mutasi); streams before it stay judged by "
        "the agency served in then. Without it, agency_id corrects the entry for every stream",
    )


class PastPostingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    agency_id: int
    until: date = Field(description="the WIB day the person moved away (not served there that day)")


class PersonOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    nip: str
    name: str
    agency_id: int
    past_postings: list[PastPostingOut] = Field(description="agencies served in before, oldest first")

    @classmethod
    def of(cls, person: Person) -> PersonOut:
        return cls.model_validate(person)


class AccountIn(BaseModel):
    platform: str = Field(examples=["tiktok"])
    handle: str = Field(examples=["@budi.santoso"])
    person_id: int
    is_official: bool = False
    agency_id: int | None = Field(None, description="the agency an official account speaks for")


class AccountUpdate(Update):
    nullable = frozenset({"agency_id"})

    platform: str | None = None
    handle: str | None = None
    person_id: int | None = None
    is_official: bool | None = None
    agency_id: int | None = None
    handed_over_on: date | None = Field(
        None,
        description="with person_id: the WIB day the account was handed over; streams before it stay "
        "judged as the old owner's. Without it, person_id corrects the entry for every stream",
    )
    status_changed_on: date | None = Field(
        None,
        description="with is_official or agency_id: the WIB day the account became official, stopped being "
        "so or came to speak for another agency; streams before it stay judged by its old status. Without "
        "it, they correct the status held since the last change (every stream's, when none was recorded)",
    )


class PastOwnerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    person_id: int
    until: date = Field(description="the WIB day the account was handed over (not owned that day)")


class PastStatusOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    is_official: bool
    agency_id: int | None
    until: date = Field(description="the WIB day the status changed (not held that day)")


class AccountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    platform: str
    handle: str
    person_id: int
    is_official: bool
    agency_id: int | None
    past_owners: list[PastOwnerOut] = Field(description="who owned it before, oldest first")
    past_statuses: list[PastStatusOut] = Field(description="its statuses before, oldest first")

    @classmethod
    def of(cls, account: SocialAccount) -> AccountOut:
        return cls.model_validate(account)


class AssignmentIn(BaseModel):
    person_id: int
    kind: str = Field(examples=["assignment"], description="assignment (surat tugas), leave or shift")
    starts_at: datetime = Field(examples=["2026-04-14T19:00:00+07:00"])
    ends_at: datetime = Field(examples=["2026-04-14T22:00:00+07:00"])
    reference: str | None = Field(None, examples=["800/123/427.72/2026"])


class AssignmentUpdate(Update):
    nullable = frozenset({"reference"})

    kind: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    reference: str | None = None


class AssignmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    person_id: int
    kind: str
    starts_at: datetime
    ends_at: datetime
    reference: str | None

    @classmethod
    def of(cls, assignment: Assignment) -> AssignmentOut:
        return cls.model_validate(assignment)


class ScheduleIn(BaseModel):
    agency_id: int
    name: str = Field(examples=["6-day week"])
    definition: str = Field(
        examples=["mon-fri: {work: ['07:30-14:30']}\nsat: ['07:30-12:30']"],
        description="weekly working hours, YAML or JSON: per weekday or range a list of work windows, or "
        "{work: [...], breaks: [...]}; days not named are off. During a dated period (Ramadan) the "
        "period's hours replace a Monday-Friday week, unless the schedule is valid only within the period",
    )
    valid_from: date = Field(examples=["2026-04-01"])
    valid_to: date | None = Field(None, description="last day it applies (inclusive); none: open-ended")


class ScheduleUpdate(Update):
    nullable = frozenset({"valid_to"})

    name: str | None = None
    definition: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None


class ScheduleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    agency_id: int
    name: str
    definition: str
    valid_from: date
    valid_to: date | None

    @classmethod
    def of(cls, schedule: Schedule) -> ScheduleOut:
        return cls.model_validate(schedule)


class DecisionIn(BaseModel):
    kind: str = Field(examples=["dismiss"], description="confirm, dismiss, escalate or comment")
    reason: str | None = Field(
        None,
        examples=["false_positive"],
        description="dismissals only: false_positive, not_asn, exempt_duty, wrong_time or other",
    )
    note: str = Field("", examples=["batik sehari-hari, bukan KORPRI"])


class DecisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    case_id: int
    kind: str
    reason: str | None
    note: str | None
    actor: str
    at: datetime

    @classmethod
    def of(cls, decision: CaseDecision) -> DecisionOut:
        return cls.model_validate(decision)


class FeedbackIn(BaseModel):
    evidence_n: int = Field(examples=[1], description="which evidence frame of the case")
    kind: str = Field(
        examples=["false_positive"], description="false_positive, wrong_class or false_negative"
    )
    detection_index: int | None = Field(
        None, examples=[0], description="false_positive, wrong_class: index into the frame's detections"
    )
    class_name: str | None = Field(
        None, examples=["korpri_batik"], description="wrong_class, false_negative: the right class"
    )
    box: list[float] | None = Field(
        None,
        examples=[[120.0, 340.0, 410.0, 720.0]],
        description="false_negative: the missed item's [x0, y0, x1, y1] in pixels of the original frame",
    )


class FeedbackOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    case_id: int
    evidence_n: int
    kind: str
    detection_index: int | None
    class_name: str | None
    box: list[float] | None
    actor: str
    at: datetime

    @classmethod
    def of(cls, feedback: DetectionFeedback) -> FeedbackOut:
        return cls.model_validate(feedback)


class DeletedOut(BaseModel):
    """What a deletion removed."""

    uploads: int
    cases: int
    evidence_frames: int
    frame_scores: int
    files: int
    jobs: int
    jobs_stopped: int


class ApiKeyIn(BaseModel):
    name: str = Field(examples=["complaint desk DINKES"])
    role: str = Field(examples=["reviewer"], description="uploader, reviewer or administrator")
    agency_id: int | None = Field(None, description="scope: this agency and those below it; none: all")


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    role: str
    agency_id: int | None
    created_at: datetime

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyOut:
        return cls.model_validate(key)


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="the key itself, shown only in this response: keep it")


class ImportReportOut(BaseModel):
    preview: bool
    imported: bool
    agencies: int
    people: int
    accounts: int
    assignments: int = Field(description="surat tugas, leave and shift rows")
    moves: int = Field(description="people moved to another agency (mutasi)")
    handovers: int = Field(description="accounts handed over to another owner")
    status_changes: int = Field(description="accounts that became official or stopped being so")
    errors: list[str] = Field(
        examples=[["row 3: nip: '1985' is not a valid NIP: expected exactly 18 digits"]]
    )

    @classmethod
    def of(cls, report: ImportReport) -> ImportReportOut:
        return cls(
            preview=report.preview,
            imported=report.imported,
            **report.counts(),
            errors=[str(e) for e in report.errors],
        )
