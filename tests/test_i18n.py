"""Spanish from one source: every English text has a translation, English is unchanged,
and the decision never depends on the language.

The catalogue checks rebuild the template from the sources (``_i18n_build.template``), so
adding a rule, a label or a ``_("...")`` string without translating it fails here.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import re
import shutil
import string
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from fhir.resources.R4B.questionnaire import Questionnaire
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from helpers import run
from iop_placement import (
    LANGUAGES,
    Assessment,
    UnsupportedLanguage,
    explain,
    json_schema,
    provisional,
    recommend,
    ui_schema,
)
from iop_placement._i18n import _, rule_text, use_language
from iop_placement._i18n_build import (
    POT,
    _pot_bytes,
    compile_mo,
    po_path,
    read_catalog,
    template,
)
from iop_placement._rules.bundled import bundled_rules
from iop_placement.cli._view import render_short
from iop_placement.fhir import to_questionnaire
from iop_placement.fhir._questionnaire import TRANSLATION
from iop_placement.populations import POPULATIONS, population
from iop_placement.service import create_app
from iop_placement.service._page import LANGUAGE_NAME, PAGE_TEXT
from iop_placement.testing import assessment_values, assessments, languages

GOLDEN = Path(__file__).parent / "data" / "i18n_english_golden.json"
_FORMAT = string.Formatter()


def untranslated(pot: Catalog, po: Catalog) -> list[str]:
    """The template's messages with no usable translation in ``po`` (missing, empty, fuzzy)."""
    missing = []
    for message in pot:
        if not message.id:
            continue
        found = po.get(message.id, message.context)
        if found is None or not found.string or found.fuzzy:
            missing.append(f"{message.context or ''}|{message.id}")
    return missing


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in _FORMAT.parse(text) if name is not None}


# --- the catalogue --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pot() -> Catalog:
    return template()


@pytest.mark.parametrize("language", LANGUAGES[1:])
def test_every_english_text_is_translated(pot: Catalog, language: str) -> None:
    assert len(pot) > 300  # labels, fields, rules and the renderers' sentences
    assert untranslated(pot, read_catalog(language)) == []


def test_an_untranslated_text_is_found() -> None:
    po = read_catalog("es")
    pot = template()  # a copy: the module's template stays as built
    pot.add("A new rule's text", context="family.new_rule")
    assert untranslated(pot, po) == ["family.new_rule|A new rule's text"]
    fuzzy = read_catalog("es")
    first = next(m for m in fuzzy if m.id)
    first.flags.add("fuzzy")
    assert f"{first.context or ''}|{first.id}" in untranslated(template(), fuzzy)


def test_every_rule_text_is_in_the_template(pot: Catalog) -> None:
    rec = recommend(next(population(sorted(POPULATIONS)[0], 1, seed=1)))
    for reason in rec.reasons:
        assert pot.get(reason.title, reason.rule_id) is not None, reason.rule_id
        assert pot.get(reason.text, reason.rule_id) is not None, reason.rule_id


@pytest.mark.parametrize("language", LANGUAGES[1:])
def test_placeholders_match(language: str) -> None:
    for message in read_catalog(language):
        if message.id and message.string:
            assert fields(str(message.id)) == fields(str(message.string)), message.id


def test_placeholder_check_can_fail() -> None:
    assert fields("{level} (offered by {rule_ids})") != fields("{level} (ofrecido por {ids})")


@pytest.mark.parametrize("language", LANGUAGES[1:])
def test_compiled_catalogue_is_current(language: str) -> None:
    committed = po_path(language).with_suffix(".mo").read_bytes()
    assert committed == compile_mo(read_catalog(language)), (
        "run: python -m iop_placement._i18n_build"
    )


def test_template_is_current(pot: Catalog) -> None:
    assert POT.read_bytes() == _pot_bytes(pot), "run: python -m iop_placement._i18n_build"


# --- language selection -----------------------------------------------------------------------


def test_languages_and_errors() -> None:
    assert LANGUAGES == ("en", "es")
    with use_language("es-MX") as chosen:
        assert chosen == "es"
        assert _("Recommended level of care") == "Nivel de atención recomendado"
    assert _("Recommended level of care") == "Recommended level of care"
    with pytest.raises(UnsupportedLanguage, match="allowed: en, es"):
        recommend(next(population(sorted(POPULATIONS)[0], 1))).render("fr")
    with pytest.raises(UnsupportedLanguage):
        json_schema(language="xx")


