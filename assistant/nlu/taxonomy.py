"""The intent taxonomy: every label the classifier may return, with where its border lies.

The descriptions are the contract for whoever writes training or test utterances; keep them
precise about the neighbouring labels.
"""

from __future__ import annotations

INTENTS: dict[str, str] = {
    "account_balance": "the customer's own cash and assets: 可用资金, 可取资金, 总资产, 账户余额, 冻结资金.",
    "positions": "the customer's own holdings: what they hold, how many shares, cost, profit or loss "
    "(我的持仓, 我有多少股茅台, 我的股票亏了多少).",
    "order_status": "the customer's own orders (委托) today or by status: filled or not, open orders, "
    "why an order did not fill (我的单子成交了吗, 查一下今天的委托).",
    "trade_history": "the customer's own past trades (成交记录, 交割单, 对账单) over a date or range "
    "(上个月买了什么, 3月份的成交).",
    "place_order": "wants to buy or sell a security now (买200股茅台, 帮我挂单卖出平安, 以10块买入).",
    "cancel_order": "wants to cancel (撤) one of their own open orders (撤单, 把茅台那笔撤了).",
    "market_quote": "asks a security's current price, change or quote data, without asking for a "
    "prediction or a recommendation (茅台现在多少钱, 600519涨了多少).",
    "account_opening_status": "the progress or result of the customer's own account-opening "
    "application (开户审核到哪一步了, 我开户成功了吗, 为什么开户被驳回).",
    "risk_assessment": "the customer's own risk profile or questionnaire: their level, expiry, "
    "redoing it (我的风险等级, 测评过期了吗, 重新做风险测评).",
    "open_permission": "trading permissions and their conditions: STAR market, ChiNext, BSE, margin, "
    "Stock Connect, convertible bonds (我能开科创板吗, 开通创业板要什么条件).",
    "fund_transfer": "moving money between the bank and the securities account, or withdrawing "
    "(银证转账, 怎么把钱转出来, 转入资金没到账).",
    "password_reset": "forgotten, locked or changing trading/fund/login passwords (忘记交易密码, 密码被锁).",
    "update_contact": "changing phone number, address, e-mail or other personal details on file "
    "(换手机号, 更新地址, 身份证过期了要更新).",
    "fees": "trading costs: commission, stamp duty, transfer fee, minimum fee, what a trade costs "
    "(佣金多少, 卖出收印花税吗, 买一万块钱要多少手续费).",
    "kb_question": "any other question about rules, products, procedures or investor education "
    "that the knowledge base answers (科创板涨跌幅多少, 什么是逆回购, 新股怎么申购, T+1是什么意思).",
    "investment_advice_request": "asks what to buy or sell, price predictions, sure-win or "
    "guaranteed-return strategies, or inside information (推荐只股票, 茅台明天会涨吗, 有没有稳赚的).",
    "human_agent": "asks for a human agent or a person (转人工, 我要找客服, 叫个真人来).",
    "complaint": "complains or is angry about the service, a loss caused by the broker, or wants to "
    "file a complaint (我要投诉, 你们系统卡了害我亏钱).",
    "greeting": "hello, are you there, who are you (你好, 在吗, 早上好).",
    "goodbye": "thanks and ends the conversation (谢谢再见, 没事了, 拜拜).",
    "confirm": "says yes to a pending question or order preview (确认, 是的, 好的下单, 没问题, ok).",
    "deny": "says no or abandons the pending step (不要, 算了, 取消吧, 先不买了, no).",
    "out_of_scope": "nothing to do with the broker or investing (天气, 笑话, 订机票, 写作业).",
}

LABELS: tuple[str, ...] = tuple(INTENTS)
