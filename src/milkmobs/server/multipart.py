"""A byte-exact, streaming ``multipart/form-data`` reader for the local upload endpoint (S3's POST form).

Splits on the RFC 2046 delimiter (CRLF, ``--``, boundary), so file bytes are never re-encoded. The
body is read from its stream a chunk at a time: the fields before the file come back first (so the
form's policy can be checked before one file byte is read), then the file streams in chunks. Memory
stays O(chunk) whatever the file's size; fields and part headers have small bounds of their own.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from typing import Protocol

from milkmobs.domain import InvalidInputError

CHUNK_BYTES = 64 * 1024
MAX_FIELD_BYTES = 16 * 1024
MAX_HEADER_BYTES = 8 * 1024
MAX_PARTS = 64
FILE_FIELD = "file"


class ReadableStream(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


@dataclass(frozen=True)
class FormPart:
    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None


def boundary_of(content_type: str) -> bytes:
    """The boundary of a ``multipart/form-data`` content type; InvalidInputError otherwise."""
    header = Message()
    header["content-type"] = content_type
    if header.get_content_type() != "multipart/form-data":
        raise InvalidInputError("uploads must be sent as multipart/form-data", field="content-type")
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not boundary or len(boundary) > 200:
        raise InvalidInputError("the multipart/form-data content type has no valid boundary", field="content-type")
    return boundary.encode("latin-1")


def _incomplete() -> InvalidInputError:
    return InvalidInputError("the multipart body is incomplete (no closing boundary)", field="body")


class MultipartReader:
    """Reads one form from ``stream`` (``length`` bytes). Use :meth:`fields_before` then :meth:`file_chunks`,
    or :meth:`parts` for small forms."""

    def __init__(self, stream: ReadableStream, content_type: str, length: int, *, chunk_bytes: int = CHUNK_BYTES):
        self._stream = stream
        self._delimiter = b"\r\n--" + boundary_of(content_type)
        self._remaining = max(int(length), 0)
        self._chunk = chunk_bytes
        self._buffer = b"\r\n"  # the first delimiter has no CRLF of its own before it
        self._parts_seen = 0
        self._started = False

    # -- low level ----------------------------------------------------------------------------------
    def _fill(self) -> bool:
        if self._remaining <= 0:
            return False
        data = self._stream.read(min(self._chunk, self._remaining))
        if not data:
            self._remaining = 0
            return False
        self._remaining -= len(data)
        self._buffer += data
        return True

    def _until(self, marker: bytes) -> Iterator[bytes]:
        """The bytes before ``marker``, in pieces; consumes the marker. Never holds more than a chunk."""
        keep = len(marker) - 1
        while True:
            index = self._buffer.find(marker)
            if index >= 0:
                if index:
                    yield self._buffer[:index]
                self._buffer = self._buffer[index + len(marker) :]
                return
            if len(self._buffer) > keep:
                yield self._buffer[: len(self._buffer) - keep]
                self._buffer = self._buffer[len(self._buffer) - keep :]
            if not self._fill():
                raise _incomplete()

    def _bounded(self, marker: bytes, limit: int, what: str) -> bytes:
        out = bytearray()
        for piece in self._until(marker):
            out += piece
            if len(out) > limit:
                raise InvalidInputError(f"a form {what} is longer than {limit} bytes", field="body")
        return bytes(out)

    def _discard(self, marker: bytes, limit: int) -> None:
        self._bounded(marker, limit, "part")

    def _another_part(self) -> bool:
        """After a delimiter: True if a part follows (CRLF), False at the closing ``--``."""
        if not self._started:
            self._discard(self._delimiter, MAX_HEADER_BYTES)  # the preamble, if any
            self._started = True
        while len(self._buffer) < 2:
            if not self._fill():
                raise _incomplete()
        tail, self._buffer = self._buffer[:2], self._buffer[2:]
        if tail == b"--":
            return False
        if tail != b"\r\n":
            raise InvalidInputError("malformed multipart delimiter", field="body")
        self._parts_seen += 1
        if self._parts_seen > MAX_PARTS:
            raise InvalidInputError(f"the form has more than {MAX_PARTS} parts", field="body")
        return True

    def _part_headers(self) -> tuple[str, str | None, str | None]:
        head = self._bounded(b"\r\n\r\n", MAX_HEADER_BYTES, "part header")
        headers = Message()
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, colon, value = line.partition(":")
            if not colon:
                raise InvalidInputError("malformed form-part header", field="body")
            headers[key.strip()] = value.strip()
        if headers.get_content_disposition() != "form-data":
            raise InvalidInputError("every form part needs 'Content-Disposition: form-data'", field="body")
        name = headers.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            raise InvalidInputError("a form part has no name", field="body")
        return name, headers.get_filename(), headers.get("content-type")

    # -- the form -----------------------------------------------------------------------------------
    def fields_before(self, file_field: str = FILE_FIELD) -> dict[str, str]:
        """The fields that precede the ``file_field`` part, whose headers are then consumed: the next
        call is :meth:`file_chunks`. InvalidInputError if the form has no such part."""
        fields: dict[str, str] = {}
        while self._another_part():
            name, _filename, _type = self._part_headers()
            if name == file_field:
                return fields
            fields[name] = self._bounded(self._delimiter, MAX_FIELD_BYTES, f"field ({name})").decode("utf-8", "replace")
        raise InvalidInputError(f"the upload form needs a '{file_field}' part (sent last)", field=file_field)

    def file_chunks(self) -> Iterator[bytes]:
        """The file's bytes, a chunk at a time. The parts after it are read and ignored (as S3 does);
        the generator ends only once the closing boundary was seen, so a truncated body raises here."""
        yield from self._until(self._delimiter)
        while self._another_part():
            self._part_headers()
            self._discard(self._delimiter, MAX_FIELD_BYTES)

    def parts(self) -> list[FormPart]:
        """Every part, in order, held in memory: for small forms only (tests, tools)."""
        out: list[FormPart] = []
        while self._another_part():
            name, filename, content_type = self._part_headers()
            data = b"".join(self._until(self._delimiter))
            out.append(FormPart(name=name, data=data, filename=filename, content_type=content_type))
        return out


def parse_form(content_type: str, body: bytes) -> list[FormPart]:
    """The parts of an in-memory form, in order. InvalidInputError when it is not a well-formed form."""
    return MultipartReader(io.BytesIO(body), content_type, len(body)).parts()
