"""Network meta-analysis input: arm-level and contrast-level rows turned into studies.

Each study becomes its contrasts against its baseline arm (the first of its
treatments in the network's order) with their within-study covariance. Arm
rows give mean differences directly; a multi-arm trial given as contrasts
needs all of its pairwise contrasts, from which the arm variances are recovered
and the arm effects estimated order-invariantly. Used by
:func:`analysis.stats.network.network_meta_analysis`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Study", "read_studies"]


@dataclass(frozen=True)
class Study:
    name: str
    treatments: tuple[str, ...]  # baseline first
    y: np.ndarray  # contrasts treatments[1:] - treatments[0]
    S: np.ndarray  # their covariance
    arm_var: np.ndarray | None  # variance of each arm (treatments order), when known
    n: np.ndarray | None  # patients per arm


def _order(treatments: list[str], reference: str | None) -> tuple[list[str], str]:
    seen = list(dict.fromkeys(treatments))
    ref = reference if reference is not None else sorted(seen)[0]
    if ref not in seen:
        raise ValueError(f"reference {ref!r} is not a treatment in the data ({seen})")
    return [ref] + sorted(t for t in seen if t != ref), ref


def _from_arms(data: pd.DataFrame, order: list[str]) -> list[Study]:
    rank = {t: i for i, t in enumerate(order)}
    out = []
    for name, g in data.groupby("study", sort=False):
        if g["treatment"].duplicated().any():
            raise ValueError(f"study {name!r} lists a treatment twice")
        if len(g) < 2:
            raise ValueError(f"study {name!r} has fewer than two arms")
        g = g.assign(_r=g["treatment"].map(rank)).sort_values("_r")
        m = g["mean"].to_numpy(float)
        v = (g["sd"].to_numpy(float) ** 2) / g["n"].to_numpy(float)
        y = m[1:] - m[0]
        S = np.diag(v[1:]) + v[0]
        out.append(Study(str(name), tuple(g["treatment"]), y, S, v, g["n"].to_numpy(float)))
    return out


def _from_contrasts(data: pd.DataFrame, order: list[str]) -> list[Study]:
    rank = {t: i for i, t in enumerate(order)}
    out = []
    for name, g in data.groupby("study", sort=False):
        arms = sorted(set(g["treat1"]) | set(g["treat2"]), key=rank.get)
        est: dict[tuple[str, str], float] = {}
        var: dict[frozenset, float] = {}
        for r in g.itertuples(index=False):
            if r.treat1 == r.treat2:
                raise ValueError(f"study {name!r}: a contrast of {r.treat1!r} with itself")
            key = frozenset((r.treat1, r.treat2))
            if key in var:
                raise ValueError(f"study {name!r} gives the {r.treat1} vs {r.treat2} contrast twice")
            est[(r.treat1, r.treat2)], est[(r.treat2, r.treat1)] = float(r.estimate), -float(r.estimate)
            var[key] = float(r.se) ** 2
        p = len(arms)
        pairs = list(itertools.combinations(arms, 2))
        n_arms = None
        if "n1" in g and "n2" in g:
            sizes = {}
            for r in g.itertuples(index=False):
                sizes[r.treat1], sizes[r.treat2] = r.n1, r.n2
            n_arms = np.array([sizes[a] for a in arms], dtype=float)
        if p == 2:
            b, t = arms
            out.append(
                Study(str(name), (b, t), np.array([est[(t, b)]]), np.array([[var[frozenset((b, t))]]]), None, n_arms)
            )
            continue
        if len(var) != len(pairs):
            raise ValueError(
                f"study {name!r} has {p} arms but {len(var)} of its {len(pairs)} pairwise contrasts: "
                "a multi-arm trial needs all of them (or arm-level data) to recover the shared variance"
            )
        # V(a - b) = v_a + v_b for every pair: recover the arm variances (exact for 3 arms, least squares above).
        A = np.zeros((len(pairs), p))
        for i, (a, b) in enumerate(pairs):
            A[i, arms.index(a)] = A[i, arms.index(b)] = 1
        v, *_ = np.linalg.lstsq(A, np.array([var[frozenset(pq)] for pq in pairs]), rcond=None)
        if (v <= 0).any():
            raise ValueError(f"study {name!r}: its contrast variances imply a non-positive arm variance")
        # Arm effects from every pairwise contrast at once, weighted as the equivalent
        # mesh of the arms' star (edge a-b: 1/(v_a v_b Σ 1/v_c)): reported contrasts
        # that are not exactly consistent give the same answer whatever the arm order.
        B = np.zeros((len(pairs), p))
        for i, (a, b) in enumerate(pairs):
            B[i, arms.index(a)], B[i, arms.index(b)] = 1.0, -1.0
        w = np.array([1 / (v[arms.index(a)] * v[arms.index(b)] * (1 / v).sum()) for a, b in pairs])
        c = np.array([est[(a, b)] for a, b in pairs])
        theta = np.linalg.pinv(B.T @ (w[:, None] * B)) @ (B.T @ (w * c))
        y = theta[1:] - theta[0]
        S = np.diag(v[1:]) + v[0]
        out.append(Study(str(name), tuple(arms), y, S, v, n_arms))
    return out


_ARM_COLUMNS = ("study", "treatment", "n", "mean", "sd")


_CONTRAST_COLUMNS = ("study", "treat1", "treat2", "estimate", "se")


def _finite(part: pd.DataFrame, columns: tuple[str, ...], positive: tuple[str, ...]) -> None:
    for c in columns[1:]:
        if c in ("treatment", "treat1", "treat2"):
            continue
        values = pd.to_numeric(part[c], errors="coerce").to_numpy(float)
        if not np.isfinite(values).all():
            bad = part.loc[~np.isfinite(values), "study"].astype(str).unique()[:3].tolist()
            raise ValueError(f"column {c!r} must hold finite numbers (not in studies {bad})")
        if c in positive and (values <= 0).any():
            raise ValueError(f"{c} must be > 0")


def read_studies(data: pd.DataFrame, reference: str | None) -> tuple[list[Study], list[str], str]:
    """Studies from arm-level rows, contrast-level rows, or both (each study one kind:
    rows with a ``treatment`` are arms, the others contrasts)."""
    cols = set(data.columns)
    has_arms, has_contrasts = set(_ARM_COLUMNS) <= cols, set(_CONTRAST_COLUMNS) <= cols
    if not (has_arms or has_contrasts):
        raise ValueError(
            "data must be arm-level (columns study, treatment, n, mean, sd), contrast-level "
            f"(study, treat1, treat2, estimate, se) or both; got {sorted(cols)}"
        )
    is_arm = data["treatment"].notna().to_numpy() if has_arms else np.zeros(len(data), bool)
    if not has_contrasts and not is_arm.all():
        raise ValueError("every arm-level row needs its treatment")
    arms, contrasts = data[is_arm], data[~is_arm]
    both = set(arms["study"]) & set(contrasts["study"])
    if both:
        raise ValueError(f"a study is given either as arms or as contrasts, not both: {sorted(map(str, both))[:3]}")
    if len(arms):
        _finite(arms, _ARM_COLUMNS, ("n", "sd"))
    if len(contrasts):
        _finite(contrasts, _CONTRAST_COLUMNS, ("se",))
    names = (list(arms["treatment"]) if len(arms) else []) + (
        list(contrasts["treat1"]) + list(contrasts["treat2"]) if len(contrasts) else []
    )
    order, ref = _order(names, reference)
    studies = (_from_arms(arms, order) if len(arms) else []) + (
        _from_contrasts(contrasts, order) if len(contrasts) else []
    )
    return studies, order, ref
