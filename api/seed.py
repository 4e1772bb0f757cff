"""A demo registry for a fresh installation: an agency tree, one civil servant with a personal and an
official account, an administrator key for the API and an administrator sign-in for the web UI (both
printed once). Only an empty database is seeded."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.auth import create_api_key
from api.db.models import Agency, ApiKey
from api.registry import create_account, create_agency, create_person
from api.users import create_user

DEMO_NIP = "198507142010011002"
DEMO_ADMIN = "admin"


@dataclass(frozen=True)
class DemoAccess:
    """How to get in to a freshly seeded service: the API key and the web UI sign-in of its administrator."""

    api_key: str
    username: str
    password: str


def seed_demo(session: Session) -> DemoAccess | None:
    """Seed the demo registry and return its administrator's access, or None when the database has data."""
    if session.scalar(select(func.count()).select_from(Agency)) or session.scalar(
        select(func.count()).select_from(ApiKey)
    ):
        return None
    setda = create_agency(session, code="SETDA", name="Sekretariat Daerah Kabupaten Lumajang")
    kominfo = create_agency(
        session, code="DISKOMINFO", name="Dinas Komunikasi dan Informatika", parent_id=setda.id
    )
    create_agency(session, code="BKPSDM", name="Badan Kepegawaian dan Pengembangan SDM")
    budi = create_person(session, nip=DEMO_NIP, name="Budi Santoso", agency_id=kominfo.id)
    create_account(session, platform="tiktok", handle="budi.santoso", person_id=budi.id)
    create_account(
        session,
        platform="instagram",
        handle="diskominfo.lumajang",
        person_id=budi.id,
        is_official=True,
        agency_id=kominfo.id,
    )
    _, key = create_api_key(session, name="demo administrator", role="administrator")
    password = secrets.token_urlsafe(12)
    create_user(
        session, username=DEMO_ADMIN, password=password, role="administrator", display_name="Demo admin"
    )
    session.commit()
    return DemoAccess(key, DEMO_ADMIN, password)
