"""The audit log's vocabulary: an entry names one of the actions the audit page can show and filter."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from api.audit import ACTIONS, record
from api.db import AuditEntry, session_factory


def test_an_entry_of_an_action_the_audit_page_does_not_know_is_refused(engine: Engine) -> None:
    with session_factory(engine)() as session:
        with pytest.raises(ValueError, match="unknown audit action 'made_up'"):
            record(session, "cli", "made_up", "nothing")
        for action in ACTIONS:
            record(session, "cli", action, "something")
        assert list(session.scalars(select(AuditEntry.action))) == list(ACTIONS)
