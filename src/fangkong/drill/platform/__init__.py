"""The platform steps a drill drives.

Every function in this package works only from what the platform stores (lab results, tubes, scans,
cases, investigations and contacts, isolation orders and their tests, risk designations, the
registry); none reads the epidemic model, and an import contract in pyproject.toml forbids this
package from importing ``fangkong.sim``.

Each day the platform runs its own actions: the case intake from positive results
(``tracing.actions.open_cases_from_positive_results``), the epidemiologist's confirmation of each
new investigation (``tracing.actions.confirm_investigation``, which finds and classifies the
contacts under the pack), isolation of the identified contacts
(``isolation.actions.isolate_due_contacts``), a transfer of the new cases to the shelter
hospital (``isolation.service.create_transfer`` and ``advance_transfer``) with the cases' status
following it, the filing of isolation tests and the release path (``isolation.actions.release``)
for orders whose phase ends. The drill's twin only plays the people: it decides nothing the
platform could not know.

Two bulk paths remain where the per-call services are too slow for a 100,000-person city:
mass rounds of more than ``SERVICE_TUBES_MAX`` tubes and, on SQLite, the day's place-code scans
(both in ``sampling``).

By responsibility: ``sampling`` (rounds, lab results, scans), ``cases`` (intake, investigations,
transfer to care), ``orders`` (isolation orders, tests, releases, the day's restrictions),
``areas`` (risk areas) and ``codes`` (health codes, the daily bulletin).
"""

from fangkong.drill.platform.areas import (
    designation_residents,
    evaluate_areas,
    propose_and_confirm_areas,
    record_area_days,
)
from fangkong.drill.platform.cases import (
    Case,
    confirm_investigations,
    open_cases,
    record_care,
    transfer_cases,
)
from fangkong.drill.platform.codes import codes_by_colour, publish_bulletin, recompute_codes
from fangkong.drill.platform.orders import (
    Releases,
    Restrictions,
    file_isolation_tests,
    isolate_contacts,
    isolation_tests_due,
    place_in_facilities,
    release_due_orders,
    restrictions,
    waiting_for_room,
)
from fangkong.drill.platform.sampling import (
    Sampled,
    ingest_results,
    positive_pool_members,
    record_scans,
    sample_round,
)

__all__ = [
    "Case",
    "Releases",
    "Restrictions",
    "Sampled",
    "codes_by_colour",
    "confirm_investigations",
    "designation_residents",
    "evaluate_areas",
    "file_isolation_tests",
    "ingest_results",
    "isolate_contacts",
    "isolation_tests_due",
    "open_cases",
    "place_in_facilities",
    "positive_pool_members",
    "propose_and_confirm_areas",
    "publish_bulletin",
    "recompute_codes",
    "record_area_days",
    "record_care",
    "record_scans",
    "release_due_orders",
    "restrictions",
    "sample_round",
    "transfer_cases",
    "waiting_for_room",
]
