"""Import registry entries from one CSV file, all or nothing: agencies, people, accounts, surat tugas,
leave and shifts, moves, account handovers and changes of an account's status.

Format: UTF-8 (a spreadsheet's BOM is fine), comma- or semicolon-separated, one header row. The ``type``
column says what each row registers and which other columns it fills; every other column stays empty::

    type,code,name,parent_code,nip,agency_code,platform,handle,owner_nip,is_official
    agency,DINKES,Dinas Kesehatan,,,,,,,
    agency,PKM-01,Puskesmas Sukodono,DINKES,,,,,,
    person,,Budi Santoso,,198507142010011002,PKM-01,,,,
    account,,,,,,tiktok,@Budi.Santoso,198507142010011002,
    account,,,,,DINKES,instagram,dinkes.lumajang,198507142010011002,yes

A header names only the columns its rows use, so a shift roster or a leave export from the attendance
app (SiPERLU) is a file of its own::

    type,nip,starts_at,ends_at,reference,tz
    shift,198507142010011002,2026-04-14 22:00,2026-04-15 06:00,,Asia/Jakarta
    leave,198507142010011002,2026-04-20T00:00+07:00,2026-04-23T00:00+07:00,cuti tahunan,

=============================  ==========================================  =============================
type                           required                                    optional
=============================  ==========================================  =============================
agency                         code, name                                  parent_code
person                         nip, name, agency_code                      (none)
account                        platform, handle, owner_nip                 is_official (yes/no),
                                                                           agency_code
assignment, leave, shift       nip, starts_at, ends_at                     reference, tz
move                           nip, agency_code, moved_on                  (none)
handover                       platform, handle, owner_nip, handed_over_on (none)
status                         platform, handle, status_changed_on         is_official (yes/no),
                                                                           agency_code
=============================  ==========================================  =============================

``assignment`` is a surat tugas (duty time), ``leave`` is leave, ``shift`` one rostered shift. Their
times are ISO 8601 with an offset (``2026-04-14T22:00+07:00``), or without one when the row's ``tz``
names the IANA zone they are written in (``Asia/Jakarta`` for WIB). A ``move`` row records a mutasi
(``update_person`` with ``moved_on``): from the WIB day ``moved_on`` (``2026-04-20``) the person serves in
``agency_code``, and streams before it are judged by the agency they served in then. A ``handover`` row
records an account handed over (``update_account`` with ``handed_over_on``): from that day it is
``owner_nip``'s, and streams before it are judged as its owner's then. A ``status`` row records the day
an account became official (``is_official`` yes, with the ``agency_code`` it speaks for) or stopped being
so (``update_account`` with ``status_changed_on``): streams before it are judged by its status then.

A row may refer to agencies and people registered before or defined in an earlier row (parents first).
Rows are numbered as a spreadsheet shows them: the header is row 1. When any row fails, nothing is
imported and the report lists every failing row; ``preview=True`` validates the same way and imports
nothing. The import runs in a savepoint of the caller's transaction: the caller commits, as with every
registry function.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from api.db.models import AssignmentKind, SocialAccount
from api.registry.accounts import create_account, find_account, update_account
from api.registry.agencies import create_agency, get_agency_by_code
from api.registry.assignments import create_assignment
from api.registry.errors import InvalidEntryError, NotFoundError, RegistryError
from api.registry.people import create_person, get_person_by_nip, update_person

_SPAN = ("nip", "starts_at", "ends_at")
REQUIRED = {
    "agency": ("code", "name"),
    "person": ("nip", "name", "agency_code"),
    "account": ("platform", "handle", "owner_nip"),
    **{kind.value: _SPAN for kind in AssignmentKind},
    "move": ("nip", "agency_code", "moved_on"),
    "handover": ("platform", "handle", "owner_nip", "handed_over_on"),
    "status": ("platform", "handle", "status_changed_on"),
}
OPTIONAL = {
    "agency": ("parent_code",),
    "person": (),
    "account": ("is_official", "agency_code"),
    **{kind.value: ("reference", "tz") for kind in AssignmentKind},
    "move": (),
    "handover": (),
    "status": ("is_official", "agency_code"),
}
COLUMNS = (
    "type",
    "code",
    "name",
    "parent_code",
    "nip",
    "agency_code",
    "platform",
    "handle",
    "owner_nip",
    "is_official",
    "starts_at",
    "ends_at",
    "reference",
    "tz",
    "moved_on",
    "handed_over_on",
    "status_changed_on",
)
TRUE_WORDS, FALSE_WORDS = {"yes", "ya", "true", "1", "y"}, {"no", "tidak", "false", "0", "n", ""}


@dataclass(frozen=True)
class RowError:
    row: int
    message: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.message}"


@dataclass
class ImportReport:
    """What an import did: entries created (or, in preview or on failure, that passed) and row errors."""

    preview: bool
    agencies: int = 0
    people: int = 0
    accounts: int = 0
    assignments: int = 0  # surat tugas, leave and shifts
    moves: int = 0
    handovers: int = 0
    status_changes: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def imported(self) -> bool:
        return self.ok and not self.preview

    def counts(self) -> dict[str, int]:
        """The entries by kind, as the API, the import page and the audit entry give them."""
        return {
            "agencies": self.agencies,
            "people": self.people,
            "accounts": self.accounts,
            "assignments": self.assignments,
            "moves": self.moves,
            "handovers": self.handovers,
            "status_changes": self.status_changes,
        }


def import_registry_csv(session: Session, data: bytes, *, preview: bool = False) -> ImportReport:
    """Validate every row of the CSV file ``data`` and, unless ``preview`` or any row failed, register
    them all."""
    report = ImportReport(preview=preview)
    rows = _read_rows(data, report)
    if report.errors:
        return report
    savepoint = session.begin_nested()
    try:
        for number, row in rows:
            _import_row(session, number, row, report)
    except BaseException:
        savepoint.rollback()
        raise
    if report.errors or preview:
        savepoint.rollback()
    else:
        savepoint.commit()
    return report


def _read_rows(data: bytes, report: ImportReport) -> list[tuple[int, dict[str, str]]]:
    try:
        return _rows(data.decode("utf-8-sig"), report)
    except UnicodeDecodeError:
        raise InvalidEntryError("file", "the file is not UTF-8 text; save it as 'CSV UTF-8'") from None
    except csv.Error as exc:
        raise InvalidEntryError("file", f"the file is not a readable CSV table ({exc})") from None


def _rows(text: str, report: ImportReport) -> list[tuple[int, dict[str, str]]]:
    with io.StringIO(text, newline="") as file:
        header_line = file.readline()
        file.seek(0)
        delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
        # Strict: a quote left open would otherwise swallow every later row into one cell, silently.
        reader = csv.reader(file, delimiter=delimiter, strict=True)
        header = [name.strip().lower() for name in next(reader, [])]
        _check_header(header, report)
        return _records(reader, header, report)


def _records(
    reader: Iterator[list[str]], header: list[str], report: ImportReport
) -> list[tuple[int, dict[str, str]]]:
    """The non-empty rows after the header, numbered; reading stops at the first row that is not CSV."""
    rows: list[tuple[int, dict[str, str]]] = []
    number = 1
    try:
        for number, values in enumerate(reader, start=2):
            if not any(value.strip() for value in values):
                continue
            if len(values) > len(header):
                report.errors.append(
                    RowError(number, f"{len(values)} fields but the header has {len(header)}")
                )
                continue
            rows.append((number, {name: value.strip() for name, value in zip(header, values, strict=False)}))
    except csv.Error as exc:
        report.errors.append(
            RowError(
                number + 1,
                f"cannot be read as CSV ({exc}); a cell that starts with a quote must end with one, "
                "and nothing may follow the closing quote. Later rows were not read",
            )
        )
    return rows


def _check_header(header: list[str], report: ImportReport) -> None:
    unknown = [name for name in header if name not in COLUMNS]
    if "type" not in header:
        report.errors.append(
            RowError(1, f"no 'type' column; the header needs type and any of: {', '.join(COLUMNS)}")
        )
    if unknown:
        report.errors.append(RowError(1, f"unknown columns {unknown}; known columns: {', '.join(COLUMNS)}"))


def _import_row(session: Session, number: int, row: dict[str, str], report: ImportReport) -> None:
    try:
        kind = _check_columns(row)
        if kind == "agency":
            _import_agency(session, row)
            report.agencies += 1
        elif kind == "person":
            _import_person(session, row)
            report.people += 1
        elif kind == "account":
            _import_account(session, row)
            report.accounts += 1
        elif kind == "move":
            _import_move(session, row)
            report.moves += 1
        elif kind == "handover":
            _import_handover(session, row)
            report.handovers += 1
        elif kind == "status":
            _import_status(session, row)
            report.status_changes += 1
        else:
            _import_span(session, kind, row)
            report.assignments += 1
    except RegistryError as error:
        report.errors.append(RowError(number, str(error)))


def _check_columns(row: dict[str, str]) -> str:
    kind = row.get("type", "").lower()
    if kind not in REQUIRED:
        raise InvalidEntryError("type", f"{kind!r} is not a row type; use one of: {', '.join(REQUIRED)}")
    missing = [name for name in REQUIRED[kind] if not row.get(name)]
    if missing:
        raise InvalidEntryError(", ".join(missing), f"a {kind} row needs {', '.join(REQUIRED[kind])}")
    allowed = {"type", *REQUIRED[kind], *OPTIONAL[kind]}
    stray = [name for name, value in row.items() if value and name not in allowed]
    if stray:
        raise InvalidEntryError(", ".join(stray), f"not used by a {kind} row; leave empty (columns shifted?)")
    return kind


def _import_agency(session: Session, row: dict[str, str]) -> None:
    parent_code = row.get("parent_code")
    parent_id = get_agency_by_code(session, parent_code).id if parent_code else None
    create_agency(session, code=row["code"], name=row["name"], parent_id=parent_id)


def _import_person(session: Session, row: dict[str, str]) -> None:
    agency = get_agency_by_code(session, row["agency_code"])
    create_person(session, nip=row["nip"], name=row["name"], agency_id=agency.id)


def _import_account(session: Session, row: dict[str, str]) -> None:
    owner = get_person_by_nip(session, row["owner_nip"])
    agency_code = row.get("agency_code")
    create_account(
        session,
        platform=row["platform"],
        handle=row["handle"],
        person_id=owner.id,
        is_official=_yes_no(row.get("is_official", "")),
        agency_id=get_agency_by_code(session, agency_code).id if agency_code else None,
    )


def _import_move(session: Session, row: dict[str, str]) -> None:
    person, agency = get_person_by_nip(session, row["nip"]), get_agency_by_code(session, row["agency_code"])
    update_person(session, person.id, agency_id=agency.id, moved_on=_day(row, "moved_on"))


def _import_handover(session: Session, row: dict[str, str]) -> None:
    owner = get_person_by_nip(session, row["owner_nip"])
    handed_over_on = _day(row, "handed_over_on")
    update_account(session, _account(session, row).id, person_id=owner.id, handed_over_on=handed_over_on)


def _import_status(session: Session, row: dict[str, str]) -> None:
    agency_code = row.get("agency_code")
    update_account(
        session,
        _account(session, row).id,
        is_official=_yes_no(row.get("is_official", "")),
        agency_id=get_agency_by_code(session, agency_code).id if agency_code else None,
        status_changed_on=_day(row, "status_changed_on"),
    )


def _account(session: Session, row: dict[str, str]) -> SocialAccount:
    account = find_account(session, row["platform"], row["handle"])
    if account is None:
        raise NotFoundError("account", f"{row['platform']}/{row['handle']}", field="platform/handle")
    return account


def _day(row: dict[str, str], column: str) -> date:
    try:
        return date.fromisoformat(row[column])
    except ValueError:
        raise InvalidEntryError(
            column, f"{row[column]!r} is not a day; write it as YYYY-MM-DD, e.g. 2026-04-20"
        ) from None


def _import_span(session: Session, kind: str, row: dict[str, str]) -> None:
    person = get_person_by_nip(session, row["nip"])
    zone = _zone(row["tz"]) if row.get("tz") else None
    create_assignment(
        session,
        person_id=person.id,
        kind=kind,
        starts_at=_time("starts_at", row["starts_at"], zone),
        ends_at=_time("ends_at", row["ends_at"], zone),
        reference=row.get("reference"),
    )


def _time(column: str, text: str, zone: ZoneInfo | None) -> datetime:
    """An ISO 8601 cell; one without an offset is read in the row's ``tz``, and refused without one (the
    registry never guesses a zone). A cell with its own offset keeps it."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidEntryError(
            column, f"{text!r} is not an ISO 8601 time; write e.g. 2026-04-14T22:00+07:00"
        ) from None
    if value.tzinfo is not None:
        return value
    if zone is None:
        raise InvalidEntryError(
            column,
            f"{text!r} has no UTC offset; write e.g. {value.isoformat()}+07:00 for WIB, "
            "or name the zone the times are written in with a tz column (Asia/Jakarta)",
        )
    return value.replace(tzinfo=zone)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidEntryError(
            "tz", f"{name!r} is not an IANA time zone; write e.g. Asia/Jakarta (WIB), Asia/Makassar (WITA)"
        ) from None


def _yes_no(value: str) -> bool:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise InvalidEntryError("is_official", f"{value!r} is not yes or no; write yes, no, true or false")
