"""A local server that speaks the OpenAI chat-completions protocol, for testing the LLM path."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

from tests.local_server import LocalServer


class FakeOpenAI(LocalServer):
    """Answers each chat completion with `reply(messages)`; records every request it gets."""

    def __init__(self, reply: Callable[[list[dict]], str], delay_s: float = 0.0, chunk_chars: int = 4) -> None:
        """A request with "stream": true gets the reply as server-sent chunks of `chunk_chars`."""
        self.reply = reply
        self.delay_s = delay_s
        self.chunk_chars = chunk_chars
        self.requests: list[dict] = []
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def completions(request: Request):
            body = await request.json()
            self.requests.append(body)
            if self.delay_s:
                import asyncio

                await asyncio.sleep(self.delay_s)
            if body.get("stream"):
                return StreamingResponse(self._chunks(body), media_type="text/event-stream")
            return {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "test"),
                "choices": [
                    {"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": self.reply(body["messages"])}}
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }

        super().__init__(app, prefix="/v1")

    def _chunks(self, body: dict):
        text = self.reply(body["messages"])
        base = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": int(time.time()),
                "model": body.get("model", "test")}
        pieces = [text[i:i + self.chunk_chars] for i in range(0, len(text), self.chunk_chars)]
        for i, piece in enumerate(pieces):
            delta = {"content": piece, **({"role": "assistant"} if i == 0 else {})}
            yield f"data: {json.dumps({**base, 'choices': [{'index': 0, 'delta': delta, 'finish_reason': None}]})}\n\n"
        yield f"data: {json.dumps({**base, 'choices': [{'index': 0, 'delta': {}, 'finish_reason': 'stop'}]})}\n\n"
        yield "data: [DONE]\n\n"
