"""The registry: agencies, people, social accounts, schedules and assignments, as plain service functions.

Every function takes a :class:`~sqlalchemy.orm.Session`, validates its input, flushes (so ids exist and
constraints are checked) and leaves the commit to the caller: one request, one transaction. Bad input
raises a :class:`RegistryError` whose message says what to fix.
"""

from api.registry.accounts import (
    create_account,
    delete_account,
    find_account,
    get_account,
    list_accounts,
    official_on,
    owner_on,
    update_account,
)
from api.registry.agencies import (
    agency_subtree_ids,
    create_agency,
    delete_agency,
    get_agency,
    get_agency_by_code,
    list_agencies,
    update_agency,
)
from api.registry.assignments import (
    create_assignment,
    delete_assignment,
    get_assignment,
    list_assignments,
    update_assignment,
)
from api.registry.csv_import import ImportReport, RowError, import_registry_csv
from api.registry.errors import (
    DuplicateEntryError,
    InUseError,
    InvalidEntryError,
    InvalidNipError,
    NotFoundError,
    RegistryError,
    UnknownPlatformError,
)
from api.registry.people import (
    agency_on,
    create_person,
    delete_person,
    get_person,
    get_person_by_nip,
    list_people,
    update_person,
)
from api.registry.schedules import (
    create_schedule,
    delete_schedule,
    get_schedule,
    list_schedules,
    update_schedule,
    weekly_schedule,
)
from api.registry.values import UNSET, normalise_handle, parse_platform, validate_nip

__all__ = [
    "UNSET",
    "DuplicateEntryError",
    "ImportReport",
    "InUseError",
    "InvalidEntryError",
    "InvalidNipError",
    "NotFoundError",
    "RegistryError",
    "RowError",
    "UnknownPlatformError",
    "agency_on",
    "agency_subtree_ids",
    "create_account",
    "create_agency",
    "create_assignment",
    "create_person",
    "create_schedule",
    "delete_account",
    "delete_agency",
    "delete_assignment",
    "delete_person",
    "delete_schedule",
    "find_account",
    "get_account",
    "get_agency",
    "get_agency_by_code",
    "get_assignment",
    "get_person",
    "get_person_by_nip",
    "get_schedule",
    "import_registry_csv",
    "list_accounts",
    "list_agencies",
    "list_assignments",
    "list_people",
    "list_schedules",
    "normalise_handle",
    "official_on",
    "owner_on",
    "parse_platform",
    "update_account",
    "update_agency",
    "update_assignment",
    "update_person",
    "update_schedule",
    "validate_nip",
    "weekly_schedule",
]
