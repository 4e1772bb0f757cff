"""Registry pages for administrators without an agency scope (BKPSDM): agencies, people, accounts,
schedules, assignments and web UI users, each listed with a form to add one; deletions; an edit page for
each registry entry (a person's records a move with its day, an account's a handover or a change of
status; without a day the change corrects the entry); the CSV import with a preview of its errors. Every
change goes through ``api.registry`` (or ``api.users``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from api import registry
from api.audit import record
from api.db.models import ApiKeyRole, AssignmentKind, Base, Platform
from api.deps import SessionDep
from api.errors import ResourceNotFoundError
from api.registry.audit_entries import Section, record_change, record_import, record_update
from api.ui.registry_forms import (
    AccountEdit,
    AccountForm,
    AgencyForm,
    AssignmentEdit,
    AssignmentForm,
    PersonEdit,
    PersonForm,
    ScheduleEdit,
    ScheduleForm,
    UserEdit,
    UserForm,
)
from api.ui.upload_pages import ZONES
from api.ui.web import AdminUser, CsrfChecked, SignedIn, render
from api.uploads import MAX_CSV_BYTES, read_limited
from api.users import create_user, delete_user, get_user, list_users, set_password, update_user

router = APIRouter(prefix="/registry", include_in_schema=False)
SECTIONS = ("agencies", "people", "accounts", "schedules", "assignments", "users")
DELETERS = {
    "agencies": registry.delete_agency,
    "people": registry.delete_person,
    "accounts": registry.delete_account,
    "schedules": registry.delete_schedule,
    "assignments": registry.delete_assignment,
}


EDITABLE = {
    "agencies": registry.get_agency,
    "people": registry.get_person,
    "accounts": registry.get_account,
    "schedules": registry.get_schedule,
    "assignments": registry.get_assignment,
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


def _form_context(session: Session, section: str) -> dict[str, Any]:
    """What a section's form chooses from."""
    return {
        "section": section,
        "sections": SECTIONS,
        "agencies": registry.list_agencies(session),
        "people": registry.list_people(session),
        "platforms": list(Platform),
        "assignment_kinds": list(AssignmentKind),
        "roles": list(ApiKeyRole),
        "zones": ZONES,
    }


@router.get("/{section}")
def section_page(request: Request, section: str, session: SessionDep, user: AdminUser) -> Response:
    if section not in SECTIONS:
        raise ResourceNotFoundError("registry section", section)
    context = _form_context(session, section) | {"rows": _rows(session, section), "entry": None}
    return render(request, "registry.html", context, user=user)


@router.get("/users/{username}")
def edit_user_page(request: Request, username: str, session: SessionDep, user: AdminUser) -> Response:
    entry = get_user(session, username)
    action = f"/ui/registry/users/{entry.username}"
    context = _form_context(session, "users") | {"entry": entry, "action": action}
    return render(request, "registry_edit.html", context, user=user)


@router.get("/{section}/{entry_id}")
def edit_page(
    request: Request, section: str, entry_id: int, session: SessionDep, user: AdminUser
) -> Response:
    """An entry's form, filled in; a person's has a move's day, an account's a handover's and a change of
    status's."""
    if section not in EDITABLE:
        raise ResourceNotFoundError("editable registry section", section)
    context = _form_context(session, section) | {
        "entry": EDITABLE[section](session, entry_id),
        "action": f"/ui/registry/{section}/{entry_id}",
    }
    return render(request, "registry_edit.html", context, user=user)


@router.post("/users/{username}", dependencies=[CsrfChecked])
def edit_user(
    request: Request, username: str, session: SessionDep, user: AdminUser, form: Annotated[UserEdit, Form()]
) -> Response:
    """Another role, agency scope or display name for a web UI user; a new password ends their sessions
    (the administrator's own stays signed in here)."""
    update_user(session, username, user.caller, **form.fields())
    if form.password:
        edited = set_password(session, username, form.password, user.caller)
        if edited.id == user.user_id:
            request.session["session_version"] = edited.session_version
    session.commit()
    return _done("users")


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
    return _done(section)


def _done(section: str) -> Response:
    return RedirectResponse(f"/ui/registry/{section}", status_code=303)


