"""The reproduce command end to end, into a temporary folder."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import analysis
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
        "multiverse_paper_function_akps.png",
    } <= figures
    summary = pd.read_csv(out / "tables" / "multiverse.csv")
    assert set(summary["analysis"]) == {s.name for s in analysis.ANALYSES}
    assert (summary["specifications"] > 0).any()
    report = (out / "report.md").read_text()
    assert "MD -1.71 [-3.11, -0.30], I² 96%" in report and "SMD 1.28 [0.45, 2.12], I² 84%" in report
    assert "Missing numbers and where they are" in report and "Table 3 of the full text" in report
    assert "## The multiverse of unstated methods" in report and "Held for" in report
    assert "### Few trials: REML, Hartung-Knapp and Bayesian random effects" in report
    assert (out / "tables" / "bayes_paper_function_akps.csv").exists()
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
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr  # one problem: one line


def test_notebooks_are_stored_without_outputs():
    import nbformat

    notebooks = sorted(Path(__file__).resolve().parent.parent.joinpath("notebooks").glob("*.ipynb"))
    assert [p.name[:2] for p in notebooks] == ["01", "02", "03", "04", "05", "06", "07", "08", "09"]
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


def _run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "analysis", "reproduce", *args], capture_output=True, text=True, cwd=cwd
    )


def test_a_second_run_removes_its_stale_files_and_keeps_others(tmp_path):
    """Regression: a rerun left stale figures beside new ones; foreign files must survive and be listed."""
    from analysis.manojlovic2021.cli import reproduce

    out = tmp_path / "out"
    first = reproduce(out)
    stale = out / "figures" / "forest_an_analysis_that_no_longer_exists.png"
    stale.write_bytes(b"old")
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["files"].append("figures/forest_an_analysis_that_no_longer_exists.png")
    (out / "manifest.json").write_text(json.dumps(manifest))
    (out / "my_notes.txt").write_text("mine")
    second = reproduce(out)
    assert not stale.exists()
    assert (out / "my_notes.txt").read_text() == "mine" and second["kept"] == ["my_notes.txt"]
    on_disk = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert on_disk == sorted(second["files"] + ["manifest.json", "my_notes.txt"])
    assert second["files"] == first["files"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]  # no staging left behind


def test_a_failed_run_leaves_the_earlier_output_untouched(tmp_path, monkeypatch):
    from analysis.manojlovic2021 import build

    out = tmp_path / "out"
    build.reproduce(out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def boom(*args, **kwargs):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(build, "write_all", boom)
    try:
        build.reproduce(out)
    except RuntimeError:
        pass
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_output_problems_end_in_one_line_and_exit_2(tmp_path):
    """Regression: --out on a file ended in a raw traceback."""
    afile = tmp_path / "afile"
    afile.write_text("x")
    for target in (afile, afile / "sub"):
        proc = _run("--out", str(target))
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith("error:") and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert afile.read_text() == "x"


def test_csv_text_cannot_run_as_a_formula():
    from analysis.manojlovic2021.outputs import safe_cells

    cells = ["=HYPERLINK(1)", "+1", "ok", "@x", "-2+3+cmd|' /C calc'!A0", "-4.83"]
    frame = pd.DataFrame({"a": cells, "b": [1.0, -2.0, 3.0, 4.0, 5.0, 6.0]})
    safe = safe_cells(frame)
    # Plain numbers printed as text (an audit's "printed" column) stay; anything else that starts like a formula is quoted.
    assert safe["a"].tolist() == ["'=HYPERLINK(1)", "+1", "ok", "'@x", "'-2+3+cmd|' /C calc'!A0", "-4.83"]
    assert safe["b"].tolist() == [1.0, -2.0, 3.0, 4.0, 5.0, 6.0]
    assert frame["a"].iloc[0] == "=HYPERLINK(1)"  # the input is not changed


def test_shared_control_with_unknown_time_is_split():
    """Regression: a NaN time point never equalled itself, so a shared control was not split."""
    from analysis import get_spec, load_studies
    from analysis.manojlovic2021.contrasts import make_contrasts

    with pytest.warns(analysis.MissingDataWarning):
        studies = load_studies()
    saad = studies[studies["study_id"] == "saad2018"].copy()
    pain = saad[saad["outcome"] == "pain"].copy()
    assert len(pain) and pain["timepoint_value"].isna().any()
    filled = pain.assign(
        n=10, mean=3.0, sd=1.0, scale_min=0.0, scale_max=10.0, status="verified", missing="", location=""
    )
    effects, _ = make_contrasts(filled, get_spec("paper_pain"))
    shared = effects[effects["comparator_program"] == "control"]
    assert len(shared) >= 2 and (shared["split"] == len(shared)).all()
    assert (shared["n_c"] == 10 / len(shared)).all()


def test_the_wheel_carries_the_data_and_the_loader_finds_it(tmp_path, monkeypatch):
    """Regression: a non-editable install could not find its data. data/ stays the one copy in git
    and is packaged at build time as analysis/manojlovic2021/data."""
    import shutil
    import zipfile

    from analysis.manojlovic2021 import load

    root = Path(__file__).resolve().parents[1]
    src = tmp_path / "src"  # setuptools builds in the source tree: build a copy, not the checkout
    for folder in ("analysis", "data"):
        shutil.copytree(root / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(root / name, src / name)
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(src), "-w", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = tmp_path.glob("pfp_meta-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    # Regression: analysis.audit was missing from the package list, so a wheel lacked it.
    for init in sorted((root / "analysis").rglob("__init__.py")):
        assert init.relative_to(root).as_posix() in names
    assert "analysis/stats/heterogeneity_priors.csv" in names  # the published tau² priors
    for name in ("studies.csv", "reviews.csv", "README.md", "audit/template.csv", "audit/README.md"):
        assert f"analysis/manojlovic2021/data/{name}" in names
        packaged = zipfile.ZipFile(wheel).read(f"analysis/manojlovic2021/data/{name}")
        assert packaged == (root / "data" / name).read_bytes()
    # Without a source checkout beside the package, the loader reads the packaged copy.
    monkeypatch.setattr(load, "SOURCE_DATA", tmp_path / "no-checkout")
    assert load.default_path("studies.csv").parts[-3:] == ("manojlovic2021", "data", "studies.csv")
