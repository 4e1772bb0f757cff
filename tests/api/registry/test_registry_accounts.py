"""Accounts: normalised handles, unique per platform, official accounts tied to an agency, lookup."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy.orm import Session

from api.db import Agency, Person, Platform
from api.registry import (
    DuplicateEntryError,
    InUseError,
    InvalidEntryError,
    UnknownPlatformError,
    create_account,
    create_person,
    delete_agency,
    delete_person,
    find_account,
    list_accounts,
    official_on,
    owner_on,
    update_account,
)


def test_handle_and_platform_are_normalised(db_session: Session, budi: Person) -> None:
    account = create_account(db_session, platform="TikTok", handle="@Budi.Santoso", person_id=budi.id)
    assert (account.platform, account.handle, account.is_official) == (Platform.TIKTOK, "budi.santoso", False)


@pytest.mark.parametrize(
    "handle",
    ["budi.santoso", "@Budi.Santoso", " @BUDI.SANTOSO ", "\u200b@budi.santoso", "\uff20Budi.Santoso"],
)
def test_same_handle_on_same_platform_is_a_duplicate(db_session: Session, budi: Person, handle: str) -> None:
    create_account(db_session, platform="tiktok", handle="budi.santoso", person_id=budi.id)
    with pytest.raises(DuplicateEntryError, match=r"platform\+handle 'tiktok/budi\.santoso'"):
        create_account(db_session, platform="tiktok", handle=handle, person_id=budi.id)


def test_same_handle_on_another_platform_is_fine(db_session: Session, budi: Person) -> None:
    create_account(db_session, platform="tiktok", handle="budi", person_id=budi.id)
    create_account(db_session, platform="instagram", handle="budi", person_id=budi.id)
    assert [a.platform for a in list_accounts(db_session, person_id=budi.id)] == ["instagram", "tiktok"]


def test_unknown_platform_lists_the_valid_ones(db_session: Session, budi: Person) -> None:
    with pytest.raises(UnknownPlatformError, match="'twitter'; use one of: tiktok, instagram"):
        create_account(db_session, platform="twitter", handle="budi", person_id=budi.id)


@pytest.mark.parametrize(
    ("is_official", "with_agency", "says"),
    [(True, False, "must name the agency"), (False, True, "only official accounts belong to an agency")],
)
def test_official_accounts_and_only_they_name_an_agency(
    db_session: Session,
    budi: Person,
    agencies: dict[str, Agency],
    is_official: bool,
    with_agency: bool,
    says: str,
) -> None:
    agency_id = agencies["DINKES"].id if with_agency else None
    with pytest.raises(InvalidEntryError, match=says):
        create_account(
            db_session,
            platform="instagram",
            handle="dinkes",
            person_id=budi.id,
            is_official=is_official,
            agency_id=agency_id,
        )
    db_session.flush()  # the refused account left nothing half-attached behind


def test_find_account_returns_owner_and_agency(
    db_session: Session, budi: Person, agencies: dict[str, Agency]
) -> None:
    create_account(
        db_session,
        platform="instagram",
        handle="dinkes.lumajang",
        person_id=budi.id,
        is_official=True,
        agency_id=agencies["DINKES"].id,
    )
    db_session.commit()
    db_session.expunge_all()
    account = find_account(db_session, "Instagram", "@Dinkes.Lumajang")
    assert account is not None
    db_session.expunge_all()  # relationships were loaded eagerly, not on access
    assert (account.owner.name, account.owner.agency.code, account.agency.code) == (
        "Budi Santoso",
        "PKM-01",
        "DINKES",
    )


def test_a_handle_with_invisible_or_full_width_characters_finds_the_registered_account(
    db_session: Session, budi: Person
) -> None:
    registered = create_account(
        db_session, platform="tiktok", handle="\ufeff@Budi.LMJ\u200e", person_id=budi.id
    )
    assert registered.handle == "budi.lmj"
    assert find_account(db_session, "tiktok", "\uff20\uff42\uff55\uff44\uff49.lmj\u200b") is registered


def test_find_unregistered_account_is_none(db_session: Session, budi: Person) -> None:
    create_account(db_session, platform="tiktok", handle="budi", person_id=budi.id)
    assert find_account(db_session, "youtube", "budi") is None
    assert find_account(db_session, "tiktok", "@someone_else") is None


def test_update_checks_everything_before_changing_anything(
    db_session: Session, budi: Person, agencies: dict[str, Agency]
) -> None:
    account = create_account(db_session, platform="tiktok", handle="budi", person_id=budi.id)
    with pytest.raises(InvalidEntryError, match="official"):
        update_account(db_session, account.id, handle="budi.resmi", is_official=True)
    assert (account.handle, account.is_official) == ("budi", False)
    update_account(db_session, account.id, is_official=True, agency_id=agencies["PKM-01"].id)
    assert account.agency.code == "PKM-01"


def test_a_handover_keeps_who_owned_the_account_before_it(
    db_session: Session, agencies: dict[str, Agency], budi: Person
) -> None:
    ani = create_person(db_session, nip="199001012015032001", name="Ani", agency_id=agencies["DINKES"].id)
    account = create_account(db_session, platform="tiktok", handle="pkm01.live", person_id=budi.id)
    update_account(db_session, account.id, person_id=ani.id, handed_over_on=date(2026, 5, 1))
    db_session.commit()
    assert [(p.person.name, p.until.isoformat()) for p in account.past_owners] == [
        ("Budi Santoso", "2026-05-01")
    ]
    days = (date(2026, 4, 30), date(2026, 5, 1))
    assert [owner_on(account, day).name for day in days] == ["Budi Santoso", "Ani"]
    with pytest.raises(InvalidEntryError, match="a handover needs the new owner"):
        update_account(db_session, account.id, handed_over_on=date(2026, 6, 1))
    with pytest.raises(InvalidEntryError, match=re.escape("is not after the last one recorded (2026-05-01)")):
        update_account(db_session, account.id, person_id=budi.id, handed_over_on=date(2026, 4, 1))
    with pytest.raises(InUseError, match="owned 1 accounts before their handover"):
        delete_person(db_session, budi.id)
    assert (account.owner.name, len(account.past_owners)) == ("Ani", 1)


def test_a_change_of_status_keeps_what_the_account_was_before_it(
    db_session: Session, agencies: dict[str, Agency], budi: Person
) -> None:
    """Budi's account becomes the Puskesmas' official one on 1 May: a stream of 30 April was personal."""
    account = create_account(db_session, platform="tiktok", handle="pkm01.live", person_id=budi.id)
    pkm = agencies["PKM-01"].id
    update_account(
        db_session, account.id, is_official=True, agency_id=pkm, status_changed_on=date(2026, 5, 1)
    )
    db_session.commit()
    assert [(p.is_official, p.agency, p.until.isoformat()) for p in account.past_statuses] == [
        (False, None, "2026-05-01")
    ]
    days = (date(2026, 4, 30), date(2026, 5, 1), date(2026, 6, 1))
    assert [official_on(account, day) for day in days] == [False, True, True]
    with pytest.raises(InvalidEntryError, match=re.escape("other than now (official for PKM-01)")):
        update_account(db_session, account.id, handle="pkm01", status_changed_on=date(2026, 6, 1))
    with pytest.raises(InvalidEntryError, match=re.escape("is not after the last one recorded (2026-05-01)")):
        update_account(
            db_session, account.id, is_official=False, agency_id=None, status_changed_on=date(2026, 4, 1)
        )
    assert (account.handle, account.is_official, len(account.past_statuses)) == ("pkm01.live", True, 1)
    # back to personal on 1 July: the official span keeps its agency, which cannot go while it is named
    update_account(
        db_session, account.id, is_official=False, agency_id=None, status_changed_on=date(2026, 7, 1)
    )
    assert [official_on(account, day) for day in (*days, date(2026, 7, 1))] == [False, True, True, False]
    assert account.past_statuses[-1].agency.code == "PKM-01"
    with pytest.raises(InUseError, match="1 past statuses of accounts that once spoke for it"):
        delete_agency(db_session, pkm)
    # without a day, a status corrects the one held since the last change, not those recorded before it
    update_account(db_session, account.id, is_official=True, agency_id=pkm)
    assert [official_on(account, day) for day in (date(2026, 4, 30), date(2026, 7, 1))] == [False, True]
    assert len(account.past_statuses) == 2
