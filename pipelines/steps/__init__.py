"""The pipelines' steps: plain, typed functions that do the work; ``pipelines/flows/`` wires them."""

from __future__ import annotations

import logging


def log() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The Prefect run's logger inside a flow or task run, so lines land in the run's log; a plain one outside."""
    from prefect.exceptions import MissingContextError
    from prefect.logging import get_run_logger

    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("pipelines")
