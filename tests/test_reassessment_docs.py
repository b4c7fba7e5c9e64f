"""The Python blocks of docs/reassessment.md and docs/placement-record.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


@pytest.mark.parametrize("page", ["reassessment.md", "placement-record.md"])
def test_python_blocks_run(page: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = ROOT / "docs" / page
    if not path.exists():
        pytest.fail(f"{page} is missing")
    blocks = BLOCK.findall(path.read_text(encoding="utf-8"))
    assert blocks
    monkeypatch.chdir(ROOT)
    for block in blocks:
        exec(compile(block, str(path), "exec"), {})
