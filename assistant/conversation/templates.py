"""Reply texts: how a careful service desk says each result. Simplified Chinese, amounts in yuan."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from assistant.compliance import LEVEL_NAMES, REFUSALS, RISK_NAMES, matching_range
from assistant.nlu import BOARD_NAMES
from assistant.tools import (
    AccountOpening,
    Balance,
    Order,
    OrderPreview,
    PermissionStatus,
    Position,
    Quote,
    RiskProfile,
    Trade,
)
from assistant.tools.repo import BY_CODE as REPO_CODES
from assistant.tools.trading_rules import session_check

SIDE = {"buy": "买入", "sell": "卖出"}
STATUS = {"open": "未成交", "filled": "已成交", "cancelled": "已撤销"}
SIM_NOTE = "（模拟行情，仅供参考）"

SIGN_IN = "查询或办理账户业务需要先登录。请在明川证券 App 登录后再来问我，我会为您查询本人账户的信息。"
GREETING = "您好，我是明川证券智能客服。可以为您查询账户资产、持仓、委托和成交，解答交易规则、开户和业务办理问题，也可以协助您下单。请问有什么可以帮您？"
GOODBYE = "感谢您的咨询，祝您生活愉快！如有需要，随时找我。"
OUT_OF_SCOPE = "抱歉，这个问题超出了我的服务范围。我可以帮您查询账户、解答证券交易和业务办理的问题，或者为您转接人工客服。"
NOTHING_PENDING = "当前没有需要您确认的操作。请问还有什么可以帮您？"
ABANDONED = "好的，已为您取消，本次没有提交任何委托。还有什么可以帮您？"
CLARIFY = "抱歉，我没有完全理解您的意思。您可以换个说法，例如“查一下我的持仓”“茅台现在多少钱”“科创板开通条件”，或者回复“人工”转接人工客服。"
KB_NOT_READY = "知识库正在建立索引，请稍后再试；账户查询不受影响。"
ADVICE_REFUSAL = REFUSALS["investment_advice"]  # the same words whether the guard or the policy refuses
HUMAN_AGENT = "好的，正在为您转接人工客服，请稍候。转接期间您的对话记录会一并提供给客服人员，无需重复描述。"
COMPLAINT = (
    "非常抱歉给您带来了不好的体验。我已为您转接人工客服专人处理，您的对话记录会一并转交。"
    "您也可以通过 App「我的—在线客服」提交投诉，或拨打中国证监会热线 12386 反映问题。"
)
APP_PAGES = {
    "fund_transfer": (
        "为了资金安全，资金划转不能在对话中办理。请在明川证券 App「交易—银证转账」自行操作："
        "银行转证券实时到账；证券转银行在交易日 8:30–16:00 受理，卖出股票的资金当日可用、下一交易日可取。"
    ),
    "password_reset": (
        "为了账户安全，密码不能在对话中修改或重置，也请不要在对话中发送任何密码或验证码。"
        "请在明川证券 App 登录页点击“忘记密码”，或在「我的—账户安全」中按提示完成身份验证后重置。"
    ),
    "update_contact": (
        "修改手机号、地址等个人信息需要本人身份验证，不能在对话中办理。"
        "请在明川证券 App「我的—个人资料」按提示修改；身份证到期的，请在同一页面上传新证件。"
    ),
}


def yuan(x: Decimal) -> str:
    return f"{x:,.2f} 元"


def price(x: Decimal) -> str:
    """Two decimals, three where the third is used (ETF ticks are 0.001)."""
    s = f"{x:.3f}"
    return s[:-1] if s.endswith("0") else s


def signed_pct(x: Decimal) -> str:
    return f"{x:+.2f}%"


def balance_text(b: Balance) -> str:
    return (
        f"您的账户资产如下：总资产 {yuan(b.total_assets)}，其中证券市值 {yuan(b.market_value)}；"
        f"可用资金 {yuan(b.available)}，可取资金 {yuan(b.withdrawable)}"
        + (f"，冻结资金 {yuan(b.frozen)}（未成交买单占用）" if b.frozen else "")
        + "。市值按模拟行情计算，仅供参考。"
    )


def positions_text(items: list[Position], only: str | None = None) -> str:
    if only:
        items = [p for p in items if p.code == only]
        if not items:
            return "您的账户目前没有这只证券的持仓。"
    if not items:
        return "您的账户目前没有持仓。"
    lines = [
        f"{p.name}（{p.code}）：持有 {p.quantity} 股，可卖 {p.sellable} 股，成本价 {price(p.cost_price)} 元，"
        f"现价 {price(p.last_price)} 元，市值 {yuan(p.market_value)}，浮动盈亏 {p.profit:+,.2f} 元（{signed_pct(p.profit_pct)}）"
        for p in items
    ]
    head = "您的持仓如下：\n" if len(items) > 1 else ""
    return head + "\n".join(lines) + "\n" + SIM_NOTE


def order_line(o: Order) -> str:
    if o.code in REPO_CODES:  # a reverse repo: an amount lent at a rate, not shares
        return (f"委托号 {o.order_id}：国债逆回购 {o.name}（{o.code}）借出 {o.quantity:,} 元，年化 {o.limit_price}%，"
                f"{STATUS[o.status]}，{o.created_at.strftime('%H:%M')} 委托")
    how = "市价" if o.price_type == "market" else f"限价 {price(o.limit_price)} 元"
    return (f"委托号 {o.order_id}：{SIDE[o.side]} {o.name}（{o.code}）{o.quantity} 股，{how}，"
            f"{STATUS[o.status]}" + (f"（已成交 {o.filled_quantity} 股）" if o.status == "open" and o.filled_quantity else "")
            + f"，{o.created_at.strftime('%H:%M')} 委托")


def orders_text(items: list[Order], status: str | None) -> str:
    label = {"open": "未成交的", "filled": "已成交的", "cancelled": "已撤销的"}.get(status or "", "")
    if not items:
        return f"您今天没有{label}委托。"
    return f"您今天{label}委托共 {len(items)} 笔：\n" + "\n".join(order_line(o) for o in items)


def trades_text(items: list[Trade], start: date, end: date) -> str:
    span = start.isoformat() if start == end else f"{start.isoformat()} 至 {end.isoformat()}"
    if not items:
        return f"{span}期间您没有成交记录。"
    shown = items[:20]
    lines = [
        f"{t.traded_at.strftime('%m-%d %H:%M')} {SIDE[t.side]} {t.name}（{t.code}）{t.quantity} 股，"
        f"成交价 {price(t.price)} 元，金额 {yuan(t.amount)}，费用 {yuan(t.fees)}"
        for t in shown
    ]
    more = f"\n（共 {len(items)} 笔，仅显示最近 20 笔，完整记录请在 App「交易—历史成交」查看。）" if len(items) > 20 else ""
    return f"{span}期间您共有 {len(items)} 笔成交：\n" + "\n".join(lines) + more


def quote_text(q: Quote) -> str:
    state = "" if q.market_open else "（当前非交易时段，显示最近交易时段的价格）"
    return (
        f"{q.name}（{q.code}，{BOARD_NAMES.get(q.board, q.board)}）现价 {price(q.last)} 元，"
        f"涨跌 {q.change:+} 元（{signed_pct(q.change_pct)}），今开 {price(q.open)}，最高 {price(q.high)}，最低 {price(q.low)}，"
        f"昨收 {price(q.prev_close)}；今日涨停价 {price(q.limit_up)}，跌停价 {price(q.limit_down)}。{state}{SIM_NOTE}"
    )


def opening_text(a: AccountOpening | None) -> str:
    if a is None:
        return "没有查到您的开户申请记录。如需开户，可下载明川证券 App，按“开户”流程线上办理。"
    status = {"submitted": "已提交", "reviewing": "审核中", "approved": "已通过", "rejected": "未通过"}[a.status]
    text = (f"您的开户申请于 {a.submitted_at.strftime('%Y-%m-%d %H:%M')} 提交，当前状态：{status}（{a.step}）。"
            f"{a.note}")
    if a.status == "rejected":
        text += "您可以按提示在 App 中补充或修改资料后重新提交。"
    return text


def risk_text(r: RiskProfile) -> str:
    if r.level is None:
        return "您还没有完成风险承受能力测评。请在 App「我的—风险测评」完成测评，测评结果决定您可以购买的产品范围。"
    name = LEVEL_NAMES.get(r.level, "")
    text = f"您的风险承受能力等级为 {r.level}（{name}），测评日期 {r.assessed_on.isoformat()}，有效期至 {r.expires_on.isoformat()}。"
    if r.expired:
        text += "该结果已过期，重新测评前暂不能买入产品（卖出不受影响），请在 App「我的—风险测评」重新测评。"
    else:
        text += f"按适当性匹配规则，您可以购买 {matching_range(r.level)} 等级的产品。如情况有变化，可随时在 App 中重新测评。"
    return text


def permissions_text(items: list[PermissionStatus]) -> str:
    lines = []
    for p in items:
        if p.granted:
            lines.append(f"{p.name}：已开通。")
        elif p.eligible:
            lines.append(f"{p.name}：未开通，您目前满足资产和交易经验条件（日均资产 {yuan(p.average_assets_20d)}，"
                         f"交易经验约 {p.trading_months} 个月），可在 App「我的—业务办理」申请，需完成知识测评并签署风险揭示书。")
        else:
            lines.append(f"{p.name}：未开通，暂不满足条件——" + "；".join(p.missing) + "。")
    return "\n".join(lines)


def preview_text(p: OrderPreview) -> str:
    r = p.request
    how = "市价委托" if r.price_type == "market" else f"限价 {price(r.limit_price)} 元"
    lines = [
        "请核对以下委托信息：",
        f"证券：{p.name}（{r.code}）",
        f"方向：{SIDE[r.side]}",
        f"数量：{r.quantity} 股",
        f"价格：{how}（现价 {price(p.last_price)} 元，今日涨停 {price(p.limit_up)}，跌停 {price(p.limit_down)}）",
        f"预估金额：{yuan(p.est_amount)}，预估费用：{yuan(p.est_fees)}",
        f"风险等级：{p.risk_level}（{RISK_NAMES.get(p.risk_level, '')}）",
    ]
    if p.customer_level:  # a buy that passed the suitability check: say why it matches
        lines.append(f"适当性匹配：您的风险承受能力等级为 {p.customer_level}（{LEVEL_NAMES.get(p.customer_level, '')}），"
                     f"可购买 {matching_range(p.customer_level)} 的产品，与该证券的风险等级相匹配。")
    if p.risk_notes:
        lines.append("风险提示：" + " ".join(p.risk_notes))
    lines.append("确认下单请回复“确认”（2 分钟内有效），取消请回复“取消”。")
    return "\n".join(lines)


def preview_problems_text(p: OrderPreview) -> str:
    return "这笔委托暂时无法提交：\n" + "\n".join(f"· {x}" for x in p.problems)


def order_placed_text(o: Order) -> str:
    how = "市价" if o.price_type == "market" else f"限价 {price(o.limit_price)} 元"
    state = "已全部成交" if o.status == "filled" else "已报，等待成交"
    check = session_check(o.created_at)
    if o.status == "open" and not check.open:
        when = check.next_open
        state = f"预埋单，将于 {when.month}月{when.day}日 {when.hour}:{when.minute:02d} 开市时报送交易所，报送前可以撤单"
    return (f"委托已提交，委托号 {o.order_id}：{SIDE[o.side]} {o.name}（{o.code}）{o.quantity} 股，{how}，当前状态：{state}。"
            "可以随时问我“委托成交了吗”查看进展。")
