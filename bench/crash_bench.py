"""What a kill -9 of `carebot run` in the middle of a burst loses or doubles.

Run: .venv/bin/python bench/crash_bench.py [--customers 80] [--earns 8] [--kill-at 0.3 1.0 2.0]
                                          [--repeat 1] [--seed 1]

For each kill moment, a fresh sandbox (bot/sandbox.py, in this process on 127.0.0.1) and a fresh
database with the demo café FAQ: the bot (`python -m bot run`, a subprocess, carebot's default
AIORateLimiter) starts, N customers press /start and get their member code, then in one burst
each customer sends one FAQ question and the owner sends `/earn <member code> <amount>` for
`--earns` of them (no receipt: the Telegram message is the reference). `--kill-at` seconds after
the burst the bot is killed with SIGKILL and started again; the sandbox, like Telegram, keeps the
update offset the first process confirmed. When all is quiet, the sandbox's record of sent
messages and the database's points ledger give: questions never answered or answered twice (or
answered with "something went wrong"), earns lost or doubled (ledger rows per earned customer)
and staff earn confirmations missing or doubled. The first row is the same burst with no kill:
the baseline that shows the counting is right.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from e2e_support import (
    OWNER_ID,
    ROOT,
    BotProcess,
    Sandbox,
    SandboxUser,
    SentMessage,
    copy_database,
    ledger_rows,
    seeded_database,
    wait_quiet,
    write_config,
)

from handlers.texts import t

GENERIC_ERROR = t("error.generic", "en")


@dataclass
class Trial:
    """The counts of one kill moment."""

    kill_at: float | None
    customers: int
    earns: int
    answered_before_kill: int = 0
    unconfirmed_at_kill: int = 0
    unanswered: int = 0
    answered_twice: int = 0
    error_replies: int = 0
    earns_lost: int = 0
    earns_doubled: int = 0
    confirmations_missing: int = 0
    confirmations_doubled: int = 0
    recovery_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def questions() -> list[str]:
    """The demo FAQ's English questions."""
    with (ROOT / "bot" / "data" / "faq_en.csv").open(newline="", encoding="utf-8") as f:
        return [row["question"] for row in csv.DictReader(f)]


async def trial(seed_db: Path, kill_at: float | None, args: argparse.Namespace) -> Trial:
    """One burst, one kill (or none), one restart; count what was lost or doubled."""
    result = Trial(kill_at, args.customers, args.earns)
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="carebot-crash-") as tmp:
        async with Sandbox() as sandbox:
            owner = sandbox.create_user("Olivia", username="olivia", user_id=OWNER_ID)
            db = copy_database(seed_db, Path(tmp) / "bot.sqlite3")
            matcher = f'[faq]\nmatcher = "{args.matcher}"\n'
            config = write_config(
                Path(tmp) / "bot.toml", sandbox, db, poll_timeout=1, extra=matcher
            )
            bot = BotProcess.carebot(config, Path(tmp) / "bot.log")
            customers = [
                sandbox.create_user(f"Guest{i}", username=f"guest{i}")
                for i in range(args.customers)
            ]
            await bot.start(sandbox)
            try:
                await register(sandbox, customers, owner, bot)
                codes = dict(ledger_rows(db, "SELECT telegram_id, member_code FROM customers"))
                earners = rng.sample(customers, args.earns)
                amounts = {user.id: 10 + i for i, user in enumerate(earners)}
                burst = build_burst(customers, earners, rng)
                before = {u.id: len(sandbox.sent(u.id)) for u in [*customers, owner]}
                for kind, user, text in burst:
                    if kind == "earn":
                        await owner.send(f"/earn {codes[user.id]} {amounts[user.id]}")
                    else:
                        await user.send(text)
                burst_at = time.perf_counter()
                if kill_at is not None:
                    await asyncio.sleep(max(0.0, burst_at + kill_at - time.perf_counter()))
                    bot.kill()
                    await bot.wait()
                    result.unconfirmed_at_kill = sandbox.pending_updates
                    result.answered_before_kill = sum(
                        len(sandbox.sent(c.id)) > before[c.id] for c in customers
                    )
                    await bot.start(sandbox)
                if not await wait_quiet(sandbox, quiet=3.0, timeout=args.timeout, busy=bot):
                    result.notes.append("not quiet before the timeout")
                result.recovery_seconds = time.perf_counter() - burst_at - 3.0
            finally:
                await bot.stop()
            new = {chat: sandbox.sent(chat)[index:] for chat, index in before.items()}
            count(result, customers, owner, new, codes, amounts, db)
            if "Traceback" in bot.log_text():
                result.notes.append(f"tracebacks in the log: {bot.log_text().count('Traceback')}")
    return result


