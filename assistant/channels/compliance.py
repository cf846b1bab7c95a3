"""Compliance endpoints: a pre-send check of any text (marketing copy, an agent's draft)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, StringConstraints

from assistant.compliance import check_output

router = APIRouter(prefix="/v1/compliance", tags=["compliance"])

# Long enough for a page of marketing copy; anything longer is reviewed in parts.
CheckText = Annotated[str, StringConstraints(min_length=1, max_length=20000)]


class CheckRequest(BaseModel):
    text: CheckText


class ViolationOut(BaseModel):
    rule: str
    span: str
    start: int
    end: int
    message: str


class CheckResponse(BaseModel):
    compliant: bool
    violations: list[ViolationOut]


@router.post("/check", response_model=CheckResponse)
def check(body: CheckRequest, request: Request) -> CheckResponse:
    violations = check_output(body.text, request.app.state.guards.output)
    return CheckResponse(
        compliant=not violations,
        violations=[ViolationOut(rule=v.rule, span=v.span, start=v.start, end=v.end, message=v.message) for v in violations],
    )
