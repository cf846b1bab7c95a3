"""Slots: the security, side, quantity, price, dates, order id and permission a message names.

Rules, not a model: these are closed forms (numbers, units, calendar words) where a regular
expression is exact and explainable. Chinese numerals are converted with cn2an, but only in
spans next to a unit, so 五粮液 and 一下 stay as they are.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

import cn2an

from assistant.domain import DateRange, Slots
from assistant.nlu.securities import SecurityMaster

_CN_NUM = "零〇一二两俩三四五六七八九十百千万点"
_NUM = rf"(?:\d+(?:\.\d+)?[万千](?![{_CN_NUM}])|\d+(?:\.\d+)?|[{_CN_NUM}]+)"

_QTY = re.compile(rf"({_NUM})\s*(股|手|张|份)")
_QTY_ALL = re.compile(r"全部|全仓|所有|清仓|全卖|都卖|梭哈")
_QTY_HALF = re.compile(r"一半|半仓|二分之一")
_QTY_THIRD = re.compile(r"三分之一|1/3")
_QTY_AFTER_VERB = re.compile(rf"(?:买入|卖出|买|卖)\s*({_NUM})(?![\d.{_CN_NUM}]|\s*(?:元|块|万|天|%|号|日|月|点))")
_PRICE_YUAN = re.compile(rf"({_NUM})\s*(?:元|块|rmb|RMB)(?:钱)?\s*([{_CN_NUM}\d]{{1,2}})?(?!\s*(?:股|手|钱的|市值))")
_PRICE_AT = re.compile(rf"(?:价格|价位|限价|挂|以|按|@|价)\s*(?:个|了)?\s*(?:改成|改为|调到|调成|换成|设成|设为|是|为|在)?\s*[:：]?\s*"
                       rf"(\d+(?:\.\d+)?|[{_CN_NUM}]+)(?![\d.]|\s*(?:股|手|%|万|天|号|日|月|个|只|笔|单|下|[{_CN_NUM}]*(?:股|手)))")
_PRICE_BEFORE = re.compile(rf"({_NUM})\s*(?:元|块)?\s*的?\s*(?:限价|价(?!格))")
_MARKET = re.compile(r"市价|对手价|最优价|现价|立即成交|马上成交")
_LIMIT_UP = re.compile(r"涨停价|涨停板价")
_LIMIT_DOWN = re.compile(r"跌停价|跌停板价")
_BUY = re.compile(r"买入|买进|买|购入|加仓|建仓|抄底|补仓|搞点|整点|弄点|入手|上车|来(?=点|[\d一二两俩三四五六七八九十百千]+\s*(?:股|手))|buy",
                  re.IGNORECASE)
_SELL = re.compile(r"卖出|卖掉|卖了|卖|抛|减仓|清仓|止损|sell", re.IGNORECASE)
_NOT_TRADE = re.compile(r"买了什么|卖了什么|买过|卖过|买的|卖的|买卖记录")
_ORDER_ID = re.compile(r"(?:委托|订单|单子|单)\s*(?:编号|号码|号|ID|id)?\s*[:：#]?\s*(\d{1,12})(?![\d.]|\s*(?:股|手|元|块|%))")
_ORDER_ID_HASH = re.compile(r"#\s*(\d{1,12})")

_PERMISSIONS = [
    ("star", re.compile(r"科创板|科创|kcb|688", re.IGNORECASE)),
    ("chinext", re.compile(r"创业板|cyb|chinext", re.IGNORECASE)),
    ("bse", re.compile(r"北交所|北京证券交易所|北证")),
    ("margin", re.compile(r"融资融券|两融|融资|融券|信用账户")),
    ("hk_connect", re.compile(r"港股通|沪港通|深港通|港股")),
    ("cbond", re.compile(r"可转债|转债")),
]

_ORDER_STATUS = [
    ("open", re.compile(r"未成交|没成交|挂着|挂单|未完成|可撤")),
    ("filled", re.compile(r"已成交|成交了的|成交的")),
    ("cancelled", re.compile(r"已撤|撤销了的|撤掉的")),
]


_REPO = re.compile(r"逆回购|国债回购|GC\s*\d{3}|R\s*-?\s*\d{3}\b|20400[1-4]|2040(?:07|14|28|91)|204182|1318(?:10|11|00|09|01|02|03|05|06)", re.I)
_REPO_CODE = re.compile(r"(?<![A-Za-z0-9])(GC\s*\d{3}|R\s*-?\s*\d{3}|204\d{3}|1318\d{2})(?![0-9])", re.I)
_TENOR = re.compile(r"(?<![\d.])(\d{1,3}|[一二两三四五六七八九十]{1,3})\s*天(?:期)?")
# A sum: 10万 / 五万 / 一万二 / 5000元 / 两千块. A bare number is never a sum.
_AMOUNTS = (
    re.compile(r"([一二两三四五六七八九十]+万[一二两三四五六七八九](?:千[一二两三四五六七八九]?)?)(?!\s*天)"),
    re.compile(r"(\d+(?:\.\d+)?|[一二两三四五六七八九十百]+)\s*(万)"),
    re.compile(r"(\d+(?:\.\d+)?|[一二两三四五六七八九十]+)\s*(千)(?!\s*天)"),
    re.compile(rf"({_NUM})\s*(?:元|块)"),
    re.compile(r"借出?\s*(\d{4,}(?:\.\d+)?)(?![\d.]|\s*天)"),  # 借出15500: a sum lent, at least 1,000
)


def extract_repo(text: str) -> tuple[bool, str | None, int | None, Decimal | None]:
    """(about a reverse repo, the code named, the tenor in days, the amount in yuan). The amount is
    read only from a sum with 万/千/元 ("10万", "5000元", "五万块"), never from a bare number."""
    from assistant.tools.repo import BY_CODE, BY_NAME  # the product list is the broker's

    code = None
    m = _REPO_CODE.search(text)
    if m:
        raw = re.sub(r"[\s-]", "", m.group(1)).upper()
        product = BY_CODE.get(raw) or BY_NAME.get(raw)
        code = product.code if product else None
    tenor = None
    t = _TENOR.search(text)
    if t:
        value = chinese_to_number(t.group(1))
        if value is not None and value == value.to_integral_value():
            tenor = int(value)
    amount = None
    for pattern in _AMOUNTS:
        a = pattern.search(text)
        if a is None:
            continue
        unit = a.group(2) if pattern.groups > 1 else None
        value = chinese_to_number(a.group(1))
        if value is not None and value > 0:
            amount = value * (10000 if unit == "万" else 1000 if unit == "千" else 1)
            break
    return bool(_REPO.search(text)) or code is not None, code, tenor, amount


def chinese_to_number(text: str) -> Decimal | None:
    """'200' → 200, '两百' → 200, '一千五百三十五点五' → 1535.5; None when it is not a number."""
    text = text.strip()
    if not text:
        return None
    try:
        if re.fullmatch(r"\d+(?:\.\d+)?", text):
            return Decimal(text)
        value = cn2an.cn2an(text.replace("两", "二").replace("俩", "二").replace("〇", "零"), "smart")
        return Decimal(str(value))
    except (ValueError, KeyError, InvalidOperation, TypeError):
        return None


def extract_quantity(text: str) -> tuple[int | None, str | None]:
    """(shares, mode): 手 = 100 shares; 全部 / 一半 set the mode and leave shares to the tool."""
    m = _QTY.search(text)
    if m:
        value = chinese_to_number(m.group(1))
        if value is not None and value > 0 and value == value.to_integral_value():
            shares = int(value) * (100 if m.group(2) == "手" else 1)
            return shares, "shares"
    m = _QTY_AFTER_VERB.search(text)
    if m:  # 工行买一千五: a whole number of hundreds right after 买/卖 is shares (the preview shows it)
        value = chinese_to_number(m.group(1))
        if value is not None and value >= 100 and value % 100 == 0:
            return int(value), "shares"
    if _QTY_HALF.search(text):
        return None, "half"
    if _QTY_THIRD.search(text):
        return None, "third"
    if _QTY_ALL.search(text):
        return None, "all"
    return None, None


def extract_price(text: str) -> tuple[str | None, Decimal | None]:
    if _LIMIT_UP.search(text):
        return "limit_up", None
    if _LIMIT_DOWN.search(text):
        return "limit_down", None
    m = _PRICE_YUAN.search(text)
    if m:
        value = chinese_to_number(m.group(1))
        if value is not None and m.group(2):  # 十块五 / 10块5: tenths; 7块25: tenths and hundredths
            cents = m.group(2)
            part = chinese_to_number(cents) if len(cents) == 1 else \
                (Decimal(cents) if cents.isdigit() else None)
            if part is not None and value == value.to_integral_value():
                value = value + (part / 10 if len(cents) == 1 else part / 100)
        if value is not None and value > 0:
            return "limit", value
    for pattern in (_PRICE_AT, _PRICE_BEFORE):
        m = pattern.search(text)
        if m:
            value = chinese_to_number(m.group(1))
            if value is not None and value > 0:
                return "limit", value
    if _MARKET.search(text):
        return "market", None
    return None, None


def extract_side(text: str) -> str | None:
    if _NOT_TRADE.search(text):
        return None
    buy, sell = _BUY.search(text), _SELL.search(text)
    if buy and sell:
        return "buy" if buy.start() < sell.start() else "sell"
    return "buy" if buy else "sell" if sell else None


def _month_range(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


_MD = re.compile(rf"({_NUM})\s*月\s*({_NUM})\s*[日号]")
_YMD = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})[日号]?")
_MONTH = re.compile(rf"(?:(\d{{4}}|今|去)年)?\s*({_NUM})\s*月份?(?![\d{_CN_NUM}]*\s*[日号])")
_RECENT = re.compile(rf"(?:最近|近|过去)\s*({_NUM})?\s*(天|日|周|个?星期|个?礼拜|个?月|年)")


def extract_date_range(text: str, today: date) -> DateRange | None:
    """Calendar words to an inclusive range. Months in the future mean last year's."""
    t = text

    def rng(start: date, end: date, mention: str) -> DateRange:
        return DateRange(start=start, end=min(end, today), mention=mention)

    if m := _YMD.search(t):
        try:
            d = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            return rng(d, d, m.group(0))
        except ValueError:
            pass
    dates: list[tuple[date, str]] = []
    for m in _MD.finditer(t):
        month, day = chinese_to_number(m.group(1)), chinese_to_number(m.group(2))
        if month and day and 1 <= month <= 12:
            year = today.year if (int(month), int(day)) <= (today.month, today.day) else today.year - 1
            try:
                dates.append((date(year, int(month), int(day)), m.group(0)))
            except ValueError:
                pass
    if len(dates) >= 2:
        (a, ma), (b, mb) = dates[0], dates[1]
        return rng(min(a, b), max(a, b), f"{ma}到{mb}")
    if len(dates) == 1:
        return rng(dates[0][0], dates[0][0], dates[0][1])
    if m := _RECENT.search(t):
        n = chinese_to_number(m.group(1)) if m.group(1) else Decimal(1)
        unit = m.group(2)
        n = int(n or 1)
        days = {"天": 1, "日": 1, "年": 365}.get(unit[-1], 30 if unit.endswith("月") else 7)
        return rng(today - timedelta(days=days * n - 1), today, m.group(0))
    if m := _MONTH.search(t):
        month = chinese_to_number(m.group(2))
        if month and 1 <= month <= 12 and month == int(month):
            prefix = m.group(1)
            if prefix and prefix.isdigit():
                year = int(prefix)
            elif prefix == "去":
                year = today.year - 1
            else:
                year = today.year if int(month) <= today.month else today.year - 1
            start, end = _month_range(year, int(month))
            return rng(start, end, m.group(0))
    for words, span in _CALENDAR_WORDS:
        for word in words:
            if word in t:
                return rng(*span(today), word)
    return None


