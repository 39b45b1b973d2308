"""Governance: policy, model cards, audit trail, and the maturity assessment (maturity/)."""
