"""A byte-exact ``multipart/form-data`` reader for the local upload endpoint (S3's POST form).

Splits on the RFC 2046 delimiter (CRLF, ``--``, boundary), so file bytes are never re-encoded.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message

from milkmobs.domain import InvalidInputError


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


def _disposition(headers: Message) -> tuple[str, str | None]:
    if headers.get_content_disposition() != "form-data":
        raise InvalidInputError("every form part needs 'Content-Disposition: form-data'", field="body")
    name = headers.get_param("name", header="content-disposition")
    if not isinstance(name, str) or not name:
        raise InvalidInputError("a form part has no name", field="body")
    filename = headers.get_filename()
    return name, filename


def parse_form(content_type: str, body: bytes) -> list[FormPart]:
    """The parts of the form, in order. InvalidInputError when the body is not a well-formed form."""
    delimiter = b"\r\n--" + boundary_of(content_type)
    sections = (b"\r\n" + body).split(delimiter)
    if len(sections) < 3 or not sections[-1].startswith(b"--"):
        raise InvalidInputError("the multipart body is incomplete (no closing boundary)", field="body")
    parts: list[FormPart] = []
    for section in sections[1:-1]:
        if not section.startswith(b"\r\n"):
            raise InvalidInputError("malformed multipart delimiter", field="body")
        head, sep, data = section[2:].partition(b"\r\n\r\n")
        if not sep:
            raise InvalidInputError("a form part has no header/body separator", field="body")
        headers = Message()
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, colon, value = line.partition(":")
            if not colon:
                raise InvalidInputError("malformed form-part header", field="body")
            headers[key.strip()] = value.strip()
        name, filename = _disposition(headers)
        parts.append(FormPart(name=name, data=data, filename=filename, content_type=headers.get("content-type")))
    return parts