def _last_quarter(today: date) -> tuple[date, date]:
    q = (today.month - 1) // 3
    year, q = (today.year, q - 1) if q > 0 else (today.year - 1, 3)
    start = date(year, q * 3 + 1, 1)
    return start, _month_range(year, q * 3 + 3)[1]


def _last_month(today: date) -> tuple[date, date]:
    return _month_range(*((today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)))


# Checked in this order; each entry's words are synonyms.
_CALENDAR_WORDS = [
    (("今天", "今日", "当天"), lambda d: (d, d)),
    (("前天",), lambda d: (d - timedelta(days=2),) * 2),
    (("昨天", "昨日"), lambda d: (d - timedelta(days=1),) * 2),
    (("上周", "上个星期"), lambda d: (d - timedelta(days=d.weekday() + 7), d - timedelta(days=d.weekday() + 1))),
    (("本周", "这周", "这个星期"), lambda d: (d - timedelta(days=d.weekday()), d)),
    (("上个月", "上月"), _last_month),
    (("本月", "这个月"), lambda d: (d.replace(day=1), d)),
    (("今年",), lambda d: (date(d.year, 1, 1), d)),
    (("去年",), lambda d: (date(d.year - 1, 1, 1), date(d.year - 1, 12, 31))),
    (("上个季度", "上季度"), _last_quarter),
]


