"""The FastAPI integration: 422 responses name fields and what they allow, never the values."""

from __future__ import annotations

import json
import re
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict

from helpers import BASELINE
from iop_placement import Assessment, recommend
from iop_placement.integrations.fastapi import UNKNOWN, install

SECRET = "Jane Doe, DOB 1980-01-01"
ROOT = Path(__file__).resolve().parents[1]


class Referral(BaseModel):
    """A request model of the application's own, wrapping the assessment."""

    model_config = ConfigDict(extra="forbid")
    referral_id: int
    assessment: Assessment
    tags: dict[str, int] = {}


def make_app(*, safe: bool) -> FastAPI:
    app = FastAPI()
    if safe:
        install(app)

    @app.post("/recommend")
    def post(assessment: Assessment) -> dict[str, Any]:
        return recommend(assessment).model_dump(mode="json")

    @app.post("/referral")
    def referral(body: Referral) -> dict[str, Any]:
        return {"level": recommend(body.assessment).level.value}

    @app.post("/raw")
    def raw(body: dict[str, Any]) -> dict[str, Any]:
        return {"level": recommend(body).level.value}

    return app


def bad_assessment() -> dict[str, Any]:
    bad: dict[str, Any] = dict(BASELINE)
    bad["substance_use_severity"] = SECRET
    bad["available_hours_per_week"] = 999
    del bad["detox_status"]
    bad[SECRET] = SECRET  # a made-up key: its text is data too
    return bad


def test_fastapi_by_default_echoes_the_input() -> None:
    """The problem the integration solves: without it the secret comes back."""
    response = TestClient(make_app(safe=False)).post("/recommend", json=bad_assessment())
    assert response.status_code == 422
    assert SECRET in response.text


@pytest.mark.parametrize("path", ["/recommend", "/raw"])
def test_the_422_names_fields_and_allowed_values_never_the_input(path: str) -> None:
    response = TestClient(make_app(safe=True)).post(path, json=bad_assessment())
    assert response.status_code == 422
    assert SECRET not in response.text
    assert "999" not in response.text
    detail = response.json()["detail"]
    by_field = {entry["loc"][-1]: entry for entry in detail}
    severity = by_field["substance_use_severity"]
    assert severity["given"] == "a string"
    assert severity["allowed"] == "one of 'mild', 'moderate', 'severe'"
    assert severity["loc"][0] == "body"
    assert "is not one of the allowed values" in severity["msg"]
    assert by_field["available_hours_per_week"]["allowed"] == "a whole number from 0 to 168"
    assert by_field["detox_status"]["given"] == "nothing"
    for entry in detail:
        assert set(entry) == {"loc", "msg", "type", "given", "allowed"}
    unknown = [e for e in detail if "unknown field" in str(e["loc"][-1])]
    assert len(unknown) == 1


def test_a_request_model_of_your_own_keeps_its_declared_names_only() -> None:
    body = {
        "referral_id": SECRET,
        "assessment": {**BASELINE, "motivation": SECRET},
        "tags": {SECRET: SECRET},
        "note": SECRET,
    }
    response = TestClient(make_app(safe=True)).post("/referral", json=body)
    assert response.status_code == 422
    assert SECRET not in response.text
    locs = {tuple(entry["loc"]): entry for entry in response.json()["detail"]}
    assert set(locs) == {
        ("body", "referral_id"),
        ("body", "assessment", "motivation"),
        ("body", "tags", UNKNOWN),  # a dict key is the client's text
        ("body", UNKNOWN),  # an extra field: its name is the client's text
    }
    assert locs["body", "assessment", "motivation"]["allowed"].startswith("one of 'high'")
    assert locs["body", "referral_id"]["allowed"] == (
        "Input should be a valid integer, unable to parse string as an integer"
    )


def test_valid_requests_are_untouched() -> None:
    client = TestClient(make_app(safe=True))
    response = client.post("/recommend", json=BASELINE)
    assert response.status_code == 200
    assert response.json()["level"] == recommend(BASELINE).level.value
    assert client.post("/raw", json=BASELINE).json() == {"level": response.json()["level"]}


def test_the_core_does_not_import_fastapi() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import sys, iop_placement, iop_placement.integrations;"
         " print(sorted(m for m in sys.modules if m.startswith(('fastapi', 'starlette'))))"],
        capture_output=True, text=True, timeout=120, check=False,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_docs_page_runs_as_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = (ROOT / "docs" / "fastapi.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", page, flags=re.DOTALL)
    assert blocks
    for number, block in enumerate(blocks):
        script = tmp_path / f"fastapi_example_{number}.py"
        script.write_text(block, encoding="utf-8")
        runpy.run_path(str(script))
    out = capsys.readouterr().out
    assert SECRET not in out
    lines = out.splitlines()
    assert lines[0] == "200 intensive_outpatient"
    assert lines[1] == "422"
    (entry,) = json.loads(lines[2])
    documented = re.search(r"```json\n(.*?)```", page, flags=re.DOTALL)
    assert documented is not None
    assert [entry] == json.loads(documented.group(1))
