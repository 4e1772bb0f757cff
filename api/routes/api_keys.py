"""API keys (BKPSDM-wide administrators): issue, list, revoke."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth import create_api_key, delete_api_key, list_api_keys
from api.deps import RegistryAdmin, SessionDep
from api.schemas import ApiKeyCreated, ApiKeyIn, ApiKeyOut

router = APIRouter(prefix="/v1", tags=["api keys"])


@router.get("/api-keys", response_model=list[ApiKeyOut])
def get_api_keys(session: SessionDep, _: RegistryAdmin) -> list[ApiKeyOut]:
    return [ApiKeyOut.of(k) for k in list_api_keys(session)]


@router.post("/api-keys", status_code=201, response_model=ApiKeyCreated)
def post_api_key(body: ApiKeyIn, session: SessionDep, _: RegistryAdmin) -> ApiKeyCreated:
    """Issue a key; its clear text is in this response only."""
    key, clear = create_api_key(session, **body.model_dump())
    session.commit()
    return ApiKeyCreated(**ApiKeyOut.of(key).model_dump(), key=clear)


@router.delete("/api-keys/{key_id}", status_code=204)
def revoke_api_key(key_id: int, session: SessionDep, _: RegistryAdmin) -> None:
    delete_api_key(session, key_id)
    session.commit()
