"""RevMan 5 files: read every analysis, recompute every stored number (analysis.audit.revman_file).

The Fleiss 1993 file (R package meta) is reproduced as stored; copies the tests change are flagged
exactly where they were changed; a file with subgroups whose stored numbers metafor computed
(tests/reference/binary_reference.R) is reproduced.
"""

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from analysis import audit_revman, read_revman
from analysis.reader import DataError

FLEISS = Path(__file__).resolve().parents[1] / "analysis" / "datasets" / "Fleiss1993.rm5"
REF = json.loads((Path(__file__).parent / "reference" / "binary_reference.json").read_text())


def _changed(tmp_path, change, name="changed.rm5"):
    """A copy of the Fleiss file with ``change(root)`` applied."""
    tree = ET.parse(FLEISS)
    change(tree.getroot())
    out = tmp_path / name
    tree.write(out, encoding="ISO-8859-1", xml_declaration=True)
    return out


def _outcome(root, kind="DICH"):
    return root.find(f"ANALYSES_AND_DATA/COMPARISON/{kind}_OUTCOME")


def _study(root, sid):
    return next(el for el in _outcome(root).iter("DICH_DATA") if el.get("STUDY_ID") == sid)


def _discrepant(result):
    bad = result.table[result.table["verdict"] == "discrepant"]
    return set(zip(bad["study"], bad["quantity"]))


def test_reads_the_fleiss_file():
    review = read_revman(FLEISS)
    assert review.title == "Examples from Fleiss 1993"
    assert list(review.outcomes["outcome"]) == ["1.1", "1.2"]
    o = review.outcomes.set_index("outcome")
    assert (o.loc["1.1", "type"], o.loc["1.1", "measure"], o.loc["1.1", "method"], o.loc["1.1", "model"]) == (
        "dichotomous", "OR", "MH", "fixed",
    )  # fmt: skip
    assert (o.loc["1.2", "type"], o.loc["1.2", "measure"]) == ("continuous", "SMD")
    aspirin = review.outcome("1.1")
    assert list(aspirin["study"]) == ["MRC-1 1974", "CDP 1976", "MRC-2 1979", "GASP 1979", "PARIS 1980", "AMIS 1980",
                                      "ISIS-2 1988"]  # fmt: skip
    assert aspirin["events_1"].sum() == 2128 and aspirin["n_2"].sum() == 13817
    assert review.outcome("1.2")["sd_2"].tolist() == [3.8, 2.3, 10.65, 1.66, 1.41]
    stored = review.stored
    # an outcome that stores only its df and totals is read for what it stores
    assert set(stored.loc[stored["outcome"] == "1.2", "attribute"]) == {"DF", "WEIGHT", "STUDIES", "TOTAL_1", "TOTAL_2"}
    with pytest.raises(KeyError, match="1.9"):
        review.outcome("1.9")


def test_every_stored_number_of_fleiss_is_reproduced():
    result = audit_revman(FLEISS)
    assert result.clean and len(result.table) == 87
    assert result.counts == {"reproduced": 87, "rounding": 0, "discrepant": 0}
    # RevMan's chi-square tail differs from the exact one by ~6e-7 relative; everything else by rounding
    assert 1e-7 < result.largest_difference < 1e-6
    t = result.table
    rel = ((t["recomputed"] - t["printed"].astype(float)).abs() / t["printed"].astype(float).abs()).dropna()
    assert t.loc[rel.idxmax(), "quantity"] == "P_CHI2"
    assert "largest relative difference 5.8e-07" in result.summary()


def test_a_changed_stored_number_is_flagged_where_it_was_changed(tmp_path):
    def change(root):
        _study(root, "STD-CDP").set("CI_END", "1.0232119087766858")
        _outcome(root).set("CHI2", "9.846055983220074")

    result = audit_revman(_changed(tmp_path, change))
    assert _discrepant(result) == {("CDP 1976", "CI_END"), ("Total", "CHI2")}


