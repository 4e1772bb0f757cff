"""Agency schedules: weekly working hours as YAML or JSON text, valid for a date range.

The text is kept as written and checked with the policy's own parser, so a stored schedule always
judges: the working calendar puts it above the configured schedules for the agency and its sub-agencies.
A dated period (Ramadan) replaces a Monday-Friday week on its days, unless the schedule is valid only
within the period (``WorkingCalendar.schedule_on``).
"""

from __future__ import annotations

from datetime import date

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.models import Schedule
from api.policy import WeeklySchedule
from api.registry.agencies import get_agency
from api.registry.errors import InvalidEntryError
from api.registry.lookup import get_or_raise
from api.registry.values import UNSET, Unset, plausible_day, required_text

_EXAMPLE = "mon-thu: {work: ['07:30-16:00'], breaks: ['12:00-13:00']}\nsat: ['07:30-12:00']"


def create_schedule(
    session: Session,
    *,
    agency_id: int,
    name: str,
    definition: str,
    valid_from: date,
    valid_to: date | None = None,
) -> Schedule:
    valid_from, valid_to = plausible_day("valid_from", valid_from), _valid_to(valid_to)
    _check_range(valid_from, valid_to)
    schedule = Schedule(
        agency=get_agency(session, agency_id),
        name=required_text("name", name, 100),
        definition=_mapping_text(definition),
        valid_from=valid_from,
        valid_to=valid_to,
    )
    session.add(schedule)
    session.flush()
    return schedule


def get_schedule(session: Session, schedule_id: int) -> Schedule:
    return get_or_raise(session, Schedule, schedule_id, "schedule")


def list_schedules(session: Session, *, agency_id: int | None = None) -> list[Schedule]:
    query = select(Schedule).order_by(Schedule.agency_id, Schedule.valid_from, Schedule.id)
    if agency_id is not None:
        query = query.where(Schedule.agency_id == agency_id)
    return list(session.scalars(query))


def update_schedule(
    session: Session,
    schedule_id: int,
    *,
    name: str | Unset = UNSET,
    definition: str | Unset = UNSET,
    valid_from: date | Unset = UNSET,
    valid_to: date | Unset | None = UNSET,
) -> Schedule:
    """Change the given fields; a refused update changes nothing."""
    schedule = get_schedule(session, schedule_id)
    new_name = schedule.name if name is UNSET else required_text("name", name, 100)
    new_definition = schedule.definition if definition is UNSET else _mapping_text(definition)
    new_from = schedule.valid_from if valid_from is UNSET else plausible_day("valid_from", valid_from)
    new_to = schedule.valid_to if valid_to is UNSET else _valid_to(valid_to)
    _check_range(new_from, new_to)
    schedule.name, schedule.definition, schedule.valid_from, schedule.valid_to = (
        new_name,
        new_definition,
        new_from,
        new_to,
    )
    session.flush()
    return schedule


def delete_schedule(session: Session, schedule_id: int) -> None:
    session.delete(get_schedule(session, schedule_id))
    session.flush()


def weekly_schedule(definition: str) -> WeeklySchedule:
    """The weekly hours a schedule's text defines; ``InvalidEntryError`` says what is wrong with it."""
    try:
        parsed = yaml.safe_load(definition)
    except yaml.YAMLError as error:
        raise InvalidEntryError("definition", f"is not valid YAML or JSON: {error}") from None
    except RecursionError:
        raise InvalidEntryError("definition", "is nested too deeply; write one mapping of days") from None
    if not isinstance(parsed, dict):
        raise InvalidEntryError("definition", f"must be a YAML/JSON mapping, e.g. {_EXAMPLE!r}")
    try:
        return WeeklySchedule.from_dict(parsed)
    except (ValueError, TypeError) as error:
        raise InvalidEntryError("definition", f"{error} (e.g. {_EXAMPLE!r})") from None


def _mapping_text(definition: str) -> str:
    weekly_schedule(definition)
    return definition


def _valid_to(valid_to: date | None) -> date | None:
    if valid_to is None:
        return None
    return plausible_day("valid_to", valid_to, "leave valid_to empty for a schedule without an end")


def _check_range(valid_from: date, valid_to: date | None) -> None:
    if valid_to is not None and valid_to < valid_from:
        raise InvalidEntryError("valid_to", f"{valid_to} is before valid_from {valid_from}; swap them")
