"""Engine, sessions and start-up migrations for SQLite (embedded default) or PostgreSQL.

Several workers start at once: migrations (and any other start-up step that checks and then
writes) run under `exclusive(name)`, a PostgreSQL advisory lock held on a connection of its own,
so one worker migrates while the others wait and then find nothing to do. On SQLite the lock is
a file lock beside the database (an in-process lock for an in-memory one).
"""

from __future__ import annotations

import fcntl
import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, exc, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_THREAD_LOCKS: dict[tuple[str, str], threading.Lock] = {}
# A pooled connection idle longer than this is checked (a round trip) before it is handed out; one in
# steady use is not. A turn opens several sessions: pinging each (SQLAlchemy's pool_pre_ping) was about
# a fifth of a turn's round trips to PostgreSQL.
IDLE_PING_S = 5.0


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers work while a writer commits; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _checked_in(_dbapi_connection, record) -> None:
    record.info["checked_in"] = time.monotonic()


class Database:
    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        if self.url.get_backend_name() == "sqlite" and self.url.database not in (None, "", ":memory:"):
            Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(self.url)
        if self.url.get_backend_name() == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            event.listen(self.engine, "checkout", self._ping_if_idle)
            event.listen(self.engine, "checkin", _checked_in)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def _ping_if_idle(self, dbapi_connection, record, _proxy) -> None:
        """A connection that sat in the pool may have outlived the server (a restart, a failover):
        checked, and replaced when dead, so the request gets a live one. The pool then drops the rest."""
        if time.monotonic() - record.info.get("checked_in", 0.0) <= IDLE_PING_S:
            return
        try:
            alive = self.engine.dialect.do_ping(dbapi_connection)
        except Exception:
            alive = False
        if not alive:
            raise exc.DisconnectionError("stale connection")

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (idempotent; one worker at a time)."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self.exclusive("migrate"), self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """Held by one process (and one thread) at a time, across every worker using this database."""
        with _THREAD_LOCKS.setdefault((str(self.url), name), threading.Lock()):
            if self.url.get_backend_name() == "postgresql":
                key = int.from_bytes(hashlib.sha256(f"assistant:{name}".encode()).digest()[:8], "big", signed=True)
                with self.engine.connect() as connection:
                    connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
                    try:
                        yield
                    finally:
                        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                        connection.commit()
            elif self.url.database not in (None, "", ":memory:"):
                with open(f"{self.url.database}.{name}.lock", "a+b") as handle:
                    fcntl.flock(handle, fcntl.LOCK_EX)
                    try:
                        yield
                    finally:
                        fcntl.flock(handle, fcntl.LOCK_UN)
            else:
                yield

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed on success, rolled back on any error."""
        with self.sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def ping(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        self.engine.dispose()
