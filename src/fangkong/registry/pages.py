"""Registry pages: the area tree, buildings, households, persons, search, "my grid", import
and merge review. Mobile-first: a grid worker uses them on a 360-pixel phone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, TypeVar

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fangkong.accounts import service as accounts_service
from fangkong.accounts.enums import Permission, Role
from fangkong.core.errors import FangkongError
from fangkong.registry import actions, persons, places, rules, service, spreadsheets
from fangkong.registry.enums import AreaLevel, DocumentType, PersonTag, Sex
from fangkong.registry.errors import RegistryErrorCode as Code
from fangkong.registry.models import Area
from fangkong.registry.schemas import PersonCreate
from fangkong.web.deps import ActorDep, SessionDep
from fangkong.web.templating import render

router = APIRouter(include_in_schema=False)
T = TypeVar("T")

TAGS = [(tag.name, rules.TAG_LABELS_ZH[tag]) for tag in PersonTag if tag.name]
DOCUMENT_TYPES = [str(kind) for kind in DocumentType]
ATTENTION_LIMIT = 200  # a phone page; the full list is the export


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _optional(value: str) -> str | None:
    return value.strip() or None


def _parsed(parse: Callable[[str], T], value: str, code: Code) -> T | None:
    """A form field parsed, None when empty; a value that does not parse is refused with
    ``code`` like the API would, instead of failing as a server error."""
    if not value.strip():
        return None
    try:
        return parse(value.strip())
    except ValueError as exc:
        raise FangkongError(code, f"{value!r} is not valid here") from exc


@router.get("/areas", response_class=HTMLResponse)
def area_browser(
    request: Request, session: SessionDep, actor: ActorDep, code: str | None = None
) -> Response:
    """An area with its children, their counts and (for a community) its compounds."""
    actor.require(Permission.REGISTRY_VIEW)
    root = service.get_by_path(session=session, path=actor.jurisdiction_path or "")
    current = service.get_in_jurisdiction(session=session, actor=actor, code=code) if code else root
    if current is None:
        return render(request, "registry/area.html", {"current": None, "trail": []})
    children = service.list_children(session=session, actor=actor, parent_code=current.code)
    compounds = []
    if current.level == AreaLevel.COMMUNITY:
        for compound in places.list_compounds(session=session, community=current):
            buildings = places.list_buildings(session=session, compound_id=compound.id)
            compounds.append((compound, buildings))
    context = {
        "current": current,
        "children": children,
        "child_counts": service.counts_by_child(session=session, children=children),
        "counts": service.counts_under(session=session, path=current.path),
        "compounds": compounds,
        "grids": [c for c in children if c.level == AreaLevel.GRID],
        "trail": service.trail(session=session, area=current, stop_at=actor.jurisdiction_path),
        "tags": TAGS,
        "grid_workers": _grid_workers(session, [current, *children]),
    }
    return render(request, "registry/area.html", context)


def _grid_workers(session: SessionDep, areas: list[Area]) -> dict[str, list[str]]:
    """The names of the grid workers assigned to each grid among ``areas``."""
    return {
        area.path: [
            user.display_name
            for user in accounts_service.list_assigned_to(
                session=session, jurisdiction_path=area.path, role=Role.GRID_WORKER
            )
        ]
        for area in areas
        if area.level == AreaLevel.GRID
    }


@router.post("/areas/communities")
def create_community(
    session: SessionDep,
    actor: ActorDep,
    parent_code: Annotated[str, Form()],
    code: Annotated[str, Form()],
    name: Annotated[str, Form()],
) -> Response:
    area = service.create_community(
        session=session, actor=actor, township_code=parent_code, code=code, name=name
    )
    session.commit()
    return _see_other(f"/areas?code={area.code}")


@router.post("/areas/grids")
def create_grid(
    session: SessionDep,
    actor: ActorDep,
    parent_code: Annotated[str, Form()],
    code: Annotated[str, Form()],
    name: Annotated[str, Form()],
) -> Response:
    service.create_grid(
        session=session, actor=actor, community_code=parent_code, code=code, name=name
    )
    session.commit()
    return _see_other(f"/areas?code={parent_code}")


@router.post("/areas/compounds")
def create_compound(
    session: SessionDep,
    actor: ActorDep,
    community_code: Annotated[str, Form()],
    name: Annotated[str, Form()],
) -> Response:
    places.create_compound(session=session, actor=actor, community_code=community_code, name=name)
    session.commit()
    return _see_other(f"/areas?code={community_code}")


@router.post("/areas/buildings")
def create_building(
    session: SessionDep,
    actor: ActorDep,
    compound_id: Annotated[int, Form()],
    grid_code: Annotated[str, Form()],
    label: Annotated[str, Form()],
    units: Annotated[int, Form()],
    floors: Annotated[int, Form()],
) -> Response:
    building = places.create_building(
        session=session,
        actor=actor,
        compound_id=compound_id,
        grid_code=grid_code,
        label=label,
        units=units,
        floors=floors,
    )
    session.commit()
    return _see_other(f"/buildings/{building.id}")


@router.get("/buildings/{building_id}", response_class=HTMLResponse)
def building_page(
    request: Request, session: SessionDep, actor: ActorDep, building_id: int
) -> Response:
    """Units × floors with each household and its residents."""
    actor.require(Permission.REGISTRY_VIEW)
    building = places.get_building_or_raise(session=session, actor=actor, building_id=building_id)
    compound = places.compound_of(session=session, building=building)
    households = places.list_households(session=session, building_id=building.id)
    residents = {
        h.id: persons.list_in_household(session=session, household_id=h.id) for h in households
    }
    context = {
        "building": building,
        "compound": compound,
        "households": households,
        "residents": residents,
        "units": range(1, building.units + 1),
    }
    return render(request, "registry/building.html", context)


@router.post("/households")
def create_household(
    session: SessionDep,
    actor: ActorDep,
    building_id: Annotated[int, Form()],
    unit: Annotated[int, Form()],
    floor: Annotated[int, Form()],
    room: Annotated[str, Form()],
) -> Response:
    household = places.create_household(
        session=session, actor=actor, building_id=building_id, unit=unit, floor=floor, room=room
    )
    session.commit()
    return _see_other(f"/households/{household.id}")


@router.get("/households/{household_id}", response_class=HTMLResponse)
def household_page(
    request: Request, session: SessionDep, actor: ActorDep, household_id: int
) -> Response:
    actor.require(Permission.REGISTRY_VIEW)
    household = places.get_household_or_raise(
        session=session, actor=actor, household_id=household_id
    )
    building = places.get_building_or_raise(
        session=session, actor=actor, building_id=household.building_id
    )
    context = {
        "household": household,
        "building": building,
        "residents": persons.list_in_household(session=session, household_id=household.id),
        "tags": TAGS,
        "document_types": DOCUMENT_TYPES,
    }
    return render(request, "registry/household.html", context)


@router.post("/persons")
def register_person(
    session: SessionDep,
    actor: ActorDep,
    household_id: Annotated[int, Form()],
    name: Annotated[str, Form()],
    document_type: Annotated[str, Form()] = "",
    document_number: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
    sex: Annotated[str, Form()] = "",
    birth_date: Annotated[str, Form()] = "",
    tags: Annotated[list[str] | None, Form()] = None,
) -> Response:
    person_in = PersonCreate(
        name=name,
        document_type=_parsed(DocumentType, document_type, Code.DOCUMENT_TYPE_INVALID),
        document_number=_optional(document_number),
        phone=_optional(phone),
        sex=_parsed(Sex, sex, Code.SEX_INVALID),
        birth_date=_parsed(date.fromisoformat, birth_date, Code.BIRTH_DATE_INVALID),
        household_id=household_id,
        tags=tags or [],
    )
    registered = persons.register_person(session=session, actor=actor, person_in=person_in)
    session.commit()
    return _see_other(f"/persons/{registered.person.id}")


def _person_context(session: SessionDep, actor: ActorDep, person_id: int) -> dict[str, object]:
    person = persons.get_person_or_raise(session=session, actor=actor, person_id=person_id)
    household = (
        places.get_household_or_raise(
            session=session, actor=actor, household_id=person.household_id
        )
        if person.household_id
        else None
    )
    return {
        "person": person,
        "household": household,
        "tags": [rules.TAG_LABELS_ZH[tag] for tag in rules.tags_of(person.tags)],
        "workplace": persons.get_workplace(session=session, workplace_id=person.workplace_id),
        "revealed": None,
    }


@router.get("/persons/{person_id}", response_class=HTMLResponse)
def person_page(request: Request, session: SessionDep, actor: ActorDep, person_id: int) -> Response:
    actor.require(Permission.REGISTRY_VIEW)
    return render(request, "registry/person.html", _person_context(session, actor, person_id))


@router.post("/persons/{person_id}/reveal", response_class=HTMLResponse)
def reveal_identity(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    person_id: int,
    reason: Annotated[str, Form()] = "",
) -> Response:
    revealed = persons.reveal_identity(
        session=session, actor=actor, person_id=person_id, reason=reason
    )
    session.commit()
    context = _person_context(session, actor, person_id) | {"revealed": revealed}
    return render(request, "registry/person.html", context)


@router.get("/persons", response_class=HTMLResponse)
def search_page(request: Request, session: SessionDep, actor: ActorDep, q: str = "") -> Response:
    """Search by name, masked ID, full ID or phone inside the jurisdiction."""
    actor.require(Permission.REGISTRY_VIEW)
    found = persons.search(session=session, actor=actor, query=q) if q.strip() else []
    return render(request, "registry/search.html", {"q": q, "found": found})


@router.get("/my-grid", response_class=HTMLResponse)
def my_grid(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    """The grid worker's home: buildings of their area, counts, and who needs attention."""
    actor.require(Permission.REGISTRY_VIEW)
    area: Area | None = service.get_by_path(session=session, path=actor.jurisdiction_path or "")
    if area is None:
        return render(request, "registry/my_grid.html", {"area": None})
    # Buildings are listed grid by grid down to a community; above that (a street or a
    # district) there are thousands, and the area browser is the way in.
    grids: list[Area] = []
    if area.level == AreaLevel.GRID:
        grids = [area]
    elif area.level == AreaLevel.COMMUNITY:
        grids = service.list_under_level(session=session, path=area.path, level=AreaLevel.GRID)
    buildings = [(grid, places.list_buildings(session=session, grid_id=grid.id)) for grid in grids]
    attention = persons.list_tagged_under(
        session=session, actor=actor, path=area.path, limit=ATTENTION_LIMIT
    )
    context = {
        "area": area,
        "counts": service.counts_under(session=session, path=area.path),
        "buildings": buildings,
        "attention": attention,
        "attention_limit": ATTENTION_LIMIT,
        "tag_labels": {int(tag): label for tag, label in rules.TAG_LABELS_ZH.items()},
        "can_export": actor.can(Permission.REPORTS_EXPORT),
        "grid_workers": _grid_workers(session, grids),
    }
    return render(request, "registry/my_grid.html", context)


