"""Every text the templates ask for exists in both languages, including those built from vocabularies."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from api.audit import ACTIONS
from api.cases import CaseOrder
from api.db.models import (
    ApiKeyRole,
    AssignmentKind,
    CaseRule,
    CaseState,
    DecisionKind,
    DismissReason,
    FeedbackKind,
    JobState,
)
from api.policy import SegmentKind
from api.ui.upload_pages import ZONES
from api.ui.web import API_DIR, messages, translate

LITERAL_KEY = re.compile(r"""\bt\(\s*["']([a-z_.0-9]+)["']""")
BUILT_KEYS = [
    *(f"state.{s}" for s in CaseState),
    *(f"decision.{k}" for k in DecisionKind),
    *(f"reason.{r}" for r in DismissReason),
    *(f"feedback.{k}" for k in FeedbackKind),
    *(f"role.{r}" for r in ApiKeyRole),
    *(f"assignment.{k}" for k in AssignmentKind),
    *(f"segment.{k}" for k in SegmentKind),
    *(f"rule.{r}.short" for r in CaseRule),
    *(f"rule.{r}.explain" for r in CaseRule),
    *(f"zone.{z}" for z in ZONES),
    *(f"registry.{s}" for s in ("agencies", "people", "accounts", "schedules", "assignments", "users")),
    *(f"job.{s}" for s in JobState),
    *(f"order.{o}" for o in CaseOrder),
    *(f"error.title.{status}" for status in (403, 404, 409, 413, 415, 422)),
    *(f"action.{a}" for a in ACTIONS),
]


def _template_keys() -> set[str]:
    keys = {
        key
        for path in (API_DIR / "templates").glob("*.html")
        for key in LITERAL_KEY.findall(path.read_text())
    }
    return {key for key in keys if not key.endswith(".")}  # a prefix: its keys are in BUILT_KEYS


@pytest.mark.parametrize("key", sorted(_template_keys() | set(BUILT_KEYS)))
def test_key_exists_in_both_languages(key: str) -> None:
    assert set(messages().get(key, {})) == {"id", "en"}, f"{key} is missing from api/ui/messages.yaml"


def test_unknown_keys_show_themselves_instead_of_failing() -> None:
    assert translate("en", "no.such.key") == "no.such.key"
    assert translate("id", "case.title", id=7) == "Kasus 7"


def test_templates_are_found_where_the_package_ships_them() -> None:
    assert Path(API_DIR / "templates" / "base.html").is_file() and (API_DIR / "static" / "app.css").is_file()
