"""Escalation: the handoff triggers read the turn; a handoff opens a ticket (or finds the open one)
and the customer is told one thing — what happens next, and when: a place in the live queue with
the wait, or a call-back and why. Runs before the output guard, which reviews these words too.
"""

from __future__ import annotations

from assistant.conversation import templates as T
from assistant.conversation.store import DialogueState
from assistant.conversation.turn import TurnContext
from assistant.domain import Handoff, Reply
from assistant.handoff import PRIORITY_RANK, TurnSignals, evaluate, unanswered
from assistant.handoff import texts as H
from assistant.handoff.summary import INTENT_NAMES


def intent_name(label: str) -> str:
    return INTENT_NAMES.get(label, "业务")


def escalate(turn: TurnContext, state: DialogueState, reply: Reply) -> Reply:
    handoff, runs = evaluate(turn.text, reply, TurnSignals(state.unanswered_run, state.refusal_run),
                             blocked=turn.blocked, learned=turn.learned.reason, doubt=turn.learned.doubt,
                             answered_before=bool(state.last_reply))
    state.unanswered_run, state.refusal_run = runs.unanswered_run, runs.refusal_run
    lead = ""
    if handoff is not None and reply.handoff is None:
        lead = H.HANDOFF_LEADS.get(handoff.reason, T.HUMAN_AGENT)
        # A reply that said nothing useful gives way to the handoff; a refusal (the guard's, or a
        # blocked reply's safe text) stays and the handoff is added to it.
        if unanswered(reply) or reply.action == "small_talk":
            reply.text, reply.action, reply.citations, reply.data = "", "escalate", [], None
        reply.handoff = handoff
    elif handoff is not None:
        # The triggers may name the reason better (anger rather than a complaint; staff misconduct
        # rather than fraud), but never make it less urgent: a victim the guard escalated stays urgent.
        priority = min(handoff.priority, reply.handoff.priority, key=PRIORITY_RANK.__getitem__)
        reply.handoff = Handoff(reason=handoff.reason, priority=priority)
    service = turn.services.handoff
    conv = turn.conversation
    if service is None:
        reply.text = _join(reply.text, lead)
        return reply
    if reply.handoff is not None:
        # The ticket's audit record goes with this turn's messages, in their transaction and after them.
        info = service.escalate(conv.id, reply.handoff, now=turn.now, intents=[turn.parse.intent.label],
                                pending=[("customer", turn.text, turn.parse.intent.label),
                                         ("assistant", _join(reply.text, lead), reply.intent)], audit=turn.audit)
        if info.kind == "callback":
            # No one can take it now: the customer hears about the call-back only, never "please hold".
            body = H.without_transfer(reply.text)
            if info.existing:
                reply.text = _join(body, H.ALREADY_CALLBACK)
            else:
                why = H.CALLBACK_WHY["hours" if not service.in_service_hours(turn.now) else "busy"]
                opening = H.CALLBACK_OPENINGS.get(reply.handoff.reason, "") if not body else ""
                reply.text = _join(body, opening + H.CALLBACK.format(why=why))
        elif info.existing:
            reply.text = _join(_join(reply.text, lead), H.still_queued_text(info.position, info.estimated_wait_s))
        else:
            reply.text = _join(_join(reply.text, lead), H.queue_text(info.position, info.estimated_wait_s))
    elif conv.status == "queued":
        info = service.queue_info(conv.id)
        if info is not None and info.position:
            reply.text = _join(reply.text, H.still_queued_text(info.position, info.estimated_wait_s))
    return reply


def _join(first: str, second: str) -> str:
    return f"{first}\n{second}" if first and second else first or second
