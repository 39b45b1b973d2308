"""The churn example's data file: a seeded, synthetic video-streaming service's monthly renewals.

Each row is one subscriber's monthly renewal: what they pay and watch, their support
and payment history, and whether they cancelled at it (``churned``). Subscribers renew
every four weeks or so; one who cancels is replaced by a newcomer. Whether someone
cancels follows a non-linear relation to value for money (fee against hours watched),
payment failures, support tickets, tenure and discounts, plus noise no column sees.
Age shifts viewing habits but never the decision itself: a proxy the fairness checks
watch for (``age_years`` is the sensitive attribute, judged in bands).

From ``PRICE_RISE_WEEK`` on, the service raises its prices: fees go up and subscribers
grow more sensitive to value for money. Those are the file's latest weeks, which the
platform holds back and replays as live traffic (``data.replay_weeks``).

    .venv/bin/python examples/churn/generate.py    # rewrites examples/churn/renewals.parquet

The file is committed, so nothing is generated at run time;
``tests/examples/test_churn_example.py`` checks that this script still writes it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
FILE = HERE / "renewals.parquet"
SEED = 2026
START = dt.date(2026, 2, 2)  # a Monday
WEEKS = 16
SUBSCRIBERS = 6000
PRICE_RISE_WEEK = 13
PLANS = {"basic": 7.99, "standard": 12.99, "premium": 17.99, "family": 22.99}
DEVICES = ("tv", "mobile", "web", "console")
PAYMENT = ("card", "paypal", "invoice")


def _subscriber(rng: np.random.Generator, number: int) -> dict[str, object]:
    age = float(np.clip(rng.normal(38, 13), 18, 85))
    return {
        "subscriber_id": f"SUB-{number:06d}",
        "age_years": round(age, 1),
        "plan": rng.choice(list(PLANS), p=[0.3, 0.35, 0.2, 0.15]),
        "device": rng.choice(DEVICES, p=[0.4, 0.3, 0.2, 0.1] if age < 40 else [0.55, 0.15, 0.25, 0.05]),
        "payment_method": rng.choice(PAYMENT, p=[0.6, 0.25, 0.15]),
        "appetite": float(np.exp(rng.normal(3.0 - 0.006 * (age - 38), 0.6))),  # hours a month they like to watch
        "patience": float(rng.normal(0, 1)),  # unseen: how much friction they put up with
        "tenure_months": int(rng.integers(0, 60)),
        "discount_pct": float(rng.choice([0, 0, 0, 10, 20, 50])),
        "next_day": int(rng.integers(0, 28)),
    }


def _renewal(row: dict[str, object], rng: np.random.Generator, week: int) -> dict[str, object]:
    rise = week >= PRICE_RISE_WEEK
    fee = PLANS[str(row["plan"])] * (1.25 if rise else 1.0) * (1 - float(row["discount_pct"]) / 100)  # type: ignore[arg-type]
    hours = float(row["appetite"]) * float(np.exp(rng.normal(0, 0.35)))  # type: ignore[arg-type]
    sessions = int(rng.poisson(max(hours / 1.8, 0.2)))
    tickets = int(rng.poisson(0.25 + 0.4 * (str(row["device"]) == "console")))
    failures = int(rng.poisson(0.15 + 0.5 * (str(row["payment_method"]) == "invoice")))
    value = np.log1p(hours) - np.log(fee)  # hours watched per unit paid, on a log scale
    logit = (
        -1.3
        - (3.0 if rise else 1.8) * np.tanh(value)
        + 1.1 * failures
        + 0.45 * tickets**1.2
        - 0.35 * np.log1p(float(row["tenure_months"]))  # type: ignore[arg-type]
        + 0.4 * (float(row["discount_pct"]) >= 50)  # type: ignore[arg-type]
        + (1.0 if rise and str(row["plan"]) in ("premium", "family") else 0.0)
        - 0.35 * float(row["patience"])  # type: ignore[arg-type]
    )
    churned = int(rng.random() < 1 / (1 + np.exp(-logit)))
    return {
        "monthly_fee": round(fee, 2),
        "hours_watched_30d": round(hours, 1),
        "sessions_30d": sessions,
        "support_tickets_90d": tickets,
        "payment_failures_90d": failures,
        "churned": churned,
    }


def generate() -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    people = [_subscriber(rng, i) for i in range(SUBSCRIBERS)]
    newest, rows = SUBSCRIBERS, []
    for day in range(WEEKS * 7):
        when = pd.Timestamp(START, tz="UTC") + pd.Timedelta(days=day)
        for slot, person in enumerate(people):
            if person["next_day"] != day:
                continue
            renewal = _renewal(person, rng, day // 7 + 1)
            second = int(rng.integers(6 * 3600, 22 * 3600))
            rows.append(
                {
                    "renewal_id": f"R{len(rows):07d}",
                    "subscriber_id": person["subscriber_id"],
                    "renewed_at": when + pd.Timedelta(seconds=second),
                    **{k: person[k] for k in ("age_years", "plan", "device", "payment_method", "tenure_months")},
                    "discount_pct": person["discount_pct"],
                    **renewal,
                }
            )
            if renewal["churned"]:
                people[slot] = {**_subscriber(rng, newest), "next_day": day + int(rng.integers(1, 28))}
                newest += 1
            else:
                person["next_day"] = day + int(rng.integers(26, 33))
                person["tenure_months"] = int(person["tenure_months"]) + 1  # type: ignore[call-overload]
    frame = pd.DataFrame(rows)
    frame["age_years"] = frame["age_years"].astype("float64")
    return frame.sort_values("renewed_at", kind="stable").reset_index(drop=True)


if __name__ == "__main__":
    table = generate()
    table.to_parquet(FILE, index=False)
    weekly = table.groupby(table["renewed_at"].dt.to_period("W"))["churned"].agg(["size", "mean"])
    print(f"wrote {FILE}: {len(table)} renewals, {table['subscriber_id'].nunique()} subscribers\n{weekly}")
