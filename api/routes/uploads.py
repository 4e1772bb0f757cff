"""Deletion requests (BKPSDM-wide administrators): an upload and everything about it."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import RegistryAdmin, SessionDep, StoreDep
from api.retention import delete_upload
from api.schemas import DeletedOut

router = APIRouter(prefix="/v1", tags=["uploads"])


@router.delete("/uploads/{sha256}", response_model=DeletedOut)
def delete_upload_route(
    sha256: str, session: SessionDep, store: StoreDep, caller: RegistryAdmin
) -> DeletedOut:
    """Delete the upload with this sha256 (64 hex characters, either case), its cases with their evidence
    and decisions, its frame scores and the stored file (a job still scoring it is stopped); the deletion
    itself is written to the audit log."""
    deleted = delete_upload(session, store, sha256, caller)
    session.commit()
    return DeletedOut(**deleted.__dict__)
