from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from api.policy import (
    WIB,
    PersonContext,
    PersonSpan,
    PolicyConfig,
    Rule,
    SegmentKind,
    StreamContext,
    TimeSegment,
    WorkingCalendar,
    judge_stream,
)
from detector.episodes import AttireEpisode

CALENDAR = WorkingCalendar()
POLICY = replace(PolicyConfig.load(), min_r1_segment_s=0)
STAFF = PersonContext("S", "DISKOMINFO")
PEOPLE = [
    STAFF,
    PersonContext(
        "N",
        "RSUD",
        shifts=(PersonSpan(datetime(2026, 3, 19, 15, tzinfo=UTC), datetime(2026, 3, 19, 23, tzinfo=UTC)),),
    ),
    replace(
        STAFF,
        assignments=(
            PersonSpan(datetime(2026, 3, 17, 1, tzinfo=UTC), datetime(2026, 3, 17, 5, tzinfo=UTC), "1"),
        ),
    ),
    replace(
        STAFF, leave=(PersonSpan(datetime(2026, 3, 16, 2, tzinfo=UTC), datetime(2026, 3, 18, 2, tzinfo=UTC)),)
    ),
]
ZONES = st.sampled_from([UTC, WIB, timezone(timedelta(hours=8))])
# Around Ramadan's end, Nyepi and Idul Fitri: schedules, periods and holidays all change here.
instants = st.datetimes(datetime(2026, 3, 14), datetime(2026, 3, 28), timezones=ZONES)
spans = st.timedeltas(timedelta(0), timedelta(days=3))
people = st.sampled_from(PEOPLE)


def merged(segments: list[TimeSegment]) -> list[TimeSegment]:
    out: list[TimeSegment] = []
    for s in segments:
        if out and (out[-1].kind, out[-1].reason, out[-1].end) == (s.kind, s.reason, s.start):
            out[-1] = replace(out[-1], end=s.end)
        else:
            out.append(s)
    return out


@settings(deadline=None, max_examples=60)
@given(people, instants, spans)
def test_segments_cover_the_interval_exactly(
    person: PersonContext, start: datetime, length: timedelta
) -> None:
    segments = CALENDAR.intervals(person, start, start + length)
    if not length:
        assert segments == []
        return
    assert segments[0].start == start and segments[-1].end == start + length
    assert all(a.end == b.start for a, b in pairwise(segments))
    assert all(s.start < s.end and s.start.tzinfo is UTC for s in segments)
    assert all((a.kind, a.reason) != (b.kind, b.reason) for a, b in pairwise(segments))


@settings(deadline=None, max_examples=60)
@given(people, instants, spans, st.floats(0, 1))
def test_splitting_does_not_change_the_classification(
    person: PersonContext, start: datetime, length: timedelta, fraction: float
) -> None:
    middle = start + length * fraction
    parts = CALENDAR.intervals(person, start, middle) + CALENDAR.intervals(person, middle, start + length)
    assert merged(parts) == CALENDAR.intervals(person, start, start + length)


episodes = st.lists(
    st.tuples(st.floats(0, 4 * 3600), st.floats(0, 3600)).map(
        lambda t: AttireEpisode(t[0], t[0] + t[1], ("pdh_khaki",), 0.9, 10, t[0])
    ),
    max_size=4,
)


@settings(deadline=None, max_examples=60)
@given(people, instants, st.floats(0, 4 * 3600), episodes, st.booleans())
def test_findings_stay_on_their_side(person, start, duration_s, found, official) -> None:
    stream = StreamContext("tiktok", "x", official, person, start, duration_s)
    judgement = judge_stream(CALENDAR, POLICY, stream, found)
    for finding in judgement.findings:
        assert stream.start <= finding.start <= finding.end <= stream.end
        if finding.rule == Rule.LIVE_DURING_WORKING_HOURS:
            kinds = {s.kind for s in judgement.segments if s.start < finding.end and finding.start < s.end}
            assert kinds == {SegmentKind.WORKING} and not official
        else:
            episode = finding.episode
            assert episode is not None
            assert stream.start + timedelta(seconds=episode.start_s) <= finding.start
            assert finding.end <= stream.start + timedelta(seconds=episode.end_s)
