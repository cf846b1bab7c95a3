"""What the guards say to customers: courteous, with the reason and something useful to do instead."""

from __future__ import annotations

HUMAN = "如需进一步帮助，可以回复“人工”转接人工客服。"

# The one line a refusal opens with when the FAQ holds the facts the customer needs about the same
# topic ("满仓加杠杆行不行": not advice, but what leverage does to a loss): the line, then those facts.
REFUSAL_LEADS = {
    "investment_advice": "我不能预测涨跌，也不能就具体证券或买卖时机给出建议；与此相关的规则和风险，说明如下：",
    "guaranteed_return": "任何机构和个人都不能承诺保本或保证收益，说明如下：",
    "inside_information": "我不能提供或讨论任何未公开信息，说明如下：",
    "market_manipulation": "这个我不能协助，说明如下：",
    "aml_evasion": "这个我不能协助，说明如下：",
}

REFUSALS = {
    "investment_advice": (
        "抱歉，根据监管规定，我不能为您推荐具体证券、预测价格走势或提供“稳赚”的策略，也不能提供任何内幕信息。"
        "投资有风险，决策请您结合自身情况独立判断。我可以为您查询行情、介绍相关交易规则和投资者教育内容；"
        "如需专业的投资建议，可以通过 App 联系具有投资顾问资格的持牌人员，或回复“人工”转接人工客服。"),
    "guaranteed_return": (
        "抱歉，证券投资有风险，任何机构和个人都不能承诺保本或保证收益；资管新规实施后，理财产品也已不再保本。"
        "我可以为您介绍各类产品的风险等级和收益特征，或查询与您风险承受能力相匹配的产品范围。" + HUMAN),
    "inside_information": (
        "抱歉，我不能提供或讨论任何未公开的信息。利用内幕信息买卖证券或泄露内幕信息属于《证券法》第五十三条禁止的行为，"
        "将被依法追究责任。上市公司的公告请以巨潮资讯网和交易所网站披露的为准；如您掌握相关线索，可以向中国证监会（12386）反映。"),
    "market_manipulation": (
        "抱歉，这个我不能协助。对倒、虚假申报、联合拉抬或打压股价等行为属于《证券法》第五十五条禁止的操纵证券市场行为，"
        "交易所会对异常交易进行监控并采取限制措施。如您想了解正常的委托方式和交易规则，我很乐意为您介绍。"),
    "aml_evasion": (
        "抱歉，这个我不能协助。依照《反洗钱法》，我们需要了解客户身份和资金来源，并对大额和可疑交易进行报告，"
        "无法帮助拆分、借用他人账户或以其他方式规避这些要求。如您对资金划转或需要提供的材料有疑问，我可以为您说明正常的办理流程。"),
    "other_customer_data": (
        "抱歉，为保护客户信息安全，我只能查询您本人账户的信息，不能提供其他客户（包括家人）的账户、持仓或联系方式。"
        "如需查询，请由账户本人登录 App 查询，或本人携带身份证件到营业部办理。"),
    "prompt_injection": (
        "我是明川证券的智能客服，只能在合规范围内为您办理业务、解答问题，不能更改服务规则，也不能透露内部设置。"
        "请问有什么业务问题可以帮您？"),
}

INJECTION_EXPLAINED = (
    "您看到的这类话（例如“忽略之前的所有指令”）是试图让智能助手绕开自身规则的“提示词注入”话术。"
    "我不会按这类话改变服务规则。如果有人在群里发这类内容并引导您操作账户或转账，请提高警惕，谨防诈骗。"
)

INJECTION_CONCEPT = (
    "提示词注入（prompt injection）是指在发给 AI 助手的内容里夹带指令，试图让它忽略原有规则、泄露内部设置或做出越权的操作。"
    "我们的智能客服不会按这类内容改变服务规则：每条消息都经过合规检查，内部设置不对外透露，"
    "下单、撤单等账户操作只在您本人明确确认后执行。如您在群里或网页上看到引导您把这类话发给客服、"
    "或借此让您转账的内容，请提高警惕，谨防诈骗。"
)

# Said before the answer to a question about a scam (not a victim's report).
FRAUD_TIP = ("提醒您：证券公司、监管机构和公安机关都不会要求把资金转到“安全账户”，也不会通过荐股群、“老师带单”或陌生 App "
             "让您充值、交费；遇到可疑情况请拨打 96110 反诈专线。\n")

FRAUD_WARNING = (
    "请您立即停止向对方转账或付款。证券公司、监管机构和公安机关都不会要求您把资金转到所谓“安全账户”，"
    "也不会通过“老师带单”、荐股群或陌生 App 让您充值、交会员费或解冻费。"
    "请不要再向对方透露验证码和密码，也不要开启屏幕共享。如已转账，请立即拨打 110 报警或 96110 反诈专线，并保留聊天记录和转账凭证。"
    "我已为您优先转接人工客服，请稍候。"
)

# Despair or thoughts of suicide, whatever the cause: a person at once, and where help is right now.
# 12356 is the national unified mental-health hotline (全国统一心理援助热线, in service nationwide since 2025).
CRISIS_SUPPORT = (
    "听到您这样说，我们很担心您。钱的损失再大，也有办法一步步处理，您的安全最重要。"
    "我已为您优先转接人工客服，同事会尽快和您联系，陪您一起看账户的情况。"
    "如果您现在很难受，请拨打全国心理援助热线 12356，有专业人员倾听和帮助；如果您有伤害自己的危险，请立即拨打 110 或 120，"
    "或者告诉身边的家人、朋友，请他们陪着您。"
)

# After the FAQ's answer to the scam the customer describes: what to do now, and that a person is coming.
FRAUD_ESCALATION_TAIL = (
    "如果已经转账、付款或把验证码和密码告诉了对方，请立即拨打 110 报警或 96110 反诈专线，并保留聊天记录和转账凭证。"
    "我已为您优先转接人工客服，请稍候。"
)

CREDENTIAL_WARNING = (
    "温馨提示：为保障账户安全，请不要在对话中发送密码或验证码，我们的工作人员也不会向您索要。"
    "您发送的内容已做遮盖处理，原文不会被保存；如担心泄露，请尽快在 App「我的—安全中心」修改密码。\n"
)

BLOCKED_REPLY = (
    "抱歉，这条回复未通过合规检查，没有发送。证券投资有风险，我们不能承诺收益，也不能对具体证券给出买卖建议。"
    "您可以换个方式提问，或回复“人工”转接人工客服。"
)

# Required disclosures, added to replies about products and markets (《证券期货投资者适当性管理办法》).
RISK_DISCLOSURE = "风险提示：以上内容仅供参考，不构成投资建议。投资有风险，入市需谨慎。"
QUOTE_DISCLOSURE = "行情仅供参考，不构成投资建议。"
