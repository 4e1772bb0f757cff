"""CSV import: everything or nothing, every failing row reported by its spreadsheet row number."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.db import Agency, Person, SocialAccount
from api.registry import create_agency, find_account, get_person_by_nip, import_registry_csv, list_assignments

HEADER = "type,code,name,parent_code,nip,agency_code,platform,handle,owner_nip,is_official"
GOOD_ROWS = [
    "agency,DINKES,Dinas Kesehatan,,,,,,,",
    "agency,PKM-01,Puskesmas Sukodono,dinkes,,,,,,",
    "person,,Budi Santoso,,19850714 201001 1 002,PKM-01,,,,",
    'person,,"Ani, S.Kep",,199001012015032001,DINKES,,,,',
    "account,,,,,,TikTok,@Budi.Santoso,198507142010011002,",
    "account,,,,,DINKES,instagram,dinkes.lumajang,199001012015032001,ya",
]


def _csv(rows: list[str], header: str = HEADER, delimiter: str = ",", bom: str = "") -> bytes:
    lines = [header, *rows]
    return (bom + "\n".join(line.replace(",", delimiter) for line in lines) + "\n").encode("utf-8")


def _counts(session: Session) -> tuple[int, int, int]:
    return tuple(
        session.scalar(select(func.count()).select_from(m)) or 0 for m in (Agency, Person, SocialAccount)
    )


def test_happy_path_imports_everything(db_session: Session) -> None:
    report = import_registry_csv(db_session, _csv(GOOD_ROWS))
    db_session.commit()
    assert (report.ok, report.imported, report.errors) == (True, True, [])
    assert (report.agencies, report.people, report.accounts) == (2, 2, 2)
    assert _counts(db_session) == (2, 2, 2)
    budi = get_person_by_nip(db_session, "198507142010011002")
    assert (budi.name, budi.agency.code, budi.agency.parent.code) == ("Budi Santoso", "PKM-01", "DINKES")
    official = find_account(db_session, "instagram", "dinkes.lumajang")
    assert official is not None and official.is_official and official.agency.code == "DINKES"


@pytest.mark.parametrize(
    ("delimiter", "bom"), [(";", ""), (",", "\ufeff"), (";", "\ufeff")], ids=["semicolon", "bom", "excel-id"]
)
def test_spreadsheet_exports_are_read(db_session: Session, delimiter: str, bom: str) -> None:
    rows = [r for r in GOOD_ROWS if '"' not in r and "199001012015032001" not in r]
    report = import_registry_csv(db_session, _csv(rows, delimiter=delimiter, bom=bom))
    assert report.errors == []
    assert (report.agencies, report.people, report.accounts) == (2, 1, 1)


@pytest.mark.parametrize(
    ("bad_row", "says"),
    [
        (
            "person,,Cahyo,,19850714201001100,PKM-01,,,,",
            "not a valid NIP: expected exactly 18 digits, got 17",
        ),
        ("person,,Cahyo,,198513142010011002,PKM-01,,,,", "must be a birth date YYYYMMDD"),
        ("person,,Cahyo,,199203042016041003,DINSOS,,,,", "no agency with code 'DINSOS'"),
        ("agency,PKM-02,Puskesmas Pasirian,DINSOS,,,,,,", "no agency with code 'DINSOS'"),
        ("agency,dinkes,Dinas Kesehatan Lagi,,,,,,,", "agency with code 'DINKES' already exists"),
        (
            "person,,Budi Lagi,,198507142010011002,PKM-01,,,,",
            "person with nip '198507142010011002' already exists",
        ),
        ("account,,,,,,tiktok,budi.santoso,199001012015032001,", "'tiktok/budi.santoso' already exists"),
        ("account,,,,,,twitter,budi,198507142010011002,", "unknown platform 'twitter'; use one of: tiktok"),
        ("account,,,,,,tiktok,cahyo,199203042016041003,", "no person with nip '199203042016041003'"),
        ("account,,,,,,tiktok,cahyo,198507142010011002,maybe", "'maybe' is not yes or no"),
        ("account,,,,,,instagram,pkm01,198507142010011002,yes", "official account must name the agency"),
        ("pegawai,,Cahyo,,199203042016041003,PKM-01,,,,", "'pegawai' is not a row type; use one of: agency"),
        ("person,,Cahyo,,199203042016041003,,,,,", "agency_code: a person row needs nip, name, agency_code"),
        ("person,PKM-01,Cahyo,,199203042016041003,PKM-01,,,,", "code: not used by a person row"),
        ("person,,Cahyo,,199203042016041003,PKM-01,,,,,extra", "11 fields but the header has 10"),
        ('agency,DINSOS,"Dinas Sosial,,,,,,,', "a cell that starts with a quote must end with one"),
        ('agency,DINSOS,"Dinas" Sosial,,,,,,,', "cannot be read as CSV"),
        ('agency,DINSOS,"Dinas\nSosial",,,,,,,', "name: has a line break or other control character"),
    ],
)
def test_each_failing_row_is_reported_and_nothing_is_imported(
    db_session: Session, bad_row: str, says: str
) -> None:
    report = import_registry_csv(db_session, _csv([*GOOD_ROWS, bad_row]))
    db_session.commit()
    assert [(e.row, says in e.message) for e in report.errors] == [(8, True)], report.errors
    assert (report.ok, report.imported) == (False, False)
    assert _counts(db_session) == (0, 0, 0)


def test_all_failing_rows_are_listed_with_their_numbers(db_session: Session) -> None:
    rows = [*GOOD_ROWS, "person,,Cahyo,,123,PKM-01,,,,", "", "agency,BKPSDM,,,,,,,,", "account,,,,,,x,@@,,"]
    report = import_registry_csv(db_session, _csv(rows))
    assert [e.row for e in report.errors] == [8, 10, 11]
    assert str(report.errors[0]).startswith("row 8: nip: '123' is not a valid NIP")


def test_a_quote_left_open_is_its_row_not_a_cell_swallowing_the_rest(db_session: Session) -> None:
    rows = ['agency,DINSOS,"Dinas Sosial,,,,,,,', *GOOD_ROWS]
    report = import_registry_csv(db_session, _csv(rows))
    db_session.commit()
    assert [e.row for e in report.errors] == [2]
    assert (
        "must end with one" in report.errors[0].message
        and "Later rows were not read" in report.errors[0].message
    )
    assert _counts(db_session) == (0, 0, 0)


def test_existing_entries_count_as_duplicates_and_survive(db_session: Session) -> None:
    create_agency(db_session, code="DINKES", name="Dinas Kesehatan")
    db_session.commit()
    report = import_registry_csv(db_session, _csv(GOOD_ROWS))
    db_session.commit()
    assert [e.row for e in report.errors] == [2]
    assert _counts(db_session) == (1, 0, 0)


@pytest.mark.parametrize(
    ("header", "says"),
    [
        ("code,name,parent_code", "no 'type' column"),
        ("type,code,name,agency_cod", "unknown columns ['agency_cod']"),
    ],
)
def test_bad_header_is_row_1(db_session: Session, header: str, says: str) -> None:
    report = import_registry_csv(db_session, _csv(["agency,DINKES,Dinas Kesehatan"], header=header))
    assert [(e.row, says in e.message) for e in report.errors] == [(1, True)]


def test_preview_validates_without_importing(db_session: Session) -> None:
    report = import_registry_csv(db_session, _csv(GOOD_ROWS), preview=True)
    db_session.commit()
    assert (report.ok, report.imported, report.preview) == (True, False, True)
    assert (report.agencies, report.people, report.accounts) == (2, 2, 2)
    assert _counts(db_session) == (0, 0, 0)


def test_preview_reports_errors_too(db_session: Session) -> None:
    report = import_registry_csv(db_session, _csv([*GOOD_ROWS, "person,,X,,1,PKM-01,,,,"]), preview=True)
    assert [e.row for e in report.errors] == [8]


def test_failed_import_keeps_earlier_work_of_the_same_transaction(db_session: Session) -> None:
    create_agency(db_session, code="BKPSDM", name="Badan Kepegawaian")
    import_registry_csv(db_session, _csv([*GOOD_ROWS, "person,,X,,1,PKM-01,,,,"]))
    db_session.commit()
    assert [a.code for a in db_session.scalars(select(Agency))] == ["BKPSDM"]


ROSTER_HEADER = "type,nip,starts_at,ends_at,reference,tz"
NIGHT_SHIFT = "shift,198507142010011002,2026-04-14 22:00,2026-04-15 06:00,,Asia/Jakarta"


@pytest.fixture
def registered(db_session: Session) -> None:
    assert import_registry_csv(db_session, _csv(GOOD_ROWS)).imported
    db_session.commit()


@pytest.mark.usefixtures("registered")
def test_a_roster_and_leave_records_are_imported_as_spans(db_session: Session) -> None:
    rows = [
        NIGHT_SHIFT,
        "leave,19850714 201001 1 002,2026-04-20T00:00+07:00,2026-04-23T00:00+07:00,cuti tahunan,",
        # A cell's own offset wins over the row's zone.
        "assignment,199001012015032001,2026-04-18T08:00+08:00,2026-04-18T12:00+08:00,ST/12/2026,Asia/Jakarta",
    ]
    report = import_registry_csv(db_session, _csv(rows, header=ROSTER_HEADER))
    db_session.commit()
    assert (report.imported, report.assignments, report.people) == (True, 3, 0)
    spans = [
        (a.person.nip, a.kind, a.starts_at.isoformat(), a.ends_at.isoformat(), a.reference)
        for a in list_assignments(db_session)
    ]
    assert spans == [
        ("198507142010011002", "shift", "2026-04-14T15:00:00+00:00", "2026-04-14T23:00:00+00:00", None),
        (
            "199001012015032001",
            "assignment",
            "2026-04-18T00:00:00+00:00",
            "2026-04-18T04:00:00+00:00",
            "ST/12/2026",
        ),
        (
            "198507142010011002",
            "leave",
            "2026-04-19T17:00:00+00:00",
            "2026-04-22T17:00:00+00:00",
            "cuti tahunan",
        ),
    ]


@pytest.mark.usefixtures("registered")
@pytest.mark.parametrize(
    ("bad_row", "says"),
    [
        (
            "shift,198507142010011002,2026-04-15 22:00,2026-04-16 06:00,,",
            "starts_at: '2026-04-15 22:00' has no UTC offset",
        ),
        (
            "shift,198507142010011002,2026-04-15 22:00,2026-04-16 06:00,,WIB",
            "tz: 'WIB' is not an IANA time zone",
        ),
        (
            "shift,198507142010011002,2026-04-15 25:00,2026-04-16 06:00,,Asia/Jakarta",
            "is not an ISO 8601 time",
        ),
        (
            "leave,198507142010011002,2026-04-20T00:00+07:00,2026-04-19T00:00+07:00,,",
            "is not after starts_at",
        ),
        ("leave,198507142010011002,2026-04-20T00:00+07:00,9999-12-31T00:00+07:00,,", "cannot be open-ended"),
        ("leave,199203042016041003,2026-04-20T00:00+07:00,2026-04-21T00:00+07:00,,", "no person with nip"),
        (
            "cuti,198507142010011002,2026-04-20T00:00+07:00,2026-04-21T00:00+07:00,,",
            "'cuti' is not a row type",
        ),
        ("leave,198507142010011002,2026-04-20T00:00+07:00,,,", "a leave row needs nip, starts_at, ends_at"),
        (NIGHT_SHIFT, "span with person, kind and times '198507142010011002 shift 2026-04-14T15:00:00+00:00"),
    ],
)
def test_each_failing_span_row_is_reported_and_nothing_is_imported(
    db_session: Session, bad_row: str, says: str
) -> None:
    report = import_registry_csv(db_session, _csv([NIGHT_SHIFT, bad_row], header=ROSTER_HEADER))
    db_session.commit()
    assert [(e.row, says in e.message) for e in report.errors] == [(3, True)], report.errors
    assert list_assignments(db_session) == []


@pytest.mark.usefixtures("registered")
def test_a_roster_imported_twice_is_refused_the_second_time(db_session: Session) -> None:
    roster = _csv([NIGHT_SHIFT], header=ROSTER_HEADER)
    assert import_registry_csv(db_session, roster, preview=True).assignments == 1
    assert list_assignments(db_session) == []
    assert import_registry_csv(db_session, roster).imported
    again = import_registry_csv(db_session, roster)
    assert [(e.row, "already exists" in e.message) for e in again.errors] == [(2, True)]
    assert len(list_assignments(db_session)) == 1


MOVE_HEADER = "type,nip,agency_code,moved_on"


@pytest.mark.usefixtures("registered")
def test_a_mutasi_decree_moves_people_and_keeps_where_they_served(db_session: Session) -> None:
    rows = ["move,198507142010011002,DINKES,2026-04-20", "move,199001012015032001,PKM-01,2026-04-20"]
    report = import_registry_csv(db_session, _csv(rows, header=MOVE_HEADER))
    db_session.commit()
    assert (report.imported, report.moves) == (True, 2)
    budi = get_person_by_nip(db_session, "198507142010011002")
    assert (budi.agency.code, [(p.agency.code, p.until.isoformat()) for p in budi.past_postings]) == (
        "DINKES",
        [("PKM-01", "2026-04-20")],
    )


@pytest.mark.usefixtures("registered")
@pytest.mark.parametrize(
    ("bad_row", "says"),
    [
        (
            "move,198507142010011002,DINKES,20/04/2026",
            "moved_on: '20/04/2026' is not a day; write it as YYYY-MM-DD",
        ),
        ("move,198507142010011002,DINSOS,2026-04-20", "no agency with code 'DINSOS'"),
        ("move,198507142010011002,PKM-01,2026-04-20", "a move needs the agency moved to"),
        ("move,198507142010011002,,2026-04-20", "a move row needs nip, agency_code, moved_on"),
    ],
)
def test_a_bad_move_row_is_reported_and_nothing_moves(db_session: Session, bad_row: str, says: str) -> None:
    rows = ["move,199001012015032001,PKM-01,2026-04-20", bad_row]
    report = import_registry_csv(db_session, _csv(rows, header=MOVE_HEADER))
    db_session.commit()
    assert [(e.row, says in e.message) for e in report.errors] == [(3, True)], report.errors
    assert get_person_by_nip(db_session, "199001012015032001").agency.code == "DINKES"


HANDOVER_HEADER = "type,platform,handle,owner_nip,handed_over_on"


@pytest.mark.usefixtures("registered")
def test_an_account_handover_row_keeps_who_owned_it_before(db_session: Session) -> None:
    rows = ["handover,instagram,@Dinkes.Lumajang,198507142010011002,2026-05-04"]
    report = import_registry_csv(db_session, _csv(rows, header=HANDOVER_HEADER))
    db_session.commit()
    assert (report.imported, report.handovers) == (True, 1)
    account = find_account(db_session, "instagram", "dinkes.lumajang")
    assert account is not None and account.owner.nip == "198507142010011002"
    assert [(p.person.nip, p.until.isoformat()) for p in account.past_owners] == [
        ("199001012015032001", "2026-05-04")
    ]


STATUS_HEADER = "type,platform,handle,status_changed_on,is_official,agency_code"


@pytest.mark.usefixtures("registered")
def test_a_status_row_keeps_what_the_account_was_before_it(db_session: Session) -> None:
    """DINKES' official account stops being one on 1 June, then is PKM-01's from 1 July."""
    rows = [
        "status,instagram,dinkes.lumajang,2026-06-01,no,",
        "status,instagram,dinkes.lumajang,2026-07-01,yes,PKM-01",
    ]
    report = import_registry_csv(db_session, _csv(rows, header=STATUS_HEADER))
    db_session.commit()
    assert (report.imported, report.status_changes) == (True, 2), report.errors
    account = find_account(db_session, "instagram", "dinkes.lumajang")
    assert account is not None and (account.is_official, account.agency.code) == (True, "PKM-01")
    past = [
        (p.is_official, p.agency.code if p.agency else None, p.until.isoformat())
        for p in account.past_statuses
    ]
    assert past == [(True, "DINKES", "2026-06-01"), (False, None, "2026-07-01")]


@pytest.mark.usefixtures("registered")
@pytest.mark.parametrize(
    ("bad_row", "says"),
    [
        ("status,instagram,nobody,2026-06-01,no,", "no account"),
        ("status,instagram,dinkes.lumajang,2026-06-01,yes,PKM-01", "other than now (official for PKM-01)"),
        ("status,instagram,dinkes.lumajang,2026-06-01,yes,", "must name the agency it speaks for"),
        ("status,instagram,dinkes.lumajang,1.6.2026,no,", "is not a day; write it as YYYY-MM-DD"),
    ],
)
def test_a_bad_status_row_is_reported_and_nothing_changes(
    db_session: Session, bad_row: str, says: str
) -> None:
    rows = ["status,instagram,dinkes.lumajang,2026-05-01,yes,PKM-01", bad_row]
    report = import_registry_csv(db_session, _csv(rows, header=STATUS_HEADER))
    db_session.commit()
    assert [(e.row, says in e.message) for e in report.errors] == [(3, True)], report.errors
    account = find_account(db_session, "instagram", "dinkes.lumajang")
    assert account is not None and (account.agency.code, account.past_statuses) == ("DINKES", [])


@pytest.mark.usefixtures("registered")
@pytest.mark.parametrize(
    ("bad_row", "says"),
    [
        (
            "handover,tiktok,nobody,198507142010011002,2026-05-04",
            "no account with platform/handle 'tiktok/nobody'",
        ),
        (
            "handover,tiktok,budi.santoso,199203042016041003,2026-05-04",
            "no person with nip '199203042016041003'",
        ),
        ("handover,tiktok,budi.santoso,198507142010011002,2026-05-04", "a handover needs the new owner"),
        (
            "handover,tiktok,budi.santoso,199001012015032001,4 Mei 2026",
            "handed_over_on: '4 Mei 2026' is not a day",
        ),
    ],
)
def test_a_bad_handover_row_is_reported_and_nothing_changes_hands(
    db_session: Session, bad_row: str, says: str
) -> None:
    rows = ["handover,instagram,dinkes.lumajang,198507142010011002,2026-05-04", bad_row]
    report = import_registry_csv(db_session, _csv(rows, header=HANDOVER_HEADER))
    db_session.commit()
    assert [(e.row, says in e.message) for e in report.errors] == [(3, True)], report.errors
    account = find_account(db_session, "instagram", "dinkes.lumajang")
    assert account is not None and (account.owner.nip, account.past_owners) == ("199001012015032001", [])