def extract_order_id(text: str) -> str | None:
    m = _ORDER_ID.search(text) or _ORDER_ID_HASH.search(text)
    return m.group(1) if m else None


def extract_permission(text: str) -> str | None:
    for name, pattern in _PERMISSIONS:
        if pattern.search(text):
            return name
    return None


def extract_order_status(text: str) -> str | None:
    for name, pattern in _ORDER_STATUS:
        if pattern.search(text):
            return name
    return None


class SlotExtractor:
    def __init__(self, master: SecurityMaster) -> None:
        self.master = master

    def extract(self, text: str, today: date) -> Slots:
        refs = self.master.find(text)
        # Masking the securities first keeps 五粮液 from being read as the number 5 and
        # 600519 from being read as a price or a quantity.
        masked = text
        for ref in refs:
            masked = masked.replace(ref.mention, "□" * len(ref.mention))
        quantity, mode = extract_quantity(masked)
        price_type, price = extract_price(masked)
        order_id = extract_order_id(masked)
        # An order id is not a quantity or a price.
        repo, repo_code, tenor, amount = extract_repo(masked)
        return Slots(
            repo=repo, repo_code=repo_code, tenor_days=tenor, amount=amount,
            security=refs[0] if len(refs) == 1 else None,
            security_candidates=refs if len(refs) > 1 else [],
            side=extract_side(masked),
            quantity=quantity,
            quantity_mode=mode,
            price_type=price_type,
            price=price,
            date_range=extract_date_range(masked, today),
            order_id=order_id,
            permission=extract_permission(text),
            order_status=extract_order_status(masked),
        )
