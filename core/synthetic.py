"""A seeded, synthetic consumer lender: weekly batches of loan applications.

The world is a fixed population of customers (drawn once from the seed) who apply
for loans week after week. Whether an applicant defaults follows a known, non-linear
relation to debt-to-income, utilisation, payment history and employment, plus noise
no feature sees, so a model can learn it but not perfectly. The sensitive attribute
(gender) never enters the default relation, but it does shift income, so a model can
pick it up through a proxy: exactly what the fairness checks are for.

Every week is drawn from its own generator seeded by ``(seed, week, scenario)``, so
the same week always comes out the same, whatever else was generated before.

Scenarios change what arriving weeks look like:

* ``covariate_shift``: a downturn. Incomes fall, loans grow, cards fill up, more
  applicants consolidate debt. The default relation is unchanged.
* ``concept_drift``: the inputs look as before, but what predicts default changes
  (contract and self-employed work and long terms get riskier; payment history
  and utilisation matter less), so a model trained before it loses accuracy.
* ``quality_incident``: an upstream system breaks: incomes go missing, utilisation
  arrives as a percentage, and an unmapped region code appears.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from core.settings import Settings

REGIONS = ("north", "south", "east", "west", "central")
EMPLOYMENT = ("salaried", "self_employed", "contract", "unemployed", "retired")
HOME_OWNERSHIP = ("rent", "mortgage", "own")
PURPOSES = ("debt_consolidation", "home_improvement", "car", "education", "business", "medical")
TERMS = (12, 24, 36, 48, 60, 72)
SCENARIOS = ("none", "covariate_shift", "concept_drift", "quality_incident")

# What each scenario visibly changes in the inputs (concept drift changes the labels only).
SHIFTED_COLUMNS: dict[str, tuple[str, ...]] = {
    "none": (),
    "covariate_shift": ("annual_income", "loan_amount", "credit_utilization", "loan_purpose"),
    "concept_drift": (),
    "quality_incident": ("annual_income", "credit_utilization", "region"),
}

_EMPLOYMENT_RISK = {"salaried": 0.0, "self_employed": 0.3, "contract": 0.45, "unemployed": 1.1, "retired": 0.1}
_PURPOSE_RISK = {
    "debt_consolidation": 0.25,
    "home_improvement": -0.1,
    "car": 0.0,
    "education": 0.05,
    "business": 0.4,
    "medical": 0.3,
}
_INTERCEPT = -3.15  # sets the default rate near 10% on the clean data


@dataclass(frozen=True)
class LenderConfig:
    """What the generator needs; built from the settings so it stays a plain function."""

    seed: int = 42
    start_date: dt.date = dt.date(2026, 1, 5)
    applications_per_week: int = 1500
    customers: int = 6000
    scenario_strength: float = 1.0

    @classmethod
    def from_settings(cls, settings: Settings) -> LenderConfig:
        data = settings.data
        return cls(
            seed=data.seed,
            start_date=data.start_date,
            applications_per_week=data.applications_per_week,
            customers=data.customers,
            scenario_strength=data.scenario_strength,
        )


def week_start(config: LenderConfig, week: int) -> dt.date:
    """The Monday on which 1-based ``week`` starts."""
    return config.start_date + dt.timedelta(weeks=week - 1)


def customers(config: LenderConfig) -> pd.DataFrame:
    """The fixed population of applicants: who they are, not what they apply for.

    Drawn once per configuration and kept (it is the same every week): at a million
    applications a week, drawing it again for each week cost more than the week itself.
    Callers read it; a copy is theirs to change.
    """
    return _population(config).copy(deep=False)


@functools.lru_cache(maxsize=2)
def _population(config: LenderConfig) -> pd.DataFrame:
    rng = np.random.default_rng([config.seed, 0])
    n = config.customers
    age = np.clip(rng.normal(41, 12, n), 18, 85)
    employment = rng.choice(EMPLOYMENT, n, p=[0.62, 0.13, 0.12, 0.06, 0.07])
    employment = np.where((age > 63) & (rng.random(n) < 0.7), "retired", employment)
    gender = rng.choice(["female", "male"], n)
    income_factor = pd.Series(employment).map(
        {"salaried": 1.0, "self_employed": 1.1, "contract": 0.85, "unemployed": 0.35, "retired": 0.6}
    )
    # A pay gap: gender reaches the model only through income, as it does in real data.
    income = np.exp(rng.normal(10.85, 0.45, n)) * income_factor.to_numpy() * np.where(gender == "female", 0.9, 1.0)
    home = np.where(
        age < 30,
        rng.choice(HOME_OWNERSHIP, n, p=[0.7, 0.25, 0.05]),
        rng.choice(HOME_OWNERSHIP, n, p=[0.3, 0.5, 0.2]),
    )
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:06d}" for i in range(n)],
            "gender": gender,
            "base_age": age,
            "region": rng.choice(REGIONS, n, p=[0.22, 0.2, 0.2, 0.18, 0.2]),
            "employment_type": employment,
            "home_ownership": home,
            "base_income": income,
            "years_employed": np.where(employment == "unemployed", 0.0, np.minimum(age - 18, rng.gamma(2.0, 4.0, n))),
            "credit_history_years": rng.uniform(0, 1, n) * (age - 18),
            # Creditworthiness that no feature sees directly; it drives payment behaviour.
            "latent_quality": rng.normal(0, 1, n),
            "activity": rng.pareto(2.5, n) + 0.2,
        }
    )


WEEK_SECONDS = 7 * 24 * 3600


def _distinct_microseconds(seconds: np.ndarray) -> np.ndarray:
    """Offsets into the week in microseconds, sorted and all distinct, all inside the week.

    Whole seconds collide once a week holds about a million applications (one customer,
    two applications in the same second, which the contract refuses by default); distinct
    microseconds never do. Each offset is at least a microsecond after the one before,
    and the last one stays before the week ends.
    """
    n = len(seconds)
    micros = np.minimum(np.floor(np.sort(seconds) * 1e6).astype(np.int64), WEEK_SECONDS * 1_000_000 - n)
    position = np.arange(n, dtype=np.int64)
    return np.maximum.accumulate(micros - position) + position


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-x)), dtype=float)


def generate_week(config: LenderConfig, week: int, scenario: str = "none") -> pd.DataFrame:
    """Loan applications that arrive in 1-based ``week``, with their default label."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}")
    if week < 1:
        raise ValueError(f"week must be 1 or later, got {week}")
    s = config.scenario_strength
    pop = customers(config)
    rng = np.random.default_rng([config.seed, week, SCENARIOS.index(scenario)])
    n = int(rng.poisson(config.applications_per_week))
    weights = pop["activity"].to_numpy()
    who = pop.iloc[rng.choice(len(pop), n, p=weights / weights.sum())].reset_index(drop=True)
    z = who["latent_quality"].to_numpy()

    start = pd.Timestamp(week_start(config, week), tz="UTC")
    timestamps = start + pd.to_timedelta(_distinct_microseconds(rng.uniform(0, WEEK_SECONDS, n)), unit="us")

    income = who["base_income"].to_numpy() * np.exp(rng.normal(0, 0.05, n))
    purpose_p = np.array([0.3, 0.18, 0.2, 0.1, 0.1, 0.12])
    utilization = _sigmoid(-0.7 * z + rng.normal(-0.6, 0.7, n))
    loan_scale = 1.0
    if scenario == "covariate_shift":
        income = income * np.exp(-0.4 * s)
        loan_scale = 1.0 + 0.6 * s
        utilization = _sigmoid(-0.7 * z + rng.normal(-0.6 + 1.0 * s, 0.7, n))
        purpose_p = purpose_p + np.array([0.25, -0.08, -0.08, -0.03, -0.03, -0.03]) * min(s, 1.0)
    purpose = rng.choice(PURPOSES, n, p=purpose_p / purpose_p.sum())
    purpose_size = pd.Series(purpose).map(
        {
            "debt_consolidation": 0.3,
            "home_improvement": 0.35,
            "car": 0.3,
            "education": 0.25,
            "business": 0.5,
            "medical": 0.15,
        }
    )
    # Loans are sized by need, which tracks the applicant's usual income, not this week's.
    usual_income = who["base_income"].to_numpy()
    loan_amount = np.clip(
        usual_income * purpose_size.to_numpy() * np.exp(rng.normal(0, 0.4, n)) * loan_scale, 500, 500_000
    ).round(-1)
    term = rng.choice(TERMS, n, p=[0.1, 0.2, 0.3, 0.15, 0.2, 0.05])
    monthly_debt = (income / 12 * rng.beta(2, 7, n) * np.exp(-0.25 * z)).round(2)
    late = rng.poisson(np.exp(-1.4 - 0.9 * z))
    inquiries = rng.poisson(0.8 + 0.6 * (loan_amount / income))
    history = who["credit_history_years"].to_numpy() + (week - 1) / 52
    age = who["base_age"].to_numpy() + (week - 1) / 52

    frame = pd.DataFrame(
        {
            "application_id": [f"A{week:04d}-{i:05d}" for i in range(n)],
            "customer_id": who["customer_id"],
            "event_timestamp": timestamps,
            "gender": who["gender"],
            "age": age.round(1),
            "annual_income": income.round(0),
            "years_employed": (who["years_employed"].to_numpy() + (week - 1) / 52).round(1),
            "monthly_debt": monthly_debt,
            "loan_amount": loan_amount,
            "loan_term_months": term,
            "credit_utilization": utilization.round(4),
            "credit_history_years": history.round(1),
            "num_open_accounts": rng.poisson(2 + history / 5),
            "num_late_payments_12m": late,
            "num_credit_inquiries_6m": inquiries,
            "region": who["region"],
            "employment_type": who["employment_type"],
            "home_ownership": who["home_ownership"],
            "loan_purpose": purpose,
        }
    )
    frame["is_default"] = _default_label(frame, z, rng, scenario, s)

    # Values go missing as they do in real application forms.
    for column, share in (("years_employed", 0.05), ("credit_history_years", 0.02), ("annual_income", 0.005)):
        frame.loc[rng.random(n) < share, column] = np.nan
    if scenario == "quality_incident":
        _break_upstream(frame, rng, s)
    return frame


