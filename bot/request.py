"""The HTTP client for Bot API calls: a 5xx or a refused connection is retried before it fails.

A 5xx or a connection that never opened delivered nothing, so repeating the call cannot
double a message; a timeout may have delivered it, so a timeout is never repeated here.
"""

from __future__ import annotations

import asyncio
import logging

from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

log = logging.getLogger(__name__)

RETRY_DELAYS = (0.2, 0.5, 1.0)
POOL_SIZE = 256  # PTB's default for bot calls; handlers run concurrently across chats
POOL_TIMEOUT = 10.0  # waiting for a free connection under load is not a failure


class RetryingRequest(HTTPXRequest):
    """HTTPXRequest that retries what certainly did not arrive."""

    def __init__(self) -> None:
        super().__init__(connection_pool_size=POOL_SIZE, pool_timeout=POOL_TIMEOUT)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: float | None | object = BaseRequest.DEFAULT_NONE,
        write_timeout: float | None | object = BaseRequest.DEFAULT_NONE,
        connect_timeout: float | None | object = BaseRequest.DEFAULT_NONE,
        pool_timeout: float | None | object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Call the Bot API; repeat a 5xx or a refused connection a few times, then give up."""
        for delay in (*RETRY_DELAYS, None):
            try:
                code, payload = await super().do_request(
                    url, method, request_data, read_timeout, write_timeout,  # type: ignore[arg-type]
                    connect_timeout, pool_timeout,  # type: ignore[arg-type]
                )  # fmt: skip
            except TimedOut:
                raise
            except NetworkError as exc:
                if delay is None:
                    raise
                log.info("bot api retry error=%s in=%.1fs", type(exc).__name__, delay)
            else:
                if code < 500 or delay is None:
                    return code, payload
                log.info("bot api retry status=%s in=%.1fs", code, delay)
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")
