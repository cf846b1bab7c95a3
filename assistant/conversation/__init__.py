"""The conversation: the turn pipeline, the policy, the flows and repair patterns, and the store."""

from assistant.conversation.flows import CONFIRM_TTL
from assistant.conversation.pipeline import ConversationPipeline
from assistant.conversation.store import (
           ConversationNotFound,
           ConversationStore,
           DialogueState,
           conversation_channel,
)
from assistant.conversation.turn import Services

__all__ = ["CONFIRM_TTL", "ConversationNotFound", "ConversationPipeline", "ConversationStore", "DialogueState",
           "Services", "conversation_channel"]
