"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict:
    """The process is up and serving HTTP."""
    return {"status": "ok"}


class ReadyOut(BaseModel):
    status: str  # ready | not_ready
    checks: dict[str, bool]
    loading: list[str]
    # Shared parts this worker is working without, ready all the same: "vector_store" (the Chroma server
    # does not answer: answers come from this worker's copy of the index; indexing waits), "redis"
    # (rate limits are counted per worker, events between workers wait for it).
    degraded: list[str]
    indexed_chunks: int
    index_version: str | None  # the same on every host serving the same index
    models: dict[str, str | None]  # the file each learned model was built into (its data hash in the name)
    ingesting: bool
    error: str | None = None


@router.get("/readyz", response_model=None, responses={200: {"model": ReadyOut, "description": "ready"},
                                                       503: {"model": ReadyOut, "description": "not ready yet"}})
def readyz(request: Request) -> JSONResponse:
    """Database reachable, index and learned models loaded: the service can answer. `loading` names
    what is still being loaded or indexed (the speech model too, though a turn does not wait for it)."""
    state = request.app.state
    kb = getattr(state, "kb", None)
    models = getattr(state, "models", None)
    models_loading = models.loading() if models is not None else ["models"]
    checks = {
        "database": state.db.ping(),
        "embeddings": kb is not None,
        "index": bool(kb and kb.ready),
        "faq": bool(kb) and not kb.faq_pending,
        "intent_model": bool(getattr(state, "parser", None) and state.parser.classifier.ready),
        "models": not models_loading,
    }
    loading = ([] if kb is None or kb.ready and not kb.ingesting else ["knowledge_base_index"]) + \
        (["faq"] if kb is not None and kb.faq_pending else []) + models_loading
    if getattr(state, "speech_loading", False):
        loading.append("speech_model")
    degraded = [name for name, ok in (
        ("vector_store", kb is None or kb.index.store_reachable),
        ("redis", all(getattr(part, "healthy", True) for part in (getattr(state, "rate_counter", None),
                                                                     getattr(state, "events", None)))),
    ) if not ok]
    body = {
        "status": "ready" if all(checks.values()) else "not_ready",
        "checks": checks,
        "loading": loading,
        "degraded": degraded,
        "indexed_chunks": len(kb.index.lexical.chunks) if kb else 0,
        "index_version": kb.index_version if kb else None,
        "models": models.built_files() if models is not None else {},
        "ingesting": bool(kb and kb.ingesting),
    }
    if state.startup_error:
        body["error"] = state.startup_error
    return JSONResponse(body, status_code=200 if body["status"] == "ready" else 503)
