"""Signing in: argon2 passwords, signed Secure cookies, throttling, safe redirects, CSRF, audit."""

from __future__ import annotations

import html
import re
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api import users
from api.audit import record
from api.config import Settings
from api.db import AuditEntry, User
from api.ui import sign_in
from api.ui.web import session_secret
from tests.api.factories import reads_of
from tests.api.ui.conftest import PASSWORD, WebUser


def _actions(client: TestClient) -> list[str]:
    with client.app.state.service.sessions() as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_pages_need_a_signed_in_user(browser) -> None:
    response = browser(None).get("/ui/cases")
    assert response.status_code == 303 and response.headers["location"] == "/ui/sign-in?next=/ui/cases"


def test_sign_in_comes_back_to_the_link_with_its_query(browser) -> None:
    link = "/ui/reports.csv?agency=DISKOMINFO&month=2026-03"
    user = browser(None)
    form = user.get(user.get(link).headers["location"]).text
    next_field = re.search(r'name="next" value="([^"]*)"', form)
    assert next_field and html.unescape(next_field.group(1)) == link
    response = user.post("/ui/sign-in", {"username": "rev.kominfo", "password": PASSWORD, "next": link})
    assert response.headers["location"] == link
    report = user.get(link)
    assert report.status_code == 200 and "DISKOMINFO-2026-03.csv" in report.headers["content-disposition"]


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


def test_an_unknown_username_is_refused_even_with_the_stand_in_hashs_password(browser) -> None:
    """Unknown usernames are checked against a stand-in hash (same time); its password must not pass."""
    assert browser(None).sign_in("nobody", "not a password anyone has").status_code == 401


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


class _SlowHasher:
    """The real hasher, its check slowed down and run after ``before_check``."""

    def __init__(self, before_check=lambda: None, delay_s: float = 0.0) -> None:
        self.real, self.before_check, self.delay_s = users._hasher, before_check, delay_s

    def verify(self, hash: str, password: str) -> bool:
        self.before_check()
        time.sleep(self.delay_s)
        return self.real.verify(hash, password)


