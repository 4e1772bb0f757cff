from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

import api.policy
from api.policy import (
    WIB,
    AgencySchedule,
    CalendarConfig,
    HolidayConfig,
    NaiveTimestampError,
    PersonContext,
    PersonSpan,
    SchedulePeriod,
    SegmentKind,
    WeeklySchedule,
    Window,
    WorkingCalendar,
)
from api.policy.calendar import DEFAULT_CALENDAR
from tests.api.factories import span, wib

W, B, OFF, ASSIGN, LEAVE = (
    SegmentKind.WORKING,
    SegmentKind.BREAK,
    SegmentKind.OFF_DUTY,
    SegmentKind.ASSIGNMENT,
    SegmentKind.LEAVE,
)
STAFF = PersonContext("198501012010011001", agency_code="DISKOMINFO")
SIX_DAY = {"mon-fri": {"work": ["07:30-14:30"]}, "sat": {"work": ["07:30-12:30"]}}
NIGHT_DESK = {"mon": {"work": ["22:00-06:00"], "breaks": ["02:00-02:30"]}}


@pytest.fixture(scope="module")
def calendar() -> WorkingCalendar:
    config = CalendarConfig.load()
    agencies = {"PUSKESMAS": WeeklySchedule.from_dict(SIX_DAY), "NIGHT": WeeklySchedule.from_dict(NIGHT_DESK)}
    return WorkingCalendar(replace(config, agencies=agencies))


def at(calendar: WorkingCalendar, person: PersonContext, when: str) -> tuple[SegmentKind, str]:
    (segment,) = calendar.intervals(person, wib(when), wib(when) + timedelta(seconds=1))
    return segment.kind, segment.reason


NIGHT_NURSE = PersonContext("N1", "RSUD", shifts=(span("2026-04-14 22:00", "2026-04-15 06:00", ""),))
# Shifts on Monday 13 April (afternoon) and Thursday 16 April (evening, to midnight): the roster covers
# 13-16 April; the schedule applies before and after.
ROSTERED = replace(
    STAFF,
    shifts=(
        span("2026-04-13 14:00", "2026-04-13 22:00", ""),
        span("2026-04-16 16:00", "2026-04-17 00:00", ""),
    ),
)
ONE_OLD_SHIFT = replace(STAFF, shifts=(span("2026-01-10 08:00", "2026-01-10 14:00", "event"),))
ON_DUTY_TRIP = replace(STAFF, assignments=(span("2026-04-18 08:00", "2026-04-18 12:00", "800/123/2026"),))
ON_LEAVE = replace(STAFF, leave=(span("2026-04-14 00:00", "2026-04-16 00:00", "cuti tahunan"),))
RAMADAN = "Ramadan 1447 H: "


