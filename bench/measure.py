"""What the benchmark measures besides the clients' timings: CPU seconds, time spent waiting
for a CPU and resident memory of the processes under test (from /proc), Redis's CPU, and the
machine."""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import resource

import redis

from bench.tally import Tally
from tests.stack import proc_stat

_CLK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """CPU seconds (user + system) the processes have used so far."""
    return sum(st[1] for st in map(proc_stat, pids) if st is not None)


def run_queue_seconds(pids: list[int]) -> float | None:
    """Seconds the processes' living threads have spent runnable but waiting for a CPU
    (`/proc/<pid>/task/*/schedstat`), or None where the kernel does not keep it."""
    total, seen = 0, False
    for pid in pids:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                    total += int(f.read().split()[1])
                    seen = True
            except (OSError, IndexError, ValueError):
                pass
    return total / 1e9 if seen else None


def rss_kib(pids: list[int]) -> int:
    """Summed resident set size of the processes, in KiB."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # guest time is already counted in user
    return (total - idle) / _CLK, total / _CLK


class Sampler:
    """Polls the web processes' RSS during the Duet phase."""

    def __init__(self, web_pids: list[int], idle_kib: int, every: float = 0.1) -> None:
        self.web_pids, self.every = web_pids, every
        self.idle_kib = idle_kib  # after the warm-up, before the first N
        self.peak_kib = rss_kib(web_pids)
        self.open_at_peak = 0

    async def watch(self, tally: Tally) -> None:
        """Until cancelled, note the peak RSS and how many sockets were open at it."""
        while True:
            kib = rss_kib(self.web_pids)
            if kib > self.peak_kib:
                self.peak_kib, self.open_at_peak = kib, tally.open_sockets
            await asyncio.sleep(self.every)


def redis_cpu(client: redis.Redis) -> float:
    """CPU seconds (user + system) the Redis server has used so far (`INFO cpu`)."""
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def cpu_snapshot(pids: dict[str, list[int]], redis_client: redis.Redis) -> dict[str, float]:
    """CPU seconds so far of each part (by name), Redis, this process and the machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    snap = {name: cpu_seconds(p) for name, p in pids.items()}
    snap["redis"] = redis_cpu(redis_client)
    snap["bench_clients"] = usage.ru_utime + usage.ru_stime
    snap["machine_busy"], snap["machine_total"] = machine_busy()
    return snap


def wait_snapshot(pids: dict[str, list[int]]) -> dict[str, float | None]:
    """Seconds each part's threads have waited for a CPU so far (None: not kept)."""
    return {name: run_queue_seconds(p) for name, p in pids.items()}


def waited(before: dict, after: dict) -> dict[str, float | None]:
    """The waits between two `wait_snapshot`s (None where either is unknown)."""
    return {
        k: None if before[k] is None or after[k] is None else max(0.0, after[k] - before[k])
        for k in before
    }


def machine_info() -> dict:
    """The machine: cores, CPU model, memory, kernel, Python, load average now."""
    model, mhz = "unknown", None
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name") and model == "unknown":
                model = line.split(":", 1)[1].strip()
            elif line.startswith("cpu MHz") and mhz is None:
                mhz = float(line.split(":", 1)[1])
    mem_kib = 0
    with contextlib.suppress(OSError), open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    return {
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "cpu_mhz": mhz,
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg_at_start": [float(v) for v in os.getloadavg()],
    }
