"""A named rule's outcome, and a verdict made of them: the shape every model check reports in.

The validation gate (``pipelines/steps/gate.py``) and the governance policy
(``governance/policy.py``) both judge a model as a list of rules that passes only if
every rule does, so a verdict reads the same wherever it comes from, in logs, tags,
audit entries and reports.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RuleResult:
    rule: str
    passed: bool
    detail: str
    # Where the bar was set, as "<file> <key>" (``params.yaml gate.minimums.roc_auc``): a
    # refusal says what to change. Empty for rules that have no configurable bar.
    source: str = ""

    def __str__(self) -> str:
        where = f" [set by {self.source}]" if self.source else ""
        return f"{'PASS' if self.passed else 'FAIL'} {self.rule}: {self.detail}{where}"

    @property
    def explained(self) -> str:
        """The rule, its detail and where its bar is set: what a refusal prints."""
        return f"{self.rule} ({self.detail})" + (f" [set by {self.source}]" if self.source else "")


class Verdict:
    """Mixed into a frozen dataclass with a ``rules`` field: it passes only if every rule does."""

    rules: list[RuleResult]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.rules)

    @property
    def failed(self) -> list[RuleResult]:
        return [r for r in self.rules if not r.passed]