@pytest.mark.parametrize(
    ("person", "when", "kind", "reason"),
    [
        pytest.param(STAFF, "2026-04-14 07:29:59", OFF, "outside working hours", id="before apel"),
        pytest.param(STAFF, "2026-04-14 07:30:00", W, "Tuesday working hours 07:30-16:00", id="apel 07:30"),
        pytest.param(STAFF, "2026-04-14 11:59:59", W, "Tuesday working hours 07:30-16:00", id="before break"),
        pytest.param(STAFF, "2026-04-14 12:00:00", B, "Tuesday break 12:00-13:00", id="break start"),
        pytest.param(STAFF, "2026-04-14 13:00:00", W, "Tuesday working hours 07:30-16:00", id="break end"),
        pytest.param(STAFF, "2026-04-14 15:59:59", W, "Tuesday working hours 07:30-16:00", id="last second"),
        pytest.param(STAFF, "2026-04-14 16:00:00", OFF, "outside working hours", id="16:00 end"),
        pytest.param(STAFF, "2026-04-17 11:29:59", W, "Friday working hours 07:30-16:30", id="fri morning"),
        pytest.param(STAFF, "2026-04-17 11:30:00", B, "Friday break 11:30-13:00", id="friday prayer break"),
        pytest.param(STAFF, "2026-04-17 16:29:59", W, "Friday working hours 07:30-16:30", id="fri 16:29:59"),
        pytest.param(STAFF, "2026-04-17 16:30:00", OFF, "outside working hours", id="fri 16:30 end"),
        pytest.param(STAFF, "2026-04-14 23:59:59", OFF, "outside working hours", id="before midnight"),
        pytest.param(STAFF, "2026-04-15 00:00:00", OFF, "outside working hours", id="midnight"),
        pytest.param(STAFF, "2026-04-18 09:00:00", OFF, "weekend", id="saturday"),
        pytest.param(STAFF, "2026-04-19 09:00:00", OFF, "weekend", id="sunday"),
        pytest.param(
            STAFF, "2026-03-21 09:00:00", OFF, "national holiday: Hari Raya Idul Fitri", id="idul fitri"
        ),
        pytest.param(
            STAFF,
            "2026-03-20 09:00:00",
            OFF,
            "collective leave: Cuti Bersama Hari Raya Idul Fitri",
            id="cuti bersama in ramadan",
        ),
        pytest.param(
            STAFF,
            "2026-05-15 09:00:00",
            OFF,
            "collective leave: Cuti Bersama Kenaikan Yesus Kristus",
            id="cuti bersama friday",
        ),
        pytest.param(STAFF, "2026-03-03 07:45:00", OFF, "outside working hours", id="ramadan starts 08:00"),
        pytest.param(
            STAFF,
            "2026-03-03 12:30:00",
            W,
            RAMADAN + "Tuesday working hours 08:00-15:00",
            id="ramadan no break",
        ),
        pytest.param(STAFF, "2026-03-03 15:00:00", OFF, "outside working hours", id="ramadan ends 15:00"),
        pytest.param(
            STAFF, "2026-03-06 07:00:00", W, RAMADAN + "Friday working hours 07:00-11:00", id="ramadan friday"
        ),
        pytest.param(STAFF, "2026-03-06 11:00:00", OFF, "outside working hours", id="ramadan friday end"),
        pytest.param(
            STAFF, "2026-02-18 07:45:00", W, "Wednesday working hours 07:30-16:00", id="day before ramadan"
        ),
        pytest.param(
            PersonContext("P1", "PUSKESMAS"),
            "2026-04-18 09:00:00",
            W,
            "agency PUSKESMAS: Saturday working hours 07:30-12:30",
            id="6-day agency saturday",
        ),
        pytest.param(
            PersonContext("P1", "PUSKESMAS"),
            "2026-03-07 09:00:00",
            W,
            "agency PUSKESMAS: Saturday working hours 07:30-12:30",
            id="agency hours beat generic ramadan",
        ),
        pytest.param(
            PersonContext("P2", "NIGHT"),
            "2026-04-14 03:00:00",
            W,
            "agency NIGHT: Monday working hours 22:00-06:00",
            id="window crosses midnight",
        ),
        pytest.param(
            PersonContext("P2", "NIGHT"),
            "2026-04-14 02:00:00",
            B,
            "agency NIGHT: Monday break 02:00-02:30",
            id="break after midnight",
        ),
        pytest.param(NIGHT_NURSE, "2026-04-14 21:59:59", OFF, "outside rostered shifts", id="before shift"),
        pytest.param(NIGHT_NURSE, "2026-04-14 22:00:00", W, "shift 22:00-06:00", id="night shift start"),
        pytest.param(NIGHT_NURSE, "2026-04-15 00:00:00", W, "shift 22:00-06:00", id="shift over midnight"),
        pytest.param(NIGHT_NURSE, "2026-04-15 06:00:00", OFF, "outside rostered shifts", id="shift end"),
        pytest.param(
            NIGHT_NURSE, "2026-04-15 10:00:00", OFF, "outside rostered shifts", id="roster replaces"
        ),
        pytest.param(
            NIGHT_NURSE, "2026-04-16 10:00:00", W, "Thursday working hours 07:30-16:00", id="after the roster"
        ),
        pytest.param(
            ROSTERED, "2026-04-10 10:00:00", W, "Friday working hours 07:30-16:30", id="before roster"
        ),
        pytest.param(ROSTERED, "2026-04-12 23:59:59", OFF, "weekend", id="last moment before roster"),
        pytest.param(ROSTERED, "2026-04-13 00:00:00", OFF, "outside rostered shifts", id="roster first day"),
        pytest.param(
            ROSTERED, "2026-04-13 10:00:00", OFF, "outside rostered shifts", id="roster not schedule"
        ),
        pytest.param(ROSTERED, "2026-04-14 10:00:00", OFF, "outside rostered shifts", id="day off in roster"),
        pytest.param(ROSTERED, "2026-04-16 23:59:59", W, "shift 16:00-00:00", id="last shift to midnight"),
        pytest.param(ROSTERED, "2026-04-17 00:00:00", OFF, "outside working hours", id="roster over"),
        pytest.param(
            ROSTERED, "2026-04-17 08:00:00", W, "Friday working hours 07:30-16:30", id="after roster"
        ),
        pytest.param(
            ONE_OLD_SHIFT, "2026-04-21 10:00:00", W, "Tuesday working hours 07:30-16:00", id="one old shift"
        ),
        pytest.param(
            ON_DUTY_TRIP,
            "2026-04-18 09:00:00",
            ASSIGN,
            "surat tugas 800/123/2026",
            id="assignment on saturday",
        ),
        pytest.param(ON_DUTY_TRIP, "2026-04-18 12:00:00", OFF, "weekend", id="assignment end"),
        pytest.param(ON_LEAVE, "2026-04-14 09:00:00", LEAVE, "leave: cuti tahunan", id="leave on workday"),
        pytest.param(
            ON_LEAVE, "2026-04-16 09:00:00", W, "Thursday working hours 07:30-16:00", id="leave end"
        ),
    ],
)
def test_kind_at(
    calendar: WorkingCalendar, person: PersonContext, when: str, kind: SegmentKind, reason: str
) -> None:
    assert at(calendar, person, when) == (kind, reason)


