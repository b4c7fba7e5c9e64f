"""One assessment as a flat fact for a matcher (durable-rules or the compiled backend)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

from iop_placement._model.errors import PlacementError
from iop_placement._model.fields import field_specs
from iop_placement._rules.normal_form import Includes, Node, atoms

__all__ = [
    "ABSENT_CODE",
    "check_fact_keys",
    "encode",
    "encode_changes",
    "encode_validated",
    "fact_key",
    "fact_keys",
    "fact_name",
    "fact_value",
]

# Keys durable-rules gives a meaning ("sid", "id") or the durable adapter uses itself.
RESERVED: Final = frozenset({"sid", "id", "always__"})
# An optional field left out whose absence is a value of its own: durable-rules has no
# null test, so absence is a code no field value can take (values are [a-z_] codes).
ABSENT_CODE: Final = "absent__"


def fact_key(field: str, item: str) -> str:
    """The flat key that says whether list ``field`` includes ``item``."""
    return f"{field}__{item}"


def fact_name(field: str) -> str:
    """The flat key of a field or pseudo-field (durable-rules reads dots as nesting)."""
    return field.replace(".", "__")


def fact_value(value: Any) -> Any:  # noqa: ANN401 - a JSON scalar
    """A value as the fact holds it (absence as :data:`ABSENT_CODE`)."""
    return ABSENT_CODE if value is None else value


def _plan() -> tuple[tuple[str, tuple[tuple[str, str], ...] | None, Any], ...]:
    """Per field, worked out once: its list keys (list fields) or what absence means."""
    return tuple(
        (
            name,
            tuple((item, fact_key(name, item)) for item in spec.values)
            if spec.kind == "choices"
            else None,
            fact_value(spec.read(None)),
        )
        for name, spec in field_specs().items()
    )


_PLAN: Final = _plan()
_PLAN_BY_NAME: Final = {entry[0]: entry for entry in _PLAN}


_SCALARS: Final = tuple((name, absent) for name, items, absent in _PLAN if items is None)
_LISTS: Final = tuple((name, items) for name, items, _ in _PLAN if items is not None)
# Optional fields: the only ones that valid answers leave as None.
_OPTIONAL: Final = tuple(
    (name, fact_value(spec.read(None))) for name, spec in field_specs().items() if spec.optional
)


def encode(values: Mapping[str, Any]) -> dict[str, Any]:
    """The answers as a flat fact: a list field becomes one true/false key per value.

    An optional field left out is read as what its absence means. The fact also keeps
    each list field under its own name (no rule reads that key).
    """
    fact = dict(values)  # the scalar answers as they are: most keys need nothing more
    if len(fact) != len(_PLAN):  # answers given in part (a search's variations)
        for name, absent in _SCALARS:
            if fact.get(name) is None:
                fact[name] = absent
    elif None in fact.values():
        for name, absent in _OPTIONAL:
            if fact.get(name) is None:
                fact[name] = absent
    for name, items in _LISTS:
        chosen = values[name]
        for item, key in items:
            fact[key] = item in chosen
    return fact


def _validated_source() -> str:
    """The source of ``encode_validated(d)``: one pass, no type tests (see there)."""
    specs = field_specs()
    lines = ["def encode_validated(d):", "    v = {"]
    for name, spec in specs.items():
        if spec.kind == "choices":
            lines.append(
                f"        {name!r}: [i._value_ for i in d[{name!r}]],"
                if spec.enum is not None
                else f"        {name!r}: list(d[{name!r}]),"
            )
        elif spec.enum is not None and spec.optional:
            lines.append(f"        {name!r}: None if d[{name!r}] is None else d[{name!r}]._value_,")
        elif spec.enum is not None:
            lines.append(f"        {name!r}: d[{name!r}]._value_,")
        else:
            lines.append(f"        {name!r}: d[{name!r}],")
    lines += ["    }", "    f = v.copy()"]
    for name, absent in _OPTIONAL:
        lines.append(f"    if f[{name!r}] is None:")
        lines.append(f"        f[{name!r}] = {absent!r}")
    for name, items in _LISTS:
        lines.append(f"    c = v[{name!r}]")
        lines += [f"    f[{key!r}] = {item!r} in c" for item, key in items]
    lines.append("    return v, f")
    return "\n".join(lines) + "\n"


def _compile_validated() -> Callable[[Mapping[str, Any]], tuple[dict[str, Any], dict[str, Any]]]:
    namespace: dict[str, Any] = {}
    # Names, items and codes come from the model's field specs, written with repr.
    exec(compile(_validated_source(), "<encode_validated>", "exec"), namespace)  # noqa: S102
    return namespace["encode_validated"]  # type: ignore[no-any-return]


encode_validated: Final = _compile_validated()
"""``encode_validated(assessment.__dict__)``: ``(assessment.values(), encode(values))``.

For an assessment that validation just made (enum members, tuples: the model's own
types), in one generated pass without the type tests ``values()`` makes for anything else:
``recommend()``'s path. The tests hold it equal to the two, key order included.
"""


def encode_changes(fact: dict[str, Any], changes: Mapping[str, Any]) -> None:
    """Re-encode in ``fact`` (from :func:`encode`) only the answers in ``changes``."""
    for name, value in changes.items():
        _, items, absent = _PLAN_BY_NAME[name]
        if items is not None:
            for item, key in items:
                fact[key] = item in value
        else:
            fact[name] = absent if value is None else value


def check_fact_keys() -> None:
    """Fail early if field names would clash in the flat fact."""
    specs = field_specs(with_decided_level=True, with_derived=True)
    keys = [
        fact_key(name, item) if spec.kind == "choices" else fact_name(name)
        for name, spec in specs.items()
        for item in (spec.values if spec.kind == "choices" else (None,))
    ]
    if clash := (set(keys) & RESERVED) or (len(keys) != len(set(keys))):
        msg = f"assessment field names clash in the flat fact: {clash}"
        raise PlacementError(msg)


def fact_keys(node: Node) -> Iterator[str]:
    """The keys of the flat fact a normal-form condition reads."""
    for atom in atoms(node):
        yield (
            fact_key(atom.field, atom.item) if isinstance(atom, Includes) else fact_name(atom.field)
        )
