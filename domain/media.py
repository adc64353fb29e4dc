"""Message media rules: what may be uploaded and how a message describes what it carries."""

from __future__ import annotations

from domain.errors import InvalidParameter, ParleyError
from domain.limits import MEDIA_CONTENT_TYPES, MEDIA_FILENAME_LIMIT, MEDIA_MAX_BYTES


class MediaTooLarge(ParleyError):
    code = 20413
    status = 413


class UnsupportedMediaType(ParleyError):
    code = 20415
    status = 415


def content_type_of(header: str | None) -> str:
    return (header or "").split(";", 1)[0].strip().lower()


def check_kind(content_type: str, filename: str | None) -> None:
    """Before a byte is read: an accepted type (415) and a plain file name."""
    if content_type not in MEDIA_CONTENT_TYPES:
        raise UnsupportedMediaType(
            f"Content-Type '{content_type or 'none'}' is not accepted; one of {', '.join(sorted(MEDIA_CONTENT_TYPES))}"
        )
    if filename is not None and (
        len(filename) > MEDIA_FILENAME_LIMIT or "/" in filename or any(ord(c) < 32 or ord(c) == 127 for c in filename)
    ):
        raise InvalidParameter(
            f"The filename must be at most {MEDIA_FILENAME_LIMIT} characters, without '/' or control characters"
        )


def check_size(size: int) -> None:
    """Not empty (400), not over MEDIA_MAX_BYTES (413)."""
    if size == 0:
        raise InvalidParameter("The upload is empty")
    if size > MEDIA_MAX_BYTES:
        raise MediaTooLarge(f"Media must be at most {MEDIA_MAX_BYTES} bytes, got {size}")
