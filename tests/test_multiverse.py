"""The multiverse: the batch pooling of every specification, and the paper's unstated decisions."""

import warnings

import numpy as np
import pytest

from analysis import datasets, multiverse, pool, specification_curve


def _bcg_sets():
    d = datasets.bcg()
    out = []
    for alloc in ("all", "random"):
        m = np.ones(len(d), bool) if alloc == "all" else d["alloc"].eq("random").to_numpy()
        out.append(({"allocation": alloc}, d["yi"][m].to_numpy(), d["vi"][m].to_numpy()))
    out.append(({"allocation": "random again"}, out[1][1][::-1], out[1][2][::-1]))  # same data, other order
    out.append(({"allocation": "one trial"}, d["yi"][:1].to_numpy(), d["vi"][:1].to_numpy()))
    return out


def test_every_specification_equals_its_own_pool():
    ref = {"estimate": -0.7145, "ci_low": -1.0708, "ci_high": -0.3582}
    res = multiverse(_bcg_sets(), methods=("DL", "REML"), tests=("z", "knha"), reference=ref)
    t = res.table
    assert len(t) == 3 * 2 * 2 and res.not_poolable == 1  # the one-trial set is left out
    for row in t.itertuples(index=False):
        (_, y, v) = next(s for s in _bcg_sets() if s[0]["allocation"] == row.allocation)
        fit = pool(y, v, method=row.method, test=row.test)
        assert row.estimate == pytest.approx(fit.estimate, rel=1e-12)
        assert row.ci_low == pytest.approx(fit.ci_low, rel=1e-12) and row.k == fit.k
    assert list(t["estimate"]) == sorted(t["estimate"])
    agrees = (np.sign(t["estimate"]) < 0) & (t["ci_high"] < 0)
    assert list(t["agrees"]) == list(agrees) and res.share_agreeing == pytest.approx(agrees.mean())
    assert "specifications" in res.summary() and "<table" in res._repr_html_()


def test_specification_curve_draws_every_specification():
    import matplotlib

    matplotlib.use("Agg")
    res = multiverse(_bcg_sets(), reference={"estimate": -0.71, "ci_low": -1.07, "ci_high": -0.36})
    ax = specification_curve(res, title="BCG", measure="log RR")
    assert len(ax.lines[0].get_xdata()) + len(ax.lines[1].get_xdata()) == len(res.table)
    labels = [t.get_text() for t in ax.decisions_ax.get_yticklabels()]
    assert "allocation = random" in labels and "method = PM" in labels and "test = knha" in labels


def test_empty_multiverse():
    res = multiverse([({"a": 1}, [0.1], [0.01])])
    assert res.table.empty and res.not_poolable == 1 and "no specification" in res.summary()


@pytest.fixture(scope="module")
def studies():
    from analysis import MissingDataWarning, load_studies

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingDataWarning)
        return load_studies()


def test_paper_multiverse_holds_what_cannot_matter_and_varies_the_rest(studies):
    from analysis import get_spec, load_reviews
    from analysis.manojlovic2021.contrasts import make_contrasts
    from analysis.manojlovic2021.multiverse import held, spec_multiverse

    spec = get_spec("paper_function_akps")
    fixed = held(spec, studies)
    assert "prepost_r" in fixed and "designs" in fixed  # no public baseline value, no quasi-randomised numbers
    result = spec_multiverse(spec, studies, load_reviews())["overall"]
    t = result.table
    assert set(t["timepoint"]) == {"end_of_treatment", "earliest", "latest"} and set(t["method"]) == {
        "DL",
        "REML",
        "PM",
    }
    # A specification's numbers are those of the analysis run with its decisions.
    row = t.iloc[0]
    variant = spec.with_options(timepoint=row["timepoint"], values=row["values"], multi_arm=row["multi_arm"],
                                evidence=row["evidence"])  # fmt: skip
    effects, _ = make_contrasts(studies, variant)
    fit = pool(effects["yi"], effects["vi"], method=row["method"], test=row["test"])
    assert row["estimate"] == pytest.approx(fit.estimate, rel=1e-12)


def test_paper_reference_is_the_published_headline():
    from analysis import get_spec, load_reviews
    from analysis.manojlovic2021.multiverse import paper_reference

    ref = paper_reference(get_spec("paper_pain"), "Hip&Knee", load_reviews())
    assert ref == {"estimate": -1.71, "ci_low": -3.11, "ci_high": -0.30}
    assert paper_reference(get_spec("paper_pain"), "Hip-only", load_reviews()) is None


def test_sensitivity_equals_running_each_combination(studies):
    """sensitivity now pools through the multiverse's batch path; it must equal run_analysis per combination."""
    from analysis import get_spec, run_analysis, sensitivity

    spec = get_spec("paper_function_akps")
    options = dict(method=["DL", "REML"], multi_arm=["split", "reuse"], timepoint=["latest", "earliest"])
    table = sensitivity(spec, studies, **options)
    assert list(table.columns[:3]) == ["method", "multi_arm", "timepoint"] and len(table) == 8
    for row in table.itertuples(index=False):
        variant = spec.with_options(method=row.method, multi_arm=row.multi_arm, timepoint=row.timepoint)
        res = run_analysis(variant, studies)
        assert row.k == res.k
        if res.overall is not None:
            assert row.estimate == pytest.approx(res.overall.estimate, rel=1e-12)
            assert row.ci_high == pytest.approx(res.overall.ci_high, rel=1e-12)
    empty = sensitivity(get_spec("paper_pain"), studies, method=["DL"])
    assert empty["k"].tolist() == [0] and np.isnan(empty["estimate"]).all()
