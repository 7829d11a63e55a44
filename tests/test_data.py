"""The data loader: the real file loads; each kind of bad input raises one clear DataError."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import pandas as pd
import pytest

from analysis.manojlovic2021.load import (
    DEFAULT_STUDIES,
    STUDY_COLUMNS,
    DataError,
    MissingDataWarning,
    load_reviews,
    load_studies,
    missing_values,
)

HEADER = list(STUDY_COLUMNS)


def _good_rows() -> list[dict]:
    """Two valid rows: an arm row with complete numbers and a contrast row."""
    base = dict.fromkeys(HEADER, "")
    base.update(
        study_id="t1",
        study="Trial 1",
        citation="A. Trial",
        year="2010",
        design="RCT",
        outcome="pain",
        instrument="VAS",
        scale_min="0",
        scale_max="10",
        higher_is_better="false",
        timepoint_value="6",
        timepoint_unit="weeks",
        timepoint_from="baseline",
        treatment_weeks="6",
        value_type="post",
        source_url="https://example.org/t1",
        quote="the quote",
    )
    arm = dict(base, level="arm", arm="hip", program="hip_only", n="20", mean="3.1", sd="1.2", status="verified")
    contrast = dict(
        base,
        level="contrast",
        arm="hip",
        program="hip_only",
        comparator_arm="knee",
        comparator_program="knee_only",
        estimate="-1.0",
        ci_low="-2.0",
        ci_high="0.5",
        ci_level="0.95",
        sign="stated",
        orientation="increase",
        status="verified",
    )
    return [arm, contrast]


def _write(tmp_path: Path, rows: list[dict], header=HEADER, *, text: str | None = None, encoding="utf-8") -> Path:
    path = tmp_path / "studies.csv"
    if text is None:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=header, lineterminator="\n", extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
        text = buf.getvalue()
    path.write_bytes(text.encode(encoding))
    return path


def _problems(path: Path) -> str:
    with pytest.raises(DataError) as info:
        load_studies(path)
    assert info.value.path == str(path)
    return str(info.value)


def test_project_file_loads_and_says_what_is_missing():
    before = hashlib.sha256(DEFAULT_STUDIES.read_bytes()).hexdigest()
    with pytest.warns(MissingDataWarning, match="not public"):
        frame = load_studies()
    assert hashlib.sha256(DEFAULT_STUDIES.read_bytes()).hexdigest() == before  # never modified
    assert list(frame.columns) == HEADER
    assert frame["quote"].str.len().min() > 0 and frame["source_url"].str.startswith("http").all()
    assert set(frame["program"]) <= {"hip_knee", "hip_only", "knee_only", "control", "other"}
    miss = missing_values(frame)
    assert len(miss) == int((frame["status"] != "verified").sum()) and miss["location"].str.len().min() > 0
    # cohorts reported twice are one study; Bolgla 2016 is inside Ferber 2015
    assert frame.loc[frame["study_id"] == "hott2019", "study"].nunique() == 1
    assert not frame["study_id"].str.contains("bolgla").any()
    # the verified contrasts are entered exactly as reported
    hott = frame[(frame["study_id"] == "hott2019") & (frame["level"] == "contrast")]
    assert sorted(hott["estimate"]) == [-4.3, -1.1, 0.2, 0.8, 1.0, 3.2]


def test_reviews_load():
    reviews = load_reviews()
    paper = reviews[reviews["review_id"] == "manojlovic2021"].set_index("outcome")
    assert paper.loc["pain", ["estimate", "ci_low", "ci_high"]].tolist() == [-1.71, -3.11, -0.30]
    assert paper.loc["function", ["estimate", "ci_low", "ci_high"]].tolist() == [1.28, 0.45, 2.12]


def test_minimal_good_file(tmp_path):
    frame = load_studies(_write(tmp_path, _good_rows()))
    assert frame["n"].tolist()[0] == 20 and frame["sd"].dtype == float


def test_byte_order_mark_is_accepted(tmp_path):
    path = _write(tmp_path, _good_rows(), encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert len(load_studies(path)) == 2


def test_input_file_is_not_modified_on_error(tmp_path):
    rows = _good_rows()
    rows[0]["sd"] = "-1"
    path = _write(tmp_path, rows)
    before = path.read_bytes()
    _problems(path)
    assert path.read_bytes() == before


def test_missing_column(tmp_path):
    msg = _problems(_write(tmp_path, _good_rows(), header=[h for h in HEADER if h != "sd"]))
    assert "missing column(s) ['sd']" in msg and "line 1" in msg


def test_extra_column(tmp_path):
    msg = _problems(_write(tmp_path, _good_rows(), header=HEADER + ["colour"]))
    assert "unexpected column(s) ['colour']" in msg


def test_unknown_program_class(tmp_path):
    rows = _good_rows()
    rows[0]["program"] = "core_only"
    msg = _problems(_write(tmp_path, rows))
    assert "line 2, row 1, column 'program': 'core_only' is not one of" in msg


def test_text_in_a_number(tmp_path):
    rows = _good_rows()
    rows[0]["mean"] = "3,1"
    assert "column 'mean': '3,1' is not a number" in _problems(_write(tmp_path, rows))


@pytest.mark.parametrize("bad", ["nan", "NaN", "inf", "-inf"])
def test_nan_or_inf(tmp_path, bad):
    rows = _good_rows()
    rows[0]["mean"] = bad
    assert "not a finite number" in _problems(_write(tmp_path, rows))


@pytest.mark.parametrize("bad", ["0", "-1.2"])
def test_sd_not_positive(tmp_path, bad):
    rows = _good_rows()
    rows[0]["sd"] = bad
    assert "column 'sd': SD must be > 0" in _problems(_write(tmp_path, rows))


def test_n_below_two(tmp_path):
    rows = _good_rows()
    rows[0]["n"] = "1"
    assert "column 'n': '1' must be at least 2" in _problems(_write(tmp_path, rows))


def test_fractional_n(tmp_path):
    rows = _good_rows()
    rows[0]["n"] = "20.5"
    assert "column 'n': '20.5' must be a whole number" in _problems(_write(tmp_path, rows))


def test_duplicate_row(tmp_path):
    rows = _good_rows()
    msg = _problems(_write(tmp_path, rows + [rows[0]]))
    assert "line 4, row 3: duplicate row" in msg and "as line 2" in msg


def test_ragged_row(tmp_path):
    path = _write(tmp_path, _good_rows())
    text = path.read_text().splitlines()
    text[1] = text[1] + ",extra"
    path.write_text("\n".join(text) + "\n")
    width = len(STUDY_COLUMNS)
    assert f"line 2, row 1: has {width + 1} fields, the header has {width} (ragged row)" in _problems(path)


def test_estimate_outside_its_ci(tmp_path):
    rows = _good_rows()
    rows[1]["estimate"] = "1.5"
    assert "column 'estimate': estimate 1.5 lies outside its CI [-2, 0.5]" in _problems(_write(tmp_path, rows))


def test_number_without_a_source(tmp_path):
    rows = _good_rows()
    rows[0]["quote"] = ""
    assert "a number without a source" in _problems(_write(tmp_path, rows))


def test_empty_file(tmp_path):
    assert "the file is empty" in _problems(_write(tmp_path, [], text=""))


def test_header_only(tmp_path):
    assert "no data rows" in _problems(_write(tmp_path, []))


def test_non_utf8_file(tmp_path):
    path = _write(tmp_path, _good_rows())
    path.write_bytes(path.read_bytes().replace(b"the quote", "the qu\u00f6te".encode("latin-1")))
    assert "not UTF-8 text" in _problems(path)


def test_status_must_match_the_numbers(tmp_path):
    rows = _good_rows()
    rows[0]["sd"] = ""
    msg = _problems(_write(tmp_path, rows))
    assert "'verified' needs all of ['n', 'mean', 'sd']" in msg


def test_all_problems_reported_at_once(tmp_path):
    rows = _good_rows()
    rows[0]["sd"] = "abc"
    rows[1]["program"] = "x"
    rows[1]["ci_level"] = "95"
    msg = _problems(_write(tmp_path, rows))
    assert "column 'sd': 'abc' is not a number" in msg and "column 'program': 'x'" in msg
    assert "column 'ci_level': ci_level is a fraction" in msg and "line 2" in msg and "line 3" in msg


def test_contrast_with_arm_values_rejected(tmp_path):
    rows = _good_rows()
    rows[1]["mean"] = "2"
    assert "contrasts are not arm values" in _problems(_write(tmp_path, rows))


def test_missing_file(tmp_path):
    assert "cannot read the file" in _problems(tmp_path / "nope.csv")


def test_dataerror_is_valueerror():
    assert issubclass(DataError, ValueError)


def test_loader_returns_a_fresh_frame_each_time(tmp_path):
    path = _write(tmp_path, _good_rows())
    a = load_studies(path)
    a.loc[0, "mean"] = 99.0
    assert load_studies(path).loc[0, "mean"] == 3.1
    assert isinstance(a, pd.DataFrame)


@pytest.mark.parametrize(
    "changes, column, message",
    [
        (dict(mean="51"), "mean", "outside the instrument's scale"),
        (dict(n="240", n_randomised="25"), "n", "exceeds the 25 randomised"),
        (dict(n="9223372036854775808"), "n", "too large"),
        (dict(mean="1e-400"), "mean", "underflows"),
        (dict(mean="1_234"), "mean", "is not a number"),
        (dict(mean="٣"), "mean", "is not a number"),
        (dict(sd="11"), "sd", "exceeds the instrument's whole range"),
    ],
)
def test_implausible_numbers_are_named(tmp_path, changes, column, message):
    """Regression: a mean of 51 on a 0-10 scale and n = 240 in an arm of 25 loaded silently;
    2^63 crashed with a TypeError naming no line; 1e-400 became 0; 1_234 and non-ASCII digits parsed."""
    rows = _good_rows()
    rows[0].update(changes)
    text = _problems(_write(tmp_path, rows))
    assert f"line 2, row 1, column {column!r}" in text and message in text


def test_a_change_or_contrast_needs_its_orientation(tmp_path):
    rows = _good_rows()
    rows[1]["orientation"] = ""
    assert "needs its orientation" in _problems(_write(tmp_path, rows))


def test_load_studies_is_linear_in_rows(tmp_path):
    """Vectorised checks: 20,000 rows load (the benchmark compares with pandas.read_csv)."""
    rows = _good_rows()
    many = [dict(rows[0], arm=f"arm{i}") for i in range(20_000)]
    frame = load_studies(_write(tmp_path, many))
    assert len(frame) == 20_000


def test_short_row_is_found_although_the_fast_reader_pads_it(tmp_path):
    """pandas' C parser pads a short record silently; the loader must still name it."""
    path = _write(tmp_path, _good_rows())
    text = path.read_text().splitlines()
    text[2] = text[2].rsplit(",", 1)[0]  # drop the last field of the second row
    path.write_text("\n".join(text) + "\n")
    width = len(STUDY_COLUMNS)
    assert f"line 3, row 2: has {width - 1} fields, the header has {width} (ragged row)" in _problems(path)


def test_line_numbers_follow_records_that_span_lines(tmp_path):
    rows = _good_rows()
    rows[0]["notes"] = "first line\nsecond line"
    rows[1]["sd"] = "-1"
    rows[1]["status"] = "partial"
    text = _problems(_write(tmp_path, rows + [rows[1]]))
    assert "line 4, row 2" in text  # row 1 spans lines 2-3


def test_whitespace_is_stripped_as_before(tmp_path):
    rows = _good_rows()
    rows[0]["program"] = " hip_only "
    rows[0]["arm"] = "hip  "
    rows[1]["notes"] = "a note\u00a0"  # trailing only, and not ASCII: found by looking behind the separator
    frame = load_studies(_write(tmp_path, rows))
    assert frame.loc[0, "program"] == "hip_only" and frame.loc[0, "arm"] == "hip"
    assert frame.loc[1, "notes"] == "a note"
