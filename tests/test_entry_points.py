"""The web and worker entry points: what they do to the process once the app is loaded."""

from __future__ import annotations

import os
import subprocess
import sys

import config
from tests.conftest import APP_REDIS_URL

# Start-up objects (Flask, SQLAlchemy, Celery) the collector must no longer scan: a full
# collection over them paused a process's every stream for 40-100 ms.
FROZEN_AT_LEAST = 50_000


def _run(code: str, tmp_path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DUET_", "FLASK_"))}
    env.update(
        {
            "DUET_INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'duet.sqlite3'}",
            "REDIS_URL": APP_REDIS_URL,
            "SECRET_KEY": "test-secret-key",
        }
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=config.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_web_entry_point_freezes_the_start_up_heap(tmp_path):
    out = _run("import gc, wsgi; print(gc.get_freeze_count())", tmp_path)
    assert int(out) >= FROZEN_AT_LEAST


def test_a_ready_worker_freezes_the_start_up_heap(tmp_path):
    code = (
        "import gc\n"
        "from celery.signals import worker_ready, worker_shutdown\n"
        "import worker.celery_app\n"
        "before = gc.get_freeze_count()\n"
        "worker_ready.send(sender=None)\n"
        "worker_shutdown.send(sender=None)\n"
        "print(before, gc.get_freeze_count())\n"
    )
    before, after = map(int, _run(code, tmp_path).split())
    assert before == 0
    assert after >= FROZEN_AT_LEAST
