"""Reviewing in the web UI: queue, case page (evidence, timeline, provenance), decisions as an
append-only history, per-user viewed status, detection feedback, escaping of registry text."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import select

from api.db import (
    AuditEntry,
    AuditLogIsAppendOnlyError,
    Case,
    CaseDecision,
    CaseRule,
    CaseState,
    DetectionFeedback,
    Person,
)
from api.policy import WIB
from api.timeline import Span, Timeline
from api.ui import case_pages, plots
from api.ui.reasons import localise
from datasets.clips import Segment, write_livestream_clip
from datasets.people import PhotoPeople
from tests.api.factories import (
    CLIP_SEED,
    TUESDAY,
    UNIFORM_PHOTO,
    World,
    jpeg,
    post_clip,
    post_frame,
    wait_for_job,
)


def _case(client: TestClient, case_id: int) -> Case:
    with client.app.state.service.sessions() as session:
        return session.get_one(Case, case_id)


def test_case_page_shows_evidence_timeline_reasons_and_provenance(
    client: TestClient, browser, kominfo_case: int
) -> None:
    page = browser("rev.kominfo").get(f"/ui/cases/{kominfo_case}").text
    case = _case(client, kominfo_case)
    assert f"/ui/cases/{kominfo_case}/evidence/1.jpg?blur=1" in page
    assert '<svg class="timeline"' in page and "seg seg-off_duty" in page and "score-dot" in page
    assert case.upload_sha256 in page and case.model_version in page and case.policy_version in page
    assert all(str(escape(localise(reason, "id"))) in page for reason in case.reasons)
    assert case.reasons[0].startswith("Official attire") and "Official attire" not in page  # in Indonesian
    assert "Budi Santoso" in page and "budi.lmj" in page


def test_case_page_names_the_accounts_status_on_the_streams_day(
    client: TestClient, world: World, browser, kominfo_case: int
) -> None:
    """Budi's account becomes DISKOMINFO's official one after the case's Tuesday: it was personal then."""
    account = _case(client, kominfo_case).account_id
    body = {"is_official": True, "agency_id": world.agencies["DISKOMINFO"], "status_changed_on": "2026-05-01"}
    changed = client.patch(f"/v1/accounts/{account}", json=body, headers=world.headers("admin"))
    assert changed.json()["is_official"], changed.text
    page = browser("rev.kominfo").get(f"/ui/cases/{kominfo_case}").text
    assert re.search(r"budi\.lmj · (\w+)</dd>", page).group(1) == "pribadi"


def test_case_page_links_the_case_of_the_same_span_in_another_recording(
    client: TestClient, world: World, browser, kominfo_case: int, uniform_frame: bytes
) -> None:
    """The same frame re-encoded is another file of the same moment: the two cases link each other."""
    image = cv2.imdecode(np.frombuffer(uniform_frame, np.uint8), cv2.IMREAD_COLOR)
    (other,) = post_frame(client, world, jpeg(image), handle="budi.lmj", at="19:00").json()["cases"]
    page = browser("rev.kominfo").get(f"/ui/cases/{kominfo_case}").text
    assert 'id="overlapping"' in page and f'href="/ui/cases/{other["id"]}"' in page
    back = browser("rev.kominfo").get(f"/ui/cases/{other['id']}").text
    assert f'href="/ui/cases/{kominfo_case}"' in back


