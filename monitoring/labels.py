"""What a window of served traffic is, in words: which window, which week, which scenario, which model.

A window's identity stays its time range (``monitoring/windows.py``: the monitor finds it
again by it when labels arrive). This is what people read: the title of its Evidently
reports and the tags and metadata the Evidently UI shows and filters by. The week and
scenario are known to whoever sends the traffic (the loop's simulator); a monitor run on
real traffic leaves them out.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WindowLabel:
    number: int  # the monitor's count of judged windows: window 1, 2, 3...
    model_version: str  # the champion that served it
    week: str = ""  # the week of traffic it carries, when the sender says so
    scenario: str = ""

    def title(self, kind: str) -> str:
        """``window 3, week 15, covariate_shift, served by v1: drift``."""
        parts = [f"window {self.number}", *([f"week {self.week}"] if self.week else [])]
        parts += [*([self.scenario] if self.scenario else []), f"served by v{self.model_version}"]
        return f"{', '.join(parts)}: {kind}"

    def tags(self, kind: str) -> list[str]:
        found = [kind, f"window {self.number}", f"model v{self.model_version}"]
        return found + [f"week {self.week}"] * bool(self.week) + [f"scenario {self.scenario}"] * bool(self.scenario)

    def metadata(self, window: str) -> dict[str, str]:
        found = {"window": window, "window_number": str(self.number), "model_version": self.model_version}
        return (
            found | ({"week": self.week} if self.week else {}) | ({"scenario": self.scenario} if self.scenario else {})
        )
