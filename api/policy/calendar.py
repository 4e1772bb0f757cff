"""The working calendar: which parts of a time span are a person's working hours, in WIB (Asia/Jakarta).

``WorkingCalendar.intervals`` splits ``[start, end)`` into consecutive ``TimeSegment``s, each with a kind
(working, break, off duty, assignment, leave) and the reason a reviewer reads. What decides, strongest
first (DOMAIN.md section 3): the person's surat tugas and leave, their shift roster, their agency's
schedule, the default schedule. Dated periods (Ramadan hours) replace the default schedule and agencies'
5-day weeks on their days; holidays come from the ``holidays`` package plus configured regional dates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from importlib.resources import files
from importlib.resources.abc import Traversable
from itertools import pairwise
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import holidays
import yaml

from detector.settings import refuse_unknown, switch_setting

WIB = ZoneInfo("Asia/Jakarta")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOLIDAY_LABELS = {"public": "national holiday", "government": "collective leave"}
DEFAULT_CALENDAR = files("api.policy") / "default_calendar.yaml"
SettingsT = TypeVar("SettingsT")
# The years a time the service judges or records may lie in: nothing judged (livestreams, surat tugas) is
# older, and the calendar works with the day after a span's last day, which 9999-12-31 does not have.
FIRST_YEAR, LAST_YEAR = 2000, datetime.max.year - 1


class NaiveTimestampError(ValueError):
    """A datetime without a UTC offset reached the policy: its wall time could be any zone's."""


def load_settings_file(
    path: str | Path | None, default: Traversable, build: Callable[[Mapping[str, Any]], SettingsT]
) -> SettingsT:
    """``build`` applied to the settings in a YAML file (without one, ``default``): a mapping of names to
    values. Whatever is wrong in the file is raised as a ``ValueError`` that names it."""
    source = Path(path) if path else default
    text = source.read_text()  # OSError: a missing or unreadable file, named by the error
    try:
        raw = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ValueError(f"{source} is not valid YAML{where}: {error.problem}") from None
    if not isinstance(raw, Mapping):  # a plain string would be read as settings named by its letters
        raise ValueError(f"{source}: expected settings as `name: value` lines, got {raw!r:.60}")
    try:
        return build(raw)
    except KeyError as error:
        raise ValueError(f"{source}: the setting {error} is missing") from error
    # TypeError, AttributeError: a value of the wrong shape (a list where a mapping belongs)
    except (ValueError, TypeError, AttributeError) as error:
        raise ValueError(f"{source}: {error}") from error


def require_aware(value: datetime, what: str = "timestamp") -> datetime:
    """``value`` converted to UTC; raises ``NaiveTimestampError`` when it has no offset."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveTimestampError(
            f"{what} {value.isoformat()} has no UTC offset: give one, e.g. {value.isoformat()}+07:00 for WIB"
        )
    return value.astimezone(UTC)


def to_wib(value: datetime) -> datetime:
    """``value`` as WIB wall time (for display: store and compare in UTC)."""
    return require_aware(value).astimezone(WIB)


def format_wib(value: datetime) -> str:
    """E.g. ``2026-04-14 15:50:00 WIB``."""
    return f"{to_wib(value):%Y-%m-%d %H:%M:%S} WIB"


class SegmentKind(StrEnum):
    WORKING = "working"
    BREAK = "break"
    OFF_DUTY = "off_duty"
    ASSIGNMENT = "assignment"
    LEAVE = "leave"


@dataclass(frozen=True)
class TimeSegment:
    """A span ``[start, end)`` (UTC) of one kind, with the reason it has that kind."""

    start: datetime
    end: datetime
    kind: SegmentKind
    reason: str

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True)
class Window:
    """Wall-clock span of a day in WIB; an ``end`` not after ``start`` falls on the next day (22:00-06:00)."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: object) -> Window:
        try:
            if not isinstance(text, str):
                raise ValueError
            start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
        except ValueError:
            raise ValueError(f"time window {text!r} must look like '07:30-16:00'") from None
        return cls(start, end)

    def on(self, day: date) -> tuple[datetime, datetime]:
        """The window as aware datetimes, starting on ``day``."""
        start, end = datetime.combine(day, self.start, WIB), datetime.combine(day, self.end, WIB)
        return start, end if end > start else end + timedelta(days=1)

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class DaySchedule:
    """Work windows of one weekday and the breaks inside them (a break may fall after midnight)."""

    work: tuple[Window, ...] = ()
    breaks: tuple[Window, ...] = ()

    def __post_init__(self) -> None:
        for pause in self.breaks:
            self.place_break(pause, date(2026, 1, 5))

    def place_break(self, pause: Window, day: date) -> tuple[datetime, datetime]:
        """Where ``pause`` falls inside the work windows that start on ``day``."""
        windows = [window.on(day) for window in self.work]
        for days_later in (0, 1):
            start, end = pause.on(day + timedelta(days=days_later))
            if any(w_start <= start and end <= w_end for w_start, w_end in windows):
                return start, end
        raise ValueError(f"break {pause} lies outside the work windows {[str(w) for w in self.work]}")


