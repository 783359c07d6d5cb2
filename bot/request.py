"""The HTTP client for Bot API calls: aiohttp, and a 5xx or a refused connection is retried.

aiohttp rather than PTB's default httpx: per call it costs well under half the CPU
(bench/throughput_bench.py), and a reply is one call. A 5xx or a connection that never opened
delivered nothing, so repeating the call cannot double a message; a timeout may have delivered
it, so a timeout is never repeated here.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

log = logging.getLogger(__name__)

RETRY_DELAYS = (0.2, 0.5, 1.0)
POOL_SIZE = 256  # PTB's default for bot calls; handlers run concurrently across chats
POOL_TIMEOUT = 10.0  # waiting for a free connection under load is not a failure
TIMEOUT = 5.0  # PTB's default read and connect timeouts
MEDIA_TIMEOUT = 20.0  # PTB's default write timeout for uploads (photos, documents)
_UNSET = type(BaseRequest.DEFAULT_NONE)  # what PTB passes for a timeout the call did not name


class BotApiRequest(BaseRequest):
    """Bot API calls over one aiohttp session with a pool of keep-alive connections; with
    `retry`, what certainly did not arrive (a 5xx, a refused connection) is tried again."""

    def __init__(
        self, pool_size: int = POOL_SIZE, read_timeout: float = TIMEOUT, *, retry: bool = True
    ) -> None:
        self._pool_size = pool_size
        self._read_timeout = read_timeout
        self._delays = RETRY_DELAYS if retry else ()
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        """The read timeout used when a call names none."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the session (its connections open on first use)."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size)
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": self.USER_AGENT}
            )

    async def shutdown(self) -> None:
        """Close the session and its connections."""
        if self._session is not None and not self._session.closed:
            await self._session.close()

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
        for delay in (*self._delays, None):
            try:
                code, payload = await self._once(
                    url, method, request_data, read_timeout, write_timeout,
                    connect_timeout, pool_timeout,
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

    async def _once(
        self,
        url: str,
        method: str,
        request_data: RequestData | None,
        read_timeout: float | None | object,
        write_timeout: float | None | object,
        connect_timeout: float | None | object,
        pool_timeout: float | None | object,
    ) -> tuple[int, bytes]:
        """One HTTP call; aiohttp's errors become PTB's TimedOut and NetworkError."""
        if self._session is None or self._session.closed:
            raise RuntimeError("BotApiRequest is not initialized")
        files = request_data.multipart_data if request_data else None
        fields = request_data.json_parameters if request_data else None
        body: aiohttp.FormData | dict[str, str] | None = fields
        if files:
            form = aiohttp.FormData()
            for name, value in (fields or {}).items():
                form.add_field(name, value)
            for name, (filename, content, mimetype) in files.items():
                form.add_field(name, content, filename=filename, content_type=mimetype)
            body = form
        read = _given(read_timeout, self._read_timeout)
        write = _given(write_timeout, MEDIA_TIMEOUT if files else TIMEOUT)
        connect = _given(connect_timeout, TIMEOUT)
        pool = _given(pool_timeout, POOL_TIMEOUT)
        timeout = aiohttp.ClientTimeout(
            connect=None if connect is None or pool is None else connect + pool,
            sock_connect=connect,
            # aiohttp has no write timeout; an upload's answer may wait for the upload
            sock_read=read if not files or read is None or write is None else max(read, write),
        )
        try:
            async with self._session.request(method, url, data=body, timeout=timeout) as res:
                payload = await res.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc
        log.debug("bot api %s %s status=%s", method, url, res.status)  # the token is redacted
        return res.status, payload


def _given(value: float | None | object, default: float | None) -> float | None:
    """A call's own timeout, or the default when it named none."""
    if isinstance(value, _UNSET):
        return default
    assert value is None or isinstance(value, int | float)
    return float(value) if value is not None else None
