"""Benchmarks for the knowledge base: ingestion throughput and search latency at 1k and 10k chunks.

    python -m eval.bench_kb            (or `make bench`)

Ingestion embeds the real knowledge_base/ into a scratch directory with the bundled model.
The larger corpora are made from the real chunks: texts recombined from real sentences and
vectors that are real chunk vectors plus small noise (re-normalised), so they cluster like real
data without spending minutes embedding filler. Latency is the whole hybrid search as the
service runs it: query normalisation, query embedding, Chroma HNSW, BM25 over the corpus, fusion.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from assistant.llm import build_embedder
from assistant.rag import ChunkIndex, KnowledgeBase, chroma_client
from assistant.rag.chunking import Chunk, split_sentences
from assistant.settings import PROJECT_ROOT, Settings
from assistant.storage import Database
from eval.golden import load_golden


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def build_synthetic(index: ChunkIndex, seed_chunks: list, seed_vectors: np.ndarray, size: int, rng: random.Random) -> None:
    sentences = [s for c in seed_chunks for s in split_sentences(c.text)]
    np_rng = np.random.default_rng(rng.randrange(1 << 30))
    batch_chunks: list[Chunk] = []
    vectors = []
    for i in range(size):
        j = i % len(seed_chunks)
        meta = seed_chunks[j].meta
        text = seed_chunks[j].text if i < len(seed_chunks) else "".join(rng.sample(sentences, 3))
        batch_chunks.append(Chunk(
            id=f"bench/{i // 100}.md::{i % 100}.0", doc_path=f"bench/{i // 100}.md", title=str(meta.get("title", "")),
            section=str(meta.get("section", "")), doc_type=str(meta.get("doc_type", "manual")), source="", issuer="",
            effective_date="", version="", position=i % 100, text=text,
        ))
        vector = seed_vectors[j] + (0 if i < len(seed_chunks) else np_rng.normal(0, 0.01, seed_vectors.shape[1]))
        vectors.append(vector / np.linalg.norm(vector))
        if len(batch_chunks) == 100:
            index.replace_document(batch_chunks[0].doc_path, batch_chunks, np.asarray(vectors, dtype=np.float32))
            batch_chunks, vectors = [], []
    if batch_chunks:
        index.replace_document(batch_chunks[0].doc_path, batch_chunks, np.asarray(vectors, dtype=np.float32))
    index.refresh_lexical()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--queries", type=int, default=400)
    args = parser.parse_args()
    rng = random.Random(7)

    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(_env_file=None, var_dir=Path(scratch), kb_dir=PROJECT_ROOT / "knowledge_base")
        db = Database(settings.resolved_database_url)
        db.migrate()
        embedder = build_embedder(settings)
        client = chroma_client(path=settings.resolved_chroma_path)
        kb = KnowledgeBase(db=db, index=ChunkIndex(client, "bench-real", embedder), kb_dir=settings.kb_dir,
                           prompts_dir=settings.prompts_dir)
        report = kb.ingest()
        print(f"ingestion: {report.chunks_embedded} chunks from {len(report.added)} files in {report.seconds:.1f} s "
              f"= {report.chunks_per_second:.1f} chunks/s ({embedder.name})")

        seed_chunks = kb.index.lexical.chunks
        seed_vectors = kb.index.vectors([c.id for c in seed_chunks])
        questions = [item.question for item in load_golden()]

        for size in (int(s) for s in args.sizes.split(",")):
            index = ChunkIndex(client, f"bench-{size}", embedder)
            started = time.perf_counter()
            build_synthetic(index, seed_chunks, seed_vectors, size, rng)
            build_s = time.perf_counter() - started
            synthetic = KnowledgeBase(db=db, index=index, kb_dir=settings.kb_dir, prompts_dir=settings.prompts_dir)
            for question in questions[:20]:  # warm caches (jieba, HNSW pages)
                synthetic.search(question)
            latencies = []
            for i in range(args.queries):
                question = questions[i % len(questions)]
                started = time.perf_counter()
                synthetic.search(question, k=5)
                latencies.append((time.perf_counter() - started) * 1000)
            print(f"search @ {len(index.lexical.chunks):>6} chunks: p50 {statistics.median(latencies):.1f} ms, "
                  f"p95 {percentile(latencies, 95):.1f} ms, max {max(latencies):.1f} ms "
                  f"over {len(latencies)} queries (index built in {build_s:.1f} s)")


if __name__ == "__main__":
    main()
