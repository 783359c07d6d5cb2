"""A bare python-telegram-bot echo bot: the baseline of bench/throughput_bench.py.

Run: .venv/bin/python bench/echo_bot.py --token T --base-url URL [--rate-limiter]

PTB's defaults throughout (sequential updates, `run_polling`), replying to every text with the
text, optionally through `AIORateLimiter` with the retries carebot uses.
"""

from __future__ import annotations

import argparse

from telegram import Update
from telegram.ext import AIORateLimiter, Application, ContextTypes, MessageHandler, filters

RATE_LIMIT_RETRIES = 3  # as bot/app.py


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reply with the message's own text."""
    message = update.effective_message
    if message is not None and message.text:
        await message.reply_text(message.text)


def main() -> None:
    """Parse arguments and poll until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--token", required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--poll-timeout", type=int, default=10)
    parser.add_argument("--rate-limiter", action="store_true", help="use AIORateLimiter")
    args = parser.parse_args()
    builder = Application.builder().token(args.token).base_url(args.base_url)
    if args.rate_limiter:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=RATE_LIMIT_RETRIES))
    app = builder.build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.run_polling(timeout=args.poll_timeout, drop_pending_updates=False)


if __name__ == "__main__":
    main()
