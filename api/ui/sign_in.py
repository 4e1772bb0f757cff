"""Signing in and out, and the language switch. Sign-in attempts are counted per username and per
address (a right password's attempt is taken back); past the limit the form refuses for a pause (429).
Every attempt is audited. Signing out ends every copy of the session cookie."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from api.audit import record
from api.deps import SessionDep, SettingsDep
from api.ui.web import LANGUAGES, CsrfChecked, CurrentUser, SignedIn, render
from api.users import check_password, end_sessions, set_password

router = APIRouter(include_in_schema=False)


class SignInThrottle:
    """Sign-in attempts per username and per address within a sliding window; one process, in memory.

    An attempt is counted before its password is checked (the check takes ~0.2 s), so guesses sent in
    parallel cannot all pass while none has failed yet; a right password takes its attempt back."""

    def __init__(self) -> None:
        self._attempts: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def admit(self, username: str, address: str, limit: int, window_s: float) -> float | None:
        """Counts an attempt and returns its time, or None (nothing counted) when the username or the
        address already had ``limit`` attempts within ``window_s``."""
        keys = _throttle_keys(username, address)
        now = time.monotonic()
        with self._lock:
            self._forget_before(now - window_s)
            if any(len(self._attempts.get(key, ())) >= limit for key in keys):
                return None
            for key in keys:
                self._attempts.setdefault(key, deque()).append(now)
            return now

    def succeeded(self, username: str, address: str, at: float) -> None:
        """The attempt admitted at ``at`` had the right password: the username's count starts over, the
        address only gets this attempt back (signing in to one's own account between guesses at other
        accounts must not clear the address's failures)."""
        user_key, address_key = _throttle_keys(username, address)
        with self._lock:
            self._attempts.pop(user_key, None)
            attempts = self._attempts.get(address_key)
            if attempts and at in attempts:
                attempts.remove(at)

    def _forget_before(self, cutoff: float) -> None:
        """Drops attempts older than the window and keys left with none: memory holds one window's
        attempts, not every username ever tried."""
        for key in list(self._attempts):
            attempts = self._attempts[key]
            while attempts and attempts[0] < cutoff:
                attempts.popleft()
            if not attempts:
                del self._attempts[key]


def _throttle_keys(username: str, address: str) -> tuple[str, str]:
    return f"user:{username.strip().lower()}", f"address:{address}"


def _address(request: Request) -> str:
    """The client's address, which sign-in throttling counts by."""
    return request.client.host if request.client else "unknown"


def _safe_next(target: str) -> str:
    """Only a path inside the UI: never an absolute or protocol-relative URL (open redirect)."""
    return target if target.startswith("/ui/") and not target.startswith("//") else "/ui/"


@router.get("/sign-in")
def sign_in_form(request: Request, next: str = "/ui/") -> Response:
    return render(request, "sign_in.html", {"next": _safe_next(next), "error": None})


@router.post("/sign-in", dependencies=[CsrfChecked])
def sign_in(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form()] = "/ui/",
) -> Response:
    throttle: SignInThrottle = request.app.state.sign_in_throttle
    address = _address(request)
    context = {"next": _safe_next(next), "username": username}
    admitted_at = throttle.admit(username, address, settings.sign_in_attempts, settings.sign_in_pause_s)
    if admitted_at is None:
        record(
            session, f"sign-in:{username[:60]}", "sign_in_refused", f"address:{address}", {"throttled": True}
        )
        session.commit()
        return render(request, "sign_in.html", context | {"error": "sign_in.throttled"}, status_code=429)
    user = check_password(session, username, password)
    if user is None:
        record(session, f"sign-in:{username[:60]}", "sign_in_failed", f"address:{address}")
        session.commit()
        return render(request, "sign_in.html", context | {"error": "sign_in.failed"}, status_code=401)
    throttle.succeeded(username, address, admitted_at)
    language = request.session.get("lang")
    request.session.clear()  # a fresh session (and CSRF token) for the signed-in user
    request.session.update(
        {
            "user_id": user.id,
            "session_version": user.session_version,
            **({"lang": language} if language else {}),
        }
    )
    record(session, f"user:{user.id}:{user.username}", "sign_in", f"user:{user.id}", {"address": address})
    session.commit()
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/sign-out", dependencies=[CsrfChecked])
def sign_out(request: Request, session: SessionDep) -> Response:
    user_id, version = request.session.get("user_id"), request.session.get("session_version")
    # A cookie that had already stopped working ends nothing: an old copy cannot sign the user out again.
    if isinstance(user_id, int) and isinstance(version, int) and end_sessions(session, user_id, version):
        record(session, f"user:{user_id}", "sign_out", f"user:{user_id}")
        session.commit()
    language = request.session.get("lang")
    request.session.clear()
    if language:
        request.session["lang"] = language
    return RedirectResponse("/ui/sign-in", status_code=303)


def _password_page(
    request: Request, user: SignedIn, error: str | None = None, status: int = 200, changed: bool = False
) -> Response:
    context = {"error": error, "changed": changed}
    return render(request, "password.html", context, user=user, status_code=status)


@router.get("/password")
def password_form(request: Request, user: CurrentUser) -> Response:
    return _password_page(request, user)


@router.post("/password", dependencies=[CsrfChecked])
def change_password(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    current: Annotated[str, Form(max_length=1000)],
    new: Annotated[str, Form(max_length=1000)],
    repeat: Annotated[str, Form(max_length=1000)],
) -> Response:
    """A signed-in user's own new password, given their current one (throttled as sign-ins are). Their
    other sessions end; this one stays signed in."""
    if new != repeat:
        return _password_page(request, user, "password.mismatch", 422)
    throttle: SignInThrottle = request.app.state.sign_in_throttle
    address = _address(request)
    admitted_at = throttle.admit(user.username, address, settings.sign_in_attempts, settings.sign_in_pause_s)
    if admitted_at is None:
        return _password_page(request, user, "sign_in.throttled", 429)
    if check_password(session, user.username, current) is None:
        record(session, user.caller, "sign_in_failed", f"user:{user.user_id}", {"address": address})
        session.commit()
        return _password_page(request, user, "password.wrong", 422)
    throttle.succeeded(user.username, address, admitted_at)
    changed = set_password(session, user.username, new, user.caller)
    session.commit()
    request.session["session_version"] = changed.session_version
    return _password_page(request, user, changed=True)


@router.get("/lang/{language}")
def switch_language(request: Request, language: str, back: str = "/ui/") -> Response:
    """Switch the UI language (``id`` or ``en``) and go back to the page."""
    if language in LANGUAGES:
        request.session["lang"] = language
    return RedirectResponse(_safe_next(back), status_code=303)
