"""Use cases of several steps in one transaction: reviewing a merge, importing a resident
sheet, exporting a resident list."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Permission
from fangkong.core import clock
from fangkong.core.errors import Conflict, FangkongError, NotFound
from fangkong.core.scope import Actor, scope_to_jurisdiction
from fangkong.registry import events, identity, persons, places, rules, service, spreadsheets
from fangkong.registry.enums import AreaLevel, DocumentType, MergeStatus, PersonStatus
from fangkong.registry.errors import RegistryErrorCode
from fangkong.registry.models import (
    Building,
    Compound,
    Household,
    MergeProposal,
    Person,
    Workplace,
)
from fangkong.registry.schemas import PersonCreate

Code = RegistryErrorCode
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def list_merge_proposals(
    *, session: Session, actor: Actor, status: MergeStatus | None = MergeStatus.PROPOSED
) -> list[MergeProposal]:
    actor.require(Permission.REGISTRY_VIEW)
    stmt = select(MergeProposal).order_by(MergeProposal.id)
    if status is not None:
        stmt = stmt.where(MergeProposal.status == status)
    stmt = scope_to_jurisdiction(stmt, actor=actor, path_column=MergeProposal.area_path)
    return list(session.scalars(stmt))


def review_merge(
    *,
    session: Session,
    actor: Actor,
    proposal_id: int,
    accept: bool,
    keep_person_id: int | None,
    reason: str,
) -> MergeProposal:
    """Accept or reject a proposed merge. Accepting marks the other person ``merged`` into the
    kept one (its row stays, with its history); the kept person gains the tags and any
    household, phone or workplace it lacked. A person with a document must be the one kept,
    since the document is the stronger identity."""
    actor.require(Permission.REGISTRY_MERGE)
    if not reason.strip():
        raise FangkongError(Code.REASON_REQUIRED, "say why", field="reason")
    proposal = session.get(MergeProposal, proposal_id)
    if proposal is None:
        raise NotFound(Code.MERGE_PROPOSAL_NOT_FOUND, f"no merge proposal {proposal_id}")
    actor.require_path(proposal.area_path)
    pair = {proposal.person_id, proposal.candidate_id}
    if accept and keep_person_id not in pair:
        raise FangkongError(
            Code.MERGE_KEEP_INVALID, "keep one of the two proposed persons", field="keep_person_id"
        )
    with session.begin_nested():  # any refusal below undoes the whole review
        claimed = session.execute(
            update(MergeProposal)
            .where(MergeProposal.id == proposal.id, MergeProposal.status == MergeStatus.PROPOSED)
            .values(
                status=MergeStatus.ACCEPTED if accept else MergeStatus.REJECTED,
                reviewer_user_id=actor.user_id,
                reviewed_at=clock.now(),
                kept_person_id=keep_person_id if accept else None,
                reason=reason.strip(),
            )
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(Code.MERGE_ALREADY_REVIEWED, "this proposal was already reviewed")
        if accept:
            assert keep_person_id is not None
            (duplicate_id,) = pair - {keep_person_id}
            _merge(session=session, actor=actor, keep_id=keep_person_id, duplicate_id=duplicate_id)
        events.changed(
            session=session,
            actor=actor,
            action=events.MERGE_ACCEPTED if accept else events.MERGE_REJECTED,
            subject_type="merge_proposal",
            subject_id=proposal.id,
            before={"status": MergeStatus.PROPOSED},
            after={"status": MergeStatus.ACCEPTED if accept else MergeStatus.REJECTED},
            reason=reason.strip(),
        )
    session.refresh(proposal)
    return proposal


def _merge(*, session: Session, actor: Actor, keep_id: int, duplicate_id: int) -> None:
    keep = persons.get_person_or_raise(session=session, actor=actor, person_id=keep_id)
    duplicate = persons.get_person_or_raise(session=session, actor=actor, person_id=duplicate_id)
    if duplicate.id_number_index is not None and keep.id_number_index is None:
        raise FangkongError(
            Code.MERGE_KEEP_INVALID,
            "keep the person who has a document number",
            field="keep_person_id",
        )
    now = clock.now()
    folded = session.execute(
        update(Person)
        .where(Person.id == duplicate.id, Person.status == PersonStatus.ACTIVE)
        .values(status=PersonStatus.MERGED, merged_into_id=keep.id, updated_at=now)
    )
    if folded.rowcount != 1 or keep.status != PersonStatus.ACTIVE:  # type: ignore[attr-defined]
        raise Conflict(Code.MERGE_PERSON_NOT_ACTIVE, "one of the two is no longer active")
    before = {"tags": keep.tags, "household_id": keep.household_id, "phone": keep.phone_masked}
    keep.tags |= duplicate.tags
    if keep.household_id is None and duplicate.household_id is not None:
        keep.household_id, keep.area_path = duplicate.household_id, duplicate.area_path
    if keep.phone_index is None and duplicate.phone_index is not None:
        keep.phone_encrypted, keep.phone_index = duplicate.phone_encrypted, duplicate.phone_index
        keep.phone_masked = duplicate.phone_masked
    keep.workplace_id = keep.workplace_id or duplicate.workplace_id
    keep.updated_at = now
    session.flush()
    session.refresh(duplicate)
    events.changed(
        session=session,
        actor=actor,
        action=events.PERSON_MERGED,
        subject_type="person",
        subject_id=duplicate.id,
        before={"status": PersonStatus.ACTIVE},
        after={"status": PersonStatus.MERGED, "merged_into_id": keep.id},
    )
    events.changed(
        session=session,
        actor=actor,
        action=events.PERSON_MERGED,
        subject_type="person",
        subject_id=keep.id,
        before=before,
        after={"tags": keep.tags, "household_id": keep.household_id, "phone": keep.phone_masked},
        reason=f"absorbed person {duplicate.id}",
    )


@dataclass(frozen=True)
class RejectedRow:
    row: int
    code: str
    field: str | None
    message: str


@dataclass
class ImportReport:
    total_rows: int = 0
    loaded: int = 0
    households_created: int = 0
    merge_proposals: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)


def _int(value: str, field_name: str, code: Code) -> int:
    try:
        return int(value.strip())
    except ValueError as exc:
        raise FangkongError(code, f"{value!r} is not a number", field=field_name) from exc


def _household_for(
    *, session: Session, actor: Actor, community_path: str, values: dict[str, str]
) -> tuple[Household, bool]:
    """The row's household, created when the building exists but the room is new."""
    compound = places.find_compound(
        session=session, community_path=community_path, name=values["compound"].strip()
    )
    if compound is None:
        raise FangkongError(Code.COMPOUND_NOT_FOUND, "no such compound here", field="compound")
    building = places.find_building(
        session=session, compound_id=compound.id, label=values["building"].strip()
    )
    if building is None:
        raise FangkongError(Code.BUILDING_NOT_FOUND, "no such building here", field="building")
    unit = _int(values["unit"], "unit", Code.UNIT_OUT_OF_RANGE)
    room = values["room"].strip()
    existing = places.find_household(session=session, building_id=building.id, unit=unit, room=room)
    if existing is not None:
        return existing, False
    floor_text = values["floor"].strip() or (room[:-2] if room.isdigit() and len(room) > 2 else "")
    floor = _int(floor_text, "floor", Code.FLOOR_OUT_OF_RANGE)
    household = places.create_household(
        session=session, actor=actor, building_id=building.id, unit=unit, floor=floor, room=room
    )
    return household, True


