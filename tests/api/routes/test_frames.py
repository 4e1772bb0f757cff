"""POST /v1/frames end to end over HTTP with the shipped model: detections, rule outcome, cases."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from api.config import Settings
from api.db import FrameScore, Upload
from api.main import create_app
from datasets.people import REALDATA_DIR, PhotoPeople
from datasets.synth import SynthConfig, render_frame
from detector.attire import DEFAULT_ATTIRE_WEIGHTS
from detector.images import decode_image
from detector.taxonomy import load_taxonomy
from tests.api.factories import BUDI_NIP, SARI_NIP, World, build_world, jpeg, post_frame

OFFICIAL = load_taxonomy().official_names


def test_shipped_model_sees_the_uniform(client: TestClient, world: World, uniform_frame: bytes) -> None:
    answer = post_frame(client, world, uniform_frame, handle="nobody.registered", at="19:00").json()
    assert {d["class"] for d in answer["detections"]} & OFFICIAL
    with client.app.state.service.sessions() as session:
        (stored,) = session.query(FrameScore)
    # kept beside the detections for the case page's plot: their best official score
    best = max(d["score"] for d in answer["detections"] if d["class"] in OFFICIAL)
    assert stored.attire_score == best > 0


@pytest.mark.parametrize(
    ("platform", "handle", "at", "rules"),
    [
        pytest.param("tiktok", "budi.lmj", "19:00", ["R2"], id="uniform at 19:00 on a personal account: R2"),
        pytest.param("tiktok", "@Budi.LMJ", "10:00", ["R1"], id="live at 10:00 on a Tuesday: R1"),
        pytest.param("instagram", "diskominfo.lumajang", "10:00", [], id="official account on duty: nothing"),
    ],
)
def test_frame_opens_the_case_its_rule_calls_for(
    client: TestClient, world: World, uniform_frame: bytes, platform: str, handle: str, at: str, rules: list
) -> None:
    response = post_frame(client, world, uniform_frame, platform=platform, handle=handle, at=at)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert [c["rule"] for c in answer["cases"]] == rules
    assert [f["rule"] for f in answer["outcome"]["findings"]] == rules
    assert answer["outcome"]["applied"] and answer["outcome"]["thresholds"]["single_frame"] is True
    for case, finding in zip(answer["cases"], answer["outcome"]["findings"], strict=True):
        assert case["start_wib"] == f"2026-04-14 {at}:00 WIB" == finding["start_wib"]
        assert finding["reasons"]


def test_the_case_carries_its_evidence_and_provenance(
    client: TestClient, world: World, uniform_frame: bytes
) -> None:
    answer = post_frame(client, world, uniform_frame, handle="budi.lmj", at="19:00").json()
    (summary,) = answer["cases"]
    case = client.get(f"/v1/cases/{summary['id']}", headers=world.headers("reviewer_kominfo")).json()
    assert (
        case["upload_sha256"] == answer["upload_sha256"] and case["model_version"] == answer["model_version"]
    )
    assert case["policy_version"] == answer["outcome"]["policy_version"] and case["reasons"]
    (evidence,) = case["evidence"]
    assert evidence["captured_at_wib"] == "2026-04-14 19:00:00 WIB"
    assert evidence["captured_at"].startswith("2026-04-14T12:00:00")
    assert {d["class"] for d in evidence["detections"]} & OFFICIAL
    headers = world.headers("reviewer_kominfo")
    annotated = client.get(evidence["url"], headers=headers)
    original = client.get(evidence["original_url"], headers=headers)
    assert annotated.headers["content-type"] == original.headers["content-type"] == "image/jpeg"
    assert annotated.content != original.content and annotated.content[:2] == b"\xff\xd8"
    # A JPEG frame is its own evidence, byte for byte; the annotated view draws the stored detections.
    assert original.content == uniform_frame and evidence["original_sha256"] == answer["upload_sha256"]
    drawn = decode_image(annotated.content)
    assert drawn.shape == decode_image(uniform_frame).shape
    x1, y1, _, y2 = (int(v) for v in evidence["detections"][0]["box"])
    edge = np.s_[y1 + (y2 - y1) // 4 : y2 - (y2 - y1) // 4, x1]  # the box's left side, clear of its label
    assert np.abs(drawn[edge].astype(int) - decode_image(uniform_frame)[edge]).mean() > 40


def test_a_png_frame_gets_a_jpeg_evidence_frame(
    client: TestClient, world: World, uniform_frame: bytes
) -> None:
    png = cv2.imencode(".png", decode_image(uniform_frame))[1].tobytes()
    response = post_frame(client, world, png, handle="budi.lmj", at="19:00", content_type="image/png")
    (summary,) = response.json()["cases"]
    case = client.get(f"/v1/cases/{summary['id']}", headers=world.headers("reviewer_kominfo")).json()
    original = client.get(case["evidence"][0]["original_url"], headers=world.headers("reviewer_kominfo"))
    assert (
        original.content[:2] == b"\xff\xd8"
        and case["evidence"][0]["original_sha256"] != case["upload_sha256"]
    )
    assert decode_image(original.content).shape == decode_image(uniform_frame).shape


def test_a_phone_photo_stored_sideways_is_judged_and_reviewed_upright(
    client: TestClient, world: World, uniform_frame: bytes
) -> None:
    """Phones store a portrait photo as landscape pixels with EXIF orientation 6 (turn clockwise)."""
    upright = decode_image(uniform_frame)
    stored = Image.fromarray(np.ascontiguousarray(np.rot90(upright[:, :, ::-1])))
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    stored.save(buffer, "JPEG", quality=95, exif=exif.tobytes())
    response = post_frame(client, world, buffer.getvalue(), handle="budi.lmj", at="19:00")
    assert response.status_code == 200, response.text
    answer = response.json()
    before = post_frame(client, world, uniform_frame, handle="budi.lmj", at="19:00").json()["detections"]
    # Found where the upright frame's are (the JPEG was encoded again, so scores differ a little).
    assert {d["class"] for d in answer["detections"]} & OFFICIAL
    for found in answer["detections"]:
        assert any(d["class"] == found["class"] and _iou(d["box"], found["box"]) > 0.7 for d in before)
    assert [c["rule"] for c in answer["cases"]] == ["R2"]
    case_id, headers = answer["cases"][0]["id"], world.headers("reviewer_kominfo")
    (evidence,) = client.get(f"/v1/cases/{case_id}", headers=headers).json()["evidence"]
    assert decode_image(client.get(evidence["url"], headers=headers).content).shape == upright.shape
    height, width = upright.shape[:2]  # 640 x 360: a box low in the portrait frame is inside it
    missed = {"evidence_n": 1, "kind": "false_negative", "class_name": "name_plate"}
    box = [10, height - 100, width - 10, height - 20]
    feedback = client.post(f"/v1/cases/{case_id}/feedback", json=missed | {"box": box}, headers=headers)
    assert feedback.status_code == 201, feedback.text


def _iou(a: list[float], b: list[float]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(0.0, w) * max(0.0, h)
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_an_unregistered_account_is_scored_but_no_rule_applies(
    client: TestClient, world: World, uniform_frame: bytes
) -> None:
    answer = post_frame(client, world, uniform_frame, handle="stranger", at="19:00").json()
    assert answer["detections"] and answer["cases"] == []
    assert not answer["outcome"]["applied"] and "no owner" in answer["outcome"]["notes"][0]


def test_a_naive_time_with_a_tz_field_is_read_in_that_zone(
    client: TestClient, world: World, uniform_frame: bytes
) -> None:
    answer = post_frame(client, world, uniform_frame, handle="budi.lmj", at="10:00", tz="Asia/Jakarta")
    naive = post_frame(
        client,
        world,
        uniform_frame,
        handle="budi.lmj",
        at="10:00",
        captured_at="2026-04-14T10:00:00",
        tz="Asia/Jakarta",
    )
    assert answer.status_code == naive.status_code == 200
    assert naive.json()["cases"][0]["start_wib"] == "2026-04-14 10:00:00 WIB"


def test_same_frame_twice_is_stored_once(client: TestClient, world: World, uniform_frame: bytes) -> None:
    for at in ("10:00", "19:00"):
        assert post_frame(client, world, uniform_frame, handle="budi.lmj", at=at).status_code == 200
    with client.app.state.service.sessions() as session:
        assert session.query(Upload).count() == 1 and session.query(FrameScore).count() == 1


def test_concurrent_frames_each_get_their_own_answer(
    client: TestClient, world: World, bundled_people: list[PhotoPeople]
) -> None:
    images = [
        jpeg(
            render_frame(
                bundled_people[i % 2], np.random.default_rng([11, i]), SynthConfig(), size=(360, 640)
            )[0]
        )
        for i in range(8)
    ]

    def ask(image: bytes) -> tuple[str, list]:
        answer = post_frame(client, world, image, handle="stranger", at="19:00").json()
        return answer["upload_sha256"], answer["detections"]

    sequential = [ask(image) for image in images]
    with ThreadPoolExecutor(8) as pool:
        concurrent = list(pool.map(ask, images))
    assert concurrent == sequential
    assert len({sha for sha, _ in sequential}) == 8


def test_concurrent_identical_frames_all_answer_with_their_one_case(
    client: TestClient, world: World, uniform_frame: bytes
) -> None:
    """Regression (found by bench/api.py at concurrency 4): identical bytes at once race on the upload row,
    and SQLite refuses a write from a transaction that read before another one committed (a 500). The
    same frame of the same stream is one case (one per stream, rule and span), however often it comes."""
    with ThreadPoolExecutor(6) as pool:
        responses = list(
            pool.map(
                lambda _: post_frame(client, world, uniform_frame, handle="budi.lmj", at="10:00"), range(6)
            )
        )
    assert [r.status_code for r in responses] == [200] * 6
    assert [len(r.json()["cases"]) for r in responses] == [1] * 6
    assert len({c["id"] for r in responses for c in r.json()["cases"]}) == 1
    later = post_frame(client, world, uniform_frame, handle="budi.lmj", at="10:01")  # the next minute
    assert [c["id"] for c in later.json()["cases"]] != [c["id"] for c in responses[0].json()["cases"]]


def test_an_agency_schedule_in_the_registry_decides_the_rule(
    client: TestClient, world: World, uniform_frame: bytes
) -> None:
    """DISKOMINFO moves to a 6-day week; Saturday 10:00 is then working time: R1, not R2."""
    saturday = {"platform": "tiktok", "handle": "budi.lmj", "captured_at": "2026-04-18T10:00:00+07:00"}
    files = {"file": ("frame.jpg", uniform_frame, "image/jpeg")}
    before = client.post("/v1/frames", data=saturday, files=files, headers=world.headers("uploader")).json()
    assert [f["rule"] for f in before["outcome"]["findings"]] == ["R2"]
    schedule = {
        "agency_id": world.agencies["DISKOMINFO"],
        "name": "6-day week",
        "definition": "mon-fri: ['07:30-14:30']\nsat: ['07:30-12:30']",
        "valid_from": "2026-04-01",
    }
    created = client.post("/v1/schedules", json=schedule, headers=world.headers("admin"))
    assert created.status_code == 201, created.text
    after = client.post("/v1/frames", data=saturday, files=files, headers=world.headers("uploader")).json()
    assert [f["rule"] for f in after["outcome"]["findings"]] == ["R1"]
    assert any("6-day week (DISKOMINFO)" in s["reason"] for s in after["outcome"]["segments"])
    bad = client.post(
        "/v1/schedules", json=schedule | {"definition": "sat: ['noon']"}, headers=world.headers("admin")
    )
    assert bad.status_code == 422 and "definition" in bad.text
    assert client.get("/v1/schedules", headers=world.headers("reviewer_kominfo")).status_code == 403


def test_a_stream_before_a_move_is_judged_by_the_agency_of_its_day(
    client: TestClient, world: World, uniform_frame: bytes
) -> None:
    """DISKOMINFO works Saturdays; Budi moves to DINKES (5-day week) on Monday 20 April. Saturday 18 April
    10:00 is still DISKOMINFO's working time (R1, for its reviewers); Saturday 25 April is DINKES's day off
    (R2, for DINKES's reviewers), whenever the frames are sent."""
    admin = world.headers("admin")
    schedule = {
        "agency_id": world.agencies["DISKOMINFO"],
        "name": "6-day week",
        "definition": "mon-fri: ['07:30-14:30']\nsat: ['07:30-12:30']",
        "valid_from": "2026-04-01",
    }
    assert client.post("/v1/schedules", json=schedule, headers=admin).status_code == 201
    budi = next(p for p in client.get("/v1/people", headers=admin).json() if p["nip"] == BUDI_NIP)
    move = {"agency_id": world.agencies["DINKES"], "moved_on": "2026-04-20"}
    moved = client.patch(f"/v1/people/{budi['id']}", json=move, headers=admin)
    assert moved.status_code == 200, moved.text
    assert (moved.json()["agency_id"], moved.json()["past_postings"]) == (
        world.agencies["DINKES"],
        [{"agency_id": world.agencies["DISKOMINFO"], "until": "2026-04-20"}],
    )
    files = {"file": ("frame.jpg", uniform_frame, "image/jpeg")}
    found = {}
    for day in ("2026-04-18", "2026-04-25"):
        data = {"platform": "tiktok", "handle": "budi.lmj", "captured_at": f"{day}T10:00:00+07:00"}
        answer = client.post("/v1/frames", data=data, files=files, headers=world.headers("uploader")).json()
        [case] = answer["cases"]
        found[day] = (
            [f["rule"] for f in answer["outcome"]["findings"]],
            _reviewers(client, world, case["id"]),
        )
    assert found == {
        "2026-04-18": (["R1"], ["reviewer_kominfo"]),
        "2026-04-25": (["R2"], ["reviewer_dinkes"]),
    }


def test_a_stream_before_a_handover_is_its_old_owners(
    client: TestClient, world: World, uniform_frame: bytes
) -> None:
    """Budi hands his TikTok account to Sari (DINKES) on 20 April: a frame of the 14th is Budi's case for
    DISKOMINFO, one of the 21st Sari's for DINKES, whenever they are sent."""
    admin = world.headers("admin")
    people = {p["nip"]: p["id"] for p in client.get("/v1/people", headers=admin).json()}
    account = next(a for a in client.get("/v1/accounts", headers=admin).json() if a["handle"] == "budi.lmj")
    handover = {"person_id": people[SARI_NIP], "handed_over_on": "2026-04-20"}
    handed = client.patch(f"/v1/accounts/{account['id']}", json=handover, headers=admin)
    assert handed.json()["past_owners"] == [{"person_id": people[BUDI_NIP], "until": "2026-04-20"}], (
        handed.text
    )
    files = {"file": ("frame.jpg", uniform_frame, "image/jpeg")}
    found = {}
    for day in ("2026-04-14", "2026-04-21"):
        data = {"platform": "tiktok", "handle": "budi.lmj", "captured_at": f"{day}T19:00:00+07:00"}
        [case] = client.post("/v1/frames", data=data, files=files, headers=world.headers("uploader")).json()[
            "cases"
        ]
        person = client.get(f"/v1/cases/{case['id']}", headers=admin).json()["person_id"]
        found[day] = (person, _reviewers(client, world, case["id"]))
    assert found == {
        "2026-04-14": (people[BUDI_NIP], ["reviewer_kominfo"]),
        "2026-04-21": (people[SARI_NIP], ["reviewer_dinkes"]),
    }


def test_a_stream_before_an_account_became_official_is_a_personal_one(
    client: TestClient, world: World, uniform_frame: bytes
) -> None:
    """Budi's TikTok account becomes DISKOMINFO's official one on 20 April: live in working hours on the
    14th is R1, on the 21st official duty, whenever the frames are sent."""
    admin = world.headers("admin")
    account = next(a for a in client.get("/v1/accounts", headers=admin).json() if a["handle"] == "budi.lmj")
    change = {
        "is_official": True,
        "agency_id": world.agencies["DISKOMINFO"],
        "status_changed_on": "2026-04-20",
    }
    changed = client.patch(f"/v1/accounts/{account['id']}", json=change, headers=admin)
    assert changed.json()["past_statuses"] == [
        {"is_official": False, "agency_id": None, "until": "2026-04-20"}
    ], changed.text
    files = {"file": ("frame.jpg", uniform_frame, "image/jpeg")}
    found = {}
    for day in ("2026-04-14", "2026-04-21"):
        data = {"platform": "tiktok", "handle": "budi.lmj", "captured_at": f"{day}T10:00:00+07:00"}
        answer = client.post("/v1/frames", data=data, files=files, headers=world.headers("uploader")).json()
        found[day] = ([f["rule"] for f in answer["outcome"]["findings"]], len(answer["cases"]))
    assert found == {"2026-04-14": (["R1"], 1), "2026-04-21": ([], 0)}


def _reviewers(client: TestClient, world: World, case_id: int) -> list[str]:
    """The agency reviewers who may open the case."""
    return [
        key
        for key in ("reviewer_kominfo", "reviewer_dinkes")
        if client.get(f"/v1/cases/{case_id}", headers=world.headers(key)).status_code == 200
    ]


def test_a_shift_roster_imported_from_csv_decides_the_rule(
    client: TestClient, world: World, uniform_frame: bytes
) -> None:
    """Budi is rostered on the Tuesday night shift: at 23:00 he is on duty, so R1, not R2."""
    night = {"platform": "tiktok", "handle": "budi.lmj", "captured_at": "2026-04-14T23:00:00+07:00"}
    files = {"file": ("frame.jpg", uniform_frame, "image/jpeg")}
    before = client.post("/v1/frames", data=night, files=files, headers=world.headers("uploader")).json()
    assert [f["rule"] for f in before["outcome"]["findings"]] == ["R2"]
    roster = (
        "type,nip,starts_at,ends_at,reference,tz\n"
        f"shift,{BUDI_NIP},2026-04-14 22:00,2026-04-15 06:00,jadwal April,Asia/Jakarta\n"
    )
    csv_file = {"file": ("roster.csv", roster.encode(), "text/csv")}
    imported = client.post("/v1/registry/import", files=csv_file, headers=world.headers("admin"))
    assert (imported.status_code, imported.json()["assignments"]) == (200, 1), imported.text
    after = client.post("/v1/frames", data=night, files=files, headers=world.headers("uploader")).json()
    assert [f["rule"] for f in after["outcome"]["findings"]] == ["R1"]
    assert any("shift 22:00-06:00 jadwal April" in s["reason"] for s in after["outcome"]["segments"])


def test_a_frame_sent_again_tells_its_case_state_and_owner_only_to_who_may_review_the_case(
    client: TestClient, world: World, uniform_frame: bytes
) -> None:
    """Regression: re-sending a frame answered with the case it had opened, state and all, so an uploader
    (or another agency's administrator) learnt a review outcome it may not read, and who owns the account
    (agency and person ids); it now gets the id."""
    admin = world.headers("admin")
    dinkes = {"agency_id": world.agencies["DINKES"]}
    scoped = {
        role: client.post("/v1/api-keys", json={"name": role, "role": role, **dinkes}, headers=admin).json()
        for role in ("uploader", "administrator")
    }
    case_id = post_frame(client, world, uniform_frame, handle="budi.lmj", at="19:00").json()["cases"][0]["id"]
    dismissal = {"kind": "dismiss", "reason": "not_asn"}
    decided = client.post(
        f"/v1/cases/{case_id}/decisions", json=dismissal, headers=world.headers("reviewer_kominfo")
    )
    assert decided.status_code == 201, decided.text
    data = {"platform": "tiktok", "handle": "budi.lmj", "captured_at": "2026-04-14T19:00:00+07:00"}
    callers = {
        "uploader": world.headers("uploader"),
        "DINKES uploader": {"X-API-Key": scoped["uploader"]["key"]},
        "DINKES administrator": {"X-API-Key": scoped["administrator"]["key"]},
        "BKPSDM administrator": admin,
    }
    told = {}
    for name, headers in callers.items():
        files = {"file": ("frame", uniform_frame, "image/jpeg")}
        (case,) = client.post("/v1/frames", data=data, files=files, headers=headers).json()["cases"]
        told[name] = (case["id"], case["state"], case["agency_id"], case["person_id"])
    as_reviewed = client.get(f"/v1/cases/{case_id}", headers=admin).json()
    owner = (as_reviewed["agency_id"], as_reviewed["person_id"])
    assert owner[0] == world.agencies["DISKOMINFO"] and owner[1] is not None
    assert told == {
        "uploader": (case_id, None, None, None),
        "DINKES uploader": (case_id, None, None, None),
        "DINKES administrator": (case_id, None, None, None),
        "BKPSDM administrator": (case_id, "dismissed", *owner),
    }


REAL_PDH_PHOTO = REALDATA_DIR / "images" / "0872a5039e0c26cb.jpg"  # real test photo: a group in PDH khaki


@pytest.mark.skipif(not REAL_PDH_PHOTO.exists(), reason="needs ../shared/realdata")
@pytest.mark.parametrize("two_stage", [True, False], ids=["two-stage", "detector alone"])
def test_real_attire_the_whole_frame_misses_is_found_person_by_person(
    settings: Settings, two_stage: bool
) -> None:
    """On this real photo the detector on the whole frame finds no official attire (a group of
    people); two-stage scoring judges each person and the service opens an R2 case on what it flags,
    as detections of the taxonomy with boxes inside the frame. ``SERAGAM_ATTIRE=`` runs the detector alone."""
    settings = settings.model_copy(update={"attire": DEFAULT_ATTIRE_WEIGHTS if two_stage else None})
    with TestClient(create_app(settings)) as client:
        world = build_world(client.app.state.service.sessions)
        answer = post_frame(client, world, REAL_PDH_PHOTO.read_bytes(), handle="budi.lmj", at="19:00").json()
    official = [d for d in answer["detections"] if d["class"] in OFFICIAL]
    assert ("+seragam-attire@" in answer["model_version"]) == two_stage
    if not two_stage:
        assert official == [] and answer["cases"] == []
        return
    assert len(official) >= 2 and [c["rule"] for c in answer["cases"]] == ["R2"]
    height, width = decode_image(REAL_PDH_PHOTO.read_bytes()).shape[:2]
    for d in official:
        x1, y1, x2, y2 = d["box"]
        assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height
