"""What the feast CLI sees: the definitions built from params.yaml.

The pipeline does not import this file; it calls ``features.store.build_definitions``
with its own settings. The CLI wants module-level objects and puts only this folder on
the import path, hence the two lines that make the project importable.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.settings import load_settings
from features.store import build_definitions

project, entity, history_source, entity_history, feature_service = build_definitions(load_settings())
