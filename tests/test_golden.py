"""Outputs stay byte-identical to the recorded golden run (issue 22; see tests/golden.py).

A change to the decision core must not change one byte of recommend(), explain() (JSON
and text) or provisional() on the bundled rules. The committed digests cover 20,000
population intakes; this checks the first 2,000 (1,000 per population) on each backend,
so that a failing block names the first 500 intakes that changed. To re-record after an
intended change of outputs: ``PYTHONPATH=src python tests/golden.py``.
"""

from __future__ import annotations

from typing import Literal

import pytest

import golden
from iop_placement._backends.selection import durable_available

CHECKED = 1_000  # per population


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["compiled", "durable"])
def test_outputs_match_the_golden_run(backend: Literal["durable", "compiled"]) -> None:
    if backend == "durable" and not durable_available():
        pytest.skip("durable-rules is not installed (Python 3.13+)")
    expected = {
        name: blocks[: CHECKED // golden.BLOCK] for name, blocks in golden.recorded().items()
    }
    assert golden.digests(backend, CHECKED) == expected


def test_the_digests_cover_twenty_thousand_intakes() -> None:
    blocks = golden.recorded()
    assert sum(len(b) for b in blocks.values()) * golden.BLOCK == 20_000
