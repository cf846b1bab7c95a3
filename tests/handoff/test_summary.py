"""The agent's summary: extractive without an LLM, the LLM's when it answers, extractive when it fails."""

from __future__ import annotations

from langchain_core.language_models.fake_chat_models import FakeListChatModel

from assistant.handoff.summary import extractive_summary, llm_summary
from assistant.settings import PROJECT_ROOT

MESSAGES = [
    ("customer", "你好", "greeting"),
    ("assistant", "您好，请问有什么可以帮您？", "greeting"),
    ("customer", "我昨天挂的茅台买单一直没成交，手机13812345678", "order_status"),
    ("assistant", "您今天没有未成交的委托。", "order_status"),
    ("customer", "我要转人工", "human_agent"),
]


def test_the_extractive_summary_names_the_request_and_masks_personal_data() -> None:
    summary = extractive_summary("customer_request", MESSAGES, ["order_status", "human_agent"])
    assert "客户要求转人工" in summary and "茅台买单一直没成交" in summary and "委托查询" in summary
    assert "13812345678" not in summary and "共 3 条客户消息" in summary


class Failing(FakeListChatModel):
    def _call(self, *args, **kwargs):  # the endpoint is down
        raise TimeoutError("no answer")


def test_the_llm_summary_is_used_when_it_answers_and_skipped_when_it_fails() -> None:
    llm = FakeListChatModel(responses=["客户的茅台买单未成交，需要核查委托状态。"])
    assert llm_summary(llm, PROJECT_ROOT / "prompts", "customer_request", MESSAGES) == "客户的茅台买单未成交，需要核查委托状态。"
    assert llm_summary(Failing(responses=["x"]), PROJECT_ROOT / "prompts", "customer_request", MESSAGES) is None
    assert llm_summary(None, PROJECT_ROOT / "prompts", "customer_request", MESSAGES) is None