@dataclass(frozen=True)
class WeeklySchedule:
    """One ``DaySchedule`` per weekday, Monday first; a day without work windows is off."""

    days: tuple[DaySchedule, ...] = (DaySchedule(),) * 7

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> WeeklySchedule:
        """From ``{"mon-thu": {"work": ["07:30-16:00"], "breaks": ["12:00-13:00"]}, "fri": ...}``; a
        day given as a plain list (``"sat": ["07:30-12:00"]``) has those work windows and no breaks."""
        days = [DaySchedule()] * 7
        given_days: set[int] = set()
        for key, given in raw.items():
            hours = {"work": given} if isinstance(given, list) else given
            if not isinstance(hours, Mapping) or not all(isinstance(v, list) for v in hours.values()):
                raise ValueError(
                    f"schedule of {key!r} must be a list of windows or {{work: [...], breaks: [...]}}"
                )
            unknown = sorted(set(hours) - {"work", "breaks"})
            if unknown:
                raise ValueError(f"schedule of {key!r} has unknown keys {unknown}: use 'work' and 'breaks'")
            day = DaySchedule(*(tuple(map(Window.parse, hours.get(k, ()))) for k in ("work", "breaks")))
            for index in _weekdays(key):
                if index in given_days:
                    raise ValueError(f"{DAY_NAMES[index]} is given twice in the schedule (again in {key!r})")
                given_days.add(index)
                days[index] = day
        return cls(tuple(days))

    @property
    def is_five_day_week(self) -> bool:
        """Work on each day from Monday to Friday and none at the weekend."""
        return all(day.work for day in self.days[:5]) and not any(day.work for day in self.days[5:])


def _weekdays(key: object) -> range:
    parts = [part.strip().lower() for part in key.split("-")] if isinstance(key, str) else []
    if not 1 <= len(parts) <= 2 or any(part not in _DAY_KEYS for part in parts):
        raise ValueError(f"weekday key {key!r} must be a day ('fri') or a range ('mon-thu')")
    first, last = _DAY_KEYS.index(parts[0]), _DAY_KEYS.index(parts[-1])
    if last < first:
        raise ValueError(f"weekday range {key!r} must run forward within a week ('mon-thu', not 'fri-mon')")
    return range(first, last + 1)


@dataclass(frozen=True)
class SchedulePeriod:
    """Hours that replace the default schedule and agencies' 5-day weeks from ``first_day`` to ``last_day``
    inclusive (Ramadan); ``agencies`` gives agency-specific hours for the period."""

    name: str
    first_day: date
    last_day: date
    schedule: WeeklySchedule
    agencies: Mapping[str, WeeklySchedule] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> SchedulePeriod:
        refuse_unknown(raw, {"name", "first_day", "last_day", "schedule", "agencies"}, "period")
        return cls(
            name=raw["name"],
            first_day=_date(raw["first_day"]),
            last_day=_date(raw["last_day"]),
            schedule=WeeklySchedule.from_dict(raw["schedule"]),
            agencies={code: WeeklySchedule.from_dict(s) for code, s in raw.get("agencies", {}).items()},
        )