def _default_label(frame: pd.DataFrame, z: np.ndarray, rng: np.random.Generator, scenario: str, s: float) -> np.ndarray:
    income_month = frame["annual_income"].to_numpy() / 12
    installment = frame["loan_amount"].to_numpy() / frame["loan_term_months"].to_numpy()
    dti = (frame["monthly_debt"].to_numpy() + installment) / np.maximum(income_month, 100)
    util = frame["credit_utilization"].to_numpy()
    late = frame["num_late_payments_12m"].to_numpy()
    employment = frame["employment_type"].map(_EMPLOYMENT_RISK).to_numpy()
    purpose = frame["loan_purpose"].map(_PURPOSE_RISK).to_numpy()
    w_util, w_late, w_employment, long_term = 2.4, 0.45, 1.0, 0.0
    intercept = _INTERCEPT
    if scenario == "concept_drift":
        w_util, w_late = 2.4 * (1 - 0.7 * min(s, 1.0)), 0.45 * (1 - 0.7 * min(s, 1.0))
        w_employment, long_term, intercept = 1.0 + 2.0 * s, 1.2 * s, _INTERCEPT + 0.2 * s
    logit = (
        intercept
        + 3.0 * np.tanh(dti - 0.35)
        + w_util * (util - 0.35) ** 2 * np.sign(util - 0.35) * 2
        + w_late * late
        + 0.12 * frame["num_credit_inquiries_6m"].to_numpy()
        - 0.04 * (frame["credit_history_years"].to_numpy() - 8)
        + w_employment * employment
        + purpose
        + long_term * (frame["loan_term_months"].to_numpy() >= 48)
        - 0.5 * z
    )
    return (rng.random(len(frame)) < _sigmoid(logit)).astype("int64")


def _break_upstream(frame: pd.DataFrame, rng: np.random.Generator, s: float) -> None:
    n = len(frame)
    frame.loc[rng.random(n) < min(0.3 * s, 0.9), "annual_income"] = np.nan
    as_percent = rng.random(n) < min(0.1 * s, 0.9)
    frame.loc[as_percent, "credit_utilization"] = (frame.loc[as_percent, "credit_utilization"] * 100).round(2)
    frame.loc[rng.random(n) < min(0.08 * s, 0.9), "region"] = "unmapped"
