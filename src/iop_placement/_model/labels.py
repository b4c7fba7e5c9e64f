"""String enums whose members carry the human label and description shown to people.

And how a title or label reads inside a sentence (:func:`in_sentence`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self, TypeVar

E = TypeVar("E", bound="LabelledEnum")


def in_sentence(title: str) -> str:
    """A title as it reads inside a sentence: lower case, but acronyms ("IOP") kept."""
    return " ".join(
        word if len(word) > 1 and word.isupper() else word.lower() for word in title.split(" ")
    )


def new_member(cls: type[E], value: str, label: str, description: str) -> E:
    """Create one member; subclasses with more attributes call this from their ``__new__``.

    (``super().__new__`` cannot be used there: Enum replaces it once the class exists.)
    """
    member = str.__new__(cls, value)
    member._value_ = value
    member.label = label
    member.description = description
    return member


class LabelledEnum(StrEnum):
    """A string enum; each member also has a ``label`` and a ``description``.

    The value is the stable code other software stores; the label is what a form or a
    clinician reads. Both are defined once, here, and flow to schema, docs and output.
    """

    label: str
    description: str

    def __new__(cls, value: str, label: str, description: str = "") -> Self:
        return new_member(cls, value, label, description)

    @classmethod
    def of(cls, code: str) -> Self:
        """The member whose code is ``code``.

        Raises:
            ValueError: when no member has that code (the message lists the codes).

        """
        member = cls._value2member_map_.get(code)
        if not isinstance(member, cls):
            msg = f"{cls.__name__} has no code {code!r}; allowed: {', '.join(cls.values())}"
            raise ValueError(msg)
        return member

    @classmethod
    def values(cls) -> tuple[str, ...]:
        """The codes of all members, in declaration order."""
        return tuple(member.value for member in cls)
