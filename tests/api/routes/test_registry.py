"""Registry administration over HTTP: CRUD wrappers, named errors as 404/409/422, the CSV import, keys."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db import AuditEntry
from api.registry import create_account, create_agency, create_person, delete_agency
from tests.api.factories import BUDI_NIP, World, competing

CSV = (
    "type,code,name,parent_code,nip,agency_code,platform,handle,owner_nip,is_official\n"
    "agency,PKM-01,Puskesmas Sukodono,DINKES,,,,,,\n"
    "person,,Rina,,199203152019032005,PKM-01,,,,\n"
    "account,,,,,,tiktok,@rina.pkm,199203152019032005,\n"
)
# what importing CSV registers
CSV_COUNTS = {
    "agencies": 1,
    "people": 1,
    "accounts": 1,
    "assignments": 0,
    "moves": 0,
    "handovers": 0,
    "status_changes": 0,
}


def test_agency_person_account_assignment_round_trip(client: TestClient, world: World) -> None:
    admin = world.headers("admin")
    agency = client.post("/v1/agencies", json={"code": "bpbd", "name": "BPBD"}, headers=admin).json()
    assert agency["code"] == "BPBD"
    person = client.post(
        "/v1/people",
        json={"nip": "199203152019032005", "name": "Rina", "agency_id": agency["id"]},
        headers=admin,
    ).json()
    account = client.post(
        "/v1/accounts",
        json={"platform": "TikTok", "handle": "@Rina.BPBD", "person_id": person["id"]},
        headers=admin,
    ).json()
    assert (account["platform"], account["handle"]) == ("tiktok", "rina.bpbd")
    assignment = client.post(
        "/v1/assignments",
        json={
            "person_id": person["id"],
            "kind": "assignment",
            "starts_at": "2026-04-14T19:00:00+07:00",
            "ends_at": "2026-04-14T22:00:00+07:00",
            "reference": "800/1/2026",
        },
        headers=admin,
    ).json()
    assert assignment["starts_at"].startswith("2026-04-14T12:00:00")
    renamed = client.patch(
        f"/v1/agencies/{agency['id']}", json={"name": "BPBD Lumajang"}, headers=admin
    ).json()
    assert renamed["name"] == "BPBD Lumajang" and renamed["code"] == "BPBD"
    assert client.delete(f"/v1/assignments/{assignment['id']}", headers=admin).status_code == 204
    assert client.delete(f"/v1/accounts/{account['id']}", headers=admin).status_code == 204
    assert client.delete(f"/v1/people/{person['id']}", headers=admin).status_code == 204
    assert client.delete(f"/v1/agencies/{agency['id']}", headers=admin).status_code == 204
    assert client.get(f"/v1/agencies/{agency['id']}", headers=admin).status_code == 404


@pytest.mark.parametrize(
    ("path", "body", "status", "says"),
    [
        ("/v1/people", {"nip": "1985", "name": "X", "agency_id": 1}, 422, "18 digits"),
        ("/v1/people", {"nip": "19850714201001100X", "name": "X", "agency_id": 1}, 422, "18 digits"),
        ("/v1/people", {"nip": BUDI_NIP, "name": "Budi again", "agency_id": 1}, 409, "already exists"),
        ("/v1/agencies", {"code": "DINKES", "name": "Twice"}, 409, "already exists"),
        ("/v1/accounts", {"platform": "myspace", "handle": "x", "person_id": 1}, 422, "unknown platform"),
        ("/v1/accounts", {"platform": "tiktok", "handle": "budi.lmj", "person_id": 1}, 409, "already exists"),
        ("/v1/accounts", {"platform": "tiktok", "handle": "new", "person_id": 999}, 404, "no person"),
        (
            "/v1/assignments",
            {
                "person_id": 1,
                "kind": "leave",
                "starts_at": "2026-04-14T08:00:00",
                "ends_at": "2026-04-14T09:00:00+07:00",
            },
            422,
            "time zone",
        ),
    ],
)
def test_bad_registry_entries_are_named(
    client: TestClient, world: World, path: str, body: dict, status: int, says: str
) -> None:
    response = client.post(path, json=body, headers=world.headers("admin"))
    assert response.status_code == status, response.text
    assert says in response.json()["detail"]


def test_deleting_an_agency_in_use_is_409(client: TestClient, world: World) -> None:
    response = client.delete(f"/v1/agencies/{world.agencies['DINKES']}", headers=world.headers("admin"))
    assert response.status_code == 409 and "people" in response.json()["detail"]


RINA_NIP = "199203152019032005"


def _while_uncommitted(
    client: TestClient, change: Callable[[Session], object], request: Callable[[], Response]
) -> Response:
    """The response to ``request`` sent while ``change`` is flushed but not yet committed in another session:
    on PostgreSQL the request runs and waits on the database's lock, on SQLite it waits to begin."""
    sessions, responses = client.app.state.service.sessions, []
    with sessions() as session:
        change(session)
        with competing(sessions, lambda _session: responses.append(request())):
            session.commit()
    return responses[0]


@pytest.mark.parametrize(
    ("path", "create", "body"),
    [
        ("/v1/agencies", create_agency, {"code": "DISDIK", "name": "Dinas Pendidikan"}),
        ("/v1/people", create_person, {"nip": RINA_NIP, "name": "Rina", "agency_id": 1}),
        ("/v1/accounts", create_account, {"platform": "tiktok", "handle": "budi.dua", "person_id": 1}),
    ],
)
def test_a_value_another_request_is_registering_is_409(
    client: TestClient, world: World, path: str, create: Callable[..., object], body: dict
) -> None:
    admin = world.headers("admin")
    response = _while_uncommitted(
        client, lambda session: create(session, **body), lambda: client.post(path, json=body, headers=admin)
    )
    assert response.status_code == 409, response.text
    assert "already exists" in response.json()["detail"]


