"""Importers for real data: units, boundaries, and the daily/monthly fact tables.

Every import validates every row first and, by default, writes nothing if anything is wrong.
The write itself is one transaction (upsert by natural key, roll-up refresh, data-version
bump), so a failure half-way leaves the database exactly as it was.

Public API
----------
import_units(engine, path, **opts) -> ImportReport
import_boundaries(engine, path, **opts) -> ImportReport
import_facts(engine, kind, path, **opts) -> ImportReport    # kind: cases | patrols | risks
ImportReport, RowError, ReportWarning, ImportFailed(report)
"""

from __future__ import annotations

from data.importers.boundaries import import_boundaries
from data.importers.facts import import_facts
from data.importers.report import ImportFailed, ImportReport, ReportWarning, RowError
from data.importers.units import import_units

__all__ = [
    "ImportFailed",
    "ImportReport",
    "ReportWarning",
    "RowError",
    "import_boundaries",
    "import_facts",
    "import_units",
]
