"""The registry pages' forms, each read into the keyword arguments of its ``api.registry`` function
(``fields``). A section's edit form leaves out what an entry keeps for good (a schedule's agency, an
assignment's person); a person's adds the day of a move, an account's the days of a handover and of a
change of status."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from api.registry import InvalidEntryError
from api.timestamps import parse_timestamp


def optional_id(value: str) -> int | None:
    """An optional select's value: empty for none, else an entry's id."""
    if not value:
        return None
    if not (value.isascii() and value.isdigit()):
        raise InvalidEntryError("id", "choose one from the list")
    return int(value)


class AgencyForm(BaseModel):
    code: str
    name: str
    parent_id: str = ""

    def fields(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "parent_id": optional_id(self.parent_id)}


class PersonForm(BaseModel):
    nip: str
    name: str
    agency_id: int

    def fields(self) -> dict[str, Any]:
        return self.model_dump()


class PersonEdit(PersonForm):
    moved_on: date | None = None  # with another agency: the move's WIB day; empty: the entry was wrong

    def fields(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class AccountForm(BaseModel):
    platform: str
    handle: str
    person_id: int
    is_official: bool = False  # an unticked box sends nothing
    agency_id: str = ""

    def fields(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "handle": self.handle,
            "person_id": self.person_id,
            "is_official": self.is_official,
            "agency_id": optional_id(self.agency_id),
        }


class AccountEdit(AccountForm):
    handed_over_on: date | None = None  # with another owner: the handover's WIB day; empty: a correction
    status_changed_on: date | None = None  # with another status: the day it changed; empty: a correction

    def fields(self) -> dict[str, Any]:
        days = {"handed_over_on": self.handed_over_on, "status_changed_on": self.status_changed_on}
        return super().fields() | {name: day for name, day in days.items() if day}


class ScheduleEdit(BaseModel):
    name: str
    definition: str = Field(max_length=20_000)
    valid_from: date
    valid_to: date | None = None  # empty: open-ended

    def fields(self) -> dict[str, Any]:
        return self.model_dump()


class ScheduleForm(ScheduleEdit):
    agency_id: int  # a schedule stays its agency's: another agency's is a new schedule


class AssignmentEdit(BaseModel):
    kind: str
    starts_at: str
    ends_at: str
    tz: str = "Asia/Jakarta"  # the zone of times written without an offset
    reference: str = ""

    def fields(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "starts_at": parse_timestamp("starts_at", self.starts_at, self.tz),
            "ends_at": parse_timestamp("ends_at", self.ends_at, self.tz),
            "reference": self.reference or None,
        }


class AssignmentForm(AssignmentEdit):
    person_id: int  # an assignment stays its person's: another person's is a new assignment

    def fields(self) -> dict[str, Any]:
        return super().fields() | {"person_id": self.person_id}


class UserEdit(BaseModel):
    role: str
    display_name: str = ""
    agency_id: str = ""
    password: str = Field("", max_length=1000)  # empty: the password stays; set apart (set_password)

    def fields(self) -> dict[str, Any]:
        return self.model_dump(include={"role", "display_name"}) | {"agency_id": optional_id(self.agency_id)}


class UserForm(UserEdit):
    username: str
    password: str = Field(max_length=1000)  # a new user needs one
