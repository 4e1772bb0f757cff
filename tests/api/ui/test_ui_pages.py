"""Uploads, clip job progress, registry pages with the CSV import preview, monthly reports."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.db.models import AuditEntry
from api.registry import (
    agency_on,
    find_account,
    get_agency_by_code,
    get_person_by_nip,
    list_agencies,
    list_assignments,
    owner_on,
    update_account,
    update_person,
)
from api.ui.web import API_DIR, CONTENT_SECURITY_POLICY, INLINE_SCRIPTS, INLINE_STYLES
from api.users import create_user, get_user
from tests.api.factories import BUDI_NIP, CLIP_START, SARI_NIP, TUESDAY
from tests.api.ui.conftest import PASSWORD


def _upload(
    user,
    data: bytes,
    kind: str,
    content_type: str,
    at: str,
    tz: str = "Asia/Jakarta",
    handle: str = "budi.lmj",
):
    form = {"kind": kind, "platform": "tiktok", "handle": handle, "started_at": at, "tz": tz}
    files = {"file": ("upload", data, content_type)}
    return user.client.post(
        "/ui/upload",
        data={"csrf_token": user.csrf("/ui/upload"), **form},
        files=files,
        follow_redirects=False,
    )


def test_a_frame_upload_shows_the_result_and_its_case_linked_for_who_may_review_it(
    client: TestClient, browser, uniform_frame: bytes
) -> None:
    """An uploader cannot open cases, nor can an administrator of another agency (the link would answer
    404): the case id is text for them, a link for an administrator of the case's agency."""
    with client.app.state.service.sessions() as session:
        dinkes = get_agency_by_code(session, "DINKES").id
        create_user(
            session, username="admin.dinkes", password=PASSWORD, role="administrator", agency_id=dinkes
        )
        session.commit()
    at = f"{TUESDAY}T19:00:00"
    for username in ("desk", "admin.dinkes"):
        response = _upload(browser(username), uniform_frame, "frame", "image/jpeg", at)
        assert response.status_code == 200 and "pdh_khaki" in response.text
        assert re.search(r"<li>Kasus \d+ · R2</li>", response.text) and "/ui/cases/" not in response.text
    response = _upload(browser("admin"), uniform_frame, "frame", "image/jpeg", at)
    assert re.search(r'href="/ui/cases/\d+"', response.text)


def test_a_clip_upload_goes_to_its_progress_page_until_done(browser, uniform_clip: bytes) -> None:
    user = browser("desk")
    naive_start = CLIP_START.removesuffix("+07:00")
    response = _upload(user, uniform_clip, "clip", "video/mp4", naive_start)
    assert response.status_code == 303 and response.headers["location"].startswith("/ui/jobs/")
    job_url = response.headers["location"]
    assert 'class="progress"' in user.get(job_url).text
    deadline = time.monotonic() + 90
    while (job := user.get(f"{job_url}/progress").json())["state"] not in ("done", "failed"):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    assert job["state"] == "done" and job["result"]["case_ids"]
    case_id = job["result"]["case_ids"][0]
    page = user.get(job_url).text  # an uploader cannot open cases: their ids as text
    assert f'<span class="tag">Kasus {case_id}</span>' in page and "/ui/cases/" not in page
    assert job["linked_case_ids"] == []  # what app.js links once the job is done
    admin = browser("admin")  # administrators see every job and open its cases
    assert admin.get(f"{job_url}/progress").json()["linked_case_ids"] == job["result"]["case_ids"]
    assert f'href="/ui/cases/{case_id}"' in admin.get(job_url).text


@pytest.mark.parametrize(
    ("at", "tz", "message"),
    [
        ("yesterday", "Asia/Jakarta", "ISO 8601"),
        (f"{TUESDAY}T19:00", "Mars/Base", "IANA"),
        ("2099-01-01T10:00", "UTC", "future"),
    ],
)
def test_bad_upload_times_are_clear_422_pages(
    browser, uniform_frame: bytes, at: str, tz: str, message: str
) -> None:
    response = _upload(browser("desk"), uniform_frame, "frame", "image/jpeg", at, tz)
    assert response.status_code == 422 and message in response.text


def test_wrong_file_types_are_refused(browser) -> None:
    response = _upload(browser("desk"), b"%PDF-1.4", "clip", "application/pdf", f"{TUESDAY}T19:00:00")
    assert response.status_code == 415


