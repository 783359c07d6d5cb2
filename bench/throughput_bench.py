"""End-to-end FAQ throughput of the real `carebot run` against a bare python-telegram-bot echo bot.

Run: .venv/bin/python bench/throughput_bench.py [--users 20] [--duration 10] [--warmup 2]
                                               [--rounds 1] [--traced 30] [--seed 1]
                                               [--matcher M] [--no-second-opinion]

Both bots run as subprocesses polling the embedded sandbox (bot/sandbox.py), which lives in this
process on 127.0.0.1 with the fake users. Each of N users sends a question and waits for the
answer before sending the next (closed loop), for `--warmup` then `--duration` seconds; replies/s
counts the replies received in the measured window, latency is send → reply. With `--rounds`
every configuration runs again (alternating, against drift in the machine's load) and the rounds
are pooled. carebot gets the demo café FAQ (bot/data/faq_*.csv, imported with `carebot faq
import`) and each user presses /start first; its questions are the FAQ's own questions, so each
should get an answer (the "expected replies" column checks that). The echo bot is
bench/echo_bot.py. Each pair runs without a rate limiter and with `AIORateLimiter` (carebot's
default; `CAREBOT_BENCH_NO_RATE_LIMITER=1`, read in bot/app.py, turns it off for the bench). CPU
time per reply, of the bot process and of this one (sandbox and users), is printed too: on a
shared machine it moves less than wall time.

Then SQLite transactions per update: carebot runs once more under bench/sql_trace_run.py, which
logs every statement through sqlite3's trace callback (no change to the bot). One customer asks
`--traced` questions one at a time and the owner sends as many `/earn`, with a pause after each
reply; the statements between one send and the next are that update's. Printed: write
(`BEGIN IMMEDIATE`) and read (`BEGIN DEFERRED`) transactions and statements per update, and what
the scheduled jobs did in a window without updates before them.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from e2e_support import (
    OWNER_ID,
    ROOT,
    BotProcess,
    Sandbox,
    SandboxUser,
    copy_database,
    ledger_rows,
    percentile,
    seeded_database,
    wait_quiet,
    write_config,
)

NO_LIMITER = {"CAREBOT_BENCH_NO_RATE_LIMITER": "1"}
JOBS_SETTLED = 12.0  # seconds after start: bot/jobs.py runs the outreach jobs at 5 s and 10 s


def faq_questions() -> list[str]:
    """The demo FAQ's English questions (each answered outright by carebot)."""
    path = ROOT / "bot" / "data" / "faq_en.csv"
    with path.open(newline="", encoding="utf-8") as f:
        return [row["question"] for row in csv.DictReader(f)]


@dataclass
class Run:
    """The figures of one bot and rate-limiter configuration."""

    bot: str
    limiter: bool
    seconds: float
    replies: int = 0
    expected: int = 0
    timeouts: int = 0
    bot_cpu: float = 0.0
    bench_cpu: float = 0.0
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Replies per second in the measured window."""
        return self.replies / self.seconds

    def merge(self, other: Run) -> Run:
        """The two runs' figures pooled, as one longer run."""
        return Run(
            self.bot,
            self.limiter,
            self.seconds + other.seconds,
            self.replies + other.replies,
            self.expected + other.expected,
            self.timeouts + other.timeouts,
            self.bot_cpu + other.bot_cpu,
            self.bench_cpu + other.bench_cpu,
            self.latencies + other.latencies,
        )

    def cpu_ms(self, seconds: float) -> float:
        """CPU milliseconds per reply."""
        return 1000 * seconds / self.replies if self.replies else float("nan")

    def p(self, q: float) -> float:
        """A latency percentile in milliseconds."""
        return percentile(self.latencies, q) * 1000


