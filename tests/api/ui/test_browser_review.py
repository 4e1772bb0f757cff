"""The review flow in a real browser: Debian's chromium, headless, driven by playwright, against a real
server (uvicorn on a free local port, SQLite, the shipped model). Screenshots of the main pages go to
``runs/screenshots/``."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from api.config import Settings
from api.main import create_app
from api.registry import get_agency_by_code
from api.users import create_user
from tests.api.factories import BUDI_NIP, CLIP_START, build_world
from tests.api.ui.conftest import PASSWORD

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")

SCREENSHOTS = Path("runs/screenshots")
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-background-networking",
    "--disable-sync",
    "--disable-component-update",
    "--disable-default-apps",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[str]:
    """The service on ``http://localhost:<port>`` with the test world and one web user per role."""
    app = create_app(Settings(data_dir=tmp_path / "data", seed_demo=False))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    sessions = app.state.service.sessions
    build_world(sessions)
    with sessions() as session:
        for username, role, agency in [
            ("admin", "administrator", None),
            ("rev.kominfo", "reviewer", "DISKOMINFO"),
            ("rev.dinkes", "reviewer", "DINKES"),
            ("desk", "uploader", None),
        ]:
            agency_id = get_agency_by_code(session, agency).id if agency else None
            create_user(session, username=username, password=PASSWORD, role=role, agency_id=agency_id)
        session.commit()
    yield f"http://localhost:{port}"
    server.should_exit = True
    thread.join(30)


@pytest.fixture
def chromium() -> Iterator[object]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); .ci/run installs it")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/ui/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/ui/**")


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _upload_clip(page, base: str, clip: Path) -> None:
    page.goto(f"{base}/ui/upload")
    page.set_input_files("input[name=file]", str(clip))
    page.select_option("select[name=platform]", "tiktok")
    page.fill("input[name=handle]", "budi.lmj")
    page.fill("input[name=started_at]", CLIP_START.removesuffix("+07:00"))
    page.select_option("select[name=tz]", "Asia/Jakarta")


def _wait_for_job(page, base: str) -> None:
    page.click("#upload-form button[type=submit]")
    page.wait_for_url(f"{base}/ui/jobs/*")
    page.wait_for_selector("#job[data-state=done]", timeout=120_000)


def test_upload_review_dismiss_and_audit_in_a_real_browser(
    live_server: str, chromium, uniform_clip: bytes, tmp_path: Path
) -> None:
    base = live_server
    clip = tmp_path / "livestream.mp4"
    clip.write_bytes(uniform_clip)
    context = chromium.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/ui/cases")
    assert "/ui/sign-in" in page.url
    _shot(page, "01-sign-in")
    _sign_in(page, base, "admin")

    _upload_clip(page, base, clip)
    _shot(page, "02-upload")
    _wait_for_job(page, base)
    assert page.get_attribute(".progress .bar", "style").replace(" ", "") == "width:100%;"
    _shot(page, "03-job-done")

    page.click(".job-cases a.button")
    page.wait_for_url(f"{base}/ui/cases/*")
    case_url = page.url.split("#")[0]
    page.wait_for_function(
        "[...document.querySelectorAll('img.evidence-image')].every(i => i.complete && i.naturalWidth > 0)"
    )
    assert page.locator("svg.timeline rect.seg").count() >= 1
    assert page.locator("svg.timeline circle.score-dot").count() >= 10
    assert "R2" in page.inner_text("h1")
    _shot(page, "04-case")
    page.click("[data-toggle-original]")
    page.wait_for_function("document.querySelector('img.evidence-image').src.includes('original=1')")

    page.check("input[name=kind][value=dismiss]")
    page.select_option("select[name=reason]", "false_positive")
    page.fill("textarea[name=note]", "batik sehari-hari, bukan seragam dinas")
    page.click(".decision-form button[type=submit]")
    page.wait_for_selector("#history .state-dismiss")
    assert "Ditolak" in page.inner_text("h1")
    assert "batik sehari-hari" in page.inner_text("#history")

    page.goto(f"{base}/ui/audit")
    case_id = case_url.rsplit("/", 1)[1]
    audit = page.inner_text("table.audit")
    assert (
        f"case:{case_id}/decision/" in audit
        and "keputusan" in audit
        and f"case:{case_id}/evidence/1" in audit
    )
    _shot(page, "05-audit")
    page.goto(f"{base}/ui/cases")
    _shot(page, "06-queue")
    page.goto(f"{base}/ui/reports?agency=DISKOMINFO&month=2026-04")
    _shot(page, "07-report")
    page.goto(f"{base}/ui/registry/people")
    _shot(page, "08-registry")
    context.close()

    outsider = chromium.new_context()
    other = outsider.new_page()
    _sign_in(other, base, "rev.dinkes")
    assert f"/ui/cases/{case_id}" not in other.content()
    response = other.goto(case_url)
    assert response.status == 404 and "Tidak ditemukan" in other.content()
    evidence = other.goto(f"{case_url}/evidence/1.jpg?original=1")
    assert evidence.status == 404
    assert other.goto(f"{case_url}/audit").status == 404
    _shot(other, "09-other-agency-404")
    outsider.close()


def test_an_uploader_sees_a_finished_clips_case_ids_without_links(
    live_server: str, chromium, uniform_clip: bytes, tmp_path: Path
) -> None:
    """Uploaders cannot open cases (403): the job page, filled in by app.js, names them as text."""
    clip = tmp_path / "livestream.mp4"
    clip.write_bytes(uniform_clip)
    page = chromium.new_page()
    _sign_in(page, live_server, "desk")
    _upload_clip(page, live_server, clip)
    _wait_for_job(page, live_server)
    page.wait_for_load_state("networkidle")  # app.js has filled in the cases
    assert page.locator(".job-cases a").count() == 0
    assert page.locator(".job-cases span.tag").first.inner_text().startswith("Kasus ")
    page.close()


def test_a_move_is_recorded_on_a_persons_edit_page_in_a_real_browser(live_server: str, chromium) -> None:
    page = chromium.new_page()
    _sign_in(page, live_server, "admin")
    page.goto(f"{live_server}/ui/registry/people")
    page.locator("tr", has_text="Budi Santoso").get_by_role("link", name="Ubah").click()
    page.wait_for_url(f"{live_server}/ui/registry/people/*")
    assert page.input_value("input[name=nip]") == BUDI_NIP
    page.select_option("select[name=agency_id]", label="DINKES · Dinas Kesehatan")
    page.fill("input[name=moved_on]", "2026-04-20")
    _shot(page, "10-registry-edit")
    page.click("form.stack button[type=submit]")
    page.wait_for_url(f"{live_server}/ui/registry/people")
    row = page.locator("tr", has_text="Budi Santoso").inner_text()
    assert "DINKES" in row and "dari DISKOMINFO, pindah 2026-04-20" in row
    page.close()
