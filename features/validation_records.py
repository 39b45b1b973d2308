"""Validation records: what validated each accepted batch, kept beside it, and the evidence for a data version.

A passing batch's record (``<batch>.validation.json`` in ``data/raw``) names GX's ids for
the result and the md5 of the file itself, so DVC versions the record with the batch. The
training run logs ``validation_evidence`` for its exact data version, and the governance
policy reads it (``governance/evidence.py``): a missing, failing or foreign record blocks
promotion.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from features.validation import ValidationOutcome

RECORD_SUFFIX = ".validation.json"


def record_path(batch: Path) -> Path:
    """Where an accepted batch's validation record lives: beside it in ``data/raw``, so DVC versions both."""
    return batch.with_name(batch.stem + RECORD_SUFFIX)


def write_record(batch: Path, outcome: ValidationOutcome) -> Path:
    path = record_path(batch)
    path.write_text(json.dumps(outcome.record(batch, "raw_batch"), indent=1))
    return path


def validation_evidence(batches: list[Path], data_version: str) -> dict[str, Any]:
    """For a data version: each batch's validation record, and whether it vouches for the file as it is now.

    A batch passes only if its record exists, says the suite succeeded, and names the
    md5 of the very file in the version. The policy reads this (governance/evidence.py)
    for the exact data version a candidate was trained on.
    """
    checked = []
    for batch in sorted(batches):
        path = record_path(batch)
        if not path.exists():
            checked.append({"batch": batch.name, "passed": False, "why": "no validation record"})
            continue
        record = json.loads(path.read_text())
        md5 = hashlib.md5(batch.read_bytes(), usedforsecurity=False).hexdigest()
        if record.get("md5") != md5:
            checked.append({**record, "passed": False, "why": "the record names other bytes than the file"})
        elif not record.get("success"):
            checked.append({**record, "passed": False, "why": "its validation failed"})
        else:
            checked.append({**record, "passed": True, "why": ""})
    return {
        "data_version": data_version,
        "batches": checked,
        "passed": bool(checked) and all(c["passed"] for c in checked),
    }
