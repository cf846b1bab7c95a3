"""The harness stops everything it started, even when it is itself killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from scripts.cluster import PROJECT_ROOT
from tests.cluster.conftest import _missing

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

START = f"""
import sys, time
sys.path.insert(0, {str(PROJECT_ROOT)!r})
from scripts.cluster import Cluster
cluster = Cluster(hosts_count=1, workers=2, kb_dir={str(FIXTURES / 'kb_small')!r})
cluster.start(wait=False)
print(cluster.state_dir, flush=True)
time.sleep(600)
"""


def _alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def test_a_killed_harness_leaves_no_server_database_or_directory_behind() -> None:
    if (missing := _missing()) is not None:
        pytest.skip(missing)
    harness = subprocess.Popen([sys.executable, "-c", START], stdout=subprocess.PIPE, text=True, cwd=PROJECT_ROOT)
    state_dir = Path(harness.stdout.readline().strip())
    state = json.loads((state_dir / "reaper.json").read_text())
    assert len(state["groups"]) == 3 and all(_alive(g) for g in state["groups"])  # Chroma, Redis, the host
    time.sleep(3)  # the host's supervisor has started its workers
    harness.send_signal(signal.SIGKILL)
    harness.wait()

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (any(_alive(g) for g in state["groups"]) or state_dir.exists()):
        time.sleep(0.2)
    assert not any(_alive(g) for g in state["groups"])  # every process of every group, workers included
    assert not state_dir.exists()
    with psycopg.connect(state["admin_url"]) as conn:
        left = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (state["drop_database"],)).fetchall()
    assert not left
