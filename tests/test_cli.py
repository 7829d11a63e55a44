"""The command line end to end: --version, list, run, audit, data check and data diff."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis import __version__
from analysis.manojlovic2021.cli import main
from analysis.manojlovic2021.load import default_path

AUDIT_REFERENCE = Path(__file__).parent / "reference" / "audit_forest_reference.csv"


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "analysis", *args], capture_output=True, text=True)


def test_version_and_help():
    proc = _cli("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"pfp-meta {__version__}"
    for command in ("reproduce", "list", "run", "audit", "data"):
        proc = _cli(command, "--help")
        assert proc.returncode == 0 and "usage: python -m analysis" in proc.stdout, command


def test_list_names_every_analysis(capsys):
    from analysis import ANALYSES

    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert all(s.name in out for s in ANALYSES)


def test_run_prints_and_writes_one_analysis(tmp_path, capsys):
    assert main(["run", "paper_function_akps", "--out", str(tmp_path / "one")]) == 0
    out = capsys.readouterr().out
    assert "paper_function_akps" in out and "wrote 6 files" in out
    manifest = json.loads((tmp_path / "one" / "manifest.json").read_text())
    assert "figures/forest_paper_function_akps.svg" in manifest["files"]
    assert main(["run", "paper_pain"]) == 0  # no data yet: says so, writes nothing
    assert "0 comparisons" in capsys.readouterr().out


def test_unknown_analysis_is_one_line_exit_2():
    proc = _cli("run", "nope")
    assert proc.returncode == 2 and proc.stderr.startswith("error: no analysis named 'nope'")
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_audit_clean_plot(tmp_path):
    out = tmp_path / "audit"
    proc = _cli("audit", str(AUDIT_REFERENCE), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "177 reproduced" in proc.stdout
    table = pd.read_csv(out / "audit.csv")
    assert list(table.columns[:8]) == [
        "figure",
        "row",
        "study",
        "quantity",
        "printed",
        "recomputed",
        "verdict",
        "diagnosis",
    ]
    assert set(table["verdict"]) == {"reproduced"}
    md = (out / "audit.md").read_text()
    assert "Every printed number is reproduced" in md
    assert all((out / "figures" / f"audit_analysis_1_{i}.png").exists() for i in (1, 2, 3))
    assert "![Analysis 1.1" in md


def test_audit_with_an_error_exits_1_and_bad_file_exits_2(tmp_path):
    plot = pd.read_csv(AUDIT_REFERENCE, dtype=str, keep_default_na=False)
    plot.loc[(plot["study"] == "Newcastle") & (plot["figure"] == "Analysis 1.1"), "sd_2"] = "43"
    path = tmp_path / "plot.csv"
    plot.to_csv(path, index=False)
    assert main(["audit", str(path), "--out", str(tmp_path / "a")]) == 1
    table = pd.read_csv(tmp_path / "a" / "audit.csv", keep_default_na=False)
    assert "typo" in set(table["diagnosis"])
    plot.loc[0, "measure"] = "RR"
    plot.to_csv(path, index=False)
    proc = _cli("audit", str(path), "--out", str(tmp_path / "b"))
    assert proc.returncode == 2 and "'measure'" in proc.stderr and proc.stderr.count("\n") == 1
    assert not (tmp_path / "b").exists()


def test_data_check_lists_missing_and_flags_impossible_means(tmp_path, capsys):
    assert main(["data", "check"]) == 0
    out = capsys.readouterr().out
    assert "valid" in out and "still miss numbers" in out and "GRIM: every mean" in out
    text = pd.read_csv(default_path("studies.csv"), dtype=str, keep_default_na=False)
    # The bundled AKPS arms are not public yet: fill one as an extractor would, with a mean 20 scores cannot give.
    i = text.index[(text["instrument"] == "AKPS") & (text["level"] == "arm")][0]
    n = min(int(text.loc[i, "n_randomised"] or 20), 20)
    impossible = next(
        f"{70 + k / 100:.2f}" for k in range(100) if abs(round((70 + k / 100) * n) / n - (70 + k / 100)) > 0.005
    )
    text.loc[i, ["n", "sd", "status", "missing", "location"]] = [str(n), "10.5", "verified", "", ""]
    text.loc[i, "mean"] = impossible
    path = tmp_path / "studies.csv"
    text.to_csv(path, index=False)
    assert main(["data", "check", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"mean {impossible} with n = {n}" in out


def test_data_diff(tmp_path, capsys):
    src = default_path("studies.csv")
    assert main(["data", "diff", str(src), str(src)]) == 0
    text = pd.read_csv(src, dtype=str, keep_default_na=False)
    i = text.index[text["mean"] != ""][0]
    text.loc[i, "sd"] = f"{float(text.loc[i, 'sd']) + 0.5:g}"
    extra = text.iloc[[0]].assign(arm="made-up arm")
    pd.concat([text, extra]).to_csv(tmp_path / "b.csv", index=False)
    capsys.readouterr()
    assert main(["data", "diff", str(src), str(tmp_path / "b.csv")]) == 1
    out = capsys.readouterr().out
    assert " sd " in out and "made-up arm" in out and "(row)" in out and "2 disagreement(s)" in out
    proc = _cli("data", "diff", str(src))
    assert proc.returncode == 2 and proc.stderr.startswith("error: data diff needs two files")


@pytest.mark.parametrize("command", [["data", "check", "missing.csv"], ["audit", "missing.csv", "--out", "x"]])
def test_missing_input_file_is_one_line_exit_2(tmp_path, command):
    proc = subprocess.run([sys.executable, "-m", "analysis", *command], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "cannot read the file" in proc.stderr
