"""The ingest routes' shared pieces: reading a bounded body and the JSON error answers."""

from __future__ import annotations

from typing import Final

from aiohttp import web

_CHUNK_BYTES: Final = 64 * 1024


async def read_body(request: web.Request, limit: int) -> bytes | None:
    """The body, or None as soon as it exceeds ``limit`` (chunked bodies have no length)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(_CHUNK_BYTES):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def too_large(limit: int) -> web.Response:
    """413 for a body over ``limit``; the connection closes, its unread rest is garbage."""
    response = error(413, "body_too_large", f"the request body is over the limit of {limit} "
                      "bytes: split it")  # fmt: skip
    response.force_close()  # the unread rest of the body must not be parsed as a request
    return response


def error(
    status: int, code: str, detail: str, *, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON error answer: ``{"error", "detail", "accepted": 0}``."""
    body = {"error": code, "detail": detail, "accepted": 0}
    return web.json_response(body, status=status, headers=headers)
