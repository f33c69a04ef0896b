"""Registry API: thin handlers, each one service call and a commit."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import Response

from fangkong.accounts.enums import Permission
from fangkong.core.scope import Actor
from fangkong.registry import actions, persons, places, service, spreadsheets
from fangkong.registry.enums import MergeStatus
from fangkong.registry.schemas import (
    AreaCreate,
    AreaRead,
    BuildingCreate,
    BuildingRead,
    CompoundCreate,
    CompoundRead,
    HouseholdCreate,
    HouseholdRead,
    IdentityRead,
    ImportReportRead,
    MergeProposalRead,
    MergeReview,
    PersonCreate,
    PersonRead,
    RegisteredPersonRead,
    RejectedRowRead,
    RevealRequest,
)
from fangkong.web.deps import SessionDep, requires

router = APIRouter(prefix="/api/v1", tags=["registry"])

RegistryViewer = Annotated[Actor, Depends(requires(Permission.REGISTRY_VIEW))]
RegistryEditor = Annotated[Actor, Depends(requires(Permission.REGISTRY_EDIT))]
RegistryImporter = Annotated[Actor, Depends(requires(Permission.REGISTRY_IMPORT))]
IdentityViewer = Annotated[Actor, Depends(requires(Permission.REGISTRY_VIEW_IDENTITY))]
MergeReviewer = Annotated[Actor, Depends(requires(Permission.REGISTRY_MERGE))]
Exporter = Annotated[Actor, Depends(requires(Permission.REPORTS_EXPORT))]
Format = Literal["xlsx", "csv"]


def _attachment(content: bytes, media_type: str, filename: str) -> Response:
    # RFC 5987 filename* keeps Chinese labels intact; the ASCII fallback is for old clients.
    disposition = f'attachment; filename="residents.{filename.rsplit(".", 1)[-1]}"; '
    disposition += f"filename*=UTF-8''{quote(filename)}"
    return Response(content, media_type=media_type, headers={"content-disposition": disposition})


@router.get("/areas")
def list_areas(
    session: SessionDep, actor: RegistryViewer, parent: str | None = None
) -> list[AreaRead]:
    """Children of ``parent`` (an area code) inside the caller's jurisdiction."""
    if parent is not None:
        actor.require_path(service.get_by_code_or_raise(session=session, code=parent).path)
    areas = service.list_children(session=session, actor=actor, parent_code=parent)
    return [AreaRead.model_validate(area) for area in areas]


@router.post("/areas/communities", status_code=201)
def create_community(session: SessionDep, actor: RegistryEditor, body: AreaCreate) -> AreaRead:
    area = service.create_community(
        session=session, actor=actor, township_code=body.parent_code, code=body.code, name=body.name
    )
    session.commit()
    return AreaRead.model_validate(area)


@router.post("/areas/grids", status_code=201)
def create_grid(session: SessionDep, actor: RegistryEditor, body: AreaCreate) -> AreaRead:
    area = service.create_grid(
        session=session,
        actor=actor,
        community_code=body.parent_code,
        code=body.code,
        name=body.name,
    )
    session.commit()
    return AreaRead.model_validate(area)


@router.post("/compounds", status_code=201)
def create_compound(
    session: SessionDep, actor: RegistryEditor, body: CompoundCreate
) -> CompoundRead:
    compound = places.create_compound(
        session=session,
        actor=actor,
        community_code=body.community_code,
        name=body.name,
        latitude=body.latitude,
        longitude=body.longitude,
    )
    session.commit()
    return CompoundRead.model_validate(compound)


@router.post("/buildings", status_code=201)
def create_building(
    session: SessionDep, actor: RegistryEditor, body: BuildingCreate
) -> BuildingRead:
    building = places.create_building(
        session=session,
        actor=actor,
        compound_id=body.compound_id,
        grid_code=body.grid_code,
        label=body.label,
        units=body.units,
        floors=body.floors,
    )
    session.commit()
    return BuildingRead.model_validate(building)


@router.post("/households", status_code=201)
def create_household(
    session: SessionDep, actor: RegistryEditor, body: HouseholdCreate
) -> HouseholdRead:
    household = places.create_household(
        session=session,
        actor=actor,
        building_id=body.building_id,
        unit=body.unit,
        floor=body.floor,
        room=body.room,
    )
    session.commit()
    return HouseholdRead.model_validate(household)


