"""Sampling scans: bind scanned people to tubes, durably, many scans per transaction.

A sampler's phone sends one scan at a time (a tube barcode plus a registration code, or an ID
number typed by hand when the code cannot be read). A scan is answered only after the row that
records it has been committed, so a phone that got "accepted" never loses that person, even if the
server is killed a moment later.

Committing each scan in its own transaction costs one disk flush per scan. Instead a single
writer thread takes every scan waiting in its queue (group commit): it waits at most
``window`` seconds after the first one for others to arrive, checks them all in one pass,
stores the accepted ones in one transaction, commits, and only then answers every waiting
request. A scan that is refused (forged code, full tube …) is answered with its own refusal
and never costs the others: the checks run scan by scan against the batch's in-memory view of
the tubes, and if the batch's transaction fails anyway each scan is retried on its own.

The pool cap comes from the tube (``Tube.pool_size``, set from the round's pool policy when the
tube was opened). A tube that reaches its cap is sealed by the same transaction.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Table, bindparam, insert, select, text, update
from sqlalchemy.orm import Session

from fangkong.areas import service as areas_service
from fangkong.core import audit, clock
from fangkong.core.crypto import get_cipher, parse_keyring
from fangkong.core.errors import Conflict, CoreErrorCode, FangkongError, NotFound, PermissionDenied
from fangkong.core.scope import Actor
from fangkong.registry import service as registry_service
from fangkong.registry.identity import id_number_lookup_keys
from fangkong.registry.models import Person
from fangkong.testing import person_status, policies, rules, service
from fangkong.testing.codes import verify_code
from fangkong.testing.enums import CampaignStatus, ScanFlag, ScanMethod, TubeStatus
from fangkong.testing.errors import TestingError, TestingErrorCode
from fangkong.testing.models import SamplingScan, TestCampaign, Tube, TubeMember

MEMBER_TABLE: Table = TubeMember.metadata.tables["tube_member"]
SCAN_TABLE: Table = SamplingScan.metadata.tables["sampling_scan"]
TUBE_TABLE: Table = Tube.metadata.tables["tube"]


# --- Registration-code keys -------------------------------------------------------------------


@dataclass(frozen=True)
class RegistrationKeys:
    """The platform's registration-code keys, derived from ``FANGKONG_CODE_SIGNING_KEY``.

    The first key signs; every key's public half verifies. A code carries a one-byte key id: the
    CRC-32 of the keyring's key name, modulo 256. The codes' own domain tag keeps their
    signatures from being valid for health-code tokens or passes signed with the same seed.
    """

    signing_key_id: int
    signing_key: Ed25519PrivateKey
    public_keys: Mapping[int, Ed25519PublicKey]


def code_key_id(name: str) -> int:
    return zlib.crc32(name.encode()) & 0xFF


_KEYS_CACHE: dict[str, RegistrationKeys] = {}


def registration_keys(spec: str) -> RegistrationKeys:
    cached = _KEYS_CACHE.get(spec)
    if cached is not None:
        return cached
    ring = [
        (code_key_id(name), Ed25519PrivateKey.from_private_bytes(seed))
        for name, seed in parse_keyring(spec)
    ]
    keys = RegistrationKeys(
        signing_key_id=ring[0][0],
        signing_key=ring[0][1],
        public_keys={key_id: key.public_key() for key_id, key in reversed(ring)},
    )
    _KEYS_CACHE[spec] = keys
    return keys


# --- One scan ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScanInput:
    """A scan as the sampler sent it, already checked for what needs no database.

    ``person_ids`` come from a verified registration code; ``id_lookup_keys`` are the blind
    indexes of an ID number typed by hand (the person is looked up in the batch).
    """

    actor: Actor
    tube_barcode: str
    method: ScanMethod
    person_ids: tuple[int, ...] = ()
    id_lookup_keys: tuple[str, ...] = ()
    client_scan_id: str | None = None
    scanned_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ScannedPerson:
    person_id: int
    name_masked: str


@dataclass(frozen=True, slots=True)
class ScanOutcome:
    """What the sampler's phone is told about an accepted scan."""

    scan_id: int
    tube_barcode: str
    tube_status: str
    member_count: int
    pool_size: int
    people: tuple[ScannedPerson, ...]
    flags: tuple[str, ...]
    replayed: bool = False


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧**娜, Li Lei → L*****i: enough for the sampler to check a face."""
    name = name.strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def prepare_scan(
    *,
    actor: Actor,
    tube_barcode: str,
    code: str | None,
    id_number: str | None,
    public_keys: Mapping[int, Ed25519PublicKey],
    now: datetime,
    member_ids: Sequence[int] | None = None,
    client_scan_id: str | None = None,
    scanned_at: datetime | None = None,
) -> ScanInput:
    """Check what can be checked without the database: exactly one of a code and an ID
    number, and the code's signature and dates (``code_forged``, ``code_expired`` …)."""
    barcode = tube_barcode.strip()
    if not barcode:
        raise TestingError(
            TestingErrorCode.SCAN_INPUT_INVALID, "scan the tube first", field="tube_barcode"
        )
    code = (code or "").strip() or None
    id_number = (id_number or "").strip() or None
    if (code is None) == (id_number is None):
        raise TestingError(
            TestingErrorCode.SCAN_INPUT_INVALID,
            "send either a registration code or an ID number",
            field="code",
        )
    if code is not None:
        verified = verify_code(code, public_keys=public_keys, now=now)
        people = verified.select_members(member_ids) if member_ids else verified.covered_people()
        return ScanInput(
            actor=actor,
            tube_barcode=barcode,
            method=ScanMethod.CODE,
            person_ids=tuple(people),
            client_scan_id=client_scan_id,
            scanned_at=scanned_at,
        )
    assert id_number is not None
    keys = id_number_lookup_keys(get_cipher(), id_number)
    return ScanInput(
        actor=actor,
        tube_barcode=barcode,
        method=ScanMethod.ID_NUMBER,
        id_lookup_keys=tuple(keys),
        client_scan_id=client_scan_id,
        scanned_at=scanned_at,
    )


