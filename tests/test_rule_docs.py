"""docs/rules.md (generated) and docs/decision-model.md stay in step with the rules and model."""

from __future__ import annotations

import io
import re
from pathlib import Path

from iop_placement import DEFAULT_RULES, Flag, LevelOfCare, OverrideReason
from iop_placement._analysis.explain.modifiable import modifiable_goals
from iop_placement._model.fields import field_specs
from iop_placement._rules.catalogue import GENERATED_BY, render_catalogue_markdown
from iop_placement._rules.ruleset import load_rule_set
from iop_placement.cli import main
from iop_placement.reassessment import load_transition_rules

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_rules_md_is_up_to_date() -> None:
    expected = render_catalogue_markdown(load_rule_set(DEFAULT_RULES))
    actual = (DOCS / "rules.md").read_text(encoding="utf-8")
    assert actual.startswith(expected), f"docs/rules.md is out of date: run `{GENERATED_BY}`"
    # ... followed by the reassessment rules, each with its decision and source.
    transitions = load_transition_rules()
    rest = actual[len(expected) :]
    headings = re.findall(r"^### `([a-z0-9_.]+)`", rest, flags=re.MULTILINE)
    assert headings == [rule.id for rule in transitions.rules]
    assert rest.count("- **Decision:**") == len(transitions.rules)


def test_cli_prints_the_same_catalogue() -> None:
    out = io.StringIO()
    assert main(["rules", "--markdown"], stdout=out) == 0
    assert out.getvalue() == (DOCS / "rules.md").read_text(encoding="utf-8")


def test_catalogue_has_every_rule_grouped_by_family() -> None:
    rule_set = load_rule_set(DEFAULT_RULES)
    text = render_catalogue_markdown(rule_set)
    headings = re.findall(r"^### `([a-z0-9_.]+)`", text, flags=re.MULTILINE)
    assert headings == [rule.id for rule in rule_set.rules]
    families = re.findall(r"^## .* \(`([a-z0-9_]+)\.json`\)$", text, flags=re.MULTILINE)
    assert families == list(rule_set.manifest.families)
    assert "- **When:** detox status is Needed or In progress" in text
    assert text.count("- **Then:**") == len(rule_set.rules)
    assert text.count("- **Reading:**") == len(rule_set.rules)


def test_decision_model_names_every_level_flag_goal_and_reason() -> None:
    text = (DOCS / "decision-model.md").read_text(encoding="utf-8")
    for level in LevelOfCare:
        assert f"**{level.label}**" in text, level
        assert level.intensity in text, level
    for flag in Flag:
        assert f"**{flag.label}**" in text, flag
        assert flag.description in text, flag
    specs = field_specs()
    for name, goals in modifiable_goals().items():
        spec = specs[name]
        row = f"| {spec.title} | {', '.join(spec.label(goal) for goal in goals)} |"
        assert row in text, row
    for code in OverrideReason:
        assert f"| {code.label} |" in text, code
