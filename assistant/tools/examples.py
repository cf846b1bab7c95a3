"""Worked examples on the customer's own figures: "10万买1天逆回购 年化2% 能拿多少", "昨收12.34
涨停价多少", "卖了3万 印花税多少", "10派3 我有1000股", "分红1000元 拿了20天就卖 扣多少税",
"昨收10块 10派1 除息价多少".

A careful desk answers such a question with the customer's numbers worked through, then the rule.
This is arithmetic with the house and exchange rules (trading_rules, repo), not advice: nothing here
says whether to trade. Each example is computed only when the question names every figure it
needs; otherwise the rule's own example stands.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from assistant.nlu import chinese_to_number
from assistant.nlu.securities import Security
from assistant.tools import repo
from assistant.tools.trading_rules import SHANGHAI, estimate_fees, is_trading_day, limit_prices

_NUM = r"(\d+(?:\.\d+)?)"
_AMOUNT = re.compile(_NUM + r"\s*(万|w|W|千|k|K)?\s*(?:元|块|块钱)?")
_RATE = re.compile(r"(?:年化|利率|收益率)?\s*" + _NUM + r"\s*(?:%|％|个点)")
_TENOR = re.compile(r"(\d{1,3})\s*天(?:期)?")
_WEEKDAY = re.compile(r"(?:周|星期|礼拜)([一二三四五六日天1-7])")
_PREV_CLOSE = re.compile(r"(?:昨收|昨天收|收盘价?|前收盘价?|昨日收盘价?|收了|收在)\s*(?:是|为)?\s*" + _NUM + r"\s*(?:元|块)?")
_SHARES = re.compile(r"(\d+)\s*股")
_PER_TEN = re.compile(r"10\s*(派|送|转)\s*" + _NUM)
_PLAN_PART = re.compile(r"(派|送|转(?:增)?)\s*" + _NUM)
_PLAN = re.compile(r"10\s*((?:(?:派|送|转增?)\s*\d+(?:\.\d+)?\s*(?:元|股)?\s*)+)")
# A sum in Chinese numerals: "一万二", "三十万", "五千块" (a run with 万 or 千, or followed by 元/块).
_CN_SUM = re.compile(r"[一二两三四五六七八九十百千万]*[万千][一二两三四五六七八九十百千万]*|[一二两三四五六七八九十百]+(?=元|块)")
# How long the shares were held before the sale: "拿了20天", "持有两个月", "不到一个月", "一年多".
_HELD = re.compile(r"(?:拿了|持有|持股|拿|买了|放了)?\s*(\d+|[一二两三四五六七八九十半]+)\s*(天|个?月|年)")
_DIVIDEND_TAX = re.compile(r"红利税|股息税|分红.{0,12}税|税.{0,8}分红|扣.{0,4}税|补税|交税|缴税")
_CASH_DIVIDEND = re.compile(r"(?:分红|红利|股息|分了|派了|到账)\s*(?:了)?\s*" + _NUM + r"\s*(万)?\s*(?:元|块)")
_BOARDS = {"科创板": "star", "科创版": "star", "kcb": "star", "创业板": "chinext", "cyb": "chinext",
           "北交所": "bse", "bjs": "bse", "主板": "main"}
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "1": 0, "2": 1, "3": 2, "4": 3, "5": 4}


def _yuan(x: Decimal) -> str:
    """Money as a desk writes it: "6 元", "50,000 元", "2.50 元"."""
    cents = x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{cents:,.0f} 元" if cents == cents.to_integral_value() else f"{cents:,.2f} 元"


def _digits(text: str) -> str:
    """Chinese-numeral sums as figures: "一万二的股票" → "12000元的股票"."""
    def figure(m: re.Match) -> str:
        try:
            value = chinese_to_number(m.group(0))
        except Exception:  # not a number after all ("千万别")
            return m.group(0)
        return f"{value}" if value else m.group(0)

    return _CN_SUM.sub(figure, text)


def _amount(text: str) -> Decimal | None:
    """The largest sum of money the question names (10万, 5万块, 300000元, 一万二)."""
    text = _digits(text)
    best = None
    for m in _AMOUNT.finditer(text):
        value, unit = Decimal(m.group(1)), m.group(2)
        tail = text[m.end():m.end() + 1]
        if not unit and not re.match(r"[元块]", text[m.end() - 1:m.end()] or "") and tail not in ("元", "块"):
            if value < 1000:
                continue  # a bare small number is a price, a count or a tenor, not a sum
        value *= {"万": 10000, "w": 10000, "W": 10000, "千": 1000, "k": 1000, "K": 1000}.get(unit or "", 1)
        if best is None or value > best:
            best = value
    return best


def repo_interest(text: str, today: date) -> str | None:
    """Interest on a reverse repo: amount, annual rate and tenor named; the weekday, when named,
    decides the days actually lent (a Thursday 1-day earns 3)."""
    if not re.search(r"逆回购|nhg|GC\d|R-\d|\d\s*天期", text, re.I):
        return None  # ("10万1天期 年化1.8%": only a repo has a tenor in 天期 and a stated annual rate here)
    if not re.search(r"利息|收益|赚|拿多少|能有多少|多少钱", text):
        return None
    amount, rate, tenor = _amount(text), _RATE.search(text), _TENOR.search(text)
    if amount is None or rate is None or tenor is None:
        return None
    rate_pct, tenor_days = Decimal(rate.group(1)), int(tenor.group(1))
    if tenor_days not in repo.TENORS or not (0 < rate_pct < 100):
        return None
    weekday = _WEEKDAY.search(text)
    days, when = tenor_days, ""
    if weekday and weekday.group(1) in _WEEKDAYS:
        trade_day = today + timedelta(days=(_WEEKDAYS[weekday.group(1)] - today.weekday()) % 7)
        while not is_trading_day(trade_day):  # a holiday that week: the same weekday of the next one
            trade_day += timedelta(days=7)
        first, maturity, days = repo.settlement(trade_day, tenor_days)
        when = (f"周{'一二三四五'[trade_day.weekday()]}成交的 {tenor_days} 天期，首次资金交收日 {first:%m月%d日}、"
                f"到期资金交收日 {maturity:%m月%d日}，实际占款 {days} 天；")
    gross = repo.interest(amount, rate_pct, days)
    cost = repo.fee(amount, tenor_days)
    return (f"按您说的 {_yuan(amount)}、年化 {rate_pct}% 计算：{when}利息 = {amount:,.0f} × {rate_pct}% × {days} ÷ 365 "
            f"≈ {_yuan(gross)}；{tenor_days} 天期手续费 {_yuan(cost)}，实得约 {_yuan(gross - cost)}。"
            "实际利率以成交时为准，计息天数以下单页面显示为准。")


def price_limits(text: str) -> str | None:
    """Limit-up and limit-down prices from the previous close and the board (ST: the board's limit)."""
    if not re.search(r"涨停|跌停|涨跌停", text):
        return None
    close = _PREV_CLOSE.search(text)
    if close is None:
        return None
    prev = Decimal(close.group(1))
    lowered = text.lower()
    board = next((b for word, b in _BOARDS.items() if word in lowered), None)
    if board is None:
        return None  # which board decides the band: the rule's own answer says so
    stock = Security("000000", "SH", "", (), board, "stock", "R3", prev)
    up, down = limit_prices(stock, prev)
    pct = {"star": 20, "chinext": 20, "bse": 30}.get(board, 10)
    return (f"按昨收 {prev} 元、{pct}% 涨跌幅计算：涨停价 = {prev} × (1 + {pct}%) ≈ {up} 元，"
            f"跌停价 = {prev} × (1 − {pct}%) ≈ {down} 元（四舍五入到分）。")


def trade_costs(text: str) -> str | None:
    """Commission, stamp duty and transfer fee on a stock trade of the amount named."""
    if not re.search(r"手续费|佣金|印花税|过户费|费用|税费|扣多少|交多少|到手|到账", text):
        return None
    if _DIVIDEND_TAX.search(text) or re.search(r"分红|红利|股息|\d派", text):
        return None  # the tax on a dividend, not the costs of a trade (dividend_tax)
    amount = _amount(text)
    if amount is None or amount < 100:
        return None
    # The side is the verb said nearest before the sum ("印花税买卖都收吗，那卖了20万": a sale).
    verbs = [(m.start(), m.group(0)) for m in re.finditer(r"买|卖", text)]
    if not verbs:
        return None
    at = next((m.start() for m in _AMOUNT.finditer(text) if _amount(m.group(0)) == amount), len(text))
    before = [v for pos, v in verbs if pos < at] or [verbs[0][1]]
    stock = Security("000000", "SH", "", (), "main", "stock", "R3", Decimal("1"))
    side = "sell" if before[-1] == "卖" else "buy"
    f = estimate_fees(stock, side, amount)
    parts = [f"佣金 {amount:,.0f} × 0.025% = {_yuan(f.commission)}（最低 5 元）"]
    if side == "sell":
        parts.append(f"印花税 {amount:,.0f} × 0.05% = {_yuan(f.stamp_duty)}")
    parts.append(f"过户费 {amount:,.0f} × 0.001% = {_yuan(f.transfer_fee)}")
    verb = "卖出" if side == "sell" else "买入"
    tail = f"，到账约 {_yuan(amount - f.total)}" if side == "sell" else f"，共需资金约 {_yuan(amount + f.total)}"
    return f"按{verb} {_yuan(amount)}的 A 股计算：" + "；".join(parts) + f"；合计 {_yuan(f.total)}{tail}。"


def dividend(text: str) -> str | None:
    """Cash or shares from a 10派X / 10送X / 10转X plan for the shares named."""
    plan = _PER_TEN.search(text)
    shares = _SHARES.search(text)
    if plan is None or shares is None or (_DIVIDEND_TAX.search(text) and _held_days(text) is not None):
        return None  # (the tax on it, for the holding period said, is dividend_tax's line)
    kind, per_ten, held = plan.group(1), Decimal(plan.group(2)), int(shares.group(1))
    if kind == "派":
        cash = per_ten / 10 * held
        return (f"按您持有 {held:,} 股计算：每股 {per_ten / 10} 元，税前现金红利 {held:,} × {per_ten / 10} = {_yuan(cash)}；"
                "个人持股 1 年以内派发时暂不扣税，卖出时按持股期限补扣（1 个月以内 20%，1 个月至 1 年 10%，超过 1 年免征）。")
    extra = int(per_ten * held / 10)
    return f"按您持有 {held:,} 股计算：每 10 股{kind} {per_ten} 股，可得 {extra:,} 股，合计 {held + extra:,} 股（零碎股按登记结算规则处理）。"


def _held_days(text: str) -> int | None:
    """The holding period said, in days (a month as 30, a year as 365), or None."""
    m = _HELD.search(text)
    if m is None:
        return None
    number = m.group(1)
    value = Decimal("0.5") if number == "半" else Decimal(number) if number.isdigit() else Decimal(chinese_to_number(number))
    unit = m.group(2)
    days = value * (1 if unit == "天" else 365 if unit == "年" else 30)
    if re.search(r"多|以上|超过", text[m.end():m.end() + 2]):
        days += 1  # "一年多": past the line
    return int(days)


def dividend_tax(text: str) -> str | None:
    """The tax withheld on a cash dividend when the shares are sold after the holding period said:
    20 % within a month, 10 % within a year, none after (差别化红利税)."""
    if not _DIVIDEND_TAX.search(text):
        return None
    days = _held_days(text)
    cash = _CASH_DIVIDEND.search(text)
    plan, shares = _PER_TEN.search(text), _SHARES.search(text)
    if cash is not None:
        amount = Decimal(cash.group(1)) * (10000 if cash.group(2) else 1)
    elif plan is not None and plan.group(1) == "派" and shares is not None:
        amount = Decimal(plan.group(2)) / 10 * int(shares.group(1))
    else:
        return None
    if days is None:
        return (f"按税前红利 {_yuan(amount)}计算：持股 1 个月以内（含）卖出补扣 20%，即 {_yuan(amount * Decimal('0.2'))}；"
                f"1 个月以上至 1 年（含）补扣 10%，即 {_yuan(amount * Decimal('0.1'))}；超过 1 年免征。")
    rate = Decimal("0.2") if days <= 30 else Decimal("0.1") if days <= 365 else Decimal(0)
    held = " 1 个月以内（含）" if days <= 30 else " 1 个月以上至 1 年（含）" if days <= 365 else "超过 1 年"
    if not rate:
        return f"按税前红利 {_yuan(amount)}计算：持股{held}，免征红利税，卖出时不补扣。"
    return (f"按税前红利 {_yuan(amount)}计算：持股{held}卖出，税率 {rate * 100:.0f}%，补扣 {amount.normalize():,f} × {rate * 100:.0f}% = "
            f"{_yuan(amount * rate)}（卖出后由中国结算计算，从资金账户扣收）。")


def ex_price(text: str) -> str | None:
    """The ex-rights (ex-dividend) reference price from the previous close and the plan:
    (close − cash per share) ÷ (1 + shares given per share)."""
    if not re.search(r"除权|除息|参考价", text):
        return None
    close, plan = _PREV_CLOSE.search(text), _PLAN.search(text)
    if close is None or plan is None:
        return None
    prev = Decimal(close.group(1))
    parts = _PLAN_PART.findall(plan.group(1))  # "10送3派1": every part of one plan
    cash = sum((Decimal(n) / 10 for kind, n in parts if kind == "派"), Decimal(0))
    ratio = sum((Decimal(n) / 10 for kind, n in parts if kind != "派"), Decimal(0))
    price = ((prev - cash) / (1 + ratio)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    formula = f"({prev} − {cash})" + (f" ÷ (1 + {ratio})" if ratio else "")
    return f"按昨收 {prev} 元计算：除权除息参考价 = {formula} ≈ {price} 元；当天的涨跌停价以这个参考价为基准。"


def worked_example(text: str, today: date) -> str:
    """The examples the question's figures allow, one line each ("" when none applies)."""
    lines = [line for line in (repo_interest(text, today), price_limits(text), trade_costs(text), dividend(text),
                               dividend_tax(text), ex_price(text)) if line]
    return "\n".join(lines)


__all__ = ["SHANGHAI", "dividend", "dividend_tax", "ex_price", "price_limits", "repo_interest", "trade_costs",
           "worked_example"]