def test_a_clip_whose_stream_dropped_shows_the_hole_on_its_case_page(
    client: TestClient, world: World, browser, bundled_people: list[PhotoPeople], tmp_path: Path
) -> None:
    """PDH khaki at 19:00 for 12 s, no frame for a minute, PDH khaki for 12 s more: two R2 cases, one for
    each side of the hole, whose timelines draw the hole and no score line across it."""
    path = tmp_path / "dropped.mp4"
    person = bundled_people[UNIFORM_PHOTO]
    segments = [Segment(person, "pdh_khaki", 12), Segment(person, "pdh_khaki", 12, after_gap_s=60)]
    write_livestream_clip(path, segments, size=(360, 640), fps=10, seed=CLIP_SEED)
    posted = post_clip(client, world, path.read_bytes(), started_at=f"{TUESDAY}T19:00:00+07:00")
    job = wait_for_job(client, posted.json()["id"], world.headers("uploader"), timeout_s=120)
    assert job["state"] == "done", job
    ((before, after),) = job["result"]["holes"]
    assert 11 <= before < 12 and 72 <= after < 73
    first, second = sorted((_case(client, n) for n in job["result"]["case_ids"]), key=lambda c: c.start_at)
    assert first.end_at <= first.stream_started_at + timedelta(seconds=12)
    assert second.start_at >= second.stream_started_at + timedelta(seconds=72)
    page = browser("rev.kominfo").get(f"/ui/cases/{first.id}").text
    assert page.count('<rect class="hole"') == 1 and page.count('<polyline class="score"') == 2


def _timeline(scores: list[tuple[float, float]], duration_s: float, holes: list[Span] = ()) -> Timeline:
    flagged = Span(0, 1, "flagged", "R2")
    return Timeline(datetime(2026, 4, 14, 12, tzinfo=WIB), duration_s, [], scores, [], flagged, list(holes))


def test_a_day_long_timeline_draws_a_bounded_line_and_keeps_a_lone_peak() -> None:
    """One frame a second for 24 hours: a few points per pixel column, and a 1-second peak still drawn."""
    day_s, peak_s = 86_400, 43_210
    scores = [(float(t), 0.9 if t == peak_s else 0.1) for t in range(day_s)]
    plot = plots.timeline_plot(_timeline(scores, day_s), 0.5)
    assert len(plot.score_dots) <= plots.COLUMNS
    (line,) = plot.score_lines
    assert len(line.split()) <= 4 * plots.COLUMNS
    peak_x = round(plots.LEFT + peak_s * plots.COLUMNS / day_s, 1)
    peak_y = round(plots.BAND_TOP + plots.BAND_HEIGHT * (1 - 0.9), 1)
    assert (peak_x, peak_y, 0.9) in plot.score_dots and f"{peak_x},{peak_y}" in line


def test_a_short_timeline_draws_every_frame() -> None:
    """No more frames than pixel columns (several in one column here): each is a line point and a dot."""
    scores = [(t / 4, (t % 7) / 7) for t in range(plots.COLUMNS)]
    plot = plots.timeline_plot(_timeline(scores, 3_600), 0.5)
    assert [score for *_, score in plot.score_dots] == [score for _, score in scores]
    assert plot.score_lines == [" ".join(f"{x},{y}" for x, y, _ in plot.score_dots)]


def test_the_score_line_breaks_where_the_recording_has_a_hole() -> None:
    """Frames each second to 100 s and from 700 s: no line across the 10 minutes without a frame."""
    scores = [(float(t), 0.8) for t in [*range(101), *range(700, 801)]]
    plot = plots.timeline_plot(_timeline(scores, 800, [Span(100, 700, "hole", "")]), 0.5)
    before, after = (line.split() for line in plot.score_lines)
    assert (len(before), len(after)) == (101, 101) and len(plot.score_dots) == 202
    (hole,) = plot.holes
    assert (hole.x, hole.x + hole.width) == (float(before[-1].split(",")[0]), float(after[0].split(",")[0]))


@pytest.mark.parametrize("query", ["original=1", "blur=1", ""])
def test_evidence_images_are_jpeg_and_every_look_is_audited(
    client: TestClient, browser, kominfo_case: int, query: str
) -> None:
    response = browser("rev.kominfo").get(f"/ui/cases/{kominfo_case}/evidence/1.jpg?{query}")
    assert response.status_code == 200 and response.content[:2] == b"\xff\xd8"
    with client.app.state.service.sessions() as session:
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry.action == "view_evidence" and entry.actor.startswith("user:")
    assert entry.detail == {"original": query == "original=1"}


