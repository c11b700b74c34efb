"""The direct baseline: 2N clients read the upstream themselves, at the same arrivals as the
Duet phase (what a browser would see with no Duet)."""

from __future__ import annotations

import asyncio
import json
import time

from bench.clients import SseClient
from bench.load import offsets
from bench.options import Config
from bench.tally import Slot, Tally


async def baseline_phase(cfg: Config, pairs: int, up_port: int) -> Tally:
    """2N direct streams, started in pairs at the same offsets as the Duet phase."""
    loop = asyncio.get_running_loop()
    tally = Tally()
    start = loop.time() + 0.05
    deadline = start + cfg.ramp + cfg.stream_s + cfg.slack

    async def one(offset: float, prefix: str) -> None:
        await asyncio.sleep(max(0.0, start + offset - loop.time()))
        slot = Slot()
        tally.slots.append(slot)
        body = json.dumps(
            {
                "model": f"bench-{prefix}",
                "messages": [{"role": "user", "content": "benchmark"}],
                "stream": True,
                "max_tokens": cfg.max_tokens,
            }
        ).encode()
        request = (
            f"POST /{prefix}/v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{up_port}\r\n"
            f"Content-Type: application/json\r\nAccept: text/event-stream\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        transport = None
        slot.t0_ns = time.time_ns()
        try:
            transport, proto = await loop.create_connection(
                lambda: SseClient(request, slot, tally), "127.0.0.1", up_port
            )
            await asyncio.wait_for(asyncio.shield(proto.done), max(0.1, deadline - loop.time()))
        except TimeoutError:
            tally.error("baseline stream: not finished at the phase deadline")
        except OSError as exc:
            tally.error(f"baseline stream: {type(exc).__name__}: {exc}")
        finally:
            if transport is not None:
                transport.close()

    await asyncio.gather(*(one(o, p) for o in offsets(pairs, cfg.ramp) for p in ("a", "b")))
    return tally
