"""The chunk index: Chroma is the store of record for chunks and their vectors; each worker searches
an in-memory snapshot of it (BM25 over the texts, exact cosine over the vectors).

The snapshot is read from Chroma at start-up, after each ingestion and whenever the registry says
another process changed the index (KnowledgeBase.sync); at 10,000 chunks reading it takes about a
second and an exact search a millisecond. A turn never waits on the vector store: with the Chroma
server unreachable or hung, answers go on from the snapshot, and only indexing waits for it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import bm25s
import chromadb
import httpx
import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.config import Settings as ChromaSettings

from assistant.llm import Embedder
from assistant.rag.chunking import Chunk, search_text
from assistant.rag.text import bm25_terms, tokenize


class _ChromaEmbedding(EmbeddingFunction[Documents]):
    """Our embedder as Chroma's embedding function, so Chroma never falls back to its own
    default (which would download an ONNX model). We pass vectors explicitly anyway."""

    def __init__(self, embedder: Embedder | None = None) -> None:
        self._embedder = embedder

    def __call__(self, input: Documents) -> Embeddings:  # noqa: A002 - Chroma's signature
        if self._embedder is None:
            raise RuntimeError("embedding function used without an embedder")
        return list(self._embedder.embed_documents(list(input)))

    @staticmethod
    def name() -> str:
        return "investor-assistant"

    def get_config(self) -> dict:
        return {}

    @staticmethod
    def build_from_config(config: dict) -> "_ChromaEmbedding":
        return _ChromaEmbedding()


HTTP_TIMEOUT_S = 30.0  # a hung Chroma server must not hang an ingestion or a reload forever


def chroma_client(*, path: Path | None = None, host: str | None = None, port: int = 8000):
    settings = ChromaSettings(anonymized_telemetry=False)
    if host:
        client = chromadb.HttpClient(host=host, port=port, settings=settings)
        session = getattr(getattr(client, "_server", None), "_session", None)  # the client's httpx session
        if session is not None:  # chromadb leaves its timeout unset (wait forever)
            session.timeout = httpx.Timeout(HTTP_TIMEOUT_S, connect=3.0)
        return client
    assert path is not None
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=settings)


@dataclass
class StoredChunk:
    id: str
    text: str
    meta: dict

    @property
    def search_text(self) -> str:
        # The same text that was embedded at ingestion, so BM25 and vectors see one passage.
        return search_text(str(self.meta.get("title", "")), str(self.meta.get("section", "")), self.text)


class _Lexical:
    """An immutable BM25 snapshot; swapped whole so readers never see a half-built index."""

    def __init__(self, chunks: list[StoredChunk], vectors: np.ndarray | None = None) -> None:
        self.chunks = chunks
        self.position = {chunk.id: i for i, chunk in enumerate(chunks)}
        # Unit rows, in the chunks' order: the dense search is one matrix product over them.
        vectors = np.zeros((0, 0), dtype=np.float32) if vectors is None else np.asarray(vectors, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True) if vectors.size else None
        self.vectors = vectors / np.maximum(norms, 1e-12) if norms is not None else vectors
        self.doc_types = np.array([c.meta.get("doc_type", "") for c in chunks])
        self.bm25 = bm25s.BM25(k1=1.2, b=0.75)
        corpus = [tokenize(c.search_text) for c in chunks]
        self.token_sets = [frozenset(tokens) for tokens in corpus]
        if chunks:
            terms = [bm25_terms(words, c.search_text) or ["\u0000"] for words, c in zip(corpus, chunks, strict=True)]
            self.bm25.index(terms, show_progress=False)
        # Inverse document frequency per token, reused to weigh words when picking answer sentences.
        frequency: dict[str, int] = {}
        for tokens in corpus:
            for token in set(tokens):
                frequency[token] = frequency.get(token, 0) + 1
        n = max(len(chunks), 1)
        self.idf = {t: float(np.log(1 + (n - f + 0.5) / (f + 0.5))) for t, f in frequency.items()}
        self.default_idf = float(np.log(1 + (n + 0.5) / 0.5))

    def nearest(self, vector: np.ndarray, n: int, doc_type: str | None = None) -> list[tuple[int, float]]:
        """(position, cosine similarity) of the n nearest chunks, best first: exact, over the snapshot."""
        if not self.chunks or not self.vectors.size:
            return []
        query = np.asarray(vector, dtype=np.float32)
        similarity = self.vectors @ (query / max(float(np.linalg.norm(query)), 1e-12))
        if doc_type:
            similarity = np.where(self.doc_types == doc_type, similarity, -np.inf)
        n = min(n, len(similarity))
        top = np.argpartition(-similarity, n - 1)[:n]
        top = top[np.argsort(-similarity[top], kind="stable")]
        return [(int(i), float(similarity[i])) for i in top if np.isfinite(similarity[i])]

    def scores(self, terms: list[str]) -> np.ndarray:
        if not self.chunks or not terms:
            return np.zeros(len(self.chunks), dtype=np.float32)
        return np.asarray(self.bm25.get_scores(terms), dtype=np.float32)


class ChunkIndex:
    def __init__(self, client, collection: str, embedder: Embedder) -> None:
        self.embedder = embedder
        # One collection per vector space: switching embedders never mixes incompatible vectors.
        name = f"{collection}-{_slug(embedder.name)}"
        self._collection = client.get_or_create_collection(
            name=name,
            embedding_function=_ChromaEmbedding(embedder),
            configuration={"hnsw": {"space": "cosine", "ef_search": 64}},
        )
        self._lock = threading.Lock()
        self._lexical = _Lexical([])  # empty until refresh_lexical (KnowledgeBase reads it when it opens)
        self.store_reachable = True

    # ---- writing -------------------------------------------------------------------------
    def replace_document(self, doc_path: str, chunks: list[Chunk], vectors: np.ndarray) -> None:
        """Swap one document's chunks for a new set (delete first: the new set may be smaller)."""
        self.delete_document(doc_path)
        for start in range(0, len(chunks), 1000):
            batch = chunks[start : start + 1000]
            self._collection.add(
                ids=[c.id for c in batch],
                documents=[c.text for c in batch],
                metadatas=[c.metadata() for c in batch],
                embeddings=vectors[start : start + len(batch)].tolist(),
            )

    def delete_document(self, doc_path: str) -> None:
        self._collection.delete(where={"doc_path": doc_path})

    def clear(self) -> None:
        ids = self._collection.get(include=[])["ids"]
        for start in range(0, len(ids), 5000):
            self._collection.delete(ids=ids[start : start + 5000])

    def refresh_lexical(self) -> None:
        """Read the snapshot (texts, metadata and vectors) from the store and swap it in whole."""
        try:
            stored = self._collection.get(include=["documents", "metadatas", "embeddings"])
        except Exception:
            self.store_reachable = False
            raise
        self.store_reachable = True
        rows = sorted(
            zip(stored["ids"], stored["documents"], stored["metadatas"], stored["embeddings"], strict=True),
            key=lambda r: ((r[2] or {}).get("doc_path", ""), int((r[2] or {}).get("position", 0))),
        )
        chunks = [StoredChunk(id=i, text=d or "", meta=m or {}) for i, d, m, _ in rows]
        vectors = np.asarray([e for *_, e in rows], dtype=np.float32) if rows else None
        lexical = _Lexical(chunks, vectors)
        with self._lock:
            self._lexical = lexical

    def check_store(self) -> bool:
        """Whether the vector store answers now (a cheap call); remembered for /readyz."""
        try:
            self._collection.count()
            self.store_reachable = True
        except Exception:
            self.store_reachable = False
        return self.store_reachable

    # ---- reading -------------------------------------------------------------------------
    @property
    def lexical(self) -> _Lexical:
        with self._lock:
            return self._lexical

    def vectors(self, ids: list[str]) -> np.ndarray:
        """Stored vectors (unit length) for these chunk ids, in the order given."""
        lexical = self.lexical
        return np.asarray([lexical.vectors[lexical.position[i]] for i in ids], dtype=np.float32)

    def doc_chunk_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for chunk in self.lexical.chunks:
            path = chunk.meta.get("doc_path", "")
            counts[path] = counts.get(path, 0) + 1
        return counts

    def dense_search(self, vector: np.ndarray, n: int, doc_type: str | None = None) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity), best first: exact, over this worker's snapshot (no call to the store)."""
        lexical = self.lexical
        return [(lexical.chunks[p].id, similarity) for p, similarity in lexical.nearest(vector, n, doc_type)]


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-")[:40]
