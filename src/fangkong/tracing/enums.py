from enum import StrEnum


class ScanSource(StrEnum):
    """How a place scan reached us."""

    APP = "app"  # a person scanned the venue's place code (场所码) with the app
    IMPORT = "import"  # a venue's or a partner system's scan log, loaded in bulk


class CaseKind(StrEnum):
    """Confirmed case (确诊病例) or asymptomatic infection (无症状感染者)."""

    CONFIRMED = "confirmed"
    ASYMPTOMATIC = "asymptomatic"


class CaseStatus(StrEnum):
    """Where a case is in its course. ``void`` is a case entered in error: it frees the person
    for a new case and is never counted."""

    REPORTED = "reported"  # the positive is known; not yet moved
    TRANSFERRED = "transferred"  # being taken to care (转运)
    IN_HOSPITAL = "in_hospital"  # designated hospital (定点医院)
    IN_SHELTER_HOSPITAL = "in_shelter_hospital"  # shelter hospital (方舱医院)
    DISCHARGED = "discharged"
    DIED = "died"
    VOID = "void"


class DetectionRoute(StrEnum):
    """How the case was found."""

    MASS_ROUND = "mass_round"  # a regional test round (区域核酸检测)
    FEVER_CLINIC = "fever_clinic"  # 发热门诊
    CONTACT_SCREENING = "contact_screening"  # testing of contacts under isolation
    KEY_WORKER_ROUTINE = "key_worker_routine"  # routine testing of key posts (重点人群)
    OTHER = "other"


class Severity(StrEnum):
    """Clinical classification (临床分型) of a confirmed case; asymptomatic cases have none."""

    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"
    CRITICAL = "critical"


class InvestigationStatus(StrEnum):
    """An investigation's trajectory is a draft until the epidemiologist confirms it."""

    DRAFT = "draft"
    CONFIRMED = "confirmed"


class TrajectoryKind(StrEnum):
    """What a trajectory entry records."""

    SCAN = "scan"  # a place-code scan in the look-back window
    HOUSEHOLD = "household"  # the case's home
    WORKPLACE = "workplace"  # the case's workplace or school
    PLACE = "place"  # a place the case reported (a venue, or free text)
    TRANSPORT = "transport"  # a bus, train, flight or taxi the case reported


class EntrySource(StrEnum):
    AUTO = "auto"  # pulled from scans and the registry when the investigation opened
    MANUAL = "manual"  # added by the epidemiologist


class ContactBasis(StrEnum):
    """Why someone is a contact: one of these per evidence row. ``household`` to ``venue`` are
    the criteria a pack lists for close contacts."""

    HOUSEHOLD = "household"  # lives with the case
    BUILDING_UNIT = "building_unit"  # same building and unit (单元)
    BUILDING_FLOOR = "building_floor"  # same unit, same floor or the floors directly above/below
    WORKPLACE = "workplace"  # same workplace or school
    VENUE = "venue"  # scanned the same place code within the window
    VIA_CONTACT = "via_contact"  # lives with a close contact (secondary contacts)
    TRANSPORT = "transport"  # on the same flight, train, bus or taxi ride, near the case


class ContactCategory(StrEnum):
    """The names match the isolation domain's categories, so a contact is handed over as is."""

    CLOSE_CONTACT = "close_contact"
    SECONDARY_CONTACT = "secondary_contact"


class ContactStatus(StrEnum):
    IDENTIFIED = "identified"  # found, waiting to be handed to isolation
    HANDED_OVER = "handed_over"  # isolation has taken them
    CLOSED = "closed"  # no action (already a case, withdrawn) or the isolation is over


class TransportMode(StrEnum):
    """A shared journey: ``number`` is the flight or train number, a coach service or a bus's
    plate, a taxi's plate."""

    FLIGHT = "flight"
    TRAIN = "train"
    BUS = "bus"
    TAXI = "taxi"


class TravellerRole(StrEnum):
    PASSENGER = "passenger"
    CREW = "crew"  # the driver of a bus or taxi, cabin or train crew


class JourneySource(StrEnum):
    MANIFEST = "manifest"  # a carrier's passenger list, imported
    MANUAL = "manual"  # reported by the case and entered by the epidemiologist
