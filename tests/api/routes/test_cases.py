"""Cases for review: agency scoping (other agencies' cases are 404), filters, audit of every look."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.db import AuditEntry, Person
from api.feedback import export_feedback
from api.registry import update_person
from datasets.importers import open_yolo_dataset, read_yolo_labels, yolo_label_path
from detector.images import decode_image
from tests.api.factories import BUDI_NIP, World, jpeg, post_frame


@pytest.fixture
def cases(client: TestClient, world: World, uniform_frame: bytes) -> dict[str, int]:
    """An R1 case of DISKOMINFO's Budi and one of DINKES's Sari."""
    made = {}
    for agency, handle in (("DISKOMINFO", "budi.lmj"), ("DINKES", "sari.sehat")):
        (case,) = post_frame(client, world, uniform_frame, handle=handle, at="10:00").json()["cases"]
        made[agency] = case["id"]
    return made


@pytest.mark.parametrize(
    ("key", "sees"),
    [
        ("reviewer_kominfo", {"DISKOMINFO"}),
        ("reviewer_dinkes", {"DINKES"}),
        ("reviewer_setda", {"DISKOMINFO"}),  # DISKOMINFO is below SETDA
        ("admin", {"DISKOMINFO", "DINKES"}),
    ],
)
def test_reviewers_see_only_their_agency_subtree(
    client: TestClient, world: World, cases: dict[str, int], key: str, sees: set[str]
) -> None:
    headers = world.headers(key)
    listed = {c["id"] for c in client.get("/v1/cases", headers=headers).json()}
    assert listed == {cases[a] for a in sees}
    for agency, case_id in cases.items():
        expected = 200 if agency in sees else 404
        assert client.get(f"/v1/cases/{case_id}", headers=headers).status_code == expected
        for url in (f"/v1/cases/{case_id}/evidence/1.jpg", f"/v1/cases/{case_id}/evidence/1.jpg?original=1"):
            assert client.get(url, headers=headers).status_code == expected


def test_another_agencys_case_looks_like_a_missing_one(
    client: TestClient, world: World, cases: dict[str, int]
) -> None:
    headers = world.headers("reviewer_kominfo")
    foreign = client.get(f"/v1/cases/{cases['DINKES']}", headers=headers).json()
    missing = client.get("/v1/cases/999999", headers=headers).json()
    assert foreign["detail"].replace(str(cases["DINKES"]), "N") == missing["detail"].replace("999999", "N")


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"X-API-Key": "sw_wrong"}, 401), ("uploader", 403)],
)
def test_cases_need_a_reviewing_key(
    client: TestClient, world: World, cases: dict[str, int], headers, status: int
) -> None:
    headers = world.headers(headers) if isinstance(headers, str) else headers
    response = client.get("/v1/cases", headers=headers)
    assert response.status_code == status and response.json()["detail"]


def test_filters(client: TestClient, world: World, cases: dict[str, int], uniform_frame: bytes) -> None:
    (r2,) = post_frame(client, world, uniform_frame, handle="budi.lmj", at="19:00").json()["cases"]
    headers = world.headers("admin")

    def ids(**params: str) -> set[int]:
        response = client.get("/v1/cases", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return {c["id"] for c in response.json()}

    assert ids(rule="R2") == {r2["id"]}
    assert ids(rule="R1", agency="DINKES") == {cases["DINKES"]}
    assert ids(agency="SETDA") == {cases["DISKOMINFO"], r2["id"]}
    assert ids(state="open") == {*cases.values(), r2["id"]}
    assert ids(**{"from": "2026-04-14T18:00:00+07:00", "to": "2026-04-14T20:00:00+07:00"}) == {r2["id"]}
    naive = client.get("/v1/cases", params={"from": "2026-04-14T18:00:00"}, headers=headers)
    assert naive.status_code == 422 and "offset" in naive.json()["detail"]


@pytest.mark.parametrize("query", ["", "?original=1"])
def test_evidence_images_are_kept_by_no_cache(
    client: TestClient, world: World, cases: dict[str, int], query: str
) -> None:
    """Faces, unblurred: a shared cache or the browser's history must not keep a copy."""
    response = client.get(
        f"/v1/cases/{cases['DISKOMINFO']}/evidence/1.jpg{query}", headers=world.headers("reviewer_kominfo")
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, no-store"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_every_look_at_evidence_is_audited(client: TestClient, world: World, cases: dict[str, int]) -> None:
    case_id = cases["DISKOMINFO"]
    headers = world.headers("reviewer_kominfo")
    client.get(f"/v1/cases/{case_id}", headers=headers)
    client.get(f"/v1/cases/{case_id}/evidence/1.jpg", headers=headers)
    client.get(f"/v1/cases/{case_id}/evidence/1.jpg?original=1", headers=headers)
    assert client.get(f"/v1/cases/{case_id}/evidence/2.jpg", headers=headers).status_code == 404
    with client.app.state.service.sessions() as session:
        entries = [(e.action, e.target, e.detail) for e in session.query(AuditEntry).order_by(AuditEntry.id)]
    assert entries == [
        ("view_case", f"case:{case_id}", {}),
        ("view_evidence", f"case:{case_id}/evidence/1", {"original": False}),
        ("view_evidence", f"case:{case_id}/evidence/1", {"original": True}),
    ]


def test_decisions_over_the_api_are_appended_scoped_and_audited(
    client: TestClient, world: World, cases: dict[str, int]
) -> None:
    case_id = cases["DISKOMINFO"]
    url = f"/v1/cases/{case_id}/decisions"
    reviewer = world.headers("reviewer_kominfo")
    refused = client.post(url, json={"kind": "dismiss"}, headers=reviewer)
    assert refused.status_code == 422 and "reason" in refused.text
    dismissed = client.post(url, json={"kind": "dismiss", "reason": "false_positive"}, headers=reviewer)
    assert dismissed.status_code == 201, dismissed.text
    revised = client.post(url, json={"kind": "confirm", "note": "name plate is readable"}, headers=reviewer)
    assert revised.status_code == 201
    history = client.get(url, headers=reviewer).json()
    assert [(d["kind"], d["reason"]) for d in history] == [("dismiss", "false_positive"), ("confirm", None)]
    assert client.get(f"/v1/cases/{case_id}", headers=reviewer).json()["state"] == "confirmed"
    other = world.headers("reviewer_dinkes")
    assert client.get(url, headers=other).status_code == 404
    assert client.post(url, json={"kind": "escalate"}, headers=other).status_code == 404
    assert client.post(url, json={"kind": "escalate"}, headers=world.headers("uploader")).status_code == 403
    with client.app.state.service.sessions() as session:
        assert session.query(AuditEntry).filter_by(action="decide").count() == 2


def test_detection_feedback_over_the_api_is_validated_scoped_audited_and_exported(
    client: TestClient, world: World, cases: dict[str, int], tmp_path: Path
) -> None:
    case_id = cases["DISKOMINFO"]
    url = f"/v1/cases/{case_id}/feedback"
    reviewer = world.headers("reviewer_kominfo")
    (evidence,) = client.get(f"/v1/cases/{case_id}", headers=reviewer).json()["evidence"]
    detections = evidence["detections"]
    height, width = decode_image(client.get(evidence["original_url"], headers=reviewer).content).shape[:2]
    missed = {"evidence_n": 1, "kind": "false_negative", "class_name": "name_plate", "box": [10, 20, 90, 60]}
    refused = {
        "no detection named": {"evidence_n": 1, "kind": "false_positive"},
        "unknown class": missed | {"class_name": "cape"},
        "box of two numbers": missed | {"box": [1, 2]},
        "unknown kind": {"evidence_n": 1, "kind": "looks_odd", "detection_index": 0},
    }
    for why, body in refused.items():
        response = client.post(url, json=body, headers=reviewer)
        assert response.status_code == 422, (why, response.text)
    absent = client.post(url, json=missed | {"evidence_n": 9}, headers=reviewer)
    assert absent.status_code == 404 and "evidence frame" in absent.text
    wrong = {"evidence_n": 1, "kind": "false_positive", "detection_index": len(detections) - 1}
    for body in (wrong, missed):
        assert client.post(url, json=body, headers=reviewer).status_code == 201
    assert [(f["kind"], f["box"]) for f in client.get(url, headers=reviewer).json()] == [
        ("false_positive", None),
        ("false_negative", [10.0, 20.0, 90.0, 60.0]),
    ]
    other = world.headers("reviewer_dinkes")
    assert client.get(url, headers=other).status_code == 404
    assert client.post(url, json=missed, headers=other).status_code == 404
    assert client.post(url, json=missed, headers=world.headers("uploader")).status_code == 403
    state = client.app.state.service
    with state.sessions() as session:
        assert session.query(AuditEntry).filter_by(action="feedback").count() == 2
        exported = export_feedback(session, state.store, tmp_path / "feedback")
    # The frame's labels: its detections less the one marked wrong, plus the reviewer's box.
    dataset = open_yolo_dataset(exported.data_yaml)
    (image,) = dataset.splits["train"]
    lines = read_yolo_labels(yolo_label_path(image), len(dataset.names))
    assert exported.images == 1 and len(lines) == len(detections)
    drawn = [50 / width, 40 / height, 80 / width, 40 / height]
    assert any(
        dataset.names[line.class_id] == "name_plate" and np.allclose(line[1:], drawn, atol=1e-4)
        for line in lines
    )


@pytest.mark.parametrize("query", ["", "?original=1"])
def test_evidence_whose_file_is_gone_is_a_410_that_says_so(
    client: TestClient, world: World, cases: dict[str, int], query: str
) -> None:
    for stored in client.app.state.service.store.root.rglob("*.jpg"):  # lost from the disk
        stored.unlink()
    case_id = cases["DISKOMINFO"]
    response = client.get(f"/v1/cases/{case_id}/evidence/1.jpg{query}", headers=world.headers("admin"))
    assert response.status_code == 410 and "gone from the file store" in response.json()["detail"]


def test_cases_of_one_span_in_two_recordings_list_each_other_for_who_may_review_them(
    client: TestClient, world: World, uniform_frame: bytes
) -> None:
    """The same moment of Budi's stream in two files opens a case each (each file proves it on its own):
    each case names the other. A case of another moment does not; nor does a case of an agency the caller
    may not review (Budi moved to DINKES before the second file came)."""
    reencoded = jpeg(decode_image(uniform_frame))
    first, second, later = (
        post_frame(client, world, data, handle="budi.lmj", at=at).json()["cases"][0]["id"]
        for data, at in ((uniform_frame, "19:00"), (reencoded, "19:00"), (uniform_frame, "20:00"))
    )
    admin = world.headers("admin")

    def overlapping(case_id: int, headers: dict[str, str]) -> list[int]:
        return [c["id"] for c in client.get(f"/v1/cases/{case_id}", headers=headers).json()["overlapping"]]

    assert (overlapping(first, admin), overlapping(second, admin), overlapping(later, admin)) == (
        [second],
        [first],
        [],
    )
    with client.app.state.service.sessions() as session:
        budi = session.scalars(select(Person).where(Person.nip == BUDI_NIP)).one()
        update_person(session, budi.id, agency_id=world.agencies["DINKES"])
        session.commit()
    touched = decode_image(uniform_frame)
    touched[0, 0] = 0  # a third file of the same moment
    moved = post_frame(client, world, jpeg(touched), handle="budi.lmj", at="19:00")
    (moved_case,) = moved.json()["cases"]
    assert overlapping(first, admin) == [second, moved_case["id"]]
    assert overlapping(first, world.headers("reviewer_kominfo")) == [second]
