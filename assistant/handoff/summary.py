"""The agent's summary of a conversation: extractive (no model), or an LLM's when one is configured.

Only masked text is ever read here (messages are stored masked), and it is masked once more
before an LLM sees it. The extractive summary is the fallback whenever the LLM fails.
"""

from __future__ import annotations

import logging
from pathlib import Path

from assistant.compliance import mask_pii

log = logging.getLogger(__name__)

REASONS = {
    "customer_request": "客户要求转人工", "complaint": "客户投诉", "fraud_victim": "疑似诈骗受害（紧急）",
    "fraud": "疑似诈骗受害（紧急）", "unanswered": "助手连续两轮未能解答", "negative_sentiment": "客户情绪强烈不满",
    "licensed_advice": "需持牌投资顾问解答", "guard_review": "合规检查需人工复核",
    "crisis": "客户表达轻生或绝望情绪（紧急，危机干预）",
}
INTENT_NAMES = {
    "account_balance": "资产查询", "positions": "持仓查询", "order_status": "委托查询", "trade_history": "成交查询",
    "market_quote": "行情查询", "place_order": "下单", "cancel_order": "撤单", "account_opening_status": "开户进度",
    "risk_assessment": "风险测评", "open_permission": "权限开通", "fees": "费用咨询", "kb_question": "业务咨询",
    "investment_advice_request": "投资建议", "human_agent": "转人工", "complaint": "投诉", "fund_transfer": "银证转账",
    "password_reset": "密码重置",
}
_SMALL = {"greeting", "goodbye", "confirm", "deny", "human_agent"}


def reason_name(reason: str) -> str:
    return REASONS.get(reason, reason)


def extractive_summary(reason: str, messages: list[tuple[str, str, str | None]], intents: list[str]) -> str:
    """`messages`: (role, masked text, intent), oldest first. The customer's own words carry the request:
    the first substantive message and the latest one, the assistant's last answer, and the intents seen."""
    customer = [(t, i) for r, t, i in messages if r == "customer"]
    substantive = [t for t, i in customer if i not in _SMALL and len(t) >= 4] or [t for t, _ in customer]
    lines = [f"转接原因：{reason_name(reason)}"]
    if substantive:
        lines.append(f"客户诉求：{_clip(substantive[0])}")
        if substantive[-1] != substantive[0]:
            lines.append(f"最新一句：{_clip(substantive[-1])}")
    if intents:
        lines.append("识别到的意图：" + "、".join(dict.fromkeys(INTENT_NAMES.get(i, i) for i in intents)))
    answers = [t for r, t, _ in messages if r == "assistant"]
    if answers:
        lines.append(f"助手最后答复：{_clip(answers[-1], 80)}")
    lines.append(f"共 {len(customer)} 条客户消息。")
    return mask_pii("\n".join(lines)).text


def _clip(text: str, n: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n] + "……"


def llm_summary(llm, prompts_dir: Path, reason: str, messages: list[tuple[str, str, str | None]]) -> str | None:
    """The LLM's summary, or None (no LLM, an error, an empty answer): the caller falls back."""
    if llm is None:
        return None
    from assistant.llm import load_prompt

    roles = {"customer": "客户", "assistant": "助手", "agent": "客服", "system": "系统"}
    transcript = "\n".join(f"{roles.get(r, r)}：{mask_pii(t).text}" for r, t, _ in messages[-30:])
    try:
        prompt = load_prompt(prompts_dir, "handoff_summary")
        result = (prompt | llm).invoke({"reason": reason_name(reason), "transcript": transcript})
        text = str(getattr(result, "content", result)).strip()
    except Exception as exc:  # noqa: BLE001 - any failure of the optional LLM falls back to extractive
        log.warning("handoff summary by LLM failed: %s", type(exc).__name__)
        return None
    return mask_pii(text[:600]).text if text else None
