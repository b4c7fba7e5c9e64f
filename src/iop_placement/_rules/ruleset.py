"""Rule files: their format, and loading a directory of them into a checked RuleSet."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Final

from pydantic import Field, ValidationError, model_validator

from iop_placement._model.base import Frozen
from iop_placement._model.errors import RuleSetError
from iop_placement._model.fields import DECIDED_LEVEL, field_specs
from iop_placement._model.levels import Dimension, Flag, LevelOfCare, RiskRating
from iop_placement._rules.asam import ASAM_FILE, AsamCrosswalk
from iop_placement._rules.conditions import Condition
from iop_placement._rules.limits import MAX_NESTING, check_phase
from iop_placement._rules.normal_form import TRUE, Constant, Node, normal_form

__all__ = [
    "MANIFEST",
    "AlternativeSpec",
    "Manifest",
    "Outcome",
    "RatingSpec",
    "Rule",
    "RuleFile",
    "RuleSet",
    "SafetyOverride",
    "Source",
    "load_rule_set",
]

MANIFEST: Final = "ruleset.json"
TRANSITIONS_PREFIX: Final = "transitions"
"""``transitions*.json``: reassessment rules (``iop_placement.reassessment``), not a family."""
_ID: Final = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$"


class Source(Frozen):
    """Where a rule comes from, so a clinician can check it."""

    documents: tuple[str, ...] = Field(
        default=(), description="Source documents, by file name or full citation."
    )
    quotes: tuple[str, ...] = Field(
        default=(), description="The passages of those documents the rule encodes."
    )
    practice: str | None = Field(
        default=None,
        description="Established practice (e.g. ASAM Criteria, LOCUS) used where the"
        " documents are silent.",
    )
    reading: str = Field(min_length=1, description="How the rule reads its sources.")

    @model_validator(mode="after")
    def _cited(self) -> Source:
        if not self.documents and not self.practice:
            msg = "a source needs documents or practice (or both)"
            raise ValueError(msg)
        return self

    def __str__(self) -> str:
        parts = []
        if self.documents:
            parts.append("; ".join(self.documents))
        parts.extend(f"\u201c{quote}\u201d" for quote in self.quotes)
        if self.practice:
            parts.append(f"Practice: {self.practice}")
        parts.append(f"Reading: {self.reading}")
        return " \u2014 ".join(parts)


class AlternativeSpec(Frozen):
    """A less intensive level a clinician may weigh, and on what conditions."""

    level: LevelOfCare
    conditions: tuple[str, ...] = Field(min_length=1)


class RatingSpec(Frozen):
    """The risk rating a rating rule gives one dimension."""

    dimension: Dimension
    value: RiskRating


class Outcome(Frozen):
    """What a rule does when its condition holds."""

    level: LevelOfCare | None = None
    rating: RatingSpec | None = None
    flags: tuple[Flag, ...] = ()
    alternative: AlternativeSpec | None = None

    @model_validator(mode="after")
    def _does_something(self) -> Outcome:
        if (
            self.level is None
            and self.rating is None
            and not self.flags
            and self.alternative is None
        ):
            msg = "an outcome needs a level, a rating, flags or an alternative"
            raise ValueError(msg)
        if self.rating is not None and (self.level is not None or self.alternative is not None):
            msg = "a rating rule gives a rating (and flags); the placement rules set levels"
            raise ValueError(msg)
        return self


class Rule(Frozen):
    """One reviewable criterion."""

    id: str = Field(pattern=_ID, description="Stable id: '<family>.<name>'.")
    title: str = Field(min_length=1)
    text: str = Field(min_length=1, description="The criterion in plain language.")
    when: Condition
    then: Outcome
    source: Source

    @property
    def reads_decided_level(self) -> bool:
        """Whether the condition reads the level decided by the level-setting rules."""
        return DECIDED_LEVEL in self.when.fields()

    @property
    def reads_ratings(self) -> bool:
        """Whether the condition reads a dimension rating or a count of ratings."""
        specs = field_specs(with_derived=True)
        return any(name in specs and specs[name].derived for name in self.when.fields())

    @property
    def stage(self) -> int:
        """1: reads only answers; 2: reads ratings; 3: reads the decided level."""
        return 3 if self.reads_decided_level else 2 if self.reads_ratings else 1


class RuleFile(Frozen):
    """One family of criteria (one file)."""

    family: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str = Field(min_length=1)
    description: str = Field(min_length=1)
    rules: tuple[Rule, ...] = Field(min_length=1)


class SafetyOverride(Frozen):
    """Dangers to life: when one is present, the output leads with it and offers no way down."""

    flags: tuple[Flag, ...] = Field(
        default=(), description="Flags that, when raised, put the safety override in force."
    )
    rules: tuple[str, ...] = Field(
        default=(), description="Rule ids that, when they fire, put the safety override in force."
    )


class Manifest(Frozen):
    """``ruleset.json``: the rule set's identity and the order of its families."""

    # No control characters (a NUL, a line break): the name and version go into the
    # backends' rule set ids, cards, logs and the audit trail.
    name: str = Field(min_length=1, pattern=r"^[^\x00-\x1f\x7f]+$")
    version: str = Field(min_length=1, pattern=r"^[^\x00-\x1f\x7f]+$")
    description: str = ""
    policy: tuple[str, ...] = Field(
        default=(), description="The decision policy the rules follow, sentence by sentence."
    )
    families: tuple[str, ...] = Field(min_length=1)
    alternative_blocked_by_flags: tuple[Flag, ...] = Field(
        default=(), description="No alternative is offered when any of these flags is raised."
    )
    safety_override: SafetyOverride = Field(
        default_factory=SafetyOverride,
        description="When in force: no alternative, and only the reasons for the decided"
        " level and the ratings are listed (no lower-level or feasibility reason).",
    )


