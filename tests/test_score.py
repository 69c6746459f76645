"""Scoring: need × (status weight + weighted context), deterministic ranks, Swedish reasons."""

import numpy as np
import pandas as pd
import pytest

from gis.score import need_component, rank_by_score, reasons, score_components, score_segments
from layers.profile import Weights


def _features(**cols):
    base = {"lighting_status": ["unlit", "unlit"], "path_type": ["cycleway", "cycleway"],
            "school_distance_m": [40.0, 1040.0], "nearest_school": ["Strömstiernaskolan"] * 2,
            "crossing_distance_m": [np.inf, np.inf], "crossings_within_50m": [0, 0],
            "in_priority_area": [False, False], "priority_area": ["", ""],
            "findings_severity_sum": [0, 0], "findings_count": [0, 0],
            "school_route_count": [0, 0]}
    base.update(cols)
    return pd.DataFrame(base, index=["w1:0000", "w2:0000"])


def test_need_by_status_and_deficit():
    status = pd.Series(["unlit", "underlit", "ok", "lit_old_technology", "unknown"])
    mean = pd.Series([0.0, 2.5, 6.0, 6.0, 0.0])
    mn = pd.Series([0.0, 1.0, 2.0, 2.0, 0.0])
    need = need_component(status, mean, mn, pd.Series([5.0] * 5), pd.Series([1.0] * 5))
    # underlit: mean deficit 0.5, min deficit 0 -> 0.4 + 0.6 * 0.5
    assert need.tolist() == pytest.approx([1.0, 0.7, 0.0, 0.2, 0.5])


def test_segment_next_to_school_outranks_identical_one_1km_away():
    f = _features()
    comps = score_components(f)
    assert comps.loc["w1:0000", "c_school"] == pytest.approx(0.96)
    assert comps.loc["w2:0000", "c_school"] == 0
    need = pd.Series(1.0, index=f.index)
    score = score_segments(need, comps, Weights())
    assert score["w1:0000"] == pytest.approx(Weights().lighting_status + 2.0 * 0.96)
    assert score["w2:0000"] == pytest.approx(Weights().lighting_status)
    assert rank_by_score(score).tolist() == [1, 2]


def test_context_does_not_count_without_need():
    f = _features(lighting_status=["ok", "unlit"], school_distance_m=[0.0, 5000.0])
    need = pd.Series([0.0, 1.0], index=f.index)
    score = score_segments(need, score_components(f), Weights())
    assert score["w1:0000"] == 0 and score["w2:0000"] > 0


def test_crossings_priority_findings_routes_and_darkness_components():
    f = _features(crossing_distance_m=[10.0, 200.0], crossings_within_50m=[3, 0],
                  in_priority_area=[True, False], findings_severity_sum=[3, 12],
                  school_route_count=[9, 0], school_distance_m=[100.0, 5000.0])
    c = score_components(f, school_distance_m=300, darkness_share=0.4)
    assert c.loc["w1:0000", "c_crossing"] == pytest.approx(1.0)  # 0.9 + 0.5 capped
    assert c.loc["w2:0000", "c_crossing"] == 0
    assert c["c_priority"].tolist() == [1.0, 0.0]
    assert c["c_findings"].tolist() == pytest.approx([0.5, 1.0])
    assert c["c_route"].tolist() == pytest.approx([1.0, 0.0])
    assert c["c_darkness"].tolist() == pytest.approx([0.4, 0.0])
    assert list(c.index) == list(f.index)


def test_ties_are_broken_by_id_deterministically():
    score = pd.Series([1.0, 2.0, 1.0, 2.0], index=["b", "d", "a", "c"])
    assert rank_by_score(score).to_dict() == {"c": 1, "d": 2, "a": 3, "b": 4}


def test_reason_in_swedish():
    f = _features(crossings_within_50m=[2, 0], priority_area=["Strömsdalen", ""])
    r = reasons(f)
    assert r["w1:0000"] == ("Obelyst GC-väg 40 m från Strömstiernaskolan, "
                            "2 övergångsställen inom 50 m, i Strömsdalen")
    assert r["w2:0000"] == "Obelyst GC-väg"
    assert r.name == "reason"


def test_underlit_reason_names_lux_and_target():
    f = _features(lighting_status=["underlit", "ok"], school_distance_m=[5000.0, 5000.0])
    f["mean_lux"] = [2.34, 9.0]
    f["target_class"] = ["P4", "P4"]
    r = reasons(f)
    assert r["w1:0000"] == "Underbelyst GC-väg (2,3 lx, mål P4)"


def test_reason_clauses_singular_plural_km_and_missing_values():
    f = pd.DataFrame({
        "lighting_status": ["unknown", "underlit", "ok", None],
        "path_type": ["footway", "mystery", None, "steps"],
        "school_distance_m": [999.6, 1000.0, np.nan, 12.5],
        "nearest_school": ["Skola A", "Skola B", "Skola C", None],
        "crossings_within_50m": [1, 3, 0, np.nan],
        "school_route_count": [1, 12, 0, 2],
        "findings_count": [2, 1, 0, 0],
        "priority_area": [None, "Strömsdalen", "", ""],
        "mean_lux": [np.nan, 0.35, 9.0, 1.0],
        "target_class": ["P4", "P3", "P4", "P5"],
    }, index=["a", "b", "c", "d"])
    r = reasons(f)
    assert r.tolist() == [
        "Okänd belysning, gångväg 1000 m från Skola A, 1 övergångsställe inom 50 m, "
        "skolväg för 1 rutt, 2 synpunkter från trygghetsvandring",
        "Underbelyst väg (0,3 lx, mål P3) 1,0 km från Skola B, 3 övergångsställen inom 50 m, "
        "skolväg för 12 rutter, 1 synpunkt från trygghetsvandring, i Strömsdalen",
        "Tillräckligt belyst väg",
        "trappa, skolväg för 2 rutter",
    ]


def test_one_decimal_matches_python_format_exactly():
    from gis.score import _one_decimal_sv

    rng = np.random.default_rng(7)
    values = np.concatenate([rng.uniform(-60, 60, 20_000), np.arange(-5, 5, 0.05),
                             [0.25, 0.35, 0.45, -0.04, -0.05, 1e16, np.nan, np.inf, -np.inf]])
    assert _one_decimal_sv(values).tolist() == [f"{v:.1f}".replace(".", ",") for v in values]
