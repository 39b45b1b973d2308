"""Governance: policy as code, fairness, explanations, model cards, approvals, the audit trail."""
