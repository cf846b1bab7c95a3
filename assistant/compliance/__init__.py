"""Compliance: PII masking, the input and output guards, risk disclosures, suitability, the audit trail."""

from assistant.compliance.audit import EVENTS, AuditEvent, AuditKeys, AuditLog, VerifyResult, audit_keys
from assistant.compliance.classifier import RuleClassifier, input_examples, output_examples
from assistant.compliance.guards import (
    INPUT_RULE_NAMES,
    OUTPUT_RULE_NAMES,
    GuardModels,
    InputDecision,
    OutputReview,
    Violation,
    check_output,
    inspect_input,
    review_output,
)
from assistant.compliance.judge import ComplianceJudge, InputReading, build_judge
from assistant.compliance.messages import FRAUD_ESCALATION_TAIL, QUOTE_DISCLOSURE, REFUSAL_LEADS, REFUSALS, RISK_DISCLOSURE
from assistant.compliance.pii import MaskResult, find_pii, mask_pii
from assistant.compliance.suitability import LEVEL_NAMES, RISK_NAMES, SuitabilityIssue, check_purchase, matching_range

__all__ = [
    "EVENTS", "FRAUD_ESCALATION_TAIL", "INPUT_RULE_NAMES", "LEVEL_NAMES", "OUTPUT_RULE_NAMES", "QUOTE_DISCLOSURE", "REFUSAL_LEADS", "REFUSALS", "RISK_DISCLOSURE", "RISK_NAMES",
    "AuditEvent", "AuditKeys", "AuditLog", "audit_keys", "ComplianceJudge", "InputReading", "build_judge", "InputDecision", "MaskResult", "OutputReview", "GuardModels", "RuleClassifier", "SuitabilityIssue", "VerifyResult",
    "Violation", "check_output", "check_purchase", "find_pii", "inspect_input", "mask_pii", "matching_range",
    "input_examples", "output_examples", "review_output",
]