@dataclass(frozen=True)
class HolidayConfig:
    """Days off: the ``holidays`` package's days for ``country``/``categories`` ("government" adds cuti
    bersama), plus ``extra`` regional holidays, minus ``removed`` dates (worked after all)."""

    country: str
    categories: tuple[str, ...]
    language: str | None = None
    subdivision: str | None = None
    extra: Mapping[date, str] = field(default_factory=dict)
    removed: frozenset[date] = frozenset()

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> HolidayConfig:
        refuse_unknown(
            raw, {"country", "categories", "language", "subdivision", "extra", "removed"}, "holidays"
        )
        return cls(
            country=raw["country"],
            categories=tuple(raw["categories"]),
            language=raw.get("language"),
            subdivision=raw.get("subdivision"),
            extra={_date(day): name for day, name in (raw.get("extra") or {}).items()},
            removed=frozenset(map(_date, raw.get("removed") or ())),
        )


@dataclass(frozen=True)
class CalendarConfig:
    """Everything the calendar knows that is not about one person. ``CalendarConfig.load()`` gives the
    defaults (``default_calendar.yaml``)."""

    default_schedule: WeeklySchedule
    holidays: HolidayConfig
    periods: tuple[SchedulePeriod, ...] = ()
    agencies: Mapping[str, WeeklySchedule] = field(default_factory=dict)
    breaks_count_as_working_hours: bool = False

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> CalendarConfig:
        refuse_unknown(
            raw,
            {"default_schedule", "holidays", "periods", "agencies", "breaks_count_as_working_hours"},
            "calendar",
        )
        return cls(
            default_schedule=WeeklySchedule.from_dict(raw["default_schedule"]),
            holidays=HolidayConfig.from_dict(raw["holidays"]),
            periods=tuple(SchedulePeriod.from_dict(p) for p in raw.get("periods") or ()),
            agencies={code: WeeklySchedule.from_dict(s) for code, s in (raw.get("agencies") or {}).items()},
            breaks_count_as_working_hours=switch_setting(
                "breaks_count_as_working_hours", raw.get("breaks_count_as_working_hours", False)
            ),
        )

    @classmethod
    def load(cls, path: str | Path | None = None) -> CalendarConfig:
        """From a YAML file; without one, the shipped defaults."""
        return load_settings_file(path, DEFAULT_CALENDAR, cls.from_dict)


@dataclass(frozen=True)
class PersonSpan:
    """A span in one person's record: a rostered shift, a surat tugas or a leave; ``note`` names it
    (letter number, kind of leave). Stored in UTC."""

    start: datetime
    end: datetime
    note: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", require_aware(self.start, "span start"))
        object.__setattr__(self, "end", require_aware(self.end, "span end"))
        if self.end <= self.start:
            raise ValueError(f"span {self.note!r} ends ({self.end}) before it starts ({self.start})")

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> PersonSpan:
        return cls(_datetime(raw["start"]), _datetime(raw["end"]), str(raw.get("note", "")))


