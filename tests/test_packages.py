"""Work packages: contiguous same-status stretches, costed with the profile's parameters."""

import geopandas as gpd
import pytest
from shapely.geometry import LineString

from gis._crs import CRSError
from gis.packages import stretch_ids, work_packages
from layers.profile import Costs, Lighting


def _ranked(crs="EPSG:3007"):
    rows = []
    # path w1: 6 segments of 25 m: unlit, unlit, unlit, ok, underlit, underlit
    statuses = ["unlit", "unlit", "unlit", "ok", "underlit", "underlit"]
    for i, st in enumerate(statuses):
        rows.append({"segment_id": f"w1:{i:04d}", "path_id": "w1", "seq": i,
                     "lighting_status": st, "score": 4.0 - i * 0.1, "length_m": 25.0,
                     "target_class": "P4" if i != 1 else "P3", "n_luminaires_30m": i % 2,
                     "reason": f"r{i}",
                     "geometry": LineString([(100000 + 25 * i, 6535000),
                                             (100000 + 25 * (i + 1), 6535000)])})
    rows.append({"segment_id": "w2:0000", "path_id": "w2", "seq": 0, "lighting_status": "unlit",
                 "score": 1.0, "length_m": 25.0, "target_class": "P5", "n_luminaires_30m": 0,
                 "reason": "r", "geometry": LineString([(0, 0), (0, 25)])})
    return gpd.GeoDataFrame(rows, crs=crs).set_index("segment_id")


def test_stretches_split_on_status_and_path():
    r = _ranked()
    assert stretch_ids(r).tolist() == [0, 0, 0, 1, 2, 2, 3]


def test_packages_are_costed():
    costs = Costs(new_light_point_sek=56_000, led_power_w=25, burning_hours_per_year=4000)
    pk = work_packages(_ranked(), Lighting(light_point_spacing_m=30), costs)
    assert list(pk.index) == ["w1:0000", "w1:0004", "w2:0000"]
    a = pk.loc["w1:0000"]
    assert a["length_m"] == pytest.approx(75)
    assert a["n_segments"] == 3
    assert a["new_light_points"] == 3          # ceil(75 / 30)
    assert a["cost_sek"] == pytest.approx(168_000)
    assert a["energy_kwh_per_year"] == pytest.approx(3 * 25 * 4000 / 1000)
    assert a["expected_class"] == "P3"         # strictest on the stretch
    assert a["geometry"].length == pytest.approx(75)
    assert a["top_segment"] == "w1:0000" and a["reason"] == "r0"
    b = pk.loc["w1:0004"]
    assert b["new_light_points"] == 1          # ceil(50/30)=2 minus 1 existing luminaire
    assert pk["rank"].tolist() == [1, 2, 3]
    # score per MSEK: w1:0004 7.1/0.056 = 127 > w1:0000 11.4/0.168 = 68 > w2 1.0/0.056 = 18
    assert pk.loc[["w1:0004", "w1:0000", "w2:0000"], "rank_per_sek"].tolist() == [1, 2, 3]


def test_packages_refuse_degrees():
    with pytest.raises(CRSError, match="in degrees"):
        work_packages(_ranked().set_crs("EPSG:4326", allow_override=True), Lighting(), Costs())


def test_runs_merge_every_status_for_maps():
    from gis.packages import runs

    r = _ranked()
    r["rank"] = range(1, len(r) + 1)
    out = runs(r)
    assert out["lighting_status"].tolist() == ["unlit", "ok", "underlit", "unlit"]
    assert out["n_segments"].tolist() == [3, 1, 2, 1]
    assert out["length_m"].tolist() == pytest.approx([75, 25, 50, 25])
    assert out["best_rank"].tolist() == [1, 4, 5, 7]
    assert out["top_segment"].tolist() == ["w1:0000", "w1:0003", "w1:0004", "w2:0000"]
    assert out.geometry.length.tolist() == pytest.approx([75, 25, 50, 25])
