"""The HTTP client, through the real agent's `mirror-once` against a loopback source that writes
its responses byte for byte: line ends, a stray CR, chunked or Content-Length framing."""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from luckfox_agent.config import parse_url
from luckfox_agent.httpclient import HttpError, request

from .conftest import TOKEN, Dataset, Source, run_agent, write_config

PREFIX = "/powerstats/"


class RawSource:
    """A static site on a bare loopback socket, so a test decides every byte of each answer.

    Each response's head lines end in turn with the strings of `line_ends`; `status_line` and
    `header` go in as they are (a test puts a stray CR there); `chunked` sends the body in
    chunks whose lines end as the head's do, else with Content-Length. `length` and
    `chunk_size` format the Content-Length and each chunk's size line from the true size.
    """

    def __init__(self) -> None:
        self.data = Dataset.sample()
        self.line_ends: tuple[str, ...] = ("\r\n",)
        self.status_line = "HTTP/1.1 200 OK"
        self.header = "Content-Type: application/json"
        self.chunked = False
        self.length = "{}"
        self.chunk_size = "{:x}"
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}{PREFIX}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:  # closed: the test is over
                return
            with conn:
                conn.settimeout(10)
                request = b""
                with contextlib.suppress(OSError):
                    while b"\r\n\r\n" not in request:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        request += chunk
                    conn.sendall(self.answer(request.split(b" ")[1].decode()))

    def answer(self, path: str) -> bytes:
        relative = path[len(PREFIX) :]
        body = self.data.manifest() if relative == "manifest.json" else self.data.files[relative]
        ends = itertools.cycle(self.line_ends)
        framing = (
            "Transfer-Encoding: chunked"
            if self.chunked
            else f"Content-Length: {self.length.format(len(body))}"
        )
        lines = [self.status_line, self.header, framing, "Connection: close", ""]
        head = "".join(line + next(ends) for line in lines).encode("latin-1")
        if not self.chunked:
            return head + body
        pieces = [body[i : i + 1000] for i in range(0, len(body), 1000)] + [b""]
        chunked = b"".join(
            f"{self.chunk_size.format(len(piece))}{next(ends)}".encode()
            + piece
            + (next(ends).encode() if piece else b"")
            for piece in pieces
        )
        return head + chunked + next(ends).encode()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes an accept still waiting
        self.listener.close()
        self.thread.join(5)


@pytest.fixture
def raw_source() -> Iterator[RawSource]:
    server = RawSource()
    yield server
    server.close()


def mirror_from(
    tmp_path: Path, static_source: Source, raw_source: RawSource, agent_python: str
) -> tuple[int, str]:
    config = write_config(tmp_path, static_source, **{"source.url": raw_source.url})
    result = run_agent(agent_python, config, "mirror-once")
    return result.returncode, result.stderr


LINE_ENDS = {"CR LF": ("\r\n",), "bare LF": ("\n",), "both, in turn": ("\n", "\r\n")}


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("line_ends", LINE_ENDS.values(), ids=LINE_ENDS.keys())
def test_lines_ending_with_a_bare_lf_or_cr_lf_are_read_and_the_body_is_exact(
    tmp_path: Path,
    static_source: Source,
    raw_source: RawSource,
    agent_python: str,
    line_ends: tuple[str, ...],
    chunked: bool,
) -> None:
    raw_source.line_ends, raw_source.chunked = line_ends, chunked
    returncode, stderr = mirror_from(tmp_path, static_source, raw_source, agent_python)
    assert returncode == 0, stderr
    webroot = tmp_path / "webroot"
    assert (webroot / "manifest.json").read_bytes() == raw_source.data.manifest()
    for path, body in raw_source.data.files.items():
        assert (webroot / path).read_bytes() == body


STRAY_CR = {
    "in the status line": ("status_line", "HTTP/1.1 200 OK\rX-Smuggled: 1"),
    "in a header line": ("header", "Content-Type: application/json\rX-Smuggled: 1"),
}


