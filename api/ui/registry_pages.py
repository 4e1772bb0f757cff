"""Registry pages for administrators without an agency scope (BKPSDM): agencies, people, accounts,
schedules, assignments and web UI users, each listed with a form to add one; deletions; the CSV import
with a preview of its errors. Every change goes through ``api.registry`` (or ``api.users``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from api import registry
from api.audit import record
from api.db.models import ApiKeyRole, AssignmentKind, Platform
from api.deps import SessionDep
from api.errors import ResourceNotFoundError
from api.registry import InvalidEntryError
from api.registry.audit_entries import record_change, record_import
from api.timestamps import parse_timestamp
from api.ui.upload_pages import ZONES
from api.ui.web import AdminUser, CsrfChecked, render
from api.uploads import MAX_CSV_BYTES, read_limited
from api.users import create_user, delete_user, list_users

router = APIRouter(prefix="/registry", include_in_schema=False)
SECTIONS = ("agencies", "people", "accounts", "schedules", "assignments", "users")
DELETERS = {
    "agencies": registry.delete_agency,
    "people": registry.delete_person,
    "accounts": registry.delete_account,
    "schedules": registry.delete_schedule,
    "assignments": registry.delete_assignment,
}


def _rows(session: Session, section: str) -> list:
    listers = {
        "agencies": registry.list_agencies,
        "people": registry.list_people,
        "accounts": registry.list_accounts,
        "schedules": registry.list_schedules,
        "assignments": registry.list_assignments,
        "users": list_users,
    }
    return listers[section](session)


@router.get("")
def registry_home() -> Response:
    return RedirectResponse("/ui/registry/agencies", status_code=303)


@router.get("/import")
def import_form(request: Request, user: AdminUser) -> Response:
    return render(request, "registry_import.html", {"report": None}, user=user)


@router.post("/import", dependencies=[CsrfChecked])
def import_csv(
    request: Request,
    session: SessionDep,
    user: AdminUser,
    file: Annotated[UploadFile, File()],
    preview: Annotated[bool, Form()] = False,
) -> Response:
    """Check (preview) or import a registry CSV, all or nothing; the page lists every bad row."""
    data = read_limited(file, MAX_CSV_BYTES, "CSV file")
    report = registry.import_registry_csv(session, data, preview=preview)
    if report.imported:
        record_import(session, user.caller, report)
        session.commit()
    else:
        session.rollback()
    status = 200 if report.ok else 422
    return render(request, "registry_import.html", {"report": report}, user=user, status_code=status)


@router.get("/{section}")
def section_page(request: Request, section: str, session: SessionDep, user: AdminUser) -> Response:
    if section not in SECTIONS:
        raise ResourceNotFoundError("registry section", section)
    context = {
        "section": section,
        "sections": SECTIONS,
        "rows": _rows(session, section),
        "agencies": registry.list_agencies(session),
        "people": registry.list_people(session),
        "platforms": list(Platform),
        "assignment_kinds": list(AssignmentKind),
        "roles": list(ApiKeyRole),
        "zones": ZONES,
    }
    return render(request, "registry.html", context, user=user)


@router.post("/users/{username}/delete", dependencies=[CsrfChecked])
def remove_user(username: str, session: SessionDep, user: AdminUser) -> Response:
    """Remove a web UI user; their sessions end with it."""
    delete_user(session, username, user.caller)
    session.commit()
    return _done("users")


@router.post("/{section}/{entry_id}/delete", dependencies=[CsrfChecked])
def delete_entry(section: str, entry_id: int, session: SessionDep, user: AdminUser) -> Response:
    """Remove a registry entry (refused with 409 while something still refers to it). Audited."""
    if section not in DELETERS:
        raise ResourceNotFoundError("registry section", section)
    DELETERS[section](session, entry_id)
    record_change(session, user.caller, "delete", section, entry_id)
    session.commit()
    return RedirectResponse(f"/ui/registry/{section}", status_code=303)


def _optional_id(value: str) -> int | None:
    if not value:
        return None
    if not (value.isascii() and value.isdigit()):
        raise InvalidEntryError("id", "choose one from the list")
    return int(value)


def _done(section: str) -> Response:
    return RedirectResponse(f"/ui/registry/{section}", status_code=303)


@router.post("/agencies", dependencies=[CsrfChecked])
def add_agency(
    session: SessionDep,
    user: AdminUser,
    code: Annotated[str, Form()],
    name: Annotated[str, Form()],
    parent_id: Annotated[str, Form()] = "",
) -> Response:
    agency = registry.create_agency(session, code=code, name=name, parent_id=_optional_id(parent_id))
    record_change(session, user.caller, "create", "agencies", agency.id)
    session.commit()
    return _done("agencies")


@router.post("/people", dependencies=[CsrfChecked])
def add_person(
    session: SessionDep,
    user: AdminUser,
    nip: Annotated[str, Form()],
    name: Annotated[str, Form()],
    agency_id: Annotated[int, Form()],
) -> Response:
    person = registry.create_person(session, nip=nip, name=name, agency_id=agency_id)
    record_change(session, user.caller, "create", "people", person.id)
    session.commit()
    return _done("people")


@router.post("/accounts", dependencies=[CsrfChecked])
def add_account(
    session: SessionDep,
    user: AdminUser,
    platform: Annotated[str, Form()],
    handle: Annotated[str, Form()],
    person_id: Annotated[int, Form()],
    is_official: Annotated[bool, Form()] = False,
    agency_id: Annotated[str, Form()] = "",
) -> Response:
    account = registry.create_account(
        session,
        platform=platform,
        handle=handle,
        person_id=person_id,
        is_official=is_official,
        agency_id=_optional_id(agency_id),
    )
    record_change(session, user.caller, "create", "accounts", account.id)
    session.commit()
    return _done("accounts")


@router.post("/schedules", dependencies=[CsrfChecked])
def add_schedule(
    session: SessionDep,
    user: AdminUser,
    agency_id: Annotated[int, Form()],
    name: Annotated[str, Form()],
    definition: Annotated[str, Form(max_length=20_000)],
    valid_from: Annotated[date, Form()],
    valid_to: Annotated[date | None, Form()] = None,
) -> Response:
    schedule = registry.create_schedule(
        session,
        agency_id=agency_id,
        name=name,
        definition=definition,
        valid_from=valid_from,
        valid_to=valid_to,
    )
    record_change(session, user.caller, "create", "schedules", schedule.id)
    session.commit()
    return _done("schedules")


@router.post("/assignments", dependencies=[CsrfChecked])
def add_assignment(
    session: SessionDep,
    user: AdminUser,
    person_id: Annotated[int, Form()],
    kind: Annotated[str, Form()],
    starts_at: Annotated[str, Form()],
    ends_at: Annotated[str, Form()],
    tz: Annotated[str, Form()] = "Asia/Jakarta",
    reference: Annotated[str, Form()] = "",
) -> Response:
    assignment = registry.create_assignment(
        session,
        person_id=person_id,
        kind=kind,
        starts_at=parse_timestamp("starts_at", starts_at, tz),
        ends_at=parse_timestamp("ends_at", ends_at, tz),
        reference=reference or None,
    )
    record_change(session, user.caller, "create", "assignments", assignment.id)
    session.commit()
    return _done("assignments")


@router.post("/users", dependencies=[CsrfChecked])
def add_user(
    session: SessionDep,
    user: AdminUser,
    username: Annotated[str, Form()],
    password: Annotated[str, Form(max_length=1000)],
    role: Annotated[str, Form()],
    display_name: Annotated[str, Form()] = "",
    agency_id: Annotated[str, Form()] = "",
) -> Response:
    created = create_user(
        session,
        username=username,
        password=password,
        role=role,
        display_name=display_name or None,
        agency_id=_optional_id(agency_id),
    )
    record(session, user.caller, "create_user", f"user:{created.id}", {"role": created.role.value})
    session.commit()
    return _done("users")
