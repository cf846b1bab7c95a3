"""What the customer is told about a handoff (fixed texts, reviewed by tests like every template)."""

from __future__ import annotations

import re

# --- human handoff ----------------------------------------------------------------------------------
# What the customer is told when a trigger (rather than their own request) hands the conversation over.
HANDOFF_LEADS = {
    "negative_sentiment": "非常抱歉给您带来了不好的体验，我已为您转接人工客服，由专人尽快为您处理。",
    "licensed_advice": "您咨询的是个性化的投资建议或资产配置，需要由具有投资顾问资格的持牌人员为您解答，我已为您转接人工服务。",
    "guard_review": "这个问题需要由人工客服为您进一步处理，我已为您转接，请稍候。",
    "unanswered": "抱歉，这个问题我暂时没能解答好。我已为您转接人工客服，您的对话记录会一并转交，无需重复描述。",
}


def queue_text(position: int | None, wait_s: int | None) -> str:
    if not position:
        return ""
    minutes = max(1, round((wait_s or 0) / 60))
    ahead = f"您前面还有 {position - 1} 位客户" if position > 1 else "您是下一位"
    return f"您已进入人工客服队列，{ahead}，预计等待约 {minutes} 分钟。排队期间您可以继续留言，客服接入后会看到全部内容。"


def still_queued_text(position: int | None, wait_s: int | None) -> str:
    if not position:
        return ""
    minutes = max(1, round((wait_s or 0) / 60))
    return f"（您仍在人工客服队列中，当前排第 {position} 位，预计等待约 {minutes} 分钟。）"


CALLBACK = ("当前{why}，我已为您登记人工回电，客服会在服务时间内尽快与您联系（请留意明川证券的来电）；"
            "您也可以继续在这里留言，客服会看到全部记录。")
CALLBACK_WHY = {"hours": "不在人工客服服务时间", "busy": "暂时没有空闲的人工客服"}
ALREADY_CALLBACK = "您已登记人工回电，客服会尽快与您联系；您的留言会一并转交。"

# A customer who will think it over: nothing to hand over, nothing left unanswered.
THINK_OVER = "好的，您慢慢考虑，不着急。之后有任何问题，随时来问我；需要人工客服也可以直接回复“人工”。"
NOTED = "好的，收到。如需查询账户、了解业务规则，我随时为您服务；需要人工客服也可以直接回复“人工”。"
MILD_FRUSTRATION = ("理解您的心情，市场波动难免让人着急。如需查询持仓、委托或了解相关规则，我随时为您服务；"
                    "需要人工客服也可以回复“人工”。")

# A call-back is said on its own: what was said about a live transfer ("正在为您转接……请稍候") is not true
# for it, so those sentences give way, and a reply left empty opens with the reason's own words.
CALLBACK_OPENINGS = {
    "customer_request": "好的。",
    "complaint": "非常抱歉给您带来了不好的体验。",
    "negative_sentiment": "非常抱歉给您带来了不好的体验。",
    "unanswered": "抱歉，这个问题我暂时没能解答好。",
    "licensed_advice": "您咨询的是个性化的投资建议或资产配置，需要由具有投资顾问资格的持牌人员为您解答。",
}


def without_transfer(text: str) -> str:
    """The text less its sentences about being transferred now or asked to hold."""
    sentences = re.split(r"(?<=[。！？\n])", text)
    return "".join(s for s in sentences if "转接" not in s and "请稍候" not in s).strip()
