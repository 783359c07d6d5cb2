"""A local, in-process fake of the Telegram Bot API for end-to-end tests and the demo shell.

:class:`Sandbox` serves a subset of the Bot API with aiohttp on a loopback address, so that an
unmodified python-telegram-bot ``Application`` built with
``ApplicationBuilder().token(sb.token).base_url(sb.base_url).base_file_url(sb.base_file_url)``
talks to it exactly as it talks to Telegram (long polling through ``getUpdates``).

Fake users (:class:`SandboxUser`) and groups (:class:`SandboxChat`) drive the bot: they enqueue
updates and consume what the bot sends back (:class:`SentMessage`). Failures (HTTP errors, blocked
users, slow answers, Telegram's flood limits) can be injected for resilience tests and benchmarks.

The package stands alone: it imports nothing from carebot. Modules: ``server`` (the aiohttp app,
the HTTP layer and :class:`Sandbox`), ``methods`` (the Bot API methods and Telegram's checks),
``entities`` (parse modes), ``state`` (users, chats, messages, updates), ``faults`` (injected
failures, delays, flood limits) and ``driver`` (the fake users' and groups' API).
"""

from sandbox.driver import SandboxChat, SandboxTimeout, SandboxUser
from sandbox.server import Sandbox
from sandbox.state import SentMessage

__all__ = ["Sandbox", "SandboxChat", "SandboxTimeout", "SandboxUser", "SentMessage"]
