"""The web UI for reviewers, uploaders and administrators, served by the service under ``/ui``:
server-rendered pages, a little plain JavaScript, no build step. ``install_ui`` adds it to the app."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from api.config import Settings
from api.ui import case_pages, registry_pages, report_pages, sign_in, upload_pages
from api.ui.web import API_DIR, SignedIn, SignInRequired, render, session_secret, signed_in

UI_PREFIX = "/ui"
SESSION_MAX_AGE_S = 12 * 3600  # one working day

Handler = Callable[[Request, Exception], Awaitable[Response]]


def install_ui(app: FastAPI, settings: Settings) -> None:
    """Mount the pages, their static files, signed session cookies and HTML error pages for ``/ui``
    (call after ``install_error_handlers``: the JSON handlers stay for the API)."""
    app.state.sign_in_throttle = sign_in.SignInThrottle()
    app.mount(f"{UI_PREFIX}/static", StaticFiles(directory=API_DIR / "static"), name="ui-static")
    for module in (sign_in, case_pages, upload_pages, registry_pages, report_pages):
        app.include_router(module.router, prefix=UI_PREFIX)
    app.add_api_route("/", lambda: RedirectResponse(f"{UI_PREFIX}/"), include_in_schema=False)
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(settings),
        session_cookie="seragam_session",
        max_age=SESSION_MAX_AGE_S,
        same_site="strict",
        https_only=settings.secure_cookies,
    )
    for kind, handler in list(app.exception_handlers.items()):
        if isinstance(kind, type):
            app.add_exception_handler(kind, _html_for_ui(handler))
    app.add_exception_handler(SignInRequired, _to_sign_in)


def _html_for_ui(json_handler: Handler) -> Handler:
    """The API's error handler, its message shown as a page for ``/ui`` paths."""

    async def handler(request: Request, error: Exception) -> Response:
        response = await json_handler(request, error)
        if not request.url.path.startswith(UI_PREFIX):
            return response
        detail = json.loads(bytes(response.body)).get("detail", "")
        context = {"status": response.status_code, "detail": detail}
        return render(
            request, "error.html", context, user=_user_or_none(request), status_code=response.status_code
        )

    return handler


def _user_or_none(request: Request) -> SignedIn | None:
    """The signed-in user, so an error page keeps the navigation; None when signed out."""
    try:
        return signed_in(request, request.app.state.service)
    except SignInRequired:
        return None


async def _to_sign_in(request: Request, error: Exception) -> Response:
    """To the sign-in form, which comes back to this page, its query included (a report link's filters)."""
    url = request.url
    here = f"{url.path}?{url.query}" if url.query else url.path
    return RedirectResponse(f"{UI_PREFIX}/sign-in?{urlencode({'next': here}, safe='/')}", status_code=303)
