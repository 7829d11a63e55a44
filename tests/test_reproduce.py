"""The reproduce command end to end, into a temporary folder."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

from analysis.manojlovic2021.load import DEFAULT_STUDIES


def test_reproduce_end_to_end(tmp_path):
    before = hashlib.sha256(DEFAULT_STUDIES.read_bytes()).hexdigest()
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "analysis", "reproduce", "--out", str(out)], capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["studies_sha256"] == before == hashlib.sha256(DEFAULT_STUDIES.read_bytes()).hexdigest()
    for f in manifest["files"]:
        assert (out / f).stat().st_size > 0, f
    figures = {Path(f).name for f in manifest["files"] if f.startswith("figures/")}
    assert {
        "coverage.png",
        "coverage.svg",
        "reviews_smd.png",
        "forest_paper_function_akps.png",
        "forest_paper_function_akps.svg",
    } <= figures
    report = (out / "report.md").read_text()
    assert "MD -1.71 [-3.11, -0.30], I² 96%" in report and "SMD 1.28 [0.45, 2.12], I² 84%" in report
    assert "Missing numbers and where they are" in report and "Table 3 of the full text" in report
    results = pd.read_csv(out / "tables" / "results.csv")
    row = results[(results["analysis"] == "function_hip_only_vs_knee_only") & (results["group"] == "overall")].iloc[0]
    assert abs(row["estimate"] - -0.351731374606506) < 1e-8  # metafor, project_reference.R


def test_reproduce_is_deterministic(tmp_path):
    from analysis.manojlovic2021.cli import reproduce

    a = reproduce(tmp_path / "a")
    reproduce(tmp_path / "b")
    for f in a["files"]:
        if f.endswith((".csv", ".svg", ".md")):
            assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f


def test_bad_data_gives_a_clear_error(tmp_path):
    bad = tmp_path / "studies.csv"
    bad.write_text("study_id,study\nx,y\n")
    proc = subprocess.run(
        [sys.executable, "-m", "analysis", "reproduce", "--out", str(tmp_path / "o"), "--data", str(bad)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "missing column(s)" in proc.stderr and str(bad) in proc.stderr


def test_notebooks_are_stored_without_outputs():
    import nbformat

    notebooks = sorted(Path(__file__).resolve().parent.parent.joinpath("notebooks").glob("*.ipynb"))
    assert [p.name[:2] for p in notebooks] == ["01", "02", "03", "04", "05", "06"]
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, path.name
                assert "import analysis" in nb.cells[1].source  # they call the library only


def test_readme_states_the_data_status_of_the_file():
    import warnings

    from analysis import load_studies

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        studies = load_studies()
    readme = " ".join((Path(__file__).resolve().parent.parent / "README.md").read_text().split())
    counts = studies["status"].value_counts()
    assert f"{studies['study_id'].nunique()} candidate trials" in readme
    assert f"has {len(studies)} rows: {counts['verified']} with verified numbers" in readme
    assert (
        f"{counts['partial']} partial" in readme
        and f"and {counts['not public']} whose numbers are not public" in readme
    )
