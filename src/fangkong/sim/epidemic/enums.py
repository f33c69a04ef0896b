"""Infection states and contact layers of the epidemic model."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class State(IntEnum):
    """One person's infection state; stored as ``int8`` codes in the model's ``state`` array.

    Severe and critical are symptomatic states of their own so that every person is in exactly
    one state each day (the counts sum to the population) and the bulletin can count them.
    """

    SUSCEPTIBLE = 0
    EXPOSED = 1
    PRESYMPTOMATIC = 2
    ASYMPTOMATIC = 3
    SYMPTOMATIC = 4
    SEVERE = 5
    CRITICAL = 6
    RECOVERED = 7
    DEAD = 8


INFECTIOUS_STATES = (
    State.PRESYMPTOMATIC,
    State.ASYMPTOMATIC,
    State.SYMPTOMATIC,
    State.SEVERE,
    State.CRITICAL,
)


class Layer(StrEnum):
    """Where a contact happens. The order is the order of the model's per-layer arrays."""

    HOUSEHOLD = "household"
    BUILDING = "building"
    SCHOOL = "school"
    WORKPLACE = "workplace"
    VENUE = "venue"
    COMMUNITY = "community"


NO_LAYER = -1
"""``infection_layer`` of a person never infected; seeded infections get ``SEEDED``."""
SEEDED = -2
