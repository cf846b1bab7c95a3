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


# --- disguises (issue 23) and the wider net of issue 22 --------------------------------------------

MOBILE = "13912345678"
CARD_DOTS = f"{CARD[:4]}.{CARD[4:8]}.{CARD[8:12]}.{CARD[12:16]}.{CARD[16:]}"


@pytest.mark.parametrize("text, kind", [
    ("TEL13912345678 找我", "mobile"),
    ("手机 139.1234.5678", "mobile"),
    ("号码 1\u200b3\u200b9\u200b1\u200b2\u200b3\u200b4\u200b5\u200b6\u200b7\u200b8", "mobile"),
    ("号码1\u20603\u00ad9 1234 5678", "mobile"),
    ("我的手机是一三九一二三四五六七八", "mobile"),
    ("手机幺三九 幺二三四 五六七八", "mobile"),
    ("+86 139-1234-5678", "mobile"),
    ("+8613912345678", "mobile"),
    ("(+86)139 1234 5678", "mobile"),
    ("0086-139-1234-5678", "mobile"),
    (f"卡号 {CARD_DOTS}", "bank_card"),
    (f"卡号 {CARD[:4]} {CARD[4:8]} {CARD[8:12]} {CARD[12:16]} {CARD[16:]}", "bank_card"),
    ("邮箱 zhang.san(at)example.com", "email"),
    ("邮箱 zhang.san [at] example [dot] com", "email"),
    ("邮箱 zhang.san（at）example.com", "email"),
    ("身份证110105194912310021", "id_number"),  # check digit wrong: still the customer's ID
    ("身份证 1101 0519 4912 3100 21", "id_number"),
    ("验证码是四八二九一三", "credential"),
    ("交易密码是 Qw8899", "credential"),
])
def test_disguised_personal_data_is_masked(text, kind) -> None:
    result = mask_pii(text)
    assert kind in result.kinds, result
    digits = "".join(c for c in result.text if c.isdigit())
    assert "1234" not in digits.replace("1234****", "") or kind != "mobile"
    for secret in (MOBILE, CARD, "110105194912310021", "zhang.san", "482913", "Qw8899"):
        assert secret not in "".join(c for c in result.text if c.isalnum() or c == "."), result.text
    assert "*" in result.text


def test_disguised_mobile_is_masked_recognisably_and_the_rest_kept() -> None:
    assert mask_pii("TEL13912345678 找我").text == "TEL139****5678 找我"
    assert mask_pii("请拨 139.1234.5678 谢谢").text == "请拨 139****5678 谢谢"
    assert mask_pii("+86 139-1234-5678").text == "86 139****5678"


@pytest.mark.parametrize("text", [
    "价格 13.50 14.20 15.60 16.10",  # prices in a list are not one number
    "一二三四月的账单",
    "2025.11.25 成交",
    "委托编号 110105194912310021",  # ours, though shaped like an ID
])
def test_normalisation_does_not_invent_personal_data(text) -> None:
    assert find_pii(text) == [], find_pii(text)


def test_a_code_said_before_its_word_or_in_groups_is_masked() -> None:
    for text, secret in [("4 7 2 9 1 5 就是短信里的码", "4 7 2 9 1 5"), ("动态口令 512 906 不好使", "512 906"),
                         ("731902是验证码吗", "731902")]:
        masked = mask_pii(text)
        assert secret not in masked.text and masked.has_credential, text


def test_a_stock_code_or_a_hotline_beside_the_word_code_is_not_a_secret() -> None:
    for text in ["600519的代码是多少", "拨打95588客服号码", "委托编号 123456 的码"]:
        assert mask_pii(text).text == text


@pytest.mark.parametrize("text, secrets", [
    ("登录不上，我试了zhangli1975和Zhangli1975两个都不行", ["zhangli1975", "Zhangli1975"]),
    ("刚收到的码是６２８４０１，页面一直转圈", ["628401", "６２８４０１"]),  # full-width digits
    ("code 902117 already expired? it came 2 mins ago", ["902117"]),
    ("短信里的数字是7 3 5 0 1 6，填进去没反应", ["7 3 5 0 1 6"]),
    ("手机号16760143279，收到的339172输进去显示已失效，再发一次", ["339172", "16760143279"]),
])
def test_a_code_or_password_given_without_its_usual_word_is_masked(text, secrets) -> None:
    masked = mask_pii(text).text
    assert not any(s in masked for s in secrets), masked


@pytest.mark.parametrize("text", ["买入600519 100股", "stock code 600519 price", "起码50000元才能开",
                                  "收到了100股的成交回报", "短信通知尾号5678的卡到账了"])
def test_numbers_that_are_not_secrets_stay(text) -> None:
    assert mask_pii(text).text == text
