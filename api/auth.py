"""API keys: issued once in clear text, stored as a sha256, each with a role and an agency scope."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.models import ApiKey, ApiKeyRole
from api.errors import ForbiddenError, UnauthenticatedError
from api.registry.agencies import agency_subtree_ids, get_agency
from api.registry.lookup import get_or_raise
from api.registry.values import parse_choice, required_text

KEY_PREFIX = "sw_"


@dataclass(frozen=True)
class Caller:
    """Who is calling: an API key (``key_id``) or a user signed in to the web UI (``user_id``), with its
    name, role and the agencies it may see (None: all of them)."""

    key_id: int | None
    name: str
    role: ApiKeyRole
    agency_ids: frozenset[int] | None
    user_id: int | None = None

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        if self.user_id is not None:
            return f"user:{self.user_id}:{self.name}"
        return f"api-key:{self.key_id}:{self.name}"

    @property
    def registry_wide(self) -> bool:
        """An administrator without an agency scope (BKPSDM): manages the registry, sees every agency."""
        return self.role == ApiKeyRole.ADMINISTRATOR and self.agency_ids is None

    def require(self, roles: Collection[ApiKeyRole], doing: str) -> None:
        if self.role not in roles:
            allowed = " or ".join(sorted(roles))
            raise ForbiddenError(f"{doing} needs a key with role {allowed}; this key's role is {self.role}")

    def sees_agency(self, agency_id: int | None) -> bool:
        return self.agency_ids is None or agency_id in self.agency_ids


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(
    session: Session, *, name: str, role: str, agency_id: int | None = None
) -> tuple[ApiKey, str]:
    """A new key and its clear text, which is shown this once and never stored."""
    clear = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        name=required_text("name", name, 100),
        role=parse_choice("role", role, ApiKeyRole),
        agency=None if agency_id is None else get_agency(session, agency_id),
        key_hash=hash_key(clear),
    )
    session.add(key)
    session.flush()
    return key, clear


def list_api_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def delete_api_key(session: Session, key_id: int) -> None:
    session.delete(get_or_raise(session, ApiKey, key_id, "api key"))
    session.flush()


def authenticate(session: Session, clear: str | None) -> Caller:
    """The caller a clear-text key belongs to; ``UnauthenticatedError`` for a missing or unknown key."""
    if not clear:
        raise UnauthenticatedError("no API key: send it in the X-API-Key header")
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(clear)))
    if key is None:
        raise UnauthenticatedError("unknown API key: check the X-API-Key header or ask an administrator")
    scope = None if key.agency_id is None else frozenset(agency_subtree_ids(session, key.agency_id))
    return Caller(key.id, key.name, key.role, scope)
