from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from api.policy import (
    WIB,
    NaiveTimestampError,
    PersonContext,
    PersonSpan,
    PolicyConfig,
    Rule,
    StreamContext,
    WorkingCalendar,
    judge_frame,
    judge_stream,
)
from api.policy.rules import DEFAULT_POLICY
from detector.detections import Detections
from detector.episodes import AttireEpisode
from detector.taxonomy import load_taxonomy
from tests.api.factories import wib

R1, R2 = Rule.LIVE_DURING_WORKING_HOURS, Rule.ATTIRE_OFF_DUTY
STAFF = PersonContext("198501012010011001", agency_code="DISKOMINFO")


def uniform(start_s: float, end_s: float) -> AttireEpisode:
    return AttireEpisode(start_s, end_s, ("name_plate", "pdh_khaki"), 0.86, 40, start_s)


def stream(start: str, minutes: float, owner: PersonContext | None = STAFF, official: bool = False):
    return StreamContext("tiktok", "budi.lmj", official, owner, wib(start), minutes * 60)


@pytest.fixture(scope="module")
def calendar() -> WorkingCalendar:
    return WorkingCalendar()


@pytest.fixture(scope="module")
def policy() -> PolicyConfig:
    return PolicyConfig.load()


def flags(judgement) -> list[tuple[Rule, str, str]]:
    return [
        (f.rule, f"{f.start.astimezone(WIB):%H:%M}", f"{f.end.astimezone(WIB):%H:%M}")
        for f in judgement.findings
    ]


ASSIGNED = replace(
    STAFF, assignments=(PersonSpan(wib("2026-04-14 09:00"), wib("2026-04-14 12:00"), "800/7"),)
)
ON_LEAVE = replace(STAFF, leave=(PersonSpan(wib("2026-04-14 00:00"), wib("2026-04-15 00:00"), "sakit"),))


@pytest.mark.parametrize(
    ("case", "episodes", "expected"),
    [
        pytest.param(
            stream("2026-04-14 15:50", 30),
            [uniform(0, 1800)],
            [(R1, "15:50", "16:00"), (R2, "16:00", "16:20")],
            id="tuesday across 16:00",
        ),
        pytest.param(stream("2026-04-14 15:50", 30), [], [(R1, "15:50", "16:00")], id="R1 needs no vision"),
        pytest.param(
            stream("2026-04-14 15:50", 30, official=True),
            [uniform(0, 1800)],
            [(R2, "16:00", "16:20")],
            id="official account: no R1, R2 still",
        ),
        pytest.param(stream("2026-04-14 15:59:30", 10), [], [], id="30 s of R1 is under the minimum"),
        pytest.param(
            stream("2026-04-14 15:59", 10), [], [(R1, "15:59", "16:00")], id="60 s of R1 is flagged"
        ),
        pytest.param(
            stream("2026-04-14 11:50", 30), [uniform(0, 1800)], [(R1, "11:50", "12:00")], id="no R2 in breaks"
        ),
        pytest.param(
            stream("2026-04-14 07:00", 60),
            [uniform(600, 900), uniform(1500, 2400)],
            [(R2, "07:10", "07:15"), (R2, "07:25", "07:30"), (R1, "07:30", "08:00")],
            id="each episode its own R2",
        ),
        pytest.param(
            stream("2026-04-14 10:00", 60, owner=ASSIGNED), [uniform(0, 3600)], [], id="surat tugas covers it"
        ),
        pytest.param(
            stream("2026-04-14 11:30", 60, owner=ASSIGNED),
            [uniform(0, 3600)],
            [],
            id="surat tugas then break",
        ),
        pytest.param(
            stream("2026-04-14 10:00", 30, owner=ON_LEAVE),
            [uniform(0, 600)],
            [(R2, "10:00", "10:10")],
            id="on leave: R2, no R1",
        ),
        pytest.param(
            stream("2026-04-18 10:00", 30),
            [uniform(300, 300)],
            [(R2, "10:05", "10:05")],
            id="one-instant episode",
        ),
    ],
)
def test_judge_stream(calendar, policy, case: StreamContext, episodes, expected) -> None:
    assert flags(judge_stream(calendar, policy, case, episodes)) == expected


def test_continuous_off_duty_span_is_one_finding(calendar, policy) -> None:
    judgement = judge_stream(calendar, policy, stream("2026-04-17 23:50", 20), [uniform(0, 1200)])
    (finding,) = judgement.findings
    assert finding.segment_reason == "outside working hours; weekend"
    assert finding.span_wib() == "2026-04-17 23:50:00 to 2026-04-18 00:10:00 WIB"


def test_an_r2_finding_names_the_episode_its_score_is_of_and_the_part_flagged(calendar, policy) -> None:
    """An episode from 15:50 to 16:04: the score and frames are the whole episode's, 16:00-16:04 flagged."""
    judgement = judge_stream(calendar, policy, stream("2026-04-14 15:50", 14), [uniform(0, 840)])
    (attire,) = [f for f in judgement.findings if f.rule == R2]
    assert attire.reasons[0].endswith("from 2026-04-14 15:50:00 to 2026-04-14 16:04:00 WIB.")
    assert "2026-04-14 16:00:00 to 2026-04-14 16:04:00 WIB is not working time" in attire.reasons[1]


def test_attire_in_breaks_can_be_switched_on(calendar, policy) -> None:
    strict = replace(policy, attire_rule_applies_in_breaks=True)
    judgement = judge_stream(calendar, strict, stream("2026-04-14 11:50", 30), [uniform(0, 1800)])
    assert flags(judgement) == [(R1, "11:50", "12:00"), (R2, "12:00", "12:20")]
    assert judgement.thresholds["attire_rule_applies_in_breaks"] is True


