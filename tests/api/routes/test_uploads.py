"""Bad input of every kind gets a clear 4xx and leaves nothing stored; file names never reach the disk."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import numpy as np
import pytest
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.db import Job, Upload
from tests.api.factories import World, post_clip, post_frame, reads_of, wait_for_job


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels (a decompression bomb's calling card)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def _stored_files(settings_dir: Path) -> list[Path]:
    return [p for p in settings_dir.rglob("*") if p.is_file() and ".staging" not in p.parts]


FUTURE = (datetime.now(UTC) + timedelta(days=1)).isoformat()


@pytest.mark.parametrize(
    ("upload", "fields", "status", "says"),
    [
        pytest.param(("f.jpg", b"", "image/jpeg"), {}, 422, "empty", id="empty body"),
        pytest.param(("f.txt", b"hello", "text/plain"), {}, 415, "image/jpeg", id="wrong content type"),
        pytest.param(
            ("f.jpg", b"\xff\xd8\xff\xe0" + b"\x13" * 4000, "image/jpeg"), {}, 422, "image", id="corrupt"
        ),
        pytest.param("truncated", {}, 422, "truncated", id="truncated image"),
        pytest.param(
            ("f.jpg", b"GIF? no, plain text", "image/jpeg"),
            {},
            422,
            "not a readable image",
            id="not an image",
        ),
        pytest.param(
            ("f.png", _png_declaring(30000, 30000), "image/png"),
            {},
            422,
            "downscaled",
            id="decompression bomb",
        ),
        pytest.param(("f.jpg", b"\xff" * 400_000, "image/jpeg"), {}, 413, "limit", id="oversize body"),
        pytest.param(("f.jpg", b"\xff" * 310_000, "image/jpeg"), {}, 413, "limit", id="oversize file"),
        pytest.param(None, {"captured_at": "2026-04-14T19:00:00"}, 422, "offset", id="naive timestamp"),
        pytest.param(None, {"captured_at": "yesterday evening"}, 422, "ISO 8601", id="unparseable timestamp"),
        pytest.param(
            None, {"captured_at": "2026-04-14T19:00:00", "tz": "Mars/Olympus"}, 422, "IANA", id="bad tz"
        ),
        pytest.param(None, {"tz": "Mars/Olympus"}, 422, "IANA", id="bad tz beside an offset"),
        pytest.param(None, {"captured_at": FUTURE}, 422, "future", id="future timestamp"),
        pytest.param(None, {"platform": "myspace"}, 422, "unknown platform", id="unknown platform"),
        pytest.param(None, {"handle": "https://tiktok.com/@budi"}, 422, "handle", id="url as handle"),
        pytest.param(None, {"handle": "budi\x00lmj"}, 422, "handle", id="control character in handle"),
        pytest.param(
            None, {"captured_at": "2000-01-01T06:00:00+07:00"}, 422, "outside the years", id="1999 in UTC"
        ),
    ],
)
def test_bad_frames_are_refused_and_nothing_is_stored(
    client: TestClient, world: World, uniform_frame: bytes, upload, fields: dict, status: int, says: str
) -> None:
    if upload == "truncated":
        upload = ("f.jpg", uniform_frame[: len(uniform_frame) // 2], "image/jpeg")
    upload = upload or ("f.jpg", uniform_frame, "image/jpeg")
    data = {"platform": "tiktok", "handle": "budi.lmj", "captured_at": "2026-04-14T19:00:00+07:00", **fields}
    response = client.post("/v1/frames", data=data, files={"file": upload}, headers=world.headers("uploader"))
    assert response.status_code == status, response.text
    assert says in response.json()["detail"]
    _assert_nothing_stored(client)


def test_a_request_without_a_file_says_what_is_missing(client: TestClient, world: World) -> None:
    response = client.post("/v1/frames", json={"platform": "tiktok"}, headers=world.headers("uploader"))
    assert response.status_code == 422 and "file" in response.json()["detail"]


@pytest.mark.parametrize(
    ("clip", "fields", "status", "says"),
    [
        pytest.param("audio", {}, 422, "no video stream", id="audio only"),
        pytest.param("truncated", {}, 422, "re-export", id="truncated video"),
        pytest.param(b"", {}, 422, "empty", id="zero-length clip"),
        pytest.param(
            b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 500, {}, 422, "cannot be read", id="garbage mp4"
        ),
        pytest.param(None, {"stream_started_at": FUTURE}, 422, "future", id="future start"),
        pytest.param(None, {"stream_started_at": "2026-04-14 15:59"}, 422, "offset", id="naive start"),
        pytest.param(None, {"handle": "a b"}, 422, "handle", id="bad handle"),
        pytest.param(None, {"handle": "budi\x00lmj"}, 422, "handle", id="control character in handle"),
    ],
)
def test_bad_clips_are_refused_at_upload_and_nothing_is_stored(
    client: TestClient, world: World, uniform_clip: bytes, audio_only_clip: bytes, clip, fields, status, says
) -> None:
    clip = {
        "audio": audio_only_clip,
        "truncated": uniform_clip[: len(uniform_clip) // 2],
        None: uniform_clip,
    }.get(clip, clip)
    response = post_clip(client, world, clip, **fields)
    assert response.status_code == status, response.text
    assert says in response.json()["detail"] and "/staging" not in response.json()["detail"]
    _assert_nothing_stored(client)
    with client.app.state.service.sessions() as session:
        assert session.query(Job).count() == 0


def test_a_clip_of_the_wrong_type_is_415(client: TestClient, world: World) -> None:
    files = {"file": ("a.mp3", b"ID3", "audio/mpeg")}
    data = {"platform": "tiktok", "handle": "budi.lmj", "stream_started_at": "2026-04-14T15:59:50+07:00"}
    response = client.post("/v1/clips", data=data, files=files, headers=world.headers("uploader"))
    assert response.status_code == 415 and "video/mp4" in response.json()["detail"]


@pytest.mark.parametrize(
    "name", ["../../../../tmp/evil.jpg", "/etc/passwd", "..\\..\\win.jpg", "a/../../b.jpg"]
)
def test_path_like_file_names_never_reach_the_file_system(
    client: TestClient, world: World, uniform_frame: bytes, settings, name: str
) -> None:
    data = {"platform": "tiktok", "handle": "budi.lmj", "captured_at": "2026-04-14T19:00:00+07:00"}
    files = {"file": (name, uniform_frame, "image/jpeg")}
    response = client.post("/v1/frames", data=data, files=files, headers=world.headers("uploader"))
    assert response.status_code == 200
    sha = response.json()["upload_sha256"]
    stored = _stored_files(settings.uploads_dir)
    assert settings.uploads_dir / sha[:2] / sha[2:4] / f"{sha}.jpg" in stored
    assert all(p.name.split(".")[0].isalnum() and len(p.name.split(".")[0]) == 64 for p in stored)
    assert not Path("/tmp/evil.jpg").exists()


def test_uploads_need_an_uploading_key(client: TestClient, world: World, uniform_frame: bytes) -> None:
    data = {"platform": "tiktok", "handle": "budi.lmj", "captured_at": "2026-04-14T19:00:00+07:00"}
    files = {"file": ("f.jpg", uniform_frame, "image/jpeg")}
    assert client.post("/v1/frames", data=data, files=files).status_code == 401
    reviewer = client.post("/v1/frames", data=data, files=files, headers=world.headers("reviewer_kominfo"))
    assert reviewer.status_code == 403 and "uploader" in reviewer.json()["detail"]
    _assert_nothing_stored(client)


def _assert_nothing_stored(client: TestClient) -> None:
    state = client.app.state.service
    with state.sessions() as session:
        assert session.query(Upload).count() == 0
    assert _stored_files(state.store.root) == [] if state.store.root.exists() else True


def test_an_oversize_body_without_content_length_is_refused_while_reading(
    client: TestClient, world: World
) -> None:
    boundary = "seragam-test-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()

    def chunked_body():
        yield head
        for _ in range(40):
            yield b"\xff" * 10_000
        yield f"\r\n--{boundary}--\r\n".encode()

    headers = world.headers("uploader") | {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    response = client.post("/v1/frames", content=chunked_body(), headers=headers)
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert response.status_code == 413 and "limit" in response.json()["detail"]
    _assert_nothing_stored(client)


def _mkv_stating(duration_tag: bytes) -> bytes:
    """A 3 s MKV whose video track's DURATION tag is overwritten with ``duration_tag`` (same length)."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="matroska") as container:
        stream = container.add_stream("mpeg4", rate=5)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        for n in range(15):
            frame = av.VideoFrame.from_ndarray(np.full((64, 96, 3), n * 10, np.uint8), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    data = buffer.getvalue()
    stated = b"00:00:03.000000000"
    assert data.count(stated) == 1
    return data.replace(stated, duration_tag.ljust(len(stated)))


def test_a_clip_stating_an_impossible_duration_is_measured_or_refused(
    client: TestClient, world: World
) -> None:
    nan = post_clip(client, world, _mkv_stating(b"00:00:nan"), content_type="video/x-matroska")
    assert nan.status_code == 202, nan.text  # no duration stated: the container's own is used
    wait_for_job(client, nan.json()["id"], world.headers("uploader"))
    with client.app.state.service.sessions() as session:
        assert session.get_one(Job, nan.json()["id"]).params["duration_s"] == pytest.approx(3.0, abs=0.3)
    absurd = post_clip(client, world, _mkv_stating(b"999999:00:00.0"), content_type="video/x-matroska")
    assert absurd.status_code == 422 and "over a day" in absurd.json()["detail"], absurd.text
    assert len(_stored_files(client.app.state.service.store.root)) == 1  # the first clip only


def test_the_same_bytes_sent_as_another_type_stay_one_file_that_deletion_removes(
    client: TestClient, world: World, uniform_frame: bytes
) -> None:
    for content_type in ("image/webp", "image/JPEG; quality=high", "image/png"):
        answer = post_frame(
            client, world, uniform_frame, handle="budi.lmj", at="10:00", content_type=content_type
        )
        assert answer.status_code == 200, answer.text
    sha256 = answer.json()["upload_sha256"]
    store = client.app.state.service.store
    assert [p.name for p in _stored_files(store.root) if p.name.startswith(sha256)] == [f"{sha256}.jpg"]
    with client.app.state.service.sessions() as session:
        assert session.get_one(Upload, sha256).content_type == "image/jpeg"  # as the bytes say
    assert client.delete(f"/v1/uploads/{sha256}", headers=world.headers("admin")).status_code == 200
    assert _stored_files(store.root) == []


@pytest.mark.parametrize("route", ["/v1/frames", "/v1/clips"])
def test_a_request_with_two_files_is_refused_not_half_scored(
    client: TestClient, world: World, uniform_frame: bytes, route: str
) -> None:
    data = {"platform": "tiktok", "handle": "budi.lmj", "captured_at": "2026-04-14T19:00:00+07:00"}
    data["stream_started_at"] = data["captured_at"]
    files = [
        ("file", ("a.jpg", uniform_frame, "image/jpeg")),
        ("file", ("b.jpg", uniform_frame, "image/jpeg")),
    ]
    response = client.post(route, data=data, files=files, headers=world.headers("uploader"))
    assert response.status_code == 422 and "2 files" in response.json()["detail"], response.text
    _assert_nothing_stored(client)


class BodyCounter:
    """The app behind a ``receive`` that counts the body bytes the app pulled."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.pulled = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted() -> Message:
            message = await receive()
            self.pulled += len(message.get("body", b""))
            return message

        await self.app(scope, counted, send)


BIG = 3 << 20  # over every limit in these tests but the clip's
FRAME_FIELDS = {"platform": "tiktok", "handle": "budi.lmj", "captured_at": "2026-04-14T19:00:00+07:00"}


@pytest.mark.parametrize(
    ("url", "body", "key", "status", "says"),
    [
        pytest.param("/v1/frames", "file", None, 401, "no API key", id="frame without a key"),
        pytest.param("/v1/clips", "file", "sw_not-a-key", 401, "unknown API key", id="clip with a wrong key"),
        pytest.param("/v1/cases/1/decisions", "json", None, 401, "no API key", id="decision without a key"),
        pytest.param("/v1/api-keys", "json", None, 401, "no API key", id="api key without a key"),
        pytest.param("/ui/upload", "file", None, 303, "/ui/sign-in?next=/ui/upload", id="ui upload"),
        pytest.param("/ui/registry/import", "file", None, 303, "/ui/sign-in", id="ui registry import"),
        pytest.param("/ui/cases/1/decisions", "form", None, 303, "/ui/sign-in", id="ui decision"),
    ],
)
def test_a_state_changing_request_without_credentials_is_refused_before_its_body_is_read(
    client: TestClient, url: str, body: str, key: str | None, status: int, says: str
) -> None:
    """FastAPI parses a body before the dependencies that check the caller: anyone could make the service
    read, and spool to disk, a body up to the path's limit (2 GiB for a clip) without a key."""
    counter = BodyCounter(client.app)
    headers = ({"X-API-Key": key} if key else {}) | (
        {"Content-Type": "application/json"} if body == "json" else {}
    )
    payload = {
        "file": {"data": FRAME_FIELDS, "files": {"file": ("f.jpg", b"\xff" * BIG, "image/jpeg")}},
        "json": {"content": b'{"note": "' + b"a" * BIG + b'"}'},
        "form": {"data": {"csrf_token": "x", "note": "a" * BIG}},
    }[body]
    client_of_counter = TestClient(counter, base_url="https://testserver")
    response = client_of_counter.post(url, **payload, headers=headers, follow_redirects=False)
    assert response.status_code == status, response.text
    assert says in (response.headers.get("location") or response.json()["detail"])
    assert counter.pulled == 0
    _assert_nothing_stored(client)


def test_a_valid_key_still_uploads_and_its_body_is_read_once(
    client: TestClient, world: World, uniform_frame: bytes
) -> None:
    counter = BodyCounter(client.app)
    files = {"file": ("f.jpg", uniform_frame, "image/jpeg")}
    response = TestClient(counter).post(
        "/v1/frames", data=FRAME_FIELDS, files=files, headers=world.headers("uploader")
    )
    assert response.status_code == 200, response.text
    assert len(uniform_frame) < counter.pulled < len(uniform_frame) + 1000


def test_a_key_is_looked_up_once_a_request(client: TestClient, world: World, uniform_frame: bytes) -> None:
    """The check before the body and the route's own dependency share one lookup of the key."""
    engine = client.app.state.service.engine
    files = {"file": ("f.jpg", uniform_frame, "image/jpeg")}
    with reads_of(engine, "api_keys") as lookups:
        response = client.post(
            "/v1/frames", data=FRAME_FIELDS, files=files, headers=world.headers("uploader")
        )
    assert response.status_code == 200, response.text
    assert len(lookups) == 1
    with reads_of(engine, "api_keys") as lookups:
        assert client.get("/v1/cases", headers=world.headers("reviewer_kominfo")).status_code == 200
    assert len(lookups) == 1


@pytest.mark.parametrize(
    ("url", "key", "payload"),
    [
        pytest.param(
            "/v1/api-keys", "admin", {"json": {"name": "a" * BIG, "role": "uploader"}}, id="api json"
        ),
        pytest.param("/ui/sign-in", None, {"data": {"username": "a" * BIG, "password": "x"}}, id="ui form"),
    ],
)
def test_bodies_of_paths_without_an_upload_limit_are_capped_at_1_mib(
    client: TestClient, world: World, url: str, key: str | None, payload: dict
) -> None:
    counter = BodyCounter(client.app)
    headers = world.headers(key) if key else {}
    response = TestClient(counter).post(url, **payload, headers=headers, follow_redirects=False)
    assert response.status_code == 413, response.text
    assert "request body is larger than the limit of 1,048,576 bytes" in response.text
    assert counter.pulled == 0
