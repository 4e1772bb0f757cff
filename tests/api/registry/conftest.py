"""Registry fixtures: an agency tree and one person (database fixtures: tests/api/conftest.py)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from api.db import Agency, Person
from api.registry import create_agency, create_person

BUDI_NIP = "198507142010011002"


@pytest.fixture
def agencies(db_session: Session) -> dict[str, Agency]:
    """SETDA > DINKES > {PKM-01, PKM-02 > PUSTU-02A}, and BKPSDM on its own."""
    tree = [
        ("SETDA", None),
        ("DINKES", "SETDA"),
        ("PKM-01", "DINKES"),
        ("PKM-02", "DINKES"),
        ("PUSTU-02A", "PKM-02"),
        ("BKPSDM", None),
    ]
    made: dict[str, Agency] = {}
    for code, parent in tree:
        parent_id = made[parent].id if parent else None
        made[code] = create_agency(db_session, code=code, name=f"Unit {code}", parent_id=parent_id)
    return made


@pytest.fixture
def budi(db_session: Session, agencies: dict[str, Agency]) -> Person:
    return create_person(db_session, nip=BUDI_NIP, name="Budi Santoso", agency_id=agencies["PKM-01"].id)