def test_deleting_an_agency_while_a_person_joins_it_is_409(client: TestClient, world: World) -> None:
    admin = world.headers("admin")
    agency = client.post("/v1/agencies", json={"code": "BAPPEDA", "name": "Bappeda"}, headers=admin).json()
    response = _while_uncommitted(
        client,
        lambda session: create_person(session, nip=RINA_NIP, name="Rina", agency_id=agency["id"]),
        lambda: client.delete(f"/v1/agencies/{agency['id']}", headers=admin),
    )
    assert response.status_code == 409, response.text
    assert client.get(f"/v1/agencies/{agency['id']}", headers=admin).status_code == 200


def test_joining_an_agency_while_it_is_deleted_is_refused(
    client: TestClient, world: World, database_url: str
) -> None:
    admin = world.headers("admin")
    agency = client.post("/v1/agencies", json={"code": "BAPPEDA", "name": "Bappeda"}, headers=admin).json()
    body = {"nip": RINA_NIP, "name": "Rina", "agency_id": agency["id"]}
    response = _while_uncommitted(
        client,
        lambda session: delete_agency(session, agency["id"]),
        lambda: client.post("/v1/people", json=body, headers=admin),
    )
    # SQLite lets the request begin only after the delete: it finds no agency. PostgreSQL lets it find
    # the agency, then the database refuses the person: retrying then says there is no such agency.
    expected = (404, "no agency") if database_url.startswith("sqlite") else (409, "try again")
    assert (response.status_code, expected[1] in response.json()["detail"]) == (expected[0], True)


def _audit(client: TestClient) -> list[tuple[str, str, str, dict]]:
    with client.app.state.service.sessions() as session:
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(e.actor.split(":")[0], e.action, e.target, e.detail) for e in entries]


def test_registry_changes_are_audited_and_refusals_are_not(client: TestClient, world: World) -> None:
    admin = world.headers("admin")
    span = {"starts_at": "2026-04-14T08:00:00+07:00", "ends_at": "2026-04-14T16:00:00+07:00"}
    created = client.post(
        "/v1/assignments", json={"person_id": 1, "kind": "assignment", **span}, headers=admin
    )
    number = created.json()["id"]
    # the same start in UTC and the kind it has: an entry names only what changed
    same = {"kind": "assignment", "starts_at": "2026-04-14T01:00:00Z"}
    client.patch(f"/v1/assignments/{number}", json={"reference": "ST/1", **same}, headers=admin)
    client.patch(f"/v1/assignments/{number}", json=same, headers=admin)
    client.delete(f"/v1/assignments/{number}", headers=admin)
    assert client.delete(f"/v1/agencies/{world.agencies['DINKES']}", headers=admin).status_code == 409
    files = {"file": ("registry.csv", CSV.encode(), "text/csv")}
    client.post("/v1/registry/import", files=files, data={"preview": "true"}, headers=admin)
    assert client.post("/v1/registry/import", files=files, headers=admin).status_code == 200
    assert _audit(client) == [
        ("api-key", "create", f"assignments:{number}", {}),
        ("api-key", "update", f"assignments:{number}", {"fields": ["reference"]}),
        ("api-key", "update", f"assignments:{number}", {"fields": []}),
        ("api-key", "delete", f"assignments:{number}", {}),
        (
            "api-key",
            "registry_import",
            "registry",
            CSV_COUNTS,
        ),
    ]


@pytest.mark.parametrize("key", ["uploader", "reviewer_kominfo"])
def test_the_registry_is_for_administrators(client: TestClient, world: World, key: str) -> None:
    assert client.get("/v1/agencies", headers=world.headers(key)).status_code == 403


def test_csv_import_previews_then_imports(client: TestClient, world: World) -> None:
    admin, files = world.headers("admin"), {"file": ("registry.csv", CSV.encode(), "text/csv")}
    preview = client.post("/v1/registry/import", files=files, data={"preview": "true"}, headers=admin).json()
    assert preview == {
        "preview": True,
        "imported": False,
        **CSV_COUNTS,
        "errors": [],
    }
    assert not any(a["code"] == "PKM-01" for a in client.get("/v1/agencies", headers=admin).json())
    imported = client.post("/v1/registry/import", files=files, headers=admin).json()
    assert imported["imported"] and any(
        a["code"] == "PKM-01" for a in client.get("/v1/agencies", headers=admin).json()
    )
    again = client.post("/v1/registry/import", files=files, headers=admin)
    assert (
        again.status_code == 422
        and "row 2" in again.json()["detail"]
        and "already exists" in again.json()["detail"]
    )


def test_api_keys_are_issued_once_and_scope_their_holder(client: TestClient, world: World) -> None:
    admin = world.headers("admin")
    body = {"name": "dinkes desk", "role": "reviewer", "agency_id": world.agencies["DINKES"]}
    issued = client.post("/v1/api-keys", json=body, headers=admin).json()
    assert issued["key"].startswith("sw_") and issued["role"] == "reviewer"
    assert all("key" not in k for k in client.get("/v1/api-keys", headers=admin).json())
    assert client.get("/v1/cases", headers={"X-API-Key": issued["key"]}).status_code == 200
    assert client.delete(f"/v1/api-keys/{issued['id']}", headers=admin).status_code == 204
    assert client.get("/v1/cases", headers={"X-API-Key": issued["key"]}).status_code == 401
    bad_role = client.post("/v1/api-keys", json={"name": "x", "role": "superuser"}, headers=admin)
    assert bad_role.status_code == 422 and "uploader" in bad_role.json()["detail"]
