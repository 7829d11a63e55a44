"""Checks of extracted data: means that integer scores cannot give (GRIM), and two extractors' files compared.

Both are general: :func:`grim` needs only the mean as printed, n and the
granularity of the scores; :func:`diff_frames` compares two tables row by row
on a key and cell by cell.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["DIFF_COLUMNS", "diff_frames", "grim"]

#: Columns of :func:`diff_frames`'s result.
DIFF_COLUMNS = ["key", "row_a", "row_b", "column", "value_a", "value_b"]


def grim(mean: str, n: int, *, granularity: float = 1.0) -> bool | None:
    """Whether a mean printed as ``mean`` can be the mean of ``n`` scores that are multiples of ``granularity``.

    The GRIM test (Brown & Heathers 2017, Soc Psychol Personal Sci 8:363): the
    sum of n such scores is a multiple of the granularity, so the mean is
    (multiple of g)/n, and some such value must round to the printed mean (half
    up or half to even). Returns None when the test cannot tell: n at least
    10^decimals / g (every printed value is then possible), or no decimals.

    >>> grim("5.19", 28), grim("5.18", 28), grim("5.2", 28)
    (False, True, None)
    """
    text = str(mean).strip()
    decimals = len(text.split(".", 1)[1]) if "." in text else 0
    n = int(n)
    if n < 1 or granularity <= 0:
        raise ValueError("n must be >= 1 and the granularity > 0")
    step = granularity / n  # the means that are possible are multiples of this
    half = 0.5 * 10.0**-decimals
    if step <= 2 * half:  # consecutive possible means are closer than the printed precision
        return None
    value = float(text)
    k = math.floor(value / step)
    candidates = [(k + j) * step for j in (-1, 0, 1, 2)]
    return any(abs(c - value) <= half * (1 + 1e-9) for c in candidates)


def diff_frames(a: pd.DataFrame, b: pd.DataFrame, key: list[str], columns: list[str] | None = None) -> pd.DataFrame:
    """Every disagreement between two extractions of the same table.

    Rows are matched on ``key`` (duplicates of a key are matched in order);
    for matched rows every column of ``columns`` (default: all shared) is
    compared, numbers numerically (missing equals missing), text exactly. A row
    in only one table gives one line with column ``"(row)"``. ``row_a`` and
    ``row_b`` are 1-based data rows. An empty result means the two agree.
    """
    columns = columns or [c for c in a.columns if c in b.columns]

    def keyed(frame):
        k = frame[key].astype(object).where(frame[key].notna(), None)
        labels = [
            " | ".join("" if v is None else f"{v:g}" if isinstance(v, float) else str(v) for v in row)
            for row in k.itertuples(index=False)
        ]
        seen: dict[str, int] = {}
        out = []
        for label in labels:
            seen[label] = seen.get(label, 0) + 1
            out.append(label if seen[label] == 1 else f"{label} (#{seen[label]})")
        return out

    ka, kb = keyed(a), keyed(b)
    pos_a, pos_b = {k: i for i, k in enumerate(ka)}, {k: i for i, k in enumerate(kb)}
    out = []
    for k in dict.fromkeys(ka + kb):
        i, j = pos_a.get(k), pos_b.get(k)
        if i is None or j is None:
            out.append(dict(key=k, row_a=None if i is None else i + 1, row_b=None if j is None else j + 1, column="(row)",
                            value_a="present" if i is not None else "absent", value_b="present" if j is not None else "absent"))  # fmt: skip
            continue
        for col in columns:
            x, y = a[col].iloc[i], b[col].iloc[j]
            if not _same(x, y):
                out.append(dict(key=k, row_a=i + 1, row_b=j + 1, column=col, value_a=_show(x), value_b=_show(y)))
    return pd.DataFrame(out, columns=DIFF_COLUMNS)


def _missing(x) -> bool:
    return x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x))


def _same(x, y) -> bool:
    if _missing(x) or _missing(y):
        return _missing(x) and _missing(y)
    if isinstance(x, (int, float, np.number)) and isinstance(y, (int, float, np.number)):
        return float(x) == float(y)
    return str(x) == str(y)


def _show(x) -> str:
    return "" if _missing(x) else f"{x:.10g}" if isinstance(x, float) else str(x)
