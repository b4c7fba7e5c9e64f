"""The iop-placement command line."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import BASELINE, assessment, run
from iop_placement import Assessment, LevelOfCare, default_engine
from iop_placement.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SECRET = "Jane Doe, DOB 1980-01-01"


def examples() -> list[Path]:
    return sorted(EXAMPLES.glob("*.json"))


def test_there_is_an_example_for_every_level() -> None:
    levels = {default_engine().recommend(json.loads(p.read_text())).level for p in examples()}
    assert levels == set(LevelOfCare)


@pytest.mark.parametrize("path", examples(), ids=lambda p: p.stem)
def test_assess_every_example(path: Path) -> None:
    code, out, err = run("assess", str(path))
    rec = default_engine().recommend(json.loads(path.read_text()))
    assert (code, err) == (0, "")
    assert f"Recommended level of care: {rec.level.label}" in out
    # The short view: the deciding reasons only, every flag, every dimension's rating.
    ids = set(out.replace("\n", " ").split())
    for reason in rec.reasons:
        assert (f"[{reason.rule_id}]" in ids) == (reason in rec.deciding), reason.rule_id
    for flag in rec.flags:
        assert f"! {flag.label} ({flag.kind.value})" in out
    for rating in rec.dimensions:
        assert re.search(rf"\n  {re.escape(rating.dimension.label)} +{rating.rating} \(", out)
    assert ("Safety first:" in out) == rec.safety_override
    assert "Decision support for clinicians" in out
    assert "assess --full FILE" in out
    assert len(out.splitlines()) < 40
    code, full, _ = run("assess", "--full", str(path))
    assert code == 0
    for reason in rec.reasons:
        assert f"[{reason.rule_id}]" in full


def test_assess_without_file_is_a_usage_error() -> None:
    code, out, err = run("assess")
    assert (code, out) == (2, "")
    assert "assess: error: assess needs FILE" in err


def test_short_view_is_coloured_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    path = str(EXAMPLES / "crisis.json")
    _, plain, _ = run("assess", path)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    terminal = Terminal()
    assert main(["assess", path], stdout=terminal, stderr=io.StringIO()) == 0
    coloured = terminal.getvalue()
    assert "\x1b[" in coloured
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain
    assert "\x1b[" not in plain
    monkeypatch.setenv("NO_COLOR", "1")
    terminal = Terminal()
    assert main(["assess", path], stdout=terminal, stderr=io.StringIO()) == 0
    assert terminal.getvalue() == plain


def test_assess_json_output_round_trips() -> None:
    code, out, _ = run("assess", "--json", str(EXAMPLES / "inpatient_not_accessible.json"))
    data = json.loads(out)
    assert code == 0
    assert data["level"] == "inpatient"
    assert data["alternative"]["level"] == "intensive_outpatient"
    assert data["ruleset"]["name"] == "iop-placement-default"


def test_assess_reads_standard_input() -> None:
    answers = assessment(substance_use_severity="moderate")
    code, out, _ = run("assess", "-", stdin=json.dumps(answers))
    assert code == 0
    assert f"Recommended level of care: {default_engine().recommend(answers).level.label}" in out


def test_invalid_assessment_exits_1_naming_fields_without_echo() -> None:
    bad = assessment(substance_use_severity=SECRET, available_hours_per_week=500)
    code, out, err = run("assess", "-", stdin=json.dumps(bad))
    assert (code, out) == (1, "")
    assert "substance_use_severity" in err
    assert "available_hours_per_week" in err
    assert SECRET not in err


def test_invalid_json_exits_1_with_position_only() -> None:
    code, _, err = run("assess", "-", stdin='{"name": "' + SECRET + '",')
    assert code == 1
    assert "not valid JSON" in err
    assert "line 1" in err
    assert SECRET not in err


def test_missing_file_exits_1(tmp_path: Path) -> None:
    code, _, err = run("assess", str(tmp_path / "missing.json"))
    assert code == 1
    assert "cannot read" in err


def test_custom_rules_directory_and_bad_rules(tmp_path: Path) -> None:
    code, _, err = run("assess", "--rules", str(tmp_path), str(EXAMPLES / "crisis.json"))
    assert code == 1
    assert "ruleset.json" in err


def test_rules_lists_every_rule_with_its_source() -> None:
    code, out, _ = run("rules")
    assert code == 0
    for rule in default_engine().rule_set.rules:
        assert f"{rule.id}: {rule.title}" in out
    assert "001_8721388d5a1adc78.txt" in out
    assert "When: detox status is Needed or In progress" in out


def test_rules_json() -> None:
    code, out, _ = run("rules", "--json")
    data = json.loads(out)
    assert code == 0
    ids = [rule["id"] for family in data["families"] for rule in family["rules"]]
    assert ids == [rule.id for rule in default_engine().rule_set.rules]


def test_schema_lists_every_field() -> None:
    code, out, _ = run("schema")
    schema = json.loads(out)
    assert code == 0
    assert set(schema["properties"]) == set(Assessment.model_fields)
    assert set(schema["required"]) == set(BASELINE)  # the optional fields may be left out


def test_usage_error_exits_2() -> None:
    with pytest.raises(SystemExit) as caught:
        run("frobnicate")
    assert caught.value.code == 2


@pytest.mark.parametrize(
    ("variable", "says"),
    [
        (None, None),  # whatever this Python has: durable-rules if installed
        ("compiled", "rule backend: compiled (IOP_PLACEMENT_BACKEND=compiled)"),
    ],
)
def test_version_says_which_rule_backend_runs(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str | None,
    says: str | None,
) -> None:
    from iop_placement import __version__
    from iop_placement._backends.selection import durable_available

    if variable is None:
        monkeypatch.delenv("IOP_PLACEMENT_BACKEND", raising=False)
        says = (
            "rule backend: durable-rules 2.0"
            if durable_available()
            else "rule backend: compiled (durable-rules is not installed)"
        )
    else:
        monkeypatch.setenv("IOP_PLACEMENT_BACKEND", variable)
    with pytest.raises(SystemExit) as caught:
        run("--version")
    out = capsys.readouterr().out
    assert caught.value.code == 0
    assert out.startswith(f"iop-placement {__version__} on Python 3.")
    assert says is not None
    assert says in out


@pytest.mark.skipif(shutil.which("iop-placement") is None, reason="entry point not installed")
def test_installed_entry_point() -> None:
    done = subprocess.run(
        ["iop-placement", "assess", str(EXAMPLES / "standard_outpatient.json")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Standard outpatient" in done.stdout


@pytest.mark.parametrize("path", examples(), ids=lambda p: p.stem)
def test_render_shows_level_flags_reasons_alternative_and_rule_set(path: Path) -> None:
    rec = default_engine().recommend(json.loads(path.read_text()))
    text = rec.render()
    # A danger to life leads; otherwise the level does.
    lead = (
        "Safety first:" if rec.safety_override else f"Recommended level of care: {rec.level.label}"
    )
    assert text.startswith(lead)
    assert f"Recommended level of care: {rec.level.label}" in text
    for flag in rec.flags:
        assert flag.label in text
    for reason in rec.reasons:
        assert f"[{reason.rule_id}]" in text
    if rec.alternative is not None:
        assert rec.alternative.level.label in text
        flowing = " ".join(text.split())
        for condition in rec.alternative.conditions:
            assert condition in flowing
    assert f"sha256 {rec.ruleset.sha256[:12]}" in text
    assert "Why not" not in text  # the explanation sections belong to explain()


def test_render_removes_control_characters_from_rule_texts() -> None:
    rec = default_engine().recommend(BASELINE)
    hostile = rec.model_copy(
        update={
            "reasons": tuple(
                r.model_copy(update={"text": "ok\x1b[31mred\u202eevil"}) for r in rec.reasons
            )
        }
    )
    text = hostile.render()
    assert "\x1b" not in text
    assert "\u202e" not in text


def test_diff_blames_the_rule_set_argument_given(tmp_path: Path) -> None:
    rules = Path(__file__).resolve().parents[1] / "rules"
    missing = str(tmp_path / "nonexist")
    code, out, err = run("diff", str(rules), missing)
    assert (code, out) == (1, "")
    assert err.startswith("iop-placement diff: NEW_RULES: ")
    assert "nonexist" in err
    assert "--fixed" not in err
    code, _, err = run("diff", missing, str(rules))
    assert code == 1
    assert err.startswith("iop-placement diff: OLD_RULES: ")


def test_verify_a_missing_rule_set_is_not_proved(tmp_path: Path) -> None:
    code, out, err = run("verify", str(tmp_path / "nonexist"))
    assert (code, out) == (1, "")
    assert err.startswith("iop-placement verify: rule set directory ")
    assert err.endswith("does not exist; nothing was verified\n")
