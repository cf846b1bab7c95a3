"""Retrieval-augmented answers from the knowledge base: ingestion, hybrid search, citations."""

from assistant.rag.answer import NOT_FOUND_TEXT, Answer, RelevanceGate
from assistant.rag.faq import FaqEntry, FaqMatch
from assistant.rag.index import ChunkIndex, chroma_client
from assistant.rag.ingest import IngestReport
from assistant.rag.retrieval import SearchHit
from assistant.rag.service import KnowledgeBase

__all__ = [
    "NOT_FOUND_TEXT",
    "Answer",
    "ChunkIndex",
    "FaqEntry",
    "FaqMatch",
    "IngestReport",
    "KnowledgeBase",
    "RelevanceGate",
    "SearchHit",
    "chroma_client",
]
