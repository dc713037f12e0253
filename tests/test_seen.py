"""The compact hash set used to find duplicate addresses."""

from __future__ import annotations

import random

from weekly.audience.hash_set import HashSet64


def test_behaves_like_a_set_across_growth_and_edge_values() -> None:
    rng = random.Random(1)
    values = [rng.randrange(-(2**63), 2**63) for _ in range(20000)] + [0, 1, -1, 2**63 - 1]
    values += values[:500]
    compact, reference = HashSet64(), set()
    for value in values:
        assert compact.add(value) == ((value or 1) not in reference)
        reference.add(value or 1)
    assert len(compact) == len(reference)
