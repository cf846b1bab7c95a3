"""Voice over REST: `POST /v1/stt` transcribes an upload; `POST /v1/conversations/{id}/voice`
transcribes it and answers it as the customer's turn, in one call."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Request, UploadFile
from pydantic import BaseModel

from assistant.channels.auth import current_customer
from assistant.channels.errors import ApiError, errors
from assistant.channels.inputs import ConversationId
from assistant.channels.ratelimit import limit_by_ip, limit_turns
from assistant.compliance import mask_pii
from assistant.conversation import ConversationNotFound, ConversationPipeline
from assistant.domain import Reply, Turn
from assistant.speech import (
    AudioError,
    SpeechBusy,
    SpeechRecognizer,
    SpeechUnavailable,
    Transcript,
)

router = APIRouter(tags=["voice"], responses=errors(400, 401, 403, 404, 415, 429, 503))

Customer = Annotated[str | None, Depends(current_customer)]


def speech(request: Request) -> SpeechRecognizer:
    return request.app.state.speech


def engine(request: Request) -> ConversationPipeline:
    return request.app.state.engine


class CorrectionOut(BaseModel):
    heard: str
    corrected: str
    kind: str
    code: str | None = None
    exact_sound: bool


class TranscriptOut(BaseModel):
    text: str
    raw_text: str
    language: str
    duration_s: float
    confidence: float
    corrections: list[CorrectionOut]
    ambiguous: list[str]


class VoiceReplyOut(BaseModel):
    transcript: TranscriptOut
    reply: Reply


def _transcribe(recognizer: SpeechRecognizer, audio: UploadFile) -> Transcript:
    data = audio.file.read(recognizer.max_bytes + 1)  # never more than the limit in memory
    try:
        return recognizer.transcribe(data)
    except AudioError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None
    except (SpeechBusy, SpeechUnavailable) as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None


@router.post("/v1/stt", response_model=TranscriptOut, dependencies=[Depends(limit_by_ip)])
def stt(recognizer: Annotated[SpeechRecognizer, Depends(speech)],
        audio: Annotated[UploadFile, File(description="WAV, MP3, AAC/M4A, OGG/Opus, WebM, AMR or WeChat SILK",
                                          json_schema_extra={"minLength": 1})]) -> dict:
    return _transcribe(recognizer, audio).as_dict()


@router.post("/v1/conversations/{conversation_id}/voice", response_model=VoiceReplyOut,
             dependencies=[Depends(limit_turns)])
def voice(conversation_id: ConversationId, customer: Customer, request: Request,
          recognizer: Annotated[SpeechRecognizer, Depends(speech)],
          conversations: Annotated[ConversationPipeline, Depends(engine)],
          audio: Annotated[UploadFile, File(description="the customer's spoken turn", json_schema_extra={"minLength": 1})]) -> dict:
    try:
        conversations.conversation_for(conversation_id, customer)  # before the costly part
    except ConversationNotFound:
        raise ApiError(404, "conversation_not_found", "会话不存在或已失效，请重新开始对话。") from None
    transcript = _transcribe(recognizer, audio)
    try:
        reply = conversations.handle(Turn(conversation_id=conversation_id, customer_id=customer, text=transcript.text,
                                          channel="voice", transcript_confidence=transcript.confidence))
    except ConversationNotFound:
        raise ApiError(404, "conversation_not_found", "会话不存在或已失效，请重新开始对话。") from None
    # A page streaming this conversation shows the spoken turn and its reply like typed ones: the store
    # announced them when the turn committed.
    # The transcript comes back as the conversation stored it: personal data masked.
    heard = transcript.as_dict()
    heard["text"], heard["raw_text"] = mask_pii(heard["text"]).text, mask_pii(heard["raw_text"]).text
    return {"transcript": heard, "reply": reply}
