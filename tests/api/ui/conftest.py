"""Web UI tests: the world of the service tests plus one web user per role, each with its own cookie
jar (``https://``, since session cookies are Secure)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from api.registry import get_agency_by_code
from api.users import create_user
from tests.api.factories import World, post_frame

PASSWORD = "kata-sandi-rahasia-1"
USERS = {  # username: (role, agency code or None)
    "admin": ("administrator", None),
    "rev.kominfo": ("reviewer", "DISKOMINFO"),
    "rev.dinkes": ("reviewer", "DINKES"),
    "desk": ("uploader", None),
}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class WebUser:
    """A browser stand-in: a client with its own cookies, signed in as one user."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def get(self, url: str, **kwargs) -> Response:
        return self.client.get(url, follow_redirects=False, **kwargs)

    def csrf(self, page: str = "/ui/sign-in") -> str:
        match = CSRF.search(self.client.get(page).text)
        assert match, f"no CSRF token on {page}"
        return match.group(1)

    def post(self, url: str, data: dict | None = None, *, page: str = "/ui/sign-in", **kwargs) -> Response:
        """POST a form with this session's CSRF token (taken from ``page``) unless ``data`` has one."""
        data = {"csrf_token": self.csrf(page), **(data or {})}
        return self.client.post(url, data=data, follow_redirects=False, **kwargs)

    def sign_in(self, username: str, password: str = PASSWORD) -> Response:
        return self.post("/ui/sign-in", {"username": username, "password": password})


@pytest.fixture
def web_users(client: TestClient, world: World) -> None:
    with client.app.state.service.sessions() as session:
        for username, (role, agency) in USERS.items():
            agency_id = get_agency_by_code(session, agency).id if agency else None
            create_user(session, username=username, password=PASSWORD, role=role, agency_id=agency_id)
        session.commit()


@pytest.fixture
def browser(client: TestClient, web_users: None) -> Callable[[str | None], WebUser]:
    """``browser("rev.kominfo")``: a client signed in as that user; ``browser(None)``: signed out."""

    def open_as(username: str | None) -> WebUser:
        user = WebUser(TestClient(client.app, base_url="https://testserver"))
        if username:
            assert user.sign_in(username).status_code == 303
        return user

    return open_as


@pytest.fixture
def kominfo_case(client: TestClient, world: World, uniform_frame: bytes) -> int:
    """An R2 case of DISKOMINFO's Budi (uniform at 19:00 on a Tuesday), with one evidence frame."""
    (case,) = post_frame(client, world, uniform_frame, handle="budi.lmj", at="19:00").json()["cases"]
    return case["id"]
