"""Receiving request bodies and uploaded files: who may send a body, size limits while reading, accepted
content types, content-addressed storage.

The client's file name is never used: stored files are named by their sha256 and a suffix chosen from
the accepted content type, so a name like ``../../etc/passwd`` cannot reach the file system.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fastapi import Request, UploadFile
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.db import insert_if_absent
from api.db.models import Upload
from api.errors import InvalidUploadError, UnsupportedMediaTypeError, UploadTooLargeError
from api.storage import StoredFile, UploadStore

IMAGE_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/bmp": ".bmp"}
VIDEO_TYPES = {
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "video/x-matroska": ".mkv",
    "video/webm": ".webm",
    "video/mp2t": ".ts",
    "video/x-flv": ".flv",
    "video/x-msvideo": ".avi",
    "application/octet-stream": ".bin",  # what many clients send for a file they cannot name
}
MAX_CSV_BYTES = 10 * 1024 * 1024  # a registry of every civil servant of a regency is far smaller
FORM_SLACK_BYTES = 64 * 1024  # room for the form fields and multipart boundaries around the file
MAX_BODY_BYTES = 1 << 20  # any other body: JSON and the web UI's forms are a few KiB
STATE_CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_CHUNK = 1 << 20


def accepted_type(upload: UploadFile, accepted: Mapping[str, str], expected: str) -> tuple[str, str]:
    """The upload's media type, without parameters (what is recorded), and its stored suffix;
    ``UnsupportedMediaTypeError`` if not accepted."""
    content_type = (upload.content_type or "").split(";")[0].strip().lower()
    if content_type not in accepted:
        raise UnsupportedMediaTypeError(content_type[:100], f"{expected} as one of: {', '.join(accepted)}")
    return content_type, accepted[content_type]


def stored_suffix(session: Session, sha256: str, suffix: str) -> str:
    """The suffix these bytes are kept under if they came before: the same bytes sent again with
    another content type stay one file, the one retention and deletion know of."""
    upload = session.get(Upload, sha256)
    known = Path(upload.path) if upload is not None else None
    return known.suffix if known is not None and not known.is_absolute() else suffix


def read_limited(upload: UploadFile, max_bytes: int, what: str) -> bytes:
    """All bytes of a small upload, refusing more than ``max_bytes`` without reading past the limit."""
    data = upload.file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UploadTooLargeError(what, max_bytes)
    if not data:
        raise InvalidUploadError(f"the {what} is empty (0 bytes); attach the file itself")
    return data


@dataclass(frozen=True)
class StagedFile:
    """An upload written to a temporary file beside the store, hashed on the way."""

    path: Path
    sha256: str
    size: int


@contextmanager
def staged(upload: UploadFile, store: UploadStore, max_bytes: int, what: str) -> Iterator[StagedFile]:
    """Copy a possibly large upload to a temporary file in chunks (constant memory), counting and hashing;
    the file is removed on exit unless it was moved into the store."""
    staging = store.root / ".staging"
    staging.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    with tempfile.NamedTemporaryFile(dir=staging, delete=False) as out:
        path = Path(out.name)
        try:
            while chunk := upload.file.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise UploadTooLargeError(what, max_bytes)
                digest.update(chunk)
                out.write(chunk)
        except BaseException:
            path.unlink()
            raise
    try:
        if size == 0:
            raise InvalidUploadError(f"the {what} is empty (0 bytes, a zero-length clip); attach the file")
        yield StagedFile(path, digest.hexdigest(), size)
    finally:
        path.unlink(missing_ok=True)


def locked_upload(session: Session, sha256: str) -> Upload | None:
    """The upload row, read again and locked until the commit (SELECT ... FOR UPDATE; SQLite serialises
    writers anyway). Recording the same bytes again and deleting them (retention, a deletion request) both
    take it first, so on PostgreSQL (READ COMMITTED) they run one after the other: a deletion sees the
    cases a re-upload opened, and a re-upload finds the row a deletion removed gone and records it anew."""
    return session.get(Upload, sha256, with_for_update=True, populate_existing=True)


def record_upload(session: Session, stored: StoredFile, content_type: str) -> Upload:
    """The ``Upload`` row of a stored file (the existing one when the same bytes came before, dated
    now: retention counts from the last time they came, so a job sent today is not purged tonight)."""
    now = datetime.now(UTC)
    values = {"sha256": stored.sha256, "size": stored.size, "content_type": content_type}
    # Absent: new bytes, or the row went with a deletion this waited for (or a concurrent identical upload
    # inserts it first); each turn takes the row's lock or finds it gone.
    while (upload := locked_upload(session, stored.sha256)) is None:
        insert_if_absent(session, Upload, values | {"path": stored.path.name, "created_at": now})
    upload.created_at = now
    if Path(upload.path).is_absolute():  # a batch scored these bytes in place: the store's copy now counts
        upload.path = stored.path.name  # (retention and deletion remove stored files, never recordings)
    return upload


# A credential check from the request's headers and session alone; it raises the error that the app's own
# handler answers a refusal with.
Gate = Callable[[Request], object]


class CredentialsBeforeBody:
    """Checks who sends a state-changing request before the app reads its body. FastAPI parses a form or
    JSON body before it runs the dependencies that check the caller, so without this anyone could make the
    service read, and spool to disk, a body up to the path's size limit. ``gates`` maps a path prefix to its
    check (run in the thread pool: it reads the database); ``open_paths`` need none (signing in). A refused
    request is answered by the app's handler for the check's error, as the route itself would have."""

    def __init__(self, app: ASGIApp, gates: Mapping[str, Gate], open_paths: Collection[str] = ()) -> None:
        self.app = app
        self.gates = dict(gates)
        self.open_paths = frozenset(open_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gate = self._gate_of(scope)
        if gate is not None:
            request = Request(scope)
            try:
                await run_in_threadpool(gate, request)
            except Exception as refusal:
                handlers = request.app.exception_handlers  # looked up by class hierarchy, as Starlette does
                handler = next((handlers[c] for c in type(refusal).__mro__ if c in handlers), None)
                if handler is None:
                    raise
                response = await handler(request, refusal)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _gate_of(self, scope: Scope) -> Gate | None:
        if (
            scope["type"] != "http"
            or scope["method"] not in STATE_CHANGING_METHODS
            or scope["path"] in self.open_paths
        ):
            return None
        return next((gate for prefix, gate in self.gates.items() if scope["path"].startswith(prefix)), None)


class UploadSizeLimit:
    """Refuses request bodies above a per-path limit (``MAX_BODY_BYTES`` for paths without one) with a 413:
    at once when ``Content-Length`` says so, and while reading otherwise (chunked uploads), so an oversized
    body is never read whole. Either way the refusal is raised where the app reads the body, so the app's
    own error handlers answer: JSON for the API, an error page for the web UI."""

    def __init__(self, app: ASGIApp, limits: Mapping[str, int]) -> None:
        self.app = app
        self.limits = dict(limits)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if (limit := self.limits.get(scope["path"])) is not None:
            too_large = HTTPException(413, str(UploadTooLargeError("upload", limit - FORM_SLACK_BYTES)))
        else:
            limit = MAX_BODY_BYTES
            too_large = HTTPException(413, str(UploadTooLargeError("request body", limit)))
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:

            async def refusing_receive() -> Message:
                raise too_large

            await self.app(scope, refusing_receive, send)
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise too_large
            return message

        await self.app(scope, counting_receive, send)
