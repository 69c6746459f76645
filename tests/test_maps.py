"""Map builders (ui.maps): the compact segment layer and the lux overlay."""

import io
import json
import re

import geopandas as gpd
import numpy as np
import pytest
import shapely
from PIL import Image
from pyproj import CRS, Transformer
from rasterio.transform import Affine

from ui import maps


def _map_html(lines, colours, tooltips, name="Segment <b>"):
    web = gpd.GeoDataFrame(geometry=lines, crs=4326)
    m = maps.base_map((11.0, 58.9, 11.2, 59.0))
    maps.CompactLines(maps.lines_payload(web, np.array(colours), np.array(tooltips)),
                      name=name).add_to(m)
    import folium

    folium.LayerControl().add_to(m)
    return m.get_root().render()


def test_compact_lines_payload_round_trips_coordinates_colours_and_tooltips():
    lines = [shapely.LineString([(11.1234567, 58.9), (11.2, 58.95)]),
             shapely.LineString([(11.0, 59.0), (11.05, 59.01), (11.1, 59.02)])]
    web = gpd.GeoDataFrame(geometry=lines, crs=4326)
    p = maps.lines_payload(web, np.array(["#111111", "#d7301f"]), np.array(["a", "b"]))
    assert p["n"] == [2, 3]
    # lat, lon order for Leaflet, rounded to 6 decimals, as integer deltas
    assert p["d"][:4] == [58_900_000, 11_123_457, 50_000, 76_543]
    assert maps.decode_lines(p) == [[(58.9, 11.123457), (58.95, 11.2)],
                                    [(59.0, 11.0), (59.01, 11.05), (59.02, 11.1)]]
    assert [p["p"][i] for i in p["c"]] == ["#111111", "#d7301f"]
    assert p["t"] == ["a", "b"]


def test_compact_lines_script_never_contains_raw_markup_from_data():
    evil = "&lt;script&gt;"  # escaped by the caller, as add_segments does
    html_text = _map_html([shapely.LineString([(11.0, 58.9), (11.1, 58.95)])], ["#000000"],
                          [f"</script><script>alert(1)</script>{evil}<br>ok\u2028"])
    script = html_text[html_text.index("var compact_lines_"):]
    payload = script[script.index("var D = ") + 8:script.index(";\n")]
    assert "<" not in payload and "\u2028" not in payload
    data = json.loads(payload)
    assert data["t"][0].startswith("</script><script>")  # intact once parsed by JS
    # Layer control lists the layer by its (escaped) name, and it is added to the map.
    assert re.search(r'"Segment \\u003cb>"|"Segment <b>"', html_text)
    assert re.search(r"compact_lines_\w+\.addTo\(map_\w+\)", html_text)


def test_add_segments_sends_runs_with_escaped_reasons():
    ranked = gpd.GeoDataFrame({
        "path_id": ["w1", "w1", "w2"], "seq": [0, 1, 0],
        "lighting_status": ["unlit", "unlit", "ok"], "rank": [1, 2, 3],
        "score": [3.0, 2.0, 0.0], "length_m": [25.0, 25.0, 25.0],
        "reason": ["<img src=x onerror=alert(1)>", "b", "c"]},
        geometry=[shapely.LineString([(0, 0), (25, 0)]), shapely.LineString([(25, 0), (50, 0)]),
                  shapely.LineString([(0, 50), (25, 50)])],
        index=["w1:0000", "w1:0001", "w2:0000"], crs=3007)
    ranked = ranked.set_geometry(ranked.translate(320000, 6540000))
    m = maps.base_map((11.0, 58.9, 11.2, 59.0))
    maps.add_segments(m, ranked, labels={"unlit": "Obelyst"})
    layer = next(c for c in m._children.values() if isinstance(c, maps.CompactLines))
    assert len(layer.payload["n"]) == 2                  # w1 merged into one run
    assert layer.payload["t"][0] == "#1 Obelyst<br>&lt;img src=x onerror=alert(1)&gt;"
    assert [layer.payload["p"][i] for i in layer.payload["c"]] == [
        maps.STATUS_COLOURS["unlit"], maps.STATUS_COLOURS["ok"]]