@dataclass(frozen=True, slots=True)
class RuleSet:
    """A loaded, checked rule set: the manifest, the rules in order, and a content hash."""

    manifest: Manifest
    files: tuple[RuleFile, ...]
    sha256: str
    asam: AsamCrosswalk | None = None
    """The approximate ASAM correspondence (``asam.json``), when the directory has one."""

    @property
    def name(self) -> str:
        """The rule set's name."""
        return self.manifest.name

    @property
    def version(self) -> str:
        """The rule set's version."""
        return self.manifest.version

    @property
    def rules(self) -> tuple[Rule, ...]:
        """Every rule, family by family, in file order."""
        return tuple(rule for file in self.files for rule in file.rules)

    def family_of(self, rule_id: str) -> str:
        """The family a rule belongs to."""
        return rule_id.split(".", 1)[0]


def _read(entry: Traversable, label: str) -> tuple[bytes, Any]:
    try:
        raw = entry.read_bytes()
    except OSError as error:
        raise RuleSetError(f"cannot be read ({error.strerror or error})", file=label) from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as error:
        problem = f"is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})"
        raise RuleSetError(problem, file=label) from None
    except UnicodeDecodeError:
        raise RuleSetError("is not UTF-8 text", file=label) from None
    except ValueError:  # an integer of more digits than Python converts (4,300 by default)
        problem = "holds a number with too many digits to read"
        raise RuleSetError(problem, file=label, rule_id=_rule_at_fault(raw)) from None
    except RecursionError:
        problem = f"is nested too deeply (at most {MAX_NESTING} levels are allowed)"
        raise RuleSetError(problem, file=label, rule_id=_rule_at_fault(raw)) from None
    _check_nesting(data, label)
    return raw, data


