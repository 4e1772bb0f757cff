"""Values at the edges get a 4xx that says what to fix, never a 500, on SQLite and PostgreSQL: ids too
large for the database, dates near the years 1 and 9999, zone names that are folders, text with NUL
characters or unpaired surrogates, explicit nulls in PATCH bodies, CSV files that are not UTF-8 text,
schedule definitions of the wrong shape, feedback boxes that are not numbers or leave the frame."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.factories import World, post_frame

HUGE = 2**63


def _refused(response, status: int = 422) -> str:
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert detail
    return detail


@pytest.mark.parametrize(
    "path",
    [
        f"/v1/cases/{HUGE}",
        f"/v1/cases/{HUGE}/decisions",
        f"/v1/cases/{HUGE}/evidence/1.jpg",
        f"/v1/jobs/{HUGE}",
        f"/v1/agencies/{HUGE}",
        f"/v1/people/{HUGE}",
        f"/v1/accounts?person_id={HUGE}",
        f"/v1/cases?offset={HUGE}",
    ],
)
def test_ids_too_large_for_the_database_are_refused(client: TestClient, world: World, path: str) -> None:
    response = client.get(path, headers=world.headers("admin"))
    assert response.status_code in (404, 422), response.text
    assert response.json()["detail"]


def test_ids_too_large_in_a_body_are_refused(client: TestClient, world: World) -> None:
    admin = world.headers("admin")
    body = {"nip": "199203152019032005", "name": "Rina", "agency_id": HUGE}
    assert "out of range" in _refused(client.post("/v1/people", json=body, headers=admin))


@pytest.mark.parametrize(
    ("captured_at", "tz", "says"),
    [
        ("0001-01-01T00:00:00+01:00", None, "2000"),
        ("0001-01-01T00:00:00Z", None, "2000"),
        ("1999-12-31T23:59:59+07:00", None, "2000"),
        ("9999-12-31T23:59:59-14:00", None, "9998"),
        ("0001-01-01T00:00:00", "America/New_York", "2000"),
        ("2026-04-14T19:00:00", "Asia", "not an IANA time zone"),
        ("2026-04-14T19:00:00", "America/" + "x" * 5000, "not an IANA time zone"),
    ],
)
def test_frame_times_outside_the_years_the_service_judges_are_refused(
    client: TestClient, world: World, uniform_frame: bytes, captured_at: str, tz: str | None, says: str
) -> None:
    data = {"platform": "tiktok", "handle": "budi.lmj", "captured_at": captured_at} | (
        {"tz": tz} if tz else {}
    )
    files = {"file": ("frame.jpg", uniform_frame, "image/jpeg")}
    response = client.post("/v1/frames", data=data, files=files, headers=world.headers("uploader"))
    assert says in _refused(response)


@pytest.mark.parametrize("query", ["from=0001-01-01T00:00:00%2B01:00", "to=9999-12-31T23:59:59-14:00"])
def test_case_filters_at_the_ends_of_time_are_refused(client: TestClient, world: World, query: str) -> None:
    assert "out of range" in _refused(client.get(f"/v1/cases?{query}", headers=world.headers("admin")))


def _post_json_text(client: TestClient, path: str, text: str, headers: dict[str, str]):
    """POST a JSON document written out (an escaped lone surrogate is valid JSON, not valid text)."""
    return client.post(path, content=text, headers=headers | {"Content-Type": "application/json"})


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/agencies", '{"code": "X2", "name": "surrogate \\ud800"}', "agencies.name"),
        ("/v1/api-keys", '{"name": "key \\ud800", "role": "reviewer"}', "api_keys.name"),
    ],
)
def test_text_no_database_can_store_is_refused(
    client: TestClient, world: World, path: str, body: str, field: str
) -> None:
    detail = _refused(_post_json_text(client, path, body, world.headers("admin")))
    assert field in detail and "UTF-8" in detail


def test_a_decision_note_with_a_surrogate_or_too_long_is_refused(
    client: TestClient, world: World, uniform_frame: bytes
) -> None:
    (case,) = post_frame(client, world, uniform_frame, handle="budi.lmj", at="19:00").json()["cases"]
    url, admin = f"/v1/cases/{case['id']}/decisions", world.headers("admin")
    surrogate = _post_json_text(client, url, '{"kind": "comment", "note": "x \\ud800"}', admin)
    assert "note" in _refused(surrogate)
    too_long = client.post(url, json={"kind": "comment", "note": "x" * 4001}, headers=admin)
    assert "at most 4000" in _refused(too_long)
    assert client.get(url, headers=admin).json() == []  # nothing half-stored


@pytest.mark.parametrize(
    ("resource", "body", "says"),
    [
        ("agencies", {"code": None}, "code cannot be null"),
        ("agencies", {"name": None}, "name cannot be null"),
        ("people", {"name": None}, "name cannot be null"),
        ("accounts", {"handle": None}, "handle cannot be null"),
        ("accounts", {"is_official": None}, "is_official cannot be null"),
    ],
)
def test_patch_with_an_explicit_null_for_a_required_field_is_refused(
    client: TestClient, world: World, resource: str, body: dict, says: str
) -> None:
    admin = world.headers("admin")
    first = client.get(f"/v1/{resource}", headers=admin).json()[0]
    assert says in _refused(client.patch(f"/v1/{resource}/{first['id']}", json=body, headers=admin))
    assert client.get(f"/v1/{resource}/{first['id']}", headers=admin).json() == first


def test_patch_may_clear_a_field_that_can_be_empty(client: TestClient, world: World) -> None:
    admin = world.headers("admin")
    kominfo = next(a for a in client.get("/v1/agencies", headers=admin).json() if a["code"] == "DISKOMINFO")
    moved = client.patch(f"/v1/agencies/{kominfo['id']}", json={"parent_id": None}, headers=admin)
    assert moved.status_code == 200 and moved.json()["parent_id"] is None


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ("type,code,name\nagency,C1,Caf\xe9\n".encode("latin-1"), "not UTF-8"),
        ("type,code,name\nagency,C1,Cafe\n".encode("utf-16"), "not UTF-8"),
        (b'type,code,name\nagency,C1,"' + b"x" * 200_000 + b'"\n', "cannot be read as CSV (field larger"),
    ],
)
def test_csv_files_that_are_not_utf8_tables_are_refused(
    client: TestClient, world: World, data: bytes, says: str
) -> None:
    files = {"file": ("registry.csv", data, "text/csv")}
    response = client.post("/v1/registry/import", files=files, headers=world.headers("admin"))
    assert says in _refused(response)


@pytest.mark.parametrize(
    ("definition", "says"),
    [
        ("mon: [5]", "must look like '07:30-16:00'"),
        ("mon: [null]", "must look like '07:30-16:00'"),
        ("mon: [[]]", "must look like '07:30-16:00'"),
        ("mon: {work: '07:30-16:00'}", "list of windows"),
        ("1: ['07:30-16:00']", "weekday key"),
        ("fri-mon: ['07:30-16:00']", "run forward"),
        ("a: &a [*a]", "must look like '07:30-16:00'"),
        ("a: " + "[" * 2000 + "]" * 2000, "nested too deeply"),
    ],
)
def test_schedule_definitions_of_the_wrong_shape_are_refused(
    client: TestClient, world: World, definition: str, says: str
) -> None:
    admin = world.headers("admin")
    agency = client.get("/v1/agencies", headers=admin).json()[0]
    body = {"agency_id": agency["id"], "name": "odd", "definition": definition, "valid_from": "2026-01-01"}
    assert says in _refused(client.post("/v1/schedules", json=body, headers=admin))


@pytest.mark.parametrize(
    "box",
    ["[NaN, 1, 2, 3]", "[0, 0, Infinity, Infinity]", "[0, 0, 1e400, 1e400]", "[0, 0, 100000, 100000]"],
)
def test_feedback_boxes_that_are_not_in_the_frame_are_refused(
    client: TestClient, world: World, uniform_frame: bytes, box: str
) -> None:
    (case,) = post_frame(client, world, uniform_frame, handle="budi.lmj", at="19:00").json()["cases"]
    body = f'{{"evidence_n": 1, "kind": "false_negative", "class_name": "korpri_batik", "box": {box}}}'
    headers = world.headers("admin") | {"Content-Type": "application/json"}
    response = client.post(f"/v1/cases/{case['id']}/feedback", content=body, headers=headers)
    assert "box" in _refused(response)