def test_an_upload_over_the_size_limit_is_a_413_page(client: TestClient, browser) -> None:
    """A body whose Content-Length (which browsers send) is over the limit was refused with JSON."""
    user = browser("desk")
    over_the_limit = client.app.state.service.settings.max_clip_bytes * 2
    response = user.client.post(
        "/ui/upload",
        content=b"never read",
        headers={"Content-Type": "multipart/form-data; boundary=b", "Content-Length": str(over_the_limit)},
    )
    assert response.status_code == 413 and response.headers["content-type"].startswith("text/html")
    assert 'class="error-detail">the upload is larger than the limit' in response.text


def test_another_uploaders_job_is_not_found(client: TestClient, browser, uniform_clip: bytes) -> None:
    with client.app.state.service.sessions() as session:
        create_user(session, username="desk2", password=PASSWORD, role="uploader")
        session.commit()
    job_url = _upload(browser("desk"), uniform_clip, "clip", "video/mp4", CLIP_START).headers["location"]
    assert browser("desk2").get(job_url).status_code == 404
    assert browser("desk2").get(f"{job_url}/progress").status_code == 404
    assert browser("rev.kominfo").get(job_url).status_code == 403  # reviewers do not upload


def test_registry_pages_add_and_delete_entries(browser) -> None:
    admin = browser("admin")
    page = "/ui/registry/agencies"
    assert admin.post(page, {"code": "DISHUB", "name": "Dinas Perhubungan"}, page=page).status_code == 303
    row = next(r for r in admin.get(page).text.split("<tr>") if "DISHUB" in r)
    duplicate = admin.post(page, {"code": "DISHUB", "name": "Again"}, page=page)
    assert duplicate.status_code == 409 and "already exists" in duplicate.text
    assert admin.post("/ui/registry/agencies/1/delete", page=page).status_code == 409  # SETDA has DISKOMINFO
    delete_url = re.search(r'action="(/ui/registry/agencies/\d+/delete)"', row).group(1)
    assert admin.post(delete_url, page=page).status_code == 303
    assert "DISHUB" not in admin.get(page).text
    agency = delete_url.split("/")[-2]
    for action in ("create", "delete"):  # worded as the API's entries (api.registry.audit_entries)
        assert f"agencies:{agency}" in admin.get(f"/ui/audit?action={action}").text


def test_registry_pages_name_past_agencies_and_owners(client: TestClient, browser) -> None:
    with client.app.state.service.sessions() as session:
        budi, sari = get_person_by_nip(session, BUDI_NIP), get_person_by_nip(session, SARI_NIP)
        dinkes = get_agency_by_code(session, "DINKES").id
        update_person(session, budi.id, agency_id=dinkes, moved_on=date(2026, 4, 20))
        account = find_account(session, "tiktok", "budi.lmj")
        update_account(session, account.id, person_id=sari.id, handed_over_on=date(2026, 5, 4))
        session.commit()
    admin = browser("admin")
    person = next(r for r in admin.get("/ui/registry/people").text.split("<tr>") if BUDI_NIP in r)
    assert "DINKES" in person and "dari DISKOMINFO, pindah 2026-04-20" in person
    row = next(r for r in admin.get("/ui/registry/accounts").text.split("<tr>") if "budi.lmj" in r)
    assert "Sari Dewi" in row and "sebelumnya Budi Santoso, diserahkan 2026-05-04" in row


def _edit_url(admin, section: str, text: str) -> str:
    row = next(r for r in admin.get(f"/ui/registry/{section}").text.split("<tr>") if text in r)
    return re.search(rf'href="(/ui/registry/{section}/\d+)"', row).group(1)


def _people(client: TestClient):
    with client.app.state.service.sessions() as session:
        budi, sari = get_person_by_nip(session, BUDI_NIP), get_person_by_nip(session, SARI_NIP)
        return budi, sari, {a.code: a.id for a in list_agencies(session)}


