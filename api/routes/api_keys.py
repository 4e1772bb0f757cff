"""API keys (BKPSDM-wide administrators): issue, list, revoke; issuing and revoking are audited."""

from __future__ import annotations

from fastapi import APIRouter

from api.audit import record
from api.auth import create_api_key, delete_api_key, list_api_keys
from api.db.models import ApiKey
from api.deps import RegistryAdmin, SessionDep
from api.registry.lookup import get_or_raise
from api.schemas import ApiKeyCreated, ApiKeyIn, ApiKeyOut

router = APIRouter(prefix="/v1", tags=["api keys"])


@router.get("/api-keys", response_model=list[ApiKeyOut])
def get_api_keys(session: SessionDep, _: RegistryAdmin) -> list[ApiKeyOut]:
    return [ApiKeyOut.of(k) for k in list_api_keys(session)]


@router.post("/api-keys", status_code=201, response_model=ApiKeyCreated)
def post_api_key(body: ApiKeyIn, session: SessionDep, caller: RegistryAdmin) -> ApiKeyCreated:
    """Issue a key; its clear text is in this response only."""
    key, clear = create_api_key(session, **body.model_dump())
    record(session, caller, "create_api_key", f"api-key:{key.id}", _audited(key))
    session.commit()
    return ApiKeyCreated(**ApiKeyOut.of(key).model_dump(), key=clear)


@router.delete("/api-keys/{key_id}", status_code=204)
def revoke_api_key(key_id: int, session: SessionDep, caller: RegistryAdmin) -> None:
    key = get_or_raise(session, ApiKey, key_id, "api key")
    # Recorded while the row is there to say what the key could do; both go in one commit.
    record(session, caller, "revoke_api_key", f"api-key:{key.id}", _audited(key))
    delete_api_key(session, key.id)
    session.commit()


def _audited(key: ApiKey) -> dict[str, object]:
    """What the audit log keeps of a key: its name, role and agency scope; never the key or its hash."""
    return {"name": key.name, "role": key.role.value, "agency_id": key.agency_id}