def test_opening_a_case_marks_it_viewed_for_that_user_only(
    client: TestClient, browser, kominfo_case: int
) -> None:
    kominfo, setda_admin = browser("rev.kominfo"), browser("admin")
    assert 'class="unviewed"' in kominfo.get("/ui/cases").text
    kominfo.get(f"/ui/cases/{kominfo_case}")
    assert 'class="unviewed"' not in kominfo.get("/ui/cases").text
    assert 'class="unviewed"' in setda_admin.get("/ui/cases").text
    assert _case(client, kominfo_case).state == "viewed"


def test_bulk_mark_as_viewed(browser, kominfo_case: int) -> None:
    user = browser("rev.kominfo")
    assert user.post("/ui/cases/viewed", {"case_id": str(kominfo_case)}, page="/ui/cases").status_code == 303
    assert 'class="unviewed"' not in user.get("/ui/cases?unviewed=1").text
    assert f"/ui/cases/{kominfo_case}" not in user.get("/ui/cases?unviewed=1").text


@pytest.mark.parametrize(
    ("query", "listed"),
    [
        ("rule=R2", True),
        ("rule=R1", False),
        ("platform=tiktok", True),
        ("platform=youtube", False),
        ("from=2026-04-14&to=2026-04-14", True),
        ("from=2026-04-15", False),
        ("order=score", True),
        ("agency=DISKOMINFO", True),
        ("agency=DINKES", False),
    ],
)
def test_queue_filters(browser, kominfo_case: int, query: str, listed: bool) -> None:
    page = browser("admin").get(f"/ui/cases?{query}")
    assert page.status_code == 200
    assert (f'href="/ui/cases/{kominfo_case}"' in page.text) == listed