def test_a_person_is_corrected_or_moved_on_their_edit_page(client: TestClient, browser) -> None:
    admin = browser("admin")
    url = _edit_url(admin, "people", BUDI_NIP)
    budi, _, agencies = _people(client)
    page = admin.get(url).text
    assert f'value="{BUDI_NIP}"' in page and 'value="Budi Santoso"' in page
    assert f'<option value="{agencies["DISKOMINFO"]}" selected>' in page
    form = {"nip": BUDI_NIP, "name": "Budi Santoso, S.Kom.", "agency_id": agencies["DISKOMINFO"]}
    assert admin.post(url, form, page=url).status_code == 303  # a correction: no past
    same_agency = admin.post(url, {**form, "moved_on": "2026-04-20"}, page=url)
    assert same_agency.status_code == 422 and "a move needs the agency moved to" in same_agency.text
    moved = {**form, "agency_id": agencies["DINKES"], "moved_on": "2026-04-20"}
    assert admin.post(url, moved, page=url).status_code == 303
    again = admin.post(url, {**moved, "agency_id": agencies["SETDA"]}, page=url)
    assert again.status_code == 422 and "not after the last one recorded (2026-04-20)" in again.text
    with client.app.state.service.sessions() as session:
        person = get_person_by_nip(session, BUDI_NIP)
        assert person.name == "Budi Santoso, S.Kom." and person.agency.code == "DINKES"
        assert [(p.agency.code, p.until) for p in person.past_postings] == [("DISKOMINFO", date(2026, 4, 20))]
        assert agency_on(person, date(2026, 4, 19)).code == "DISKOMINFO"
        assert agency_on(person, date(2026, 4, 20)).code == "DINKES"
    assert "dari DISKOMINFO, pindah 2026-04-20" in admin.get(url).text
    audit = admin.get("/ui/audit?action=update").text
    assert f"people:{budi.id}" in audit and "moved_on" in audit
    with client.app.state.service.sessions() as session:  # the form gives every field; entries name changes
        entries = session.scalars(select(AuditEntry).where(AuditEntry.target == f"people:{budi.id}"))
        assert [e.detail for e in entries] == [{"fields": ["name"]}, {"fields": ["agency_id", "moved_on"]}]


def test_an_account_is_handed_over_or_made_official_on_its_edit_page(client: TestClient, browser) -> None:
    admin = browser("admin")
    url = _edit_url(admin, "accounts", "budi.lmj")
    budi, sari, agencies = _people(client)
    page = admin.get(url).text
    assert 'value="budi.lmj"' in page and f'<option value="{budi.id}" selected>' in page
    assert 'name="is_official" value="true" >' in page  # not ticked
    form = {"platform": "tiktok", "handle": "budi.lmj", "person_id": sari.id, "handed_over_on": "2026-05-04"}
    assert admin.post(url, form, page=url).status_code == 303
    row = next(r for r in admin.get("/ui/registry/accounts").text.split("<tr>") if "budi.lmj" in r)
    assert "Sari Dewi" in row and "sebelumnya Budi Santoso, diserahkan 2026-05-04" in row
    unnamed = admin.post(url, {**form, "handed_over_on": "", "is_official": "true"}, page=url)
    assert unnamed.status_code == 422 and "must name the agency it speaks for" in unnamed.text
    official = {**form, "handed_over_on": "", "is_official": "true", "agency_id": agencies["DINKES"]}
    assert admin.post(url, official, page=url).status_code == 303
    with client.app.state.service.sessions() as session:
        account = find_account(session, "tiktok", "budi.lmj")
        assert account.is_official and account.agency.code == "DINKES" and account.owner.nip == SARI_NIP
        assert owner_on(account, date(2026, 5, 3)).nip == BUDI_NIP and len(account.past_owners) == 1
    assert 'name="is_official" value="true" checked>' in admin.get(url).text
    became = {**official, "agency_id": agencies["DISKOMINFO"], "status_changed_on": "2026-06-01"}
    assert admin.post(url, became, page=url).status_code == 303
    row = next(r for r in admin.get("/ui/registry/accounts").text.split("<tr>") if "budi.lmj" in r)
    assert "resmi · DISKOMINFO" in row and "resmi · DINKES sampai 2026-06-01" in row
    with client.app.state.service.sessions() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "update"))
        assert [e.detail["fields"] for e in entries][-1] == ["agency_id", "status_changed_on"]


