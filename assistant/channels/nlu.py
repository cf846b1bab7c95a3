"""POST /v1/nlu/parse: the classifier and slot extractor alone, without dialogue context."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from assistant.channels.errors import errors
from assistant.channels.kb import QueryText
from assistant.channels.ratelimit import limit_by_ip

router = APIRouter(prefix="/v1/nlu", tags=["nlu"], responses=errors(429))


class ParseRequest(BaseModel):
    text: QueryText


class AlternativeOut(BaseModel):
    intent: str
    confidence: float


class ParseResponse(BaseModel):
    intent: str
    confidence: float
    slots: dict
    alternatives: list[AlternativeOut]  # the runners-up, best first


@router.post("/parse", response_model=ParseResponse, dependencies=[Depends(limit_by_ip)])
def parse(body: ParseRequest, request: Request) -> ParseResponse:
    result = request.app.state.parser.parse(body.text, request.app.state.engine.now().date())
    return ParseResponse(intent=result.intent.label, confidence=result.intent.confidence,
                         slots=result.slots.filled(),
                         alternatives=[AlternativeOut(intent=label, confidence=p) for label, p in result.intent.alternatives])
