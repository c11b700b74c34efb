"""The load on Duet: N simulated browsers, each with a cookie and a conversation, that POST a
paired turn and read both slots over its websocket, arriving evenly over the ramp."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

from bench.clients import http
from bench.measure import Sampler
from bench.options import Config
from bench.tally import Slot, Tally
from bench.upstream import PAIR_PROMPT, WARMUP_PROMPT
from bench.websocket import WsClient


def offsets(pairs: int, ramp: float) -> list[float]:
    """Start offsets spreading `pairs` arrivals evenly over `ramp` seconds."""
    return [ramp * i / pairs for i in range(pairs)]


async def prepare(
    base: tuple[str, int], pairs: int, jars: list[dict] | None = None
) -> list[tuple[dict, str]]:
    """One browser per pair with a new conversation. Browsers (cookie jars) in `jars` are
    reused, and the ones made here (cookie from `GET /`) are added to it."""
    jars = [] if jars is None else jars
    sem = asyncio.Semaphore(32)

    async def one(i: int) -> tuple[dict, str]:
        async with sem:
            if i < len(jars):
                cookies = jars[i]
            else:
                cookies = {}
                status, _ = await http(*base, "GET", "/", cookies=cookies)
                if status != 200:
                    raise RuntimeError(f"GET / answered {status}")
            status, body = await http(*base, "POST", "/api/conversations", {}, cookies)
            if status != 201:
                raise RuntimeError(f"POST /api/conversations answered {status}: {body[:200]!r}")
            return cookies, json.loads(body)["id"]

    browsers = await asyncio.gather(*(one(i) for i in range(pairs)))
    jars.extend(cookies for cookies, _ in browsers[len(jars) :])
    return browsers


async def duet_phase(
    cfg: Config,
    base: tuple[str, int],
    browsers: list[tuple[dict, str]],
    sampler: Sampler | None,
    *,
    prompt: str = PAIR_PROMPT,
    ramp: float | None = None,
) -> Tally:
    """N paired turns: POST the turn, open its websocket, read both slots to the end."""
    loop = asyncio.get_running_loop()
    tally = Tally()
    ramp = cfg.ramp if ramp is None else ramp
    start = loop.time() + 0.05
    deadline = start + ramp + cfg.stream_s + cfg.slack
    host, port = base

    async def one(index: int, offset: float, cookies: dict, cid: str) -> None:
        await asyncio.sleep(max(0.0, start + offset - loop.time()))
        slots = {"a": Slot(), "b": Slot()}
        tally.slots.extend(slots.values())
        t0 = time.time_ns()
        for slot in slots.values():
            slot.t0_ns = t0
        transport = None
        try:
            content = {"content": f"{prompt}{index}", "mode": "pair"}
            tally.prompts[content["content"]] = t0
            status, body = await asyncio.wait_for(
                http(host, port, "POST", f"/api/conversations/{cid}/turns", content, cookies),
                max(0.1, deadline - loop.time()),
            )
            tally.post_ms.append((time.time_ns() - t0) / 1e6)
            if status != 202:
                tally.error(f"POST turn answered {status}: {body[:200]!r}")
                return
            turn = json.loads(body)
            cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
            path = f"/ws/turns/{turn['id']}" + ("?join_tokens=1" if cfg.join_tokens else "")
            transport, proto = await loop.create_connection(
                lambda: WsClient(f"{host}:{port}", path, cookie, slots, tally), host, port
            )
            tally.open_sockets += 1
            tally.max_open = max(tally.max_open, tally.open_sockets)
            try:
                await asyncio.wait_for(asyncio.shield(proto.done), max(0.1, deadline - loop.time()))
            finally:
                tally.open_sockets -= 1
            if not proto.got_end:
                tally.error(f"socket closed without end (close code {proto.close_code})")
        except TimeoutError:
            tally.error("duet pair: not finished at the phase deadline")
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            tally.error(f"duet pair: {type(exc).__name__}: {exc}")
        finally:
            if transport is not None:
                transport.close()

    starts = offsets(len(browsers), ramp)
    runs = [one(i, starts[i], c, cid) for i, (c, cid) in enumerate(browsers)]
    if sampler is None:
        await asyncio.gather(*runs)
    else:
        watch = asyncio.create_task(sampler.watch(tally))
        try:
            await asyncio.gather(*runs)
        finally:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
    return tally


def warm_up(cfg: Config, base: tuple[str, int], jars: list[dict]) -> None:
    """Unmeasured one-token pairs, so a fresh web process has done its one-time work (lazy
    imports, the broker, database and Redis connections) and the worker its own, before the
    measured phases. Several rounds of concurrent pairs reach every gunicorn process."""
    width = 4 * cfg.web_procs
    browsers = asyncio.run(prepare(base, width, jars))
    for _ in range(3):
        warm = asyncio.run(duet_phase(cfg, base, browsers, None, prompt=WARMUP_PROMPT, ramp=0))
        if warm.errors or sum(s.tokens for s in warm.slots) != 2 * width:
            raise RuntimeError(f"warm-up pairs failed: {warm.errors[:3]}")
