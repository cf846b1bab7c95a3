"""Value types shared by the capabilities. Plain data, no behaviour that needs I/O."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

DocType = Literal["manual", "regulation", "education", "faq"]
DOC_TYPES: tuple[str, ...] = ("manual", "regulation", "education", "faq")


class Citation(BaseModel):
    """A numbered reference from an answer to the passage it rests on."""

    index: int = Field(description="the [n] used in the answer text")
    chunk_id: str
    title: str
    section: str
    doc_type: str
    source: str = Field(default="", description="the rule or document the passage cites")
    path: str = Field(description="document path inside the knowledge base")
    quote: str = Field(description="the passage text the answer draws on")
