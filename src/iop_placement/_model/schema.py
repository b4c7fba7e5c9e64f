"""The assessment's form-ready JSON Schema, generated from the model (never written by hand).

Pydantic's own schema puts each enum behind a ``$ref`` with bare codes and drops the
field's title. Forms need more: every field with its title and description, every value
with its human label (``oneOf`` of ``const`` + ``title``, as react-jsonschema-form reads
it), references inlined, the obligations as a multi-select (``uniqueItems``), and the
fields in the order an intake interview asks for them. Labels come from the enums, titles
and descriptions from the model's fields, the order from ``intake.json``.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from typing import Any, Final

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from iop_placement._i18n import N_, _, contextual, use_language
from iop_placement._model.assessment import (
    ABSENT_LABEL,
    EXTENSIONS,
    LEGACY_MODIFIABLE_TO,
    Assessment,
)
from iop_placement._model.fields import field_specs
from iop_placement._model.intake import intake_order
from iop_placement._model.labels import LabelledEnum
from iop_placement._model.wording import option_context

__all__ = ["JSON_SCHEMA_DIALECT", "json_schema", "ui_schema"]

# Draft-07: what react-jsonschema-form and JSON Forms validate against by default.
JSON_SCHEMA_DIALECT: Final = "http://json-schema.org/draft-07/schema#"
_DEFS: Final = "$defs"
_REF_PREFIX: Final = "#/$defs/"
# The true/false choices' titles (the model's "yes"/"no", capitalized), for the catalogue.
_YES_NO: Final = (N_("Yes"), N_("No"))
_TEXT_KEYS: Final = frozenset({"title", "description", ABSENT_LABEL})


def _choice(member: LabelledEnum) -> dict[str, Any]:
    choice: dict[str, Any] = {"const": member.value, "title": member.label}
    if member.description:
        choice["description"] = member.description
    return choice


class _LabelledSchema(GenerateJsonSchema):
    """Pydantic's generator, with every labelled enum as ``oneOf`` const/title/description."""

    def enum_schema(self, schema: core_schema.EnumSchema) -> JsonSchemaValue:
        """A labelled enum as a ``oneOf`` of its members; other enums as Pydantic does."""
        cls = schema["cls"]
        if isinstance(cls, type) and issubclass(cls, LabelledEnum):
            return {"type": "string", "oneOf": [_choice(member) for member in cls]}
        return super().enum_schema(schema)


def _inline(node: Any, defs: Mapping[str, Any]) -> Any:  # noqa: ANN401 - any JSON value
    """``node`` with every ``$ref`` to ``$defs`` replaced by (a copy of) its definition."""
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
        target = _inline(defs[ref.removeprefix(_REF_PREFIX)], defs)
        siblings = {key: _inline(value, defs) for key, value in node.items() if key != "$ref"}
        return {**target, **siblings}
    return {key: _inline(value, defs) for key, value in node.items() if key != _DEFS}


def _field_schema(name: str, generated: dict[str, Any]) -> dict[str, Any]:
    """One property: the generated schema, completed for forms."""
    info = Assessment.model_fields[name]
    spec = field_specs()[name]
    if spec.optional:
        # Left out of the form = absent; the value branch is the question itself.
        branches = [b for b in generated.get("anyOf", ()) if b.get("type") != "null"]
        extra = {k: v for k, v in generated.items() if k not in {"anyOf", "default"}}
        generated = {**(branches[0] if branches else {}), **extra}
    prop: dict[str, Any] = {"title": info.title or name}
    if info.description:
        prop["description"] = info.description
    prop.update({k: v for k, v in generated.items() if k not in {"title", "description"}})
    if spec.kind == "boolean":
        prop["oneOf"] = [
            {"const": value, "title": spec.label(value).capitalize()} for value in (True, False)
        ]
    if spec.kind == "choices":
        prop["uniqueItems"] = True
    return prop


def _extensions(prop: dict[str, Any]) -> dict[str, Any]:
    """The ``x-`` extensions of a property, removed from it (strict Ajv rejects them)."""
    return {key: prop.pop(key) for key in (*EXTENSIONS, LEGACY_MODIFIABLE_TO) if key in prop}


