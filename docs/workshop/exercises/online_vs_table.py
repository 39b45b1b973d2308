"""Module 4, exercise 1: one definition, two read paths.

Picks a customer from the accepted raw data, reads the history features the online
store answers for them (the serving path, ``features/store.py: OnlineFeatures``), and
recomputes the same customer's latest history row with the training path's definition
(``features/engineering.py: entity_history``) over every event the platform holds: the
accepted batches and the ones landed since the last training. The online store is
current at request time (``features.fresh_online``), so the table of the last training
(``data/features/entity_history.parquet``) may lag it; the definition may not.

    .venv/bin/python -m docs.workshop.exercises.online_vs_table [CUSTOMER_ID]

Expected: the same values in both columns, and "identical" at the end.
"""

from __future__ import annotations

import math
import sys

from core.environment import apply_tool_environment
from core.settings import load_settings
from features import engineering, freshness, ingest, store


def main(argv: list[str]) -> int:
    settings = load_settings()
    apply_tool_environment(settings)
    entity, timestamp = settings.schema_.entity, settings.schema_.timestamp
    raw = ingest.load_raw(settings)
    customer = argv[0] if argv else raw[entity].value_counts().index[0]  # someone who applied often
    events = freshness.known_events(settings)  # accepted and landed batches: what the service started from
    rows = engineering.entity_history(events[events[entity] == customer], settings.schema_, settings.features)
    latest = rows.sort_values(timestamp).iloc[-1]
    request = raw[raw[entity] == customer].tail(1).reset_index(drop=True)
    online = store.OnlineFeatures(settings)(request).iloc[0]

    print(f"customer {customer}: history features, online store vs the definition's latest row ({latest[timestamp]})")
    same = True
    for name in engineering.history_feature_names(settings.features):
        served, stored = float(online[name]), float(latest[name])
        equal = math.isclose(served, stored, rel_tol=1e-9, abs_tol=1e-9) or (math.isnan(served) and math.isnan(stored))
        same &= equal
        print(f"  {name:36} {served:14.4f} {stored:14.4f} {'' if equal else '  <- differs'}")
    print("identical" if same else "the two paths differ")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
