"""The HTTP door's answers: JSON bodies, and the errors any handler (or the MCP bridge) raises.

Apart from the door itself so that `/mcp`, which the door loads on first use, can tell the
door's refusals from other failures without importing the door back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

RETRY_OVERLOADED = 1  # seconds, for Retry-After
RETRY_INDEXING = 2


class HttpError(Exception):
    """A refusal with its HTTP status, a stable `code` and a message for people."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def response(self) -> web.Response:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        error.update(self.extra)
        return json_response({"error": error}, self.status, self.headers)


def json_response(obj: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    # backslashreplace: a lone surrogate echoed from a request becomes the JSON escape "\udcff"
    body = (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8", "backslashreplace")
    return bytes_response(body, status, headers)


def bytes_response(body: bytes, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    # No CORS headers, ever: a browser page must not be able to read an answer.
    all_headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", **(headers or {})}
    return web.Response(
        body=body, status=status, content_type="application/json", charset="utf-8", headers=all_headers
    )
