from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fangkong.core import clock


def test_it_tells_aware_time_by_default() -> None:
    assert clock.now().tzinfo is UTC


def test_it_lets_a_drill_install_its_own_clock_and_restores_the_real_one() -> None:
    start = datetime(2022, 11, 9, 8, 0, tzinfo=UTC)
    manual = clock.ManualClock(start)
    with clock.use_clock(manual):
        assert clock.now() == start
        manual.advance(timedelta(days=3))
        assert clock.now() == datetime(2022, 11, 12, 8, 0, tzinfo=UTC)
    assert clock.now() > datetime(2026, 1, 1, tzinfo=UTC)


def test_it_refuses_a_naive_start() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.ManualClock(datetime(2022, 11, 9))  # noqa: DTZ001
