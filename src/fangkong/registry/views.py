"""Registry API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from fangkong.accounts.enums import Permission
from fangkong.core.scope import Actor
from fangkong.registry import service
from fangkong.registry.schemas import AreaRead
from fangkong.web.deps import SessionDep, requires

router = APIRouter(prefix="/api/v1", tags=["registry"])

RegistryViewer = Annotated[Actor, Depends(requires(Permission.REGISTRY_VIEW))]


@router.get("/areas")
def list_areas(
    session: SessionDep, actor: RegistryViewer, parent: str | None = None
) -> list[AreaRead]:
    """Children of ``parent`` (an area code) inside the caller's jurisdiction."""
    if parent is not None:
        actor.require_path(service.get_by_code_or_raise(session=session, code=parent).path)
    areas = service.list_children(session=session, actor=actor, parent_code=parent)
    return [AreaRead.model_validate(area) for area in areas]
