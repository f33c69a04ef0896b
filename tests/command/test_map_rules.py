"""The schematic map's pure layout and colours."""

from __future__ import annotations

import pytest

from fangkong.command import rules


def test_treemap_splits_by_weight_along_the_longer_side() -> None:
    tiles = rules.treemap([("a", 300), ("b", 100), ("c", 100), ("d", 0)])
    assert [t.key for t in tiles] == ["a", "b", "c", "d"]
    # a (300) against the rest (201, the empty area counting as 1), side by side
    assert tiles[0] == rules.Tile("a", 0.0, 0.0, 300 / 501, 1.0)
    assert sum(t.w * t.h for t in tiles) == pytest.approx(1.0)
    assert rules.treemap([("a", 1), ("b", 2)]) == rules.treemap([("a", 1), ("b", 2)])
    assert rules.treemap([]) == []


@pytest.mark.parametrize(
    ("cases", "population", "colour"),
    [(0, 1000, "#e8f5e9"), (1, 100_000, "#fff3c4"), (5, 10_000, "#ffcc80"), (3, 1000, "#b3261e")],
)
def test_rate_colours(cases: int, population: int, colour: str) -> None:
    assert rules.rate_colour(rules.per_100k(cases, population)) == colour