# --- A batch of scans -------------------------------------------------------------------------


@dataclass
class _TubeState:
    id: int
    barcode: str
    status: str
    member_count: int
    pool_size: int
    campaign_id: int | None
    area_path: str
    changed: bool = False
    sealed_now: bool = False
    added: list[int] = field(default_factory=list)


def _in_chunks(values: Sequence[Any], size: int = 900) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def process_batch(
    *, session: Session, scans: Sequence[ScanInput], now: datetime | None = None
) -> list[ScanOutcome | FangkongError]:
    """Check and store a batch of scans in ``session`` (the caller commits).

    Returns one item per scan, in order: its outcome, or the refusal for that scan alone
    (``tube_not_found``, ``tube_not_open``, ``tube_full``, ``campaign_not_open``,
    ``person_not_found``, ``person_already_in_tube``, or ``outside_jurisdiction``). Refused
    scans store nothing. Tubes are locked (``FOR UPDATE`` on PostgreSQL) for the transaction.
    """
    moment = now or clock.now()
    results: list[ScanOutcome | FangkongError | None] = [None] * len(scans)

    # Scans the phone already sent (and we stored) are answered with what was stored.
    client_ids = [s.client_scan_id for s in scans if s.client_scan_id]
    stored_before: dict[str, SamplingScan] = {}
    for chunk in _in_chunks(sorted(set(client_ids))):
        for stored in session.scalars(
            select(SamplingScan).where(SamplingScan.client_scan_id.in_(chunk))
        ):
            assert stored.client_scan_id is not None
            stored_before[stored.client_scan_id] = stored

    # People typed in by ID number.
    lookup = sorted({key for s in scans for key in s.id_lookup_keys})
    by_index: dict[str, int] = {}
    for chunk in _in_chunks(lookup):
        rows = session.execute(
            select(Person.id_number_index, Person.id).where(Person.id_number_index.in_(chunk))
        )
        by_index.update({index: person_id for index, person_id in rows if index})
    people_of: list[tuple[int, ...]] = []
    for scan in scans:
        if scan.method is ScanMethod.ID_NUMBER:
            found = [by_index[key] for key in scan.id_lookup_keys if key in by_index]
            people_of.append(tuple(dict.fromkeys(found)))
        else:
            people_of.append(tuple(dict.fromkeys(scan.person_ids)))

    # Tubes (locked), their rounds, the people and who is already in these tubes and rounds.
    barcodes = sorted({s.tube_barcode for s in scans})
    if any(s.client_scan_id in stored_before for s in scans):
        replay_tubes = session.execute(
            select(Tube.id, Tube.barcode).where(
                Tube.id.in_({row.tube_id for row in stored_before.values()})
            )
        )
        barcodes = sorted(set(barcodes) | {barcode for _, barcode in replay_tubes})
    tubes: dict[str, _TubeState] = {}
    locking = session.get_bind().dialect.name == "postgresql"
    for chunk in _in_chunks(barcodes):
        stmt = (
            select(
                Tube.id,
                Tube.barcode,
                Tube.status,
                Tube.member_count,
                Tube.pool_size,
                Tube.campaign_id,
                Tube.area_path,
            )
            .where(Tube.barcode.in_(chunk))
            .order_by(Tube.id)
        )
        if locking:
            stmt = stmt.with_for_update()
        for tube_row in session.execute(stmt):
            tubes[tube_row.barcode] = _TubeState(*tube_row)
    tubes_by_id = {tube.id: tube for tube in tubes.values()}
    campaign_ids = sorted({t.campaign_id for t in tubes.values() if t.campaign_id is not None})
    campaigns = {
        row.id: row
        for row in session.execute(
            select(TestCampaign.id, TestCampaign.area_path, TestCampaign.status).where(
                TestCampaign.id.in_(campaign_ids)
            )
        )
    }
    person_ids = sorted({p for group in people_of for p in group})
    persons: dict[int, Any] = {}
    for chunk in _in_chunks(person_ids):
        for person_row in session.execute(
            select(Person.id, Person.name, Person.area_path).where(Person.id.in_(chunk))
        ):
            persons[person_row.id] = person_row
    in_tube: set[tuple[int, int]] = set()
    in_round: set[tuple[int, int]] = set()
    if person_ids and tubes:
        for chunk in _in_chunks(person_ids):
            rows = session.execute(
                select(TubeMember.tube_id, Tube.campaign_id, TubeMember.person_id)
                .join(Tube, Tube.id == TubeMember.tube_id)
                .where(
                    TubeMember.person_id.in_(chunk),
                    (Tube.id.in_(list(tubes_by_id)))
                    | (Tube.campaign_id.in_(campaign_ids) if campaign_ids else Tube.id.in_([])),
                )
            )
            for tube_id, campaign_id, person_id in rows:
                in_tube.add((tube_id, person_id))
                if campaign_id is not None:
                    in_round.add((campaign_id, person_id))

    # Decide scan by scan, against the batch's view of each tube.
    members: list[dict[str, Any]] = []
    new_scans: list[dict[str, Any]] = []
    accepted: list[tuple[int, _TubeState, tuple[int, ...], tuple[str, ...], int, str]] = []
    seen_client_ids: set[str] = set()
    for position, scan in enumerate(scans):
        if scan.client_scan_id and (
            scan.client_scan_id in stored_before or scan.client_scan_id in seen_client_ids
        ):
            continue  # answered below, once the batch is stored
        try:
            tube = _admit(
                scan=scan,
                people=people_of[position],
                tubes=tubes,
                campaigns=campaigns,
                persons=persons,
                in_tube=in_tube,
            )
        except FangkongError as refusal:
            results[position] = refusal
            continue
        people = people_of[position]
        flag_list: list[str] = []
        if tube.campaign_id is not None:
            campaign = campaigns[tube.campaign_id]
            if any((tube.campaign_id, p) in in_round for p in people):
                flag_list.append(ScanFlag.REPEAT_IN_ROUND.value)
            if any(not persons[p].area_path.startswith(campaign.area_path) for p in people):
                flag_list.append(ScanFlag.OUTSIDE_ROUND_SCOPE.value)
            in_round.update((tube.campaign_id, p) for p in people)
        in_tube.update((tube.id, p) for p in people)
        tube.member_count += len(people)
        tube.added.extend(people)
        tube.changed = True
        if tube.member_count >= tube.pool_size:
            tube.status = TubeStatus.SEALED.value
            tube.sealed_now = True
        members.extend({"tube_id": tube.id, "person_id": p, "sampled_at": moment} for p in people)
        new_scans.append(
            {
                "client_scan_id": scan.client_scan_id,
                "tube_id": tube.id,
                "campaign_id": tube.campaign_id,
                "method": scan.method.value,
                "person_ids": list(people),
                "flags": flag_list,
                "sampler_user_id": scan.actor.user_id,
                "scanned_at": scan.scanned_at or moment,
                "stored_at": moment,
            }
        )
        if scan.client_scan_id:
            seen_client_ids.add(scan.client_scan_id)
        accepted.append((position, tube, people, tuple(flag_list), tube.member_count, tube.status))

    # Store everything in one go.
    if members:
        session.execute(insert(MEMBER_TABLE), members)
    scan_ids = _store_scans(session=session, rows=new_scans)
    changed = [tube for tube in tubes.values() if tube.changed]
    if changed:
        session.execute(
            update(TUBE_TABLE)
            .where(TUBE_TABLE.c.id == bindparam("tube_id"))
            .values(
                member_count=bindparam("count"),
                status=bindparam("new_status"),
                sealed_at=bindparam("sealed"),
            ),
            [
                {
                    "tube_id": tube.id,
                    "count": tube.member_count,
                    "new_status": tube.status,
                    "sealed": moment if tube.sealed_now else None,
                }
                for tube in changed
            ],
        )
        # the round's coverage and the 应检未检 lists see a person as soon as they are sampled
        person_status.record_sampled(session=session, tube_ids=[tube.id for tube in changed])
    _audit_batch(session=session, scans=scans, accepted=accepted, scan_ids=scan_ids, now=moment)
    session.flush()

    new_by_client: dict[str, ScanOutcome] = {}
    for (position, tube, people, flags, count, status), scan_id in zip(
        accepted, scan_ids, strict=True
    ):
        outcome = ScanOutcome(
            scan_id=scan_id,
            tube_barcode=tube.barcode,
            tube_status=status,
            member_count=count,
            pool_size=tube.pool_size,
            people=tuple(ScannedPerson(p, mask_name(persons[p].name)) for p in people),
            flags=flags,
        )
        results[position] = outcome
        client_id = scans[position].client_scan_id
        if client_id:
            new_by_client[client_id] = outcome
    for position, scan in enumerate(scans):
        if results[position] is not None or not scan.client_scan_id:
            continue
        if scan.client_scan_id in new_by_client:
            results[position] = _replayed(new_by_client[scan.client_scan_id])
            continue
        row = stored_before[scan.client_scan_id]
        tube = tubes_by_id[row.tube_id]
        names = dict(
            session.execute(select(Person.id, Person.name).where(Person.id.in_(row.person_ids)))
            .tuples()
            .all()
        )
        results[position] = ScanOutcome(
            scan_id=row.id,
            tube_barcode=tube.barcode,
            tube_status=tube.status,
            member_count=tube.member_count,
            pool_size=tube.pool_size,
            people=tuple(ScannedPerson(p, mask_name(names.get(p, ""))) for p in row.person_ids),
            flags=tuple(row.flags),
            replayed=True,
        )
    return [result for result in results if result is not None]


