"""/v1/api-keys: issuing and revoking keys is audited with what the key could do, never the key."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.auth import hash_key
from api.db import AuditEntry
from tests.api.factories import World


def test_issuing_and_revoking_a_key_is_audited_without_the_key(client: TestClient, world: World) -> None:
    """Regression: a key issued and revoked left no trace in the audit log, while a web user's creation
    did; an administrator could hand out another administrator key unseen."""
    admin = world.headers("admin")
    body = {"name": "dinkes desk", "role": "reviewer", "agency_id": world.agencies["DINKES"]}
    issued = client.post("/v1/api-keys", json=body, headers=admin).json()
    assert client.delete(f"/v1/api-keys/{issued['id']}", headers=admin).status_code == 204
    assert client.delete(f"/v1/api-keys/{issued['id']}", headers=admin).status_code == 404
    with client.app.state.service.sessions() as session:
        entries = [(e.actor, e.action, e.target, e.detail) for e in session.query(AuditEntry)]
    detail = {"name": "dinkes desk", "role": "reviewer", "agency_id": world.agencies["DINKES"]}
    actor = entries[0][0]
    assert actor.startswith("api-key:") and actor.endswith(":bkpsdm")
    assert entries == [
        (actor, "create_api_key", f"api-key:{issued['id']}", detail),
        (actor, "revoke_api_key", f"api-key:{issued['id']}", detail),
    ]
    assert issued["key"] not in repr(entries) and hash_key(issued["key"]) not in repr(entries)
