"""Conversation-repair patterns, usable in any flow (after Rasa CALM's repair patterns).

The flows say how a business task goes when it goes well; these say what happens when the
customer steps off that path: withdraws (cancel), changes a detail (correct — the flows re-run
with the merged slots), asks something else (digress — answered, then the waiting step is
recalled), asks why (the last refusal with its reasons), asks to hear it again (repeat), answers
vaguely (re-confirm), or changes their mind about an order already executed (completed).

The detectors are pure functions of the masked text; the policy uses them to decide. The
handlers below build the reply for a decided pattern.
"""

from __future__ import annotations

import re
from datetime import datetime

from assistant.conversation import templates as T
from assistant.conversation.flows.base import run_flow
from assistant.conversation.flows.cancel import CANCEL_ORDER
from assistant.conversation.store import DialogueState, PendingAction
from assistant.conversation.turn import TurnContext, pending_out
from assistant.domain import Reply
from assistant.tools import BrokerageError

_PUNCT = re.compile(r"[\s，,。.！!？?、~～…：:；;“”\"'‘’（）()]+")
# An explicit yes: one of the core words, with at most a polite lead-in and a closing particle.
# "好的吧", "嗯对", "行", "可以吧" are not consent to trade: they get a read-back and the question again.
_FILLER = re.compile(r"哦|噢|喔|嗯+|好的|好|行|是的|是|对的|对|没错|ok|OK|Ok|那就|那|就|吧|啊|呀|哈|了|请|麻烦|帮我|我|直接|"
                     r"谢谢|thanks|可以|没问题")
_YES_CORE = re.compile(r"^(?:(?:确认|确定|下单|提交|执行)(?:下单|提交|委托|撤单|撤销|撤|买入|卖出|买|卖|借出|无误|执行|办理)?(?:的)?)+$")
# Withdrawal words: when one of these is in the message, it wins over everything else in it
# ("确认……算了不买了" is a no). Only meaningful while something is pending or just done.
_CANCEL = re.compile(
    r"算了|不买了|不卖了|不借了|不要了|不用了|不下了|不做了|不办了|不弄了|不撤了|不想买|不想卖|不想撤|"
    r"别下|别买|别卖|别撤|别借|先别|先不|取消|放弃|撤回|反悔|还是不|暂时不|不确认|"
    r"^不$|^不要$|^不是$|^别了?$|^no$|^NO$|^No$|^nope$|停下"
)
_WHY = re.compile(r"为什么|为啥|为何|凭什么|怎么不让|怎么不能|怎么不行|怎么就不行|怎么买不了|怎么卖不了|怎么撤不了|"
                  r"什么原因|啥原因|原因是|咋就|咋不|咋回事|咋不行|怎么回事")
_REPEAT = re.compile(r"再说一[遍次]|重复一[下遍]|刚才说(的)?(啥|什么)|没看清|没听清|再讲一[遍次]|再发一[遍次]|说了啥")
_CORRECTION = re.compile(r"不对|不是|改成|改为|换成|改一下|应该是|错了|我说的是|重新|那就|那改|要改")
# After an order is executed, what sounds like a change of mind about it.
_REGRET = re.compile(r"算了|不买了|不卖了|不要了|撤回|反悔|后悔|不想买了|不想卖了|取消刚才|刚才那笔.*(取消|撤)|能撤吗|能取消吗")


def _bare(text: str) -> str:
    return _PUNCT.sub("", text)


def is_explicit_yes(text: str) -> bool:
    """确认 / 确定 / 是的，下单 and their close forms, with fillers around them ("哦 好 确认", "那确认吧，确认");
    never a bare 好的 / 嗯对 / 行吧 / 可以, and never with a withdrawal word in the message."""
    core = _FILLER.sub("", _bare(text))
    return bool(core) and bool(_YES_CORE.match(core)) and not is_cancel(text)


def is_cancel(text: str) -> bool:
    return bool(_CANCEL.search(_bare(text)) or _CANCEL.search(text.strip()))


def asks_why(text: str) -> bool:
    return bool(_WHY.search(text))


def asks_repeat(text: str) -> bool:
    return bool(_REPEAT.search(text))


def sounds_like_correction(text: str) -> bool:
    return bool(_CORRECTION.search(text))


def regrets_order(text: str) -> bool:
    return bool(_REGRET.search(text))


# --- handlers -----------------------------------------------------------------------------------


def cancel(turn: TurnContext, state: DialogueState, dropped: PendingAction | None, was_asking: bool) -> Reply:
    """The customer withdrew: say exactly what did not happen."""
    if dropped is not None:
        if dropped.kind == "cancel_order":
            text = f"好的，不撤单，这笔委托继续有效：{dropped.summary}。"
        else:
            what = "逆回购" if dropped.kind == "reverse_repo" else "委托"
            text = f"好的，已取消，这笔{what}没有提交（{dropped.summary}）。"
    elif was_asking:
        text = T.ABANDONED.removesuffix("还有什么可以帮您？")
    else:
        text = "好的。目前没有正在办理的委托，什么也没有提交。"
    state.last_refusal = None
    return turn.reply("deny", "small_talk", text + "还有什么可以帮您？")


