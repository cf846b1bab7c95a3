"""The optional chat LLM: any OpenAI-compatible endpoint through langchain-openai."""

from __future__ import annotations

from langchain_core.language_models.chat_models import BaseChatModel

from assistant.settings import Settings


def build_chat_model(settings: Settings, *, timeout_s: float | None = None, model: str | None = None,
                     temperature: float | None = None) -> BaseChatModel | None:
    """None when no endpoint is configured: every caller has a deterministic path without it.
    The guard judge asks for its own (shorter) timeout, model and temperature."""
    if not settings.llm_enabled:
        return None
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else "none",
        model=model or settings.llm_model,
        temperature=settings.llm_temperature if temperature is None else temperature,
        timeout=timeout_s or settings.llm_timeout_s,
        # The caller falls back to the extractive answer; retrying would only double the wait.
        max_retries=0,
    )
