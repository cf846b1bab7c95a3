"""HTTP and WebSocket routers: health, knowledge base; later app, WeChat, agent, admin."""

from assistant.channels.errors import install_error_handlers
from assistant.channels.health import router as health_router
from assistant.channels.kb import router as kb_router

__all__ = ["health_router", "install_error_handlers", "kb_router"]