def test_an_agency_is_renamed_and_never_its_own_parent(client: TestClient, browser) -> None:
    admin = browser("admin")
    url = _edit_url(admin, "agencies", "DINKES")
    agency_id = int(url.rsplit("/", 1)[1])
    page = admin.get(url).text
    assert 'value="DINKES"' in page and f'<option value="{agency_id}"' not in page
    _, _, agencies = _people(client)
    form = {"code": "dinkes-p2kb", "name": "Dinas Kesehatan, P2KB", "parent_id": agencies["SETDA"]}
    assert admin.post(url, form, page=url).status_code == 303
    row = next(r for r in admin.get("/ui/registry/agencies").text.split("<tr>") if "DINKES-P2KB" in r)
    assert "Dinas Kesehatan, P2KB" in row and "SETDA" in row
    bad = admin.post(url, {**form, "parent_id": "x"}, page=url)
    assert bad.status_code == 422 and "choose one from the list" in bad.text


def test_a_schedule_is_changed_on_its_edit_page(client: TestClient, browser) -> None:
    admin, page = browser("admin"), "/ui/registry/schedules"
    definition = "mon-thu: {work: ['08:00-15:00'], breaks: []}\nfri: {work: ['07:00-11:00'], breaks: []}"
    _, _, agencies = _people(client)
    form = {"name": "Ramadan", "definition": definition, "valid_from": "2026-02-19"}
    assert admin.post(page, {**form, "agency_id": agencies["DINKES"]}, page=page).status_code == 303
    url = _edit_url(admin, "schedules", "Ramadan")
    edit = admin.get(url).text
    assert "DINKES" in edit and 'value="2026-02-19"' in edit and "08:00-15:00" in edit
    assert 'name="valid_to" value=""' in edit  # open-ended
    ended = {**form, "name": "Ramadan 1447 H", "valid_to": "2026-03-20"}
    assert admin.post(url, ended, page=url).status_code == 303
    row = next(r for r in admin.get(page).text.split("<tr>") if "Ramadan 1447 H" in r)
    assert "2026-02-19 \N{EN DASH} 2026-03-20" in row
    backwards = admin.post(url, {**ended, "valid_to": "2026-02-01"}, page=url)
    assert backwards.status_code == 422 and "valid_to" in backwards.text


def test_an_assignment_is_changed_on_its_edit_page_in_the_zone_given(client: TestClient, browser) -> None:
    admin, page = browser("admin"), "/ui/registry/assignments"
    budi, _, _ = _people(client)
    form = {"kind": "assignment", "starts_at": f"{TUESDAY}T18:00", "ends_at": f"{TUESDAY}T21:00:30"}
    added = {**form, "person_id": budi.id, "reference": "800/7/2026"}
    assert admin.post(page, added, page=page).status_code == 303
    url = _edit_url(admin, "assignments", "800/7/2026")
    edit = admin.get(url).text
    assert "Budi Santoso" in edit and 'name="person_id"' not in edit  # stays Budi's
    assert f'value="{TUESDAY}T18:00"' in edit and f'value="{TUESDAY}T21:00:30"' in edit  # WIB, as entered
    assert '<option value="assignment" selected>' in edit and 'value="800/7/2026"' in edit
    later = {"kind": "leave", "starts_at": f"{TUESDAY}T12:00", "ends_at": f"{TUESDAY}T15:00", "tz": "UTC"}
    assert admin.post(url, later, page=url).status_code == 303
    with client.app.state.service.sessions() as session:
        (assignment,) = list_assignments(session, person_id=budi.id)
        assert assignment.kind == "leave" and assignment.reference is None
        assert assignment.starts_at == datetime(2026, 4, 14, 12, tzinfo=UTC)
        assert assignment.ends_at == datetime(2026, 4, 14, 15, tzinfo=UTC)
    assert f'value="{TUESDAY}T19:00"' in admin.get(url).text  # 12:00 UTC is 19:00 WIB
    backwards = admin.post(url, {**later, "ends_at": f"{TUESDAY}T11:00"}, page=url)
    assert backwards.status_code == 422 and "ends_at" in backwards.text


@pytest.mark.parametrize(
    "url", ["/ui/registry/people/999999", "/ui/registry/assignments/999999", "/ui/registry/users/1"]
)
def test_only_existing_registry_entries_have_an_edit_page(browser, url: str) -> None:
    assert browser("admin").get(url).status_code == 404


def test_a_reviewer_cannot_edit_the_registry(client: TestClient, browser) -> None:
    budi, _, agencies = _people(client)
    url = f"/ui/registry/people/{budi.id}"
    reviewer = browser("rev.kominfo")
    assert reviewer.get(url).status_code == 403
    form = {"nip": BUDI_NIP, "name": "Someone Else", "agency_id": agencies["DISKOMINFO"]}
    assert reviewer.post(url, form, page="/ui/cases").status_code == 403
    assert _people(client)[0].name == "Budi Santoso"


