"""The dashboard's own modules and stylesheet as they ship: without their comment lines, blank
lines and indentation.

A browser has no use for them, and they are about a quarter of the files' bytes on the wire.
Only whole lines go: a `//` line, the lines of a `/* ... */` block that starts a line and ends
one, and blank lines; the other lines lose their leading spaces. Comments after code stay, and
every line of code stays as written from its first character on, so the shipped file runs
exactly as the source does (its line numbers aside).

No JavaScript or CSS parser is needed for that, because the files keep two rules that this
checks rather than assumes: no template literal or string runs over several lines (the one place
a line could look like a comment and not be one, or have its leading spaces matter), and no code
follows a block comment on its last line. A file breaking either is refused, never shipped half
stripped.
"""

from __future__ import annotations


class CommentLinesError(ValueError):
    """A file this cannot strip safely (see the module's docstring)."""


def strip_comment_lines(text: str, name: str) -> str:
    """`text` without its comment lines, blank lines and indentation; `name` names the file in
    an error."""
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
                kept.append(line.lstrip(" \t"))  # a comment before code on one line: kept
            else:
                in_block = not closed
            continue
        # A backtick left open, or a line continued, would carry a literal onto the next line.
        if line.count("`") % 2 or line.rstrip("\r\n").endswith("\\"):
            raise CommentLinesError(f"{name}:{number}: a literal runs over several lines")
        if bare:
            kept.append(line.lstrip(" \t"))
    if in_block:
        raise CommentLinesError(f"{name}: a block comment never ends")
    return "".join(kept)
