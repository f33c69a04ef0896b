"""Persons: registration with validated identity, lookup, search and the audited reveal.

Identity numbers and phones never leave this module in plain text except through
:func:`reveal_identity` (audited) and the export for roles that hold ``registry.view_identity``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib import resources

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fangkong.accounts.enums import Permission
from fangkong.core import clock
from fangkong.core.crypto import get_cipher
from fangkong.core.errors import Conflict, FangkongError, NotFound
from fangkong.core.scope import Actor, scope_to_jurisdiction, within_path
from fangkong.registry import events, identity, places, rules, service
from fangkong.registry.enums import AreaLevel, DocumentType, MergeStatus, PersonStatus, Sex
from fangkong.registry.errors import RegistryErrorCode
from fangkong.registry.models import MergeProposal, Person, Workplace
from fangkong.registry.schemas import PersonCreate

Code = RegistryErrorCode
COMPLETE_PROVINCES = frozenset({"43"})  # Hunan: current and historic county codes are held
MATCH_NAME_PHONE_BIRTH = "name+phone+birth_date"
SEARCH_LIMIT = 50


@lru_cache
def region_table() -> rules.RegionTable:
    """Hunan's county-level codes in force (division table) and retired (historic table)."""
    with service.divisions_path().open(encoding="utf-8") as handle:
        current = frozenset(row["code"] for row in csv.DictReader(handle) if len(row["code"]) == 6)
    historic_file = resources.files("fangkong.registry") / "data" / "hunan_historic.csv"
    with historic_file.open(encoding="utf-8") as handle:
        historic = {
            row["code"]: rules.HistoricRegion(
                code=row["code"],
                name=row["name"],
                first_year=int(row["first_year"]),
                last_year=int(row["last_year"]),
                successor=row["successor"],
                source=row["source"],
            )
            for row in csv.DictReader(handle)
        }
    return rules.RegionTable(current, historic, COMPLETE_PROVINCES)


@dataclass(frozen=True)
class CheckedPerson:
    """A person's details after every check, ready to store (identity still in plain text)."""

    name: str
    document_type: DocumentType | None
    document_number: str | None
    phone: str | None
    sex: Sex | None
    birth_date: date | None
    tags: int
    address: str | None
    workplace_id: int | None


def check_details(person_in: PersonCreate, *, today: date) -> CheckedPerson:
    """Every check that needs no database; raises with the first problem found."""
    name = person_in.name.strip()
    if not name:
        raise FangkongError(Code.NAME_REQUIRED, "a name is required", field="name")
    sex, birth = person_in.sex, person_in.birth_date
    number = identity.normalise_id_number(person_in.document_number or "") or None
    document_type = person_in.document_type or (DocumentType.RESIDENT_ID if number else None)
    if document_type is not None and number is None:
        raise FangkongError(
            Code.DOCUMENT_NUMBER_INVALID, "a document needs its number", field="document_number"
        )
    if number is not None and document_type is DocumentType.RESIDENT_ID:
        verdict = rules.check_resident_id(number, today=today, regions=region_table())
        if verdict.problem is not None:
            raise FangkongError(verdict.problem, verdict.message, field="document_number")
        number = verdict.number
        if sex is not None and sex != verdict.sex:
            raise FangkongError(
                Code.SEX_CONTRADICTS_ID, "the sex does not match the ID number", field="sex"
            )
        if birth is not None and birth != verdict.birth_date:
            raise FangkongError(
                Code.BIRTH_DATE_CONTRADICTS_ID,
                "the birth date does not match the ID number",
                field="birth_date",
            )
        sex, birth = verdict.sex, verdict.birth_date
    elif number is not None and document_type is not None:
        problem = rules.check_document_number(document_type, number)
        if problem is not None:
            raise FangkongError(
                problem, "this document number is not valid", field="document_number"
            )
    if birth is not None and (birth > today or birth.year < rules.EARLIEST_BIRTH_YEAR):
        raise FangkongError(
            Code.BIRTH_DATE_INVALID, "the birth date is impossible", field="birth_date"
        )
    phone = identity.normalise_phone(person_in.phone or "") or None
    if phone is not None and not rules.is_valid_phone(phone):
        raise FangkongError(Code.PHONE_INVALID, "not a phone number", field="phone")
    tags, unknown = rules.parse_tags(" ".join(person_in.tags))
    if unknown:
        raise FangkongError(Code.TAG_UNKNOWN, f"unknown tags: {', '.join(unknown)}", field="tags")
    return CheckedPerson(
        name=name,
        document_type=document_type,
        document_number=number,
        phone=phone,
        sex=sex,
        birth_date=birth,
        tags=tags,
        address=(person_in.address or "").strip() or None,
        workplace_id=person_in.workplace_id,
    )


def find_by_id_number(*, session: Session, number: str) -> Person | None:
    keys = identity.id_number_lookup_keys(get_cipher(), number)
    return session.scalars(select(Person).where(Person.id_number_index.in_(keys))).first()


