"""Retention and deletion: expired uploads without cases and the evidence of long-dismissed cases are
purged, a deletion request removes an upload and everything about it, and each deletion is audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from api.cli import main
from api.config import Settings
from api.db import AuditEntry, Case, CaseDecision, CaseState, Evidence, FrameScore, Job, JobState, Upload
from api.db.models import DecisionKind, DismissReason
from api.frames import FrameResult, FrameUpload, score_frame
from api.retention import Deleted, delete_upload, purge_expired
from tests.api.factories import TUESDAY, World, competing, post_clip, post_frame, wait_for_job, wib

NOW = datetime.now(UTC)


def _age(client: TestClient, sha256: str, days: int) -> None:
    with client.app.state.service.sessions() as session:
        session.execute(
            update(Upload).where(Upload.sha256 == sha256).values(created_at=NOW - timedelta(days=days))
        )
        session.commit()


def _purge(client: TestClient) -> Deleted:
    state = client.app.state.service
    with state.sessions() as session:
        deleted = purge_expired(session, state.store, now=NOW, unflagged_days=30, dismissed_days=90)
        session.commit()
    return deleted


def test_uploads_without_cases_are_deleted_after_their_retention_period(
    client: TestClient, world: World, uniform_frame: bytes, plain_frame: bytes
) -> None:
    store = client.app.state.service.store
    unflagged = post_frame(client, world, plain_frame, handle="nobody.registered", at="19:00").json()
    flagged = post_frame(client, world, uniform_frame, handle="budi.lmj", at="19:00").json()
    assert unflagged["cases"] == [] and [c["rule"] for c in flagged["cases"]] == ["R2"]
    assert _purge(client) == Deleted()  # nothing is old enough yet

    for sha256 in (unflagged["upload_sha256"], flagged["upload_sha256"]):
        _age(client, sha256, days=31)
    assert _purge(client) == Deleted(uploads=1, frame_scores=1, files=1)
    with client.app.state.service.sessions() as session:
        assert [u.sha256 for u in session.query(Upload)] == [flagged["upload_sha256"]]
        assert session.query(FrameScore).filter_by(upload_sha256=unflagged["upload_sha256"]).count() == 0
        (entry,) = session.query(AuditEntry).filter_by(action="retention_purge")
        assert entry.detail["uploads"] == 1 and entry.detail["unflagged_days"] == 30
    assert not list(store.root.rglob(f"{unflagged['upload_sha256']}*"))
    assert list(store.root.rglob(f"{flagged['upload_sha256']}*"))


def _send_again(client: TestClient, session: Session, frame: bytes, *, handle: str, at: str) -> FrameResult:
    """The frame sent again as ``/v1/frames`` does, in ``session``: flushed, not committed."""
    state = client.app.state.service
    again = FrameUpload(frame, "tiktok", handle, wib(f"{TUESDAY} {at}"))
    return score_frame(session, state.store, state.scoring, again, max_pixels=state.settings.max_image_pixels)


def _dismiss_long_ago(client: TestClient, case_id: int) -> None:
    with client.app.state.service.sessions() as session:
        session.add(
            CaseDecision(
                case_id=case_id,
                kind=DecisionKind.DISMISS,
                reason=DismissReason.FALSE_POSITIVE,
                actor="reviewer",
                at=NOW - timedelta(days=91),
            )
        )
        session.execute(update(Case).where(Case.id == case_id).values(state=CaseState.DISMISSED))
        session.commit()


def test_evidence_of_a_case_dismissed_long_ago_is_deleted_and_the_decision_kept(
    client: TestClient, world: World, uniform_frame: bytes
) -> None:
    answer = post_frame(client, world, uniform_frame, handle="budi.lmj", at="19:00").json()
    sha256, (case,) = answer["upload_sha256"], answer["cases"]
    _dismiss_long_ago(client, case["id"])
    # The uploaded JPEG is the evidence: one file; the frame's scores go with it.
    assert _purge(client) == Deleted(evidence_frames=1, frame_scores=1, files=1)
    with client.app.state.service.sessions() as session:
        assert session.get(Case, case["id"]).state == CaseState.DISMISSED
        assert session.query(CaseDecision).filter_by(case_id=case["id"]).count() == 1
        assert session.query(Evidence).count() == 0 and session.query(FrameScore).count() == 0
        assert session.get(Upload, sha256) is not None  # the hash the case names
    assert not list(client.app.state.service.store.root.rglob("*.*"))
    assert _purge(client) == Deleted()  # nothing left to do, and no new audit entry
    with client.app.state.service.sessions() as session:
        assert session.query(AuditEntry).filter_by(action="retention_purge").count() == 1


def test_a_clip_goes_once_every_case_on_it_was_dismissed_long_ago(
    client: TestClient, world: World, uniform_clip: bytes
) -> None:
    # The same clip sent twice, as two evenings' streams: two R2 cases on one upload.
    first, second = (
        wait_for_job(
            client,
            post_clip(client, world, uniform_clip, started_at=f"{day}T19:00:00+07:00").json()["id"],
            world.headers("uploader"),
        )
        for day in ("2026-04-14", "2026-04-15")
    )
    (first_case,), (second_case,) = first["result"]["case_ids"], second["result"]["case_ids"]
    store = client.app.state.service.store
    with client.app.state.service.sessions() as session:
        sha256 = session.get(Case, first_case).upload_sha256
        assert session.get(Case, second_case).upload_sha256 == sha256
    _dismiss_long_ago(client, first_case)
    # The other case is still open: the clip stays, and so does the evidence frame both cases show.
    assert _purge(client) == Deleted(evidence_frames=1)
    assert list(store.root.rglob(f"{sha256}.mp4"))
    _dismiss_long_ago(client, second_case)
    assert _purge(client) == Deleted(evidence_frames=1, frame_scores=20, files=2)
    assert not [p for p in store.root.rglob("*") if p.is_file()]
    with client.app.state.service.sessions() as session:
        assert session.query(Case).filter_by(upload_sha256=sha256).count() == 2
        assert session.get(Upload, sha256) is not None


def test_a_deletion_request_removes_the_upload_its_cases_and_their_evidence(
    client: TestClient, world: World, uniform_frame: bytes
) -> None:
    answer = post_frame(client, world, uniform_frame, handle="budi.lmj", at="19:00").json()
    sha256, (case,) = answer["upload_sha256"], answer["cases"]
    assert (
        client.delete(f"/v1/uploads/{sha256}", headers=world.headers("reviewer_kominfo")).status_code == 403
    )
    response = client.delete(f"/v1/uploads/{sha256}", headers=world.headers("admin"))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "uploads": 1,
        "cases": 1,
        "evidence_frames": 1,
        "frame_scores": 1,
        "files": 1,
        "jobs": 0,
        "jobs_stopped": 0,
    }
    assert client.get(f"/v1/cases/{case['id']}", headers=world.headers("admin")).status_code == 404
    assert not list(client.app.state.service.store.root.rglob("*.*"))
    with client.app.state.service.sessions() as session:
        (entry,) = session.query(AuditEntry).filter_by(action="deletion_request")
        assert entry.target == f"upload:{sha256}" and entry.detail["cases"] == 1
    again = client.delete(f"/v1/uploads/{sha256}", headers=world.headers("admin"))
    assert again.status_code == 404 and "upload" in again.text


def test_a_file_that_is_both_an_upload_and_an_evidence_image_stays_while_either_needs_it(
    client: TestClient, world: World, uniform_frame: bytes
) -> None:
    # A PNG frame's evidence is a JPEG the service encodes; the complaint desk sends that JPEG again as a
    # frame: the store keeps one file for both.
    png = cv2.imencode(".png", cv2.imdecode(np.frombuffer(uniform_frame, np.uint8), cv2.IMREAD_COLOR))[1]
    flagged = post_frame(
        client, world, png.tobytes(), handle="budi.lmj", at="19:00", content_type="image/png"
    )
    (case,) = flagged.json()["cases"]
    reviewer = world.headers("reviewer_kominfo")
    image = client.get(f"/v1/cases/{case['id']}/evidence/1.jpg?original=1", headers=reviewer).content
    again = post_frame(client, world, image, handle="nobody.registered", at="19:00").json()
    assert again["cases"] == []
    _age(client, again["upload_sha256"], days=31)
    # The upload without cases goes, its file stays: the case in review shows it.
    assert _purge(client) == Deleted(uploads=1, frame_scores=1)
    assert client.get(f"/v1/cases/{case['id']}/evidence/1.jpg", headers=reviewer).status_code == 200
    # The other way round: the case goes on request, the file stays for the upload that is that file.
    again = post_frame(client, world, image, handle="nobody.registered", at="19:00").json()
    deleted = client.delete(f"/v1/uploads/{flagged.json()['upload_sha256']}", headers=world.headers("admin"))
    assert deleted.json()["evidence_frames"] == 1 and deleted.json()["files"] == 1  # the PNG
    assert client.app.state.service.store.path(again["upload_sha256"], ".jpg").read_bytes() == image


def test_another_file_of_the_same_span_keeps_its_case_when_the_first_is_deleted(
    client: TestClient, world: World, uniform_frame: bytes
) -> None:
    again = cv2.imencode(
        ".jpg", cv2.imdecode(np.frombuffer(uniform_frame, np.uint8), 1), [cv2.IMWRITE_JPEG_QUALITY, 80]
    )
    first, second = (
        post_frame(client, world, data, handle="budi.lmj", at="19:00").json()
        for data in (uniform_frame, again[1].tobytes())
    )
    assert first["cases"][0]["id"] != second["cases"][0]["id"]
    assert (
        client.delete(f"/v1/uploads/{first['upload_sha256']}", headers=world.headers("admin")).json()["cases"]
        == 1
    )
    case = client.get(f"/v1/cases/{second['cases'][0]['id']}", headers=world.headers("admin"))
    assert case.status_code == 200, case.text


def test_retention_counts_from_the_last_time_the_bytes_came(
    client: TestClient, world: World, plain_frame: bytes
) -> None:
    first = post_frame(client, world, plain_frame, handle="nobody.registered", at="19:00").json()
    _age(client, first["upload_sha256"], days=31)
    post_frame(client, world, plain_frame, handle="nobody.registered", at="20:00")  # sent again today
    assert _purge(client) == Deleted()


def test_the_jobs_of_a_deleted_upload_go_with_it(
    client: TestClient, world: World, uniform_clip: bytes
) -> None:
    # Their parameters name the account and the stream start, their results the judgement.
    headers = world.headers("uploader")
    unflagged = wait_for_job(
        client, post_clip(client, world, uniform_clip, handle="nobody.registered").json()["id"], headers
    )
    with client.app.state.service.sessions() as session:
        sha256 = session.get(Job, unflagged["id"]).params["upload_sha256"]
    _age(client, sha256, days=31)
    assert _purge(client).uploads == 1
    assert client.get(f"/v1/jobs/{unflagged['id']}", headers=headers).status_code == 404
    flagged = wait_for_job(client, post_clip(client, world, uniform_clip).json()["id"], headers)
    assert flagged["result"]["case_ids"]
    answer = client.delete(f"/v1/uploads/{sha256}", headers=world.headers("admin"))
    assert answer.status_code == 200 and answer.json()["jobs_stopped"] == 0, answer.text
    assert client.get(f"/v1/jobs/{flagged['id']}", headers=headers).status_code == 404
    with client.app.state.service.sessions() as session:
        assert session.query(Job).count() == 0


def test_a_job_stopped_by_a_deletion_request_goes_once_its_runner_let_go(
    client: TestClient, world: World, uniform_clip: bytes
) -> None:
    headers = world.headers("uploader")
    job_id = post_clip(client, world, uniform_clip, handle="nobody.registered").json()["id"]
    wait_for_job(client, job_id, headers)
    with client.app.state.service.sessions() as session:  # as if the worker were scanning it now
        job = session.get_one(Job, job_id)
        job.state, sha256 = JobState.RUNNING, job.params["upload_sha256"]
        session.commit()
    answer = client.delete(f"/v1/uploads/{sha256}", headers=world.headers("admin")).json()
    assert (answer["jobs"], answer["jobs_stopped"]) == (0, 1)
    assert _purge(client) == Deleted()  # its runner may still hold it
    with client.app.state.service.sessions() as session:
        session.execute(update(Job).values(updated_at=NOW - timedelta(days=2)))
        session.commit()
    assert _purge(client) == Deleted(jobs=1)
    assert client.get(f"/v1/jobs/{job_id}", headers=headers).status_code == 404


def test_a_deletion_request_waits_for_the_same_bytes_sent_again_and_deletes_their_new_case_too(
    client: TestClient, world: World, uniform_frame: bytes
) -> None:
    state = client.app.state.service
    sha256 = post_frame(client, world, uniform_frame, handle="budi.lmj", at="19:00").json()["upload_sha256"]
    answers: list[Deleted] = []
    with state.sessions() as sending:
        assert _send_again(client, sending, uniform_frame, handle="budi.lmj", at="20:00").cases  # a new case
        with competing(
            state.sessions,
            lambda session: answers.append(delete_upload(session, state.store, sha256, "admin")),
        ):
            sending.commit()
    assert answers == [Deleted(uploads=1, cases=2, evidence_frames=2, frame_scores=1, files=1)]
    with state.sessions() as session:
        assert session.query(Case).count() == 0 and session.get(Upload, sha256) is None
    assert not list(state.store.root.rglob("*.*"))


def test_the_same_bytes_sent_during_a_deletion_request_are_recorded_anew_with_their_file(
    client: TestClient, world: World, uniform_frame: bytes
) -> None:
    state = client.app.state.service
    sha256 = post_frame(client, world, uniform_frame, handle="budi.lmj", at="19:00").json()["upload_sha256"]
    results: list[FrameResult] = []
    with state.sessions() as deleting:
        assert delete_upload(deleting, state.store, sha256, "admin").cases == 1
        with competing(
            state.sessions,
            lambda session: results.append(
                _send_again(client, session, uniform_frame, handle="budi.lmj", at="20:00")
            ),
        ):
            deleting.commit()
    ((case,),) = [result.cases for result in results]
    with state.sessions() as session:
        assert session.get(Upload, sha256) is not None
    evidence = client.get(f"/v1/cases/{case.id}/evidence/1.jpg", headers=world.headers("admin"))
    assert evidence.status_code == 200, evidence.text


def test_a_purge_spares_expired_bytes_sent_again_meanwhile_and_the_evidence_of_their_new_case(
    client: TestClient, world: World, uniform_frame: bytes
) -> None:
    state = client.app.state.service
    first = post_frame(client, world, uniform_frame, handle="nobody.registered", at="19:00").json()
    assert first["cases"] == []
    _age(client, first["upload_sha256"], days=31)
    purged: list[Deleted] = []

    def purge(session: Session) -> None:
        purged.append(purge_expired(session, state.store, now=NOW, unflagged_days=30, dismissed_days=90))

    with state.sessions() as sending:
        (case,) = _send_again(client, sending, uniform_frame, handle="budi.lmj", at="19:00").cases
        with competing(state.sessions, purge):
            sending.commit()
    assert purged == [Deleted()]
    evidence = client.get(f"/v1/cases/{case.id}/evidence/1.jpg", headers=world.headers("admin"))
    assert evidence.status_code == 200, evidence.text


def _delete_by_cli(settings: Settings, given: str) -> int:
    return main(
        [
            "retention",
            "delete",
            given,
            "--database-url",
            settings.db_url,
            "--data-dir",
            str(settings.data_dir),
        ]
    )


def test_a_deletion_request_reads_the_hash_as_hash_tools_print_it(
    client: TestClient, world: World, settings: Settings, uniform_frame: bytes, plain_frame: bytes
) -> None:
    """Regression: PowerShell's Get-FileHash and certutil print the sha256 in upper case, and a deletion
    request naming it so deleted nothing ("no upload"), over the API and the CLI."""
    by_api = post_frame(client, world, uniform_frame, handle="budi.lmj", at="19:00").json()
    response = client.delete(f"/v1/uploads/{by_api['upload_sha256'].upper()}", headers=world.headers("admin"))
    assert response.status_code == 200 and response.json()["cases"] == 1, response.text
    by_cli = post_frame(client, world, plain_frame, handle="nobody.registered", at="19:00").json()
    assert _delete_by_cli(settings, f" {by_cli['upload_sha256'].upper()}\n") == 0
    with client.app.state.service.sessions() as session:
        assert session.query(Upload).count() == 0
        targets = [e.target for e in session.query(AuditEntry).filter_by(action="deletion_request")]
    assert targets == [f"upload:{by_api['upload_sha256']}", f"upload:{by_cli['upload_sha256']}"]


@pytest.mark.parametrize("given", ["abc", "z" * 64, "a" * 63, "a" * 65], ids=["short", "not hex", "63", "65"])
def test_a_deletion_request_refuses_what_is_not_a_sha256(
    client: TestClient, world: World, settings: Settings, given: str, capsys: pytest.CaptureFixture[str]
) -> None:
    response = client.delete(f"/v1/uploads/{given}", headers=world.headers("admin"))
    assert response.status_code == 422 and "64 hex characters" in response.json()["detail"], response.text
    assert _delete_by_cli(settings, given) == 2
    err = capsys.readouterr().err
    assert err.startswith("seragam: error:") and "64 hex characters" in err and err.count("\n") == 1


def test_a_deletion_request_for_an_unknown_upload_does_not_speak_of_agencies(
    client: TestClient, world: World
) -> None:
    """Only callers who see every agency make deletion requests: the hint that they see their own
    agencies' only would mislead them."""
    response = client.delete(f"/v1/uploads/{'0' * 64}", headers=world.headers("admin"))
    assert response.status_code == 404
    assert response.json()["detail"].startswith(f"no upload {'0' * 64}") and "agencies" not in response.text
