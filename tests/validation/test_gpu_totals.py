"""The GPU catalog's memory is the smallest CUDA/HIP total published for each card."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from estimator import GPUS

SOURCES = json.loads(Path(__file__).with_name("gpu_totals.json").read_text())
BY_KEY: dict[str, list[float]] = defaultdict(list)
for entry in SOURCES:
    BY_KEY[entry["gpu_key"]].append(entry["cuda_total_gib"])


def test_every_source_is_quoted_and_linked() -> None:
    for entry in SOURCES:
        assert entry["source_url"].startswith("https://github.com/")
        assert f"{entry['cuda_total_gib']:.2f}" in entry["quote"] or str(
            entry["cuda_total_gib"]
        ) in entry["quote"]


@pytest.mark.parametrize("key", sorted(BY_KEY))
def test_catalog_uses_the_smallest_published_total(key: str) -> None:
    assert GPUS[key].memory_bytes == round(min(BY_KEY[key]) * 1024**3)


def test_measured_cards_are_exactly_those_with_published_totals() -> None:
    """Cards marked "measured" have a published total; the others say how theirs is derived
    (estimator/data/devices.json memory_rules; tests/validation/test_hardware.py checks them)."""
    assert {k for k, g in GPUS.items() if g.memory_rule == "measured"} == set(BY_KEY)