@pytest.mark.parametrize("section", ["agencies", "people", "accounts", "schedules", "assignments", "users"])
def test_every_registry_section_renders(browser, section: str) -> None:
    response = browser("admin").get(f"/ui/registry/{section}")
    assert response.status_code == 200 and 'name="csrf_token"' in response.text


def test_assignments_and_users_can_be_added(browser) -> None:
    admin = browser("admin")
    page = "/ui/registry/assignments"
    people = re.findall(r'<option value="(\d+)">Budi Santoso</option>', admin.get(page).text)
    form = {
        "person_id": people[0],
        "kind": "assignment",
        "starts_at": f"{TUESDAY}T18:00",
        "ends_at": f"{TUESDAY}T21:00",
        "tz": "Asia/Jakarta",
        "reference": "800/1/2026",
    }
    assert admin.post(page, form, page=page).status_code == 303
    assert "800/1/2026" in admin.get(page).text
    users = "/ui/registry/users"
    short = admin.post(users, {"username": "new.one", "password": "short", "role": "reviewer"}, page=users)
    assert short.status_code == 422 and "10 characters" in short.text
    assert (
        admin.post(
            users, {"username": "new.one", "password": "long enough pw", "role": "reviewer"}, page=users
        ).status_code
        == 303
    )
    assert browser(None).sign_in("new.one", "long enough pw").status_code == 303


def test_a_removed_user_is_signed_out_everywhere_and_the_last_administrator_stays(browser) -> None:
    admin, leaver = browser("admin"), browser("rev.kominfo")
    users = "/ui/registry/users"
    assert leaver.get("/ui/cases").status_code == 200
    assert 'action="/ui/registry/users/rev.kominfo/delete"' in admin.get(users).text
    assert admin.post("/ui/registry/users/rev.kominfo/delete", page=users).status_code == 303
    assert leaver.get("/ui/cases").headers["location"].startswith("/ui/sign-in")
    assert browser(None).sign_in("rev.kominfo").status_code != 303
    assert "rev.kominfo" in admin.get("/ui/audit?action=delete_user").text
    assert admin.post("/ui/registry/users/nobody/delete", page=users).status_code == 404
    last = admin.post("/ui/registry/users/admin/delete", page=users)
    assert last.status_code == 409 and "last administrator" in last.text
    assert admin.get("/ui/cases").status_code == 200


def test_an_administrator_changes_a_users_role_scope_and_password(client: TestClient, browser) -> None:
    admin, leaver = browser("admin"), browser("rev.kominfo")
    url = "/ui/registry/users/rev.kominfo"
    assert f'href="{url}"' in admin.get("/ui/registry/users").text
    page = admin.get(url).text
    assert '<option value="reviewer" selected>' in page and 'name="username"' not in page
    _, _, agencies = _people(client)
    form = {"role": "reviewer", "display_name": "Rina (Dinkes)", "agency_id": agencies["DINKES"]}
    assert admin.post(url, form, page=url).status_code == 303
    assert leaver.get("/ui/cases").status_code == 200  # still signed in, now DINKES's reviewer
    with client.app.state.service.sessions() as session:
        user = get_user(session, "rev.kominfo")
        assert user.agency.code == "DINKES" and user.display_name == "Rina (Dinkes)"
    short = admin.post(url, {**form, "role": "uploader", "password": "short"}, page=url)
    assert short.status_code == 422 and "use at least 10 characters" in short.text
    assert leaver.get("/ui/cases").status_code == 200  # the refused edit changed nothing: still a reviewer
    assert admin.post(url, {**form, "password": "a new long password"}, page=url).status_code == 303
    assert leaver.get("/ui/cases").headers["location"].startswith("/ui/sign-in")
    assert browser(None).sign_in("rev.kominfo", "a new long password").status_code == 303
    assert "rev.kominfo" in admin.get("/ui/audit?action=update_user").text
    assert "rev.kominfo" in admin.get("/ui/audit?action=set_password").text
    assert admin.get("/ui/registry/users/nobody").status_code == 404