@functools.cache
def _generate() -> dict[str, Any]:
    raw = Assessment.model_json_schema(schema_generator=_LabelledSchema)
    inlined: dict[str, Any] = _inline(raw, raw.get(_DEFS, {}))
    properties = inlined["properties"]
    required = set(inlined.get("required", ()))
    order = intake_order()
    schema: dict[str, Any] = {"$schema": JSON_SCHEMA_DIALECT}
    schema["title"] = inlined.get("title", "Assessment")
    if "description" in inlined:
        schema["description"] = inlined["description"]
    schema["type"] = "object"
    schema["properties"] = {name: _field_schema(name, properties[name]) for name in order}
    schema["required"] = [name for name in order if name in required]
    schema["additionalProperties"] = False
    return schema


@functools.cache
def _strict() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The schema without extensions, and the extensions by field."""
    schema = copy.deepcopy(_generate())
    extensions = {}
    for name, prop in schema["properties"].items():
        if found := _extensions(prop):
            extensions[name] = found
    return schema, extensions


def _translated(node: Any, context: str | None = None) -> Any:  # noqa: ANN401 - any JSON
    """``node`` with every ``title`` and ``description`` in the current language.

    A property's own texts have no gettext context; its options' texts have their enum's
    (``option_context``). Property names and ``const`` codes are never translated.
    """
    if isinstance(node, list):
        return [_translated(item, context) for item in node]
    if not isinstance(node, dict):
        return node
    specs = field_specs()
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):
            out[key] = {
                name: _property(prop, option_context(specs[name].enum) if name in specs else None)
                for name, prop in value.items()
            }
        elif key in _TEXT_KEYS and isinstance(value, str):
            out[key] = contextual(context, value)
        else:
            out[key] = _translated(value, context)
    return out


def _property(prop: dict[str, Any], options: str | None) -> dict[str, Any]:
    """One property: its title, description and absent-label as such, its options in context."""
    own = {key for key, value in prop.items() if key in _TEXT_KEYS and isinstance(value, str)}
    return {
        key: _(value) if key in own else _translated(value, options) for key, value in prop.items()
    }


def json_schema(*, extensions: bool = False, language: str = "en") -> dict[str, Any]:
    """The assessment's JSON Schema (draft-07), ready for a JSON-Schema form renderer.

    Every field has a ``title`` and a ``description``; every allowed value is a ``oneOf``
    entry with ``const``, ``title`` and ``description``; true/false fields are labelled
    Yes/No; the hours field has ``minimum`` and ``maximum``; the obligations are an array
    with ``uniqueItems`` (a multi-select); no ``$ref`` is left; properties and
    ``required`` follow the intake interview's order. Returns a new dict on every call.

    Only standard keywords: strict Ajv (and so react-jsonschema-form with a strict
    validator) accepts it. The model's extensions (``x-absent-means``, ``x-absent-label``,
    ``x-modifiable-to``) are in :func:`ui_schema` under ``ui:options``; ``extensions=True``
    keeps them in the properties too, for readers that want them there (and that do not
    validate strictly).

    ``language`` (``en``, ``es``) translates every title and description; codes, property
    names and constraints are the same in every language.

    Raises:
        UnsupportedLanguage: when ``language`` has no catalogue.

    """
    schema = _generate() if extensions else _strict()[0]
    with use_language(language):
        translated: dict[str, Any] = _translated(schema)
        return translated


def ui_schema(*, language: str = "en") -> dict[str, Any]:
    """A react-jsonschema-form ``uiSchema`` for :func:`json_schema`: order and widgets.

    Choices and true/false questions as radio buttons, the obligations as checkboxes,
    the hours as a number box; each choice's option descriptions as ``ui:help`` (rjsf's
    radio and checkbox widgets show only the titles); the model's extensions
    (``x-absent-means``, ``x-absent-label``, ``x-modifiable-to``) under ``ui:options``;
    the help lines in ``language`` (``en``, ``es``).

    Raises:
        UnsupportedLanguage: when ``language`` has no catalogue.

    """
    with use_language(language):
        return _ui_schema()


def _ui_schema() -> dict[str, Any]:
    widgets = {"choice": "radio", "boolean": "radio", "choices": "checkboxes", "integer": "updown"}
    specs = field_specs()
    extensions = _strict()[1]
    ui: dict[str, Any] = {"ui:order": list(intake_order())}
    for name in intake_order():
        spec = specs[name]
        ui[name] = {"ui:widget": widgets[spec.kind]}
        if spec.enum is not None:
            # rjsf's radio and checkbox widgets show option titles only: the help line
            # under the question gives each option's description.
            ui[name]["ui:help"] = " ".join(
                f"{contextual(option_context(spec.enum), member.label)}:"
                f" {contextual(option_context(spec.enum), member.description)}"
                for member in spec.enum
            )
        if name in extensions:
            ui[name]["ui:options"] = _translated(extensions[name])
    return ui