@dataclass(frozen=True)
class AgencySchedule:
    """A weekly schedule the registry holds for an agency, valid from ``valid_from`` through ``valid_to``
    (None: open-ended). It outranks the configured agency and default schedules; a dated period replaces
    it when it is a 5-day week (``WorkingCalendar.schedule_on``)."""

    name: str
    schedule: WeeklySchedule
    valid_from: date
    valid_to: date | None = None

    def covers(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def within(self, period: SchedulePeriod) -> bool:
        """Whether it is valid only on days of ``period``: the agency's own hours for it."""
        return (
            period.first_day <= self.valid_from
            and self.valid_to is not None
            and self.valid_to <= period.last_day
        )


@dataclass(frozen=True)
class PersonContext:
    """Whose calendar to read: the person, their agency, and their own record. On the days their
    ``shifts`` cover (WIB days from the first shift's start to the last shift's end) a person works exactly
    their rostered shifts: schedules and holidays do not apply; before and after, their schedule does.
    ``agency_schedules``: the registry's schedules of their agency and the agencies above it, in the
    order they take precedence (the first that covers a day applies)."""

    person_id: str
    agency_code: str | None = None
    shifts: tuple[PersonSpan, ...] = ()
    assignments: tuple[PersonSpan, ...] = ()
    leave: tuple[PersonSpan, ...] = ()
    agency_schedules: tuple[AgencySchedule, ...] = ()

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> PersonContext:
        spans = {
            key: tuple(map(PersonSpan.from_dict, raw.get(key) or ()))
            for key in ("shifts", "assignments", "leave")
        }
        return cls(person_id=str(raw["person_id"]), agency_code=raw.get("agency_code"), **spans)


class WorkingCalendar:
    """Splits time spans of a person into working time and the rest, by ``CalendarConfig``."""

    def __init__(self, config: CalendarConfig | None = None) -> None:
        self.config = config or CalendarConfig.load()
        h = self.config.holidays
        self._holidays = {
            category: holidays.country_holidays(
                h.country, subdiv=h.subdivision, categories=(category,), language=h.language
            )
            for category in h.categories
        }

    def intervals(self, person: PersonContext, start: datetime, end: datetime) -> list[TimeSegment]:
        """``[start, end)`` as consecutive segments (UTC), neighbours of equal kind and reason merged."""
        start, end = require_aware(start, "start"), require_aware(end, "end")
        if end < start:
            raise ValueError(f"interval ends ({end}) before it starts ({start})")
        marks = self._schedule_marks(person, start, end) + _roster_marks(person.shifts, start, end)
        marks += [
            TimeSegment(s.start, s.end, SegmentKind.LEAVE, _note("leave", s.note, ": ")) for s in person.leave
        ]
        marks += [
            TimeSegment(s.start, s.end, SegmentKind.ASSIGNMENT, _note("surat tugas", s.note, " "))
            for s in person.assignments
        ]
        return _flatten(marks, start, end)

    def day_off_reason(self, day: date) -> str | None:
        """Why ``day`` is a holiday (national, collective leave, regional), or None."""
        h = self.config.holidays
        if day in h.removed:
            return None
        if day in h.extra:
            return f"regional holiday: {h.extra[day]}"
        for category, calendar in self._holidays.items():
            if day in calendar:
                return f"{_HOLIDAY_LABELS.get(category, category)}: {calendar[day]}"
        return None

    def schedule_on(
        self, agency_code: str | None, day: date, registered: tuple[AgencySchedule, ...] = ()
    ) -> tuple[str, WeeklySchedule]:
        """The schedule that applies on ``day`` and its label ("" for the default).

        The agency's own week is the first of the ``registered`` schedules that covers the day, else its
        configured one, else the default. A dated period (Ramadan) sets the hours of every agency with a
        5-day week (DOMAIN.md section 3), so on its days the first that applies is: a registered schedule
        valid only within the period; the hours the period lists for the agency; the period's hours, in
        place of the default or any 5-day week; the agency's own week of other days (6-day, night desk)."""
        registered_week = next((s for s in registered if s.covers(day)), None)
        if registered_week:
            label, own = registered_week.name, registered_week.schedule
        elif agency_code in self.config.agencies:
            label, own = f"agency {agency_code}", self.config.agencies[agency_code]
        else:
            label, own = "", self.config.default_schedule
        period = next((p for p in self.config.periods if p.first_day <= day <= p.last_day), None)
        if period is None or (registered_week and registered_week.within(period)):
            return label, own
        if agency_code in period.agencies:
            return f"{period.name}, agency {agency_code}", period.agencies[agency_code]
        if not label or own.is_five_day_week:
            return period.name, period.schedule
        return label, own

    def _schedule_marks(self, person: PersonContext, start: datetime, end: datetime) -> list[TimeSegment]:
        # Start a day early: yesterday's window may cross midnight into the span.
        first, last = to_wib(start).date() - timedelta(days=1), to_wib(end).date()
        days_off, hours = [], []
        for day in (first + timedelta(days=n) for n in range((last - first).days + 1)):
            label, schedule = self.schedule_on(person.agency_code, day, person.agency_schedules)
            today = schedule.days[day.weekday()]
            off = self.day_off_reason(day) or (None if today.work else _no_work_reason(day))
            midnight = datetime.combine(day, time(), WIB)
            days_off.append(
                TimeSegment(
                    midnight,
                    midnight + timedelta(days=1),
                    SegmentKind.OFF_DUTY,
                    off or "outside working hours",
                )
            )
            if off is None:
                hours += self._working_marks(label, day, today)
        # Hours after all days off, so a window crossing midnight paints over the next day.
        return days_off + hours

    def _working_marks(self, label: str, day: date, hours: DaySchedule) -> list[TimeSegment]:
        prefix = f"{label}: " if label else ""
        name = DAY_NAMES[day.weekday()]
        marks = [
            TimeSegment(*w.on(day), SegmentKind.WORKING, f"{prefix}{name} working hours {w}")
            for w in hours.work
        ]
        for pause in hours.breaks:
            kind, suffix = SegmentKind.BREAK, ""
            if self.config.breaks_count_as_working_hours:
                kind, suffix = SegmentKind.WORKING, " (counted as working hours)"
            marks.append(
                TimeSegment(*hours.place_break(pause, day), kind, f"{prefix}{name} break {pause}{suffix}")
            )
        return marks


def _flatten(marks: list[TimeSegment], start: datetime, end: datetime) -> list[TimeSegment]:
    """Later marks win where they overlap; cut to ``[start, end)``, UTC, equal neighbours merged."""
    marks = [m for m in marks if m.start < end and m.end > start]
    inner = {t.astimezone(UTC) for m in marks for t in (m.start, m.end) if start < t < end}
    segments: list[TimeSegment] = []
    for a, b in pairwise(sorted({start, end} | inner)):
        top = next(m for m in reversed(marks) if m.start <= a and b <= m.end)
        if segments and (segments[-1].kind, segments[-1].reason) == (top.kind, top.reason):
            segments[-1] = replace(segments[-1], end=b)
        else:
            segments.append(TimeSegment(a, b, top.kind, top.reason))
    return segments


def _no_work_reason(day: date) -> str:
    return "weekend" if day.weekday() >= 5 else f"no working hours on {DAY_NAMES[day.weekday()]}"


def _roster_marks(shifts: tuple[PersonSpan, ...], start: datetime, end: datetime) -> list[TimeSegment]:
    """The WIB days a roster covers, from the day its first shift starts to the day its last shift ends,
    are off duty but for the shifts; outside them the schedule applies, so one old shift does not make
    every later day off duty. Marks only what ``[start, end)`` needs."""
    if not shifts:
        return []
    # Days from the one after the span's end on change nothing in it; counting no further also keeps an end
    # stored as "no end date" (9999-12-31, refused by the registry now) from overflowing the day after it.
    reach = end + timedelta(days=1)
    first = min(to_wib(min(s.start, reach)).date() for s in shifts)
    # The day of a shift's last moment: a night shift reaches the next day, a 16:00-24:00 one does not.
    last = max(to_wib(min(s.end, reach) - timedelta(microseconds=1)).date() for s in shifts)
    covered = TimeSegment(
        datetime.combine(first, time(), WIB),
        datetime.combine(last + timedelta(days=1), time(), WIB),
        SegmentKind.OFF_DUTY,
        "outside rostered shifts",
    )
    worked = [
        TimeSegment(s.start, s.end, SegmentKind.WORKING, _shift_reason(s))
        for s in shifts
        if s.start < end and start < s.end
    ]
    return [covered, *worked]


def _shift_reason(shift: PersonSpan) -> str:
    if shift.end.year > LAST_YEAR:  # stored as "no end date": late on 9999-12-31 UTC has no WIB time
        return _note(f"shift from {to_wib(shift.start):%H:%M} (no end date)", shift.note, " ")
    return _note(f"shift {to_wib(shift.start):%H:%M}-{to_wib(shift.end):%H:%M}", shift.note, " ")


def _note(text: str, note: str, separator: str) -> str:
    return f"{text}{separator}{note}" if note else text


def _date(value: date | str) -> date:
    if isinstance(value, datetime):  # a datetime is a date too, and would fail every comparison later
        raise ValueError(f"{value} must be a day (YYYY-MM-DD), without a time")
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _datetime(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
