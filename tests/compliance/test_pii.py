"""Personal data is found through spacing and full-width digits, masked recognisably, and our own
numbers (codes, order numbers, amounts, dates) are left alone."""

from __future__ import annotations

import pytest

from assistant.compliance import find_pii, mask_pii
from assistant.compliance.pii import luhn_ok, valid_id_number

ID_NUMBER = "11010519491231002X"  # check digit X is right for this body
CARD = "6222021234567890128"  # passes Luhn


def test_check_digits_are_really_checked() -> None:
    assert valid_id_number(ID_NUMBER)
    assert not valid_id_number("110105194912310021")  # wrong check digit
    assert not valid_id_number("110105194913310025")  # month 13
    assert luhn_ok(CARD) and not luhn_ok("6222021234567890123")


@pytest.mark.parametrize("text, kind, secret", [
    ("我的手机号是13812345678", "mobile", "13812345678"),
    ("电话 138 1234 5678 请回电", "mobile", "138 1234 5678"),
    ("手机１３９１２３４５６７８", "mobile", "１３９１２３４５６７８"),
    ("+86-139-1234-5678", "mobile", "139-1234-5678"),
    (f"身份证{ID_NUMBER}办理", "id_number", ID_NUMBER),
    (f"卡号 {CARD[:4]} {CARD[4:8]} {CARD[8:12]} {CARD[12:16]} {CARD[16:]}", "bank_card", CARD[4:8]),
    ("对账单发到xiaoyu.li@126.com吧", "email", "xiaoyu.li@126.com"),
    ("我的交易密码是Abc12345，帮我看看", "credential", "Abc12345"),
    ("验证码：482913", "credential", "482913"),
    ("My password is Tr@de2025! and it fails", "credential", "Tr@de2025!"),
    ("新密码告诉你，你帮我记一下：Lh@2024abc", "credential", "Lh@2024abc"),
    ("验证码是 7 3 9 2 0 1，为什么提示错误", "credential", "7 3 9 2 0 1"),  # typed digit by digit
])
def test_personal_data_is_masked(text, kind, secret) -> None:
    result = mask_pii(text)
    assert kind in result.kinds
    assert secret not in result.text
    assert "*" in result.text


def test_masks_keep_just_enough_to_recognise() -> None:
    assert mask_pii("手机13812345678").text == "手机138****5678"
    assert mask_pii(f"身份证{ID_NUMBER}").text == "身份证110***********002X"
    assert mask_pii(f"卡号{CARD}").text == "卡号6222 **** **** 0128"
    assert mask_pii("邮箱 zhang.san@qq.com").text == "邮箱 z***@qq.com"


@pytest.mark.parametrize("text", [
    "买入600519 100股，价格1480元",
    "委托编号20251125000123，已撤单",
    "合同号 6222021234567890128",  # a Luhn-valid number that is ours, not the customer's
    "2025-11-25 成交 100000 元",
    "客服热线95521，投诉请拨12386",
    "忘记交易密码怎么重置？验证码收不到怎么办？",
    "password reset",
    "密码错误，委托编号 20251125000123",
    "验证码已发送至您尾号5678的手机，请注意查收",  # the tail of a number is a masked reference, not the code
    "110105194912310021",  # an 18-digit number whose check digit is wrong
])
def test_our_own_numbers_and_questions_are_left_alone(text) -> None:
    assert find_pii(text) == []
    assert mask_pii(text).text == text


def test_a_masked_text_is_not_masked_again() -> None:
    once = mask_pii("手机13812345678，邮箱 a.b@qq.com").text
    assert mask_pii(once).text == once and not find_pii(once)


def test_every_candidate_password_is_masked() -> None:
    result = mask_pii("资金密码忘了，以前设的可能是19880612或者880612，你帮我看看哪个对")
    assert "19880612" not in result.text and "880612" not in result.text
    assert [f.kind for f in result.findings] == ["credential", "credential"]
