"""Agency isolation in the web UI: a reviewer of another agency gets a 404 for every route that returns a
case, its evidence or its audit entries, exactly as for a case that does not exist."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.db import Case, CaseDecision, CaseView, DetectionFeedback

CASE_GETS = [
    "/ui/cases/{id}",
    "/ui/cases/{id}/evidence/1.jpg",
    "/ui/cases/{id}/evidence/1.jpg?original=1",
    "/ui/cases/{id}/evidence/1.jpg?blur=1",
    "/ui/cases/{id}/audit",
]
CASE_POSTS = [
    ("/ui/cases/{id}/decisions", {"kind": "dismiss", "reason": "other"}),
    ("/ui/cases/{id}/decisions", {"kind": "comment", "note": "seen"}),
    ("/ui/cases/{id}/feedback", {"evidence_n": "1", "kind": "false_positive", "detection_index": "0"}),
    ("/ui/cases/viewed", {"case_id": "{id}"}),
]


@pytest.mark.parametrize("url", CASE_GETS)
@pytest.mark.parametrize(("username", "status"), [("rev.kominfo", 200), ("admin", 200), ("rev.dinkes", 404)])
def test_case_pages_and_evidence_of_another_agency_are_not_found(
    browser, kominfo_case: int, url: str, username: str, status: int
) -> None:
    response = browser(username).get(url.format(id=kominfo_case))
    assert response.status_code == status
    if status == 404:
        assert "Budi" not in response.text and "budi.lmj" not in response.text


@pytest.mark.parametrize(("url", "data"), CASE_POSTS)
def test_another_agency_cannot_act_on_a_case(
    client: TestClient, browser, kominfo_case: int, url: str, data: dict
) -> None:
    data = {k: v.format(id=kominfo_case) for k, v in data.items()}
    outsider = browser("rev.dinkes")
    assert outsider.post(url.format(id=kominfo_case), data, page="/ui/cases").status_code == 404
    with client.app.state.service.sessions() as session:  # nothing was decided, corrected or marked
        assert session.get_one(Case, kominfo_case).state == "open"
        for model in (CaseDecision, CaseView, DetectionFeedback):
            assert session.scalar(select(func.count()).select_from(model)) == 0


def test_a_foreign_case_looks_like_a_missing_one(browser, kominfo_case: int) -> None:
    outsider = browser("rev.dinkes")

    def detail(case_id: int) -> str:
        page = outsider.get(f"/ui/cases/{case_id}").text
        return page.split('class="error-detail">')[1].split("</p>")[0].replace(f"case {case_id}", "case N")

    assert detail(kominfo_case) == detail(999999)


def test_the_queue_next_case_and_reports_hold_only_own_agencies(browser, kominfo_case: int) -> None:
    outsider = browser("rev.dinkes")
    assert f"/ui/cases/{kominfo_case}" not in outsider.get("/ui/cases").text
    assert "done=1" in outsider.get("/ui/cases/next").headers["location"]
    assert outsider.get("/ui/reports?agency=DISKOMINFO&month=2026-04").status_code == 404
    assert outsider.get("/ui/reports.csv?agency=DISKOMINFO&month=2026-04").status_code == 404
    assert (
        browser("rev.kominfo")
        .get("/ui/cases/next")
        .headers["location"]
        .startswith(f"/ui/cases/{kominfo_case}?")
    )


@pytest.mark.parametrize("username", ["rev.kominfo", "rev.dinkes", "desk"])
def test_the_audit_log_is_for_registry_wide_administrators(browser, kominfo_case: int, username: str) -> None:
    assert browser(username).get("/ui/audit").status_code == 403
    browser("rev.kominfo").get(f"/ui/cases/{kominfo_case}")
    assert f"case:{kominfo_case}" in browser("admin").get("/ui/audit").text


@pytest.mark.parametrize("url", ["/ui/registry/agencies", "/ui/registry/users", "/ui/registry/import"])
@pytest.mark.parametrize("username", ["rev.kominfo", "desk"])
def test_registry_pages_are_for_registry_wide_administrators(browser, url: str, username: str) -> None:
    assert browser(username).get(url).status_code == 403


def test_uploaders_do_not_review_and_reviewers_do_not_upload(browser, kominfo_case: int) -> None:
    assert browser("desk").get(f"/ui/cases/{kominfo_case}").status_code == 403
    assert browser("desk").get("/ui/cases").status_code == 403
    assert browser("rev.kominfo").get("/ui/upload").status_code == 403
