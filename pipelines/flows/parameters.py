"""How the flows take their settings: the loaded object in process, a params file's path across processes.

Settings are parsed once per process (``python -m pipelines`` does it) and handed down:
every flow takes ``settings`` and passes the same object to its tasks and subflows.
Prefect validates a flow's parameters, and a deployment's parameters travel as JSON to
a worker, which runs in its own environment (its own endpoints and credentials). So
the one parameter type below accepts either the ``Settings`` object (kept as it is)
or a params file's path (``None`` for the project's own), which it loads where the
flow runs. Deployments pass the path; everything else passes the object.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema

from core.settings import Settings, load_settings


def _settings_from(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return load_settings(value)
    return value


# The JSON schema Prefect shows and a server checks deployment parameters against: a
# path (or null, for the project's own params.yaml); in process the object passes as is.
_AS_JSON = WithJsonSchema(
    {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "params file", "description": "params.yaml path"}
)
SettingsParameter = Annotated[Settings, BeforeValidator(_settings_from), _AS_JSON]
