"""Exceptions raised by iop-placement.

The tree::

    IopPlacementError
    ├── InvalidAssessment (also a ValueError)   the input is not a valid assessment
    ├── RuleSetError (also a ValueError)        a rule set directory or file is malformed
    └── PlacementError (also a RuntimeError)    the rule engine failed while evaluating

No message ever contains a value taken from the input: only field names, value kinds and
what is allowed, so errors are safe to log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "FieldProblem",
    "InvalidAssessment",
    "IopPlacementError",
    "PlacementError",
    "RuleSetError",
]


class IopPlacementError(Exception):
    """Base class of every error this library raises on purpose."""


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One problem with one field of an assessment."""

    field: str
    problem: str
    given: str
    allowed: str

    def __str__(self) -> str:
        return f"{self.field}: {self.problem} (given: {self.given}; allowed: {self.allowed})"


class InvalidAssessment(IopPlacementError, ValueError):  # noqa: N818 - name fixed by the contract
    """The input is not a valid assessment; ``problems`` lists every bad field."""

    def __init__(self, problems: tuple[FieldProblem, ...]) -> None:
        self.problems = problems
        count = len(problems)
        lines = "\n".join(f"  - {problem}" for problem in problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"invalid assessment, {count} {noun}:\n{lines}")

    def __reduce__(self) -> tuple[type[InvalidAssessment], tuple[tuple[FieldProblem, ...]]]:
        # Pickle by problems, so the error crosses process boundaries (batch workers) whole.
        return (type(self), (self.problems,))

    @property
    def fields(self) -> tuple[str, ...]:
        """The names of the bad fields, in order."""
        return tuple(problem.field for problem in self.problems)


class RuleSetError(IopPlacementError, ValueError):
    """A rule set cannot be loaded; the message names the file, the rule and the problem."""

    def __init__(
        self, problem: str, *, file: str | None = None, rule_id: str | None = None
    ) -> None:
        self.file = file
        self.rule_id = rule_id
        self.problem = problem
        where = " ".join(
            part for part in (file and f"in {file}", rule_id and f"rule {rule_id!r}") if part
        )
        super().__init__(f"{where}: {problem}" if where else problem)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rule_set_error, (self.problem, self.file, self.rule_id))


def _rule_set_error(problem: str, file: str | None, rule_id: str | None) -> RuleSetError:
    return RuleSetError(problem, file=file, rule_id=rule_id)


class PlacementError(IopPlacementError, RuntimeError):
    """The rule engine failed while evaluating a valid assessment."""
