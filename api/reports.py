"""Monthly report per agency: cases by rule and outcome, and how long they waited for a decision.

A month is a calendar month in WIB; a case belongs to the month its flagged span starts in and to the
agency of the account's owner (with the agencies below it).
"""

from __future__ import annotations

import csv
import io
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Caller
from api.cases import REVIEWING_ROLES
from api.db.models import Agency, Case, CaseDecision, CaseRule, CaseState, DecisionKind
from api.errors import ResourceNotFoundError
from api.policy import WIB
from api.registry import InvalidEntryError, agency_subtree_ids, get_agency
from api.timestamps import FIRST_YEAR


@dataclass(frozen=True)
class MonthlyReport:
    """``counts[rule][state]``; ``hours_to_decision``: per decided case, first decision minus opening."""

    agency: Agency
    month: date
    counts: dict[CaseRule, dict[CaseState, int]]
    hours_to_decision: list[float] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(sum(by_state.values()) for by_state in self.counts.values())

    @property
    def median_hours(self) -> float | None:
        return statistics.median(self.hours_to_decision) if self.hours_to_decision else None


def parse_month(text: str) -> date:
    """``YYYY-MM`` as the first day of that month (years 2000-9998); ``InvalidEntryError`` otherwise."""
    try:
        month = datetime.strptime(text.strip(), "%Y-%m").date()
    except ValueError:
        raise InvalidEntryError("month", f"write the month as YYYY-MM, e.g. 2026-04 (got {text!r})") from None
    if not FIRST_YEAR <= month.year < date.max.year:
        raise InvalidEntryError("month", f"choose a month of the years {FIRST_YEAR}-{date.max.year - 1}")
    return month


def monthly_report(session: Session, caller: Caller, agency_id: int, month: date) -> MonthlyReport:
    """The report of one agency (with its sub-agencies) for one month; an agency outside the caller's
    scope is not found."""
    caller.require(REVIEWING_ROLES, "reports")
    if not caller.sees_agency(agency_id):
        raise ResourceNotFoundError("agency", agency_id)
    agency = get_agency(session, agency_id)
    cases = _cases_in_month(session, agency_id, month)
    counts = {rule: dict.fromkeys(CaseState, 0) for rule in CaseRule}
    for case in cases:
        counts[case.rule][case.state] += 1
    return MonthlyReport(agency, month, counts, _hours_to_decision(session, cases))


def _cases_in_month(session: Session, agency_id: int, month: date) -> list[Case]:
    start = datetime(month.year, month.month, 1, tzinfo=WIB)
    end = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=WIB)
    query = select(Case).where(
        Case.agency_id.in_(agency_subtree_ids(session, agency_id)),
        Case.start_at >= start,
        Case.start_at < end,
    )
    return list(session.scalars(query.order_by(Case.start_at)))


def _hours_to_decision(session: Session, cases: list[Case]) -> list[float]:
    opened = {c.id: c.created_at for c in cases}
    query = select(CaseDecision.case_id, CaseDecision.at).where(
        CaseDecision.case_id.in_(opened), CaseDecision.kind != DecisionKind.COMMENT
    )
    first: dict[int, datetime] = {}
    for case_id, at in session.execute(query.order_by(CaseDecision.id)):
        first.setdefault(case_id, at)
    return [round((at - opened[case_id]).total_seconds() / 3600, 2) for case_id, at in first.items()]


def report_csv(report: MonthlyReport) -> str:
    """One row per rule and outcome, then the decision-time summary; for spreadsheets."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["agency", "month", "rule", "outcome", "cases"])
    month = report.month.strftime("%Y-%m")
    for rule, by_state in report.counts.items():
        for state, count in by_state.items():
            writer.writerow([report.agency.code, month, rule.value, state.value, count])
    median = "" if report.median_hours is None else f"{report.median_hours:.2f}"
    writer.writerow([report.agency.code, month, "all", "decided", len(report.hours_to_decision)])
    writer.writerow([report.agency.code, month, "all", "median_hours_to_decision", median])
    return out.getvalue()