async def closed_loop(
    process: BotProcess,
    users: Sequence[SandboxUser],
    questions: Sequence[str],
    *,
    warmup: float,
    duration: float,
    expected: str,
    seed: int,
    run: Run,
) -> None:
    """Every user asks, waits for the reply, asks again; record the measured window in `run`."""
    loop = asyncio.get_running_loop()
    begin = loop.time() + warmup
    end = begin + duration

    async def user_loop(user: SandboxUser, rng: random.Random) -> None:
        while loop.time() < end:
            question = rng.choice(questions)
            sent_at = loop.time()
            await user.send(question)
            try:
                reply = await user.next_message(timeout=30)
            except TimeoutError:
                run.timeouts += 1
                continue
            done_at = loop.time()
            if begin <= done_at <= end:
                run.replies += 1
                run.latencies.append(done_at - sent_at)
                buttons = [data or "" for _, data in reply.buttons()]
                ok = (
                    reply.content == question
                    if expected == "echo"
                    else any(data.startswith("faq:vote:") for data in buttons)
                )
                run.expected += ok

    async def cpu_meter() -> None:
        await asyncio.sleep(warmup)
        bot, bench = process.cpu_seconds(), time.process_time()
        await asyncio.sleep(duration)
        run.bot_cpu, run.bench_cpu = process.cpu_seconds() - bot, time.process_time() - bench

    await asyncio.gather(
        cpu_meter(),
        *(user_loop(user, random.Random(seed * 1000 + i)) for i, user in enumerate(users)),
    )


async def press_start(sandbox: Sandbox, users: Sequence[SandboxUser]) -> None:
    """Every user presses /start and gets the menu; then quiet, with nothing left pending."""
    for user in users:
        await user.send("/start")
    for user in users:
        await user.next_message(timeout=30)
    await wait_quiet(sandbox, quiet=1.0)
    for user in users:
        user.skip_pending()


async def measure(
    bot: str,
    limiter: bool,
    seed_db: Path,
    args: argparse.Namespace,
) -> Run:
    """Start a fresh sandbox and one bot, drive the users, stop everything."""
    run = Run(bot, limiter, args.duration)
    with tempfile.TemporaryDirectory(prefix="carebot-bench-") as tmp:
        async with Sandbox() as sandbox:
            sandbox.create_user("Olivia", username="olivia", user_id=OWNER_ID)
            log = Path(tmp) / "bot.log"
            if bot == "carebot":
                db = copy_database(seed_db, Path(tmp) / "bot.sqlite3")
                matcher = f'[faq]\nmatcher = "{args.matcher}"\n'
                if args.no_second_opinion:
                    matcher += "second_opinion = false\n"
                config = write_config(Path(tmp) / "bot.toml", sandbox, db, extra=matcher)
                process = BotProcess.carebot(config, log, None if limiter else NO_LIMITER)
            else:
                argv = ["bench/echo_bot.py", "--token", sandbox.token]
                argv += ["--base-url", sandbox.base_url] + (["--rate-limiter"] if limiter else [])
                process = BotProcess(argv, log)
            users = [
                sandbox.create_user(f"Guest{i}", username=f"guest{i}") for i in range(args.users)
            ]
            await process.start(sandbox)
            try:
                if bot == "carebot":
                    await press_start(sandbox, users)
                await closed_loop(
                    process,
                    users,
                    faq_questions(),
                    warmup=args.warmup,
                    duration=args.duration,
                    expected="echo" if bot == "echo" else "answer",
                    seed=args.seed,
                    run=run,
                )
            finally:
                await process.stop()
    return run


@dataclass
class Window:
    """The SQLite statements between one update's send and the next."""

    writes: int = 0
    reads: int = 0
    statements: int = 0


def windows(trace: Path, bounds: Sequence[float]) -> list[Window]:
    """Split the trace into the windows [bounds[i], bounds[i+1])."""
    found = [Window() for _ in bounds[:-1]]
    for line in trace.read_text("utf-8").splitlines():
        stamp, _, sql = line.partition(" ")
        at = float(stamp)
        if sql.startswith("--") or not bounds[0] <= at < bounds[-1]:
            continue  # trigger markers; outside the measured updates
        index = next(i for i in range(len(found)) if at < bounds[i + 1])
        window = found[index]
        window.statements += 1
        if sql.upper().startswith("BEGIN IMMEDIATE"):
            window.writes += 1
        elif sql.upper().startswith("BEGIN"):
            window.reads += 1
    return found


