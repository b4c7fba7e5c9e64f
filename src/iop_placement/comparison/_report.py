"""A rule-set comparison as text, Markdown or JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from iop_placement._model.levels import LevelOfCare
from iop_placement._render.markdown import escape_markdown
from iop_placement.comparison._results import Change, RuleSetComparison, Tally

__all__ = ["render_json", "render_markdown", "render_text"]

_EXAMPLES = 3  # example assessments shown per kind of change in text and Markdown


def _title(comparison: RuleSetComparison) -> str:
    old, new = comparison.old, comparison.new
    return (
        f"{old.name} {old.version} (sha256 {old.sha256[:12]}) -> {new.name} {new.version}"
        f" (sha256 {new.sha256[:12]})"
    )


def _scope(tally: Tally) -> str:
    if tally.scope == "whole space" and tally.fixed:
        held = ", ".join(
            f"{name} left out" if answer is None else f"{name}={json.dumps(answer)}"
            for name, answer in tally.fixed.items()
        )
        return (
            f"Whole space with {held}: {tally.total:,} assessments (every answer of every"
            " other field); exact counts."
        )
    if tally.scope == "whole space":
        return (
            f"Whole space: {tally.total:,} assessments (every answer of every field, each"
            " optional field also left out); exact counts."
        )
    invalid = f", {len(tally.invalid):,} lines not scored" if tally.invalid else ""
    return f"Population {tally.scope}: {tally.total:,} assessments scored{invalid}."


def _percent(share: float) -> str:
    return f"{share * 100:.4g}%"


def _level_rows(tally: Tally) -> Iterator[tuple[str, str, str]]:
    for level in LevelOfCare:
        before = tally.at_level(level, after=False)
        after = tally.at_level(level, after=True)
        yield (
            level.label,
            f"{before:,} ({_percent(tally.share(before))})",
            f"{after:,} ({_percent(tally.share(after))})",
        )


def _where(change: Change) -> str:
    if change.line is not None:
        return f"first at line {change.line}"
    example = change.example or {}
    return "least risky example: " + ", ".join(f"{k}={json.dumps(v)}" for k, v in example.items())


def _rules(change: Change) -> str:
    before = ", ".join(change.rules_before) or "no rule"
    after = ", ".join(change.rules_after) or "no rule"
    return f"decided before by {before}; after by {after}"


def _summary_line(tally: Tally) -> str:
    return (
        f"Moved to a more intensive level: {tally.moved('up'):,}; to a less intensive level:"
        f" {tally.moved('down'):,}; with a safety flag and moved down: {tally.safety_down:,}."
    )


def render_text(comparison: RuleSetComparison) -> str:
    """Plain text for a terminal or a CI log."""
    lines = [f"Rule set comparison: {_title(comparison)}"]
    for tally in comparison.tallies:
        lines += ["", _scope(tally), "", f"{'Level':<36}{'before':>28}{'after':>28}"]
        lines += [f"{a:<36}{b:>28}{c:>28}" for a, b, c in _level_rows(tally)]
        lines += [_summary_line(tally)]
        if not tally.changes:
            lines.append("No assessment changes level, flag or rating.")
        for change in tally.changes:
            lines += [
                f"- {change.describe()}: {change.count:,} ({_percent(change.share)})",
                f"    {_where(change)}",
                f"    {_rules(change)}",
            ]
        for number, problem in tally.invalid[:20]:
            lines.append(f"  line {number}: {problem}")
        if len(tally.invalid) > 20:
            lines.append(f"  ... and {len(tally.invalid) - 20:,} more lines not scored")
    lines += ["", f"Compared in {comparison.seconds:.1f} s."]
    return "\n".join(lines) + "\n"


def render_markdown(comparison: RuleSetComparison) -> str:
    """Markdown with tables, for a pull request or a release note."""
    lines = [f"# Rule set comparison: {escape_markdown(_title(comparison))}"]
    for tally in comparison.tallies:
        heading = "Whole space" if tally.scope == "whole space" else f"Population {tally.scope}"
        lines += ["", f"## {escape_markdown(heading)}", "", escape_markdown(_scope(tally)), ""]
        lines += ["| Level | Before | After |", "|---|---:|---:|"]
        lines += [f"| {a} | {b} | {c} |" for a, b, c in _level_rows(tally)]
        lines += ["", _summary_line(tally), ""]
        if not tally.changes:
            lines.append("No assessment changes level, flag or rating.")
            continue
        lines += ["| Change | Assessments | Share | Rules before | Rules after |"]
        lines += ["|---|---:|---:|---|---|"]
        for change in tally.changes:
            lines.append(
                f"| {escape_markdown(change.describe())} | {change.count:,} |"
                f" {_percent(change.share)} | {escape_markdown(', '.join(change.rules_before))}"
                f" | {escape_markdown(', '.join(change.rules_after))} |"
            )
        shown = [c for c in tally.changes if c.example is not None][:_EXAMPLES]
        if shown:
            lines += ["", "Least risky examples of the first changes:", ""]
            lines += [
                f"- {escape_markdown(c.describe())}: `{json.dumps(dict(c.example or {}))}`"
                for c in shown
            ]
        if tally.invalid:
            lines += ["", f"{len(tally.invalid):,} lines not scored, first:", ""]
            lines += [f"- line {n}: {escape_markdown(p)}" for n, p in tally.invalid[:20]]
    return "\n".join(lines) + "\n"


def _change(change: Change) -> dict[str, Any]:
    return {
        "kind": change.kind,
        "subject": change.subject,
        "before": change.before,
        "after": change.after,
        "count": change.count,
        "share": change.share,
        "example": None if change.example is None else dict(change.example),
        "line": change.line,
        "rules_before": list(change.rules_before),
        "rules_after": list(change.rules_after),
    }


def _tally(tally: Tally) -> dict[str, Any]:
    return {
        "scope": tally.scope,
        "fixed": dict(tally.fixed),
        "total": tally.total,
        "levels": [
            {"before": before, "after": after, "count": count}
            for (before, after), count in tally.levels.items()
        ],
        "moved_up": tally.moved("up"),
        "moved_down": tally.moved("down"),
        "safety_down": tally.safety_down,
        "changes": [_change(change) for change in tally.changes],
        "invalid": [{"line": n, "problem": p} for n, p in tally.invalid],
    }


def render_json(comparison: RuleSetComparison) -> str:
    """JSON for tools: every count, example and rule id."""
    document = {
        "old": comparison.old.model_dump(mode="json"),
        "new": comparison.new.model_dump(mode="json"),
        "space": _tally(comparison.space),
        "population": None if comparison.population is None else _tally(comparison.population),
        "seconds": comparison.seconds,
    }
    return json.dumps(document, indent=2) + "\n"