def _depth(value: Any) -> int:  # noqa: ANN401 - parsed JSON
    """How many levels of objects and arrays ``value`` nests (iteratively: no recursion)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        current, level = stack.pop()
        if isinstance(current, dict | list):
            deepest = max(deepest, level)
            if level <= MAX_NESTING:
                items = current.values() if isinstance(current, dict) else current
                stack.extend((item, level + 1) for item in items)
    return deepest


def _check_nesting(data: Any, label: str) -> None:  # noqa: ANN401 - parsed JSON
    """Refuse a file nested deeper than MAX_NESTING, naming the rule that nests deepest."""
    if _depth(data) <= MAX_NESTING:
        return
    problem = f"is nested too deeply (at most {MAX_NESTING} levels are allowed)"
    rules = data.get("rules") if isinstance(data, dict) else None
    for index, rule in enumerate(rules if isinstance(rules, list) else ()):
        if _depth(rule) > MAX_NESTING - 2:  # the file and its rules array are two levels
            raise RuleSetError(problem, file=label, rule_id=_raw_id(rule, index))
    raise RuleSetError(problem, file=label)


_DIGITS: Final = frozenset(b"0123456789")


def _rule_at_fault(raw: bytes) -> str | None:
    """The position (``#n``) of the rule holding the first spot the JSON parser cannot read.

    Read from the text alone, for a file nested deeper than MAX_NESTING or holding a
    number longer than Python converts: the rules are the objects directly inside the
    array at the second level (a rule file's only such array).
    """
    depth = rule = digits = 0
    in_string = escaped = False
    kinds: list[int] = []
    limit = sys.get_int_max_str_digits() or len(raw) + 1
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # a backslash escapes the next byte
                escaped = True
            elif byte == 0x22:  # a quote not escaped ends the string
                in_string = False
            continue
        digits = digits + 1 if byte in _DIGITS else 0
        if byte == 0x22:
            in_string = True
        elif byte in b"[{":
            depth += 1
            kinds.append(byte)
            if depth == 3 and byte == 0x7B and kinds[1] == 0x5B:  # a rule opens
                rule += 1
        elif byte in b"]}":
            depth -= 1
            if kinds:
                kinds.pop()
        if depth > MAX_NESTING or digits > limit:
            return f"#{rule}" if rule and len(kinds) > 2 and kinds[1] == 0x5B else None
    return None


def _raw_id(rule: Any, index: int) -> str:  # noqa: ANN401 - parsed JSON
    """A rule's id as written, or its position when it has none (or a strange one)."""
    rule_id = rule.get("id") if isinstance(rule, dict) else None
    if isinstance(rule_id, str) and 0 < len(rule_id) <= 100:
        return rule_id
    return f"#{index + 1}"


def _validation_problem(error: ValidationError, data: Any, label: str) -> RuleSetError:  # noqa: ANN401
    first = error.errors(include_url=False)[0]
    loc = first["loc"]
    rule_id = None
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        rules = data.get("rules") if isinstance(data, Mapping) else None
        entry = rules[loc[1]] if isinstance(rules, list) and loc[1] < len(rules) else None
        rule_id = _raw_id(entry, loc[1])
        loc = loc[2:]
    where = ".".join(str(part) for part in loc) or "(top level)"
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return RuleSetError(f"{where}: {first['msg']}{more}", file=label, rule_id=rule_id)


def _check_rule(rule: Rule, label: str) -> Node:
    """Check one rule on its own; its condition in normal form."""
    specs = field_specs(with_decided_level=True, with_derived=True)
    problems = rule.when.problems(specs)
    if problems:
        raise RuleSetError("; ".join(problems), file=label, rule_id=rule.id)
    if rule.reads_decided_level and (rule.then.level is not None or rule.then.rating):
        raise RuleSetError(
            f"a rule that reads {DECIDED_LEVEL!r} may not set a level or a rating itself",
            file=label,
            rule_id=rule.id,
        )
    if rule.reads_ratings and rule.then.rating is not None:
        raise RuleSetError(
            "a rating rule may read only answers, not other ratings",
            file=label,
            rule_id=rule.id,
        )
    feasibility = [name for name in rule.when.fields() if name in specs and specs[name].feasibility]
    if (rule.then.level is not None or rule.then.rating is not None) and feasibility:
        what = "a level" if rule.then.level is not None else "a rating"
        raise RuleSetError(
            f"sets {what} but reads {', '.join(feasibility)}; these fields say whether a level"
            " can be reached, so they may only raise flags or offer an alternative",
            file=label,
            rule_id=rule.id,
        )
    form = normal_form(rule.when, specs)
    if isinstance(form, Constant):
        verdict = "always holds" if form == TRUE else "can never hold"
        raise RuleSetError(f"the condition {verdict}", file=label, rule_id=rule.id)
    return form


def _check_limits(checked: list[tuple[Rule, str, Node]]) -> None:
    """Refuse shapes a backend cannot hold safely (see ``limits``), for every backend alike."""
    for stage in (1, 2, 3):
        phase = [(rule, label, form) for rule, label, form in checked if rule.stage == stage]
        violation = check_phase([form for _, _, form in phase])
        if violation is not None:
            rule, label, _ = phase[violation.index]
            raise RuleSetError(violation.problem, file=label, rule_id=rule.id)


def load_rule_set(directory: Traversable | str) -> RuleSet:
    """Load and check every rule file listed by ``ruleset.json`` in ``directory``.

    Raises:
        RuleSetError: naming the file, the rule id and the problem.

    """
    root: Traversable = Path(directory) if isinstance(directory, str) else directory
    if not root.is_dir():
        raise RuleSetError(f"rule set directory {root.name!r} does not exist")
    manifest_entry = root / MANIFEST
    if not manifest_entry.is_file():
        raise RuleSetError(f"no {MANIFEST} in the rule set directory", file=MANIFEST)
    digest = hashlib.sha256()
    raw, data = _read(manifest_entry, MANIFEST)
    digest.update(MANIFEST.encode() + b"\0" + raw + b"\0")
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as error:
        raise _validation_problem(error, data, MANIFEST) from None

    if repeated := sorted({f for f in manifest.families if manifest.families.count(f) > 1}):
        raise RuleSetError(f"families listed more than once: {', '.join(repeated)}", file=MANIFEST)
    listed = {f"{family}.json" for family in manifest.families}
    present = {
        entry.name
        for entry in root.iterdir()
        if entry.is_file()
        and entry.name.endswith(".json")
        and entry.name not in {MANIFEST, ASAM_FILE}
        # Transition rules (reassessment) are their own file family, not placement rules:
        # left out here and out of the hash, so recommend() is unchanged by them.
        and not entry.name.startswith(TRANSITIONS_PREFIX)
    }
    if unlisted := sorted(present - listed):
        raise RuleSetError(
            f"rule files not listed in families: {', '.join(unlisted)}", file=MANIFEST
        )

    files: list[RuleFile] = []
    checked: list[tuple[Rule, str, Node]] = []
    seen: dict[str, str] = {}
    for family in manifest.families:
        label = f"{family}.json"
        entry = root / label
        if not entry.is_file():
            raise RuleSetError(f"family {family!r} is listed but {label} is missing", file=MANIFEST)
        raw, data = _read(entry, label)
        digest.update(label.encode() + b"\0" + raw + b"\0")
        try:
            rule_file = RuleFile.model_validate(data)
        except ValidationError as error:
            raise _validation_problem(error, data, label) from None
        if rule_file.family != family:
            raise RuleSetError(
                f"declares family {rule_file.family!r}; expected {family!r}", file=label
            )
        for rule in rule_file.rules:
            if not rule.id.startswith(f"{family}."):
                raise RuleSetError(
                    f"the id must start with {family + '.'!r}", file=label, rule_id=rule.id
                )
            if rule.id in seen:
                raise RuleSetError(
                    f"duplicate id, first defined in {seen[rule.id]}", file=label, rule_id=rule.id
                )
            seen[rule.id] = label
            checked.append((rule, label, _check_rule(rule, label)))
        files.append(rule_file)
    _check_limits(checked)
    unknown = [r for r in manifest.safety_override.rules if r not in seen]
    if unknown:
        raise RuleSetError(
            f"safety_override.rules names rules that do not exist: {', '.join(unknown)}",
            file=MANIFEST,
        )
    asam = _load_asam(root, digest)
    return RuleSet(manifest=manifest, files=tuple(files), sha256=digest.hexdigest(), asam=asam)


def _load_asam(root: Traversable, digest: Any) -> AsamCrosswalk | None:  # noqa: ANN401 - a hashlib object
    """The optional ASAM crosswalk, checked and hashed with the rules."""
    entry = root / ASAM_FILE
    if not entry.is_file():
        return None
    raw, data = _read(entry, ASAM_FILE)
    digest.update(ASAM_FILE.encode() + b"\0" + raw + b"\0")
    try:
        crosswalk = AsamCrosswalk.model_validate(data)
    except ValidationError as error:
        raise _validation_problem(error, data, ASAM_FILE) from None
    if problems := crosswalk.problems():
        raise RuleSetError("; ".join(problems), file=ASAM_FILE)
    return crosswalk