async def count_transactions(seed_db: Path, count: int) -> tuple[dict[str, list[Window]], Burst]:
    """Trace carebot's SQL while one customer asks questions and the owner earns, one by one,
    then while `BURST_USERS` customers ask at once."""
    with tempfile.TemporaryDirectory(prefix="carebot-bench-") as tmp:
        async with Sandbox() as sandbox:
            owner = sandbox.create_user("Olivia", username="olivia", user_id=OWNER_ID)
            db = copy_database(seed_db, Path(tmp) / "bot.sqlite3")
            config = write_config(Path(tmp) / "bot.toml", sandbox, db)
            trace = Path(tmp) / "trace.log"
            argv = ["bench/sql_trace_run.py", str(trace), "run", "--config", str(config)]
            process = BotProcess(argv, Path(tmp) / "bot.log", NO_LIMITER)
            guest = sandbox.create_user("Guest", username="guest")
            started = time.time()
            await process.start(sandbox)
            try:
                await guest.send("/start")
                await guest.next_message(timeout=30)
                (code,) = ledger_rows(
                    db, "SELECT member_code FROM customers WHERE telegram_id = ?", [guest.id]
                )[0]
                idle = [time.time()]
                # The outreach jobs first run 5 s and 10 s after start: keep them out of the
                # updates' windows (the next run comes 30 s later, after the updates).
                await asyncio.sleep(max(0.0, started + JOBS_SETTLED - time.time()))
                await wait_quiet(sandbox, quiet=0.5)
                idle.append(time.time())
                rng = random.Random(1)
                questions = faq_questions()
                bounds: dict[str, list[float]] = {"question": [], "earn": []}
                for kind, user, texts in (
                    ("question", guest, [rng.choice(questions) for _ in range(count)]),
                    ("earn", owner, [f"/earn {code} 5"] * count),
                ):
                    for text in texts:
                        bounds[kind].append(time.time())
                        await user.send(text)
                        await user.next_message(timeout=30)
                        await asyncio.sleep(0.15)  # its last statements come after the reply
                    bounds[kind].append(time.time())
                await asyncio.sleep(0.2)
                burst = await traced_burst(process, sandbox, questions)
            finally:
                await process.stop()
            [burst.window] = windows(trace, burst.bounds)
            found = {
                "none (the jobs' first runs)": windows(trace, idle),
                "FAQ question": windows(trace, bounds["question"]),
                "staff /earn": windows(trace, bounds["earn"]),
            }
            return found, burst


BURST_USERS = 20


@dataclass
class Burst:
    """A closed loop of many users under the trace: its time bounds and replies."""

    bounds: list[float]
    replies: int
    window: Window = field(default_factory=Window)


async def traced_burst(
    process: BotProcess, sandbox: Sandbox, questions: Sequence[str], seconds: float = 3.0
) -> Burst:
    """`BURST_USERS` users ask at once in a closed loop for `seconds` (after a short warm-up)."""
    users = [sandbox.create_user(f"Burst{i}", username=f"burst{i}") for i in range(BURST_USERS)]
    await press_start(sandbox, users)
    run = Run("carebot", False, seconds)
    warmup = 0.5
    start = time.time() + warmup
    await closed_loop(
        process, users, questions, warmup=warmup, duration=seconds, expected="answer", seed=1,
        run=run,
    )  # fmt: skip
    return Burst([start, start + seconds], run.replies)


