"""The municipality profile: both shipped profiles load, and mistakes name the key."""

from pathlib import Path

import pytest

from layers import P_CLASSES, ValidationError, load_profile

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("folder", "name", "code"), [("stromstad", "Strömstad", "1486"),
                                                      ("tanum", "Tanum", "1435")])
def test_shipped_profiles_load(folder, name, code):
    p = load_profile(ROOT / "data" / folder / "profile.toml")
    assert (p.name, p.kommun_code, p.crs) == (name, code, "EPSG:3007")
    assert p.boundary.exists()
    assert p.demo is True
    assert p.sources.osm is not None and p.sources.osm.exists()
    assert p.costs.new_light_point_sek > 0
    assert set(p.lighting.target_class.values()) <= set(P_CLASSES)


def test_stromstad_profile_values():
    p = load_profile(ROOT / "data" / "stromstad" / "profile.toml")
    assert p.designated_schools == ("Strömstiernaskolan", "Bojarskolan")
    assert p.costs.new_light_point_sek == pytest.approx(56_000)
    assert p.costs.led_retrofit_sek == pytest.approx(3_800)
    assert p.costs.burning_hours_per_year == pytest.approx(4_000)
    assert p.target_lux("P4") == (5.0, 1.0)
    assert p.target_lux(p.lighting.school_class) == (7.5, 1.5)
    # frozen
    with pytest.raises(AttributeError):
        p.name = "x"  # type: ignore[misc]


def test_tanum_overrides_only_what_it_sets():
    p = load_profile(ROOT / "data" / "tanum" / "profile.toml")
    assert p.costs.new_light_point_sek == pytest.approx(52_000)
    assert p.costs.led_retrofit_sek == pytest.approx(3_800)  # default
    assert p.sources.lighting_inventory is None


def test_en13201_classes():
    assert P_CLASSES == {"P1": (15, 3), "P2": (10, 2), "P3": (7.5, 1.5), "P4": (5, 1),
                         "P5": (3, 0.6), "P6": (2, 0.4)}


def _write(tmp_path, text):
    (tmp_path / "b.geojson").write_text(
        (ROOT / "data" / "stromstad" / "boundary.geojson").read_text(encoding="utf-8"),
        encoding="utf-8")
    path = tmp_path / "profile.toml"
    path.write_text('name = "X"\nkommun_code = "1486"\ncrs = "EPSG:3007"\n'
                    'boundary = "b.geojson"\nlatitude = 58.9\nlongitude = 11.2\n' + text,
                    encoding="utf-8")
    return path


def test_minimal_profile_gets_documented_defaults(tmp_path):
    p = load_profile(_write(tmp_path, ""))
    assert p.lighting.segment_length_m == pytest.approx(25)
    assert p.boundary == tmp_path / "b.geojson"
    assert p.demo is False


def test_unknown_key_is_named_with_a_suggestion(tmp_path):
    path = _write(tmp_path, "[costs]\nnew_light_pont_sek = 1\n")
    with pytest.raises(ValidationError, match=r"key 'costs\.new_light_pont_sek': unknown key\. "
                                              r"Fix: .*did you mean 'costs\.new_light_point_sek'"):
        load_profile(path)


def test_wrong_type_is_named(tmp_path):
    path = _write(tmp_path, '[costs]\nled_retrofit_sek = "dyrt"\n')
    with pytest.raises(ValidationError, match=r"key 'costs\.led_retrofit_sek': wrong type str"):
        load_profile(path)


def test_all_problems_reported_at_once(tmp_path):
    path = _write(tmp_path, '[weights]\nschool = true\nfoo = 1\n[lighting]\nschool_class = "P9"\n')
    with pytest.raises(ValidationError) as exc:
        load_profile(path)
    msg = str(exc.value)
    assert "weights.school" in msg and "weights.foo" in msg
    assert len(exc.value.problems) == 2  # type errors stop before semantic checks


def test_unknown_lighting_class(tmp_path):
    path = _write(tmp_path, '[lighting]\nschool_class = "P9"\n')
    with pytest.raises(ValidationError, match=r"lighting\.school_class': unknown lighting class"):
        load_profile(path)


def test_degree_crs_is_refused(tmp_path):
    text = _write(tmp_path, "").read_text(encoding="utf-8").replace("EPSG:3007", "EPSG:4326")
    path = tmp_path / "profile.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationError, match="geographic CRS in degrees"):
        load_profile(path)


def test_missing_required_key_and_missing_file(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('name = "X"\ncrs = "EPSG:3007"\nboundary = "nope.geojson"\n'
                    "latitude = 1.0\nlongitude = 1.0\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="key 'kommun_code': required key is missing"):
        load_profile(path)


def test_broken_toml(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text("name = \n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"p\.toml: not valid TOML"):
        load_profile(path)


# --- profiles outside Sweden (issue 12) --------------------------------------------------


def test_profile_outside_sweden_without_boundary(tmp_path):
    path = tmp_path / "profile.toml"
    path.write_text('name = "Fredrikstad"\nkommun_code = "3107"\ncrs = "EPSG:25832"\n'
                    'latitude = 59.2\nlongitude = 10.9\ntimezone = "Europe/Oslo"\n'
                    '[costs]\ncurrency = "NOK"\ncurrency_symbol = "kr"\n'
                    'electricity_sek_per_kwh = 1.1\nco2_kg_per_kwh = 0.019\n'
                    '[inventory]\nstrict = true\n'
                    '[inventory.columns]\nwattage_w = ["Lampeeffekt"]\n'
                    '[inventory.codes.light_source]\n"3" = "Natrium høytrykk"\n',
                    encoding="utf-8")
    p = load_profile(path)
    assert p.boundary is None and p.kommun_code == "3107"
    assert (p.costs.currency, p.costs.electricity_sek_per_kwh, p.costs.co2_kg_per_kwh) == (
        "NOK", 1.1, 0.019)
    assert p.inventory.columns == {"wattage_w": ("Lampeeffekt",)}
    assert p.inventory.codes == {"light_source": {"3": "Natrium høytrykk"}}
    assert p.inventory.strict is True


@pytest.mark.parametrize("code", ["0301", "285", "DK-101", "FI.091", "1486"])
def test_short_municipality_codes_are_accepted(tmp_path, code):
    path = _write(tmp_path, "")
    path.write_text(path.read_text(encoding="utf-8").replace('"1486"', f'"{code}"'),
                    encoding="utf-8")
    assert load_profile(path).kommun_code == code


@pytest.mark.parametrize(("text", "match"), [
    ('[costs]\ncurrency = "kronor"\n', r"key 'costs\.currency': 'kronor' is not an ISO 4217"),
    ('[inventory.columns]\nwatt = ["W"]\n', r"key 'inventory\.columns\.watt': unknown schema"),
    ('[inventory.codes.pole_id]\n"1" = "x"\n', r"key 'inventory\.codes\.pole_id': codes for"),
])
def test_bad_currency_and_inventory_tables_name_the_key(tmp_path, text, match):
    with pytest.raises(ValidationError, match=match):
        load_profile(_write(tmp_path, text))


def test_too_long_municipality_code_is_an_error(tmp_path):
    path = _write(tmp_path, "")
    path.write_text(path.read_text(encoding="utf-8").replace('"1486"', '"Strömstads kommun"'),
                    encoding="utf-8")
    with pytest.raises(ValidationError, match=r"key 'kommun_code': 'Strömstads kommun' is not "
                                              r"a short municipality code"):
        load_profile(path)
