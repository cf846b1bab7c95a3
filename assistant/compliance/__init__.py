"""Compliance: suitability now; PII masking, input/output guards and the audit log to come."""

from assistant.compliance.suitability import LEVEL_NAMES, RISK_NAMES, SuitabilityIssue, check_purchase, matching_range

__all__ = ["LEVEL_NAMES", "RISK_NAMES", "SuitabilityIssue", "check_purchase", "matching_range"]
