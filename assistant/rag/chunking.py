"""Chinese-aware chunking: never across a section heading, and only at sentence ends (。！？；)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.rag.loaders import LoadedDocument

# A sentence ends at 。！？；!?; (with any closing quote/bracket) or at a line break.
_SENTENCE = re.compile(r"[^。！？；!?;\n]*(?:[。！？；!?;]+[”’」』）)]*|\n|$)")
_SOFT_BREAK = re.compile(r"(?<=[，,、：:])")


def search_text(title: str, section: str, text: str) -> str:
    """What retrieval sees: the title and heading give a short passage its topic."""
    return f"{title} {section}".strip() + "\n" + text


@dataclass
class Chunk:
    id: str
    doc_path: str
    title: str
    section: str
    doc_type: str
    source: str
    issuer: str
    effective_date: str
    version: str
    position: int  # order of the chunk inside its document
    text: str

    @property
    def search_text(self) -> str:
        return search_text(self.title, self.section, self.text)

    def metadata(self) -> dict[str, str | int]:
        return {
            "doc_path": self.doc_path,
            "title": self.title,
            "section": self.section,
            "doc_type": self.doc_type,
            "source": self.source,
            "issuer": self.issuer,
            "effective_date": self.effective_date,
            "version": self.version,
            "position": self.position,
        }


def split_sentences(text: str) -> list[str]:
    sentences = []
    for match in _SENTENCE.finditer(text):
        sentence = match.group(0).strip()
        if sentence:
            sentences.append(sentence)
    return sentences


def _split_long(sentence: str, limit: int) -> list[str]:
    """A run-on sentence longer than a chunk is cut at commas, then hard at the limit."""
    pieces, current = [], ""
    for part in _SOFT_BREAK.split(sentence):
        if current and len(current) + len(part) > limit:
            pieces.append(current)
            current = ""
        current += part
        while len(current) > limit:
            pieces.append(current[:limit])
            current = current[limit:]
    if current:
        pieces.append(current)
    return pieces


def chunk_document(doc: LoadedDocument, max_chars: int = 320, overlap_sentences: int = 1) -> list[Chunk]:
    chunks: list[Chunk] = []
    for section_index, section in enumerate(doc.sections):
        sentences: list[str] = []
        for sentence in split_sentences(section.text):
            sentences.extend(_split_long(sentence, max_chars) if len(sentence) > max_chars else [sentence])
        groups: list[list[str]] = []
        current: list[str] = []
        for sentence in sentences:
            if current and sum(len(s) for s in current) + len(sentence) > max_chars:
                groups.append(current)
                # Carry the last sentence over so a fact split across the boundary keeps its context.
                carried = current[-overlap_sentences:] if overlap_sentences else []
                current = carried if sum(len(s) for s in carried) + len(sentence) <= max_chars else []
            current.append(sentence)
        if current:
            groups.append(current)
        for part, group in enumerate(groups):
            chunks.append(
                Chunk(
                    id=f"{doc.path}::{section_index}.{part}",
                    doc_path=doc.path,
                    title=doc.title,
                    section=section.heading,
                    doc_type=doc.doc_type,
                    source=doc.source,
                    issuer=doc.issuer,
                    effective_date=doc.effective_date,
                    version=doc.version,
                    position=len(chunks),
                    text=_join(group),
                )
            )
    return chunks


def _join(sentences: list[str]) -> str:
    # Chinese needs no spaces between sentences; keep one between Latin ones.
    out = ""
    for sentence in sentences:
        if out and out[-1].isascii() and out[-1].isalnum() and sentence[0].isascii():
            out += " "
        out += sentence
    return out
