"""Human handoff: escalation triggers, tickets and the queue, summaries, agents and their workflow."""

from assistant.handoff import texts
from assistant.handoff.agents import ROLES, AgentDirectory, AgentError, AgentInfo
from assistant.handoff.learned import LEARNED_REASONS, LearnedView, build_trigger_model, judged_view, learned_view
from assistant.handoff.profile import brokerage_profile
from assistant.handoff.queue_view import GROUPS, TicketFilter, ticket_page
from assistant.handoff.service import (
    PRIORITY_RANK,
    HARD_RULES,
    QUEUE_CHANNEL,
    HandoffError,
    HandoffService,
    SendResult,
    TicketInfo,
    message_out,
)
from assistant.handoff.summary import extractive_summary, reason_name
from assistant.handoff.triggers import (
    TurnSignals,
    asks_question,
    evaluate,
    informational,
    mild_frustration,
    needs_adviser,
    negativity,
    not_a_request_for_person,
    unanswered,
)

__all__ = [
    "texts", "GROUPS", "TicketFilter", "ticket_page", "HARD_RULES", "PRIORITY_RANK", "LEARNED_REASONS", "build_trigger_model", "LearnedView", "judged_view", "learned_view", "QUEUE_CHANNEL", "ROLES", "AgentDirectory", "AgentError", "AgentInfo", "HandoffError", "HandoffService",
    "SendResult", "TicketInfo", "TurnSignals", "brokerage_profile", "evaluate", "extractive_summary", "message_out",
    "asks_question", "informational", "mild_frustration", "needs_adviser", "negativity", "not_a_request_for_person", "reason_name", "unanswered",
]
