"""The isolation domain's services in one namespace.

Each responsibility lives in its own module (facilities, orders, release, transfers, check-ins,
beds); other domains, the pages and the drill call them through ``isolation.service`` so that
the split stays an internal matter.

Room occupancy moves only by conditional SQL increments (``occupancy < capacity``), and every
order transition is an UPDATE on the expected old state checked by rowcount; each writes an
audit event in the same transaction. The caller commits.
"""

from __future__ import annotations

from fangkong.isolation.beds import TREND_DAYS, capacity_and_forecast, facility_beds
from fangkong.isolation.checkins import (
    MissedCheckIn,
    checkins_of_order,
    get_order_for_checkin,
    list_checkins,
    list_home_orders_of,
    list_missed_checkins,
    record_checkin,
    require_checkin_role,
)
from fangkong.isolation.days import local_day, local_day_bounds
from fangkong.isolation.facilities import (
    add_room,
    create_facility,
    get_facility_or_raise,
    list_facilities,
    list_rooms,
    room_labels,
)
from fangkong.isolation.orders import (
    DEFAULT_SERIES,
    area_names,
    catalog,
    create_order,
    get_order_or_raise,
    list_orders,
    list_orders_filtered,
    list_orders_in_facility,
    person_names,
    propose_placements_for,
    section_for,
)
from fangkong.isolation.release import check_release, record_test, schedule_of
from fangkong.isolation.transfers import (
    create_transfer,
    get_transfer_or_raise,
    is_overdue,
    list_overdue,
    list_stops,
    list_transfers,
)

__all__ = [
    "DEFAULT_SERIES",
    "TREND_DAYS",
    "MissedCheckIn",
    "add_room",
    "area_names",
    "capacity_and_forecast",
    "catalog",
    "check_release",
    "checkins_of_order",
    "create_facility",
    "create_order",
    "create_transfer",
    "facility_beds",
    "get_facility_or_raise",
    "get_order_for_checkin",
    "get_order_or_raise",
    "get_transfer_or_raise",
    "is_overdue",
    "list_checkins",
    "list_facilities",
    "list_home_orders_of",
    "list_missed_checkins",
    "list_orders",
    "list_orders_filtered",
    "list_orders_in_facility",
    "list_overdue",
    "list_rooms",
    "list_stops",
    "list_transfers",
    "local_day",
    "local_day_bounds",
    "person_names",
    "propose_placements_for",
    "record_checkin",
    "record_test",
    "require_checkin_role",
    "room_labels",
    "schedule_of",
    "section_for",
]
