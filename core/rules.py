"""A named rule's outcome: the one shape every check in the project reports in.

The validation gate (``pipelines/gate.py``) and the governance policy
(``governance/policy.py``) both judge a model as a list of these, so a verdict reads
the same wherever it comes from, in logs, tags, audit entries and reports.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RuleResult:
    rule: str
    passed: bool
    detail: str

    def __str__(self) -> str:
        return f"{'PASS' if self.passed else 'FAIL'} {self.rule}: {self.detail}"