@pytest.mark.parametrize("line_ends", [("\r\n",), ("\n",)], ids=["CR LF", "bare LF"])
@pytest.mark.parametrize("where", STRAY_CR.values(), ids=STRAY_CR.keys())
def test_a_response_with_a_cr_not_followed_by_lf_in_its_head_is_refused(
    tmp_path: Path,
    static_source: Source,
    raw_source: RawSource,
    agent_python: str,
    where: tuple[str, str],
    line_ends: tuple[str, ...],
) -> None:
    field, text = where
    setattr(raw_source, field, text)
    raw_source.line_ends = line_ends
    returncode, stderr = mirror_from(tmp_path, static_source, raw_source, agent_python)
    assert returncode == 1
    assert "malformed response header: a CR not followed by LF" in stderr
    assert not (tmp_path / "webroot" / "manifest.json").exists()


# int() reads each of these as a number; HTTP allows none of them.
BAD_LENGTHS = {"negative": "-1", "signed": "+{}", "underscored": "1_{}"}


@pytest.mark.parametrize("length", BAD_LENGTHS.values(), ids=BAD_LENGTHS.keys())
def test_a_content_length_that_is_not_plain_digits_is_refused(
    tmp_path: Path,
    static_source: Source,
    raw_source: RawSource,
    agent_python: str,
    length: str,
) -> None:
    raw_source.length = length
    returncode, stderr = mirror_from(tmp_path, static_source, raw_source, agent_python)
    assert returncode == 1
    assert "manifest.json: malformed Content-Length" in stderr
    assert not (tmp_path / "webroot" / "manifest.json").exists()


# RFC 9112 section 6.3: differing values are an unrecoverable framing error, whether on
# separate lines or in one list. The wrong value comes first, where keeping the last line
# read the body by the other.
DIFFERING_LENGTHS = {"on two lines": "1\r\nContent-Length: {0}", "in one list": "{0}, 1"}


@pytest.mark.parametrize("length", DIFFERING_LENGTHS.values(), ids=DIFFERING_LENGTHS.keys())
def test_a_response_with_differing_content_lengths_is_refused(
    tmp_path: Path,
    static_source: Source,
    raw_source: RawSource,
    agent_python: str,
    length: str,
) -> None:
    raw_source.length = length
    returncode, stderr = mirror_from(tmp_path, static_source, raw_source, agent_python)
    assert returncode == 1
    assert "manifest.json: the response has differing Content-Length values" in stderr
    assert not (tmp_path / "webroot" / "manifest.json").exists()


@pytest.mark.parametrize("length", ["{0}, {0}", "{0},{0}"])
def test_a_content_length_list_of_one_value_repeated_is_read_as_that_value(
    tmp_path: Path,
    static_source: Source,
    raw_source: RawSource,
    agent_python: str,
    length: str,
) -> None:
    raw_source.length = length
    returncode, stderr = mirror_from(tmp_path, static_source, raw_source, agent_python)
    assert returncode == 0, stderr
    assert (tmp_path / "webroot" / "manifest.json").read_bytes() == raw_source.data.manifest()


# The agent sends no TE header, so a source may use no transfer coding but chunked, once.
OTHER_CODINGS = {
    "gzip before chunked": ("Transfer-Encoding: gzip", True),
    "chunked twice": ("Transfer-Encoding: chunked", True),
    "identity with a length": ("Transfer-Encoding: identity", False),
}


@pytest.mark.parametrize(("coding", "chunked"), OTHER_CODINGS.values(), ids=OTHER_CODINGS.keys())
def test_a_transfer_coding_other_than_chunked_alone_is_refused(
    tmp_path: Path,
    static_source: Source,
    raw_source: RawSource,
    agent_python: str,
    coding: str,
    chunked: bool,
) -> None:
    raw_source.header, raw_source.chunked = coding, chunked
    returncode, stderr = mirror_from(tmp_path, static_source, raw_source, agent_python)
    assert returncode == 1
    assert "manifest.json: unsupported Transfer-Encoding: only chunked is read" in stderr
    assert not (tmp_path / "webroot" / "manifest.json").exists()