def test_the_queue_pages_through_every_case_and_counts_them(
    client: TestClient, world: World, browser, uniform_frame: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(case_pages, "QUEUE_PAGE", 2)
    made = [
        case["id"]
        for at in ("19:00", "19:30", "20:00", "20:30", "21:00")
        for case in post_frame(client, world, uniform_frame, handle="budi.lmj", at=at).json()["cases"]
    ]
    user = browser("rev.kominfo")
    pages = [user.get(f"/ui/cases?rule=R2&page={number}").text for number in (1, 2, 3)]
    listed = [{case for case in made if f'href="/ui/cases/{case}"' in page} for page in pages]
    newest_first = made[::-1]
    assert listed == [set(newest_first[:2]), set(newest_first[2:4]), set(newest_first[4:])]
    assert '<span class="count">5</span>' in pages[0] and "Halaman 1 dari 3" in pages[0]
    assert (
        'rel="next" href="/ui/cases?rule=R2&amp;order=newest&amp;page=2"' in pages[0]
        and 'rel="prev"' not in pages[0]
    )
    assert 'rel="prev"' in pages[2] and 'rel="next"' not in pages[2]
    # Unviewed is filtered before paging: the cases viewed drop out and the count follows.
    user.post("/ui/cases/viewed", {"case_id": [str(c) for c in made[2:]]}, page="/ui/cases")
    first = user.get("/ui/cases?rule=R2&unviewed=1").text
    assert '<span class="count">2</span>' in first and "Halaman" not in first
    assert all(f'href="/ui/cases/{case}"' in first for case in made[:2])


def test_next_case_looks_through_the_whole_queue(
    client: TestClient, world: World, browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(case_pages, "QUEUE_PAGE", 2)
    start = datetime(2026, 4, 1, 19, 0, tzinfo=WIB)
    states = [CaseState.OPEN, CaseState.OPEN, CaseState.CONFIRMED, CaseState.CONFIRMED]  # oldest first
    with client.app.state.service.sessions() as session:
        made = [
            Case(
                rule=CaseRule.R1,
                state=state,
                agency_id=world.agencies["DISKOMINFO"],
                start_at=start + timedelta(hours=hours),
                end_at=start + timedelta(hours=hours),
                policy_version="test",
            )
            for hours, state in enumerate(states)
        ]
        session.add_all(made)
        session.commit()
        oldest, older = made[0].id, made[1].id
    user = browser("rev.kominfo")
    user.get(f"/ui/cases/{older}")
    # Newest first: two confirmed cases fill the first page, then the one viewed, then the one not yet.
    assert user.get("/ui/cases/next").headers["location"].startswith(f"/ui/cases/{oldest}?")
    user.get(f"/ui/cases/{oldest}")
    assert user.get("/ui/cases/next?page=2").headers["location"].startswith(f"/ui/cases/{older}?")
    for case_id in (oldest, older):
        page = f"/ui/cases/{case_id}"
        assert user.post(f"{page}/decisions", {"kind": "confirm"}, page=page).status_code == 303
    assert "done=1" in user.get("/ui/cases/next").headers["location"]


@pytest.mark.parametrize(
    "query",
    [
        "rule=R9",
        "from=yesterday",
        "order=random",
        "person=abc",
        "agency=NOPE",
        "page=two",
        "page=²",
        "person=²",
        "page=99999999999999999999",
        "from=0001-01-01",
        "to=9999-12-31",
    ],
)
def test_bad_filters_are_clear_4xx_pages(browser, query: str) -> None:
    response = browser("admin").get(f"/ui/cases?{query}")
    assert response.status_code in (404, 422) and "<html" in response.text


def test_decisions_are_appended_and_revise_the_state(client: TestClient, browser, kominfo_case: int) -> None:
    user = browser("rev.kominfo")
    url, page = f"/ui/cases/{kominfo_case}/decisions", f"/ui/cases/{kominfo_case}"
    assert user.post(url, {"kind": "dismiss"}, page=page).status_code == 422  # no reason
    assert (
        user.post(
            url, {"kind": "dismiss", "reason": "exempt_duty", "note": "surat tugas"}, page=page
        ).status_code
        == 303
    )
    assert _case(client, kominfo_case).state == "dismissed"
    assert (
        user.post(url, {"kind": "confirm", "note": "no surat tugas after all"}, page=page).status_code == 303
    )
    assert _case(client, kominfo_case).state == "confirmed"
    with client.app.state.service.sessions() as session:
        history = session.scalars(select(CaseDecision).order_by(CaseDecision.id)).all()
        assert [(d.kind, d.reason) for d in history] == [("dismiss", "exempt_duty"), ("confirm", None)]
        history[0].note = "rewritten"
        with pytest.raises(AuditLogIsAppendOnlyError):
            session.flush()
    history = user.get(page).text.split('id="history"')[1].split("</section>")[0]
    assert history.index("Sedang tugas dinas") < history.index("no surat tugas after all")


def test_detection_feedback_is_recorded(client: TestClient, browser, kominfo_case: int) -> None:
    user = browser("rev.kominfo")
    url, page = f"/ui/cases/{kominfo_case}/feedback", f"/ui/cases/{kominfo_case}"
    wrong = {"evidence_n": "1", "kind": "wrong_class", "detection_index": "0", "class_name": "korpri_batik"}
    missed = {"evidence_n": "1", "kind": "false_negative", "class_name": "name_plate", "box": "10,20,60,45"}
    assert user.post(url, wrong, page=page).status_code == 303
    assert user.post(url, missed, page=page).status_code == 303
    assert user.post(url, {**missed, "box": "1,2"}, page=page).status_code == 422
    assert user.post(url, {**wrong, "class_name": "tuxedo"}, page=page).status_code == 422
    assert user.post(url, {**wrong, "detection_index": "99"}, page=page).status_code == 422
    with client.app.state.service.sessions() as session:
        kinds = session.scalars(select(DetectionFeedback.kind).order_by(DetectionFeedback.id)).all()
    assert kinds == ["wrong_class", "false_negative"]


def test_registry_text_is_escaped(client: TestClient, browser, kominfo_case: int) -> None:
    with client.app.state.service.sessions() as session:
        session.scalars(select(Person)).first().name = "<script>alert(1)</script>"
        session.commit()
    page = browser("rev.kominfo").get(f"/ui/cases/{kominfo_case}").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