def test_findings_explain_themselves(calendar, policy) -> None:
    judgement = judge_stream(calendar, policy, stream("2026-04-14 15:50", 30), [uniform(0, 1800)])
    live, attire = judgement.findings
    assert live.start == datetime(2026, 4, 14, 8, 50, tzinfo=UTC)
    assert live.segment_reason == "Tuesday working hours 07:30-16:00"
    assert "personal account" in live.reasons[0] and "15:50:00" in live.reasons[0]
    assert attire.episode == uniform(0, 1800)
    assert "pdh_khaki" in attire.reasons[0] and attire.segment_reason == "outside working hours"
    assert not any(
        "guilty" in r.lower() or "violat" in r.lower() for f in judgement.findings for r in f.reasons
    )
    assert judgement.flagged and judgement.policy_version == policy.version
    assert judgement.thresholds["min_r1_segment_s"] == 60 and judgement.thresholds["episodes"]["window"] == 10


def test_unregistered_account_is_not_judged(calendar, policy) -> None:
    judgement = judge_stream(calendar, policy, stream("2026-04-14 10:00", 60, owner=None), [uniform(0, 3600)])
    assert not judgement.flagged and judgement.segments == ()
    assert judgement.notes == ("account not in registry: no owner to check against, so no rule was applied",)


def test_episode_outside_the_stream_is_noted(calendar, policy) -> None:
    judgement = judge_stream(calendar, policy, stream("2026-04-14 16:00", 10), [uniform(300, 900)])
    assert flags(judgement) == [(R2, "16:05", "16:10")]
    assert "reaches outside the stream" in judgement.notes[0]


def test_naive_stream_start_is_refused() -> None:
    with pytest.raises(NaiveTimestampError, match=r"\+07:00"):
        StreamContext("tiktok", "budi.lmj", False, STAFF, datetime(2026, 4, 14, 10), 60)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"min_r1_segment_s": -1}, "0 or more", id="negative"),
        pytest.param({"threshold": 1}, "unknown", id="unknown key"),
        pytest.param({"episodes": {"window": 0}}, "window", id="bad episode config"),
        pytest.param({"min_r1_segment_s": float("nan")}, "must be a number", id="nan: R1 would never flag"),
        pytest.param({"min_r1_segment_s": float("inf")}, "must be a number", id="inf"),
        pytest.param({"min_r2_overlap_s": True}, "must be a number", id="true is no number"),
        pytest.param({"attire_rule_applies_in_breaks": "false"}, "true or false", id="text is no switch"),
    ],
)
def test_bad_policy_is_refused(change: dict, message: str) -> None:
    raw = {
        "version": "t",
        "min_r1_segment_s": 60,
        "min_r2_overlap_s": 0,
        "attire_rule_applies_in_breaks": False,
        "episodes": {},
    }
    with pytest.raises(ValueError, match=message):
        PolicyConfig.from_dict(raw | change)


def _frame_detections(*labels: str) -> Detections:
    names = load_taxonomy().names
    return Detections(
        np.array([[10, 10, 50, 50]] * len(labels), np.float32).reshape(-1, 4),
        np.array([names.index(label) for label in labels], np.int64),
        np.full(len(labels), 0.8, np.float32),
        names,
        (360, 640),
    )


@pytest.mark.parametrize(
    ("when", "official", "labels", "expected"),
    [
        pytest.param("2026-04-14 10:00", False, (), [R1], id="working hours: R1 without a minimum length"),
        pytest.param("2026-04-14 10:00", True, ("pdh_khaki",), [], id="official account in working hours"),
        pytest.param("2026-04-14 19:00", False, ("pdh_khaki", "name_plate"), [R2], id="uniform off duty"),
        pytest.param("2026-04-14 19:00", False, ("other_uniform",), [], id="police uniform is context only"),
        pytest.param("2026-04-14 12:30", False, ("pdh_khaki",), [], id="break: neither rule"),
    ],
)
def test_judge_frame(
    calendar: WorkingCalendar, policy: PolicyConfig, when: str, official: bool, labels, expected
) -> None:
    judgement = judge_frame(calendar, policy, stream(when, 0, official=official), _frame_detections(*labels))
    assert [f.rule for f in judgement.findings] == expected
    assert all(f.start == f.end == wib(when) for f in judgement.findings)
    assert judgement.thresholds["min_r1_segment_s"] == 0 and judgement.thresholds["single_frame"] is True
    assert judgement.stream.duration_s == 0 and judgement.policy_version == policy.version


def test_judge_frame_of_an_unregistered_account_applies_no_rule(
    calendar: WorkingCalendar, policy: PolicyConfig
) -> None:
    judgement = judge_frame(
        calendar, policy, stream("2026-04-14 19:00", 0, owner=None), _frame_detections("pdh_khaki")
    )
    assert judgement.findings == () and "no rule was applied" in judgement.notes[0]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("just a string\n", "expected settings as `name: value` lines"),
        (
            DEFAULT_POLICY.read_text().replace("min_r1_segment_s: 60", "min_r1_segment_s: -60"),
            "must be 0 or more",
        ),
    ],
)
def test_a_policy_file_that_cannot_be_read_is_refused_naming_it(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(content)
    with pytest.raises(ValueError, match=f"^{re.escape(str(path))}: .*{message}"):
        PolicyConfig.load(path)
