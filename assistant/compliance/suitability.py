"""Investor suitability: may this customer buy this product? (《证券期货投资者适当性管理办法》)

Matching as in our fact sheet: C1→R1, C2→R1–R2, C3→R1–R3, C4→R1–R4, C5→R1–R5; an expired or
missing risk assessment allows no purchase until it is redone; STAR, ChiNext and BSE shares
need the board's trading permission. Only purchases are checked: selling what one holds is
always allowed, whatever the current level.
"""

from __future__ import annotations

from dataclasses import dataclass

LEVEL_NAMES = {"C1": "保守型", "C2": "谨慎型", "C3": "稳健型", "C4": "积极型", "C5": "激进型"}
RISK_NAMES = {"R1": "低风险", "R2": "中低风险", "R3": "中风险", "R4": "中高风险", "R5": "高风险"}
BOARD_PERMISSIONS = {"star": ("star", "科创板"), "chinext": ("chinext", "创业板"), "bse": ("bse", "北交所")}


def _range(level: str) -> str:
    top = int(level[1])
    return " R1 " if top == 1 else f" R1–R{top} "


def matching_range(level: str) -> str:
    """'R1' for C1, 'R1–R3' for C3: the product levels a customer level may buy."""
    return _range(level).strip()


@dataclass(frozen=True)
class SuitabilityIssue:
    code: str  # risk_mismatch | assessment_expired | no_assessment | permission_missing
    message: str  # for the customer: what is wrong and what they can do


def check_purchase(*, customer_level: str | None, assessment_expired: bool, product_risk: str,
                   board: str, permissions: list[str], security_label: str) -> list[SuitabilityIssue]:
    issues: list[SuitabilityIssue] = []
    if customer_level is None:
        issues.append(SuitabilityIssue(
            "no_assessment", "您尚未完成风险承受能力测评，暂不能买入。请先在 App「我的—风险测评」完成测评。"))
    elif assessment_expired:
        issues.append(SuitabilityIssue(
            "assessment_expired",
            "您的风险测评结果已过期（本公司规定有效期 2 年），重新测评前暂不能买入。"
            "请在 App「我的—风险测评」重新测评，完成后即可继续。"))
    elif int(customer_level[1]) < int(product_risk[1]):
        mismatch = (
            f"{security_label}的风险等级为 {product_risk}（{RISK_NAMES.get(product_risk, '')}），"
            f"超出您的风险承受能力等级 {customer_level}（{LEVEL_NAMES.get(customer_level, '')}）"
            f"可匹配的{_range(customer_level)}范围，属于风险不匹配，本渠道不能为您下单。"
        )
        if customer_level == "C1":
            advice = "C1 保守型投资者按规定只能购买 R1 产品。您可以选择与风险等级相匹配的产品，或在情况变化后重新测评。"
        else:
            advice = ("如您的情况有变化，可在 App「我的—风险测评」重新测评；也可选择与您等级相匹配的产品。"
                      "如坚持购买，须在 App 中阅读不适当警示并签署确认书后自行办理。")
        issues.append(SuitabilityIssue("risk_mismatch", mismatch + advice))
    if board in BOARD_PERMISSIONS:
        permission, board_name = BOARD_PERMISSIONS[board]
        if permission not in permissions:
            issues.append(SuitabilityIssue(
                "permission_missing",
                f"{security_label}属于{board_name}，买入需要先开通{board_name}交易权限，您的账户尚未开通。"
                f"可以问我“我能开通{board_name}吗”，查看您是否满足条件。"))
    return issues