async def register(
    sandbox: Sandbox, customers: list[SandboxUser], owner: SandboxUser, bot: BotProcess
) -> None:
    """/start for every customer (and the owner), then forget those replies."""
    for user in [*customers, owner]:
        await user.send("/start")
    for user in [*customers, owner]:
        await user.next_message(timeout=60)
    await wait_quiet(sandbox, quiet=1.0, busy=bot)
    for user in [*customers, owner]:
        user.skip_pending()


def build_burst(
    customers: list[SandboxUser], earners: list[SandboxUser], rng: random.Random
) -> list[tuple[str, SandboxUser, str]]:
    """Every customer's question ("ask", customer, text), with the owner's earns ("earn",
    customer, "") spread evenly through the burst."""
    asks = questions()
    burst = [("ask", c, rng.choice(asks)) for c in customers]
    step = max(1, len(burst) // max(1, len(earners)))
    for i, earner in enumerate(earners):
        burst.insert(i * (step + 1) + step // 2, ("earn", earner, ""))
    return burst


def count(
    result: Trial,
    customers: list[SandboxUser],
    owner: SandboxUser,
    new: dict[int, list[SentMessage]],
    codes: dict[int, str],
    amounts: dict[int, int],
    db: Path,
) -> None:
    """Fill in the trial's counts from the bot's messages since the burst (`new`, by chat) and
    the points ledger."""
    for user in customers:
        replies = [m for m in new[user.id] if not m.edited]
        result.unanswered += not replies
        result.answered_twice += len(replies) > 1
        result.error_replies += any(m.content == GENERIC_ERROR for m in replies)
    rows = dict(
        ledger_rows(
            db,
            "SELECT c.telegram_id, COUNT(*) FROM points_ledger p"
            " JOIN customers c ON c.id = p.customer_id"
            " WHERE p.kind = 'earn' AND p.staff_id = ? GROUP BY c.telegram_id",
            [OWNER_ID],
        )
    )
    confirmations = [m.content for m in new[owner.id] if not m.edited]
    for telegram_id in amounts:
        entries = rows.get(telegram_id, 0)
        result.earns_lost += entries == 0
        result.earns_doubled += entries > 1
        told = sum(codes[telegram_id] in text for text in confirmations)
        result.confirmations_missing += told == 0
        result.confirmations_doubled += told > 1


def print_table(trials: list[Trial], args: argparse.Namespace) -> None:
    """One row per kill moment."""
    print(
        f"\n## kill -9 during a burst: {args.customers} customers x 1 question + "
        f"{args.earns} staff /earn, seed {args.seed}\n"
    )
    print(
        "| kill after burst | answered before kill | unconfirmed at kill | questions unanswered "
        "| answered twice | 'went wrong' replies | earns lost | earns doubled "
        "| earn confirmations missing | confirmations doubled | recovery s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in trials:
        moment = "no kill (baseline)" if r.kill_at is None else f"{r.kill_at:g} s"
        unconfirmed = "-" if r.kill_at is None else str(r.unconfirmed_at_kill)
        before = "-" if r.kill_at is None else f"{r.answered_before_kill}/{r.customers}"
        print(
            f"| {moment} | {before} | {unconfirmed} | {r.unanswered}/{r.customers} "
            f"| {r.answered_twice} | {r.error_replies} | {r.earns_lost}/{r.earns} "
            f"| {r.earns_doubled} | {r.confirmations_missing}/{r.earns} "
            f"| {r.confirmations_doubled} | {r.recovery_seconds:.1f} |"
        )
    print(
        "\n(unconfirmed at kill: updates the killed process had not yet confirmed to the "
        "sandbox with its next getUpdates offset, so the restarted one gets them again. "
        "recovery: burst to the last bot action.)"
    )
    for r in trials:
        for note in r.notes:
            print(f"note, kill at {r.kill_at}: {note}")


async def main_async(args: argparse.Namespace) -> None:
    """The baseline, then one trial per kill moment."""
    trials = []
    with seeded_database() as seed_db:
        moments = [None, *(m for m in args.kill_at for _ in range(args.repeat))]
        for kill_at in moments:
            result = await trial(seed_db, kill_at, args)
            print(
                f"kill at {kill_at}: {result.unanswered} unanswered, "
                f"{result.earns_lost} earns lost",
                flush=True,
            )
            trials.append(result)
    print_table(trials, args)


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=80)
    parser.add_argument("--earns", type=int, default=8, help="staff /earn in the burst")
    parser.add_argument(
        "--kill-at", type=float, nargs="+", default=[0.3, 1.0, 2.0], help="seconds after burst"
    )
    parser.add_argument("--repeat", type=int, default=1, help="trials per kill moment")
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for quiet")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--matcher",
        choices=("auto", "lexical", "semantic"),
        default="lexical",
        help="[faq] matcher (semantic loads its encoder first: kills then land before answers)",
    )
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
