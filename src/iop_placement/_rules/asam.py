"""The ASAM crosswalk of a rule set: how its levels and rules correspond to ASAM levels.

The crosswalk is clinical data: ``asam.json`` in a rule set directory lists the ASAM
levels of each edition with their names, the codes each level of care corresponds to,
and more specific codes for rules whose reason decides which ASAM level fits (inpatient
care for withdrawal is not inpatient care for an unsafe home). The engine only looks
the deciding reasons up in it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from pydantic import Field, PrivateAttr

from iop_placement._model.asam import AsamCorrespondence, AsamLevel
from iop_placement._model.base import Frozen
from iop_placement._model.levels import LevelOfCare

__all__ = ["ASAM_FILE", "AsamCrosswalk", "correspondence"]

ASAM_FILE: Final = "asam.json"
_MEMO_SIZE: Final = 4096  # distinct (level, deciding rules) answers kept per crosswalk


class _Code(Frozen):
    code: str = Field(min_length=1)
    label: str = Field(min_length=1)


class _Edition(Frozen):
    edition: str = Field(pattern=r"^[0-9]+(st|nd|rd|th)$")
    title: str = Field(min_length=1)
    levels: tuple[_Code, ...] = Field(min_length=1)


class _Entry(Frozen):
    codes: dict[str, tuple[str, ...]] = Field(description="Edition -> corresponding codes.")
    reading: str = Field(min_length=1, description="Why these levels correspond.")


class AsamCrosswalk(Frozen):
    """``asam.json``: the ASAM vocabulary, codes per level of care, and codes per rule."""

    title: str = Field(min_length=1)
    description: str = Field(min_length=1)
    note: str = Field(min_length=1)
    editions: tuple[_Edition, ...] = Field(min_length=1)
    levels: dict[LevelOfCare, _Entry]
    rules: dict[str, _Entry] = Field(default_factory=dict)
    # (edition, code) -> (position in the vocabulary, label); derived from the fields.
    _order: dict[tuple[str, str], tuple[int, str]] = PrivateAttr(default_factory=dict)
    # Answers already given: the same level and deciding rules give the same answer.
    _memo: dict[tuple[LevelOfCare, tuple[str, ...]], AsamCorrespondence] = PrivateAttr(
        default_factory=dict
    )

    def model_post_init(self, context: Any, /) -> None:  # noqa: ANN401, ARG002 - Pydantic hook
        """Index the vocabulary once, for :meth:`correspond`."""
        pairs = [(e.edition, c) for e in self.editions for c in e.levels]
        self._order = {(e, c.code): (i, c.label) for i, (e, c) in enumerate(pairs)}

    def __eq__(self, other: object) -> bool:
        """Equal when the data are equal (the index and the memo are not data)."""
        if not isinstance(other, AsamCrosswalk):
            return NotImplemented
        return self.model_dump() == other.model_dump()

    __hash__ = None  # type: ignore[assignment] # its dicts make it unhashable anyway

    def unused_rules(self, rule_levels: Mapping[str, object | None]) -> list[str]:
        """Entries that can never apply (rule id -> the level or rating the rule sets, or None).

        Not an error: a customised rule set may drop or change a rule and keep the
        crosswalk, whose entry is then simply never looked up. A lint for reviewers.
        """
        found = []
        for rule_id in self.rules:
            if rule_id not in rule_levels:
                found.append(f"rules.{rule_id}: no rule with this id in the rule set")
            elif rule_levels[rule_id] is None:
                found.append(f"rules.{rule_id}: the rule sets no level or rating")
        return found

    def problems(self) -> list[str]:
        """What is wrong with the crosswalk itself: editions, levels and codes."""
        found: list[str] = []
        vocabulary = {e.edition: {c.code for c in e.levels} for e in self.editions}
        if len(vocabulary) != len(self.editions):
            found.append("an edition is listed twice")
        found += [
            f"levels: no entry for {level.value}"
            for level in LevelOfCare
            if level not in self.levels
        ]
        entries = [(f"levels.{k.value}", v) for k, v in self.levels.items()]
        entries += [(f"rules.{rule_id}", entry) for rule_id, entry in self.rules.items()]
        for where, entry in entries:
            if missing := sorted(set(vocabulary) - set(entry.codes)):
                found.append(f"{where}: no codes for edition {', '.join(missing)}")
            for edition, codes in entry.codes.items():
                known = vocabulary.get(edition)
                if known is None:
                    found.append(f"{where}: edition {edition!r} is not listed in editions")
                elif not codes:
                    found.append(f"{where}: no codes for edition {edition}")
                elif unknown := [code for code in codes if code not in known]:
                    found.append(f"{where}: {edition} edition has no level {', '.join(unknown)}")
        return found

    def correspond(self, level: LevelOfCare, deciding: Iterable[str]) -> AsamCorrespondence:
        """The levels for a recommended level and the ids of its deciding rules.

        Each deciding rule contributes its own codes, or the level's codes when the
        crosswalk has none for it (also when no rule decided the level).
        """
        deciding = tuple(deciding)
        if (known := self._memo.get((level, deciding))) is not None:
            return known
        default = self.levels[level]
        basis: dict[tuple[str, str], list[str]] = {}
        for rule_id in deciding or (None,):
            entry = default if rule_id is None else self.rules.get(rule_id, default)
            for edition, codes in entry.codes.items():
                for code in codes:
                    rule_ids = basis.setdefault((edition, code), [])
                    if rule_id is not None and rule_id not in rule_ids:
                        rule_ids.append(rule_id)
        order = self._order
        unknown = (len(order), "")
        levels = tuple(
            AsamLevel(
                edition=edition,
                code=code,
                label=order.get((edition, code), unknown)[1] or code,
                rule_ids=tuple(rule_ids),
            )
            for (edition, code), rule_ids in sorted(
                basis.items(), key=lambda item: order.get(item[0], unknown)[0]
            )
        )
        answer = AsamCorrespondence(note=self.note, levels=levels)
        if len(self._memo) >= _MEMO_SIZE:
            self._memo.clear()
        self._memo[level, deciding] = answer
        return answer


def correspondence(
    crosswalk: AsamCrosswalk | None, level: LevelOfCare, deciding: Iterable[str]
) -> AsamCorrespondence | None:
    """The correspondence for a recommendation, or None for a rule set without a crosswalk."""
    return None if crosswalk is None else crosswalk.correspond(level, deciding)
