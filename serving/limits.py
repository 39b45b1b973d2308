"""Refuse oversized requests before they are read, and keep client errors out of the error log.

BentoML 1.4 has no setting for the largest request it accepts (the old
``max_request_size`` is gone), so this ASGI middleware answers 413 for a body over the
limit: at once when ``Content-Length`` says so, or as soon as a chunked body passes it.
"""

from __future__ import annotations

import logging
from typing import Any

from bentoml.exceptions import BentoMLException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 64 * 1024  # an application is about 500 bytes


class PayloadTooLarge(BentoMLException):  # type: ignore[misc]
    error_code = 413


class MaxBodySize:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            message = f"payload too large: {int(declared)} bytes, the limit is {self.max_bytes}"
            await JSONResponse({"error": message}, status_code=413)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise PayloadTooLarge(f"payload too large: over {self.max_bytes} bytes")
            return message

        await self.app(scope, counted, send)


class ClientErrorFilter(logging.Filter):
    """Drop the traceback BentoML logs for a 4xx (bad input is the client's, not ours)."""

    def filter(self, record: logging.LogRecord) -> bool:
        error: Any = record.exc_info[1] if record.exc_info else None
        if error is None:
            return True
        from pydantic import ValidationError

        if isinstance(error, ValidationError):
            return False
        code = getattr(error, "error_code", 500)
        return not (isinstance(code, int) and 400 <= int(code) < 500)
