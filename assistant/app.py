"""The FastAPI app factory: the one place where the parts are built and wired together."""

from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager

from fastapi import FastAPI

from assistant.channels import health_router, install_error_handlers, kb_router
from assistant.llm import build_chat_model, build_embedder
from assistant.rag import ChunkIndex, KnowledgeBase, chroma_client
from assistant.settings import Settings, get_settings
from assistant.storage import Database

log = logging.getLogger(__name__)


def build_knowledge_base(settings: Settings, db: Database) -> KnowledgeBase:
    client = chroma_client(path=settings.resolved_chroma_path, host=settings.chroma_host, port=settings.chroma_port)
    index = ChunkIndex(client, settings.chroma_collection, build_embedder(settings))
    return KnowledgeBase(
        db=db,
        index=index,
        kb_dir=settings.kb_dir,
        prompts_dir=settings.prompts_dir,
        llm=build_chat_model(settings),
    )


def create_app(settings: Settings | None = None, *, ingest_in_background: bool = True) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.settings = settings
        app.state.startup_error = None
        app.state.kb = None
        app.state.db = db = Database(settings.resolved_database_url)
        db.migrate()
        try:
            app.state.kb = kb = build_knowledge_base(settings, db)
        except Exception as exc:  # keep serving /healthz and /readyz, which report the cause
            log.exception("knowledge base failed to load")
            app.state.startup_error = f"知识库加载失败：{type(exc).__name__}"
            kb = None
        if kb is not None and settings.ingest_on_startup:
            # The first start builds the index; later starts only look for changed files.
            # In the background, so the service answers health checks while it works.
            def ingest() -> None:
                try:
                    report = kb.ingest()
                    log.info(
                        "knowledge base: %d added, %d updated, %d removed, %d unchanged, %d failed",
                        len(report.added), len(report.updated), len(report.removed), report.unchanged, len(report.failed),
                    )
                    for path, reason in report.failed:
                        log.warning("knowledge base file skipped: %s (%s)", path, reason)
                except Exception:
                    log.exception("ingestion failed")

            if ingest_in_background:
                threading.Thread(target=ingest, name="kb-ingest", daemon=True).start()
            else:
                ingest()
        yield
        db.dispose()

    app = FastAPI(
        title="明川证券投顾客服助手",
        version="0.1.0",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(health_router)
    app.include_router(kb_router)
    return app
