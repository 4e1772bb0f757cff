"""Signing in: argon2 passwords, signed Secure cookies, throttling, safe redirects, CSRF, audit."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.db import AuditEntry, User
from tests.api.ui.conftest import WebUser


def _actions(client: TestClient) -> list[str]:
    with client.app.state.service.sessions() as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_pages_need_a_signed_in_user(browser) -> None:
    response = browser(None).get("/ui/cases")
    assert response.status_code == 303 and response.headers["location"] == "/ui/sign-in?next=/ui/cases"


def test_sign_in_sets_a_secure_http_only_cookie_and_is_audited(client: TestClient, browser) -> None:
    user = browser(None)
    response = user.sign_in("rev.kominfo")
    cookie = response.headers["set-cookie"].lower()
    assert response.status_code == 303 and response.headers["location"] == "/ui/"
    assert "secure" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    assert user.get("/ui/cases").status_code == 200
    assert "sign_in" in _actions(client)


def test_passwords_are_stored_as_argon2_hashes(client: TestClient, web_users: None) -> None:
    with client.app.state.service.sessions() as session:
        stored = session.scalar(select(User.password_hash).where(User.username == "admin"))
    assert stored.startswith("$argon2id$")


def test_a_wrong_password_is_refused_and_audited(client: TestClient, browser) -> None:
    response = browser(None).sign_in("rev.kominfo", "not the password")
    assert response.status_code == 401 and "salah" in response.text
    assert "sign_in_failed" in _actions(client)


def test_sign_in_is_throttled_after_repeated_failures(client: TestClient, browser) -> None:
    user = browser(None)
    for _ in range(client.app.state.service.settings.sign_in_attempts):
        assert user.sign_in("desk", "wrong password!").status_code == 401
    throttled = user.sign_in("desk")  # even the right password waits
    assert throttled.status_code == 429 and "Terlalu banyak" in throttled.text


def test_a_form_without_this_sessions_csrf_token_is_refused(browser) -> None:
    user = browser(None)
    forged = user.client.post(
        "/ui/sign-in",
        data={"username": "admin", "password": "x", "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert forged.status_code == 403 and "reload" in forged.text
    garbled = user.client.post(
        "/ui/sign-in",
        content=b"username=admin&password=x&csrf_token=%ff%fe\xc3\xbf",
        follow_redirects=False,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert garbled.status_code == 403 and "reload" in garbled.text


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/ui/", "/v1/cases"])
def test_sign_in_never_redirects_off_the_ui(browser, target: str) -> None:
    user = browser(None)
    response = user.post(
        "/ui/sign-in", {"username": "admin", "password": "kata-sandi-rahasia-1", "next": target}
    )
    assert response.headers["location"] == "/ui/"


def test_sign_out_ends_the_session(browser) -> None:
    user: WebUser = browser("admin")
    assert user.post("/ui/sign-out", page="/ui/cases").status_code == 303
    assert user.get("/ui/cases").status_code == 303


def test_language_switches_to_english_and_back(browser) -> None:
    user = browser("rev.kominfo")
    assert "Antrean kasus" in user.get("/ui/cases").text
    user.get("/ui/lang/en?back=/ui/cases")
    assert "Case queue" in user.get("/ui/cases").text
    user.get("/ui/lang/id")
    assert "Antrean kasus" in user.get("/ui/cases").text