def test_rule_text_uses_the_rule_id_as_context() -> None:
    with use_language("es"):
        assert rule_text("safety.suicidal_ideation", "Suicidal thoughts") == "Ideación suicida"
        # The same English under an unknown rule id is not translated.
        assert rule_text("family.unknown", "Suicidal thoughts") == "Suicidal thoughts"


# --- English unchanged ----------------------------------------------------------------------------


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_english_is_byte_identical_to_before_translation() -> None:
    """Hashes made by the code before this change (same answers, same rule set)."""
    golden: dict[str, Any] = json.loads(GOLDEN.read_text(encoding="utf-8"))
    cases = {key: value for key, value in golden.items() if isinstance(value, dict)}
    partial = {key: cases.pop(key) for key in list(cases) if key.endswith("/provisional")}
    assert len(cases) >= 20
    assert len(partial) >= 20
    for key, case in partial.items():
        p = provisional(case["answers"])
        assert _sha(p.to_text()) == case["text"] == _sha(p.render("en")), key
        assert _sha(p.to_markdown("en")) == case["markdown"], key
        assert _sha(p.to_html()) == case["html"], key
    for key, case in cases.items():
        e = explain(case["answers"])
        rec = e.recommendation
        assert _sha(rec.model_dump_json()) == case["json"], key
        assert _sha(rec.render()) == case["render"] == _sha(rec.render("en")), key
        assert _sha(e.to_text("en")) == case["text"], key
        assert _sha(e.to_markdown()) == case["markdown"], key
        assert _sha(e.to_html("en")) == case["html"], key
    assert _sha(json.dumps(json_schema(language="en"), sort_keys=True)) == golden["json_schema"]
    assert _sha(json.dumps(ui_schema(), sort_keys=True)) == golden["ui_schema"]
    # Without its version, the package's: a release must not read as a change of wording.
    questionnaire = {k: v for k, v in to_questionnaire().items() if k != "version"}
    assert _sha(json.dumps(questionnaire, sort_keys=True)) == golden["questionnaire"]


# --- the decision never depends on the language ---------------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(assessment=assessments(), language=languages())
def test_the_decision_is_the_same_in_every_language(assessment: Assessment, language: str) -> None:
    english = recommend(assessment)
    with use_language(language):
        other = recommend(assessment)
    assert other.level == english.level
    assert other.flags == english.flags
    assert [r.rule_id for r in other.reasons] == [r.rule_id for r in english.reasons]
    assert [(d.dimension, d.rating) for d in other.dimensions] == [
        (d.dimension, d.rating) for d in english.dimensions
    ]
    assert other.model_dump_json() == english.model_dump_json()
    text = english.render(language)
    for reason in english.reasons:
        assert reason.rule_id in text
    with use_language(language):
        assert _(english.level.label) in text


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(assessment=assessments())
def test_spanish_explanation_is_spanish(assessment: Assessment) -> None:
    e = explain(assessment)
    html = e.to_html("es")
    assert "Nivel de atención recomendado" in html
    assert "Recommended level of care" not in html
    for reason in e.recommendation.reasons:
        with use_language("es"):
            assert rule_text(reason.rule_id, reason.title) != reason.title or reason.title in {
                "IOP"
            }
    assert "Calificaciones por dimensión" in e.to_markdown("es")


# --- schema, questionnaire, service ---------------------------------------------------------


def _codes(node: Any) -> Any:
    """``node`` without its human texts: what must not change between languages."""
    if isinstance(node, list):
        return [_codes(item) for item in node]
    if isinstance(node, dict):
        skip = {"title", "description", "text", "display", "ui:help", "x-absent-label"}
        return {k: _codes(v) for k, v in node.items() if k not in skip and not k.startswith("_")}
    return node


def test_spanish_schema_changes_only_texts() -> None:
    english, spanish = json_schema(), json_schema(language="es")
    assert _codes(spanish) == _codes(english)
    suicide = spanish["properties"]["suicide_risk"]
    assert suicide["title"] == "Riesgo suicida"
    assert {c["title"] for c in suicide["oneOf"]} >= {"Ideación", "Inminente"}
    yes_no = spanish["properties"]["medically_unstable"]["oneOf"]
    assert [choice["title"] for choice in yes_no] == ["Sí", "No"]
    # The same English option agrees with each question's noun: each enum has its context.
    titles = {
        name: [c["title"] for c in spanish["properties"][name]["oneOf"]]
        for name in ("substance_use_severity", "functional_impairment")
    }
    assert "Moderada" in titles["substance_use_severity"]  # la gravedad
    assert "Moderado" in titles["functional_impairment"]  # el deterioro
    ui = ui_schema(language="es")
    assert _codes(ui) == _codes(ui_schema())
    assert "Ideación:" in ui["suicide_risk"]["ui:help"]


