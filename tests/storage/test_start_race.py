"""Two workers starting together on an empty PostgreSQL database: one migrates and seeds, the
other waits and finds it done. Twenty cold starts in a row, each on a database of its own,
without an error (before the advisory lock, about two in five hit a UniqueViolation)."""

from __future__ import annotations

import multiprocessing
import traceback
import uuid

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_URL

ROUNDS = 20


def _worker(barrier, jobs, results) -> None:
    """One 'worker process': for each database it is given, start as the service does."""
    from assistant.nlu import default_master
    from assistant.storage import Database
    from assistant.tools.simulator import SimulatedBrokerage, seed_demo_data, system_clock

    master = default_master()
    while (url := jobs.get()) is not None:
        db = Database(url)
        try:
            barrier.wait(timeout=60)  # both start at the same moment
            db.migrate()
            seed_demo_data(db, SimulatedBrokerage(db, master, system_clock))
            results.put("ok")
        except Exception:
            results.put(traceback.format_exc())
        finally:
            db.dispose()


@pytest.mark.postgres
def test_two_workers_start_on_an_empty_postgresql_twenty_times() -> None:
    if not POSTGRES_URL:
        pytest.skip("ASSISTANT_TEST_DATABASE_URL is not set")
    name = f"test_start_race_{uuid.uuid4().hex[:8]}"
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    queues = [ctx.Queue(), ctx.Queue()]
    workers = [ctx.Process(target=_worker, args=(barrier, q, results), daemon=True) for q in queues]
    for w in workers:
        w.start()
    try:
        for _ in range(ROUNDS):
            with admin.connect() as c:  # dropped and created again: every round starts empty
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                c.execute(text(f'CREATE DATABASE "{name}"'))
            for q in queues:
                q.put(url)
            outcomes = [results.get(timeout=120) for _ in workers]
            assert outcomes == ["ok", "ok"], "\n".join(o for o in outcomes if o != "ok")
            check = create_engine(url)
            with check.connect() as c:
                from assistant.tools.simulator.models import SimCustomer

                assert c.scalar(text("SELECT count(*) FROM alembic_version")) == 1
                assert c.scalar(select(func.count()).select_from(SimCustomer)) == 6  # seeded once
            check.dispose()
    finally:
        for q in queues:
            q.put(None)
        for w in workers:
            w.join(timeout=10)
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
