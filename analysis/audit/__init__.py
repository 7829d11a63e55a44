"""Audits of published meta-analyses: printed forest plots and RevMan files recomputed number by number.

:func:`audit_forest_plots` reads a transcription of RevMan forest plots (the
CSV format :data:`FOREST_COLUMNS`, documented with a template in
``data/audit/``), recomputes every printed number as RevMan 5 does and judges
each at its printed precision. :func:`audit_revman` reads a RevMan 5 file
(:func:`read_revman`) and judges every number RevMan stored at a relative
tolerance. Both give an :class:`AuditResult`; :func:`audit_report` writes the
verdict as Markdown. The library knows nothing of any one review.
"""

from .forest import AUDIT_COLUMNS, FOREST_COLUMNS, MODELS, AuditResult, audit_forest_plots, read_forest_plots
from .report import audit_report, figure_stem
from .revman_file import OUTCOME_TYPES, RevManReview, audit_revman, read_revman
from .revman_text import Printed, parse_revman_text

__all__ = [
    "AUDIT_COLUMNS",
    "FOREST_COLUMNS",
    "MODELS",
    "OUTCOME_TYPES",
    "RevManReview",
    "audit_revman",
    "read_revman",
    "AuditResult",
    "Printed",
    "audit_forest_plots",
    "audit_report",
    "figure_stem",
    "parse_revman_text",
    "read_forest_plots",
]
