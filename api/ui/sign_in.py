"""Signing in and out, and the language switch. Failed sign-ins are counted per username and per
address; past the limit the form refuses for a pause (429). Every attempt is audited."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from api.audit import record
from api.deps import SessionDep, SettingsDep
from api.ui.web import LANGUAGES, CsrfChecked, render
from api.users import check_password

router = APIRouter(include_in_schema=False)


class SignInThrottle:
    """Failures per key (username, address) within a sliding window; one process, in memory."""

    def __init__(self) -> None:
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def blocked(self, keys: list[str], limit: int, window_s: float) -> bool:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                failures = self._failures[key]
                while failures and failures[0] < now - window_s:
                    failures.popleft()
            return any(len(self._failures[key]) >= limit for key in keys)

    def failed(self, keys: list[str]) -> None:
        with self._lock:
            for key in keys:
                self._failures[key].append(time.monotonic())

    def succeeded(self, keys: list[str]) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)


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
    address = request.client.host if request.client else "unknown"
    keys = [f"user:{username.strip().lower()}", f"address:{address}"]
    context = {"next": _safe_next(next), "username": username}
    if throttle.blocked(keys, settings.sign_in_attempts, settings.sign_in_pause_s):
        record(
            session, f"sign-in:{username[:60]}", "sign_in_refused", f"address:{address}", {"throttled": True}
        )
        session.commit()
        return render(request, "sign_in.html", context | {"error": "sign_in.throttled"}, status_code=429)
    user = check_password(session, username, password)
    if user is None:
        throttle.failed(keys)
        record(session, f"sign-in:{username[:60]}", "sign_in_failed", f"address:{address}")
        session.commit()
        return render(request, "sign_in.html", context | {"error": "sign_in.failed"}, status_code=401)
    throttle.succeeded(keys)
    language = request.session.get("lang")
    request.session.clear()  # a fresh session (and CSRF token) for the signed-in user
    request.session.update({"user_id": user.id, **({"lang": language} if language else {})})
    record(session, f"user:{user.id}:{user.username}", "sign_in", f"user:{user.id}", {"address": address})
    session.commit()
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/sign-out", dependencies=[CsrfChecked])
def sign_out(request: Request, session: SessionDep) -> Response:
    user_id = request.session.get("user_id")
    if user_id:
        record(session, f"user:{user_id}", "sign_out", f"user:{user_id}")
        session.commit()
    language = request.session.get("lang")
    request.session.clear()
    if language:
        request.session["lang"] = language
    return RedirectResponse("/ui/sign-in", status_code=303)


@router.get("/lang/{language}")
def switch_language(request: Request, language: str, back: str = "/ui/") -> Response:
    """Switch the UI language (``id`` or ``en``) and go back to the page."""
    if language in LANGUAGES:
        request.session["lang"] = language
    return RedirectResponse(_safe_next(back), status_code=303)
