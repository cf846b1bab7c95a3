"""The knowledge-base golden set: questions, reference answers, evidence, and the chunk ids it maps to.

Each item names its evidence as verbatim text in a document; the chunk ids are derived from
that by chunking the documents exactly as ingestion does. `python -m eval.golden --write`
refreshes the stored `chunk_ids` after the documents or the chunker change; a test fails
while they are stale.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from assistant.rag.chunking import Chunk, chunk_document
from assistant.rag.loaders import load_document
from assistant.settings import PROJECT_ROOT

DATASETS = Path(__file__).resolve().parent / "datasets"
GOLDEN_DIR = DATASETS / "kb_golden"
UNANSWERABLE = DATASETS / "kb_unanswerable.jsonl"


@dataclass
class GoldenItem:
    id: str
    question: str
    reference: str
    evidence: list[dict]
    chunk_ids: list[str]


def _item(raw: dict) -> GoldenItem:
    return GoldenItem(raw["id"], raw["question"], raw["reference"], raw["evidence"], raw.get("chunk_ids", []))


def load_golden(directory: Path = GOLDEN_DIR) -> list[GoldenItem]:
    items = []
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                items.append(_item(json.loads(line)))
    return items


def load_unanswerable(path: Path = UNANSWERABLE) -> list[str]:
    return [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def chunk_knowledge_base(kb_dir: Path) -> dict[str, list[Chunk]]:
    from assistant.rag.ingest import discover

    return {relative: chunk_document(load_document(path, relative)) for relative, path in discover(kb_dir).items()}


def resolve(item: GoldenItem, chunks_by_doc: dict[str, list[Chunk]]) -> list[str]:
    """Chunks that contain an evidence text (in the evidence's own document)."""
    ids: list[str] = []
    for evidence in item.evidence:
        for chunk in chunks_by_doc.get(evidence["doc"], []):
            if evidence["text"] in chunk.text and chunk.id not in ids:
                ids.append(chunk.id)
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help="store the resolved chunk ids in the golden files")
    args = parser.parse_args()
    chunks_by_doc = chunk_knowledge_base(PROJECT_ROOT / "knowledge_base")
    stale = unresolved = 0
    for path in sorted(GOLDEN_DIR.glob("*.jsonl")):
        lines = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            raw = json.loads(line)
            item = _item(raw)
            ids = resolve(item, chunks_by_doc)
            unresolved += not ids
            stale += ids != item.chunk_ids
            raw["chunk_ids"] = ids
            lines.append(json.dumps(raw, ensure_ascii=False))
        if args.write:
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{stale} items with stale chunk ids{' (rewritten)' if args.write else ''}, {unresolved} without any chunk")


if __name__ == "__main__":
    main()
