"""Monthly reports per agency (a printable page and CSV) and the audit log (administrators without an
agency scope; read-only: no route changes or removes an entry)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.audit import ACTIONS, list_audit, record
from api.deps import SessionDep
from api.policy import to_wib
from api.registry import get_agency_by_code, list_agencies
from api.reports import monthly_report, parse_month, report_csv
from api.ui.web import AdminUser, ReviewingUser, render

router = APIRouter(include_in_schema=False)


def _default_month() -> str:
    return to_wib(datetime.now(UTC)).strftime("%Y-%m")


@router.get("/reports")
def report_page(
    request: Request,
    session: SessionDep,
    user: ReviewingUser,
    agency: str = "",
    month: str = "",
) -> Response:
    """Pick an agency and month; shows the report when both are chosen."""
    agencies = [a for a in list_agencies(session) if user.caller.sees_agency(a.id)]
    month = month or _default_month()
    report = None
    if agency:
        report = monthly_report(
            session, user.caller, get_agency_by_code(session, agency).id, parse_month(month)
        )
    context = {"agencies": agencies, "agency": agency, "month": month, "report": report}
    return render(request, "report.html", context, user=user)


@router.get("/reports.csv")
def report_download(
    session: SessionDep, user: ReviewingUser, agency: Annotated[str, Query()], month: Annotated[str, Query()]
) -> Response:
    """The report as CSV; the export is audited."""
    report = monthly_report(session, user.caller, get_agency_by_code(session, agency).id, parse_month(month))
    # The parsed month, not the query's text: that may carry spaces a header cannot hold.
    month_text = f"{report.month:%Y-%m}"
    record(session, user.caller, "export_report", f"agency:{report.agency.code}", {"month": month_text})
    session.commit()
    name = f"seragam-{report.agency.code}-{month_text}.csv"
    return Response(
        report_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/audit")
def audit_page(
    request: Request,
    session: SessionDep,
    user: AdminUser,
    action: str = "",
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    entries = list_audit(session, user.caller, action=action or None, offset=offset)
    context = {"entries": entries, "actions": ACTIONS, "action": action, "offset": offset}
    return render(request, "audit.html", context, user=user)