def _place(*, session: Session, actor: Actor, person_in: PersonCreate) -> tuple[int | None, str]:
    """The household and area path where the person is registered."""
    if person_in.household_id is not None:
        household = places.get_household_or_raise(
            session=session, actor=actor, household_id=person_in.household_id
        )
        return household.id, household.area_path
    if person_in.area_code is None:
        raise FangkongError(
            Code.HOUSEHOLD_NOT_FOUND, "give a household or an area", field="household_id"
        )
    area = service.get_in_jurisdiction(session=session, actor=actor, code=person_in.area_code)
    if area.level not in (AreaLevel.COMMUNITY, AreaLevel.GRID):
        raise FangkongError(
            Code.AREA_PARENT_WRONG_LEVEL,
            "people are registered in a community or a grid",
            field="area_code",
        )
    return None, area.path


@dataclass
class Registered:
    person: Person
    proposals: list[MergeProposal] = field(default_factory=list)


def register_person(*, session: Session, actor: Actor, person_in: PersonCreate) -> Registered:
    """Register a person, refusing an ID number that already has a person, and propose merges
    with people who may be the same (see :func:`propose_merges`)."""
    actor.require(Permission.REGISTRY_EDIT)
    now = clock.now()
    checked = check_details(person_in, today=now.date())
    household_id, area_path = _place(session=session, actor=actor, person_in=person_in)
    if checked.workplace_id is not None and session.get(Workplace, checked.workplace_id) is None:
        raise NotFound(Code.WORKPLACE_NOT_FOUND, "no such workplace", field="workplace_id")
    cipher = get_cipher()
    if checked.document_number is not None and find_by_id_number(
        session=session, number=checked.document_number
    ):
        raise Conflict(
            Code.ID_NUMBER_TAKEN,
            "a person with this document number is already registered",
            field="document_number",
        )
    person = Person(
        household_id=household_id,
        area_path=area_path,
        document_type=str(checked.document_type) if checked.document_type else None,
        name=checked.name,
        sex=str(checked.sex) if checked.sex else None,
        birth_date=checked.birth_date,
        workplace_id=checked.workplace_id,
        tags=checked.tags,
        status=str(PersonStatus.ACTIVE),
        address=checked.address,
        created_at=now,
        updated_at=now,
    )
    if checked.document_number is not None:
        protected = identity.protect_id_number(cipher, checked.document_number)
        person.id_number_encrypted = protected.encrypted
        person.id_number_index = protected.index
        person.id_number_masked = protected.masked
    if checked.phone is not None:
        phone = identity.protect_phone(cipher, checked.phone)
        person.phone_encrypted, person.phone_index = phone.encrypted, phone.index
        person.phone_masked = phone.masked
    try:
        # A concurrent registration of the same number loses here, on the unique index.
        with session.begin_nested():
            session.add(person)
            session.flush()
    except IntegrityError as exc:
        raise Conflict(
            Code.ID_NUMBER_TAKEN,
            "a person with this document number is already registered",
            field="document_number",
        ) from exc
    events.created(
        session=session,
        actor=actor,
        action=events.PERSON_REGISTERED,
        subject_type="person",
        subject_id=person.id,
        after={
            "name": person.name,
            "document": person.id_number_masked,
            "phone": person.phone_masked,
            "area_path": area_path,
            "household_id": household_id,
        },
    )
    return Registered(person, propose_merges(session=session, actor=actor, person=person))


def propose_merges(*, session: Session, actor: Actor, person: Person) -> list[MergeProposal]:
    """Proposals for active persons with the same name, phone and birth date, when at least
    one of the two has no document (two different ID numbers are two different people)."""
    if person.phone_index is None or person.birth_date is None:
        return []
    stmt = select(Person).where(
        Person.id != person.id,
        Person.status == PersonStatus.ACTIVE,
        Person.name == person.name,
        Person.birth_date == person.birth_date,
        Person.phone_index == person.phone_index,
    )
    if person.id_number_index is not None:
        stmt = stmt.where(Person.id_number_index.is_(None))
    proposals = []
    for candidate in session.scalars(stmt.order_by(Person.id)):
        proposal = MergeProposal(
            person_id=person.id,
            candidate_id=candidate.id,
            area_path=person.area_path,
            match_reason=MATCH_NAME_PHONE_BIRTH,
            status=str(MergeStatus.PROPOSED),
            proposed_at=clock.now(),
        )
        session.add(proposal)
        session.flush()
        events.created(
            session=session,
            actor=actor,
            action=events.MERGE_PROPOSED,
            subject_type="merge_proposal",
            subject_id=proposal.id,
            after={"person_id": person.id, "candidate_id": candidate.id},
            rule_ref=f"registry.dedup.{MATCH_NAME_PHONE_BIRTH}",
        )
        proposals.append(proposal)
    return proposals


