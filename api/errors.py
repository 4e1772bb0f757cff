"""The service's own errors, and the one place every known error becomes a 4xx ``{"detail": "..."}``.

Each message says what the caller should fix; bad input never surfaces as a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, StatementError
from starlette.exceptions import HTTPException

from api.db.types import NaiveDatetimeError, UnstorableTextError
from api.policy import NaiveTimestampError
from api.registry.errors import DuplicateEntryError, InUseError, NotFoundError, RegistryError
from detector.images import ImageError
from detector.model import InvalidImageError
from detector.video import VideoError

log = logging.getLogger(__name__)


class UnauthenticatedError(Exception):
    """No API key, or one the service does not know."""


class ForbiddenError(Exception):
    """The key's role does not allow the action."""


class ResourceNotFoundError(LookupError):
    """No such case, job or evidence frame, or one outside the caller's agencies (never told apart)."""

    def __init__(
        self, entity: str, key: object, hint: str = "check the id (you only see those of your own agencies)"
    ) -> None:
        super().__init__(f"no {entity} {key}; {hint}")


class FileGoneError(LookupError):
    """A row names a stored file that is no longer there (deleted by retention or on request, or lost from
    the disk); the message says which."""


class UploadTooLargeError(Exception):
    def __init__(self, what: str, limit: int) -> None:
        super().__init__(
            f"the {what} is larger than the limit of {limit:,} bytes; send a smaller or shorter one"
        )


class UnsupportedMediaTypeError(Exception):
    def __init__(self, got: str | None, expected: str) -> None:
        super().__init__(f"content type {got or 'none'} is not accepted here; send {expected}")


class InvalidUploadError(ValueError):
    """An upload that cannot be used (empty, zero-length, unusable video); the message says why."""


class InvalidTimestampError(ValueError):
    """A timestamp that cannot be parsed, names an unknown zone, or lies in the future."""


OUT_OF_RANGE = (
    "a number or date in the request is out of range (ids are whole numbers below 2**31, times lie "
    "between the years 2000 and 9999); check the values you sent"
)


def out_of_range(error: Exception) -> str | None:
    """The message for an error the database or ``datetime`` raised on a value too large to hold (an id
    of 2**63, a date past the year 9999), whether raised as it is or wrapped by SQLAlchemy; None for
    any other error."""
    cause = error.orig if isinstance(error, StatementError) else error
    if isinstance(cause, OverflowError) or isinstance(error, DataError):
        return OUT_OF_RANGE if isinstance(cause, OverflowError) else f"a value cannot be stored: {cause}"
    return None


# The registry checks for a taken value or for dependants before it writes, but under PostgreSQL's READ
# COMMITTED a concurrent request's uncommitted insert or delete is invisible to that check and only the
# database's constraint catches it (SQLite's BEGIN IMMEDIATE serialises writers, so there the check
# decides). Only these constraints are mapped: any other IntegrityError is a bug and stays a 500.
_UNIQUE_FIELDS = {
    "uq_agencies_code": ("agency", "code"),
    "uq_people_nip": ("person", "nip"),
    "uq_social_accounts_platform_handle": ("account", "platform+handle"),
    "uq_users_username": ("user", "username"),
}
# Foreign keys are named fk_<table>_<column>_<referred table>; these refer to registry entries.
_REGISTRY_REFERENCES = ("_agencies", "_people", "_social_accounts")
_UNIQUE_VIOLATION, _FOREIGN_KEY_VIOLATION = "23505", "23503"  # PostgreSQL's SQLSTATEs (SQLite has none)


def concurrent_change(error: IntegrityError) -> str | None:
    """The message for a registry write that lost a race with another request (a unique value taken, or
    an entry it refers to removed or still referred to, at the same time); None for any other error."""
    sqlstate = getattr(error.orig, "sqlstate", None)
    constraint = getattr(getattr(error.orig, "diag", None), "constraint_name", None) or ""
    if sqlstate == _UNIQUE_VIOLATION and constraint in _UNIQUE_FIELDS:
        entity, field = _UNIQUE_FIELDS[constraint]
        return (
            f"a {entity} with this {field} already exists (another request added it just now); "
            f"{field} must be unique"
        )
    if (
        sqlstate == _FOREIGN_KEY_VIOLATION
        and constraint.startswith("fk_")
        and constraint.endswith(_REGISTRY_REFERENCES)
    ):
        return (
            "another request changed the registry entries this refers to at the same time; "
            "try again (the registry will then say if something is in the way)"
        )
    return None


_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (UnauthenticatedError, 401),
    (ForbiddenError, 403),
    (ResourceNotFoundError, 404),
    (NotFoundError, 404),
    (DuplicateEntryError, 409),
    (InUseError, 409),
    (FileGoneError, 410),
    (UploadTooLargeError, 413),
    (UnsupportedMediaTypeError, 415),
    (RegistryError, 422),
    (InvalidUploadError, 422),
    (InvalidTimestampError, 422),
    (NaiveTimestampError, 422),
    (NaiveDatetimeError, 422),
    (ImageError, 422),
    (InvalidImageError, 422),
    (VideoError, 422),
    (UnstorableTextError, 422),
)


def status_of(error: Exception) -> int | None:
    """The HTTP status a known error maps to; None for anything else (a real 500)."""
    return next((status for kind, status in _STATUS if isinstance(error, kind)), None)


def install_error_handlers(app: FastAPI) -> None:
    async def known_error(request: Request, error: Exception) -> JSONResponse:
        status = status_of(error) or 500
        headers = {"WWW-Authenticate": "X-API-Key"} if status == 401 else None
        log.info("refused with %d: %s", status, error)
        return JSONResponse({"detail": str(error)}, status_code=status, headers=headers)

    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(part) for part in e['loc'] if part not in ('body', 'query', 'path'))}: {e['msg']}"
            for e in error.errors()
        ]
        detail = "; ".join(problems) + " (uploads are multipart/form-data; see /docs for the fields)"
        log.info("refused with 422: %s", detail)
        return JSONResponse({"detail": detail}, status_code=422)

    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        return JSONResponse({"detail": error.detail}, status_code=error.status_code, headers=error.headers)

    def refusing(
        describe: Callable[[Any], str | None], status: int
    ) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
        """A handler that refuses with ``status`` the errors ``describe`` has a message for; any other
        error of the kind is raised again (a 500)."""

        async def refuse(request: Request, error: Exception) -> JSONResponse:
            detail = describe(error)
            if detail is None:
                raise error
            log.info("refused with %d: %s (%s)", status, detail, error)
            return JSONResponse({"detail": detail}, status_code=status)

        return refuse

    for kind, _ in _STATUS:
        app.add_exception_handler(kind, known_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(HTTPException, http_error)
    for kind in (OverflowError, StatementError):
        app.add_exception_handler(kind, refusing(out_of_range, 422))
    app.add_exception_handler(IntegrityError, refusing(concurrent_change, 409))
