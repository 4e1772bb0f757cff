"""Reviewing cases while others do: a decision and a view, or two decisions, on one case at the same
moment end as if one came after the other (on PostgreSQL too, where writers are not serialised)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.auth import Caller
from api.db import ApiKeyRole, Case, CaseState
from api.review import decide, decisions_of, mark_viewed
from api.users import create_user
from tests.api.factories import World, competing, post_frame

ANA = Caller(1, "ana", ApiKeyRole.REVIEWER, None)
BAYU = Caller(2, "bayu", ApiKeyRole.REVIEWER, None)


def _case(client: TestClient, world: World, frame: bytes) -> int:
    (case,) = post_frame(client, world, frame, handle="budi.lmj", at="19:00").json()["cases"]
    return case["id"]


def test_a_view_does_not_write_over_a_decision_being_committed(
    client: TestClient, world: World, uniform_frame: bytes
) -> None:
    case_id, sessions = _case(client, world, uniform_frame), client.app.state.service.sessions
    with sessions() as session:
        viewer = create_user(session, username="bayu", password="password-123456", role="reviewer")
        session.commit()
    bayu = Caller(None, "bayu", ApiKeyRole.REVIEWER, None, viewer.id)
    with sessions() as deciding:
        decide(deciding, ANA, case_id, "confirm")
        # Bayu opens the case page meanwhile: it read "open" before the confirmation was committed.
        with competing(sessions, lambda session: mark_viewed(session, bayu, [case_id])):
            deciding.commit()
    with sessions() as session:
        assert session.get(Case, case_id).state == CaseState.CONFIRMED


def test_the_later_of_two_decisions_at_once_sets_the_state(
    client: TestClient, world: World, uniform_frame: bytes
) -> None:
    case_id, sessions = _case(client, world, uniform_frame), client.app.state.service.sessions
    with sessions() as session:
        decide(session, ANA, case_id, "confirm")
        session.commit()
    with sessions() as dismissing:
        decide(dismissing, ANA, case_id, "dismiss", reason="false_positive")
        # Bayu confirms again meanwhile: a decision that changes no column of the case.
        with competing(sessions, lambda session: decide(session, BAYU, case_id, "confirm")):
            dismissing.commit()
    with sessions() as session:
        history = [(d.kind.value, d.actor) for d in decisions_of(session, case_id)]
        assert history == [("confirm", ANA.actor), ("dismiss", ANA.actor), ("confirm", BAYU.actor)]
        assert session.get(Case, case_id).state == CaseState.CONFIRMED