def get_person_or_raise(*, session: Session, actor: Actor, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(Code.PERSON_NOT_FOUND, f"no person {person_id}", field="person_id")
    actor.require_path(person.area_path)
    return person


def find_workplace(*, session: Session, credit_code: str) -> Workplace | None:
    return session.scalars(select(Workplace).where(Workplace.credit_code == credit_code)).first()


def get_workplace(*, session: Session, workplace_id: int | None) -> Workplace | None:
    return session.get(Workplace, workplace_id) if workplace_id is not None else None


def get_visible(*, session: Session, actor: Actor, person_id: int) -> Person | None:
    """The person when they exist and lie inside the actor's jurisdiction, else None."""
    person = session.get(Person, person_id)
    return person if person is not None and actor.covers_path(person.area_path) else None


def list_in_household(*, session: Session, household_id: int) -> list[Person]:
    stmt = select(Person).where(Person.household_id == household_id).order_by(Person.id)
    return list(session.scalars(stmt))


def list_under(*, session: Session, actor: Actor, path: str) -> list[Person]:
    """Active persons registered inside the subtree at ``path`` (grid or building lists)."""
    stmt = select(Person).where(
        within_path(Person.area_path, path), Person.status == PersonStatus.ACTIVE
    )
    stmt = scope_to_jurisdiction(stmt, actor=actor, path_column=Person.area_path)
    return list(session.scalars(stmt.order_by(Person.household_id, Person.id)))


def list_tagged_under(*, session: Session, actor: Actor, path: str, limit: int) -> list[Person]:
    """Up to ``limit`` active persons with at least one tag inside the subtree at ``path``."""
    stmt = select(Person).where(
        within_path(Person.area_path, path),
        Person.status == PersonStatus.ACTIVE,
        Person.tags != 0,
    )
    stmt = scope_to_jurisdiction(stmt, actor=actor, path_column=Person.area_path)
    return list(session.scalars(stmt.order_by(Person.household_id, Person.id).limit(limit)))


def search(*, session: Session, actor: Actor, query: str) -> list[Person]:
    """Find persons in the jurisdiction by full ID or phone (exact, through the blind index),
    by masked ID (``430203********1234`` or ``430203*1234``) or by part of the name."""
    actor.require(Permission.REGISTRY_VIEW)
    query = query.strip()
    if not query:
        return []
    cipher = get_cipher()
    compact = identity.normalise_id_number(query)
    if rules.MASK_CHARACTER in compact:
        head, _, tail = compact.partition(rules.MASK_CHARACTER)
        tail = tail.strip(rules.MASK_CHARACTER)
        condition = and_(
            Person.id_number_masked.startswith(head, autoescape=True),
            Person.id_number_masked.endswith(tail, autoescape=True),
        )
    elif (digits := compact.lstrip("+").replace("-", "")).isdigit() or (
        digits[:-1].isdigit() and digits.endswith("X")
    ):
        compact = digits
        widened = compact
        if len(compact) == 15:
            widened = rules.widen_fifteen_digit_id(compact)
        condition = or_(
            Person.id_number_index.in_(identity.id_number_lookup_keys(cipher, widened)),
            Person.phone_index.in_(identity.phone_lookup_keys(cipher, query)),
        )
    else:
        condition = Person.name.contains(query, autoescape=True)
    stmt = select(Person).where(condition).order_by(Person.name, Person.id).limit(SEARCH_LIMIT)
    stmt = scope_to_jurisdiction(stmt, actor=actor, path_column=Person.area_path)
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class Identity:
    person_id: int
    document_type: str | None
    id_number: str | None
    phone: str | None


def decrypt_identity(person: Person) -> Identity:
    cipher = get_cipher()
    return Identity(
        person_id=person.id,
        document_type=person.document_type,
        id_number=cipher.decrypt(person.id_number_encrypted, context=identity.ID_CONTEXT)
        if person.id_number_encrypted
        else None,
        phone=cipher.decrypt(person.phone_encrypted, context=identity.PHONE_CONTEXT)
        if person.phone_encrypted
        else None,
    )


def reveal_identity(*, session: Session, actor: Actor, person_id: int, reason: str) -> Identity:
    """The full ID number and phone, for roles that need them; every reveal is audited with
    its reason, so the log answers who looked at whose number and why."""
    actor.require(Permission.REGISTRY_VIEW_IDENTITY)
    if not reason.strip():
        raise FangkongError(Code.REASON_REQUIRED, "say why you need the number", field="reason")
    person = get_person_or_raise(session=session, actor=actor, person_id=person_id)
    events.changed(
        session=session,
        actor=actor,
        action=events.PERSON_IDENTITY_REVEALED,
        subject_type="person",
        subject_id=person.id,
        before=None,
        after=None,
        reason=reason.strip(),
    )
    return decrypt_identity(person)
