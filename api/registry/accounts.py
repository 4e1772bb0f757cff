"""Social media accounts: who owns them, and which are an agency's official accounts."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from api.db.models import Agency, Case, PastAccountStatus, PastOwnership, Person, Platform, SocialAccount
from api.registry.agencies import get_agency
from api.registry.errors import DuplicateEntryError, InUseError, InvalidEntryError
from api.registry.lookup import count_where, get_or_raise
from api.registry.people import get_person
from api.registry.values import UNSET, Unset, check_change, normalise_handle, parse_platform


def create_account(
    session: Session,
    *,
    platform: str,
    handle: str,
    person_id: int,
    is_official: bool = False,
    agency_id: int | None = None,
) -> SocialAccount:
    """Register an account; an official account names its agency, a personal one must not."""
    clean_platform, clean_handle = _free_handle(session, platform, handle)
    owner, agency = get_person(session, person_id), _agency_or_none(session, agency_id)
    _check_official(is_official, agency)
    account = SocialAccount(
        platform=clean_platform, handle=clean_handle, owner=owner, is_official=is_official, agency=agency
    )
    session.add(account)
    session.flush()
    return account


def get_account(session: Session, account_id: int) -> SocialAccount:
    return get_or_raise(session, SocialAccount, account_id, "account")


def find_account(session: Session, platform: str, handle: str) -> SocialAccount | None:
    """The registered account with its owner (and the owner's agency) and agency, or None if unregistered."""
    query = (
        select(SocialAccount)
        .where(SocialAccount.platform == parse_platform(platform))
        .where(SocialAccount.handle == normalise_handle(handle))
        .options(joinedload(SocialAccount.owner).joinedload(Person.agency), joinedload(SocialAccount.agency))
    )
    return session.scalar(query)


def list_accounts(
    session: Session, *, person_id: int | None = None, agency_ids: Collection[int] | None = None
) -> list[SocialAccount]:
    """All accounts, or those of one person, or those whose owner is in ``agency_ids``."""
    query = select(SocialAccount).order_by(SocialAccount.platform, SocialAccount.handle)
    if person_id is not None:
        query = query.where(SocialAccount.person_id == person_id)
    if agency_ids is not None:
        query = query.join(SocialAccount.owner).where(Person.agency_id.in_(agency_ids))
    return list(session.scalars(query))


def update_account(
    session: Session,
    account_id: int,
    *,
    platform: str | Unset = UNSET,
    handle: str | Unset = UNSET,
    person_id: int | Unset = UNSET,
    is_official: bool | Unset = UNSET,
    agency_id: int | Unset | None = UNSET,
    handed_over_on: date | Unset = UNSET,
    status_changed_on: date | Unset = UNSET,
) -> SocialAccount:
    """Change the given fields; the official/agency rule of :func:`create_account` still holds after.

    ``person_id`` with ``handed_over_on`` records a handover: the account was its owner's until that WIB
    day and the new owner's from it, so streams before it are still judged as the old owner's. ``person_id``
    alone corrects a wrong entry, for every stream. In the same way ``is_official`` or ``agency_id`` with
    ``status_changed_on`` records the day the account became official, stopped being so or came to speak
    for another agency; alone they correct the status it has held since its last change (every stream's,
    when none was recorded). Everything is checked before anything changes, so a refused update leaves
    the account as it was.
    """
    account = get_account(session, account_id)
    new_platform = account.platform if platform is UNSET else parse_platform(platform)
    new_handle = account.handle if handle is UNSET else normalise_handle(handle)
    if (new_platform, new_handle) != (account.platform, account.handle):
        _free_handle(session, new_platform, new_handle)
    owner = account.owner if person_id is UNSET else get_person(session, person_id)
    official = account.is_official if is_official is UNSET else is_official
    agency = account.agency if agency_id is UNSET else _agency_or_none(session, agency_id)
    _check_official(official, agency)
    if handed_over_on is not UNSET:
        needs = f"a handover needs the new owner: give person_id, another than {account.owner.nip}"
        check_change(
            "handed_over_on", handed_over_on, account.past_owners, changes=owner != account.owner, needs=needs
        )
        account.past_owners.append(PastOwnership(person=account.owner, until=handed_over_on))
    if status_changed_on is not UNSET:
        now = f"official for {account.agency.code}" if account.agency else "personal"
        needs = f"a change of status needs the new one: give is_official or agency_id, other than now ({now})"
        changes = (official, agency) != (account.is_official, account.agency)
        check_change(
            "status_changed_on", status_changed_on, account.past_statuses, changes=changes, needs=needs
        )
        was = PastAccountStatus(
            is_official=account.is_official, agency=account.agency, until=status_changed_on
        )
        account.past_statuses.append(was)
    account.platform, account.handle, account.owner = new_platform, new_handle, owner
    account.is_official, account.agency = official, agency
    session.flush()
    return account


def delete_account(session: Session, account_id: int) -> None:
    """Remove an account that no case refers to."""
    account = get_account(session, account_id)
    cases = count_where(session, Case, Case.account_id == account_id)
    if cases:
        raise InUseError(
            f"account {account.platform}/{account.handle} is named in {cases} cases; purge them first"
        )
    session.delete(account)
    session.flush()


def owner_on(account: SocialAccount, day: date) -> Person:
    """Who owned ``account`` on the WIB ``day``: the first past owner whose ownership lasted beyond it,
    else its owner now."""
    return next((p.person for p in account.past_owners if day < p.until), account.owner)


def official_on(account: SocialAccount, day: date) -> bool:
    """Whether ``account`` was official on the WIB ``day``: the first past status that lasted beyond it,
    else its status now."""
    return next((p.is_official for p in account.past_statuses if day < p.until), account.is_official)


def _free_handle(session: Session, platform: str, handle: str) -> tuple[Platform, str]:
    clean_platform, clean_handle = parse_platform(platform), normalise_handle(handle)
    taken = select(SocialAccount.id).where(
        SocialAccount.platform == clean_platform, SocialAccount.handle == clean_handle
    )
    if session.scalar(taken) is not None:
        raise DuplicateEntryError("account", "platform+handle", f"{clean_platform}/{clean_handle}")
    return clean_platform, clean_handle


def _agency_or_none(session: Session, agency_id: int | None) -> Agency | None:
    return None if agency_id is None else get_agency(session, agency_id)


def _check_official(is_official: bool, agency: Agency | None) -> None:
    if is_official and agency is None:
        raise InvalidEntryError("agency_id", "an official account must name the agency it speaks for")
    if not is_official and agency is not None:
        raise InvalidEntryError(
            "agency_id", "only official accounts belong to an agency; leave it empty or set is_official"
        )