def test_a_changed_count_flags_that_study_and_what_follows_from_it(tmp_path):
    result = audit_revman(_changed(tmp_path, lambda root: _study(root, "STD-GASP").set("EVENTS_1", "35")))
    bad = result.table[result.table["verdict"] == "discrepant"]
    own = bad[(bad["row"] > 0) & (bad["quantity"] != "WEIGHT")]
    assert set(own["study"]) == {"GASP 1979"}
    assert {"EFFECT_SIZE", "CI_START", "CI_END", "SE", "VAR"} <= set(own["quantity"])
    total = bad[bad["study"] == "Total"]
    assert "EFFECT_SIZE" in set(total["quantity"]) and "EVENTS_1" in set(total["quantity"])
    assert set(total["diagnosis"]) == {"study_rows"}


def test_a_file_naming_another_model_is_diagnosed(tmp_path):
    result = audit_revman(_changed(tmp_path, lambda root: _outcome(root).set("RANDOM", "YES")))
    bad = result.table[result.table["verdict"] == "discrepant"].set_index("quantity")
    assert bad.loc["EFFECT_SIZE", "diagnosis"] == "model_mismatch"
    assert "fixed model" in bad.loc["EFFECT_SIZE", "detail"]


def _set_pooled(el, block, events, level=0.95):
    z = stats.norm.isf((1 - level) / 2)
    b, se = block["beta"], block["se"]
    values = dict(EFFECT_SIZE=np.exp(b), CI_START=np.exp(b - z * se), CI_END=np.exp(b + z * se),
                  LOG_EFFECT_SIZE=b / np.log(10), LOG_CI_START=(b - z * se) / np.log(10),
                  LOG_CI_END=(b + z * se) / np.log(10), Z=abs(block["z"]), P_Z=block["pz"], CHI2=block["QE"],
                  DF=block["df"], P_CHI2=block["QEp"], I2=block["I2"], TAU2=block["tau2"])  # fmt: skip
    values.update(events)
    for k, v in values.items():
        el.set(
            k,
            repr(float(v)) if k not in ("DF", "STUDIES", "EVENTS_1", "EVENTS_2", "TOTAL_1", "TOTAL_2") else str(int(v)),
        )


@pytest.mark.parametrize("model", ["fixed", "random"])
def test_subgroups_computed_by_metafor_are_reproduced(tmp_path, model):
    ref = REF["revman_subgroups"][model]

    def change(root):
        o = _outcome(root)
        o.set("SUBGROUPS", "YES")
        o.set("RANDOM", "YES" if model == "random" else "NO")
        rows = o.findall("DICH_DATA")
        for row, w in zip(rows, ref["weights"]):
            row.set("WEIGHT", repr(w))
            o.remove(row)
        _set_pooled(o, ref["total"], {})
        o.set("Q", repr(ref["Q"])), o.set("P_Q", repr(ref["P_Q"])), o.set("I2_Q", repr(ref["I2_Q"]))
        for i, block in enumerate(ref["subgroups"], start=1):
            sub = ET.SubElement(o, "DICH_SUBGROUP", NO=str(i))
            ET.SubElement(sub, "NAME").text = f"Group {i}"
            mine = [r for r, g in zip(rows, ref["group"]) if g == i]
            sums = {a: sum(int(r.get(a)) for r in mine) for a in ("EVENTS_1", "EVENTS_2", "TOTAL_1", "TOTAL_2")}
            sub.set("STUDIES", str(len(mine)))
            sub.set("WEIGHT", repr(sum(w for w, g in zip(ref["weights"], ref["group"]) if g == i)))
            _set_pooled(sub, block, sums)
            for r in mine:
                sub.append(r)

    result = audit_revman(_changed(tmp_path, change))
    assert result.clean, result.table[result.table["verdict"] == "discrepant"]
    quantities = set(zip(result.table["study"], result.table["quantity"]))
    assert {
        ("Subtotal: Group 1", "EFFECT_SIZE"),
        ("Subtotal: Group 2", "WEIGHT"),
        ("Total", "Q"),
        ("Total", "I2_Q"),
    } <= quantities
    review = read_revman(tmp_path / "changed.rm5")
    assert list(review.outcome("1.1")["subgroup"]) == ["Group 1"] * 4 + ["Group 2"] * 3


@pytest.mark.parametrize(
    "text, where",
    [
        ("not xml at all", "not well-formed XML"),
        ("<?xml version='1.0'?><OTHER/>", "root element is OTHER"),
        ("<?xml version='1.0'?><COCHRANE_REVIEW/>", "element ANALYSES_AND_DATA: missing"),
        (
            "<?xml version='1.0'?><COCHRANE_REVIEW><ANALYSES_AND_DATA><COMPARISON NO='1'>"
            "<DICH_OUTCOME NO='1' EFFECT_MEASURE='OR' METHOD='MH'><DICH_DATA STUDY_ID='S1' EVENTS_1='3' TOTAL_1='10'/>"
            "</DICH_OUTCOME></COMPARISON></ANALYSES_AND_DATA></COCHRANE_REVIEW>",
            "element DICH_DATA (study S1, outcome 1.1): lacks EVENTS_2, TOTAL_2",
        ),
        (
            "<?xml version='1.0'?><COCHRANE_REVIEW><ANALYSES_AND_DATA><COMPARISON NO='2'>"
            "<OTHER_OUTCOME NO='3'/></COMPARISON></ANALYSES_AND_DATA></COCHRANE_REVIEW>",
            "element OTHER_OUTCOME (outcome 2.3): outcomes of type OTHER",
        ),
        (
            "<?xml version='1.0'?><COCHRANE_REVIEW><ANALYSES_AND_DATA><COMPARISON NO='1'>"
            "<DICH_OUTCOME NO='1' EFFECT_MEASURE='OR' METHOD='GLMM'/></COMPARISON></ANALYSES_AND_DATA></COCHRANE_REVIEW>",
            "element DICH_OUTCOME (outcome 1.1): METHOD 'GLMM'",
        ),
    ],
)
def test_bad_files_name_the_element(tmp_path, text, where):
    path = tmp_path / "bad.rm5"
    path.write_text(text)
    with pytest.raises(DataError, match=re.escape(where)) as info:
        read_revman(path)
    assert "\n" not in str(info.value)


