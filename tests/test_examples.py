"""The bundled example data equal the metafor reference data sets."""

import numpy as np
import pandas as pd

from analysis import datasets as examples


def test_bcg_matches_metafor_escalc(ref):
    d = examples.bcg()
    np.testing.assert_allclose(d["yi"], ref["datasets"]["bcg"]["yi"], rtol=1e-12)
    np.testing.assert_allclose(d["vi"], ref["datasets"]["bcg"]["vi"], rtol=1e-12)
    assert d["alloc"].tolist() == ref["datasets"]["bcg"]["group"]


def test_franchini_matches_reference(ref):
    want = pd.DataFrame(ref["network"]["franchini2012"]["arms"])
    got = examples.franchini2012()
    pd.testing.assert_frame_equal(
        got[["study", "treatment", "n", "mean", "sd"]].reset_index(drop=True),
        want[["study", "treatment", "n", "mean", "sd"]].reset_index(drop=True),
        check_dtype=False,
    )
