"""Text, Markdown and HTML renderings: the same content, and every string escaped."""

from __future__ import annotations

import dataclasses
import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from helpers import assessment
from iop_placement import (
    DEFAULT_RULES,
    Explanation,
    Flag,
    LevelOfCare,
    PlacementEngine,
    explain,
)
from iop_placement._model.explanation import explanation_document
from iop_placement._model.fields import _SPECS
from iop_placement._render.html import ALLOWED_TAGS

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
HOSTILE = "<script>alert(\"x\")</script> & <img src=x onerror='y'> *em* [a](javascript:z) `c`"


class _Fragment(HTMLParser):
    """Collects tags, attributes and text of an HTML fragment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []
        self.depth = 0
        self.closed_at_zero = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs
        self.depth += 1

    def handle_endtag(self, tag: str) -> None:  # noqa: ARG002 - HTMLParser's signature
        self.depth -= 1
        if self.depth == 0:
            self.closed_at_zero += 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(fragment: str) -> _Fragment:
    parser = _Fragment()
    parser.feed(fragment)
    parser.close()
    return parser


def normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def unmarkdown(text: str) -> str:
    return html.unescape(re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)).replace("**", "")


def explanations() -> list[Explanation]:
    cases = [json.loads(p.read_text()) for p in sorted(EXAMPLES.glob("*.json"))]
    cases += [assessment(), assessment(detox_status="needed", recovery_plan_established=False)]
    return [explain(case) for case in cases]


@pytest.mark.parametrize("ex", explanations(), ids=lambda ex: ex.recommendation.level.value)
def test_the_three_renderings_show_the_same_content(ex: Explanation) -> None:
    text = normal(ex.to_text())
    markdown = normal(unmarkdown(ex.to_markdown()))
    fragment = normal(" ".join(parse(ex.to_html()).text))
    strings = list(explanation_document(ex).strings())
    assert len(strings) > 10
    for piece in map(normal, strings):
        assert piece in text, piece
        assert piece in markdown, piece
        assert piece in fragment, piece


def hostile_rules(tmp_path: Path) -> Path:
    """The bundled rules with every human-readable string replaced by hostile markup."""
    target = tmp_path / "rules"
    target.mkdir()
    counter = iter(range(10_000))

    def mark(label: str) -> str:
        return f"{label}{next(counter)} {HOSTILE}"

    for entry in DEFAULT_RULES.iterdir():
        if not entry.name.endswith(".json"):
            continue
        data: Any = json.loads(entry.read_text(encoding="utf-8"))
        if entry.name == "ruleset.json":
            data["name"] = mark("name")
            data["version"] = mark("version")
        elif "family" in data:
            data["title"] = mark("family")
            data["description"] = mark("description")
            for rule in data["rules"]:
                rule["title"] = mark("title")
                rule["text"] = mark("text")
                source = rule["source"]
                source["reading"] = mark("reading")
                source["documents"] = [mark("document") for _ in source.get("documents", [])]
                source["quotes"] = [mark("quote") for _ in source.get("quotes", [])]
                if source.get("practice"):
                    source["practice"] = mark("practice")
                alternative = rule["then"].get("alternative")
                if alternative:
                    alternative["conditions"] = [
                        mark("condition") for _ in alternative["conditions"]
                    ]
        (target / entry.name).write_text(json.dumps(data), encoding="utf-8")
    return target


def hostile_cases() -> list[dict[str, Any]]:
    return [
        json.loads((EXAMPLES / f"{name}.json").read_text())
        for name in ("crisis", "inpatient_not_accessible", "intensive_outpatient")
    ] + [assessment(), assessment(detox_status="needed", recovery_plan_established=False)]


def check_safe_html(fragment: str, expected: list[str]) -> None:
    assert "<script" not in fragment.lower()
    assert "<img" not in fragment.lower()
    assert "javascript:" not in re.sub(r">[^<]*<", "><", fragment)  # not in any tag
    parsed = parse(fragment)
    assert set(parsed.tags) <= ALLOWED_TAGS
    assert parsed.attrs == [("class", "iop-placement-explanation")]
    assert parsed.depth == 0
    assert parsed.closed_at_zero == 1, "one element, nothing outside it"
    text = normal(" ".join(parsed.text))
    for piece in expected:
        assert normal(piece) in text, piece


def check_safe_markdown(markdown: str, expected: list[str]) -> None:
    assert "<" not in markdown
    assert ">" not in markdown
    assert "](" not in markdown.replace("\\]", "")
    plain = normal(unmarkdown(markdown))
    for piece in expected:
        assert normal(piece) in plain, piece


def test_every_rule_string_is_escaped(tmp_path: Path) -> None:
    engine = PlacementEngine.from_directory(str(hostile_rules(tmp_path)))
    rule_strings: set[str] = set()
    for case in hostile_cases():
        ex = engine.explain(case)
        shown = [s for s in explanation_document(ex).strings() if HOSTILE in s]
        rule_strings |= {s for s in shown if s.startswith(("title", "text", "condition"))}
        assert shown, "the hostile strings must reach the document"
        check_safe_html(ex.to_html(), shown)
        check_safe_markdown(ex.to_markdown(), shown)
        assert HOSTILE in ex.to_text()  # plain text is for a terminal, not a browser
    # Every rule's title and text was shown (as a reason or a near miss) in some case.
    titles = {s.split(" ", 1)[0] for s in rule_strings}
    assert len(titles) >= 20


def test_every_label_and_title_is_escaped(monkeypatch: pytest.MonkeyPatch) -> None:
    for member in [*LevelOfCare, *Flag]:
        monkeypatch.setattr(member, "label", f"{member.value} {HOSTILE}")
        monkeypatch.setattr(member, "description", f"{member.value} about {HOSTILE}")
    for name, spec in list(_SPECS.items()):
        monkeypatch.setitem(_SPECS, name, dataclasses.replace(spec, title=f"{name} {HOSTILE}"))
    for case in hostile_cases():
        ex = explain(case)
        shown = list(explanation_document(ex).strings())
        assert any(s.startswith(ex.recommendation.level.value) for s in shown)
        check_safe_html(ex.to_html(), shown)
        check_safe_markdown(ex.to_markdown(), shown)


def test_control_characters_never_reach_any_rendering(tmp_path: Path) -> None:
    target = hostile_rules(tmp_path)
    path = target / "severity.json"
    data = json.loads(path.read_text())
    data["rules"][0]["text"] = "Moderate use\x1b[2J\x1b[31m needs IOP\u202e reversed\r\n."
    path.write_text(json.dumps(data))
    ex = PlacementEngine.from_directory(str(target)).explain(
        assessment(substance_use_severity="moderate")
    )
    for rendered in (ex.to_text(), ex.to_markdown(), ex.to_html()):
        assert "\x1b" not in rendered
        assert "\u202e" not in rendered
        assert "\r" not in rendered
        assert "needs IOP" in rendered