def test_parallel_guesses_are_counted_before_their_passwords_are_checked(
    client: TestClient, browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each guess used to be counted only once its check failed, so guesses sent together all passed."""
    monkeypatch.setattr(users, "_hasher", _SlowHasher(delay_s=0.5))
    guessers = [browser(None) for _ in range(8)]
    tokens = [guesser.csrf() for guesser in guessers]
    statuses: list[int] = []

    def guess(guesser: WebUser, token: str) -> None:
        form = {"csrf_token": token, "username": "admin", "password": "a wrong guess"}
        statuses.append(guesser.client.post("/ui/sign-in", data=form, follow_redirects=False).status_code)

    threads = [threading.Thread(target=guess, args=pair) for pair in zip(guessers, tokens, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    limit = client.app.state.service.settings.sign_in_attempts
    assert sorted(statuses) == [401] * limit + [429] * (len(guessers) - limit)


def test_signing_in_to_ones_own_account_keeps_the_addresss_failures(client: TestClient, browser) -> None:
    """A right password used to clear the address's count too: one's own account every few guesses
    allowed unlimited guesses at others. It clears the username's count and takes its own attempt back."""
    user = browser(None)
    limit = client.app.state.service.settings.sign_in_attempts
    for n in range(limit - 1):
        assert user.sign_in(f"someone{n}", "a wrong guess").status_code == 401
    assert user.sign_in("desk").status_code == 303
    assert user.sign_in("someone-else", "a wrong guess").status_code == 401
    assert user.sign_in("desk").status_code == 429


def test_the_throttle_forgets_attempts_past_its_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every username tried used to stay in memory for good."""
    clock = SimpleNamespace(monotonic=lambda: 0.0)
    monkeypatch.setattr(sign_in, "time", clock)
    throttle = sign_in.SignInThrottle()
    for n in range(100):
        clock.monotonic = lambda n=n: n * 10.0
        assert throttle.admit(f"someone{n}", f"10.0.0.{n}", limit=5, window_s=15.0) is not None
    assert len(throttle._attempts) == 4  # two attempts, each counted per username and per address


@pytest.mark.parametrize(("password", "status"), [(PASSWORD, 303), ("a wrong guess", 401)])
def test_no_database_lock_is_held_while_the_password_is_checked(
    client: TestClient, browser, monkeypatch: pytest.MonkeyPatch, password: str, status: int
) -> None:
    """The check takes ~0.2 s; SQLite sign-ins that held the write lock through it queued, and past the
    busy timeout failed with "database is locked" (500). Another session writes during the check here."""
    sessions = client.app.state.service.sessions

    def write_elsewhere() -> None:
        with sessions() as session:
            record(session, "test", "feedback", "written-during-the-check")
            session.commit()

    monkeypatch.setattr(users, "_hasher", _SlowHasher(write_elsewhere))
    assert browser(None).sign_in("rev.kominfo", password).status_code == status
    assert "feedback" in _actions(client)


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


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/ui/", "/v1/cases", "/\\evil.example/ui/"]
)
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


def test_sign_out_ends_every_copy_of_the_session(client: TestClient, browser) -> None:
    """The session is a signed cookie: a copy taken before signing out used to stay valid for 12 h."""

    def with_cookie(cookie: str) -> TestClient:
        return TestClient(client.app, base_url="https://testserver", cookies={"seragam_session": cookie})

    user: WebUser = browser("admin")
    token = user.csrf("/ui/cases")
    copy = user.client.cookies["seragam_session"]
    assert user.post("/ui/sign-out", {"csrf_token": token}).status_code == 303
    response = with_cookie(copy).get("/ui/registry/users", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/ui/sign-in")
    again = browser("admin")  # signing in again works, and the old copy cannot sign this session out
    with_cookie(copy).post("/ui/sign-out", data={"csrf_token": token}, follow_redirects=False)
    assert again.get("/ui/cases").status_code == 200
    assert _actions(client).count("sign_out") == 1


def test_language_switches_to_english_and_back(browser) -> None:
    user = browser("rev.kominfo")
    assert "Antrean kasus" in user.get("/ui/cases").text
    user.get("/ui/lang/en?back=/ui/cases")
    assert "Case queue" in user.get("/ui/cases").text
    user.get("/ui/lang/id")
    assert "Antrean kasus" in user.get("/ui/cases").text


@pytest.mark.parametrize(("configured", "in_file"), [("short-secret", None), (None, ""), (None, "  \n")])
def test_a_short_or_empty_session_secret_is_refused(
    tmp_path: Path, configured: str | None, in_file: str | None
) -> None:
    """Anyone could sign an administrator's session cookie with an empty secret."""
    if in_file is not None:
        (tmp_path / "session-secret").write_text(in_file)
    with pytest.raises(ValueError, match="under 32"):
        session_secret(Settings(data_dir=tmp_path, session_secret=configured))


def test_a_made_session_secret_is_long_private_and_kept(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    made = session_secret(settings)
    assert len(made) >= 32 and session_secret(settings) == made
    assert (tmp_path / "data" / "session-secret").stat().st_mode & 0o777 == 0o600


def test_a_signed_in_user_is_looked_up_once_a_request(client: TestClient, browser, kominfo_case: int) -> None:
    """The check before a form's body and the page's own dependency share one lookup of the user."""
    user = browser("rev.kominfo")
    form = {"csrf_token": user.csrf("/ui/cases"), "case_id": str(kominfo_case)}
    with reads_of(client.app.state.service.engine, "users") as lookups:
        response = user.client.post("/ui/cases/viewed", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert len(lookups) == 1


NEW_PASSWORD = "a new long password"


def test_a_user_changes_their_password_and_their_other_sessions_end(client: TestClient, browser) -> None:
    here, elsewhere = browser("rev.kominfo"), browser("rev.kominfo")
    assert 'href="/ui/password"' in here.get("/ui/cases").text
    form = {"current": PASSWORD, "new": NEW_PASSWORD, "repeat": NEW_PASSWORD}
    changed = here.post("/ui/password", form, page="/ui/password")
    assert changed.status_code == 200 and "Kata sandi sudah diganti." in changed.text
    assert here.get("/ui/cases").status_code == 200  # this session stays signed in
    assert elsewhere.get("/ui/cases").headers["location"].startswith("/ui/sign-in")
    assert browser(None).sign_in("rev.kominfo", PASSWORD).status_code == 401
    assert browser(None).sign_in("rev.kominfo", NEW_PASSWORD).status_code == 303
    with client.app.state.service.sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "set_password")).one()
        assert entry.actor.endswith(":rev.kominfo") and NEW_PASSWORD not in str(entry.detail)


@pytest.mark.parametrize(
    ("current", "new", "repeat", "says"),
    [
        ("not my password", NEW_PASSWORD, NEW_PASSWORD, "Kata sandi sekarang salah."),
        (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "!", "Kedua kata sandi baru tidak sama."),
        (PASSWORD, "short", "short", "use at least 10 characters"),
    ],
)
def test_a_password_change_is_refused_with_a_reason_and_changes_nothing(
    browser, current: str, new: str, repeat: str, says: str
) -> None:
    user = browser("rev.kominfo")
    form = {"current": current, "new": new, "repeat": repeat}
    refused = user.post("/ui/password", form, page="/ui/password")
    assert refused.status_code == 422 and says in refused.text
    assert user.get("/ui/cases").status_code == 200
    assert browser(None).sign_in("rev.kominfo", PASSWORD).status_code == 303


def test_guessing_the_current_password_is_throttled_as_sign_ins_are(client: TestClient, browser) -> None:
    user = browser("rev.kominfo")
    limit = client.app.state.service.settings.sign_in_attempts
    wrong = {"current": "a guess", "new": NEW_PASSWORD, "repeat": NEW_PASSWORD}
    assert {user.post("/ui/password", wrong, page="/ui/password").status_code for _ in range(limit)} == {422}
    right = {**wrong, "current": PASSWORD}
    assert user.post("/ui/password", right, page="/ui/password").status_code == 429
    assert browser(None).sign_in("rev.kominfo", NEW_PASSWORD).status_code != 303