def reconfirm(turn: TurnContext, pending: PendingAction) -> Reply:
    """Anything but an explicit yes or a withdrawal while a confirmation waits: read it back, ask again."""
    left = max(0, int((pending.expires_at - turn.now).total_seconds()))
    what = "撤单" if pending.kind == "cancel_order" else "提交"
    text = (f"为确保是您本人的明确意愿，请再核对一次：{pending.readback or pending.summary}\n"
            f"确认{what}请回复“确认”，放弃请回复“取消”（{_left(left)}内有效）。")
    return turn.reply("confirm", "confirm", text, pending=pending_out(pending))


def resume_note(pending: PendingAction, now: datetime) -> str:
    """The line after a digression that recalls the confirmation still waiting."""
    left = max(0, int((pending.expires_at - now).total_seconds()))
    what = "撤单" if pending.kind == "cancel_order" else "委托"
    return (f"\n\n另外，您刚才的{what}仍在等待确认：{pending.summary}。确认请回复“确认”，"
            f"放弃请回复“取消”（{_left(left)}内有效）。")


def expired(turn: TurnContext, pending: PendingAction) -> Reply:
    what = "撤单没有办理，原委托继续有效" if pending.kind == "cancel_order" else "这笔委托没有提交"
    return turn.reply("confirm", "confirm",
                      f"确认已超时（预览后 2 分钟内有效），{what}（{pending.summary}）。如仍需办理，请重新告诉我。")


def ask_why(turn: TurnContext, state: DialogueState) -> Reply:
    refusal = state.last_refusal
    if refusal is None:
        return turn.reply("kb_question", "clarify",
                          "刚才没有拒绝办理您的业务。请问您想了解哪件事的原因？可以说得具体些，比如“为什么不能买科创板股票”。")
    reasons = "\n".join(f"{i}. {r}" for i, r in enumerate(refusal.reasons, 1)) if len(refusal.reasons) > 1 \
        else refusal.reasons[0]
    return turn.reply(refusal.intent, "refuse", f"刚才没有办理，原因是：\n{reasons}")


def repeat(turn: TurnContext, state: DialogueState) -> Reply:
    pending = state.pending_action
    if pending is not None and not turn.now > pending.expires_at:
        return reconfirm(turn, pending)
    if state.last_reply:
        return turn.reply(state.last_intent or "kb_question", "small_talk", f"刚才我说的是：\n{state.last_reply}")
    return turn.reply("kb_question", "clarify", "我们还没有开始聊哪件具体的事。请问有什么可以帮您？")


def completed(turn: TurnContext, state: DialogueState) -> Reply:
    """A change of mind after execution is told what actually happened, and offered what is still possible."""
    last = state.last_order or {}
    order_id = last.get("order_id")
    if turn.customer_id is None or not order_id:
        return cancel(turn, state, None, False)
    try:
        orders = turn.tools()["get_orders"].invoke({"status": None, "today_only": False})
    except BrokerageError as exc:
        return turn.reply("order_status", "run_tool", exc.message)
    order = next((o for o in orders if o.order_id == order_id), None)
    if order is None:
        return cancel(turn, state, None, False)
    line = T.order_line(order)
    if order.status == "filled":
        text = (f"您刚才的委托已经全部成交，无法撤回：{line}。\n如需反向操作，可以另行下单"
                f"{'卖出（当日买入的股票下一交易日才能卖出）' if order.side == 'buy' else '买入'}；需要的话请告诉我。")
        return turn.reply("order_status", "run_tool", text, data=order)
    if order.status == "cancelled":
        return turn.reply("order_status", "run_tool", f"这笔委托已经撤销，没有成交：{line}。", data=order)
    # Still open (or partly filled): the cancellation is offered as a preview; only a yes cancels.
    lead = (f"您刚才的委托已成交 {order.filled_quantity} 股，已成交部分无法撤回；其余 "
            f"{order.quantity - order.filled_quantity} 股尚未成交，可以撤销。\n" if order.filled_quantity
            else "您刚才的委托还没有成交，可以撤单。\n")
    reply = run_flow(CANCEL_ORDER, turn, state, {"order_id": order.order_id})
    reply.text = lead + reply.text
    return reply


def _left(seconds: int) -> str:
    if seconds >= 60:
        return f"{seconds // 60} 分 {seconds % 60} 秒" if seconds % 60 else f"{seconds // 60} 分钟"
    return f"{seconds} 秒"
