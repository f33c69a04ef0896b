"""Corrupted files: every parser answers with a report (refusals), never with an exception.

The corruptions are seeded, so a failure reproduces exactly.
"""

from __future__ import annotations

import copy
import json
import random
from typing import Any

from fangkong.testing.formats.csv_results import parse_csv
from fangkong.testing.formats.fhir import parse_fhir
from fangkong.testing.formats.hl7 import parse_hl7
from tests.testing.hl7_samples import batch, ct, oru
from tests.testing.test_csv_results import HEADER, row
from tests.testing.test_fhir import bundle, ct_component, observation, specimen

WEIRD: list[Any] = [None, 1, "x", [], {}, [1], {"a": 1}, True, 3.5, "#spm", "urn:uuid:spm-ZZ0001"]


def garble(text: str, rng: random.Random, alphabet: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 8)):
        position = rng.randrange(len(chars))
        roll = rng.random()
        if roll < 0.4:
            del chars[position]
        elif roll < 0.8:
            chars.insert(position, rng.choice(alphabet))
        else:
            chars[position] = rng.choice(alphabet)
    return "".join(chars)


def test_it_never_raises_on_a_corrupted_hl7_batch() -> None:
    rng = random.Random(20221110)
    messages = [
        oru(control_id=f"M{n}", tube=f"ZZ000{n}", ct_segments=(ct("94511-3", "24.5"),))
        for n in range(1, 6)
    ]
    original = batch(messages)

    totals = [
        len(report.accepted) + len(report.rejected)
        for report in (
            parse_hl7(garble(original, rng, "|^~\\&\r\n0123456789AZaz.+- #$X")) for _ in range(500)
        )
    ]

    assert min(totals) >= 1


def test_it_never_raises_on_a_corrupted_csv() -> None:
    rng = random.Random(20221111)
    original = HEADER + row("R1", "ZZ0001", ct_n="25") + row("R2", "ZZ0002")

    totals = [
        len(report.accepted) + len(report.rejected)
        for report in (parse_csv(garble(original, rng, ',"\n\r0a-:T+ ')) for _ in range(500))
    ]

    assert min(totals) >= 1


def mutate(node: Any, rng: random.Random) -> None:
    if isinstance(node, dict) and node:
        key = rng.choice(list(node))
        if rng.random() < 0.3:
            node[key] = copy.deepcopy(rng.choice(WEIRD))
        else:
            mutate(node[key], rng)
    elif isinstance(node, list) and node:
        index = rng.randrange(len(node))
        if rng.random() < 0.3:
            node[index] = copy.deepcopy(rng.choice(WEIRD))
        else:
            mutate(node[index], rng)


def test_it_never_raises_on_a_fhir_bundle_with_wrong_types() -> None:
    rng = random.Random(20221112)
    original = json.loads(
        bundle(
            specimen("ZZ0001"),
            observation("ZZ0001", components=[ct_component("94511-3", 23.4)]),
            specimen("ZZ0002"),
            observation("ZZ0002"),
        )
    )
    accepted = 0
    for _ in range(500):
        document = copy.deepcopy(original)
        for _ in range(rng.randint(1, 4)):
            mutate(document, rng)
        accepted += len(parse_fhir(json.dumps(document)).accepted)

    # Most single mutations leave at least one of the two results intact.
    assert accepted > 300
