"""The words that settle a waiting confirmation: only an explicit yes executes, a withdrawal wins."""

from __future__ import annotations

import pytest

from assistant.conversation.repair import is_cancel, is_explicit_yes


@pytest.mark.parametrize("text", ["确认", "确定", "是的，下单", "确认下单", "哦 好 确认", "那确认吧，确认", "确定撤",
                                  "确认撤单", "好的确认"])
def test_an_explicit_yes(text: str) -> None:
    assert is_explicit_yes(text)


@pytest.mark.parametrize("text", ["好的吧", "嗯对", "行吧", "可以吧", "随便", "应该是吧", "ok?", "嗯", "是的", "没问题",
                                  "不确定", "确定不撤", "确认……算了不买了"])
def test_not_an_explicit_yes(text: str) -> None:
    assert not is_explicit_yes(text)


@pytest.mark.parametrize("text", ["算了算了 不买了", "等等先别", "确认……算了不买了", "不要了", "取消", "不"])
def test_a_withdrawal_wins(text: str) -> None:
    assert is_cancel(text)


def test_a_pause_is_not_a_withdrawal() -> None:
    assert not is_cancel("等下 手续费怎么算的啊")