def _workplace_for(*, session: Session, code: str) -> int | None:
    """The workplace named by its unified social credit code (empty: none)."""
    if not code.strip():
        return None
    workplace = persons.find_workplace(session=session, credit_code=code.strip().upper())
    if workplace is None:
        raise FangkongError(
            Code.WORKPLACE_NOT_FOUND, "no workplace with that code", field="workplace"
        )
    return workplace.id


def _person_in(values: dict[str, str], household_id: int, workplace_id: int | None) -> PersonCreate:
    document_type = values["document_type"].strip()
    sex = values["sex"].strip()
    born = values["birth_date"].strip().replace("/", "-")
    if len(born) == 8 and born.isdigit():
        born = f"{born[:4]}-{born[4:6]}-{born[6:]}"
    try:
        return PersonCreate.model_validate(
            {
                "name": values["name"],
                "document_type": spreadsheets.DOCUMENT_LABELS.get(document_type, document_type)
                or None,
                "document_number": values["document_number"] or None,
                "phone": values["phone"] or None,
                "sex": spreadsheets.SEX_LABELS.get(sex.lower(), sex) or None,
                "birth_date": born or None,
                "household_id": household_id,
                "tags": [values["tags"]] if values["tags"] else [],
                "workplace_id": workplace_id,
            }
        )
    except ValueError as exc:
        failed = str(exc.errors()[0]["loc"][0]) if hasattr(exc, "errors") else "row"
        code = {
            "document_type": Code.DOCUMENT_TYPE_INVALID,
            "sex": Code.SEX_INVALID,
            "birth_date": Code.BIRTH_DATE_INVALID,
        }.get(failed, Code.NAME_REQUIRED)
        raise FangkongError(code, f"the {failed} is not valid", field=failed) from exc


