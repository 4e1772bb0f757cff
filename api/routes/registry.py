"""Registry administration (BKPSDM-wide administrators): agencies, people, accounts, schedules,
assignments, and the CSV import. Thin wrappers around ``api.registry``; its errors map to 404, 409 and 422.
Every change is written to the audit log, as the web UI's are."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile

from api import registry
from api.deps import RegistryAdmin, SessionDep
from api.errors import InvalidUploadError
from api.registry.audit_entries import record_change, record_import, record_update
from api.schemas import (
    AccountIn,
    AccountOut,
    AccountUpdate,
    AgencyIn,
    AgencyOut,
    AgencyUpdate,
    AssignmentIn,
    AssignmentOut,
    AssignmentUpdate,
    ImportReportOut,
    PersonIn,
    PersonOut,
    PersonUpdate,
    ScheduleIn,
    ScheduleOut,
    ScheduleUpdate,
)
from api.uploads import MAX_CSV_BYTES, read_limited

router = APIRouter(prefix="/v1", tags=["registry"])


@router.get("/agencies", response_model=list[AgencyOut])
def list_agencies(session: SessionDep, _: RegistryAdmin) -> list[AgencyOut]:
    return [AgencyOut.of(a) for a in registry.list_agencies(session)]


@router.post("/agencies", status_code=201, response_model=AgencyOut)
def create_agency(body: AgencyIn, session: SessionDep, caller: RegistryAdmin) -> AgencyOut:
    agency = registry.create_agency(session, **body.model_dump())
    record_change(session, caller, "create", "agencies", agency.id)
    session.commit()
    return AgencyOut.of(agency)


@router.get("/agencies/{agency_id}", response_model=AgencyOut)
def get_agency(agency_id: int, session: SessionDep, _: RegistryAdmin) -> AgencyOut:
    return AgencyOut.of(registry.get_agency(session, agency_id))


@router.patch("/agencies/{agency_id}", response_model=AgencyOut)
def update_agency(
    agency_id: int, body: AgencyUpdate, session: SessionDep, caller: RegistryAdmin
) -> AgencyOut:
    fields = body.model_dump(exclude_unset=True)
    agency = record_update(session, caller, "agencies", agency_id, registry.update_agency, fields)
    session.commit()
    return AgencyOut.of(agency)


@router.delete("/agencies/{agency_id}", status_code=204)
def delete_agency(agency_id: int, session: SessionDep, caller: RegistryAdmin) -> None:
    registry.delete_agency(session, agency_id)
    record_change(session, caller, "delete", "agencies", agency_id)
    session.commit()


@router.get("/people", response_model=list[PersonOut])
def list_people(session: SessionDep, _: RegistryAdmin) -> list[PersonOut]:
    return [PersonOut.of(p) for p in registry.list_people(session)]


@router.post("/people", status_code=201, response_model=PersonOut)
def create_person(body: PersonIn, session: SessionDep, caller: RegistryAdmin) -> PersonOut:
    person = registry.create_person(session, **body.model_dump())
    record_change(session, caller, "create", "people", person.id)
    session.commit()
    return PersonOut.of(person)


@router.get("/people/{person_id}", response_model=PersonOut)
def get_person(person_id: int, session: SessionDep, _: RegistryAdmin) -> PersonOut:
    return PersonOut.of(registry.get_person(session, person_id))


@router.patch("/people/{person_id}", response_model=PersonOut)
def update_person(
    person_id: int, body: PersonUpdate, session: SessionDep, caller: RegistryAdmin
) -> PersonOut:
    fields = body.model_dump(exclude_unset=True)
    person = record_update(session, caller, "people", person_id, registry.update_person, fields)
    session.commit()
    return PersonOut.of(person)


@router.delete("/people/{person_id}", status_code=204)
def delete_person(person_id: int, session: SessionDep, caller: RegistryAdmin) -> None:
    registry.delete_person(session, person_id)
    record_change(session, caller, "delete", "people", person_id)
    session.commit()


@router.get("/accounts", response_model=list[AccountOut])
def list_accounts(session: SessionDep, _: RegistryAdmin, person_id: int | None = None) -> list[AccountOut]:
    return [AccountOut.of(a) for a in registry.list_accounts(session, person_id=person_id)]


@router.post("/accounts", status_code=201, response_model=AccountOut)
def create_account(body: AccountIn, session: SessionDep, caller: RegistryAdmin) -> AccountOut:
    account = registry.create_account(session, **body.model_dump())
    record_change(session, caller, "create", "accounts", account.id)
    session.commit()
    return AccountOut.of(account)


@router.get("/accounts/{account_id}", response_model=AccountOut)
def get_account(account_id: int, session: SessionDep, _: RegistryAdmin) -> AccountOut:
    return AccountOut.of(registry.get_account(session, account_id))


@router.patch("/accounts/{account_id}", response_model=AccountOut)
def update_account(
    account_id: int, body: AccountUpdate, session: SessionDep, caller: RegistryAdmin
) -> AccountOut:
    fields = body.model_dump(exclude_unset=True)
    account = record_update(session, caller, "accounts", account_id, registry.update_account, fields)
    session.commit()
    return AccountOut.of(account)


@router.delete("/accounts/{account_id}", status_code=204)
def delete_account(account_id: int, session: SessionDep, caller: RegistryAdmin) -> None:
    registry.delete_account(session, account_id)
    record_change(session, caller, "delete", "accounts", account_id)
    session.commit()


@router.get("/assignments", response_model=list[AssignmentOut])
def list_assignments(
    session: SessionDep, _: RegistryAdmin, person_id: int | None = None
) -> list[AssignmentOut]:
    return [AssignmentOut.of(a) for a in registry.list_assignments(session, person_id=person_id)]


@router.post("/assignments", status_code=201, response_model=AssignmentOut)
def create_assignment(body: AssignmentIn, session: SessionDep, caller: RegistryAdmin) -> AssignmentOut:
    assignment = registry.create_assignment(session, **body.model_dump())
    record_change(session, caller, "create", "assignments", assignment.id)
    session.commit()
    return AssignmentOut.of(assignment)


@router.get("/assignments/{assignment_id}", response_model=AssignmentOut)
def get_assignment(assignment_id: int, session: SessionDep, _: RegistryAdmin) -> AssignmentOut:
    return AssignmentOut.of(registry.get_assignment(session, assignment_id))


@router.patch("/assignments/{assignment_id}", response_model=AssignmentOut)
def update_assignment(
    assignment_id: int, body: AssignmentUpdate, session: SessionDep, caller: RegistryAdmin
) -> AssignmentOut:
    fields = body.model_dump(exclude_unset=True)
    assignment = record_update(
        session, caller, "assignments", assignment_id, registry.update_assignment, fields
    )
    session.commit()
    return AssignmentOut.of(assignment)


@router.delete("/assignments/{assignment_id}", status_code=204)
def delete_assignment(assignment_id: int, session: SessionDep, caller: RegistryAdmin) -> None:
    registry.delete_assignment(session, assignment_id)
    record_change(session, caller, "delete", "assignments", assignment_id)
    session.commit()


@router.get("/schedules", response_model=list[ScheduleOut])
def list_schedules(session: SessionDep, _: RegistryAdmin, agency_id: int | None = None) -> list[ScheduleOut]:
    return [ScheduleOut.of(s) for s in registry.list_schedules(session, agency_id=agency_id)]


@router.post("/schedules", status_code=201, response_model=ScheduleOut)
def create_schedule(body: ScheduleIn, session: SessionDep, caller: RegistryAdmin) -> ScheduleOut:
    schedule = registry.create_schedule(session, **body.model_dump())
    record_change(session, caller, "create", "schedules", schedule.id)
    session.commit()
    return ScheduleOut.of(schedule)


@router.get("/schedules/{schedule_id}", response_model=ScheduleOut)
def get_schedule(schedule_id: int, session: SessionDep, _: RegistryAdmin) -> ScheduleOut:
    return ScheduleOut.of(registry.get_schedule(session, schedule_id))


@router.patch("/schedules/{schedule_id}", response_model=ScheduleOut)
def update_schedule(
    schedule_id: int, body: ScheduleUpdate, session: SessionDep, caller: RegistryAdmin
) -> ScheduleOut:
    fields = body.model_dump(exclude_unset=True)
    schedule = record_update(session, caller, "schedules", schedule_id, registry.update_schedule, fields)
    session.commit()
    return ScheduleOut.of(schedule)


@router.delete("/schedules/{schedule_id}", status_code=204)
def delete_schedule(schedule_id: int, session: SessionDep, caller: RegistryAdmin) -> None:
    registry.delete_schedule(session, schedule_id)
    record_change(session, caller, "delete", "schedules", schedule_id)
    session.commit()


@router.post("/registry/import", response_model=ImportReportOut)
def import_registry(
    session: SessionDep,
    caller: RegistryAdmin,
    file: Annotated[UploadFile, File(description="CSV: type,code,name,parent_code,nip,agency_code,...")],
    preview: Annotated[bool, Form(description="validate only; import nothing")] = False,
) -> ImportReportOut:
    """Import agencies, people, accounts, assignments, leave and shifts, all or nothing; a failed import
    lists every bad row (422). The file's format: ``api.registry.csv_import``."""
    data = read_limited(file, MAX_CSV_BYTES, "CSV file")
    report = registry.import_registry_csv(session, data, preview=preview)
    if not report.ok and not preview:
        raise InvalidUploadError("nothing was imported: " + "; ".join(str(e) for e in report.errors))
    if report.imported:
        record_import(session, caller, report)
    session.commit()
    return ImportReportOut.of(report)