def print_table(runs: list[Run], args: argparse.Namespace) -> None:
    """The throughput table, with carebot's figures relative to the echo bot's."""
    print(
        f"\n## End-to-end throughput: {args.users} users, closed loop, {args.rounds} x "
        f"{args.duration:g} s measured after {args.warmup:g} s warm-up, seed {args.seed}\n"
    )
    print(
        "| bot | rate limiter | replies/s | p50 ms | p99 ms | bot CPU ms/reply "
        "| bench CPU ms/reply | expected replies | timeouts |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for run in runs:
        limiter = "AIORateLimiter" if run.limiter else "none"
        share = 100 * run.expected / run.replies if run.replies else 0.0
        print(
            f"| {run.bot} | {limiter} | {run.rate:.1f} | {run.p(50):.1f} | {run.p(99):.1f} "
            f"| {run.cpu_ms(run.bot_cpu):.2f} | {run.cpu_ms(run.bench_cpu):.2f} "
            f"| {share:.0f}% | {run.timeouts} |"
        )
    print()
    for limiter in (False, True):
        echo = next(r for r in runs if r.bot == "echo" and r.limiter == limiter)
        care = next(r for r in runs if r.bot == "carebot" and r.limiter == limiter)
        print(
            f"carebot / echo, {'AIORateLimiter' if limiter else 'no rate limiter'}: "
            f"throughput {care.rate / echo.rate:.2f}x, p99 {care.p(99) / echo.p(99):.2f}x"
        )
    print(
        "(expected replies: echo = its own text back; carebot = an FAQ answer with 👍/👎. "
        "Timeouts: no reply within 30 s. bench CPU = this process: sandbox and users. "
        f"Load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs.)"
    )


def print_transactions(found: dict[str, list[Window]], burst: Burst) -> None:
    """Transactions and statements per update, median and mean over the updates traced."""
    print("\n## SQLite per update (carebot, traced with sqlite3's trace callback)\n")
    print("| update | n | write tx (BEGIN IMMEDIATE) | read tx (BEGIN DEFERRED) | statements |")
    print("|---|---|---|---|---|")
    for name, found_windows in found.items():

        def cell(values: list[int]) -> str:
            return f"{statistics.median(values):g} (mean {statistics.fmean(values):.2f})"

        print(
            f"| {name} | {len(found_windows)} "
            f"| {cell([w.writes for w in found_windows])} "
            f"| {cell([w.reads for w in found_windows])} "
            f"| {cell([w.statements for w in found_windows])} |"
        )
    print(
        "(median per update, mean in brackets; the first row is one window without updates, "
        f"from the first /start's reply to {JOBS_SETTLED:g} s after the process started.)"
    )
    w, n = burst.window, max(burst.replies, 1)
    print(
        f"\nUnder load ({BURST_USERS} users asking at once, closed loop, "
        f"{burst.bounds[1] - burst.bounds[0]:g} s traced): {burst.replies} answers, "
        f"{w.writes} write transactions ({w.writes / n:.2f} per question), {w.reads} read "
        f"transactions, {w.statements} statements ({w.statements / n:.1f} per question)."
    )


async def main_async(args: argparse.Namespace) -> None:
    """Every configuration in turn, then the transaction count."""
    with seeded_database() as seed_db:
        runs: dict[tuple[str, bool], Run] = {}
        for round_ in range(1, args.rounds + 1):
            for limiter in (False, True):
                for bot in ("echo", "carebot"):
                    run = await measure(bot, limiter, seed_db, args)
                    print(
                        f"round {round_}: {bot:8} limiter={'on ' if limiter else 'off'}: "
                        f"{run.rate:.1f} replies/s, p99 {run.p(99):.1f} ms",
                        flush=True,
                    )
                    runs[bot, limiter] = runs[bot, limiter].merge(run) if round_ > 1 else run
        print_table(list(runs.values()), args)
        print_transactions(*await count_transactions(seed_db, args.traced))


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=20, help="concurrent users (default 20)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    parser.add_argument(
        "--rounds", type=int, default=1, help="repeat every configuration, pooling the figures"
    )
    parser.add_argument("--traced", type=int, default=30, help="updates traced for SQL counts")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--matcher", choices=("auto", "lexical", "semantic"), default="auto", help="[faq] matcher"
    )
    parser.add_argument(
        "--no-second-opinion", action="store_true", help="[faq] second_opinion = false"
    )
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
