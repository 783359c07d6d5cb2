"""Injected trouble: scripted error answers, slow answers and Telegram's flood limits."""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field

from sandbox.state import ApiError, JSONDict

DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


@dataclass
class _Failure:
    method: str
    status: int
    description: str
    retry_after: int | None
    remaining: int
    chat_id: int | None


@dataclass
class _Delay:
    method: str
    seconds: float
    remaining: int


@dataclass
class _Bucket:
    """A token bucket: ``capacity`` sends at once, refilled at ``rate`` sends per second."""

    rate: float
    capacity: float
    tokens: float
    stamp: float

    def wait_time(self, now: float) -> float:
        """Refill, then return how long until one token is available (0 if available now)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate


@dataclass
class _Limits:
    per_chat: float | None
    global_rate: float | None
    per_group_minute: float | None
    buckets: dict[str, _Bucket] = field(default_factory=dict)


class Faults:
    """The failures, delays and flood limits currently injected."""

    def __init__(self) -> None:
        self._failures: list[_Failure] = []
        self._delays: list[_Delay] = []
        self._limits: _Limits | None = None

    def fail(
        self,
        method: str,
        *,
        status: int,
        description: str | None,
        retry_after: int | None,
        times: int,
        chat_id: int | None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (``"*"``: any but getUpdates) fail."""
        if status == 429 and retry_after is None:
            retry_after = 1
        text = description or DEFAULT_DESCRIPTIONS.get(status, f"Error {status}")
        text = text.replace("{retry_after}", str(retry_after))
        self._failures.append(_Failure(method.lower(), status, text, retry_after, times, chat_id))

    def delay(self, method: str, seconds: float, times: int) -> None:
        """Delay the answers to the next ``times`` calls of ``method`` by ``seconds``."""
        self._delays.append(_Delay(method.lower(), seconds, times))

    def enforce_limits(
        self,
        per_chat_per_second: float | None,
        global_per_second: float | None,
        per_group_per_minute: float | None,
    ) -> None:
        """Answer sends above these rates with 429 (``None`` disables a limit)."""
        self._limits = _Limits(per_chat_per_second, global_per_second, per_group_per_minute)

    def reset(self) -> None:
        """Drop every injected failure, delay and flood limit."""
        self._failures.clear()
        self._delays.clear()
        self._limits = None

    async def apply_delay(self, method: str) -> None:
        """Sleep if a delay is scripted for this method."""
        for rule in self._delays:
            if rule.method == method and rule.remaining > 0:
                rule.remaining -= 1
                await asyncio.sleep(rule.seconds)
                return

    def apply_failure(self, method: str, params: JSONDict) -> None:
        """Raise the scripted failure for this call, if any."""
        for rule in self._failures:
            if rule.remaining <= 0 or rule.method not in (method, "*"):
                continue
            if rule.method == "*" and method == "getupdates":
                continue
            if rule.chat_id is not None and str(params.get("chat_id")) != str(rule.chat_id):
                continue
            rule.remaining -= 1
            raise ApiError(rule.status, rule.description, rule.retry_after)

    def check_limits(self, chat_id: int) -> None:
        """Take one send from the flood-limit buckets of this chat, or raise 429."""
        limits = self._limits
        if limits is None:
            return
        now = time.monotonic()
        rules = [("*", limits.global_rate, 1.0), (f"c{chat_id}", limits.per_chat, 1.0)]
        if chat_id < 0:
            rules.append((f"g{chat_id}", limits.per_group_minute, 60.0))
        buckets = []
        for key, amount, period in rules:
            if amount is None:
                continue
            rate = amount / period
            bucket = limits.buckets.setdefault(
                key, _Bucket(rate, max(1.0, amount), max(1.0, amount), now)
            )
            buckets.append(bucket)
        wait = max((bucket.wait_time(now) for bucket in buckets), default=0.0)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        for bucket in buckets:
            bucket.tokens -= 1.0
