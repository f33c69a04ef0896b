"""The twin's clinicians: reclassification, moves to the designated hospital, discharge."""

from __future__ import annotations

import numpy as np

from fangkong.drill import care
from fangkong.drill.care import Decision, InCare
from fangkong.drill.twin import load_parameters
from fangkong.sim.epidemic.enums import State
from fangkong.sim.epidemic.progression import NEVER
from fangkong.tracing.enums import CaseStatus, Severity

P = load_parameters()


def _examine(
    day: int,
    patients: list[InCare],
    states: list[State],
    loads: list[float],
    onset: list[int] | None = None,
) -> list[Decision]:
    return care.examine(
        day=day,
        patients=patients,
        state=np.array(states, np.int8),
        onset=np.array(onset or [int(NEVER)] * len(states), np.int32),
        loads=np.array(loads, np.float32),
        rng=np.random.default_rng(1),
        parameters=P,
    )


def test_the_discharge_parameters_are_the_ninth_editions() -> None:
    assert (P.discharge_first_test_day, P.discharge_test_interval_days) == (6, 1)
    assert P.discharge_ct_threshold == 35.0


def test_an_asymptomatic_case_with_symptoms_is_reclassified_once_with_its_clinical_type() -> None:
    mild, severe = InCare(11, 0, admitted_day=3), InCare(12, 1, admitted_day=3)
    first = _examine(4, [mild, severe], [State.SYMPTOMATIC, State.SEVERE], [7.0, 7.0], [4, 2])
    assert first == [
        Decision(11, 0, reclassify_as=Severity.MILD),
        Decision(12, 1, reclassify_as=Severity.SEVERE, to=CaseStatus.IN_HOSPITAL),
    ]
    assert _examine(5, [mild, severe], [State.SYMPTOMATIC, State.SEVERE], [7.0, 7.0], [4, 2]) == []
    assert (mild.status, severe.status) == (CaseStatus.IN_SHELTER_HOSPITAL, CaseStatus.IN_HOSPITAL)


def test_symptoms_had_before_detection_count_and_an_asymptomatic_course_stays_asymptomatic() -> (
    None
):
    earlier, never = InCare(21, 0, admitted_day=9), InCare(22, 1, admitted_day=9)
    decisions = _examine(
        9, [earlier, never], [State.RECOVERED, State.ASYMPTOMATIC], [5, 5], [6, int(NEVER)]
    )
    assert decisions == [Decision(21, 0, reclassify_as=Severity.MILD)]


def test_two_clear_tests_on_consecutive_days_from_the_sixth_day_of_care_discharge() -> None:
    patient = InCare(31, 0, admitted_day=10)
    # day of care 5 (day 14): no test yet, even with no virus left
    assert _examine(14, [patient], [State.RECOVERED], [0.0]) == []
    assert patient.clear_tests == []
    # day of care 6: the first clear test; day of care 7: the second, discharged
    assert _examine(15, [patient], [State.RECOVERED], [0.0]) == []
    assert _examine(16, [patient], [State.RECOVERED], [0.0]) == [
        Decision(31, 0, to=CaseStatus.DISCHARGED)
    ]
    assert patient.status is CaseStatus.DISCHARGED and patient.clear_tests == [15, 16]


def test_a_test_below_the_threshold_starts_the_count_again() -> None:
    patient = InCare(41, 0, admitted_day=0)
    high = 9.0  # Ct 44.5 - 3.32 * 9 = 14.6: detected with probability 0.95
    assert _examine(5, [patient], [State.RECOVERED], [0.0]) == []
    # seed 1's first draw is 0.51, below 0.95: detected, Ct 14.6 < 35
    assert _examine(6, [patient], [State.RECOVERED], [high]) == []
    assert patient.clear_tests == []
    assert _examine(7, [patient], [State.RECOVERED], [0.0]) == []
    assert _examine(8, [patient], [State.RECOVERED], [0.0]) == [
        Decision(41, 0, to=CaseStatus.DISCHARGED)
    ]


def test_a_severe_case_is_not_discharged_and_a_death_is_recorded() -> None:
    severe = InCare(51, 0, admitted_day=0, status=CaseStatus.IN_HOSPITAL, confirmed=True)
    dying = InCare(52, 1, admitted_day=0, confirmed=True)
    assert _examine(8, [severe, dying], [State.CRITICAL, State.DEAD], [0.0, 0.0]) == [
        Decision(52, 1, to=CaseStatus.DIED)
    ]
    assert _examine(9, [severe], [State.CRITICAL], [0.0]) == []
    assert severe.clear_tests == [] and dying.status is CaseStatus.DIED