def test_spanish_questionnaire_with_english_translations() -> None:
    english = to_questionnaire()
    spanish = to_questionnaire("es", ["en"])
    Questionnaire.model_validate(spanish)
    assert spanish["language"] == "es"
    assert _codes({k: v for k, v in spanish.items() if k != "language"}) == _codes(english)
    item = next(i for i in spanish["item"] if i["linkId"] == "suicide_risk")
    assert item["text"] == "Riesgo suicida"
    (translation,) = item["_text"]["extension"]
    assert translation["url"] == TRANSLATION
    assert translation["extension"] == [
        {"url": "lang", "valueCode": "en"},
        {"url": "content", "valueString": "Suicide risk"},
    ]
    display = item["answerOption"][0]["valueCoding"]
    assert display["_display"]["extension"][0]["extension"][0]["valueCode"] == "en"
    # English first, Spanish as the translation: what an SDC renderer picks by locale.
    both = to_questionnaire("en", ["es"])
    assert "language" in both
    item = next(i for i in both["item"] if i["linkId"] == "suicide_risk")
    assert item["text"] == "Suicide risk"
    assert item["_text"]["extension"][0]["extension"][1]["valueString"] == "Riesgo suicida"


@pytest.fixture(scope="module")
def client() -> Any:
    with TestClient(create_app(insecure_no_auth=True), raise_server_exceptions=False) as c:
        yield c


def test_service_serves_each_language(client: TestClient) -> None:
    assert client.get("/api/schema").json() == json_schema()
    assert client.get("/api/schema?lang=es").json() == json_schema(language="es")
    assert client.get("/api/ui-schema?lang=es").json() == ui_schema(language="es")
    response = client.get("/api/questionnaire?lang=es")
    assert response.headers["content-type"].startswith("application/fhir+json")
    assert response.json() == to_questionnaire("es", ["en"])
    bad = client.get("/api/schema?lang=fr")
    assert bad.status_code == 400
    assert "lang" in bad.text
    assert "en, es" in bad.text


@given(st.sampled_from(["es", "es-MX", "es_US", "ES"]))
def test_region_codes_pick_the_language(code: str) -> None:
    with use_language(code) as chosen:
        assert chosen == "es"


def test_service_renders_the_explanation_in_each_language(client: TestClient) -> None:
    answers = next(population(sorted(POPULATIONS)[0], 1, seed=5))
    expected = explain(answers)
    for language, lead in (("en", "Recommended level of care"), ("es", "Nivel de atención")):
        html = client.post(f"/api/explanation?lang={language}", json=answers)
        assert html.status_code == 200
        assert html.headers["content-type"] == "text/html; charset=utf-8"
        assert html.text == expected.to_html(language)
        assert lead in html.text
    text = client.post("/api/explanation?lang=es&format=text", json=answers)
    assert text.text == expected.to_text("es")
    markdown = client.post("/api/explanation?format=markdown", json=answers)
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert markdown.text == expected.to_markdown()
    assert client.post("/api/explanation?format=pdf", json=answers).status_code == 400
    assert client.post("/api/explanation?lang=de", json=answers).status_code == 400
    bad = client.post("/api/explanation?lang=es", json={"suicide_risk": "maybe"})
    assert bad.status_code == 400
    assert "suicide_risk" in bad.text


def test_cli_explains_in_spanish() -> None:
    path = Path(__file__).resolve().parents[1] / "examples" / "crisis.json"
    code, out, err = run("assess", "--language", "es", "--format", "markdown", str(path))
    assert (code, err) == (0, "")
    expected = explain(json.loads(path.read_text(encoding="utf-8"))).to_markdown("es")
    assert out.rstrip("\n") == expected.rstrip("\n")
    assert "Crisis: riesgo suicida inminente" in out
    with pytest.raises(SystemExit):  # argparse: "invalid choice ... (choose from 'en', 'es')"
        run("assess", "--language", "fr", str(path))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(assessment=assessments())