def _created(session: Session, user: SignedIn, section: Section, entry_id: int) -> Response:
    """Audit a created entry, commit, list the section again."""
    record_change(session, user.caller, "create", section, entry_id)
    session.commit()
    return _done(section)


def _updated(
    session: Session,
    user: SignedIn,
    section: Section,
    entry_id: int,
    update: Callable[..., Base],
    fields: dict[str, Any],
) -> Response:
    """Apply an edit form's ``fields`` with the section's ``update`` function, audit what it changed,
    commit, list the section again."""
    record_update(session, user.caller, section, entry_id, update, fields)
    session.commit()
    return _done(section)


@router.post("/agencies", dependencies=[CsrfChecked])
def add_agency(session: SessionDep, user: AdminUser, form: Annotated[AgencyForm, Form()]) -> Response:
    return _created(session, user, "agencies", registry.create_agency(session, **form.fields()).id)


@router.post("/agencies/{entry_id}", dependencies=[CsrfChecked])
def edit_agency(
    entry_id: int, session: SessionDep, user: AdminUser, form: Annotated[AgencyForm, Form()]
) -> Response:
    return _updated(session, user, "agencies", entry_id, registry.update_agency, form.fields())


@router.post("/people", dependencies=[CsrfChecked])
def add_person(session: SessionDep, user: AdminUser, form: Annotated[PersonForm, Form()]) -> Response:
    return _created(session, user, "people", registry.create_person(session, **form.fields()).id)


@router.post("/people/{entry_id}", dependencies=[CsrfChecked])
def edit_person(
    entry_id: int, session: SessionDep, user: AdminUser, form: Annotated[PersonEdit, Form()]
) -> Response:
    """Correct a person's entry, or, with ``moved_on``, record their move to another agency (mutasi)."""
    return _updated(session, user, "people", entry_id, registry.update_person, form.fields())


@router.post("/accounts", dependencies=[CsrfChecked])
def add_account(session: SessionDep, user: AdminUser, form: Annotated[AccountForm, Form()]) -> Response:
    return _created(session, user, "accounts", registry.create_account(session, **form.fields()).id)


@router.post("/accounts/{entry_id}", dependencies=[CsrfChecked])
def edit_account(
    entry_id: int, session: SessionDep, user: AdminUser, form: Annotated[AccountEdit, Form()]
) -> Response:
    """Correct an account's entry, or record its handover to another owner (``handed_over_on``) or the day
    it became official or stopped being so (``status_changed_on``)."""
    return _updated(session, user, "accounts", entry_id, registry.update_account, form.fields())


@router.post("/schedules", dependencies=[CsrfChecked])
def add_schedule(session: SessionDep, user: AdminUser, form: Annotated[ScheduleForm, Form()]) -> Response:
    return _created(session, user, "schedules", registry.create_schedule(session, **form.fields()).id)


@router.post("/schedules/{entry_id}", dependencies=[CsrfChecked])
def edit_schedule(
    entry_id: int, session: SessionDep, user: AdminUser, form: Annotated[ScheduleEdit, Form()]
) -> Response:
    return _updated(session, user, "schedules", entry_id, registry.update_schedule, form.fields())


@router.post("/assignments", dependencies=[CsrfChecked])
def add_assignment(session: SessionDep, user: AdminUser, form: Annotated[AssignmentForm, Form()]) -> Response:
    assignment = registry.create_assignment(session, **form.fields())
    return _created(session, user, "assignments", assignment.id)


@router.post("/assignments/{entry_id}", dependencies=[CsrfChecked])
def edit_assignment(
    entry_id: int, session: SessionDep, user: AdminUser, form: Annotated[AssignmentEdit, Form()]
) -> Response:
    """Change a surat tugas, leave or shift: its kind, span (read in ``tz`` when naive) or reference."""
    return _updated(session, user, "assignments", entry_id, registry.update_assignment, form.fields())


@router.post("/users", dependencies=[CsrfChecked])
def add_user(session: SessionDep, user: AdminUser, form: Annotated[UserForm, Form()]) -> Response:
    created = create_user(session, username=form.username, password=form.password, **form.fields())
    record(session, user.caller, "create_user", f"user:{created.id}", {"role": created.role.value})
    session.commit()
    return _done("users")