def test_lux_overlay_is_mercator_png_with_transparent_nodata():
    crs = CRS.from_epsg(3007)
    lux = np.full((50, 80), -1.0, dtype=np.float32)
    lux[10:40, 10:70] = 0.1      # dark
    lux[20:30, 30:50] = 20.0     # bright
    transform = Affine(4.0, 0, 320000.0, 0, -4.0, 6540000.0)
    png, (w, s, e, n) = maps.lux_overlay_png(lux, transform, crs)
    img = np.asarray(Image.open(io.BytesIO(png)))
    assert img.shape[2] == 4
    assert img[0, 0, 3] == 0                                      # nodata corner
    colours = {tuple(c) for c in img.reshape(-1, 4)[img.reshape(-1, 4)[:, 3] > 0]}
    assert colours == {maps.LUX_CLASSES[0][1], maps.LUX_CLASSES[-1][1]}
    # The bounds contain the grid's corners in degrees.
    to_deg = Transformer.from_crs(3007, 4326, always_xy=True)
    for x, y in [(320000, 6540000), (320320, 6539800)]:
        lon, lat = to_deg.transform(x, y)
        assert w - 1e-9 <= lon <= e + 1e-9 and s - 1e-9 <= lat <= n + 1e-9
    assert (e - w) < 0.01 and (n - s) < 0.01


def test_lux_legend_labels_use_decimal_comma():
    labels = [label for label, _ in maps.lux_legend_items()]
    assert labels[0] == "0–0,5 lx" and labels[-1] == "≥ 15 lx"
    assert len(labels) == len(maps.LUX_CLASSES)


@pytest.mark.parametrize("position", ["bottomleft", "bottomright"])
def test_legend_position(position):
    m = maps.base_map((11.0, 58.9, 11.2, 59.0))
    maps.add_legend(m, "T", [("a", "#000")], position=position)
    assert f'L.control({{position: "{position}"}})' in m.get_root().render()


def test_web_bounds_contain_the_reprojected_data():
    gdf = gpd.GeoDataFrame(geometry=[shapely.LineString([(300000, 6530000), (330000, 6560000)]),
                                     shapely.Point(310000, 6555000)], crs=3007)
    w, s, e, n = maps.web_bounds(gdf)
    exact = gdf.to_crs(4326).total_bounds
    assert w <= exact[0] and s <= exact[1] and e >= exact[2] and n >= exact[3]
    # The box's corners lie a little beyond the data (meridian convergence): not far.
    assert np.allclose([w, s, e, n], exact, atol=0.02)


def test_warm_up_renders_without_network():
    maps.warm_up()  # pytest-socket blocks non-loopback: a fetch would fail here


INJECTION = "{{ 7*7 }} {% if true %}x{% endif %} {{ lipsum.__globals__ }}"


def test_user_text_is_never_evaluated_as_a_jinja_template():
    # branca compiles rendered output as a template again; user text in GeoJSON, names
    # and legends must come out literally (no "49", no crash on "{% … %}").
    poly = gpd.GeoDataFrame({"name": [INJECTION]}, geometry=[shapely.box(0, 0, 50, 50)],
                            crs=3007).translate(150000, 6540000)
    poly = gpd.GeoDataFrame({"name": [INJECTION]}, geometry=poly.values, crs=3007)
    pts = gpd.GeoDataFrame({"d": [INJECTION]}, geometry=[shapely.Point(150010, 6540010)],
                           crs=3007)
    m = maps.base_map(maps.web_bounds(poly))
    maps.add_polygons(m, poly, "#000", "name", "Områden")
    maps.add_points(m, pts, "#fff", {"d": "Beskrivning"}, "Fynd")
    maps.add_legend(m, INJECTION, [(INJECTION, "#000")])
    out = m.get_root().render()
    # Rendered once, the text stays as it was (evaluated, "{{ 7*7 }}" would be "49").
    assert out.count("{{ 7*7 }}") >= 3     # point data, polygon data, legend
    assert "{% if true %}x{% endif %}" in out
    assert "{{ lipsum.__globals__ }}" in out
