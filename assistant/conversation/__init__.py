"""The turn pipeline, dialogue state and reply templates."""

from assistant.conversation.engine import CONFIRM_TTL, ConversationEngine
from assistant.conversation.store import ConversationNotFound, ConversationStore, DialogueState

__all__ = ["CONFIRM_TTL", "ConversationEngine", "ConversationNotFound", "ConversationStore", "DialogueState"]
