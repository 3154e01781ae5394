"""The dashboard's own modules as they ship: without their comment lines.

A browser has no use for the comments, and they are about a quarter of the modules' bytes on
the wire. Only whole lines go: a `//` line, and the lines of a `/* ... */` block that starts a
line and ends one. Comments after code stay, and so does every line of code, so the shipped
module runs exactly as the source does (its line numbers aside).

No JavaScript parser is needed for that, because the modules keep two rules that this checks
rather than assumes: no template literal or string runs over several lines (the one place a line
could look like a comment and not be one), and no code follows a block comment on its last line.
A module breaking either is refused, never shipped half stripped.
"""

from __future__ import annotations


class CommentLinesError(ValueError):
    """A module this cannot strip safely (see the module's docstring)."""


def strip_comment_lines(text: str, name: str) -> str:
    """`text` without its comment lines; `name` names the module in an error."""
    kept: list[str] = []
    in_block = False
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        bare = line.strip()
        if in_block:
            if "*/" in bare:
                if not bare.endswith("*/"):
                    raise CommentLinesError(f"{name}:{number}: code after a block comment")
                in_block = False
            continue
        if bare.startswith("//"):
            continue
        if bare.startswith("/*"):
            closed = "*/" in bare[2:]
            if closed and not bare.endswith("*/"):
                kept.append(line)  # a comment before code on one line: kept as it is
            else:
                in_block = not closed
            continue
        # A backtick left open, or a line continued, would carry a literal onto the next line.
        if line.count("`") % 2 or line.rstrip("\r\n").endswith("\\"):
            raise CommentLinesError(f"{name}:{number}: a literal runs over several lines")
        kept.append(line)
    if in_block:
        raise CommentLinesError(f"{name}: a block comment never ends")
    return "".join(kept)