def import_residents(
    *, session: Session, actor: Actor, community_code: str, rows: list[spreadsheets.SheetRow]
) -> ImportReport:
    """Load a community's resident sheet: every good row is registered, every bad row is
    reported with its reason and leaves nothing behind (each row runs in its own savepoint).

    An ID number that appears on several rows of one file is refused on all of them: the file
    itself disagrees about who holds it, and guessing would register the wrong person.
    """
    actor.require(Permission.REGISTRY_IMPORT)
    community = service.get_in_jurisdiction(session=session, actor=actor, code=community_code)
    if community.level != AreaLevel.COMMUNITY:
        raise FangkongError(
            Code.AREA_PARENT_WRONG_LEVEL, "import into a community", field="community"
        )
    rows_by_number: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        number = identity.normalise_id_number(row.values["document_number"])
        if len(number) == 15 and number.isdigit():
            number = rules.widen_fifteen_digit_id(number)
        if number:
            rows_by_number[number].append(row.number)
    report = ImportReport(total_rows=len(rows))
    for row in rows:
        number = identity.normalise_id_number(row.values["document_number"])
        if len(number) == 15 and number.isdigit():
            number = rules.widen_fifteen_digit_id(number)
        try:
            if number and len(rows_by_number[number]) > 1:
                others = [n for n in rows_by_number[number] if n != row.number]
                raise FangkongError(
                    Code.ID_NUMBER_REPEATED_IN_FILE,
                    f"the same number is on rows {', '.join(map(str, others))}",
                    field="document_number",
                )
            with session.begin_nested():
                household, created = _household_for(
                    session=session, actor=actor, community_path=community.path, values=row.values
                )
                workplace_id = _workplace_for(session=session, code=row.values["workplace"])
                registered = persons.register_person(
                    session=session,
                    actor=actor,
                    person_in=_person_in(row.values, household.id, workplace_id),
                )
        except FangkongError as exc:
            report.rejected.append(RejectedRow(row.number, str(exc.code), exc.field, exc.message))
            continue
        report.loaded += 1
        report.households_created += int(created)
        report.merge_proposals += len(registered.proposals)
    events.created(
        session=session,
        actor=actor,
        action=events.RESIDENTS_IMPORTED,
        subject_type="area",
        subject_id=community.code,
        after={
            "rows": report.total_rows,
            "loaded": report.loaded,
            "rejected": len(report.rejected),
        },
    )
    return report


@dataclass(frozen=True)
class Export:
    filename: str
    media_type: str
    content: bytes
    rows: int
    full_identity: bool


def export_residents(
    *,
    session: Session,
    actor: Actor,
    fmt: str,
    building_id: int | None = None,
    grid_code: str | None = None,
) -> Export:
    """A building's or a grid's active residents in the import columns. Numbers are masked
    unless the actor's role holds ``registry.view_identity``; every export is audited."""
    actor.require(Permission.REGISTRY_VIEW)
    actor.require(Permission.REPORTS_EXPORT)
    if fmt not in ("xlsx", "csv"):
        raise FangkongError(Code.EXPORT_FORMAT_INVALID, "export as xlsx or csv", field="format")
    stmt: Any = (
        select(Person, Household, Building, Compound, Workplace)
        .join(Household, Person.household_id == Household.id)
        .join(Building, Household.building_id == Building.id)
        .join(Compound, Building.compound_id == Compound.id)
        .outerjoin(Workplace, Person.workplace_id == Workplace.id)
        .where(Person.status == PersonStatus.ACTIVE)
    )
    if building_id is not None:
        building = places.get_building_or_raise(
            session=session, actor=actor, building_id=building_id
        )
        stmt, scope, label = stmt.where(Building.id == building.id), "building", building.label
        subject = str(building.id)
    elif grid_code is not None:
        grid = service.get_in_jurisdiction(session=session, actor=actor, code=grid_code)
        if grid.level != AreaLevel.GRID:
            raise FangkongError(Code.AREA_PARENT_WRONG_LEVEL, "choose a grid", field="grid")
        stmt, scope, label, subject = (
            stmt.where(Building.grid_id == grid.id),
            "area",
            grid.code,
            grid.code,
        )
    else:
        raise FangkongError(
            Code.BUILDING_NOT_FOUND, "choose a building or a grid", field="building_id"
        )
    stmt = scope_to_jurisdiction(stmt, actor=actor, path_column=Person.area_path)
    stmt = stmt.order_by(Compound.name, Building.label, Household.unit, Household.room, Person.id)
    full = actor.can(Permission.REGISTRY_VIEW_IDENTITY)
    table = []
    for person, household, building_row, compound, workplace in session.execute(stmt).tuples():
        plain = persons.decrypt_identity(person) if full else None
        table.append(
            [
                person.name,
                spreadsheets.DOCUMENT_LABEL_OF.get(DocumentType(person.document_type), "")
                if person.document_type
                else "",
                (plain.id_number if plain else person.id_number_masked) or "",
                (plain.phone if plain else person.phone_masked) or "",
                spreadsheets.SEX_LABEL_OF.get(person.sex or "", ""),
                person.birth_date.isoformat() if person.birth_date else "",
                compound.name,
                building_row.label,
                str(household.unit),
                str(household.floor),
                household.room,
                rules.format_tags(person.tags),
                (workplace.credit_code or "") if workplace else "",
            ]
        )
    events.created(
        session=session,
        actor=actor,
        action=events.RESIDENTS_EXPORTED,
        subject_type=scope,
        subject_id=subject,
        after={"rows": len(table), "format": fmt, "full_identity": full},
    )
    stamp = clock.now().strftime("%Y%m%d")
    filename = f"residents-{label}-{stamp}.{fmt}"
    if fmt == "csv":
        return Export(
            filename, "text/csv; charset=utf-8", spreadsheets.write_csv(table), len(table), full
        )
    content = spreadsheets.write_xlsx(table, title="居民 residents")
    return Export(filename, XLSX_MEDIA_TYPE, content, len(table), full)
