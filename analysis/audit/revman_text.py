"""RevMan's printed lines under a forest plot, parsed into numbers that keep their printed precision.

RevMan 5 prints, under each subtotal and total,

    Heterogeneity: Tau² = 0.45; Chi² = 25.02, df = 3 (P < 0.0001); I² = 88%
    Test for overall effect: Z = 2.39 (P = 0.02)
    Test for subgroup differences: Chi² = 0.38, df = 1 (P = 0.54), I² = 0%

:func:`parse_revman_text` finds each of these in pasted text (one or more
lines, in any order; "Tau²", "Tau^2", "Tau2" and "Chi²" spelled either way; a
fixed-effect plot has no Tau²) and returns :class:`Printed` numbers: the value,
the number of decimals printed and, for P-values, whether it was printed as an
inequality ("P < 0.00001").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Printed", "parse_revman_text", "printed_number"]


@dataclass(frozen=True)
class Printed:
    """A number as printed: ``value``, ``decimals`` shown, and ``relation`` ("=", "<" or ">")."""

    value: float
    decimals: int
    relation: str = "="
    text: str = ""

    @property
    def unit(self) -> float:
        """One unit of the last printed digit."""
        return 10.0 ** (-self.decimals)


def printed_number(text: str, relation: str = "=") -> Printed:
    """A printed decimal number ("1.20" keeps its two decimals; "−1.2" with a Unicode minus is -1.2)."""
    clean = text.strip().replace("\u2212", "-").replace("\u2013", "-")
    value = float(clean)
    decimals = len(clean.split(".", 1)[1]) if "." in clean else 0
    return Printed(value, decimals, relation, text.strip())


_NUM = r"([-\u2212\u2013]?\d+(?:\.\d+)?)"
_SQ = r"(?:²|\^2|2)"  # "Tau²", "Tau^2", "Tau2"
_P = r"\(\s*P\s*([=<>])\s*" + _NUM + r"\s*\)"
_PATTERNS = {
    "heterogeneity": re.compile(
        r"Heterogeneity:\s*(?:Tau" + _SQ + r"\s*=\s*" + _NUM + r"\s*;\s*)?Chi" + _SQ + r"\s*=\s*" + _NUM
        + r"\s*,\s*df\s*=\s*(\d+)\s*" + _P + r"\s*;\s*I" + _SQ + r"\s*=\s*" + _NUM + r"\s*%",
        re.IGNORECASE,
    ),
    "overall": re.compile(r"Test for overall effect:\s*Z\s*=\s*" + _NUM + r"\s*" + _P, re.IGNORECASE),
    "subgroups": re.compile(
        r"Test for subgroup differences:\s*Chi" + _SQ + r"\s*=\s*" + _NUM + r"\s*,\s*df\s*=\s*(\d+)\s*" + _P
        + r"\s*,\s*I" + _SQ + r"\s*=\s*" + _NUM + r"\s*%",
        re.IGNORECASE,
    ),
}  # fmt: skip
_NOT_APPLICABLE = re.compile(
    r"(Heterogeneity|Test for overall effect|Test for subgroup differences):\s*Not applicable", re.I
)


def parse_revman_text(text: str) -> dict[str, Printed]:
    """The numbers in RevMan's printed lines, keyed by quantity.

    Keys (those present in ``text``): ``tau2``, ``chi2``, ``df``, ``p_heterogeneity``,
    ``i2`` (percent), ``z``, ``p_overall``, ``chi2_subgroups``, ``df_subgroups``,
    ``p_subgroups``, ``i2_subgroups`` (percent).

    Raises
    ------
    ValueError
        When ``text`` is not empty but holds none of RevMan's lines, or a line
        starts like one but cannot be read (the message quotes it).

    Examples
    --------
    >>> p = parse_revman_text("Heterogeneity: Tau² = 0.45; Chi² = 25.02, df = 3 (P < 0.0001); I² = 88%")
    >>> p["tau2"].value, p["tau2"].decimals, p["p_heterogeneity"].relation, p["i2"].value
    (0.45, 2, '<', 88.0)
    """
    out: dict[str, Printed] = {}
    text = text or ""
    m = _PATTERNS["heterogeneity"].search(text)
    if m:
        tau2, chi2, df, rel, p, i2 = m.groups()
        if tau2 is not None:
            out["tau2"] = printed_number(tau2)
        out["chi2"] = printed_number(chi2)
        out["df"] = printed_number(df)
        out["p_heterogeneity"] = printed_number(p, rel)
        out["i2"] = printed_number(i2)
    m = _PATTERNS["overall"].search(text)
    if m:
        z, rel, p = m.groups()
        out["z"] = printed_number(z)
        out["p_overall"] = printed_number(p, rel)
    m = _PATTERNS["subgroups"].search(text)
    if m:
        chi2, df, rel, p, i2 = m.groups()
        out["chi2_subgroups"] = printed_number(chi2)
        out["df_subgroups"] = printed_number(df)
        out["p_subgroups"] = printed_number(p, rel)
        out["i2_subgroups"] = printed_number(i2)
    found = {k for k, pat in _PATTERNS.items() if pat.search(text)} | {
        {"heterogeneity": "heterogeneity", "test for overall effect": "overall"}.get(m.group(1).lower(), "subgroups")
        for m in _NOT_APPLICABLE.finditer(text)
    }
    for key, start in (
        ("heterogeneity", "Heterogeneity:"),
        ("overall", "Test for overall effect:"),
        ("subgroups", "Test for subgroup differences:"),
    ):
        at = text.lower().find(start.lower())
        if at >= 0 and key not in found:
            line = text[at:].splitlines()[0]
            raise ValueError(f"cannot read RevMan's line {line!r}")
    if text.strip() and not found:
        raise ValueError(f"no RevMan line (Heterogeneity:, Test for overall effect:, ...) in {text.strip()[:80]!r}")
    return out