def test_the_short_view_is_translated_and_decides_the_same(assessment: Assessment) -> None:
    rec = recommend(assessment)
    english, spanish = render_short(rec), render_short(rec, "es")
    for heading in ("Recommended level of care:", "Why (deciding reasons):", "Flags"):
        assert heading in english
        assert heading not in spanish
    with use_language("es"):
        assert f"Nivel de atención recomendado: {_(rec.level.label)}" in spanish
    # The same deciding rules, in the same order, in both.
    for text in (english, spanish):
        places = [text.index(f"[{reason.rule_id}]") for reason in rec.deciding]
        assert places == sorted(places)


def test_cli_short_view_in_spanish() -> None:
    path = Path(__file__).resolve().parents[1] / "examples" / "crisis.json"
    code, out, err = run("assess", "--language", "es", str(path))
    assert (code, err) == (0, "")
    assert out == render_short(recommend(json.loads(path.read_text(encoding="utf-8"))), "es")
    assert out.startswith("La seguridad primero: ")
    assert "Crisis: riesgo suicida inminente (seguridad)" in out


# Words the glossary (docs/i18n.md) replaces: a translation using one is inconsistent.
NOT_GLOSSARY = ("retiro", "abuso de", "uso de sustancias", "paciente interno", "bandera")


def test_spanish_follows_the_glossary() -> None:
    for message in read_catalog("es"):
        if message.id:
            text = str(message.string).lower()
            assert not [word for word in NOT_GLOSSARY if word in text], message.id


def test_docs_example_runs_and_prints_what_it_says() -> None:
    page = (Path(__file__).resolve().parents[1] / "docs" / "i18n.md").read_text("utf-8")
    code = page.split("```python\n", 1)[1].split("```", 1)[0]
    printed = page.split("prints\n\n```text\n", 1)[1].split("```", 1)[0]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "docs/i18n.md", "exec"), {})
    assert out.getvalue() == printed


def test_provisional_in_spanish() -> None:
    p = provisional({"suicide_risk": "none", "home_environment": "toxic"})
    text = p.to_text("es")
    assert text.startswith("Evaluación de seguridad incompleta: pregunte primero:")
    assert "Nivel de atención provisional" in text
    assert "Provisional level of care" not in text
    english = p.to_text()
    # The same questions, in the same order, in both languages.
    codes = [q.field for q in p.questions]
    assert [c for c in codes if f"[{c}" in text] == [c for c in codes if f"[{c}" in english]


def test_a_new_rule_fails_until_translated(tmp_path: Path) -> None:
    """What a rule author sees: the rule's title and text are reported untranslated."""
    rules = tmp_path / "rules"
    shutil.copytree(bundled_rules(), rules)  # type: ignore[arg-type]
    family = json.loads((rules / "readiness.json").read_text(encoding="utf-8"))
    new = copy.deepcopy(family["rules"][0])
    new.update(id="readiness.precontemplation", title="Not considering change")
    new["text"] = "Not considering change: readiness risk is mild (1)."
    family["rules"].append(new)
    (rules / "readiness.json").write_text(json.dumps(family), encoding="utf-8")
    assert untranslated(template(rules), read_catalog("es")) == [
        "readiness.precontemplation|Not considering change",
        "readiness.precontemplation|Not considering change: readiness risk is mild (1).",
    ]


# --- the intake page's JSON: texts in the language asked, the same decision ---------------------


def _view_codes(view: Any) -> Any:
    """What a labelled view decides (codes, rule ids, ratings, fields), without its words."""
    words = {
        "title", "label", "description", "intensity", "text", "facts", "summary", "notice",
        "ask", "answer", "range", "rating_label", "flags", "level", "conditions", "note",
        "safety_notice", "source",
    }  # fmt: skip
    if isinstance(view, list):
        return [_view_codes(item) for item in view]
    if isinstance(view, dict):
        kept = {k: _view_codes(v) for k, v in view.items() if k not in words}
        # A level or a flag list is words in a reason, codes at the top: keep the codes.
        for key in ("level", "flags"):
            value = view.get(key)
            if isinstance(value, dict):
                kept[key] = value["code"]
            elif isinstance(value, list) and all(isinstance(v, dict) for v in value):
                kept[key] = [v["code"] for v in value]
        return kept
    return view


