"""``GET /v1/jobs/{id}``: state, progress and result of a clip job."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentKey, SessionDep
from api.jobs import visible_job
from api.schemas import JobOut

router = APIRouter(prefix="/v1", tags=["jobs"])


@router.get("/jobs/{job_id}", response_model=JobOut)
def get_job(job_id: int, session: SessionDep, caller: CurrentKey) -> JobOut:
    """A job you submitted (registry-wide administrators: any job)."""
    return JobOut.of(visible_job(session, caller, job_id))
