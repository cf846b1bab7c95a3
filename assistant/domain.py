"""Value types shared by the capabilities. Plain data, no behaviour that needs I/O."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
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


# --- Understanding ---------------------------------------------------------------------------

Side = Literal["buy", "sell"]
PriceType = Literal["limit", "market", "limit_up", "limit_down"]
QuantityMode = Literal["shares", "all", "half", "third"]


class SecurityRef(BaseModel):
    """A security named in the text, resolved against the master list."""

    code: str
    name: str
    exchange: str
    board: str
    mention: str = Field(description="the words the customer used")
    match: Literal["code", "name", "alias", "pinyin", "partial", "confirmed"] = "name"


class DateRange(BaseModel):
    start: date
    end: date
    mention: str = ""


class Slots(BaseModel):
    """What a message says beyond its intent. Every field is optional; absent means not said."""

    security: SecurityRef | None = None
    security_candidates: list[SecurityRef] = Field(
        default_factory=list, description="several securities fit an ambiguous mention; ask which"
    )
    side: Side | None = None
    quantity: int | None = Field(default=None, description="shares (手 already multiplied by 100)")
    quantity_mode: QuantityMode | None = None
    price_type: PriceType | None = None
    price: Decimal | None = None
    date_range: DateRange | None = None
    order_id: str | None = None
    permission: str | None = Field(default=None, description="star, chinext, bse, margin, hk_connect, cbond")
    order_status: Literal["open", "filled", "cancelled", "rejected"] | None = None
    repo: bool = Field(default=False, description="the message is about a reverse repo (国债逆回购, GC001, R-001)")
    repo_code: str | None = Field(default=None, description="a reverse-repo code named (204001, GC001, R-001)")
    tenor_days: int | None = Field(default=None, description="a repo tenor in days (1天期, 7天)")
    amount: Decimal | None = Field(default=None, description="a sum of money in yuan (10万, 5000元)")

    def filled(self) -> dict:
        return self.model_dump(mode="json", exclude_none=True, exclude_defaults=True)


class Intent(BaseModel):
    label: str
    confidence: float
    alternatives: list[tuple[str, float]] = Field(default_factory=list, description="next labels, best first")
    source: Literal["model", "rule"] = "model"


class ParseResult(BaseModel):
    text: str = Field(description="the normalised text")
    intent: Intent
    slots: Slots


# --- Turns ---------------------------------------------------------------------------------------


class Turn(BaseModel):
    """One customer message as a channel hands it to the pipeline (speech already transcribed)."""

    conversation_id: str
    customer_id: str | None
    text: str
    channel: str | None = None
    transcript_confidence: float | None = Field(default=None, description="set for speech: how sure the recogniser was")


# --- Replies ---------------------------------------------------------------------------------


class PendingConfirmation(BaseModel):
    """An action waiting for the customer's explicit yes: an order preview or a cancellation."""

    kind: Literal["place_order", "cancel_order", "reverse_repo"]
    summary: str
    details: dict
    expires_at: datetime


class Handoff(BaseModel):
    reason: str
    priority: Literal["normal", "high", "urgent"] = "normal"


class Reply(BaseModel):
    text: str
    intent: str
    confidence: float
    action: str = Field(description="answer_from_kb, run_tool, ask_for_slot, confirm, refuse, escalate, small_talk")
    citations: list[Citation] = Field(default_factory=list)
    pending_confirmation: PendingConfirmation | None = None
    handoff: Handoff | None = None
    data: dict | None = Field(default=None, description="the tool result behind the text, for rich clients")
    flags: list[str] = Field(default_factory=list,
                             description="compliance rules the turn touched: input rules, and output:<rule> for a rewritten reply")
