"""Acceptance: a server killed (SIGKILL) in the middle of a clip job finishes it after a restart, with
the same result as a server that was never interrupted. Real processes, real HTTP, the shipped model."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from datasets.clips import Segment, write_livestream_clip
from datasets.people import PhotoPeople

STARTED_AT = "2026-04-14T15:59:30+07:00"  # a Tuesday; the clip crosses 16:00, the end of working hours


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``seragam serve`` in its own process on a data directory; seeds the demo registry when new."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir, self.port = data_dir, _free_port()
        self.log = data_dir.with_suffix(f".{self.port}.log")
        command = [sys.executable, "-m", "api.cli", "serve", "--port", str(self.port)]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen([*command, "--data-dir", str(data_dir)], stdout=out, stderr=out)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        self.process.kill()
        raise AssertionError(f"server did not become ready: {self.log.read_text()[-2000:]}")

    def admin_key(self) -> str:
        found = re.search(r"administrator API key \(shown once\): (\S+)", self.log.read_text())
        assert found, "a new data directory should be seeded with an administrator key"
        return found.group(1)

    def stop(self, how: signal.Signals = signal.SIGTERM) -> None:
        self.process.send_signal(how)
        self.process.wait(30)


def _job(server: Server, key: str, job_id: int) -> dict:
    return httpx.get(f"{server.url}/v1/jobs/{job_id}", headers={"X-API-Key": key}).json()


def _wait(server: Server, key: str, job_id: int, until, timeout_s: float = 120) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = _job(server, key, job_id)
        if until(job):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached the expected state: {job}")


def _submit(server: Server, key: str, clip: Path) -> int:
    response = httpx.post(
        f"{server.url}/v1/clips",
        headers={"X-API-Key": key},
        data={"platform": "tiktok", "handle": "budi.santoso", "stream_started_at": STARTED_AT},
        files={"file": ("clip.mp4", clip.read_bytes(), "video/mp4")},
        timeout=60,
    )
    assert response.status_code == 202, response.text
    return response.json()["id"]


def _cases(server: Server, key: str) -> list[tuple]:
    cases = httpx.get(f"{server.url}/v1/cases", headers={"X-API-Key": key}).json()
    items = cases["items"] if isinstance(cases, dict) else cases
    return sorted((c["rule"], c["start_at"], c["end_at"]) for c in items)


@pytest.mark.slow
def test_killed_server_finishes_the_clip_job_with_the_same_result(
    bundled_people: list[PhotoPeople], tmp_path: Path
) -> None:
    person = bundled_people[-1]
    clip = tmp_path / "live.mp4"
    write_livestream_clip(
        clip,
        [Segment(person, "original", 20), Segment(person, "pdh_khaki", 40), Segment(person, "original", 20)],
        size=(180, 320),
        fps=5,
    )

    reference = Server(tmp_path / "reference")
    try:
        key = reference.admin_key()
        expected = _wait(reference, key, _submit(reference, key, clip), lambda j: j["state"] == "done")
        expected_cases = _cases(reference, key)
    finally:
        reference.stop()

    first = Server(tmp_path / "interrupted")
    key = first.admin_key()
    job_id = _submit(first, key, clip)
    partial = _wait(first, key, job_id, lambda j: j["progress"]["done"] >= 5 or j["state"] == "done")
    first.stop(signal.SIGKILL)
    assert partial["state"] != "done", "the job should have been killed mid-way; make the clip longer"

    second = Server(tmp_path / "interrupted")
    try:
        finished = _wait(second, key, job_id, lambda j: j["state"] in ("done", "failed"))
        assert finished["state"] == "done", finished
        assert finished["result"]["outcome"] == expected["result"]["outcome"]
        assert finished["progress"] == expected["progress"]
        assert _cases(second, key) == expected_cases
        assert any(rule == "R2" for rule, _, _ in expected_cases)
    finally:
        second.stop()
