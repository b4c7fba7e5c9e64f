"""What rules may say about each field, derived from the models (never written twice)."""

from __future__ import annotations

import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, cast

from annotated_types import Ge, Le
from pydantic import BaseModel

from iop_placement._model.assessment import FEASIBILITY, Assessment
from iop_placement._model.labels import LabelledEnum
from iop_placement._model.levels import LevelOfCare

__all__ = ["DECIDED_LEVEL", "FactValue", "FieldKind", "FieldSpec", "field_specs"]

FieldKind = Literal["choice", "boolean", "integer", "choices"]
# One answer as facts carry it: a code, true/false, a whole number, or a list of codes.
FactValue = str | bool | int | list[str]

# A pseudo-field rules may read in their conditions: the level decided by the rules that
# set levels. Only rules that set no level may read it (they run second).
DECIDED_LEVEL: Final = "level"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field: its kind, its allowed values (finite kinds) or range (integers)."""

    name: str
    title: str
    kind: FieldKind
    values: tuple[Any, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    enum: type[LabelledEnum] | None = None
    feasibility: bool = False

    def label(self, value: Any) -> str:  # noqa: ANN401 - a field's value is any JSON scalar
        """The human label of one value of this field."""
        if self.enum is not None:
            for member in self.enum:
                if member.value == value:
                    return member.label
        if isinstance(value, bool):
            return "yes" if value else "no"
        return str(value)

    def describe_allowed(self) -> str:
        """What the field accepts, in words, for error messages and docs."""
        if self.kind == "choice":
            return "one of " + ", ".join(repr(v) for v in self.values)
        if self.kind == "boolean":
            return "true or false"
        if self.kind == "integer":
            return f"a whole number from {self.minimum} to {self.maximum}"
        return "a list of zero or more of " + ", ".join(repr(v) for v in self.values)


def _spec(name: str, annotation: Any, title: str, metadata: list[Any]) -> FieldSpec:  # noqa: ANN401
    feasible = name in FEASIBILITY
    origin = typing.get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, LabelledEnum):
        return FieldSpec(
            name, title, "choice", annotation.values(), enum=annotation, feasibility=feasible
        )
    if annotation is bool:
        return FieldSpec(name, title, "boolean", (False, True), feasibility=feasible)
    if annotation is int:
        low = next((cast(int, m.ge) for m in metadata if isinstance(m, Ge)), None)
        high = next((cast(int, m.le) for m in metadata if isinstance(m, Le)), None)
        return FieldSpec(name, title, "integer", minimum=low, maximum=high, feasibility=feasible)
    if origin is tuple:
        (item, _ellipsis) = typing.get_args(annotation)
        if isinstance(item, type) and issubclass(item, LabelledEnum):
            return FieldSpec(name, title, "choices", item.values(), enum=item, feasibility=feasible)
    msg = f"field {name!r} has a type rules cannot read"
    raise TypeError(msg)


def _model_specs(model: type[BaseModel]) -> dict[str, FieldSpec]:
    specs = {}
    for name, info in model.model_fields.items():
        specs[name] = _spec(name, info.annotation, info.title or name, list(info.metadata))
    return specs


_SPECS: Final[Mapping[str, FieldSpec]] = _model_specs(Assessment)
_LEVEL_SPEC: Final = FieldSpec(
    DECIDED_LEVEL, "Level decided by the rules", "choice", LevelOfCare.values(), enum=LevelOfCare
)


def field_specs(*, with_decided_level: bool = False) -> Mapping[str, FieldSpec]:
    """Field name -> spec for every assessment field, in the model's order."""
    if with_decided_level:
        return {**_SPECS, DECIDED_LEVEL: _LEVEL_SPEC}
    return _SPECS
