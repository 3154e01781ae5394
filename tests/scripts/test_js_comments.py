"""The dashboard's modules ship without their comment lines, blank lines and indentation, and
nothing else of them changes."""

from __future__ import annotations

import pytest

from scripts.js_comments import CommentLinesError, strip_comment_lines

MODULE = """/** Room: what it does.
 * More of it.
 */
import { a } from './a.js';

// Why the next line is as it is.
const URL = 'https://example.org/x'; // a comment after code stays
  /* one line */
const re = /[\\d.]+/g;
/* before */ const b = `${a} // not a comment`;
export function f() {
    // indented
  return a * 2; /* trailing */
}
"""


def test_comment_lines_go_and_every_line_of_code_stays() -> None:
    assert strip_comment_lines(MODULE, "m.js") == (
        "import { a } from './a.js';\n"
        "const URL = 'https://example.org/x'; // a comment after code stays\n"
        "const re = /[\\d.]+/g;\n"
        "/* before */ const b = `${a} // not a comment`;\n"
        "export function f() {\n"
        "return a * 2; /* trailing */\n"
        "}\n"
    )


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("const t = `first\n// looks like a comment\n`;\n", "m.js:1: a literal runs"),
        ("const s = 'one \\\n// two';\n", "m.js:1: a literal runs"),
        ("/* a comment\n ends here */ code();\n", "m.js:2: code after a block comment"),
        ("/** never\n * closed\n", "m.js: a block comment never ends"),
    ],
)
def test_a_module_it_cannot_strip_safely_is_refused(text: str, why: str) -> None:
    with pytest.raises(CommentLinesError, match=why):
        strip_comment_lines(text, "m.js")


def test_a_stylesheets_comment_lines_and_indentation_go() -> None:
    sheet = "/* Room: what it styles,\n   over two lines. */\n.a {\n  color: red; /* why */\n}\n\n"
    sheet += "@media (max-width: 600px) {\n  /* Phones. */\n  .a { color: blue; }\n}\n"
    assert strip_comment_lines(sheet, "s.css") == (
        ".a {\ncolor: red; /* why */\n}\n@media (max-width: 600px) {\n.a { color: blue; }\n}\n"
    )
