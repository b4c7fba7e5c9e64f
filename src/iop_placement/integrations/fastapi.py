"""FastAPI (and Starlette) error responses that never echo what was submitted.

FastAPI's own 422 response repeats every rejected value (``input``) and pydantic's
``hide_input_in_errors`` does not reach it, so an intake form's answers would come back in
the response body and in any log of it. :func:`install` replaces that response, and adds
one for :class:`~iop_placement.InvalidAssessment`, with entries that name the location,
the problem, the *kind* of value given and what is allowed::

    from fastapi import FastAPI
    from iop_placement import Assessment, recommend
    from iop_placement.integrations.fastapi import install

    app = FastAPI()
    install(app)

    @app.post("/recommend")
    def post(assessment: Assessment) -> dict[str, object]:
        return recommend(assessment).model_dump(mode="json")

A location part is shown only when it is a name the application declared (a field of a
request model, a parameter) or an ``Assessment`` field; a key the client made up, or the
key of a ``dict`` field, is shown as ``(unknown field)``.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel

from iop_placement._model.errors import InvalidAssessment
from iop_placement._model.fields import field_specs
from iop_placement._model.validation import describe_kind

__all__ = [
    "UNKNOWN",
    "declared_names",
    "install",
    "invalid_assessment_handler",
    "safe_errors",
    "validation_error_handler",
]

UNKNOWN: Final = "(unknown field)"
STATUS: Final = 422
_SOURCES: Final = frozenset({"body", "query", "path", "header", "cookie"})

# Pydantic error types whose message states only the constraint, never the value given.
_SAFE_MESSAGES: Final = frozenset(
    {
        "missing", "extra_forbidden", "int_type", "int_parsing", "int_from_float",
        "float_type", "float_parsing", "bool_type", "bool_parsing", "string_type",
        "enum", "literal_error", "less_than", "less_than_equal", "greater_than",
        "greater_than_equal", "string_too_short", "string_too_long", "too_short", "too_long",
        "list_type", "dict_type", "model_type", "model_attributes_type", "none_required",
        "finite_number", "multiple_of", "is_instance_of", "tuple_type", "set_type",
    }
)  # fmt: skip


def _problem(error_type: str) -> str:
    if error_type == "missing":
        return "is required"
    if error_type == "extra_forbidden":
        return "is not a field of this request"
    if error_type.startswith(("less_than", "greater_than")):
        return "is out of range"
    if error_type in {"enum", "literal_error"}:
        return "is not one of the allowed values"
    return "is not valid"


def _model_names(annotation: object, seen: set[object], names: set[str]) -> None:
    """The field names (and aliases) of every model reachable from ``annotation``."""
    if annotation in seen:
        return
    seen.add(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, info in annotation.model_fields.items():
            names.add(name)
            if info.alias:
                names.add(info.alias)
            _model_names(info.annotation, seen, names)
        return
    for arg in typing.get_args(annotation):
        _model_names(arg, seen, names)


def declared_names(app: FastAPI) -> frozenset[str]:
    """Every name the application declares: parameters, body fields, their models' fields."""
    names: set[str] = set(field_specs())
    seen: set[object] = set()
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        dependant = route.dependant
        params = [
            *dependant.path_params,
            *dependant.query_params,
            *dependant.header_params,
            *dependant.cookie_params,
            *dependant.body_params,
        ]
        for param in params:
            names.update({param.name, param.alias})
            _model_names(param.field_info.annotation, seen, names)
    return frozenset(names)


def _location(loc: Sequence[Any], names: frozenset[str], error_type: str) -> list[str | int]:
    shown: list[str | int] = []
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        position = isinstance(part, int) and not isinstance(part, bool)
        declared = (
            isinstance(part, str)
            and (part in names or (index == 0 and part in _SOURCES))
            and not (last and error_type == "extra_forbidden")
        )
        shown.append(part if position or declared else UNKNOWN)
    return shown


def _allowed(loc: Sequence[str | int], error: Mapping[str, Any]) -> str:
    specs = field_specs()
    for part in reversed(loc):
        if isinstance(part, str) and part in specs:
            return specs[part].describe_allowed()
    if error["type"] == "extra_forbidden":
        return "only the fields of the request model"
    if error["type"] in _SAFE_MESSAGES:
        return str(error.get("msg", "a valid value"))
    return "a valid value (see the API's schema)"


def safe_errors(errors: Iterable[Mapping[str, Any]], names: frozenset[str]) -> list[dict[str, Any]]:
    """Pydantic/FastAPI errors as entries without the values given (``loc``, ``msg``, ``type``)."""
    entries = []
    for error in errors:
        error_type = str(error.get("type", "value_error"))
        loc = _location(tuple(error.get("loc", ())), names, error_type)
        given = "nothing" if error_type == "missing" else describe_kind(error.get("input"))
        allowed = _allowed(loc, error)
        problem = _problem(error_type)
        entries.append(
            {
                "loc": loc,
                "msg": f"{problem} (given: {given}; allowed: {allowed})",
                "type": error_type,
                "given": given,
                "allowed": allowed,
            }
        )
    return entries


def validation_error_handler(app: FastAPI) -> Any:  # noqa: ANN401 - a Starlette handler
    """A handler for ``RequestValidationError`` that names fields and never echoes values."""
    names: list[frozenset[str]] = []  # computed on the first error, once routes exist

    async def handle(request: Request, exc: Exception) -> JSONResponse:  # noqa: ARG001
        assert isinstance(exc, RequestValidationError)
        if not names:
            names.append(declared_names(app))
        return JSONResponse({"detail": safe_errors(exc.errors(), names[0])}, status_code=STATUS)

    return handle


async def invalid_assessment_handler(request: Request, exc: Exception) -> JSONResponse:  # noqa: ARG001
    """A handler for ``InvalidAssessment`` raised by ``recommend()`` on a body read as a dict."""
    assert isinstance(exc, InvalidAssessment)
    detail = [
        {
            "loc": ["body", problem.field],
            "msg": f"{problem.problem} (given: {problem.given}; allowed: {problem.allowed})",
            "type": "invalid_assessment",
            "given": problem.given,
            "allowed": problem.allowed,
        }
        for problem in exc.problems
    ]
    return JSONResponse({"detail": detail}, status_code=STATUS)


def install(app: FastAPI) -> FastAPI:
    """Register both handlers on ``app``; returns ``app``."""
    app.add_exception_handler(RequestValidationError, validation_error_handler(app))
    app.add_exception_handler(InvalidAssessment, invalid_assessment_handler)
    return app