def test_view_codes_can_fail() -> None:
    view = {"level": {"code": "iop", "label": "IOP"}, "deciding": [{"rule_id": "a", "title": "A"}]}
    other = {"level": {"code": "iop", "label": "IOP"}, "deciding": [{"rule_id": "b", "title": "A"}]}
    assert _view_codes(view) != _view_codes(other)
    assert _view_codes(view) == _view_codes({**view, "level": {"code": "iop", "label": "x"}})


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(answers=assessment_values(), language=languages(), data=st.data())
def test_the_page_json_decides_the_same_in_every_language(
    client: TestClient, answers: dict[str, Any], language: str, data: st.DataObject
) -> None:
    """/api/recommendation and /api/provisional: only the words change with ?lang=."""
    english = client.post("/api/recommendation", json=answers).json()
    other = client.post(f"/api/recommendation?lang={language}", json=answers).json()
    assert other["recommendation"] == english["recommendation"]
    assert _view_codes(other["view"]) == _view_codes(english["view"])
    assert other["view"]["level"]["code"] == recommend(answers).level.value
    with use_language(language):
        assert other["view"]["level"]["label"] == _(recommend(answers).level.label)
    names = data.draw(st.sets(st.sampled_from(sorted(answers))), label="answered")
    partial = {name: answers[name] for name in names}
    english = client.post("/api/provisional", json=partial).json()
    other = client.post(f"/api/provisional?lang={language}", json=partial).json()
    assert other["provisional"] == english["provisional"]
    assert other["next"] == english["next"]
    assert _view_codes(other["view"]) == _view_codes(english["view"])


def test_the_page_json_is_spanish_when_asked(client: TestClient) -> None:
    answers = json.loads(
        (Path(__file__).resolve().parents[1] / "examples" / "crisis.json").read_text("utf-8")
    )
    english = client.post("/api/recommendation", json=answers).json()["view"]
    view = client.post("/api/recommendation?lang=es", json=answers).json()["view"]
    assert view["alert"]["label"] == "Crisis: riesgo suicida inminente"
    assert view["alert"]["ask"].startswith("Organice una evaluación de crisis inmediata")
    assert view["notice"] != english["notice"]
    reason = view["deciding"][0]
    with use_language("es"):
        assert reason["title"] == rule_text(reason["rule_id"], english["deciding"][0]["title"])
    assert reason["title"] != english["deciding"][0]["title"]
    assert reason["source"] == english["deciding"][0]["source"]  # quotes stay as written
    assert view["asam"]["note"].startswith("Correspondencia solo aproximada")
    partial = client.post("/api/provisional?lang=es", json={"suicide_risk": "none"}).json()
    assert partial["view"]["summary"].startswith("Provisional: Tratamiento ambulatorio")
    assert partial["view"]["ask_next"][0]["title"] == "Médicamente inestable"
    for path in ("/api/recommendation", "/api/provisional"):
        bad = client.post(f"{path}?lang=fr", json=answers)
        assert bad.status_code == 400
        assert bad.json()["error"] == "lang: allowed values are en, es"


def test_the_page_text_comes_from_the_catalogue(client: TestClient) -> None:
    english = client.get("/api/page-text").json()
    spanish = client.get("/api/page-text?lang=es-MX").json()
    assert english["text"] == PAGE_TEXT
    assert (
        english["languages"]
        == spanish["languages"]
        == [
            {"code": "en", "name": "English"},
            {"code": "es", "name": "Español"},
        ]
    )
    assert spanish["lang"] == "es"
    assert spanish["text"]["submit"] == "Sugerir un nivel de atención"
    assert set(spanish["text"]) == set(PAGE_TEXT)
    # Every sentence translated, with the same {fields}.
    for key, sentence in spanish["text"].items():
        assert sentence != PAGE_TEXT[key], key
        assert fields(sentence) == fields(PAGE_TEXT[key]), key
    assert client.get("/api/page-text?lang=fr").status_code == 400


def test_the_page_text_is_in_the_template(pot: Catalog) -> None:
    """So the untranslated-text check above covers the page's sentences too."""
    for english in (*PAGE_TEXT.values(), LANGUAGE_NAME):
        assert pot.get(english) is not None, english


def test_the_page_writes_no_sentence_of_its_own() -> None:
    """Every TEXT key the page uses is one the server serves, and TEXT starts empty."""
    script = (
        Path(__file__).resolve().parents[1] / "src" / "iop_placement" / "_static" / "intake.js"
    ).read_text("utf-8")
    html = (
        Path(__file__).resolve().parents[1] / "src" / "iop_placement" / "_static" / "intake.html"
    ).read_text("utf-8")
    assert "const TEXT = {};" in script
    used = set(re.findall(r"TEXT\.(\w+)", script)) | set(re.findall(r'data-text="(\w+)"', html))
    assert used == set(PAGE_TEXT)
