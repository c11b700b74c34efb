"""The real processes for integration tests and the benchmarks: gunicorn (web), Celery
workers, redis-server, the database migration, and the process tree under a pid."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
_CLK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """A child process whose output goes to a log file, stopped with its process group."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], logs: Path) -> None:
        self.name = name
        self.log_path = logs / f"{name}.log"
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self) -> str:
        """What the process printed so far."""
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        """Stop the process group, forcefully if it lingers."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)
        self._log.close()


def redis_server(port: int, workdir: Path) -> subprocess.Popen:
    """Start a throwaway redis-server on `port` that keeps nothing on disk."""
    return subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip


def start_private_redis(workdir: Path) -> tuple[subprocess.Popen, str]:
    """A redis-server of the test run's own on a free port, so runs never share data."""
    port = free_port()
    server = redis_server(port, workdir)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return server, f"redis://127.0.0.1:{port}/15"
        except OSError:
            time.sleep(0.05)
    server.kill()
    raise RuntimeError("the test run's redis-server did not start")


def wait_for_http(url: str, process: Process, timeout: float = 30) -> None:
    """Wait until `url` answers 200, or fail with the process's log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"{process.name} exited early:\n{process.log()[-4000:]}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{process.name} did not answer at {url}:\n{process.log()[-4000:]}")


def wait_for_worker(process: Process, timeout: float = 30) -> None:
    """Wait until the Celery worker says it is ready."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"worker exited early:\n{process.log()[-4000:]}")
        if "ready." in process.log():
            return
        time.sleep(0.1)
    raise RuntimeError(f"worker not ready:\n{process.log()[-4000:]}")


def _ready_or_stopped(process: Process, wait: Callable[[], None]) -> None:
    """Wait for a process just started; stop it if that fails or is interrupted (Ctrl-C, a
    SIGTERM turned into SystemExit), since the caller never got it to stop later."""
    try:
        wait()
    except BaseException:
        process.stop()
        raise


def start_web(
    env: dict[str, str],
    logs: Path,
    *,
    workers: int = 2,
    threads: int = 16,
    pool: str = "gthread",
) -> tuple[Process, str]:
    """gunicorn as in the Procfile (`pool`: its worker class); returns the process and its
    base URL."""
    port = free_port()
    web = Process(
        "web",
        [
            str(BIN / "gunicorn"),
            "-k",
            pool,
            "-w",
            str(workers),
            "--threads",
            str(threads),
            "-b",
            f"127.0.0.1:{port}",
            "--graceful-timeout",
            "3",
            "wsgi:app",
        ],
        env,
        logs,
    )
    url = f"http://127.0.0.1:{port}"
    _ready_or_stopped(web, lambda: wait_for_http(url + "/healthz", web))
    return web, url


def procfile_command(name: str, procfile: str = "Procfile") -> str:
    """The command line of the process type `name` in the project's Procfile."""
    for line in (ROOT / procfile).read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise KeyError(f"no {name}: line in {procfile}")


def start_procfile_web(
    env: dict[str, str], logs: Path, *, name: str = "web-procfile", procfile: str = "Procfile"
) -> tuple[Process, str]:
    """The Procfile's own `web:` command line, run by a shell as a platform runs it (its
    `${VAR:-default}`s read from `env`), on a free port; returns the process and its URL."""
    port = free_port()
    env = {**env, "PORT": str(port), "PATH": f"{BIN}:{env.get('PATH', '')}"}
    command = procfile_command("web", procfile)
    web = Process(name, ["/bin/sh", "-c", f"exec {command}"], env, logs)
    url = f"http://127.0.0.1:{port}"
    _ready_or_stopped(web, lambda: wait_for_http(url + "/healthz", web))
    return web, url


def start_worker(
    env: dict[str, str],
    logs: Path,
    *,
    name: str = "worker",
    concurrency: int = 8,
    pool: str = os.environ.get("DUET_TEST_WORKER_POOL", "gevent"),
) -> Process:
    """A Celery worker as in the Procfile."""
    worker = Process(
        name,
        [
            str(BIN / "celery"),
            "-A",
            "worker.celery_app",
            "worker",
            "--pool",
            pool,
            "--concurrency",
            str(concurrency),
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"{name}-{os.getpid()}@%h",
        ],
        env,
        logs,
    )
    _ready_or_stopped(worker, lambda: wait_for_worker(worker))
    return worker


def migrate(env: dict[str, str]) -> None:
    """`flask db upgrade` on the database of `env` (its DATABASE_URL)."""
    done = subprocess.run(
        [sys.executable, "-m", "flask", "db", "upgrade"],
        cwd=ROOT,
        env={**env, "FLASK_APP": "wsgi"},
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"flask db upgrade failed:\n{done.stdout}\n{done.stderr}")


def proc_stat(pid: int) -> tuple[int, float] | None:
    """(ppid, CPU seconds) of a process, from /proc/<pid>/stat, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _CLK


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = proc_stat(int(entry))
            if st is not None:
                children.setdefault(st[0], []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree
