"""Run a declared analysis: effect sizes, pooling and subgroups in one call; the network inputs.
(Reruns over options, ``sensitivity`` and the multiverse, live in :mod:`analysis.manojlovic2021.multiverse`.)"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from ..plotting.layout import ARM_COLUMNS, ForestData
from ..stats.binary import MEASURE_LABELS, RATIO_MEASURES
from ..stats.effects import combine_arms
from ..stats.network import NetworkResult, network_meta_analysis
from ..stats.pooling import PoolResult, pool
from ..stats.results import Result
from ..stats.subgroups import SubgroupResult, subgroup_analysis
from .contrasts import make_contrasts
from .specs import PROGRAM_LABELS, AnalysisSpec, NetworkSpec

__all__ = [
    "NETWORK_COLUMNS",
    "AnalysisResult",
    "coverage_matrix",
    "network_contrasts",
    "network_data",
    "run_analysis",
    "run_network",
]


@dataclass(frozen=True, repr=False)
class AnalysisResult(Result):
    """One analysis run on the data.

    Attributes
    ----------
    spec : the :class:`~analysis.manojlovic2021.specs.AnalysisSpec` that was run.
    effects : usable comparisons with ``yi``, ``vi`` and, after pooling, ``weight`` (%).
    coverage : every trial's status for this analysis (used, missing, not in scope).
    result : :class:`PoolResult`, :class:`SubgroupResult` (subgrouped specs)
        or None when no comparison is usable.
    """

    spec: AnalysisSpec
    effects: pd.DataFrame
    coverage: pd.DataFrame
    result: PoolResult | SubgroupResult | None

    @property
    def k(self) -> int:
        return len(self.effects)

    @cached_property
    def bayes_fits(self) -> dict:
        """For analyses with few comparisons (``spec.bayes_max_k``): the exact Bayesian fits, by
        (group, "primary" | "sensitivity") prior (:func:`bayes.bayes_fits`)."""
        from .bayes import bayes_fits

        return bayes_fits(self.spec, self.effects)

    @cached_property
    def bayes(self) -> pd.DataFrame:
        """REML, REML + Hartung-Knapp and the Bayesian results side by side (:func:`bayes.bayes_table`)."""
        from .bayes import bayes_table

        return bayes_table(self.spec, self.effects, self.bayes_fits)

    @property
    def overall(self) -> PoolResult | None:
        if isinstance(self.result, SubgroupResult):
            return self.result.overall
        return self.result

    def to_frame(self) -> pd.DataFrame:
        """The pooled rows (per subgroup and overall) with the spec's name and options."""
        if self.result is None:
            return pd.DataFrame({"analysis": [self.spec.name], "k": [0], "group": ["overall"]})
        frame = self.result.to_frame()
        if "group" not in frame:
            frame.insert(0, "group", "overall")
        frame.insert(0, "analysis", self.spec.name)
        frame["measure"] = self.spec.measure
        frame["outcome"] = self.spec.outcome
        if self.spec.measure in RATIO_MEASURES:  # pooled on the log scale; the ratios beside
            for col in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):
                frame[f"exp_{col}"] = np.exp(frame[col])
        return frame

    def _title(self) -> str:
        return f"{self.spec.title} [{self.spec.name}]: {self.k} comparisons"

    def _summary_lines(self) -> list[str]:
        return ["no usable comparison"] if self.result is None else self.result.summary().splitlines()

    def favours(self) -> tuple[str, str]:
        """The favours labels under the forest plot's axis (left, right)."""
        spec = self.spec
        e = PROGRAM_LABELS[spec.experimental[0]] if len(spec.experimental) == 1 else "exercise"
        c = PROGRAM_LABELS[spec.comparator]
        left_is_e = spec.outcome == "pain"  # pain: negative = less pain in the experimental arm
        return (f"Favours {e}", f"Favours {c}") if left_is_e else (f"Favours {c}", f"Favours {e}")

    def forest_data(self) -> ForestData:
        """What :func:`analysis.forest_plot` draws: the pooled result, one row per
        comparison (in the result's input order) with its arms' n, mean and SD."""
        if self.result is None:
            raise ValueError(f"analysis {self.spec.name!r} has no usable comparisons; nothing to plot")
        eff = self.effects
        studies = pd.DataFrame({"label": eff["study"] + ": " + eff["comparison"], "yi": eff["yi"], "vi": eff["vi"]})
        for c in ARM_COLUMNS:
            if c in eff:
                studies[c] = pd.to_numeric(eff[c], errors="coerce").astype(float)
        studies["ci_low"], studies["ci_high"] = eff["ci_low"].to_numpy(float), eff["ci_high"].to_numpy(float)
        e = self.spec.experimental
        arms = (PROGRAM_LABELS[e[0]] if len(e) == 1 else "Exercise", PROGRAM_LABELS[self.spec.comparator])
        label = MEASURE_LABELS.get(self.spec.measure, self.spec.measure)
        ratio = self.spec.measure in RATIO_MEASURES
        return ForestData(self.result, studies, label, self.favours(), arms, log_scale=ratio,
                          alternatives=self.alternatives())  # fmt: skip

    def alternatives(self) -> tuple[tuple[str, float, float, float], ...]:
        """For an analysis of few comparisons (``spec.bayes_max_k``): the overall result with Hartung-Knapp
        and under the two Bayesian priors, as rows under the forest plot's total (:attr:`bayes`)."""
        table = self.bayes
        rows = table[(table["group"] == "overall") & (table["model"] != self.spec.method)]
        out = []
        for r in rows.itertuples(index=False):
            label = r.model if not r.prior else f"Bayesian, τ ~ {r.prior}"
            out.append((label, float(r.estimate), float(r.ci_low), float(r.ci_high)))
        return tuple(out)


def run_analysis(spec: AnalysisSpec, studies: pd.DataFrame) -> AnalysisResult:
    """Build the effect sizes for ``spec`` from ``studies`` and pool them.

    Subgrouped specs (``subgroup="program"``) use
    :func:`analysis.subgroup_analysis` with separate tau² per subgroup
    (RevMan 5 and meta's default), groups ordered Hip&Knee, Hip-only,
    Knee-only; others use :func:`analysis.pool`.
    """
    effects, coverage = make_contrasts(studies, spec)
    result: PoolResult | SubgroupResult | None = None
    effects = effects.copy()
    effects["weight"] = np.nan
    if len(effects):
        order = {p: i for i, p in enumerate(spec.experimental)}
        effects = effects.sort_values(
            ["experimental_program", "year", "study"],
            key=lambda s: s.map(order) if s.name == "experimental_program" else s,
        ).reset_index(drop=True)
        yi, vi = effects["yi"].to_numpy(float), effects["vi"].to_numpy(float)
        if spec.subgroup == "program":
            labels = effects["experimental_program"].map(PROGRAM_LABELS).to_numpy()
            result = subgroup_analysis(yi, vi, labels, method=spec.method, test=spec.test, level=spec.level)
            effects["weight"] = result.overall.weights
            effects["weight_in_group"] = np.concatenate([g.weights for g in result.groups.values()])
        else:
            result = pool(yi, vi, method=spec.method, test=spec.test, level=spec.level)
            effects["weight"] = result.weights
    return AnalysisResult(spec, effects, coverage, result)


def coverage_matrix(results: list[AnalysisResult]) -> pd.DataFrame:
    """Trial x analysis table of coverage statuses ("used", "missing", "not in scope").

    A trial with several comparisons in one analysis shows "used" if any is used.
    """
    rank = {"used": 0, "missing": 1, "not in scope": 2}
    frames = [r.coverage for r in results]
    cov = pd.concat(frames, ignore_index=True)
    cov["rank"] = cov["status"].map(rank)
    best = cov.sort_values("rank").groupby(["study", "analysis"], sort=False)["status"].first()
    matrix = best.unstack("analysis")
    studies = list(dict.fromkeys(cov["study"]))
    return matrix.reindex(index=studies, columns=[r.spec.name for r in results])


NETWORK_COLUMNS = [
    "study", "treatment", "n", "mean", "sd", "treat1", "treat2", "estimate", "se", "n1", "n2", "note",
]  # fmt: skip


def _trial_arms(effects: pd.DataFrame) -> dict[str, tuple[str, float, float, float]]:
    """arm -> (class, n, mean, sd) of one trial, oriented and rescaled as its comparisons are."""
    arms = {}
    for r in effects.itertuples(index=False):
        k = r.direction * r.scale
        for arm, prog, n, m, sd in (
            (r.experimental_arm, r.experimental_program, r.n_e, r.mean_e, r.sd_e),
            (r.comparator_arm, r.comparator_program, r.n_c, r.mean_c, r.sd_c),
        ):
            arms[arm] = (prog, float(n), float(m) * k, float(sd) * abs(r.scale))
    return arms


