"""Knowledge-base endpoints: ranked search hits, grounded answers with citations, and the passage
a citation points to."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from assistant.channels.errors import ApiError, errors
from assistant.channels.inputs import text_field
from assistant.channels.ratelimit import limit_by_ip
from assistant.compliance import mask_pii, review_output
from assistant.domain import Citation
from assistant.rag import KnowledgeBase

router = APIRouter(prefix="/v1/kb", tags=["knowledge base"], responses=errors(404, 429, 503))

DocTypeParam = Literal["manual", "regulation", "education", "faq"]
# Surrounding blanks are dropped first, so "   " is refused as empty, not searched for.
QueryText = text_field(500)


class SearchRequest(BaseModel):
    query: QueryText
    k: int = Field(default=5, ge=1, le=50)
    doc_type: DocTypeParam | None = None


class SearchHitOut(BaseModel):
    chunk_id: str
    title: str
    doc_type: str
    section: str
    text: str
    score: float
    path: str
    source: str


class SearchResponse(BaseModel):
    hits: list[SearchHitOut]


class AnswerRequest(BaseModel):
    question: QueryText
    doc_type: DocTypeParam | None = None


class AnswerResponse(BaseModel):
    answer: str
    found: bool
    citations: list[Citation]
    mode: str
    handoff_suggested: bool = Field(description="true when the assistant could not answer: offer a human agent")


def ready_kb(request: Request) -> KnowledgeBase:
    kb: KnowledgeBase | None = getattr(request.app.state, "kb", None)
    if kb is None or not kb.ready:
        raise ApiError(503, "index_not_ready", "知识库正在建立索引，请稍后再试。")
    return kb


@router.post("/search", response_model=SearchResponse, dependencies=[Depends(limit_by_ip)])
def search(body: SearchRequest, kb: Annotated[KnowledgeBase, Depends(ready_kb)]) -> SearchResponse:
    # Personal data in a query must not reach the logs or an embeddings endpoint.
    hits = kb.search(mask_pii(body.query).text, k=body.k, doc_type=body.doc_type)
    return SearchResponse(
        hits=[
            SearchHitOut(
                chunk_id=hit.chunk.id,
                title=str(hit.chunk.meta.get("title", "")),
                doc_type=str(hit.chunk.meta.get("doc_type", "")),
                section=str(hit.chunk.meta.get("section", "")),
                text=hit.chunk.text,
                score=round(hit.score, 6),
                path=str(hit.chunk.meta.get("doc_path", "")),
                source=str(hit.chunk.meta.get("source", "")),
            )
            for hit in hits
        ]
    )


@router.post("/answer", response_model=AnswerResponse, dependencies=[Depends(limit_by_ip)])
def answer(body: AnswerRequest, kb: Annotated[KnowledgeBase, Depends(ready_kb)], request: Request) -> AnswerResponse:
    result = kb.answer(mask_pii(body.question).text, doc_type=body.doc_type)
    guards = request.app.state.guards
    review = review_output(result.text, guards.output, guards.judge)  # the same output guard as the conversation's replies
    return AnswerResponse(
        answer=review.text,
        found=result.found,
        citations=result.citations,
        mode=result.mode,
        handoff_suggested=not result.found,
    )


class PassageOut(BaseModel):
    chunk_id: str
    title: str
    section: str
    doc_type: str
    source: str
    path: str
    issuer: str
    effective_date: str
    version: str
    text: str


@router.get("/passages/{chunk_id:path}", response_model=PassageOut)  # ids hold the document path
def passage(chunk_id: Annotated[str, Path(max_length=200)],
            kb: Annotated[KnowledgeBase, Depends(ready_kb)]) -> PassageOut:
    """The passage a citation points to, as it stands in the index (our own vetted documents)."""
    chunk = kb.passage(chunk_id)
    if chunk is None:
        raise ApiError(404, "passage_not_found", "没有找到该引用的原文，知识库可能已更新，请重新提问。")
    meta = chunk.meta
    return PassageOut(chunk_id=chunk.id, text=chunk.text, path=str(meta.get("doc_path", "")),
                      **{k: str(meta.get(k, "")) for k in ("title", "section", "doc_type", "source", "issuer",
                                                           "effective_date", "version")})


class SuggestionsOut(BaseModel):
    questions: list[str]


@router.get("/suggestions", response_model=SuggestionsOut)
def suggestions(request: Request) -> SuggestionsOut:
    """Three or four questions to offer a customer who has not asked anything yet, or whose question
    found nothing: the configured ones that the loaded knowledge base answers with a citation, worked
    out once per index (an empty list while the index is being built)."""
    kb: KnowledgeBase | None = getattr(request.app.state, "kb", None)
    if kb is None or not kb.ready:
        return SuggestionsOut(questions=[])
    cached = getattr(request.app.state, "kb_suggestions", None)
    if cached is None or cached[0] is not kb:
        wanted = request.app.state.settings.chat_suggested_questions
        answered = [q for q in wanted if (a := kb.answer(q)).found and a.citations][:4]
        cached = (kb, answered)
        request.app.state.kb_suggestions = cached
    return SuggestionsOut(questions=cached[1])