def test_cli_audits_a_revman_file(tmp_path):
    run = [sys.executable, "-m", "analysis", "audit"]
    ok = subprocess.run([*run, str(FLEISS), "--out", str(tmp_path / "ok")], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "87 stored numbers: 87 reproduced within relative 1e-05" in ok.stdout
    assert (tmp_path / "ok" / "audit.csv").exists() and (
        tmp_path / "ok" / "figures" / "audit_analysis_1_1.png"
    ).exists()
    assert "Every stored number is reproduced" in (tmp_path / "ok" / "audit.md").read_text()
    changed = _changed(tmp_path, lambda root: _study(root, "STD-CDP").set("SE", "0.3"))
    bad = subprocess.run([*run, str(changed), "--out", str(tmp_path / "bad")], capture_output=True, text=True)
    assert bad.returncode == 1 and "1 discrepant" in bad.stdout
    broken = tmp_path / "broken.rm5"
    broken.write_text("<COCHRANE_REVIEW>")
    err = subprocess.run([*run, str(broken), "--out", str(tmp_path / "x")], capture_output=True, text=True)
    assert err.returncode == 2 and "Traceback" not in err.stderr and "broken.rm5" in err.stderr
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("method", ["FE", "DL"])
def test_a_generic_inverse_variance_outcome_computed_by_metafor_is_reproduced(tmp_path, method):
    ref = REF["revman_generic"]
    want = ref[method]

    def change(root):
        comp = root.find("ANALYSES_AND_DATA/COMPARISON")
        o = ET.SubElement(comp, "IV_OUTCOME", NO="3", CI_STUDY="95", CI_TOTAL="95", TOTALS="YES", SUBGROUPS="NO",
                          RANDOM="YES" if method == "DL" else "NO", STUDIES="4")  # fmt: skip
        ET.SubElement(o, "NAME").text = "Time to event"
        ET.SubElement(o, "EFFECT_MEASURE").text = "Hazard Ratio"
        _set_pooled(o, want, {})
        o.set("WEIGHT", "100.0")
        for sid, y, se, w in zip(
            ["STD-AMIS", "STD-CDP", "STD-GASP", "STD-Hart"], ref["yi"], ref["sei"], want["weights"]
        ):
            z = stats.norm.isf(0.025)
            ET.SubElement(o, "IV_DATA", STUDY_ID=sid, EFFECT_SIZE=repr(y), SE=repr(se), WEIGHT=repr(w),
                          CI_START=repr(float(np.exp(y - z * se))), CI_END=repr(float(np.exp(y + z * se))))  # fmt: skip

    result = audit_revman(_changed(tmp_path, change))
    mine = result.table[result.table["figure"] == "Analysis 1.3"]
    assert result.clean and len(mine) == 4 * 3 + 15, mine  # 3 per study row; 13 pooled numbers, WEIGHT, STUDIES
    review = read_revman(tmp_path / "changed.rm5")
    o = review.outcomes.set_index("outcome").loc["1.3"]
    assert (o["type"], o["measure"], o["method"], o["model"]) == (
        "generic",
        "HR",
        "IV",
        "random" if method == "DL" else "fixed",
    )


def test_cli_rtol_applies_to_revman_files_only(tmp_path):
    run = [sys.executable, "-m", "analysis", "audit"]
    tight = subprocess.run([*run, str(FLEISS), "--rtol", "1e-8", "--out", str(tmp_path / "t")], capture_output=True,
                           text=True)  # fmt: skip
    assert tight.returncode == 1 and "1 discrepant" in tight.stdout  # RevMan's own chi-square tail, 5.8e-7 off
    table = (tmp_path / "t" / "audit.csv").read_text()
    assert "P_CHI2" in [line.split(",")[3] for line in table.splitlines() if ",discrepant," in line]
    csv_file = tmp_path / "plots.csv"
    csv_file.write_text("figure\n")
    wrong = subprocess.run([*run, str(csv_file), "--rtol", "1e-8", "--out", str(tmp_path / "w")], capture_output=True,
                           text=True)  # fmt: skip
    assert wrong.returncode == 2 and "--rtol applies to RevMan files" in wrong.stderr


def test_a_study_that_is_not_estimable_counts_in_the_totals_only(tmp_path):
    def change(root):
        o = _outcome(root)
        ET.SubElement(o, "DICH_DATA", STUDY_ID="STD-Hart", ESTIMABLE="NO", EVENTS_1="0", TOTAL_1="50", EVENTS_2="0",
                      TOTAL_2="40", ORDER="20", EFFECT_SIZE="", SE="", WEIGHT="0.0")  # fmt: skip
        o.set("STUDIES", "8"), o.set("TOTAL_1", "14236"), o.set("TOTAL_2", "13857")

    result = audit_revman(_changed(tmp_path, change))
    assert result.clean, result.table[result.table["verdict"] == "discrepant"]
    hart = result.table[result.table["study"] == "Hart 1975"]
    assert hart["quantity"].tolist() == ["WEIGHT"]  # it weighs nothing; it enters the totals
    total = result.table[(result.table["study"] == "Total") & (result.table["figure"] == "Analysis 1.1")]
    total = total.set_index("quantity")
    assert total.loc["STUDIES", "printed"] == "8" and total.loc["DF", "printed"] == "6"


@pytest.mark.parametrize(
    "attrs, message",
    [
        ("EVENTS_1='-3' TOTAL_1='10' EVENTS_2='1' TOTAL_2='10'", "EVENTS_1 must be >= 0"),
        ("EVENTS_1='abc' TOTAL_1='10' EVENTS_2='1' TOTAL_2='10'", "EVENTS_1 'abc' is not a number"),
        ("EVENTS_1='0' TOTAL_1='0' EVENTS_2='0' TOTAL_2='10'", "TOTAL_1 must be > 0"),
        ("EVENTS_1='3' TOTAL_1='10'", "lacks EVENTS_2, TOTAL_2"),
    ],
)
def test_bad_study_rows_name_the_attribute(tmp_path, attrs, message):
    """Regression: a negative count reached the library as a ValueError naming no file or element."""
    path = tmp_path / "bad.rm5"
    path.write_text("<COCHRANE_REVIEW><ANALYSES_AND_DATA><COMPARISON NO='1'><DICH_OUTCOME NO='1' EFFECT_MEASURE='OR' "
                    f"METHOD='MH'><DICH_DATA STUDY_ID='X' {attrs}/></DICH_OUTCOME></COMPARISON></ANALYSES_AND_DATA>"
                    "</COCHRANE_REVIEW>")  # fmt: skip
    with pytest.raises(DataError, match=re.escape(f"element DICH_DATA (study X, outcome 1.1): {message}")):
        read_revman(path)


def test_a_comparison_without_its_number_is_named(tmp_path):
    """Regression: a COMPARISON or outcome without NO ended in a TypeError traceback."""
    path = tmp_path / "bad.rm5"
    path.write_text("<COCHRANE_REVIEW><ANALYSES_AND_DATA><COMPARISON><NAME>Aspirin</NAME></COMPARISON>"
                    "</ANALYSES_AND_DATA></COCHRANE_REVIEW>")  # fmt: skip
    with pytest.raises(DataError, match=re.escape("element COMPARISON 'Aspirin': has no NO")):
        read_revman(path)


def test_a_file_that_stores_no_results_says_there_is_nothing_to_check(tmp_path):
    from analysis.audit import audit_report

    path = tmp_path / "plain.rm5"
    path.write_text("<COCHRANE_REVIEW><ANALYSES_AND_DATA><COMPARISON NO='1'><DICH_OUTCOME NO='1' EFFECT_MEASURE='OR' "
                    "METHOD='MH'><DICH_DATA STUDY_ID='Y' EVENTS_1='3' TOTAL_1='10' EVENTS_2='1' TOTAL_2='10'/>"
                    "</DICH_OUTCOME></COMPARISON></ANALYSES_AND_DATA></COCHRANE_REVIEW>")  # fmt: skip
    result = audit_revman(path)
    assert result.table.empty and result.largest_difference == 0.0
    assert "Nothing to check" in audit_report(result) and "Nothing to check" in result.summary()


def test_an_o_minus_e_outcome_is_pooled_as_rma_peto(tmp_path):
    """An IPD_OUTCOME stores each trial's O - E and V; its pooled numbers are metafor's rma.peto (pinned)."""
    from analysis import peto_odds_ratio

    d = REF["data"]["fleiss"]
    yi, vi = peto_odds_ratio(d["ai"], d["n1i"], d["ci"], d["n2i"], add=0, to="none")  # pinned to escalc PETO
    want = REF["peto"]["fleiss"]

    def change(root):
        comp = root.find("ANALYSES_AND_DATA/COMPARISON")
        o = ET.SubElement(comp, "IPD_OUTCOME", NO="4", CI_STUDY="95", CI_TOTAL="95", TOTALS="YES", STUDIES="7")
        ET.SubElement(o, "NAME").text = "Deaths, O - E"
        z = stats.norm.isf(0.025)
        b, se = want["beta"], want["se"]
        for k, v in dict(EFFECT_SIZE=np.exp(b), CI_START=np.exp(b - z * se), CI_END=np.exp(b + z * se),
                         CHI2=want["QE"], P_CHI2=want["QEp"], I2=want["I2"], Z=abs(want["zval"]),
                         P_Z=want["pval"], DF=6).items():  # fmt: skip
            o.set(k, repr(float(v)) if k != "DF" else str(v))
        for sid, y, v in zip(["STD-AMIS", "STD-CDP", "STD-GASP", "STD-Hart", "STD-PARIS", "STD-Wilson", "STD-Davis"],
                             yi, vi):  # fmt: skip
            ET.SubElement(o, "IPD_DATA", STUDY_ID=sid, O_E=repr(float(y / v)), VAR=repr(float(1 / v)))

    result = audit_revman(_changed(tmp_path, change))
    mine = result.table[result.table["figure"] == "Analysis 1.4"]
    assert result.clean and set(mine["quantity"]) == {"EFFECT_SIZE", "CI_START", "CI_END", "CHI2", "P_CHI2", "I2",
                                                      "Z", "P_Z", "DF", "STUDIES"}  # fmt: skip
    o = read_revman(tmp_path / "changed.rm5").outcomes.set_index("outcome").loc["1.4"]
    assert (o["type"], o["method"], o["measure"]) == ("o-e", "Peto", "PETO_OR")
