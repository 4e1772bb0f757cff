"""People who sign in to the web UI: created with a role and an agency scope, passwords hashed with
argon2, and the :class:`~api.auth.Caller` a signed-in user acts as (the same checks as API keys)."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.audit import record
from api.auth import Caller
from api.db.models import ApiKeyRole, User
from api.registry import InvalidEntryError, agency_subtree_ids, get_agency
from api.registry.errors import DuplicateEntryError, InUseError, NotFoundError
from api.registry.values import parse_choice, required_text

MIN_PASSWORD_LENGTH = 10
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")
_hasher = PasswordHasher()
# Verifying against this when the username is unknown takes as long as a real check: no user probing.
_DUMMY_HASH = _hasher.hash("not a password anyone has")


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    display_name: str | None = None,
    agency_id: int | None = None,
) -> User:
    """A new user; ``InvalidEntryError`` for a bad username or a short password,
    ``DuplicateEntryError`` for a taken username. Flushed, the caller commits."""
    username = username.strip().lower()
    if not USERNAME.fullmatch(username):
        raise InvalidEntryError(
            "username", "use 3-64 of a-z, 0-9, '.', '_' or '-', starting with a letter or digit"
        )
    password_hash = _password_hash(password)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise DuplicateEntryError("user", "username", username)
    user = User(
        username=username,
        display_name=required_text("display_name", display_name or username, 200),
        password_hash=password_hash,
        role=parse_choice("role", role, ApiKeyRole),
        agency=None if agency_id is None else get_agency(session, agency_id),
    )
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, username: str) -> User:
    """The user named ``username``; ``NotFoundError`` if there is none."""
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFoundError("user", username, "username")
    return user


def update_user(
    session: Session,
    username: str,
    actor: Caller | str,
    *,
    role: str,
    display_name: str | None = None,
    agency_id: int | None = None,
) -> User:
    """Give a user another role, agency scope or display name (someone promoted or moved); their sessions
    act with it from their next request. The last administrator without an agency scope stays one.
    Audited; flushed, the caller commits."""
    user = get_user(session, username)
    new_role = parse_choice("role", role, ApiKeyRole)
    agency = None if agency_id is None else get_agency(session, agency_id)
    if new_role != ApiKeyRole.ADMINISTRATOR or agency is not None:
        _keep_an_administrator(session, user, "stop being one")
    user.role, user.agency = new_role, agency
    user.display_name = required_text("display_name", display_name or user.username, 200)
    detail = {"username": user.username, "role": new_role.value, "agency": agency.code if agency else None}
    record(session, actor, "update_user", f"user:{user.id}", detail)
    session.flush()
    return user


def set_password(session: Session, username: str, password: str, actor: Caller | str) -> User:
    """A new password for a user (forgotten, leaked, or changed by its owner): every session of theirs
    stops at its next request. Audited (never the password); flushed, the caller commits.
    Raises ``InvalidEntryError`` for a short password, ``NotFoundError`` for an unknown username."""
    user = get_user(session, username)
    user.password_hash = _password_hash(password)
    user.session_version += 1
    record(session, actor, "set_password", f"user:{user.id}", {"username": user.username})
    session.flush()
    return user


def delete_user(session: Session, username: str, actor: Caller | str) -> User:
    """Remove a user (someone who left, or whose password leaked): every session of theirs stops at its
    next request, since a session names a user that no longer exists. The last administrator without an
    agency scope stays, so that someone can still manage users. Audited with the username, as the row
    goes; flushed, the caller commits.
    Raises ``NotFoundError`` for an unknown username, ``InUseError`` for the last such administrator."""
    user = get_user(session, username)
    _keep_an_administrator(session, user, "be deleted")
    record(session, actor, "delete_user", f"user:{user.id}", {"username": user.username})
    session.delete(user)
    session.flush()
    return user


def _keep_an_administrator(session: Session, user: User, change: str) -> None:
    """Refuse (``InUseError``) a change that would leave no administrator without an agency scope, who
    alone can manage users."""
    if user.role != ApiKeyRole.ADMINISTRATOR or user.agency_id is not None:
        return
    others = select(User.id).where(
        User.role == ApiKeyRole.ADMINISTRATOR, User.agency_id.is_(None), User.id != user.id
    )
    if session.scalar(others.limit(1)) is None:
        raise InUseError(
            f"{user.username} is the last administrator of every agency and cannot {change}; "
            "create another one first"
        )


def _password_hash(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidEntryError("password", f"use at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def check_password(session: Session, username: str, password: str) -> User | None:
    """The user whose username and password these are, else None (same time either way).

    Ends the session's transaction (nothing may be pending) before the argon2 check: it takes ~0.2 s, and
    a SQLite transaction holds the write lock, so parallel sign-ins queued behind it and failed with
    "database is locked"."""
    found = session.execute(
        select(User.id, User.password_hash).where(User.username == username.strip().lower())
    ).first()
    session.rollback()
    try:
        _hasher.verify(found.password_hash if found else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    return session.get(User, found.id) if found else None  # also None if removed during the check


def end_sessions(session: Session, user_id: int, session_version: int) -> bool:
    """Signs the user out of every session cookie by raising their session version, if ``session_version``
    (the cookie's) is still current; False when it was not (that cookie had already stopped working)."""
    raised = session.execute(
        update(User)
        .where(User.id == user_id, User.session_version == session_version)
        .values(session_version=User.session_version + 1)
    )
    return raised.rowcount == 1


def caller_for(session: Session, user: User) -> Caller:
    """What a signed-in user may do and see: the API's ``Caller`` with the user's role and scope."""
    scope = None if user.agency_id is None else frozenset(agency_subtree_ids(session, user.agency_id))
    return Caller(None, user.username, user.role, scope, user_id=user.id)
