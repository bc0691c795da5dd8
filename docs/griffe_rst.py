"""A griffe extension for the API reference: saw-bench's docstrings use a few reStructuredText
habits that Markdown shows literally, so they are rewritten when the docstrings are loaded.

- a cross-reference role, ``:func:`~saw_bench.x.y```, becomes the code span ``y`` (the name as
  Sphinx would show it);
- a paragraph ending in ``::`` before an indented literal block ends in ``:`` (the block itself
  is already a Markdown code block).

The source files are not changed.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":[a-z]+:`(~?)([^`]+)`")
LITERAL_MARKER = re.compile(r"::$", re.MULTILINE)


def _role(match: re.Match[str]) -> str:
    short, target = match.groups()
    return f"`{target.rpartition('.')[2] if short else target}`"


class RstToMarkdown(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **_: Any) -> None:
        if obj.docstring is not None:
            text = ROLE.sub(_role, obj.docstring.value)
            obj.docstring.value = LITERAL_MARKER.sub(":", text)