def test_tuesday_afternoon_is_split_at_16_00(calendar: WorkingCalendar) -> None:
    segments = calendar.intervals(STAFF, wib("2026-04-14 11:00"), wib("2026-04-15 08:00"))
    assert [(s.start.astimezone(WIB).strftime("%d %H:%M"), s.kind) for s in segments] == [
        ("14 11:00", W),
        ("14 12:00", B),
        ("14 13:00", W),
        ("14 16:00", OFF),  # one off-duty segment across midnight
        ("15 07:30", W),
    ]
    assert all(s.start.tzinfo is UTC for s in segments)


@pytest.mark.parametrize(
    "offset", [pytest.param(UTC, id="UTC"), pytest.param(timezone(timedelta(hours=8)), id="+08:00")]
)
def test_other_offsets_equal_their_wib_instant(calendar: WorkingCalendar, offset: timezone) -> None:
    start, end = wib("2026-04-17 07:00"), wib("2026-04-17 17:00")
    expected = calendar.intervals(STAFF, start, end)
    assert calendar.intervals(STAFF, start.astimezone(offset), end.astimezone(offset)) == expected
    assert datetime(2026, 4, 17, 0, 30, tzinfo=UTC) == expected[1].start  # 07:30 WIB


def test_breaks_can_count_as_working_hours(calendar: WorkingCalendar) -> None:
    counted = WorkingCalendar(replace(calendar.config, breaks_count_as_working_hours=True))
    assert at(counted, STAFF, "2026-04-14 12:30") == (
        W,
        "Tuesday break 12:00-13:00 (counted as working hours)",
    )


