"""Personal data in free text: find it and mask it before the text goes anywhere.

What counts (《个人信息保护法》; our privacy rules): an 18-character mainland resident ID number
(GB 11643 shape: region, a real birth date, a sequence and a check character; masked whatever the
check character, since a mistyped ID is still the customer's ID), a bank card number that passes
the Luhn check, a mainland mobile number (with or without +86), an e-mail address, and anything
the customer typed as a password or a verification code.

The text is read through textnorm.normalize first: invisible characters dropped, full-width
forms and Chinese numerals read as digits, "(at)" read as "@". Digit groups are joined across
blanks, hyphens or dots ("139.1234.5678", "6222 0212 …"), and a number may follow letters
("TEL13912345678"). Masks keep just enough to recognise one's own data (138****5678, 尾号 1234)
and never contain a full number again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from assistant.compliance.textnorm import WIDTH, normalize

_WIDTH = WIDTH
# Blanks and hyphens may be mixed between digit groups ("+86 139-1234-5678"); dots must be used
# throughout ("139.1234.5678"), so a list of prices is not read as one number. A +86 / 0086
# prefix belongs to the number.
_DIGIT_RUN = re.compile(
    r"(?<!\d)(?:(?:\+|00)\s?86[ \-.]?|[(（]\+?86[)）]\s?)?"
    r"(?:\d(?:[ \-]{0,2}\d){9,22}(?:[ \-]?[Xx])?|\d(?:\.?\d){9,22}(?:\.?[Xx])?)(?![0-9])")
_SEPARATORS = re.compile(r"[ \-.()（）+]")
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}(?![A-Za-z])")
# A secret follows its keyword within a few characters: "密码是 Abc12345", "验证码：482913".
_SECRET = re.compile(
    r"(?P<key>(?:交易|资金|登录|银行卡?|取款|支付|账户|账号|手机)?(?:密码|口令)|(?:短信|手机|动态|校验|验证|登录|安全)码"
    r"|(?<![A-Za-z])(?:passwords?|pwd|passcode|pin|otp|verification\s*code)(?![A-Za-z]))"
    # Up to a short phrase between: "密码是", "password is", "新密码告诉你，你帮我记一下：".
    r"(?P<gap>(?:[^0-9A-Za-z\n。；！？;!?]|\b(?:is|was|are)\b){0,16}?)"
    # At least one digit, or six characters: "reset" after "password" is a word, not a secret.
    r"(?P<secret>" + r"\d(?:[ \-]\d){3,11}(?![0-9A-Za-z])|"  # a code typed digit by digit: "7 3 9 2 0 1"
    r"\d{2,4}(?:[ \-]\d{2,4}){1,3}(?![0-9A-Za-z])|"  # or in groups: "093 847"
    r"(?=[A-Za-z!@#$%^&*_.+=~-]*\d|[A-Za-z0-9!@#$%^&*_.+=~-]{6})[A-Za-z0-9!@#$%^&*_.+=~@-]{4,32})(?![A-Za-z0-9])",
    re.IGNORECASE,
)
# A code said before its word: "8 3 1 4 0 2 这是刚收到的码", "482913就是验证码" (not 代码, 号码, 编码, 条码).
_SECRET_BEFORE = re.compile(
    r"(?<![0-9])(?P<secret>\d(?:[ \-]?\d){3,7})(?![0-9])[^0-9\n。；！？;!?]{0,8}?"
    r"(?:(?<![代号编条])码|口令)")
# A code right after a looser word ("刚收到的码是628401", "短信里的数字是7 3 5 0 1 6", "code 902117"):
# digits only, and only a few characters between, so "短信里写着…您的验证码为…" is left to its own word.
_CODE_NEAR = re.compile(
    r"(?:(?<![代号编条价维起密])码|短信(?:里|上|中)?的?(?:数字)?|(?<![A-Za-z])(?<!stock )code(?![A-Za-z]))"
    r"(?P<gap>[^0-9A-Za-z\n。；！？;!?]{0,4}?|\s*(?:is|was)\s*)(?P<secret>\d(?:[ \-]?\d){3,7})(?![0-9A-Za-z])", re.IGNORECASE)
# A code being entered, said without its word: "收到的339172输进去显示已失效".
_CODE_ENTERED = re.compile(
    r"(?:收到(?:的|了)?|发来的|发的|输入了?|输了|填了)\s*(?P<secret>\d(?:[ \-]?\d){3,7})(?![0-9])"
    r"(?=[^。\n]{0,10}(?:输|填|失效|过期|验证|没反应|不对|错|无效|不行))")
# Passwords tried at a log-in: "登录不上，我试了zhangli1975和Zhangli1975两个都不行".
_TRIED_PASSWORD = re.compile(
    r"(?:登录|登陆|登不上|登不进|密码)[^。\n]{0,12}?(?:试了|输了|用了|输入了?)\s*"
    r"(?P<secret>(?=[A-Za-z!@#$%^&*_.+=~-]*\d)[A-Za-z0-9!@#$%^&*_.+=~@-]{6,32})(?![A-Za-z0-9])")
# More candidates after the first: "可能是19880612或者880612，你帮我看看哪个对".
_ANOTHER_SECRET = re.compile(r"\s*(?:或者|或是|或|还是|要么|和|跟|、|/|，|,)\s*(?P<secret>[A-Za-z0-9!@#$%^&*_.+=~@-]{4,32})(?![A-Za-z0-9])")
# Numbers that are ours, not the customer's: order and contract numbers look like card numbers.
_NOT_PERSONAL = re.compile(r"(委托|订单|合同|流水|申请|业务|工单|客户|资金账|证券账|股东)(编?号|代码)?[：:\s]*$")
# "尾号5678" is the masked tail of a number the customer already knows, never the secret itself.
_OTHER_NUMBER = re.compile(r"编号|单号|代码|委托|订单|合同|客户号|账号|证券|股票|拨打|热线|电话|致电|联系|报警|尾号|末四位|后四位")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


@dataclass(frozen=True)
class PiiFinding:
    kind: str  # id_number | bank_card | mobile | email | credential
    start: int
    end: int


@dataclass(frozen=True)
class MaskResult:
    text: str
    findings: tuple[PiiFinding, ...]

    @property
    def kinds(self) -> set[str]:
        return {f.kind for f in self.findings}

    @property
    def has_credential(self) -> bool:
        return "credential" in self.kinds


def normalize_width(text: str) -> str:
    return text.translate(_WIDTH)


def id_shaped(digits: str) -> bool:
    """18 characters shaped like a resident ID: 17 digits with a real birth date, then a digit or X."""
    if len(digits) != 18 or not digits[:17].isdigit() or digits[0] in "09" or not (digits[17].isdigit() or digits[17] in "Xx"):
        return False
    try:
        born = date(int(digits[6:10]), int(digits[10:12]), int(digits[12:14]))
    except ValueError:
        return False
    return 1900 <= born.year <= 2100


def valid_id_number(digits: str) -> bool:
    if not id_shaped(digits):
        return False
    check = _ID_CHECK[sum(int(d) * w for d, w in zip(digits[:17], _ID_WEIGHTS)) % 11]
    return digits[17].upper() == check


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _digits(value: str) -> str:
    """The digits of a matched number, separators and the 00 of an 0086 prefix left out."""
    digits = _SEPARATORS.sub("", value)
    return digits[2:] if digits.startswith("0086") else digits


def _classify_number(digits: str, before: str) -> str | None:
    if len(digits) == 18 and (valid_id_number(digits) or (id_shaped(digits) and not _NOT_PERSONAL.search(before))):
        return "id_number"
    if not digits.isdigit():
        return None
    if len(digits) == 11 and re.fullmatch(r"1[3-9]\d{9}", digits):
        return "mobile"
    if len(digits) == 13 and re.fullmatch(r"861[3-9]\d{9}", digits):
        return "mobile"
    if 16 <= len(digits) <= 19 and digits[0] in "3456789" and luhn_ok(digits) and not _NOT_PERSONAL.search(before):
        return "bank_card"
    return None


def find_pii(text: str) -> list[PiiFinding]:
    """Spans of personal data in text (positions in text as given)."""
    view = normalize(text)
    return [PiiFinding(f.kind, *view.span(f.start, f.end)) for f in _find(view.text)]


def _find(norm: str) -> list[PiiFinding]:
    """Spans of personal data in an already normalised text."""
    found: list[PiiFinding] = []
    secrets = (_SECRET, _CODE_NEAR, _CODE_ENTERED, _TRIED_PASSWORD)
    for m in (m for pattern in secrets for m in pattern.finditer(norm)):
        if "gap" in m.groupdict() and _OTHER_NUMBER.search(m.group("gap")):
            continue  # "密码错误，委托编号 2025…", "短信通知尾号5678": the number that follows is not the secret
        found.append(PiiFinding("credential", m.start("secret"), m.end("secret")))
        end = m.end("secret")
        while (more := _ANOTHER_SECRET.match(norm, end)) and any(c.isdigit() for c in more.group("secret")):
            found.append(PiiFinding("credential", more.start("secret"), more.end("secret")))
            end = more.end("secret")
    for m in _SECRET_BEFORE.finditer(norm):
        if not _OTHER_NUMBER.search(norm[max(0, m.start() - 6):m.start()]) and \
                not any(f.start <= m.start("secret") < f.end for f in found):
            found.append(PiiFinding("credential", m.start("secret"), m.end("secret")))
    for m in _DIGIT_RUN.finditer(norm):
        digits = _digits(m.group())
        kind = _classify_number(digits, norm[max(0, m.start() - 12):m.start()])
        if kind:
            found.append(PiiFinding(kind, m.start(), m.end()))
    for m in _EMAIL.finditer(norm):
        found.append(PiiFinding("email", m.start(), m.end()))
    # A number already taken as a secret is not reported twice.
    found.sort(key=lambda f: (f.start, -(f.end - f.start)))
    merged: list[PiiFinding] = []
    for f in found:
        if merged and f.start < merged[-1].end:
            continue
        merged.append(f)
    return merged


def _mask_value(kind: str, value: str) -> str:
    if kind == "credential":
        return "******"
    if kind == "email":
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    digits = _digits(value)
    if kind == "mobile":
        country, digits = digits[:-11], digits[-11:]
        return f"{country + ' ' if country else ''}{digits[:3]}****{digits[-4:]}"
    if kind == "id_number":
        return f"{digits[:3]}***********{digits[-4:]}"
    return f"{digits[:4]} **** **** {digits[-4:]}"  # bank_card


def mask_pii(text: str) -> MaskResult:
    """The text with every finding masked; everything else exactly as it was."""
    view = normalize(text)
    found = _find(view.text)
    findings = [PiiFinding(f.kind, *view.span(f.start, f.end)) for f in found]
    out, pos = [], 0
    for f, original in zip(found, findings):  # the mask is made from the normalised number
        out.append(text[pos:original.start])
        out.append(_mask_value(f.kind, view.text[f.start:f.end]))
        pos = original.end
    out.append(text[pos:])
    return MaskResult("".join(out) if findings else text, tuple(findings))


PII_NAMES = {"id_number": "身份证号", "bank_card": "银行卡号", "mobile": "手机号", "email": "电子邮箱",
             "credential": "密码或验证码"}