def _store_scans(*, session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert the scan rows and return their ids, in order.

    On PostgreSQL the ids are drawn from the sequence first, so the INSERT is a plain
    executemany with no RETURNING (several times faster there); SQLite returns them itself.
    """
    if not rows:
        return []
    if session.get_bind().dialect.name != "postgresql":
        return list(
            session.scalars(
                insert(SCAN_TABLE).returning(SCAN_TABLE.c.id, sort_by_parameter_order=True),
                rows,
            )
        )
    ids = list(
        session.scalars(
            text(
                "SELECT nextval(pg_get_serial_sequence('sampling_scan', 'id')) "
                "FROM generate_series(1, :n)"
            ),
            {"n": len(rows)},
        )
    )
    session.execute(
        insert(SCAN_TABLE), [{**row, "id": scan_id} for row, scan_id in zip(rows, ids, strict=True)]
    )
    return ids


def _audit_batch(
    *,
    session: Session,
    scans: Sequence[ScanInput],
    accepted: Sequence[tuple[int, _TubeState, tuple[int, ...], tuple[str, ...], int, str]],
    scan_ids: Sequence[int],
    now: datetime,
) -> None:
    """One audit event per sampler per batch: which people went into which tube, by which
    scan, and which tubes sealed themselves because they were full."""
    by_actor: dict[int, dict[str, Any]] = {}
    actors: dict[int, Actor] = {}
    for (position, tube, people, flags, _count, status), scan_id in zip(
        accepted, scan_ids, strict=True
    ):
        actor = scans[position].actor
        actors[actor.user_id] = actor
        entry = by_actor.setdefault(actor.user_id, {"tubes": {}, "sealed": [], "scan_ids": []})
        entry["tubes"].setdefault(tube.barcode, []).extend(people)
        entry["scan_ids"].append(scan_id)
        if status == TubeStatus.SEALED.value:
            entry["sealed"].append(tube.barcode)
        if flags:
            entry.setdefault("flagged", {})[str(scan_id)] = list(flags)
    for user_id, entry in by_actor.items():
        audit.record(
            session=session,
            actor=actors[user_id],
            action="testing.scans_stored",
            subject_type="sampling_scan",
            subject_id=entry["scan_ids"][0],
            after=entry,
            occurred_at=now,
        )


def _replayed(outcome: ScanOutcome) -> ScanOutcome:
    return ScanOutcome(
        scan_id=outcome.scan_id,
        tube_barcode=outcome.tube_barcode,
        tube_status=outcome.tube_status,
        member_count=outcome.member_count,
        pool_size=outcome.pool_size,
        people=outcome.people,
        flags=outcome.flags,
        replayed=True,
    )


def _admit(
    *,
    scan: ScanInput,
    people: tuple[int, ...],
    tubes: Mapping[str, _TubeState],
    campaigns: Mapping[int, Any],
    persons: Mapping[int, Any],
    in_tube: set[tuple[int, int]],
) -> _TubeState:
    tube = tubes.get(scan.tube_barcode)
    if tube is None:
        raise NotFound(
            TestingErrorCode.TUBE_NOT_FOUND,
            f"tube {scan.tube_barcode} has not been opened",
            field="tube_barcode",
        )
    if not scan.actor.covers_path(tube.area_path):
        raise PermissionDenied(
            CoreErrorCode.OUTSIDE_JURISDICTION, "this tube is outside your jurisdiction"
        )
    if tube.campaign_id is not None and campaigns[tube.campaign_id].status != (
        CampaignStatus.OPEN.value
    ):
        raise Conflict(TestingErrorCode.CAMPAIGN_NOT_OPEN, "the round is closed")
    if tube.status != TubeStatus.OPEN.value:
        raise Conflict(
            TestingErrorCode.TUBE_NOT_OPEN,
            f"tube {tube.barcode} is {tube.status}; scan a new tube",
            field="tube_barcode",
        )
    if not people or any(p not in persons for p in people):
        what = "ID number" if scan.method is ScanMethod.ID_NUMBER else "code"
        raise NotFound(
            TestingErrorCode.PERSON_NOT_FOUND,
            f"nobody registered matches this {what}",
            field="id_number" if scan.method is ScanMethod.ID_NUMBER else "code",
        )
    if any((tube.id, p) in in_tube for p in people):
        raise Conflict(
            TestingErrorCode.PERSON_ALREADY_IN_TUBE,
            "this person is already in this tube",
            field="code",
        )
    if tube.member_count + len(people) > tube.pool_size:
        raise Conflict(
            TestingErrorCode.TUBE_FULL,
            f"the tube holds {tube.member_count} of {tube.pool_size}; "
            f"{len(people)} more do not fit",
            field="tube_barcode",
        )
    return tube


# --- Tubes at a site --------------------------------------------------------------------------


def open_round_tube(
    *,
    session: Session,
    actor: Actor,
    barcode: str,
    campaign_id: int,
    site_code: str,
    pool_size: int | None = None,
    isolation_site: bool = False,
) -> Tube:
    """Open a tube at a sampling site for a round (an area code inside the round's area).

    The pool size comes from the pack's ``test.pool_size`` rule for the site's area risk class
    (``areas.service.risk_status``; ``isolation_site`` for a centralised isolation site), never
    above the round's cap (``max_pool_size``). A smaller ``pool_size`` may be asked for; a larger
    one is refused with ``pool_size_above_campaign_cap``. Scanning a tube that is already open
    at this site for this round carries on filling it (a phone that reloaded its page); any other
    registered tube is refused with ``tube_barcode_taken``.
    """
    site = registry_service.get_by_code_or_raise(session=session, code=site_code)
    actor.require_path(site.path)
    existing = service.get_tube_by_barcode(session=session, barcode=barcode.strip())
    if (
        existing is not None
        and existing.campaign_id == campaign_id
        and existing.area_path == site.path
        and existing.status == TubeStatus.OPEN.value
    ):
        return existing
    campaign = session.get(TestCampaign, campaign_id)
    if campaign is None:
        raise NotFound(TestingErrorCode.CAMPAIGN_NOT_FOUND, "no such round", field="campaign_id")
    policy = policies.pool_sizes_at(now=clock.now())
    level = areas_service.risk_status(session=session, area_path=site.path).level
    allowed = min(
        rules.pool_size_for(risk_level=str(level), is_isolation_site=isolation_site, policy=policy),
        campaign.max_pool_size,
    )
    if pool_size is not None and pool_size > allowed:
        where = "an isolation site" if isolation_site else f"a {level} risk area"
        raise TestingError(
            TestingErrorCode.POOL_SIZE_ABOVE_CAMPAIGN_CAP,
            f"in {where} this round pools at most {allowed} people a tube ({policy.rule_ref})",
            field="pool_size",
        )
    return service.open_tube(
        session=session,
        actor=actor,
        barcode=barcode.strip(),
        area_path=site.path,
        pool_size=pool_size or allowed,
        campaign_id=campaign_id,
        rule_ref=policy.rule_ref,
    )
