"""Public example data sets, each with its source in ``analysis/datasets/README.md``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["bcg", "franchini2012"]

_DIR = Path(__file__).resolve().parent


def bcg() -> pd.DataFrame:
    """BCG vaccine trials with the log risk ratio ``yi`` and its variance ``vi``
    (metafor ``escalc(measure = "RR")``: vi = 1/a - 1/n1 + 1/c - 1/n2)."""
    d = pd.read_csv(_DIR / "bcg.csv")
    n1, n2 = d["tpos"] + d["tneg"], d["cpos"] + d["cneg"]
    return d.assign(yi=np.log((d["tpos"] / n1) / (d["cpos"] / n2)), vi=1 / d["tpos"] - 1 / n1 + 1 / d["cpos"] - 1 / n2)


def franchini2012() -> pd.DataFrame:
    """Arm-level network (study, treatment, n, mean, sd) of dopamine agonists for Parkinson's disease."""
    return pd.read_csv(_DIR / "franchini2012.csv")
