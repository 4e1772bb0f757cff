"""The policy's reasons and notes, rendered in Bahasa Indonesia for the web UI: every template the
calendar and the rules write is covered, and nothing English is left in the rendering."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from api.policy import (
    CalendarConfig,
    PersonContext,
    PolicyConfig,
    StreamContext,
    WeeklySchedule,
    WorkingCalendar,
    judge_frame,
    judge_stream,
)
from api.policy.rules import OFFICIAL_NOTE, SINGLE_FRAME_NOTE, UNREGISTERED_NOTE
from api.ui.reasons import localise
from detector.detections import Detections
from detector.episodes import AttireEpisode
from detector.taxonomy import load_taxonomy
from tests.api.factories import span, wib

ENGLISH = re.compile(
    r"\b(working|hours|break|holiday|outside|weekend|agency|account|live|for|time|seen|frames|score|"
    r"official|exempt|covers|leave|collective|national|regional|counted|rostered|to|on|of|no|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b",
    re.IGNORECASE,
)
STAFF = PersonContext("198501012010011001", agency_code="DISKOMINFO")


@pytest.fixture(scope="module")
def calendar() -> WorkingCalendar:
    config = CalendarConfig.load()
    night = WeeklySchedule.from_dict({"mon": {"work": ["22:00-06:00"], "breaks": ["02:00-02:30"]}})
    return WorkingCalendar(replace(config, agencies={"NIGHT": night}, breaks_count_as_working_hours=False))


@pytest.mark.parametrize(
    ("person", "when"),
    [
        pytest.param(STAFF, "2026-04-14 07:00", id="outside working hours"),
        pytest.param(STAFF, "2026-04-14 09:00", id="working hours"),
        pytest.param(STAFF, "2026-04-14 12:30", id="break"),
        pytest.param(STAFF, "2026-04-18 09:00", id="weekend"),
        pytest.param(STAFF, "2026-03-21 09:00", id="national holiday"),
        pytest.param(STAFF, "2026-03-20 09:00", id="collective leave"),
        pytest.param(STAFF, "2026-03-03 12:30", id="ramadan label"),
        pytest.param(PersonContext("P2", "NIGHT"), "2026-04-14 03:00", id="agency label"),
        pytest.param(PersonContext("P2", "NIGHT"), "2026-04-14 02:00", id="agency break"),
        pytest.param(PersonContext("P2", "NIGHT"), "2026-04-15 09:00", id="no working hours on a day"),
        pytest.param(
            PersonContext("N1", shifts=(span("2026-04-14 22:00", "2026-04-15 06:00", ""),)),
            "2026-04-14 23:00",
            id="shift",
        ),
        pytest.param(
            PersonContext("N1", shifts=(span("2026-04-14 22:00", "2026-04-15 06:00", ""),)),
            "2026-04-14 20:00",
            id="outside rostered shifts",
        ),
        pytest.param(
            replace(STAFF, leave=(span("2026-04-14 00:00", "2026-04-15 00:00", "cuti tahunan"),)),
            "2026-04-14 09:00",
            id="leave",
        ),
        pytest.param(
            replace(STAFF, assignments=(span("2026-04-18 08:00", "2026-04-18 12:00", "800/1/2026"),)),
            "2026-04-18 09:00",
            id="surat tugas",
        ),
    ],
)
def test_every_calendar_reason_reads_in_indonesian(
    calendar: WorkingCalendar, person: PersonContext, when: str
) -> None:
    (segment,) = calendar.intervals(person, wib(when), wib(when) + timedelta(seconds=1))
    rendered = localise(segment.reason, "id")
    assert not ENGLISH.search(rendered), (segment.reason, rendered)
    assert localise(segment.reason, "en") == segment.reason


def test_regional_holidays_and_counted_breaks_read_in_indonesian() -> None:
    config = CalendarConfig.load()
    holidays = replace(config.holidays, extra={wib("2026-04-14 00:00").date(): "Hari Jadi Lumajang"})
    calendar = WorkingCalendar(replace(config, holidays=holidays))
    counted = WorkingCalendar(replace(config, breaks_count_as_working_hours=True))
    for cal, when, expected in (
        (calendar, "2026-04-14 09:00", "libur daerah: Hari Jadi Lumajang"),
        (counted, "2026-04-15 12:30", "istirahat Rabu 12:00-13:00 (dihitung jam kerja)"),
    ):
        (segment,) = cal.intervals(STAFF, wib(when), wib(when) + timedelta(seconds=1))
        assert localise(segment.reason, "id") == expected


def _uniform_frame() -> Detections:
    names = load_taxonomy().names
    boxes = np.array([[10, 10, 200, 300], [50, 60, 90, 80]], np.float32)
    ids = np.array([names.index("pdh_khaki"), names.index("name_plate")])
    return Detections(boxes, ids, np.array([0.9, 0.8], np.float32), names, (720, 1280))


def test_every_finding_and_note_reads_in_indonesian() -> None:
    calendar, policy = WorkingCalendar(), PolicyConfig.load()
    crossing = StreamContext("tiktok", "budi.lmj", False, STAFF, wib("2026-04-14 15:50"), 1800)
    episode = AttireEpisode(0, 1800, ("name_plate", "pdh_khaki"), 0.86, 40, 0)
    judged = judge_stream(calendar, policy, crossing, [episode])
    frame = judge_frame(calendar, policy, replace(crossing, start=wib("2026-04-14 19:00")), _uniform_frame())
    official = judge_stream(calendar, policy, replace(crossing, is_official=True), [])
    texts = [r for j in (judged, frame) for f in j.findings for r in f.reasons]
    texts += [*frame.notes, *official.notes, UNREGISTERED_NOTE]
    assert {OFFICIAL_NOTE, SINGLE_FRAME_NOTE} <= set(texts) and len(texts) >= 11
    for text in texts:
        rendered = localise(text, "id")
        assert not ENGLISH.search(rendered.replace("budi.lmj", "")), (text, rendered)
    first = localise(judged.findings[0].reasons[0], "id")
    assert first == (
        "Siaran langsung di akun tiktok @budi.lmj, akun pribadi milik 198501012010011001, "
        "pada 2026-04-14 15:50:00 sampai 2026-04-14 16:00:00 WIB."
    )


def test_a_text_no_pattern_knows_is_shown_as_written() -> None:
    assert localise("something new the policy says", "id") == "something new the policy says"