@router.get("/registry/import", response_class=HTMLResponse)
def import_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    actor.require(Permission.REGISTRY_IMPORT)
    communities = service.list_under_level(
        session=session, path=actor.jurisdiction_path or "/nowhere/", level=AreaLevel.COMMUNITY
    )
    context = {"communities": communities, "report": None, "columns": spreadsheets.COLUMNS}
    return render(request, "registry/import.html", context)


@router.post("/registry/import", response_class=HTMLResponse)
async def import_submit(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    community: Annotated[str, Form()],
    file: Annotated[UploadFile, File()],
) -> Response:
    rows = spreadsheets.read_rows(await file.read(), file.filename or "")
    report = actions.import_residents(
        session=session, actor=actor, community_code=community, rows=rows
    )
    session.commit()
    communities = service.list_under_level(
        session=session, path=actor.jurisdiction_path or "/nowhere/", level=AreaLevel.COMMUNITY
    )
    context = {"communities": communities, "report": report, "columns": spreadsheets.COLUMNS}
    return render(request, "registry/import.html", context)


@router.get("/registry/merges", response_class=HTMLResponse)
def merges_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    proposals = actions.list_merge_proposals(session=session, actor=actor)
    # A candidate may live outside the reviewer's jurisdiction (duplicates are searched city
    # wide); such a pair is listed without the other person, for a higher level to decide.
    pairs = [
        (
            proposal,
            persons.get_visible(session=session, actor=actor, person_id=proposal.person_id),
            persons.get_visible(session=session, actor=actor, person_id=proposal.candidate_id),
        )
        for proposal in proposals
    ]
    context = {"pairs": pairs, "can_review": actor.can(Permission.REGISTRY_MERGE)}
    return render(request, "registry/merges.html", context)


@router.post("/registry/merges/{proposal_id}")
def review_merge(
    session: SessionDep,
    actor: ActorDep,
    proposal_id: int,
    decision: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    """``decision`` is ``reject`` or ``keep:<person id>``."""
    keep = int(decision.split(":", 1)[1]) if decision.startswith("keep:") else None
    if decision != "reject" and keep is None:
        raise FangkongError(Code.MERGE_KEEP_INVALID, "choose", field="decision")
    actions.review_merge(
        session=session,
        actor=actor,
        proposal_id=proposal_id,
        accept=keep is not None,
        keep_person_id=keep,
        reason=reason,
    )
    session.commit()
    return _see_other("/registry/merges")