def network_data(spec: NetworkSpec, studies: pd.DataFrame) -> pd.DataFrame:
    """Input for :func:`analysis.network_meta_analysis` from the trial data: arms where they can be, else contrasts.

    Every pair of ``spec.treatments`` is built by the pairwise rules with one
    time point per trial (``timepoint_scope="trial"``), so a multi-arm trial's
    comparisons describe the same moment. Then per trial:

    - when every comparison comes from arm values, the trial enters as arms
      (``treatment, n, mean, sd``, oriented and rescaled; two arms of one class
      are combined by the Cochrane Handbook formula, Table 6.5.a), and the
      network model carries its covariance;
    - otherwise as contrasts (``treat1, treat2, estimate, se, n1, n2``). A
      multi-arm trial whose contrasts do not cover every pair of its classes
      cannot give the covariance of the ones it has, so only its first
      contrast in ``spec.treatments`` order enters; a second contrast of the
      same pair of classes (two arms of one class) is left out likewise.

    ``note`` says what was combined or left out; left-out contrasts are
    listed in ``frame.attrs["left_out"]``.
    """
    pairs = list(itertools.combinations(spec.treatments, 2))
    found = [make_contrasts(studies, spec.pair_spec(a, b))[0].assign(_pair=i) for i, (a, b) in enumerate(pairs)]
    found = [f for f in found if len(f)]
    rows, left_out = [], []
    if not found:
        return pd.DataFrame(columns=NETWORK_COLUMNS)
    effects = pd.concat(found, ignore_index=True)
    for study, eff in effects.groupby("study", sort=False):
        if (eff["source"] == "arm").all():
            by_class: dict[str, list] = {}
            for prog, n, m, sd in _trial_arms(eff).values():
                by_class.setdefault(prog, []).append((n, m, sd))
            for prog, arms in by_class.items():
                n, m, sd = arms[0]
                for n2, m2, sd2 in arms[1:]:
                    n, m, sd = (float(x) for x in combine_arms(n, m, sd, n2, m2, sd2))
                note = f"{len(arms)} arms combined (Cochrane Handbook 6.5.a)" if len(arms) > 1 else ""
                rows.append(dict(study=study, treatment=prog, n=n, mean=m, sd=sd, note=note))
            continue
        eff = eff.sort_values("_pair", kind="stable")
        keep = eff.drop_duplicates(["experimental_program", "comparator_program"])
        classes = set(keep["experimental_program"]) | set(keep["comparator_program"])
        if len(classes) > 2 and len(keep) < len(classes) * (len(classes) - 1) // 2:
            keep = keep.iloc[:1]
        dropped = eff.drop(index=keep.index)
        for r in dropped.itertuples(index=False):
            left_out.append(f"{study}: {r.comparison} ({r.experimental_program} vs {r.comparator_program})")
        note = "; ".join(f"left out {r.comparison}" for r in dropped.itertuples(index=False))
        for r in keep.itertuples(index=False):
            n1, n2 = (float(x) if pd.notna(x) else np.nan for x in (r.n_e, r.n_c))
            a, b = r.experimental_program, r.comparator_program
            rows.append(
                dict(study=study, treat1=a, treat2=b, estimate=r.yi, se=float(np.sqrt(r.vi)), n1=n1, n2=n2, note=note)
            )
    out = pd.DataFrame(rows, columns=NETWORK_COLUMNS)
    out.attrs["left_out"] = left_out
    return out


#: The earlier name of :func:`network_data`.
network_contrasts = network_data


def run_network(spec: NetworkSpec, studies: pd.DataFrame, data: pd.DataFrame | None = None) -> NetworkResult | None:
    """Fit ``spec``'s network on the trial data (or on its :func:`network_data`, if already
    built); None when nothing is usable."""
    data = network_data(spec, studies) if data is None else data
    if data.empty:
        return None
    present = set(data["treatment"].dropna()) | set(data["treat1"].dropna()) | set(data["treat2"].dropna())
    reference = next(t for t in spec.reference_order if t in present)
    small = "good" if spec.outcome == "pain" else "bad"
    return network_meta_analysis(
        data, reference=reference, method=spec.method, measure=spec.measure, small_values=small
    )
