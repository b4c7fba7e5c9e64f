"""What rules may say about each field, derived from the models (never written twice)."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, cast

from annotated_types import Ge, Le
from pydantic import BaseModel

from iop_placement._model.assessment import ABSENT_LABEL, ABSENT_MEANS, FEASIBILITY, Assessment
from iop_placement._model.labels import LabelledEnum
from iop_placement._model.levels import Dimension, LevelOfCare, RiskRating

__all__ = [
    "COUNT_PREFIX",
    "DECIDED_LEVEL",
    "DERIVED_NAMES",
    "RATING_PREFIX",
    "FactValue",
    "FieldKind",
    "FieldSpec",
    "count_field",
    "derive",
    "derive_values",
    "derived_specs",
    "field_specs",
    "rating_field",
]

FieldKind = Literal["choice", "boolean", "integer", "choices"]
# One answer as facts carry it: a code, true/false, a whole number, or a list of codes.
# None: an optional field left out.
FactValue = str | bool | int | list[str] | None

# A pseudo-field rules may read in their conditions: the level decided by the rules that
# set levels. Only rules that set no level may read it (they run second).
DECIDED_LEVEL: Final = "level"
# Pseudo-fields derived from the rating rules: one rating per dimension, and how many
# dimensions are rated at least k. Rules that read them run after the rating rules.
RATING_PREFIX: Final = "rating."
COUNT_PREFIX: Final = "dimensions_at_least."


def rating_field(dimension: str) -> str:
    """The pseudo-field of one dimension's rating, e.g. ``rating.biomedical``."""
    return RATING_PREFIX + dimension


def count_field(at_least: int) -> str:
    """The pseudo-field counting the dimensions rated at least ``at_least``."""
    return f"{COUNT_PREFIX}{at_least}"


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
    optional: bool = False
    absent_means: Any = None
    """For an optional field: the value its absence is read as, or None for "its own value"."""
    absent_label: str = ""
    derived: bool = False
    """A pseudo-field the engine derives (a rating or a count), not an answer."""

    @property
    def absent_distinct(self) -> bool:
        """Whether absence is a value of its own that rules may test (``null``)."""
        return self.optional and self.absent_means is None

    @property
    def answers(self) -> tuple[Any, ...]:
        """Every answer of a finite field, absence (None) last for an optional field."""
        return (*self.values, None) if self.optional else self.values

    def read(self, value: Any) -> Any:  # noqa: ANN401 - a field's value is any JSON scalar
        """The value rules see for an answer: absence becomes what it means."""
        return self.absent_means if value is None else value

    def label(self, value: Any) -> str:  # noqa: ANN401 - a field's value is any JSON scalar
        """The human label of one value of this field."""
        if value is None and self.optional:
            return self.absent_label or "not answered"
        if self.derived and self.name.startswith(RATING_PREFIX) and isinstance(value, int):
            return f"{value} ({RiskRating.of(value).label.lower()})"
        if self.enum is not None and isinstance(value, str):
            # The enum's own map, not a walk over its members (Enum iteration is slow).
            member = self.enum._value2member_map_.get(value)
            if member is not None:
                return cast(LabelledEnum, member).label
        if isinstance(value, bool):
            return "yes" if value else "no"
        return str(value)

    def describe_allowed(self) -> str:
        """What the field accepts, in words, for error messages and docs."""
        if self.kind == "choice":
            allowed = "one of " + ", ".join(repr(v) for v in self.values)
            return allowed + (", or left out" if self.optional else "")
        if self.kind == "boolean":
            return "true or false" + (", or left out" if self.optional else "")
        if self.kind == "integer":
            return f"a whole number from {self.minimum} to {self.maximum}"
        return "a list of zero or more of " + ", ".join(repr(v) for v in self.values)


def _spec(name: str, annotation: Any, title: str, metadata: list[Any]) -> FieldSpec:  # noqa: ANN401
    feasible = name in FEASIBILITY
    origin = typing.get_origin(annotation)
    members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    if type(None) in typing.get_args(annotation) and len(members) == 1:
        extra = Assessment.model_fields[name].json_schema_extra
        absent = extra if isinstance(extra, dict) else {}
        inner = members[0]
        if typing.get_origin(inner) is typing.Annotated:  # StrictBool inside Optional
            inner, *more = typing.get_args(inner)
            metadata = [*metadata, *more]
        spec = _spec(name, inner, title, metadata)
        return dataclasses.replace(
            spec,
            optional=True,
            absent_means=absent.get(ABSENT_MEANS),
            absent_label=str(absent.get(ABSENT_LABEL, "")),
        )
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


_DERIVED: Final[Mapping[str, FieldSpec]] = {
    **{
        rating_field(d.value): FieldSpec(
            rating_field(d.value),
            f"Rating of {d.label.lower()}",
            "integer",
            minimum=0,
            maximum=int(max(RiskRating)),
            derived=True,
        )
        for d in Dimension
    },
    **{
        count_field(k): FieldSpec(
            count_field(k),
            f"Dimensions rated {k} or higher",
            "integer",
            minimum=0,
            maximum=len(Dimension),
            derived=True,
        )
        for k in range(1, int(max(RiskRating)) + 1)
    },
}


def derived_specs() -> Mapping[str, FieldSpec]:
    """The pseudo-fields the engine derives from the rating rules, in order."""
    return _DERIVED


def field_specs(
    *, with_decided_level: bool = False, with_derived: bool = False
) -> Mapping[str, FieldSpec]:
    """Field name -> spec for every assessment field, in the model's order.

    ``with_derived`` adds the ratings and counts; ``with_decided_level`` the level.
    """
    if not (with_decided_level or with_derived):
        return _SPECS
    specs = dict(_SPECS)
    if with_derived:
        specs.update(_DERIVED)
    if with_decided_level:
        specs[DECIDED_LEVEL] = _LEVEL_SPEC
    return specs


_TOP: Final = int(max(RiskRating))
_COUNT_FROM: Final = tuple(range(1, _TOP + 1))
_COUNT_DOWN: Final = _COUNT_FROM[::-1]
DERIVED_NAMES: Final = (
    *(rating_field(d.value) for d in Dimension),
    *(count_field(at_least) for at_least in _COUNT_FROM),
)
"""The pseudo-fields :func:`derive_values` gives, in its order."""


def derive_values(ratings: Sequence[int]) -> list[int]:
    """:data:`DERIVED_NAMES`' values from the ratings in ``Dimension`` order (the fast form)."""
    tally = [0] * (_TOP + 1)  # how many dimensions have each rating
    for value in ratings:
        tally[value] += 1
    counts = [0] * _TOP
    running = 0
    for at_least in _COUNT_DOWN:  # from the top, each count includes those above it
        running += tally[at_least]
        counts[at_least - 1] = running
    return [*ratings, *counts]


def derive(ratings: Mapping[Dimension, int]) -> dict[str, int]:
    """The pseudo-fields placement rules read: each rating, and the counts at each level."""
    return dict(zip(DERIVED_NAMES, derive_values([ratings[d] for d in Dimension]), strict=True))
