"""The results of :func:`analysis.pool`: one meta-analysis (:class:`PoolResult`), many
(:class:`PoolBatch`, whose rows are PoolResults) and the Q-profile interval for tau²."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

from .results import Result

__all__ = ["PoolBatch", "PoolResult", "Tau2Interval"]


_FRAME_FIELDS = (
    "k", "estimate", "se", "ci_low", "ci_high", "statistic", "df", "pvalue",
    "tau2", "tau", "i2", "h2", "q", "q_df", "q_pvalue", "pi_low", "pi_high",
)  # fmt: skip


@dataclass(frozen=True, repr=False)
class _Pooled(Result):
    k: Any
    estimate: Any
    se: Any
    ci_low: Any
    ci_high: Any
    statistic: Any
    df: Any
    pvalue: Any
    tau2: Any
    tau: Any
    i2: Any
    h2: Any
    q: Any
    q_df: Any
    q_pvalue: Any
    pi_low: Any
    pi_high: Any
    method: str
    test: str
    level: float
    pi_method: str = "metafor"
    i2_method: str = "metafor"
    yi: np.ndarray = field(default=None, repr=False)
    vi: np.ndarray = field(default=None, repr=False)
    notes: tuple[str, ...] = ()
    tau2_fixed: bool = False
    root: str = "global"
    modes: Any = 1

    def to_frame(self) -> pd.DataFrame:
        """One row per meta-analysis with fixed column names (level is metadata)."""
        data = {name: np.atleast_1d(getattr(self, name)) for name in _FRAME_FIELDS}
        frame = pd.DataFrame(data)
        frame["k"] = frame["k"].astype(int)
        frame["q_df"] = frame["q_df"].astype(int)
        frame["method"], frame["test"], frame["level"] = self.method, self.test, self.level
        return frame

    @property
    def options(self) -> dict:
        """Everything needed to rerun the fit."""
        return dict(
            method=self.method, test=self.test, level=self.level, pi=self.pi_method, i2=self.i2_method, root=self.root
        )


@dataclass(frozen=True, repr=False)
class PoolResult(_Pooled):
    """A fitted meta-analysis.

    Attributes
    ----------
    k : number of studies.
    estimate, se, ci_low, ci_high : pooled effect, its SE and CI.
    statistic, df, pvalue : test of the pooled effect (z, or t with ``df``;
        ``df`` is NaN for z).
    tau2, tau : between-study variance and SD.
    i2 : I² as a fraction in [0, 1]; h2 : H².
    q, q_df, q_pvalue : Cochran's Q (common-effect weights) and its χ² test.
    pi_low, pi_high : prediction interval.
    method, test, level, pi_method, i2_method, root : the options used.
    yi, vi : the input; ``weights`` (a property) gives each study's
        percentage weight, 100 (1/(vi + tau²)) / Σ 1/(vi + tau²).
    tau2_fixed : True when tau² was given, not estimated.
    modes : local maxima of the (restricted) likelihood found (ML/REML; 1 otherwise).
    notes : what the reader should know (k = 1, fixed tau², several maxima, ...).
    """

    @property
    def weights(self) -> np.ndarray:
        """Percentage weight of each study in the pooled estimate."""
        w = 1 / (np.asarray(self.vi) + self.tau2)
        return 100 * w / w.sum()

    @property
    def batch(self) -> bool:
        return False

    def tau2_ci(self) -> Tau2Interval:
        """Q-profile confidence interval for tau², I² and H² at this result's level,
        beside this fit's own tau² (estimated by its method, or the fixed value)."""
        from .pooling import tau2_confint  # the function that fits; this module only holds results

        return tau2_confint(
            self.yi, self.vi, level=self.level, method=self.method, tau2=self.tau2 if self.tau2_fixed else None
        )

    def _title(self) -> str:
        model = "Common-effect" if self.method == "EE" else f"Random-effects ({self.method})"
        return f"{model} model (k = {self.k}): estimate {self.estimate:.4f} [{self.ci_low:.4f}, {self.ci_high:.4f}]"

    def _summary_lines(self) -> list[str]:
        pct = int(round(self.level * 100))
        fixed = " (fixed)" if self.tau2_fixed else ""
        lines = [
            f"tau^2 = {self.tau2:.4f}{fixed}, tau = {self.tau:.4f}, I^2 = {100 * self.i2:.2f}%, H^2 = {self.h2:.4f}",
            f"Q({self.q_df}) = {self.q:.4f}, p = {self.q_pvalue:.4g}",
            f"estimate = {self.estimate:.4f}, se = {self.se:.4f}, {pct}% CI [{self.ci_low:.4f}, {self.ci_high:.4f}]",
            f"{'z' if self.test == 'z' else 't'} = {self.statistic:.4f}"
            + ("" if np.isnan(self.df) else f" (df = {self.df:g})")
            + f", p = {self.pvalue:.4g}",
            f"{pct}% prediction interval [{self.pi_low:.4f}, {self.pi_high:.4f}] ({self.pi_method})",
        ]
        return lines + [f"Note: {n}" for n in self.notes]


@dataclass(frozen=True, repr=False)
class PoolBatch(_Pooled):
    """Many meta-analyses fitted at once (2-D input to :func:`pool`).

    Every numeric attribute of :class:`PoolResult` is an array with one entry
    per row; ``batch[i]`` is row i as an ordinary :class:`PoolResult`.
    """

    @property
    def batch(self) -> bool:
        return True

    @property
    def weights(self) -> np.ndarray:
        """Percentage weights per row (NaN in padded cells)."""
        w = 1 / (np.asarray(self.vi) + np.asarray(self.tau2)[..., None])
        return 100 * w / np.nansum(w, axis=-1, keepdims=True)

    def __len__(self) -> int:
        return len(self.estimate)

    def __getitem__(self, i: int) -> PoolResult:
        if not isinstance(i, (int, np.integer)):
            raise TypeError("index a PoolBatch with one integer; to_frame() gives the table")
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"row {i} of a batch of {n}")
        keep = ~np.isnan(self.yi[i])
        values = {}
        for f in fields(_Pooled):
            value = getattr(self, f.name)
            if f.name in ("yi", "vi"):
                value = value[i][keep].copy()
            elif isinstance(value, np.ndarray):
                value = value[i].item()
            values[f.name] = value
        values["notes"] = tuple(n for n in self.notes if not n.startswith("k = 1") or values["k"] == 1)
        return PoolResult(**values)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def tau2_ci(self) -> Tau2Interval:
        from .pooling import tau2_confint  # the function that fits; this module only holds results

        return tau2_confint(
            self.yi, self.vi, level=self.level, method=self.method, tau2=self.tau2 if self.tau2_fixed else None
        )

    def _title(self) -> str:
        return f"{len(self)} meta-analyses ({self.method}, test={self.test})"


@dataclass(frozen=True, repr=False)
class Tau2Interval(Result):
    """Q-profile interval for tau² and the I² (fraction) and H² it implies."""

    tau2: Any
    tau2_low: Any
    tau2_high: Any
    i2_low: Any
    i2_high: Any
    h2_low: Any
    h2_high: Any
    level: float
    method: str = "REML"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({f.name: np.atleast_1d(getattr(self, f.name)) for f in fields(self)})

    def _title(self) -> str:
        if np.ndim(self.tau2):
            return f"Q-profile intervals for tau^2 ({len(self.tau2)} meta-analyses)"
        pct = int(round(self.level * 100))
        return (
            f"tau^2 = {self.tau2:.4f} ({self.method}), {pct}% Q-profile CI [{self.tau2_low:.4f}, {self.tau2_high:.4f}]"
        )