def test_regional_and_removed_holidays(calendar: WorkingCalendar) -> None:
    config = calendar.config
    holidays = replace(config.holidays, extra={datetime(2026, 12, 15).date(): "Hari Jadi Lumajang"})
    holidays = replace(holidays, removed=frozenset({datetime(2026, 3, 20).date()}))
    local = WorkingCalendar(replace(config, holidays=holidays))
    assert at(local, STAFF, "2026-12-15 09:00") == (OFF, "regional holiday: Hari Jadi Lumajang")
    assert at(local, STAFF, "2026-03-20 09:00") == (W, RAMADAN + "Friday working hours 07:00-11:00")


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(
            lambda c: c.intervals(STAFF, datetime(2026, 4, 14, 9), wib("2026-04-14 10:00")), id="start"
        ),
        pytest.param(
            lambda c: c.intervals(STAFF, wib("2026-04-14 09:00"), datetime(2026, 4, 14, 10)), id="end"
        ),
        pytest.param(
            lambda c: PersonSpan(datetime(2026, 4, 14, 9), wib("2026-04-14 10:00")), id="person span"
        ),
    ],
)
def test_naive_timestamps_are_refused(calendar: WorkingCalendar, call) -> None:
    with pytest.raises(NaiveTimestampError, match=r"no UTC offset.*\+07:00"):
        call(calendar)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        pytest.param(lambda: Window.parse("7.30 to 16"), "must look like", id="bad window"),
        pytest.param(lambda: WeeklySchedule.from_dict({"funday": {"work": []}}), "weekday key", id="bad day"),
        pytest.param(
            lambda: WeeklySchedule.from_dict({"mon": {"work": ["07:30-16:00"], "breaks": ["17:00-18:00"]}}),
            "outside the work windows",
            id="break outside work",
        ),
        pytest.param(
            lambda: WeeklySchedule.from_dict({"mon": {"hours": ["07:30-16:00"]}}), "unknown keys", id="typo"
        ),
        pytest.param(
            lambda: CalendarConfig.from_dict({"default_schedule": {}, "holiday": {}}), "unknown", id="bad key"
        ),
        pytest.param(
            lambda: span("2026-04-14 10:00", "2026-04-14 09:00", "x"), "before it starts", id="span"
        ),
        pytest.param(
            lambda: WeeklySchedule.from_dict({"fri": ["07:30-11:00"], "mon-fri": ["07:30-16:00"]}),
            "Friday is given twice",
            id="a day given twice",
        ),
        pytest.param(
            lambda: HolidayConfig.from_dict(
                {"country": "ID", "categories": [], "extras": {"2026-12-15": "x"}}
            ),
            r"unknown holidays settings \['extras'\]",
            id="misspelt holidays key",
        ),
        pytest.param(
            lambda: SchedulePeriod.from_dict(
                {
                    "name": "r",
                    "first_day": "2026-02-19",
                    "last_day": "2026-03-20",
                    "schedule": {},
                    "agency": {},
                }
            ),
            "unknown period settings",
            id="misspelt period key",
        ),
        pytest.param(
            lambda: SchedulePeriod.from_dict(
                {
                    "name": "r",
                    "first_day": datetime(2026, 2, 19, tzinfo=WIB),
                    "last_day": "2026-03-20",
                    "schedule": {},
                }
            ),
            "without a time",
            id="a time for a day",
        ),
        pytest.param(
            lambda: CalendarConfig.from_dict(
                {
                    "default_schedule": {},
                    "holidays": {"country": "ID", "categories": []},
                    "breaks_count_as_working_hours": "false",
                }
            ),
            "true or false",
            id="text is no switch",
        ),
    ],
)
def test_bad_configuration_is_refused(build, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


def test_empty_and_reversed_intervals(calendar: WorkingCalendar) -> None:
    assert calendar.intervals(STAFF, wib("2026-04-14 09:00"), wib("2026-04-14 09:00")) == []
    with pytest.raises(ValueError, match="before it starts"):
        calendar.intervals(STAFF, wib("2026-04-14 09:00"), wib("2026-04-14 08:00"))


def test_person_from_dict_reads_yaml_values() -> None:
    person = PersonContext.from_dict(
        {
            "person_id": 42,
            "agency_code": "RSUD",
            "shifts": [{"start": "2026-04-14T22:00:00+07:00", "end": wib("2026-04-15 06:00")}],
        }
    )
    assert person.person_id == "42"
    assert person.shifts == (PersonSpan(wib("2026-04-14 22:00"), wib("2026-04-15 06:00")),)


def test_public_names_are_exported() -> None:
    assert sorted(api.policy.__all__) == sorted(
        n for n in dir(api.policy) if not n.startswith("_") and n not in {"calendar", "rules"}
    )
    assert all(hasattr(api.policy, name) for name in api.policy.__all__)


def test_a_registry_schedule_outranks_the_configured_ones_on_the_days_it_covers(
    calendar: WorkingCalendar,
) -> None:
    six_day = AgencySchedule("6-day week (DISKOMINFO)", WeeklySchedule.from_dict(SIX_DAY), date(2026, 4, 1))
    april = AgencySchedule(
        "April trial", WeeklySchedule.from_dict({"sat": ["08:00-10:00"]}), date(2026, 4, 18)
    )
    april = replace(april, valid_to=date(2026, 4, 18))
    person = replace(STAFF, agency_schedules=(april, six_day))
    assert at(calendar, person, "2026-04-18 09:00") == (W, "April trial: Saturday working hours 08:00-10:00")
    assert at(calendar, person, "2026-04-18 11:00") == (OFF, "outside working hours")
    assert at(calendar, person, "2026-04-25 11:00") == (
        W,
        "6-day week (DISKOMINFO): Saturday working hours 07:30-12:30",
    )
    assert at(calendar, person, "2026-04-14 15:00") == (OFF, "outside working hours")  # weekdays end 14:30
    before = replace(STAFF, agency_schedules=(six_day,))
    assert at(calendar, before, "2026-03-28 09:00") == (OFF, "weekend")  # not yet valid: the default applies
    assert at(calendar, person, "2026-05-01 09:00")[1].startswith("national holiday")  # holidays still apply


FIVE_DAY = {"mon-fri": {"work": ["07:00-15:30"], "breaks": ["12:00-12:30"]}}


def test_ramadan_hours_replace_every_5_day_week_and_keep_the_others(calendar: WorkingCalendar) -> None:
    # The circular sets Ramadan hours for every agency with a 5-day week, whatever its usual hours.
    own_week = AgencySchedule("DISKOMINFO week", WeeklySchedule.from_dict(FIVE_DAY), date(2025, 1, 1))
    registered = replace(STAFF, agency_schedules=(own_week,))
    assert at(calendar, registered, "2026-02-18 07:15") == (
        W,
        "DISKOMINFO week: Wednesday working hours 07:00-15:30",
    )
    # In Ramadan it works the period's 08:00-15:00.
    assert at(calendar, registered, "2026-03-03 07:15") == (OFF, "outside working hours")
    assert at(calendar, registered, "2026-03-03 14:30") == (W, RAMADAN + "Tuesday working hours 08:00-15:00")
    assert at(calendar, registered, "2026-03-30 07:15")[0] == W  # after Ramadan its own week again
    configured = WorkingCalendar(replace(calendar.config, agencies={"DISKOMINFO": own_week.schedule}))
    assert at(configured, STAFF, "2026-03-06 10:30") == (W, RAMADAN + "Friday working hours 07:00-11:00")
    assert (
        at(configured, STAFF, "2026-04-17 07:15")[1] == "agency DISKOMINFO: Friday working hours 07:00-15:30"
    )
    # A 6-day week is kept (the circular lets those agencies adjust through Saturday), registered or not.
    six_day = AgencySchedule("6-day week", WeeklySchedule.from_dict(SIX_DAY), date(2025, 1, 1))
    assert at(calendar, replace(STAFF, agency_schedules=(six_day,)), "2026-03-07 09:00") == (
        W,
        "6-day week: Saturday working hours 07:30-12:30",
    )
    # A registered schedule valid only within Ramadan is the agency's Ramadan hours.
    for_ramadan = replace(own_week, name="DISKOMINFO Ramadan", valid_from=date(2026, 2, 19))
    for_ramadan = replace(for_ramadan, valid_to=date(2026, 3, 20))
    kept = replace(STAFF, agency_schedules=(for_ramadan, own_week))
    assert at(calendar, kept, "2026-03-03 07:15") == (
        W,
        "DISKOMINFO Ramadan: Tuesday working hours 07:00-15:30",
    )
    # Hours the period itself gives an agency come before its 5-day week.
    period = replace(
        calendar.config.periods[0],
        agencies={"DISKOMINFO": WeeklySchedule.from_dict({"mon-fri": ["09:00-14:00"]})},
    )
    listed = WorkingCalendar(replace(calendar.config, periods=(period,)))
    assert at(listed, registered, "2026-03-03 08:30") == (OFF, "outside working hours")
    assert at(listed, registered, "2026-03-03 09:30") == (
        W,
        "Ramadan 1447 H, agency DISKOMINFO: Tuesday working hours 09:00-14:00",
    )


def test_a_5_day_week_works_monday_to_friday_and_no_weekend_day() -> None:
    assert WeeklySchedule.from_dict(FIVE_DAY).is_five_day_week
    assert CalendarConfig.load().default_schedule.is_five_day_week
    assert not WeeklySchedule.from_dict(SIX_DAY).is_five_day_week
    assert not WeeklySchedule.from_dict(NIGHT_DESK).is_five_day_week
    assert not WeeklySchedule.from_dict({"mon-thu": ["07:30-16:00"]}).is_five_day_week


@pytest.mark.parametrize("no_end", ["9999-12-31T23:59:59+07:00", "9999-12-31T23:59:59+00:00"])
def test_spans_stored_without_an_end_still_judge(calendar: WorkingCalendar, no_end: str) -> None:
    # Rows saved with a "no end date" sentinel before the registry refused it: a roster of one Monday
    # shift and a standing shift from Monday 20 April, a standing leave from June.
    forever = datetime.fromisoformat(no_end)
    person = replace(
        STAFF,
        shifts=(
            span("2026-04-13 14:00", "2026-04-13 22:00", ""),
            PersonSpan(wib("2026-04-20 08:00"), forever, "roster"),
        ),
        leave=(PersonSpan(wib("2026-06-01 00:00"), forever, "cuti besar"),),
    )
    assert at(calendar, person, "2026-04-14 19:00") == (OFF, "outside rostered shifts")
    assert at(calendar, person, "2026-04-14 10:00") == (OFF, "outside rostered shifts")
    assert at(calendar, person, "2026-04-21 19:00") == (W, "shift from 08:00 (no end date) roster")
    assert at(calendar, person, "2026-06-02 10:00") == (LEAVE, "leave: cuti besar")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        # not read as settings named by the letters of a string ("unknown calendar settings [' ', 'a', ...]")
        ("just a string\n", ": expected settings as `name: value` lines"),
        ("- a list\n", ": expected settings as `name: value` lines"),
        ("", ": expected settings as `name: value` lines"),
        ("holidays: {}\ndefault_schedule: [\n", " is not valid YAML at line 3, column 1: expected the node"),
        ("\tdefault_schedule: {}\n", " is not valid YAML at line 1, column 1: found character"),
        ("holidays: {}\n", ": the setting 'default_schedule' is missing"),
        (DEFAULT_CALENDAR.read_text().replace("agencies: {}", "agencies: [dinkes]"), ": .*'list'"),
        (DEFAULT_CALENDAR.read_text().replace('"07:30-16:00"', '"7.30-16"'), ": time window '7.30-16' must"),
    ],
)
def test_a_calendar_file_that_cannot_be_read_is_refused_naming_it_and_what_is_wrong(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "calendar.yaml"
    path.write_text(content)
    with pytest.raises(ValueError, match=f"^{re.escape(str(path))}{message}"):
        CalendarConfig.load(path)
