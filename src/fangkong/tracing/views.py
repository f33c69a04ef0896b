"""Tracing API: receiving place scans."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from fangkong.accounts.enums import Permission
from fangkong.core.scope import Actor
from fangkong.tracing import service
from fangkong.tracing.schemas import ScanBatchIn, ScanBatchRead, ScanRejectionRead
from fangkong.web.deps import SessionDep, requires

router = APIRouter(prefix="/api/v1", tags=["tracing"])

ScanRecorder = Annotated[Actor, Depends(requires(Permission.TRACING_RECORD_SCANS))]


@router.post("/scans")
def record_scans(body: ScanBatchIn, session: SessionDep, actor: ScanRecorder) -> ScanBatchRead:
    """Store a batch of place scans (at most 1,000). Good records are stored, each bad one is
    reported with its position and code; the answer comes after the commit."""
    result = service.record_scans(session=session, scans=body.scans, actor=actor)
    session.commit()
    return ScanBatchRead(
        stored=result.stored,
        rejected=[
            ScanRejectionRead(
                index=problem.index,
                code=str(problem.code),
                field=problem.field,
                message=problem.message,
            )
            for problem in result.rejected
        ],
    )