def test_the_last_administrator_keeps_the_role_and_an_own_new_password_keeps_the_session(browser) -> None:
    admin = browser("admin")
    url = "/ui/registry/users/admin"
    demoted = admin.post(url, {"role": "reviewer"}, page=url)
    assert demoted.status_code == 409 and "last administrator" in demoted.text
    own = admin.post(url, {"role": "administrator", "password": "another long password"}, page=url)
    assert own.status_code == 303 and admin.get("/ui/registry/users").status_code == 200
    assert browser(None).sign_in("admin", "another long password").status_code == 303


CSV_OK = (
    "type,code,name,parent_code,nip,agency_code,platform,handle,owner_nip,is_official\n"
    "agency,DISHUB,Dinas Perhubungan,,,,,,,\n"
)
CSV_BAD = CSV_OK + "person,,Nobody,,123,DISHUB,,,,\n"


@pytest.mark.parametrize(
    ("csv", "preview", "status", "text"),
    [
        (CSV_OK, "true", 200, "Pratinjau lolos"),
        (CSV_BAD, "true", 422, "row 3"),
        (CSV_BAD, "false", 422, "tidak ada yang diimpor"),
        (CSV_OK, "false", 200, "Diimpor: 1"),
    ],
)
def test_csv_import_previews_errors_by_row(browser, csv: str, preview: str, status: int, text: str) -> None:
    admin = browser("admin")
    response = admin.client.post(
        "/ui/registry/import",
        data={"csrf_token": admin.csrf("/ui/registry/import"), "preview": preview},
        files={"file": ("registry.csv", csv.encode(), "text/csv")},
    )
    assert response.status_code == status
    assert text in response.text or text.replace("row 3", "3") in response.text
    imported = "DISHUB" in admin.get("/ui/registry/agencies").text
    assert imported == (csv == CSV_OK and preview == "false")


def test_monthly_report_counts_cases_and_exports_csv(client: TestClient, browser, kominfo_case: int) -> None:
    reviewer = browser("rev.kominfo")
    reviewer.post(
        f"/ui/cases/{kominfo_case}/decisions", {"kind": "dismiss", "reason": "not_asn"}, page="/ui/cases"
    )
    page = reviewer.get("/ui/reports?agency=DISKOMINFO&month=2026-04")
    assert page.status_code == 200 and "Median" in page.text
    csv = reviewer.get("/ui/reports.csv?agency=DISKOMINFO&month=2026-04")
    assert csv.headers["content-type"].startswith("text/csv")
    assert "DISKOMINFO,2026-04,R2,dismissed,1" in csv.text and "DISKOMINFO,2026-04,all,decided,1" in csv.text
    assert (
        "DISKOMINFO,2026-05,R2,dismissed,0"
        in reviewer.get("/ui/reports.csv?agency=DISKOMINFO&month=2026-05").text
    )
    padded = reviewer.get("/ui/reports.csv?agency=DISKOMINFO&month=%E2%80%A82026-04%E3%80%80")  # spaces
    assert padded.status_code == 200, padded.text
    assert padded.headers["content-disposition"] == 'attachment; filename="seragam-DISKOMINFO-2026-04.csv"'
    for month in ("April", "0001-01", "9999-12"):
        assert reviewer.get(f"/ui/reports?agency=DISKOMINFO&month={month}").status_code == 422
    assert "export_report" in browser("admin").get("/ui/audit?action=export_report").text


def test_pages_carry_a_content_security_policy(browser) -> None:
    for page in (browser(None).get("/ui/sign-in"), browser("admin").get("/ui/cases")):
        assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert CONTENT_SECURITY_POLICY.startswith("default-src 'self';")


def test_the_policy_allows_every_inline_script_and_style_the_templates_carry() -> None:
    """The policy allows inline code by its hash: a template's handler or style attribute that is not
    listed would silently stop working in the browser."""
    templates = "".join(path.read_text() for path in (API_DIR / "templates").glob("*.html"))
    handlers = re.findall(r'\son[a-z]+="([^"]*)"', templates)
    links = re.findall(r'href="(javascript:[^"]*)"', templates)
    styles = re.findall(r'\sstyle="([^"]*)"', templates)
    assert handlers and set(handlers + links) == set(INLINE_SCRIPTS)
    assert set(styles) == set(INLINE_STYLES)
    assert not re.search(r"<script(?![^>]*\ssrc=)|<style", templates)
