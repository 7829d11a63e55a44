"""Every analysis this project runs, declared in one place.

Each :class:`AnalysisSpec` records every decision that turns ``data/studies.csv``
into a meta-analysis: the outcome and its effect measure, the time-point rule,
the comparator rule, how a multi-arm trial shares its comparator, the pre-post
correlation used for change scores, the estimator and the test. The paper
(Manojlović 2021) states none of its methods in public text, so each default is
a named choice here, and notebook 04 varies them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from ..stats.binary import BINARY_MEASURES
from ..stats.conversions import FIVENUM_METHODS

__all__ = [
    "ANALYSES",
    "EXERCISE",
    "NETWORKS",
    "PROGRAM_LABELS",
    "TIMEPOINT_RULES",
    "AnalysisSpec",
    "NetworkSpec",
    "get_spec",
]

EXERCISE = ("hip_knee", "hip_only", "knee_only")
#: Display names used by the paper.
PROGRAM_LABELS = {
    "hip_knee": "Hip&Knee",
    "hip_only": "Hip-only",
    "knee_only": "Knee-only",
    "control": "Control",
    "other": "Other",
}
#: "end_of_treatment": per comparison, the time point closest to the end of the
#: programme (ties: the earlier); "earliest" / "latest": the first / last
#: reported time point.
TIMEPOINT_RULES = ("end_of_treatment", "earliest", "latest")


@dataclass(frozen=True)
class AnalysisSpec:
    """One analysis: which rows, which effect size, which model.

    Attributes
    ----------
    name, title : identifier (file names) and heading.
    outcome : "pain", "function" or "success" (a responder outcome counted as
        events, as each trial defines it). Effects are oriented so that for pain a
        negative value favours the experimental arm (less pain), and for
        function a positive value does (better function), whatever the
        instrument's own direction; for success a ratio above 1 (log above 0)
        means more successes in the experimental arm.
    measure : "MD" or "SMD" (Hedges' g, ``smd_convention``) for pain and
        function; "OR", "RR" or "RD" for success (:func:`analysis.odds_ratio`,
        ... ; pooled by inverse variance on the log scale with ``method``).
    common_scale : for MD, rescale every instrument to this range, e.g.
        (0, 10) for pain; None keeps the instrument's units (then restrict
        ``instruments`` to one).
    instruments : allowed instruments in order of preference (a trial reporting
        several contributes the first); None allows any.
    experimental : programme classes compared with the comparator.
    comparator : programme class of the comparator arm ("control" = no
        exercise programme).
    subgroup : "program" to subgroup by the experimental class (the paper's
        design), or None.
    timepoint : a rule of :data:`TIMEPOINT_RULES`.
    timepoint_scope : "comparison" (each comparison takes its own time point
        by the rule) or "trial" (one time point per trial, chosen by the rule
        among all its rows of the outcome; the network uses it so that a
        multi-arm trial's comparisons describe the same moment).
    values : "post" (follow-up values), "change" (change from baseline; from
        baseline and follow-up rows with ``prepost_r`` where no change row
        exists), or "any" (post where available, else change; Cochrane
        Handbook 10.5.2 allows mixing them for MD only).
    prepost_r : correlation between baseline and follow-up used to compute a
        change-score SD (Cochrane Handbook 6.5.2.8): a number, or "trials" for
        the mean r of the arms that report baseline, follow-up and change SDs
        (:func:`analysis.manojlovic2021.contrasts.prepost_correlations`); the
        effect notes say which r was used.
    multi_arm : "split" (Cochrane Handbook 23.3.4: a comparator arm shared by
        m comparisons in one analysis counts n/m patients in each) or "reuse"
        (each comparison uses the full arm; patients counted twice).
    include_inferred_sign : use contrasts whose sign convention the source does
        not state but the quote implies (recorded as ``sign == "inferred"``).
    evidence : "all", or "paper_era" (trials published up to 2020, the
        evidence the 2021 paper could have had; undated trials are left out).
    designs : trial designs included: ("RCT", "quasi-randomised") or ("RCT",).
    method, test, level : passed to :func:`analysis.pool`.
    smd_convention : passed to :func:`analysis.hedges_g`.
    median_method : how an arm reported as a median with quartiles and/or range
        becomes a mean and SD (:func:`analysis.mean_sd_from_fivenum`; metafor 5's
        ``conv.fivenum`` names; skewed arms are not used).
    bayes_max_k : analyses with at most this many comparisons also get the exact Bayesian
        random-effects result (:func:`analysis.bayesian_pool`) beside REML and REML with
        Hartung-Knapp (0 turns it off).
    tau_prior, tau_prior_sensitivity : the prior on tau and a second one for sensitivity.
        "auto": for SMDs Rhodes et al. 2015's predictive distribution (general physical health,
        pain and functioning; non-pharmacological comparisons), for MDs a half-normal prior with
        scale 1/10 of the scale's range (1 point on 0-10 pain, 10 on the AKPS); otherwise a
        :func:`analysis.tau_prior` name ("half_normal", "half_cauchy", ...) with that same scale.
    zero_cells : a binary outcome's zero-cell convention ("metafor": 0.5 added to
        the cells of tables with a zero, double zeros kept; "revman5": double
        zeros not estimable for OR and RR); see :mod:`analysis.stats.binary`.
    ci_dist : how an arm reported as a mean with a CI gives its SD
        (:func:`analysis.sd_from_ci`): "t" with n - 1 df (Cochrane Handbook
        6.5.2.2) or "z".
    """

    name: str
    title: str
    outcome: str
    measure: str = "MD"
    common_scale: tuple[float, float] | None = None
    instruments: tuple[str, ...] | None = None
    experimental: tuple[str, ...] = EXERCISE
    comparator: str = "control"
    subgroup: str | None = None
    timepoint: str = "end_of_treatment"
    timepoint_scope: str = "comparison"
    values: str = "any"
    prepost_r: float | str = 0.5
    multi_arm: str = "split"
    include_inferred_sign: bool = True
    evidence: str = "all"
    designs: tuple[str, ...] = ("RCT", "quasi-randomised")
    method: str = "REML"
    test: str = "z"
    level: float = 0.95
    smd_convention: str = "metafor"
    bayes_max_k: int = 5
    tau_prior: str = "auto"
    tau_prior_sensitivity: str = "half_cauchy"
    median_method: str = "luo/wan/shi"
    ci_dist: str = "t"
    zero_cells: str = "metafor"
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        checks = {
            "outcome": (self.outcome, ("pain", "function", "success")),
            "measure": (self.measure, ("MD", "SMD", "OR", "RR", "RD")),
            "zero_cells": (self.zero_cells, ("metafor", "revman5")),
            "timepoint": (self.timepoint, TIMEPOINT_RULES),
            "timepoint_scope": (self.timepoint_scope, ("comparison", "trial")),
            "values": (self.values, ("post", "change", "any")),
            "multi_arm": (self.multi_arm, ("split", "reuse")),
            "evidence": (self.evidence, ("all", "paper_era")),
            "subgroup": (self.subgroup, ("program", None)),
            "median_method": (
                self.median_method,
                tuple(k for k, v in FIVENUM_METHODS.items() if v["mean"] and v["sd"]),
            ),
            "ci_dist": (self.ci_dist, ("t", "z")),
        }
        for name, (value, allowed) in checks.items():
            if value not in allowed:
                raise ValueError(f"AnalysisSpec.{name} must be one of {allowed}; got {value!r}")
        if not self.designs or set(self.designs) - {"RCT", "quasi-randomised"}:
            raise ValueError(
                f"AnalysisSpec.designs must be a non-empty subset of ('RCT', 'quasi-randomised'); got {self.designs!r}"
            )
        if (self.outcome == "success") != (self.measure in BINARY_MEASURES):
            raise ValueError(
                f"AnalysisSpec: outcome 'success' is counted as events and takes measure OR, RR or RD; "
                f"pain and function take MD or SMD (got outcome {self.outcome!r}, measure {self.measure!r})"
            )
        if self.measure in BINARY_MEASURES and self.common_scale is not None:
            raise ValueError("AnalysisSpec: common_scale rescales mean differences; a binary outcome has none")
        if self.measure == "SMD" and self.values == "any":
            raise ValueError(
                "SMD cannot mix post values and change scores (Cochrane Handbook 10.5.2): choose values='post' or 'change'"
            )
        if self.prepost_r != "trials" and not (isinstance(self.prepost_r, (int, float)) and -1 <= self.prepost_r <= 1):
            raise ValueError(f"prepost_r must be a number in [-1, 1] or 'trials'; got {self.prepost_r!r}")

    def with_options(self, **changes) -> AnalysisSpec:
        """A copy with some decisions changed (the name records that it is a variant)."""
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return asdict(self)


#: Each measure in words, for reports.
MEASURE_NAMES = {
    "MD": "mean difference",
    "SMD": "standardised mean difference",
    "OR": "odds ratio (pooled as log odds ratios)",
    "RR": "risk ratio (pooled as log risk ratios)",
    "RD": "risk difference",
}

PAIN_0_10 = dict(outcome="pain", measure="MD", common_scale=(0.0, 10.0))
FUNCTION_AKPS = dict(outcome="function", measure="MD", instruments=("AKPS",))

_H2H = (
    ("hip_knee", "knee_only"),
    ("hip_only", "knee_only"),
    ("hip_knee", "hip_only"),
    ("hip_knee", "control"),
    ("hip_only", "control"),
    ("knee_only", "control"),
)


def _h2h(outcome_kw: dict, tag: str) -> list[AnalysisSpec]:
    out = []
    for e, c in _H2H:
        out.append(
            AnalysisSpec(
                name=f"{tag}_{e}_vs_{c}",
                title=f"{'Pain' if tag == 'pain' else 'Function (AKPS)'}: {PROGRAM_LABELS[e]} vs {PROGRAM_LABELS[c]}",
                experimental=(e,),
                comparator=c,
                description="Head-to-head comparison within trials that randomised both classes.",
                **outcome_kw,
            )
        )
    return out


#: The declared analyses; the CLI runs each and writes its table and figure.
ANALYSES: tuple[AnalysisSpec, ...] = (
    AnalysisSpec(
        name="paper_pain",
        title="Pain (0-10): each exercise programme vs no-exercise control, by programme",
        subgroup="program",
        description="The paper's design: exercise arms against their trial's comparator, subgrouped by programme, "
        "with the test for subgroup differences. Pain as MD on a common 0-10 scale.",
        **PAIN_0_10,
    ),
    AnalysisSpec(
        name="paper_function",
        title="Function (SMD): each exercise programme vs no-exercise control, by programme",
        outcome="function",
        measure="SMD",
        values="post",
        subgroup="program",
        description="The paper's design for function: Hedges' g of follow-up values, any function instrument.",
    ),
    AnalysisSpec(
        name="paper_function_akps",
        title="Function (AKPS, MD): each exercise programme vs no-exercise control, by programme",
        subgroup="program",
        description="As paper_function but as MD on the AKPS, the only function scale with public contrasts.",
        **FUNCTION_AKPS,
    ),
    *_h2h(PAIN_0_10, "pain"),
    *_h2h(FUNCTION_AKPS, "function"),
    AnalysisSpec(
        name="function_hip_only_vs_knee_only_paper_era",
        title="Function (AKPS): Hip-only vs Knee-only, trials published by 2020",
        experimental=("hip_only",),
        comparator="knee_only",
        evidence="paper_era",
        description="The evidence the 2021 paper could have had, for comparison with all evidence.",
        **FUNCTION_AKPS,
    ),
    AnalysisSpec(
        name="success_hip_only_vs_knee_only",
        title="Treatment success (OR): Hip-only vs Knee-only",
        outcome="success",
        measure="OR",
        experimental=("hip_only",),
        comparator="knee_only",
        description="Not in the paper: a responder outcome (treatment success as each trial defines it) as each "
        "arm's events and total, odds ratios pooled on the log scale. Ferber 2015 defines success; its counts "
        "are in the full texts only.",
    ),
)


def get_spec(name: str) -> AnalysisSpec:
    """The declared analysis called ``name``."""
    for spec in ANALYSES:
        if spec.name == name:
            return spec
    raise KeyError(f"no analysis named {name!r}; declared: {[s.name for s in ANALYSES]}")


@dataclass(frozen=True)
class NetworkSpec:
    """A network meta-analysis of the programme classes.

    Every pair of ``treatments`` is turned into contrasts by the pairwise rules
    of :class:`AnalysisSpec` (same outcome, measure, scale, instruments, time
    point and values; shared arms are *not* split: the network model carries
    a multi-arm trial's covariance itself). The reference is the first of
    ``reference_order`` present in the data.
    """

    name: str
    title: str
    outcome: str
    measure: str = "MD"
    common_scale: tuple[float, float] | None = None
    instruments: tuple[str, ...] | None = None
    timepoint: str = "end_of_treatment"
    values: str = "any"
    method: str = "REML"
    treatments: tuple[str, ...] = EXERCISE + ("control",)
    reference_order: tuple[str, ...] = ("control", "knee_only", "hip_only", "hip_knee")

    def pair_spec(self, experimental: str, comparator: str) -> AnalysisSpec:
        return AnalysisSpec(
            name=f"{self.name}_{experimental}_vs_{comparator}",
            title=self.title,
            outcome=self.outcome,
            measure=self.measure,
            common_scale=self.common_scale,
            instruments=self.instruments,
            experimental=(experimental,),
            comparator=comparator,
            timepoint=self.timepoint,
            timepoint_scope="trial",
            values=self.values,
            multi_arm="reuse",
            method=self.method,
        )


#: Network meta-analyses run by the CLI.
NETWORKS: tuple[NetworkSpec, ...] = (
    NetworkSpec(
        name="network_function_akps",
        title="Function (AKPS, MD): network of the programme classes",
        outcome="function",
        instruments=("AKPS",),
    ),
    NetworkSpec(
        name="network_pain",
        title="Pain (0-10, MD): network of the programme classes",
        outcome="pain",
        common_scale=(0.0, 10.0),
    ),
)
