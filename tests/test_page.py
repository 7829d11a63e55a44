"""report.html: one self-contained page with every figure, every quote of a number, nothing from the network;
and, in headless Chromium, readable at desktop and phone widths."""

import os
import re
import shutil
import warnings
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

AUDIT = Path(__file__).parent / "reference" / "audit_forest_reference.csv"


class _Scan(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.figures, self.ids, self.loads, self.text = [], [], [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "svg" and "data-figure" in a:
            self.figures.append((a["data-figure"], a.get("aria-label", "")))
        if "id" in a:
            self.ids.append(a["id"])
        for key in ("src", "srcset", "data", "poster"):
            if key in a:
                self.loads.append(a[key])
        if tag == "link":
            self.loads.append(a.get("href", ""))

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    from analysis.manojlovic2021.build import reproduce

    out = tmp_path_factory.mktemp("page") / "out"
    manifest = reproduce(out, audit_path=AUDIT)
    return out, manifest


def test_page_holds_every_figure_and_loads_nothing(page):
    out, manifest = page
    html = (out / "report.html").read_text(encoding="utf-8")
    scan = _Scan()
    scan.feed(html)
    svgs = {Path(f).stem for f in manifest["files"] if f.startswith("figures/") and f.endswith(".svg")}
    assert {name for name, _ in scan.figures} == svgs and len(scan.figures) == len(svgs)
    assert all(label for _, label in scan.figures)  # every figure has a text alternative
    assert "script" not in scan.tags and not scan.loads  # no script, no image, font or style sheet fetched
    assert not re.search(r"url\((?!#)", html) and "@import" not in html
    assert len(scan.ids) == len(set(scan.ids))  # figures' ids prefixed: no clashes between inlined SVGs
    assert "report.html" in manifest["files"]
    for heading in ("Contents", "The paper's headline beside this project", "Every number and its quote",
                    "Missing numbers and where they are", "Audit of the published forest plots"):  # fmt: skip
        assert heading in unescape(html)


def test_every_quote_of_a_number_in_use_is_on_the_page(page):
    from analysis import MissingDataWarning, load_studies

    out, _ = page
    html = (out / "report.html").read_text(encoding="utf-8")
    scan = _Scan()
    scan.feed(html)
    text = " ".join(unescape(t) for t in scan.text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingDataWarning)
        studies = load_studies()
    used = set()
    for f in (out / "tables").glob("effects_*.csv"):
        used |= set(pd.read_csv(f)["study_id"])
    rows = studies[studies["study_id"].isin(used) & (studies["status"] != "not public")]
    assert len(rows) > 0
    for quote in rows["quote"]:
        assert quote in text
    for study_id in used:  # each trial in use has its provenance block, linked from the tables
        anchor = "trial-" + re.sub(r"[^a-z0-9]+", "-", study_id.lower())
        assert f'id="{anchor}"' in html and f'href="#{anchor}"' in html


def test_report_md_embeds_its_figures(page):
    out, _ = page
    md = (out / "report.md").read_text(encoding="utf-8")
    links = re.findall(r"!\[[^\]]*\]\((figures/[^)]+)\)", md)
    assert "figures/coverage.png" in links and any(link.startswith("figures/forest_") for link in links)
    assert all((out / link).exists() for link in links)


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.mark.skipif(
    _chromium() is None and not os.environ.get("CI"), reason="Chromium is not installed (.ci/run installs it)"
)
def test_page_renders_in_headless_chromium(page):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    out, _ = page
    shots = Path(os.environ.get("PFP_SCREENSHOTS", out / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    options = webdriver.ChromeOptions()
    options.binary_location = _chromium()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
    try:
        for width, height in ((1280, 900), (390, 844)):
            driver.set_window_size(width, height)
            driver.get((out / "report.html").resolve().as_uri())
            inner = driver.execute_script("return window.innerWidth")
            scroll = driver.execute_script("return document.documentElement.scrollWidth")
            assert scroll <= inner, f"the page scrolls sideways at {width}px ({scroll} > {inner})"
            sizes = driver.execute_script(
                "return Array.from(document.querySelectorAll('svg[data-figure]'))"
                ".map(s => {const r = s.getBoundingClientRect(); return [s.dataset.figure, r.width, r.height];})"
            )
            assert sizes and all(w > 0 and h > 0 for _, w, h in sizes), sizes
            driver.save_screenshot(str(shots / f"report_{width}px.png"))
        assert (shots / "report_390px.png").stat().st_size > 0
    finally:
        driver.quit()