@router.post("/persons", status_code=201)
def register_person(
    session: SessionDep, actor: RegistryEditor, body: PersonCreate
) -> RegisteredPersonRead:
    registered = persons.register_person(session=session, actor=actor, person_in=body)
    session.commit()
    return RegisteredPersonRead(
        person=PersonRead.model_validate(registered.person),
        merge_proposal_ids=[proposal.id for proposal in registered.proposals],
    )


@router.get("/persons")
def search_persons(
    session: SessionDep, actor: RegistryViewer, q: Annotated[str, Query(min_length=1)]
) -> list[PersonRead]:
    """By name, masked ID (``430203********1234``), full ID or phone; masked results only."""
    found = persons.search(session=session, actor=actor, query=q)
    return [PersonRead.model_validate(person) for person in found]


@router.get("/persons/{person_id}")
def get_person(session: SessionDep, actor: RegistryViewer, person_id: int) -> PersonRead:
    person = persons.get_person_or_raise(session=session, actor=actor, person_id=person_id)
    return PersonRead.model_validate(person)


@router.post("/persons/{person_id}/reveal")
def reveal_identity(
    session: SessionDep, actor: IdentityViewer, person_id: int, body: RevealRequest
) -> IdentityRead:
    """The full ID number and phone; the reveal and its reason go to the audit log."""
    revealed = persons.reveal_identity(
        session=session, actor=actor, person_id=person_id, reason=body.reason
    )
    session.commit()
    return IdentityRead(
        person_id=revealed.person_id,
        document_type=revealed.document_type,
        id_number=revealed.id_number,
        phone=revealed.phone,
    )


@router.get("/merge-proposals")
def list_merge_proposals(
    session: SessionDep, actor: RegistryViewer, status: MergeStatus | None = MergeStatus.PROPOSED
) -> list[MergeProposalRead]:
    found = actions.list_merge_proposals(session=session, actor=actor, status=status)
    return [MergeProposalRead.model_validate(proposal) for proposal in found]


@router.post("/merge-proposals/{proposal_id}/review")
def review_merge(
    session: SessionDep, actor: MergeReviewer, proposal_id: int, body: MergeReview
) -> MergeProposalRead:
    proposal = actions.review_merge(
        session=session,
        actor=actor,
        proposal_id=proposal_id,
        accept=body.accept,
        keep_person_id=body.keep_person_id,
        reason=body.reason,
    )
    session.commit()
    return MergeProposalRead.model_validate(proposal)


@router.get("/imports/residents/template")
def import_template(actor: RegistryImporter, format: Format = "xlsx") -> Response:
    media = "text/csv" if format == "csv" else actions.XLSX_MEDIA_TYPE
    return _attachment(spreadsheets.template(format), media, f"居民导入模板.{format}")


@router.post("/imports/residents")
async def import_residents(
    session: SessionDep,
    actor: RegistryImporter,
    community: Annotated[str, Query(description="the community's code")],
    file: Annotated[UploadFile, File()],
) -> ImportReportRead:
    """Load a resident sheet into a community; the answer lists every rejected row."""
    rows = spreadsheets.read_rows(await file.read(), file.filename or "")
    report = actions.import_residents(
        session=session, actor=actor, community_code=community, rows=rows
    )
    session.commit()
    return ImportReportRead(
        total_rows=report.total_rows,
        loaded=report.loaded,
        households_created=report.households_created,
        merge_proposals=report.merge_proposals,
        rejected=[
            RejectedRowRead(row=r.row, code=r.code, field=r.field, message=r.message)
            for r in report.rejected
        ],
    )


@router.get("/exports/residents")
def export_residents(
    session: SessionDep,
    actor: Exporter,
    building_id: int | None = None,
    grid: str | None = None,
    format: Format = "xlsx",
) -> Response:
    """A building's or grid's residents; numbers masked unless the role may see them."""
    export = actions.export_residents(
        session=session, actor=actor, fmt=format, building_id=building_id, grid_code=grid
    )
    session.commit()  # the export's audit event
    return _attachment(export.content, export.media_type, export.filename)
