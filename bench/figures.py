"""The figures of one N from what the clients, the upstream and /proc recorded, and the
verdicts over the sweep (capacity, targets). bench/README.md says what each figure means."""

from __future__ import annotations

import math
import os
from collections import Counter
from typing import Any

from bench.measure import Sampler
from bench.options import Config
from bench.stamps import TICK_NS
from bench.tally import Tally


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (0 <= q <= 1), None for no values."""
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * q
    f = math.floor(k)
    c = min(f + 1, len(s) - 1)
    return s[f] + (s[c] - s[f]) * (k - f)


def _pcts(values: list[float]) -> dict:
    """p50 and p99, rounded."""
    return {"p50": _r(percentile(values, 0.5)), "p99": _r(percentile(values, 0.99))}


def _added(duet: dict, base: dict) -> dict:
    """Duet's percentiles minus the baseline's (tokens cannot be paired)."""
    return {k: None if duet[k] is None or base[k] is None else _r(duet[k] - base[k]) for k in duet}


def _r(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def summarise(
    cfg: Config,
    pairs: int,
    base: Tally,
    duet: Tally,
    base_up: dict,
    duet_up: dict,
    cpu: dict,
    base_cpu: dict,
    waits: dict,
    sampler: Sampler,
    phases: dict,
    threads: int,
) -> dict:
    """One N's row of figures, from its two phases' tallies, the upstream's counters (`/stats`
    after each phase), CPU seconds and waits per part, the web's RSS and each step's seconds."""
    tick_ms = TICK_NS / 1e6

    def rate(tokens: int, first: int, last: int) -> float | None:
        return tokens / ((last - first) / 1e9) if last > first else None

    def delivered(t: Tally) -> tuple[int, float | None]:
        got = [s for s in t.slots if s.tokens]
        n = sum(s.tokens for s in got)
        if not got:
            return 0, None
        return n, rate(n, min(s.first_ns for s in got), max(s.last_ns for s in got))

    d_tokens, d_rate = delivered(duet)
    b_tokens, b_rate = delivered(base)
    up_rate = rate(duet_up["emitted"], duet_up["first_emit_ns"], duet_up["last_emit_ns"])
    bup_rate = rate(base_up["emitted"], base_up["first_emit_ns"], base_up["last_emit_ns"])
    expected = 2 * pairs * cfg.tokens
    retention = _retention(duet, expected)
    b_retention = _retention(base, expected)

    ttft_d = [(s.first_ns - s.t0_ns) / 1e6 for s in duet.slots if s.tokens]
    ttft_b = [(s.first_ns - s.t0_ns) / 1e6 for s in base.slots if s.tokens]
    lat_d = [v * tick_ms for v in duet.lags]
    lat_b = [v * tick_ms for v in base.lags]
    ttft = {"duet": _pcts(ttft_d), "baseline": _pcts(ttft_b)}
    ttft["added"] = _added(ttft["duet"], ttft["baseline"])
    lat = {"duet": _pcts(lat_d), "baseline": _pcts(lat_b)}
    lat["added"] = _added(lat["duet"], lat["baseline"])
    lat["duet"]["max"] = _r(max(lat_d)) if lat_d else None
    lat["baseline"]["max"] = _r(max(lat_b)) if lat_b else None
    # Where Duet's time to first token goes: the POST, Celery until the worker calls the
    # model, the model's own first token (the baseline's TTFT), and the relay of that token.
    dispatch = [
        (at - duet.prompts[prompt]) / 1e6
        for prompt, times in duet_up["arrivals"].items()
        if prompt in duet.prompts
        for at in sorted(times)[:2]  # a slot restarted by the watchdog asks again
    ]
    ttft["breakdown"] = {
        "post_turn": _pcts(duet.post_ms),
        "post_to_upstream_request": _pcts(dispatch),
        "first_token_relay": _pcts([s.first_lag * tick_ms for s in duet.slots if s.tokens]),
        "websocket_upgrade": _pcts(duet.upgrade_ms),
    }

    # When the late tokens arrived, by second since the first request: the arrivals
    # (first seconds), the steady streaming, or the endings.
    began = min((sl.t0_ns for sl in duet.slots if sl.t0_ns), default=0)
    late = Counter((t - began) // 10**9 for t in duet.late_ns)
    lat["late_by_second"] = [late[s] for s in range(max(late, default=-1) + 1)]

    def outcome(t: Tally) -> dict:
        ends = [s.end for s in t.slots]
        return {
            "streams": len(t.slots),
            "done": ends.count("done"),
            "error": ends.count("error"),
            "cancelled": ends.count("cancelled"),
            "incomplete": ends.count(""),
            "short": sum(1 for s in t.slots if s.tokens != cfg.tokens),
            "seq_gaps": sum(s.seq_gaps for s in t.slots),
            "malformed": t.malformed,
        }

    web_cpu = cpu["web"]
    messages = sum(s.messages for s in duet.slots)
    growth = max(0, sampler.peak_kib - sampler.idle_kib)
    busy = cpu["machine_busy"]
    ours = sum(v for k, v in cpu.items() if k not in ("machine_busy", "machine_total"))
    return {
        "pairs": pairs,
        "retention": round(retention, 4),
        "throughput_tokens_per_s": {
            "upstream": _r(up_rate, 1),
            "delivered": _r(d_rate, 1),
            "nominal": round(2 * pairs * cfg.rate, 1),  # all 2N streams at once
            # over a phase, first to last token: the arrivals spread the streams over the ramp
            "nominal_over_phase": round(expected / (cfg.stream_s + cfg.ramp), 1),
            "baseline_upstream": _r(bup_rate, 1),
            "baseline_delivered": _r(b_rate, 1),
            "baseline_retention": round(b_retention, 4),
            # over the whole phase, first to last token: also counts streams started late
            "phase_ratio": round(d_rate / bup_rate, 4) if d_rate and bup_rate else 0.0,
        },
        "tokens": {
            "expected": expected,
            "emitted_upstream": duet_up["emitted"],
            "delivered": d_tokens,
            "delivered_fraction": round(d_tokens / expected, 4),
            "baseline_emitted_upstream": base_up["emitted"],
            "baseline_delivered": b_tokens,
            "messages": messages,
            "upstream_late_ticks": duet_up["late_ticks"],
        },
        "ttft_ms": ttft,
        "token_latency_ms": lat,
        "web_cpu_s_per_1k_tokens": _r(web_cpu / (d_tokens / 1000), 4) if d_tokens else None,
        # The headline: what relaying costs Duet's own processes per token delivered.
        "relay_cpu_ms_per_token": _relay_cpu(cpu, d_tokens),
        # Bytes the clients received per token: the websocket (Duet) against the SSE stream
        # read directly (baseline), heads and framing included.
        "wire_bytes_per_token": {
            "duet": _r(duet.wire_bytes / d_tokens, 1) if d_tokens else None,
            "baseline": _r(base.wire_bytes / b_tokens, 1) if b_tokens else None,
        },
        "rss_per_socket_kib": _r(growth / pairs, 1),
        "web_rss_mib": {
            "idle": _r(sampler.idle_kib / 1024, 1),
            "peak": _r(sampler.peak_kib / 1024, 1),
            "open_sockets_at_peak": sampler.open_at_peak,
        },
        "peak_open_sockets": duet.max_open,
        "cpu_s": {k: _r(v, 2) for k, v in cpu.items()},
        # CPU milliseconds per token delivered: what each part costs, whatever the load.
        "cpu_ms_per_token": {
            k: _r(1000 * v / d_tokens, 3) if d_tokens else None
            for k, v in cpu.items()
            if k in ("web", "worker", "redis", "upstream", "bench_clients")
        },
        "baseline_cpu_ms_per_token": {
            k: _r(1000 * v / b_tokens, 3) if b_tokens else None
            for k, v in base_cpu.items()
            if k in ("upstream", "bench_clients")
        },
        "cpu_cores_busy": {
            k: _r(v / phases["duet"], 2)
            for k, v in {**cpu, "other": max(0.0, busy - ours)}.items()
            if k != "machine_total"
        },
        # Runnable but not running: how long each part waited for a CPU during the phase,
        # per phase second. On a full machine the tail latencies come from here.
        "cpu_cores_waiting": {
            k: None if v is None else _r(v / phases["duet"], 2) for k, v in waits.items()
        },
        "phase_s": {k: _r(v, 2) for k, v in phases.items()},
        "duet": outcome(duet),
        "baseline": outcome(base),
        "errors": sorted(set(duet.errors + base.errors))[:8],
        "web": {"processes": cfg.web_procs, "threads_per_process": threads},
        "loadavg": [float(v) for v in os.getloadavg()],
    }


def _relay_cpu(cpu: dict, tokens: int) -> dict:
    """CPU ms per token delivered of the web, the worker, and the two together."""
    if not tokens:
        return {"web": None, "worker": None, "total": None}
    web, worker = 1000 * cpu["web"] / tokens, 1000 * cpu["worker"] / tokens
    return {"web": _r(web, 3), "worker": _r(worker, 3), "total": _r(web + worker, 3)}


def _retention(tally: Tally, expected: int) -> float:
    """Tokens/s delivered ÷ tokens/s produced, in stream-seconds: per stream, the model
    produced its tokens between its first and last emit, and the client got them between its
    first and last receive (emit = receive - lag, from the stamps). Summed over streams, the
    ratio of the two rates is (sum of emit spans) ÷ (sum of receive spans). Times the share of
    the expected tokens delivered, so lost, cut or never-started streams count against it."""
    emit = recv = 0
    for slot in tally.slots:
        if slot.tokens > 1:
            recv += slot.last_ns - slot.first_ns
            emit += (slot.last_ns - slot.last_lag * TICK_NS) - (
                slot.first_ns - slot.first_lag * TICK_NS
            )
    delivered = sum(s.tokens for s in tally.slots)
    if not recv or not expected:
        return 0.0
    return round(emit / recv * min(1.0, delivered / expected), 4)


def capacity(runs: list[dict]) -> int | None:
    """The largest N such that it and every smaller N held retention >= 0.99, added per-token
    latency p99 <= 50 ms, and every slot done."""
    best = None
    for run in sorted((r for r in runs if not r.get("skipped")), key=lambda r: r["pairs"]):
        added = run["token_latency_ms"]["added"]["p99"]
        ok = (
            run["retention"] >= 0.99
            and added is not None
            and added <= 50
            and run["duet"]["done"] == run["duet"]["streams"]
        )
        if not ok:
            break
        best = run["pairs"]
    return best


def targets(runs: list[dict]) -> dict:
    """The issue's targets on a 2-core machine, and whether each N met them."""
    by = {r["pairs"]: r for r in runs if not r.get("skipped")}

    def check(n: int, value: Any, limit: float, above: bool) -> dict:
        if n not in by or value is None:
            return {"pairs": n, "value": None, "met": None}
        return {"pairs": n, "value": value, "met": value >= limit if above else value <= limit}

    r100, r50 = by.get(100), by.get(50)
    return {
        "retention_at_100_pairs_ge_0.99": check(100, r100 and r100["retention"], 0.99, above=True),
        "added_token_latency_p99_at_50_pairs_le_10ms": check(
            50, r50 and r50["token_latency_ms"]["added"]["p99"], 10, above=False
        ),
        "added_ttft_p50_le_25ms": {
            str(n): check(n, r["ttft_ms"]["added"]["p50"], 25, above=False)["met"]
            for n, r in sorted(by.items())
        },
    }
