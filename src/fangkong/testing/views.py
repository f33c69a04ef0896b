"""Testing API: labs upload result files."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Response, UploadFile, status

from fangkong.accounts.enums import Permission
from fangkong.core.scope import Actor
from fangkong.testing import actions
from fangkong.testing.enums import ResultFormat
from fangkong.testing.schemas import ResultUploadRead
from fangkong.web.deps import SessionDep, requires

router = APIRouter(prefix="/api/v1/testing", tags=["testing"])

LabUploader = Annotated[Actor, Depends(requires(Permission.TESTING_RESULTS))]


@router.post("/result-files", status_code=status.HTTP_201_CREATED)
def upload_result_file(
    session: SessionDep,
    actor: LabUploader,
    response: Response,
    file: UploadFile,
    result_format: Annotated[ResultFormat, Form(alias="format")],
) -> ResultUploadRead:
    """Store a lab's result file (HL7 v2, FHIR JSON or CSV) and return its outcome report.

    201 with a new report; 200 with the first report when the same file was uploaded before.
    """
    upload, is_new = actions.ingest_result_file(
        session=session,
        actor=actor,
        result_format=result_format,
        filename=file.filename or "upload",
        content=file.file.read(),
    )
    session.commit()
    if not is_new:
        response.status_code = status.HTTP_200_OK
    return ResultUploadRead.model_validate(upload)
