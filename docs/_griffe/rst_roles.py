"""A griffe extension for the API reference: read the docstrings' reST habits as Markdown.

The docstrings use a few reStructuredText forms that Markdown shows literally: roles such
as :func:`name` and a paragraph ending in "::" before an indented example. They become
`name` and ":" (the indented example is already a Markdown code block). The docstrings
themselves are unchanged; mkdocs.yml loads this file (and does not publish it).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:func|class|meth|attr|mod|data|exc|obj|const):`~?([^`]+)`")
LITERAL_MARKER = re.compile(r"(\S)::$", flags=re.MULTILINE)
ALONE_MARKER = re.compile(r"^[ \t]*::[ \t]*$", flags=re.MULTILINE)


def markdown(text: str) -> str:
    """``text`` with reST roles as code spans and "::" markers as plain colons."""
    text = ROLE.sub(r"`\1`", text)
    text = LITERAL_MARKER.sub(r"\1:", text)
    return ALONE_MARKER.sub("", text)


class RstRoles(griffe.Extension):
    """Rewrite every loaded object's docstring with :func:`markdown`."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:  # noqa: ANN401
        """Called by griffe for each object it loads."""
        del kwargs
        if obj.docstring is not None:
            obj.docstring.value = markdown(obj.docstring.value)
