"""Compliance endpoints: a pre-send check of any text (marketing copy, an agent's draft), and the
audit trail for the compliance role."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from assistant.channels.auth import require_role
from assistant.channels.errors import ApiError, errors
from assistant.channels.inputs import Cursor, text_field
from assistant.channels.ratelimit import limit_by_ip
from assistant.channels.tokens import Principal
from assistant.compliance import AuditEvent, AuditLog, check_output

router = APIRouter(prefix="/v1/compliance", tags=["compliance"], responses=errors(400, 401, 403, 429))
SHANGHAI = ZoneInfo("Asia/Shanghai")
ComplianceOfficer = Annotated[Principal, Depends(require_role("compliance"))]

# Long enough for a page of marketing copy; anything longer is reviewed in parts.
CheckText = text_field(20000, strip=False)


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


@router.post("/check", response_model=CheckResponse, dependencies=[Depends(limit_by_ip)])
def check(body: CheckRequest, request: Request) -> CheckResponse:
    guards = request.app.state.guards
    violations = check_output(body.text, guards.output, guards.judge)
    return CheckResponse(
        compliant=not violations,
        violations=[ViolationOut(rule=v.rule, span=v.span, start=v.start, end=v.end, message=v.message) for v in violations],
    )


class AuditPage(BaseModel):
    records: list[dict]
    next_after: int | None


class AuditVerification(BaseModel):
    ok: bool
    records: int
    problems: list[str]


def _audit(request: Request) -> AuditLog:
    return request.app.state.audit


@router.get("/audit", response_model=AuditPage)
def audit_records(request: Request, officer: ComplianceOfficer,
                  start: Annotated[date | None, Query(alias="from", ge=date(2000, 1, 1), le=date(2999, 12, 31))] = None,
                  end: Annotated[date | None, Query(alias="to", ge=date(2000, 1, 1), le=date(2999, 12, 31))] = None,
                  conversation_id: Annotated[str | None, Query(max_length=36, pattern=r"^[A-Za-z0-9-]+$")] = None,
                  after: Cursor = 0,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> AuditPage:
    """Audit records of a date range (Asia/Shanghai days, both included), oldest first, paged by id."""
    if start and end and end < start:
        raise ApiError(422, "bad_range", "结束日期不能早于开始日期。")
    log = _audit(request)
    records = list(log.records(
        start=datetime.combine(start, time(), SHANGHAI) if start else None,
        end=datetime.combine(end + timedelta(days=1), time(), SHANGHAI) if end else None,
        conversation_id=conversation_id, after_id=after, limit=limit))
    # Reading the trail is itself on the trail.
    log.append([AuditEvent(event="audit_read", actor=f"staff:{officer.subject}",
                           data={"from": str(start or ""), "to": str(end or ""), "conversation_id": conversation_id,
                                 "after": after, "returned": len(records)})],
               request.app.state.engine.now())
    return AuditPage(records=records, next_after=records[-1]["id"] if len(records) == limit else None)


class AuditHeadOut(BaseModel):
    last_id: int
    last_hash: str
    exported_at: str
    key_id: str
    signature: str


@router.get("/audit/head", response_model=AuditHeadOut)
def audit_head(request: Request, officer: ComplianceOfficer) -> dict:
    """The chain's head, signed, to keep outside the database; `assistant audit verify --head` checks it later."""
    return _audit(request).export_head(request.app.state.engine.now())


@router.get("/audit/verify", response_model=AuditVerification)
def audit_verify(request: Request, officer: ComplianceOfficer) -> AuditVerification:
    result = _audit(request).verify()
    return AuditVerification(ok=result.ok, records=result.records, problems=result.problems)
