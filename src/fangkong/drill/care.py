"""The twin's clinicians: what happens to cases once the platform has taken them to care.

A case is opened as an asymptomatic infection (the platform knows only the positive result).
In the shelter hospital the clinicians see each morning whether the person has symptoms or is
getting worse; they report it and the epidemiologist records it through tracing's own actions:
``reclassify`` (asymptomatic → confirmed, with the clinical type), ``advance_status`` to
``in_hospital`` (a severe or critical case moves to the designated hospital), to ``died``, and
to ``discharged`` once two consecutive tests at least ``discharge_test_interval_days`` apart
have a Ct value at or above the threshold (or find nothing) and the person is no longer severe.

This module reads the model (the clinicians examine the person); the decisions go to the
platform through ``fangkong.drill.platform.cases``, which reads only the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from fangkong.drill.twin import TwinParameters, detection_probability
from fangkong.sim.epidemic.enums import State
from fangkong.tracing.enums import CaseStatus, Severity

SEVERITY_OF_STATE = {
    State.SYMPTOMATIC: Severity.MILD,
    State.SEVERE: Severity.SEVERE,
    State.CRITICAL: Severity.CRITICAL,
}

# Statuses of a case still under the clinicians' care.
IN_CARE = (CaseStatus.IN_SHELTER_HOSPITAL, CaseStatus.IN_HOSPITAL)


@dataclass
class InCare:
    """One case under the clinicians' care (``person`` is the model index)."""

    case_id: int
    person: int
    admitted_day: int
    status: CaseStatus = CaseStatus.IN_SHELTER_HOSPITAL
    confirmed: bool = False  # reclassified from asymptomatic
    clear_tests: list[int] = field(default_factory=list)  # days of consecutive Ct >= threshold


@dataclass(frozen=True)
class Decision:
    """What the clinicians report about one case today."""

    case_id: int
    person: int
    reclassify_as: Severity | None = None
    to: CaseStatus | None = None  # in_hospital, died or discharged


def _test_clear(load_log10: float, draw: float, parameters: TwinParameters) -> bool:
    """A hospital test (single swab) whose Ct is at or above the discharge threshold, or which
    finds nothing. Ct = intercept − slope × load, as the lab's."""
    if draw >= detection_probability(load_log10, parameters):
        return True
    ct = parameters.ct_intercept - parameters.ct_per_log10 * load_log10
    return bool(ct >= parameters.discharge_ct_threshold)


def examine(
    *,
    day: int,
    patients: list[InCare],
    state: NDArray[np.int8],
    onset: NDArray[np.int32],
    loads: NDArray[np.float32],
    rng: np.random.Generator,
    parameters: TwinParameters,
) -> list[Decision]:
    """Today's reports on ``patients`` (in the order given; one random draw per patient, so the
    drill stays deterministic per seed). ``state`` is everyone's infection state today and
    ``onset`` the model day of symptom onset (a large value for none): symptoms the person had
    before being found count too. Updates each patient's record in place."""
    decisions: list[Decision] = []
    draws = rng.random(len(patients))
    for patient, draw in zip(patients, draws.tolist(), strict=True):
        current = State(int(state[patient.person]))
        reclassify = None
        if not patient.confirmed and int(onset[patient.person]) <= day:
            reclassify = SEVERITY_OF_STATE.get(current, Severity.MILD)
            patient.confirmed = True
        if current is State.DEAD:
            patient.status = CaseStatus.DIED
            decisions.append(Decision(patient.case_id, patient.person, reclassify, patient.status))
            continue
        if current in (State.SEVERE, State.CRITICAL):
            patient.clear_tests.clear()
            if patient.status is CaseStatus.IN_SHELTER_HOSPITAL:
                patient.status = CaseStatus.IN_HOSPITAL
                decisions.append(
                    Decision(patient.case_id, patient.person, reclassify, patient.status)
                )
            elif reclassify is not None:
                decisions.append(Decision(patient.case_id, patient.person, reclassify))
            continue
        to = None
        # Day of care counted from 1 on the day of admission.
        if day - patient.admitted_day + 1 >= parameters.discharge_first_test_day:
            if _test_clear(float(loads[patient.person]), draw, parameters):
                if (
                    patient.clear_tests
                    and day - patient.clear_tests[-1] >= parameters.discharge_test_interval_days
                ):
                    to = CaseStatus.DISCHARGED
                    patient.status = to
                patient.clear_tests.append(day)
            else:
                patient.clear_tests.clear()
        if reclassify is not None or to is not None:
            decisions.append(Decision(patient.case_id, patient.person, reclassify, to))
    return decisions
