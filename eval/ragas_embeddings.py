"""Our embedder in the shape ragas' answer-relevancy metric expects."""

from __future__ import annotations

from ragas.embeddings import BaseRagasEmbeddings


class AssistantEmbeddings(BaseRagasEmbeddings):
    def __init__(self, embedder) -> None:
        super().__init__()
        self._embedder = embedder

    def embed_query(self, text: str) -> list[float]:
        return self._embedder.embed_query(text).tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._embedder.embed_documents(texts).tolist()

    async def aembed_query(self, text: str) -> list[float]:
        return self.embed_query(text)

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_documents(texts)
