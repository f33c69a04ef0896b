"""The map of a round's positive pools: the buildings whose residents were in a positive pool,
each with how far their single-tube re-samples have gone (ordered, sampled, resolved), drawn
as the command centre's schematic SVG map (no tiles, nothing fetched from elsewhere).

A member's re-sample is *resolved* when its order is done (a single-tube result was applied),
*sampled* when the person was bound to a single tube after the order and no result is in yet,
and *ordered* otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, exists, func, select
from sqlalchemy.orm import Session

from fangkong.command import documents as command_documents
from fangkong.command import rules as command_rules
from fangkong.core.scope import Actor, within_path
from fangkong.registry.models import Building, Compound, Household, Person
from fangkong.testing import rules
from fangkong.testing.enums import OrderStatus, ResampleReason
from fangkong.testing.models import ResampleOrder, Tube, TubeMember
from fangkong.testing.monitoring import get_campaign, scope_path


@dataclass(frozen=True)
class PoolBuilding:
    building_id: int
    compound: str
    building: str
    ordered: int
    sampled: int
    resolved: int

    @property
    def members(self) -> int:
        return self.ordered + self.sampled + self.resolved

    @property
    def status(self) -> str:
        return rules.chase_status(
            ordered=self.ordered, sampled=self.sampled, resolved=self.resolved
        )


def pool_buildings(*, session: Session, actor: Actor, campaign_id: int) -> list[PoolBuilding]:
    """The buildings of the round's positive-pool members in the actor's part, compound by
    compound (in registration order, the same on every backend)."""
    campaign = get_campaign(session=session, actor=actor, campaign_id=campaign_id)
    path = scope_path(actor=actor, campaign=campaign)
    assert path is not None
    retested = exists().where(
        TubeMember.person_id == ResampleOrder.person_id,
        TubeMember.sampled_at >= ResampleOrder.created_at,
        Tube.id == TubeMember.tube_id,
        Tube.pool_size == 1,
    )
    done = ResampleOrder.status == OrderStatus.DONE.value
    rows = session.execute(
        select(
            Building.id,
            Compound.name,
            Building.label,
            func.sum(case((~done & ~retested, 1), else_=0)),
            func.sum(case((~done & retested, 1), else_=0)),
            func.sum(case((done, 1), else_=0)),
        )
        .select_from(ResampleOrder)
        .join(Person, Person.id == ResampleOrder.person_id)
        .join(Household, Household.id == Person.household_id)
        .join(Building, Building.id == Household.building_id)
        .join(Compound, Compound.id == Building.compound_id)
        .where(
            ResampleOrder.campaign_id == campaign.id,
            ResampleOrder.reason == ResampleReason.POSITIVE_POOL.value,
            within_path(ResampleOrder.area_path, path),
        )
        .group_by(Compound.id, Building.id, Compound.name, Building.label)
        .order_by(Compound.id, Building.id)
    ).tuples()
    return [
        PoolBuilding(building_id, compound, label, int(a), int(b), int(c))
        for building_id, compound, label, a, b, c in rows
    ]


def pool_map_svg(buildings: list[PoolBuilding], *, campaign_id: int) -> str:
    """The schematic map: one rectangle per building, sized by its positive-pool members,
    buildings of a compound side by side, filled by chase status and outlined where a
    re-sample has not been taken yet; each links to the building's 应检未检 list."""
    layout = command_rules.treemap([(str(b.building_id), b.members) for b in buildings])
    by_id = {str(b.building_id): b for b in buildings}
    tiles = []
    for tile in layout:
        building = by_id[tile.key]
        tiles.append(
            (
                tile,
                f"{building.compound} {building.building}",
                rules.CHASE_COLOURS[building.status],
                building.status == rules.CHASE_ORDERED,
                f"/testing/campaigns/{campaign_id}/buildings/{building.building_id}",
            )
        )
    return command_documents.map_svg(tiles)
