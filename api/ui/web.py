"""What every web UI page shares: the templates (autoescaped), the language (Bahasa Indonesia unless the
user switched to English), the signed-in user, CSRF tokens on every form, and the session secret."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import yaml
from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from api.auth import Caller
from api.config import Settings
from api.db.models import ApiKeyRole, User
from api.deps import StateDep
from api.errors import ForbiddenError
from api.policy import to_wib
from api.ui.reasons import localise
from api.users import caller_for

API_DIR = Path(__file__).resolve().parent.parent
LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"
# The inline bits the templates carry (two event handlers, the error page's back link, the progress bar's
# starting width) are allowed by their hashes alone: an injected script or style still does not run.
INLINE_SCRIPTS = ("window.print()", "this.form.submit()", "javascript:history.back()")
INLINE_STYLES = ("width: 0%",)


def _allowed(sources: tuple[str, ...]) -> str:
    hashes = (base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() for source in sources)
    return " ".join(["'self'", "'unsafe-hashes'", *(f"'sha256-{digest}'" for digest in hashes)])


CONTENT_SECURITY_POLICY = (
    f"default-src 'self'; script-src {_allowed(INLINE_SCRIPTS)}; style-src {_allowed(INLINE_STYLES)}"
)


class SignInRequired(Exception):
    """No signed-in user: the page redirects to the sign-in form."""


@cache
def messages() -> dict[str, dict[str, str]]:
    """``{key: {"id": ..., "en": ...}}`` from ``messages.yaml``."""
    return yaml.safe_load((Path(__file__).parent / "messages.yaml").read_text(encoding="utf-8"))


def translate(language: str, key: str, **values: object) -> str:
    """The text of ``key`` in ``language`` (the key itself when missing, so a gap shows, not breaks)."""
    text = messages().get(key, {}).get(language) or key
    return text.format(**values) if values else text


def wib(value: datetime | None, with_seconds: bool = False) -> str:
    """A UTC time as WIB wall time for display."""
    if value is None:
        return ""
    return to_wib(value).strftime("%Y-%m-%d %H:%M:%S WIB" if with_seconds else "%Y-%m-%d %H:%M WIB")


def wib_input(value: datetime) -> str:
    """A UTC time as WIB wall time for a ``datetime-local`` input (seconds only where it has them)."""
    local = to_wib(value)
    return local.strftime("%Y-%m-%dT%H:%M:%S" if local.second else "%Y-%m-%dT%H:%M")


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(API_DIR / "templates"),
        autoescape=select_autoescape(["html", "svg"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["wib"] = wib
    env.filters["wib_input"] = wib_input
    return env


def language_of(request: Request) -> str:
    language = request.session.get("lang", DEFAULT_LANGUAGE)
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use; every form posts it back."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf(request: Request, csrf_token_field: Annotated[str, Form(alias="csrf_token")] = "") -> None:
    """Refuses a form whose CSRF token is missing or not this session's (a forged cross-site post)."""
    expected = request.session.get("csrf", "")
    if not expected or not secrets.compare_digest(expected.encode(), csrf_token_field.encode()):
        raise ForbiddenError("the form expired or did not come from this site; reload the page and try again")


CsrfChecked = Depends(check_csrf)


@dataclass(frozen=True)
class SignedIn:
    """The user behind a web request and the ``Caller`` the service checks its rights with."""

    user_id: int
    username: str
    display_name: str
    role: ApiKeyRole
    caller: Caller

    @property
    def is_admin(self) -> bool:
        return self.role == ApiKeyRole.ADMINISTRATOR

    @property
    def registry_wide(self) -> bool:
        return self.caller.registry_wide

    @property
    def reviews(self) -> bool:
        return self.role in (ApiKeyRole.REVIEWER, ApiKeyRole.ADMINISTRATOR)

    @property
    def uploads(self) -> bool:
        return self.role in (ApiKeyRole.UPLOADER, ApiKeyRole.ADMINISTRATOR)


def signed_in(request: Request, state: StateDep) -> SignedIn:
    """The user the session cookie signs in, looked up once a request: a state-changing request's user was
    already looked up before its body was read (``api.main``), and is kept on the request."""
    if (known := getattr(request.state, "signed_in", None)) is not None:
        return known
    user_id = request.session.get("user_id")
    if not isinstance(user_id, int):
        raise SignInRequired
    with state.sessions() as session:
        user = session.get(User, user_id)
        # Removed since signing in, or signed out since (from this or any copy of the cookie).
        if user is None or user.session_version != request.session.get("session_version"):
            request.session.clear()
            raise SignInRequired
        known = SignedIn(user.id, user.username, user.display_name, user.role, caller_for(session, user))
    request.state.signed_in = known
    return known


def _reviewing(user: Annotated[SignedIn, Depends(signed_in)]) -> SignedIn:
    if not user.reviews:
        raise ForbiddenError("reviewing cases needs the reviewer or administrator role")
    return user


def _uploading(user: Annotated[SignedIn, Depends(signed_in)]) -> SignedIn:
    if not user.uploads:
        raise ForbiddenError("uploading needs the uploader or administrator role")
    return user


def _registry_admin(user: Annotated[SignedIn, Depends(signed_in)]) -> SignedIn:
    if not user.registry_wide:
        raise ForbiddenError("this page is for administrators without an agency scope (BKPSDM)")
    return user


CurrentUser = Annotated[SignedIn, Depends(signed_in)]
ReviewingUser = Annotated[SignedIn, Depends(_reviewing)]
UploadingUser = Annotated[SignedIn, Depends(_uploading)]
AdminUser = Annotated[SignedIn, Depends(_registry_admin)]


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    user: SignedIn | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """A page from ``api/templates`` with the language, the CSRF token and the user in its context."""
    language = language_of(request)

    def t(key: str, **values: object) -> str:
        return translate(language, key, **values)

    page = (
        environment()
        .get_template(template)
        .render(
            {
                "request": request,
                "lang": language,
                "t": t,
                "say": lambda text: localise(text, language),
                "csrf_token": csrf_token(request),
                "user": user,
                **(context or {}),
            }
        )
    )
    headers = {
        "Cache-Control": "no-store",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    }
    return HTMLResponse(page, status_code=status_code, headers=headers)


MIN_SECRET_CHARS = 32


def session_secret(settings: Settings) -> str:
    """The configured secret, or one made once and kept in the data folder (sessions survive restarts).
    A short one is refused: anyone could sign an administrator's session cookie with an empty secret."""
    path = settings.data_dir / "session-secret"
    if not settings.session_secret and not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=settings.data_dir, delete=False) as new:
            new.write(secrets.token_urlsafe(48))  # whole or not at all: a crash leaves no empty secret
        os.chmod(new.name, 0o600)
        os.replace(new.name, path)
    secret = settings.session_secret or path.read_text().strip()
    if len(secret) < MIN_SECRET_CHARS:
        where = "SERAGAM_SESSION_SECRET" if settings.session_secret else str(path)
        raise ValueError(
            f"the session secret in {where} has {len(secret)} characters, under {MIN_SECRET_CHARS}: "
            "set a long random one, or delete the file so the service makes one"
        )
    return secret
