"""What the benchmark prints: a line per N as it goes, then the table and the raw figures."""

from __future__ import annotations

from typing import Any

from bench.stamps import LATE_TICKS, TICK_NS, TOKEN_CHARS


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def print_table(result: dict) -> None:
    """The machine, the settings, one row per N, the raw figures, capacity and targets."""
    m = result["machine"]
    print()
    print(
        f"Machine: {m['cores']} cores ({m['cores_usable']} usable), {m['cpu_model']}, "
        f"{m['memory_gib']} GiB; Python {m['python']}; load average at start "
        f"{' '.join(f'{v:.2f}' for v in m['loadavg_at_start'])}"
    )
    s = result["settings"]
    print(
        f"Upstream: {s['tokens']} tokens x {TOKEN_CHARS} chars at {s['rate']:g} tokens/s per "
        f"stream; arrivals over {s['ramp']:g} s; web {s['web_procs']} gunicorn {s['web_pool']} "
        f"processes; {s['worker_procs']} Celery worker process(es) x {s['worker_threads']} "
        f"{s['worker_pool']}; {s['database']}"
    )
    head = (
        f"{'pairs':>5} | {'retention':>9} | {'TTFT +p50':>9} {'+p99':>7} | {'token +p50':>10} "
        f"{'+p99':>7} | {'relay CPU':>9} {'web':>6} {'worker':>6} | {'bytes/token':>11} "
        f"{'direct':>6} | {'slots ok':>9}"
    )
    units = (
        f"{'':>5} | {'':>9} | {'ms':>9} {'ms':>7} | {'ms':>10} {'ms':>7} | {'ms/token':>9} "
        f"{'':>6} {'':>6} | {'':>11} {'':>6} | {'':>9}"
    )
    print()
    print(head)
    print(units)
    print("-" * len(head))
    for r in result["runs"]:
        if r.get("skipped"):
            print(f"{r['pairs']:>5} | skipped: {r['skipped']}")
            continue
        ta, la = r["ttft_ms"]["added"], r["token_latency_ms"]["added"]
        ok = f"{r['duet']['done']}/{r['duet']['streams']}"
        cpu, wire = r["relay_cpu_ms_per_token"], r["wire_bytes_per_token"]
        print(
            f"{r['pairs']:>5} | {r['retention']:>9.3f} | {_fmt(ta['p50']):>9} {_fmt(ta['p99']):>7}"
            f" | {_fmt(la['p50']):>10} {_fmt(la['p99']):>7} | {_fmt(cpu['total'], 3):>9} "
            f"{_fmt(cpu['web'], 3):>6} {_fmt(cpu['worker'], 3):>6} | {_fmt(wire['duet']):>11} "
            f"{_fmt(wire['baseline']):>6} | {ok:>9}"
        )
    print()
    print("Raw figures (Duet / direct baseline), and where the CPU went during the Duet phase")
    print("(cores busy = CPU seconds / phase seconds):")
    for r in result["runs"]:
        if r.get("skipped"):
            continue
        t, lat, c = r["ttft_ms"], r["token_latency_ms"], r["cpu_cores_busy"]
        tp = r["throughput_tokens_per_s"]
        print(
            f"  N={r['pairs']:<4} TTFT p50 {_fmt(t['duet']['p50'])}/{_fmt(t['baseline']['p50'])}"
            f" p99 {_fmt(t['duet']['p99'])}/{_fmt(t['baseline']['p99'])} ms; token p50 "
            f"{_fmt(lat['duet']['p50'], 2)}/{_fmt(lat['baseline']['p50'], 2)} p99 "
            f"{_fmt(lat['duet']['p99'], 2)}/{_fmt(lat['baseline']['p99'], 2)} max "
            f"{_fmt(lat['duet']['max'])}/{_fmt(lat['baseline']['max'])} ms; tokens/s delivered "
            f"{_fmt(tp['delivered'], 0)}, model produced {_fmt(tp['baseline_upstream'], 0)} "
            f"direct, {_fmt(tp['upstream'], 0)} for Duet (nominal {_fmt(tp['nominal'], 0)}, "
            f"{_fmt(tp['nominal_over_phase'], 0)} over the phase with its arrival ramp)"
        )
        print(
            "          cores busy: "
            + ", ".join(f"{k} {_fmt(v, 2)}" for k, v in c.items())
            + f"; web RSS {_fmt(r['web_rss_mib']['idle'])} -> {_fmt(r['web_rss_mib']['peak'])}"
            f" MiB ({_fmt(r['rss_per_socket_kib'], 0)} KiB per socket); "
            f"{r['tokens']['delivered']}/{r['tokens']['expected']} tokens in "
            f"{r['tokens']['messages']} messages"
        )
        print(
            "          cores waiting for a CPU (runnable, not running): "
            + ", ".join(f"{k} {_fmt(v, 2)}" for k, v in r["cpu_cores_waiting"].items())
        )
        b = t["breakdown"]
        print(
            "          TTFT p50 parts: POST "
            f"{_fmt(b['post_turn']['p50'])}, POST -> model request "
            f"{_fmt(b['post_to_upstream_request']['p50'])}, first token relay "
            f"{_fmt(b['first_token_relay']['p50'])} ms (p99 "
            f"{_fmt(b['post_turn']['p99'])}, {_fmt(b['post_to_upstream_request']['p99'])}, "
            f"{_fmt(b['first_token_relay']['p99'])})"
        )
        late = lat["late_by_second"]
        print(
            f"          tokens over {LATE_TICKS * TICK_NS / 1e6:g} ms late: {sum(late)} of "
            f"{r['tokens']['delivered']}"
            + (f", by second since the first request: {late}" if late else "")
        )
        print(
            "          CPU ms per token delivered: "
            + ", ".join(f"{k} {_fmt(v, 3)}" for k, v in r["cpu_ms_per_token"].items())
            + " (direct baseline: "
            + ", ".join(f"{k} {_fmt(v, 3)}" for k, v in r["baseline_cpu_ms_per_token"].items())
            + ")"
        )
        if r["errors"]:
            print("          errors: " + " | ".join(r["errors"][:3]))
    cap = result["capacity"]
    print()
    print(
        f"Capacity: {cap['pairs'] if cap['pairs'] is not None else 'none'} pairs "
        f"({cap['criteria']})"
    )
    for name, t in result["targets"].items():
        if "pairs" in t:
            print(f"Target {name}: {_fmt(t['value'], 3)} -> {_verdict(t['met'])}")
        else:
            print(f"Target {name}: " + ", ".join(f"N={n} {_verdict(v)}" for n, v in t.items()))


def _verdict(met: bool | None) -> str:
    return "not measured" if met is None else ("met" if met else "MISSED")


def print_progress(row: dict, seconds: float) -> None:
    """The line printed as soon as an N is measured; `seconds` since the run began."""
    la = row["token_latency_ms"]["added"]
    cpu = row["relay_cpu_ms_per_token"]
    print(
        f"N={row['pairs']}: retention {row['retention']:.3f}, added TTFT p50 "
        f"{_fmt(row['ttft_ms']['added']['p50'])} ms, added token p99 {_fmt(la['p99'])} ms,"
        f" relay CPU {_fmt(cpu['total'], 3)} ms/token (web {_fmt(cpu['web'], 3)}, worker "
        f"{_fmt(cpu['worker'], 3)}), load {row['loadavg'][0]:.2f},"
        f" {row['duet']['done']}/{row['duet']['streams']} slots done "
        f"({seconds:.0f} s)",
        flush=True,
    )
