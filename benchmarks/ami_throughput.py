"""Simulator + AMI client in one process: originations/s with thousands of calls in progress,
and event-loop lag.

    .venv/bin/python benchmarks/ami_throughput.py [--rate 200] [--seconds 15] [--ring 30]

The simulator runs the recordings' dialplan in real time (``capture_scenario``, the number's
last digit decides): 80 % of the numbers ring until the ring timeout (``--ring`` s), 20 %
answer after 2 s and, with no agent logged in, are dropped after the 2 s queue wait.  So with
200 originations/s about 200 x (0.8 x 30 + 0.2 x 5) ≈ 5,000 calls would be up at steady state;
the run is long enough to pass 2,000.  Every event goes through the client (panoramisk +
codec), ``parse_event`` and the call tracker, as in the daemon.  Lag is measured by a 10 ms
periodic timer on the same loop (how late it fires); the simulator shares that loop, so the
figure is pessimistic for the daemon alone.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import time

from dialer.ami.client import AmiClient
from dialer.ami.events import AmiEvent
from dialer.secrets import Secret
from dialer.settings import AmiSettings
from dialer.sim import Simulator, capture_scenario, start_server
from dialer.tracking.calls import CallTracker


async def run(rate: float, seconds: float, ring: float, window: int) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    sim = Simulator(capture_scenario(), speed=1.0, secret="bench")
    server = await start_server(sim, "127.0.0.1", 0)
    tracker = CallTracker()
    counts = {"events": 0}

    def core(item: object) -> None:
        if isinstance(item, AmiEvent):
            counts["events"] += 1
            tracker.handle(item, loop.time())

    settings = AmiSettings(
        port=server.port, secret=Secret("bench"), action_timeout=10, ping_interval=1
    )
    client = AmiClient(settings, core)
    await client.connect()

    lags: list[float] = []
    stop = asyncio.Event()

    async def lag_probe() -> None:
        period = 0.01
        expected = loop.time() + period
        while not stop.is_set():
            await asyncio.sleep(max(0.0, expected - loop.time()))
            now = loop.time()
            lags.append(now - expected)
            expected = max(expected + period, now)

    in_progress: list[int] = []
    sent = accepted = 0
    limit = asyncio.Semaphore(window)

    async def one(n: int) -> None:
        nonlocal accepted
        attempt = f"b-{n}"
        number = "5550001" if n % 5 == 0 else "5550003"
        tracker.place(attempt, loop.time())
        try:
            await client.originate(
                attempt,
                f"Local/{number}@sim-customers",
                context="dialer-connect",
                ring_timeout=ring,
            )
            tracker.originate_accepted(attempt, loop.time())
            accepted += 1
        finally:
            limit.release()

    probe = loop.create_task(lag_probe())
    tasks: set[asyncio.Task[None]] = set()
    t0 = loop.time()
    cpu0 = time.process_time()
    next_sample = t0 + 1.0
    while (now := loop.time()) - t0 < seconds:
        due = int((now - t0) * rate)
        while sent < due:
            await limit.acquire()
            task = loop.create_task(one(sent))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            sent += 1
        if now >= next_sample:
            in_progress.append(len(tracker))
            next_sample += 1.0
        await asyncio.sleep(0.005)
    await asyncio.gather(*tasks)
    elapsed = loop.time() - t0
    cpu = time.process_time() - cpu0
    in_progress.append(len(tracker))
    stop.set()
    await probe
    await client.close()
    await server.close()
    lags.sort()
    return {
        "originations": accepted,
        "rate": accepted / elapsed,
        "peak_in_progress": max(in_progress),
        "events_per_s": counts["events"] / elapsed,
        "lag_p50_ms": 1000 * statistics.median(lags),
        "lag_p99_ms": 1000 * lags[int(0.99 * (len(lags) - 1))],
        "lag_max_ms": 1000 * lags[-1],
        "cpu_share": cpu / elapsed,
        "elapsed": elapsed,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate", type=float, default=200.0, help="originations per second")
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--ring", type=float, default=30.0, help="ring timeout of the no-answer calls")
    ap.add_argument(
        "--window", type=int, default=100, help="Originates awaiting their response at most"
    )
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    r = asyncio.run(run(args.rate, args.seconds, args.ring, args.window))
    print(
        f"originations {r['originations']:.0f} in {r['elapsed']:.1f} s = {r['rate']:.0f}/s "
        f"(target {args.rate:.0f}/s); calls in progress peak {r['peak_in_progress']:.0f}; "
        f"events {r['events_per_s']:,.0f}/s; loop lag p50 {r['lag_p50_ms']:.1f} ms, "
        f"p99 {r['lag_p99_ms']:.1f} ms, max {r['lag_max_ms']:.1f} ms; CPU {100 * r['cpu_share']:.0f} % of one core"
    )


if __name__ == "__main__":
    main()
