"""Incremental ingestion: new and changed files are (re-)embedded, deleted files leave the index.

The relational registry (kb_documents) remembers each file's content hash and embedding model;
a file whose hash and model match, and whose chunks are present, is not touched.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from assistant.rag.chunking import chunk_document
from assistant.rag.index import ChunkIndex
from assistant.rag.loaders import SUPPORTED_SUFFIXES, DocumentLoadError, load_document
from assistant.storage import Database, KbDocument

log = logging.getLogger(__name__)
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    chunks_embedded: int = 0
    seconds: float = 0.0
    index_version: str = ""

    @property
    def chunks_per_second(self) -> float:
        return self.chunks_embedded / self.seconds if self.seconds > 0 else 0.0


Progress = Callable[[str, int, int], None]  # (relative path, files done, files total)


def discover(kb_dir: Path) -> dict[str, Path]:
    """Every supported file under the knowledge-base root, by relative path."""
    found: dict[str, Path] = {}
    for path in sorted(kb_dir.rglob("*")):
        relative = path.relative_to(kb_dir).as_posix()
        if not path.is_file() or path.suffix.lower() not in SUPPORTED_SUFFIXES:
            continue
        if any(part.startswith((".", "_")) for part in Path(relative).parts):
            continue
        if relative == "README.md":  # the authoring guide, not knowledge
            continue
        found[relative] = path
    return found


class Ingestor:
    def __init__(self, db: Database, index: ChunkIndex, kb_dir: Path) -> None:
        self.db = db
        self.index = index
        self.kb_dir = kb_dir

    def version(self) -> str:
        """The index's version as the registry records it: a digest of every document's path, content
        hash, chunk count and embedding model. It changes with any ingestion that changed the index,
        wherever it ran, so a host that reads another version than the one it loaded reloads."""
        digest = hashlib.sha256()
        with self.db.session() as session:
            rows = session.execute(select(KbDocument.path, KbDocument.content_sha256, KbDocument.chunk_count,
                                          KbDocument.embedding_model).order_by(KbDocument.path))
            for row in rows:
                digest.update("\x1f".join(str(v) for v in row).encode() + b"\x1e")
        return digest.hexdigest()[:16]

    def run(self, *, rebuild: bool = False, progress: Progress | None = None,
            snapshot_version: str | None = None) -> IngestReport:
        """`snapshot_version`: the version the index's in-memory snapshot was read at. When the store
        is still at it and no file changed, the snapshot is not read again (a restart's case: reading
        and tokenizing every chunk costs about a second each time)."""
        # One ingestion at a time across every worker and host sharing the database (and so the vector
        # store): the first indexes, the others wait here and then find the files unchanged.
        with self.db.exclusive("kb-ingest"):
            return self._run(rebuild=rebuild, progress=progress, snapshot_version=snapshot_version)

    def _run(self, *, rebuild: bool, progress: Progress | None, snapshot_version: str | None) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport()
        files = discover(self.kb_dir) if self.kb_dir.is_dir() else {}
        if snapshot_version is None or self.version() != snapshot_version:
            self.index.refresh_lexical()  # what the store holds now, which another host may just have written
        with self.db.session() as session:
            registry = {doc.path: doc for doc in session.scalars(select(KbDocument))}
        present = self.index.doc_chunk_counts()
        if rebuild:
            self.index.clear()
            present = {}

        for done, (relative, path) in enumerate(files.items(), start=1):
            if progress:
                progress(relative, done, len(files))
            try:
                data = path.read_bytes()
            except OSError as exc:
                report.failed.append((relative, f"无法读取文件：{exc.strerror or exc}"))
                continue
            digest = hashlib.sha256(data).hexdigest()
            known = registry.get(relative)
            if (
                known is not None
                and known.content_sha256 == digest
                and known.embedding_model == self.index.embedder.name
                and present.get(relative) == known.chunk_count
            ):
                report.unchanged += 1
                continue
            try:
                document = load_document(path, relative, data)
            except DocumentLoadError as exc:
                log.warning("skipped %s: %s", relative, exc)
                report.failed.append((relative, str(exc)))
                # The file now holds something else: never keep answering from its superseded text.
                if known is not None or relative in present:
                    self._forget(relative)
                continue
            chunks = chunk_document(document)
            vectors = self.index.embedder.embed_documents([c.search_text for c in chunks])
            self.index.replace_document(relative, chunks, vectors)
            report.chunks_embedded += len(chunks)
            (report.updated if known is not None else report.added).append(relative)
            with self.db.session() as session:
                session.merge(
                    KbDocument(
                        path=relative,
                        content_sha256=digest,
                        title=document.title,
                        doc_type=document.doc_type,
                        source=document.source,
                        effective_date=document.effective_date,
                        version=document.version,
                        chunk_count=len(chunks),
                        embedding_model=self.index.embedder.name,
                        indexed_at=datetime.now(SHANGHAI),
                    )
                )

        # Files that disappeared, and chunks left behind by files the registry no longer knows.
        stale = (set(registry) | set(present)) - set(files)
        for relative in sorted(stale):
            self._forget(relative)
            report.removed.append(relative)

        report.index_version = self.version()  # read before the reload: a later change is seen as one
        wrote = rebuild or report.added or report.updated or report.removed or report.failed
        if wrote or report.index_version != snapshot_version:  # (a file re-embedded unchanged keeps the version)
            self.index.refresh_lexical()
        report.seconds = time.perf_counter() - started
        return report

    def _forget(self, relative: str) -> None:
        self.index.delete_document(relative)
        with self.db.session() as session:
            doc = session.get(KbDocument, relative)
            if doc is not None:
                session.delete(doc)