BAD_CHUNK_SIZES = {
    "negative": "-1",
    "signed": "+{:x}",
    "underscored": "{:x}_0",
    "with 0x": "0x{:x}",
    "blank first": " {:x}",
}


@pytest.mark.parametrize("chunk_size", BAD_CHUNK_SIZES.values(), ids=BAD_CHUNK_SIZES.keys())
def test_a_chunk_size_that_is_not_plain_hex_digits_is_refused(
    tmp_path: Path,
    static_source: Source,
    raw_source: RawSource,
    agent_python: str,
    chunk_size: str,
) -> None:
    raw_source.chunked, raw_source.chunk_size = True, chunk_size
    returncode, stderr = mirror_from(tmp_path, static_source, raw_source, agent_python)
    assert returncode == 1
    assert "manifest.json: malformed chunked encoding" in stderr
    assert not (tmp_path / "webroot" / "manifest.json").exists()


EXTENSIONS = {"one": "{:x};name=value", "two, with blanks": "{:X} ; a=1;b", "none": "{:X}"}


@pytest.mark.parametrize("chunk_size", EXTENSIONS.values(), ids=EXTENSIONS.keys())
def test_chunk_extensions_are_ignored_and_the_body_is_exact(
    tmp_path: Path,
    static_source: Source,
    raw_source: RawSource,
    agent_python: str,
    chunk_size: str,
) -> None:
    raw_source.chunked, raw_source.chunk_size = True, chunk_size
    returncode, stderr = mirror_from(tmp_path, static_source, raw_source, agent_python)
    assert returncode == 0, stderr
    assert (tmp_path / "webroot" / "manifest.json").read_bytes() == raw_source.data.manifest()
    for path, body in raw_source.data.files.items():
        assert (tmp_path / "webroot" / path).read_bytes() == body


def test_a_header_value_http_cannot_carry_fails_the_request_naming_the_header_not_the_value(
    source: Source,
) -> None:
    # The config refuses such a token; a value that comes another way must still end as a
    # failed request (counted, backed off, shown), not as an error nobody handles.
    with pytest.raises(HttpError) as failure:
        request(
            parse_url(source.url),
            source.prefix + "manifest.json",
            headers={"Authorization": f"Bearer {TOKEN}\N{ZERO WIDTH SPACE}"},
            timeout=5,
        )
    assert str(failure.value) == "cannot send header Authorization: it holds the character U+200B"
    assert source.hits == [], "nothing was sent"


# str.isdigit() takes each of these, int() none: the status must be three ASCII digits.
BAD_STATUSES = {"superscript two": "2\N{SUPERSCRIPT TWO}0", "four digits": "2000", "one": "2"}


@pytest.mark.parametrize("status", BAD_STATUSES.values(), ids=BAD_STATUSES.keys())
def test_a_status_code_that_is_not_three_ascii_digits_fails_the_poll_as_not_http(
    tmp_path: Path,
    static_source: Source,
    raw_source: RawSource,
    agent_python: str,
    status: str,
) -> None:
    raw_source.status_line = f"HTTP/1.1 {status} OK"
    returncode, stderr = mirror_from(tmp_path, static_source, raw_source, agent_python)
    assert returncode == 1
    assert "manifest.json: the source did not answer with HTTP" in stderr
    assert "unexpected error" not in stderr
    assert not (tmp_path / "webroot" / "manifest.json").exists()


def test_a_status_code_int_cannot_read_fails_the_request_as_an_http_error(
    raw_source: RawSource,
) -> None:
    # The admin's HA actions catch HttpError only: anything else would end as a 500 page.
    raw_source.status_line = "HTTP/1.1 5\N{SUPERSCRIPT TWO}\N{SUPERSCRIPT THREE} Oops"
    with pytest.raises(HttpError, match="did not answer with HTTP"):
        request(parse_url(raw_source.url), PREFIX + "manifest.json", timeout=5)
