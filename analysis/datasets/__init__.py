"""Public example data sets, each with its source in ``analysis/datasets/README.md``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["bcg", "fleiss1993", "franchini2012", "fleiss1993_path"]

_DIR = Path(__file__).resolve().parent


def bcg() -> pd.DataFrame:
    """BCG vaccine trials with the log risk ratio ``yi`` and its variance ``vi``
    (metafor ``escalc(measure = "RR")``: vi = 1/a - 1/n1 + 1/c - 1/n2)."""
    from ..stats.binary import risk_ratio

    d = pd.read_csv(_DIR / "bcg.csv")
    yi, vi = risk_ratio(d["tpos"], d["tpos"] + d["tneg"], d["cpos"], d["cpos"] + d["cneg"])
    return d.assign(yi=yi, vi=vi)


def fleiss1993_path() -> Path:
    """The RevMan 5 file ``Fleiss1993.rm5`` (from R's meta package): an aspirin outcome (MH odds ratio)
    and a continuous one, with every number RevMan stored for them."""
    return _DIR / "Fleiss1993.rm5"


def fleiss1993() -> pd.DataFrame:
    """The aspirin trials of Fleiss (1993) as stored in ``Fleiss1993.rm5``: ``study``, ``events_1``,
    ``n_1`` (aspirin), ``events_2``, ``n_2`` (control) and the MH ``weight`` (%) RevMan stored."""
    from ..audit.revman_file import read_revman

    review = read_revman(fleiss1993_path())
    rows = review.outcome("1.1")
    st = review.stored
    weight = st[(st["outcome"] == "1.1") & (st["level"] == "study") & (st["attribute"] == "WEIGHT")]
    out = rows[["study", "events_1", "n_1", "events_2", "n_2"]].copy()
    for c in ("events_1", "n_1", "events_2", "n_2"):
        out[c] = out[c].astype(int)
    out["weight"] = weight.set_index("row")["value"].reindex(rows["row"]).to_numpy()
    return out


def franchini2012() -> pd.DataFrame:
    """Arm-level network (study, treatment, n, mean, sd) of dopamine agonists for Parkinson's disease."""
    return pd.read_csv(_DIR / "franchini2012.csv")
