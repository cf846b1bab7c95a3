"""HTTP and WebSocket routers: health, knowledge base, NLU, conversations, voice, WeChat, the web chat page; later agent, admin."""

from assistant.channels.agent import router as agent_router
from assistant.channels.agent import satisfaction_router
from assistant.channels.compliance import router as compliance_router
from assistant.channels.conversations import router as conversations_router
from assistant.channels.errors import install_error_handlers
from assistant.channels.health import router as health_router
from assistant.channels.kb import router as kb_router
from assistant.channels.nlu import router as nlu_router
from assistant.channels.voice import router as voice_router
from assistant.channels.web import router as web_router
from assistant.channels.wechat import router as wechat_router

__all__ = [
    "agent_router", "compliance_router", "conversations_router", "health_router", "install_error_handlers", "kb_router",
    "nlu_router", "satisfaction_router", "voice_router", "web_router", "wechat_router",
]
